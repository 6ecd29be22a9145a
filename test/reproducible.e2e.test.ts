// Reproducible builds, verified (issue 16): every build rebuilt by another worker slot under
// variation (path, host and domain name, user, umask, timezone, CPUs, environment), its packages
// compared with the first build's; diffoscope (Debian's, in a throwaway container) says where they
// differ; a reproducible verdict is a statement signed with the rebuilder key, checked here with
// gpgv. Real builds, the real engine, the real tools.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { TestArchive, cleanupRun, until, type UpResult } from './support/archive.js';
import type { PackageSpec } from './support/packages.js';

interface Rebuild {
  id: string;
  check: string;
  arch: string;
  state: string;
  verdict?: string;
  reproducibility?: string;
  summary?: string;
  findings?: { severity: string; package?: string; tag: string; context?: string }[];
  reports?: string[];
  reason?: string;
  log?: string;
}

/** A debhelper package with nothing of its build's in it. */
const steady: PackageSpec = { name: 'aib-repro-steady', version: '1.0-1', line: 'steady 1.0-1' };
/** Its data package ships a file the build writes its host name and path into. */
const leaky: PackageSpec = {
  name: 'aib-repro-leaky',
  version: '1.0-1',
  line: 'leaky 1.0-1',
  distribution: 'gated',
  data: { binary: 'aib-repro-leaky-data', file: 'where.txt', content: 'not built yet\n' },
  buildScript: 'echo "built on $$(hostname) in $$(pwd)" > where.txt',
};

describe('reproducible builds, verified', () => {
  let archive: TestArchive;
  let up: UpResult;

  /** The rebuild of SOURCE as `archive qa --json` shows it, once it has a verdict (the newest one when there are more). */
  async function rebuilt(source: string, version: string, id?: string): Promise<Rebuild> {
    return until(`the rebuild of ${source} ${version}`, async () => {
      const r = await archive.cli(['qa', source, version, '--json']);
      if (r.exitCode !== 0) return undefined;
      const [report] = JSON.parse(String(r.stdout)) as { checks: Rebuild[] }[];
      const rebuild = report.checks.filter((c) => c.check === 'rebuild' && (!id || c.id === id)).pop();
      if (rebuild?.state === 'failed') throw new Error(`${rebuild.id} failed: ${rebuild.reason}`);
      return rebuild?.reproducibility ? rebuild : undefined;
    }, 15 * 60_000, 2000);
  }

  const served = async (path: string) => {
    const res = await fetch(`${up.url}${path}`);
    expect(res.status, path).toBe(200);
    return res;
  };

  beforeAll(async () => {
    archive = await TestArchive.create({ rebuilds: true });
    // gated publishes a version only once its rebuild agreed with its build.
    const file = join(archive.root, 'archive.yaml');
    const doc = parseDocument(await readFile(file, 'utf8'));
    doc.setIn(['suites', 'gated'], { architectures: ['amd64'], qa: [], rebuilds: 'on', publish_requires: { rebuild: 'pass' } });
    await writeFile(file, doc.toString());
    up = await archive.up();
  });
  afterAll(async () => {
    await archive?.destroy();
    await cleanupRun();
  });

  it('a new root rebuilds every build', async () => {
    const root = await mkdtemp(join(archive.work, 'fresh-'));
    const init = await execa('node', ['bin/archive.js', '--root', root, 'init'], { reject: false });
    expect(init.exitCode, init.stderr).toBe(0);
    expect(await readFile(join(root, 'archive.yaml'), 'utf8')).toMatch(/rebuilds: on/);
  });

  it('a deterministic package is reproducible: published without waiting, then a statement signed with the rebuilder key that gpgv verifies', async () => {
    await archive.send(up, steady);
    const r = await rebuilt(steady.name, steady.version);
    expect(r, JSON.stringify(r)).toMatchObject({ arch: 'amd64', reproducibility: 'reproducible', verdict: 'pass' });
    expect(r.summary).toMatch(/^reproducible: \d+ package\(s\) bit for bit identical$/);
    const log = await readFile(join(archive.root, 'logs', 'queue.log'), 'utf8');
    // Published as soon as it was built: the rebuild's verdict came after.
    expect(log.indexOf(`(built ${steady.name} ${steady.version} on amd64)`)).toBeGreaterThan(-1);
    expect(log.indexOf(`(built ${steady.name} ${steady.version} on amd64)`)).toBeLessThan(log.indexOf(`${r.id}: reproducible`));
    // The rebuild ran varied: another user, path and host (its log says so).
    const logs = await archive.cli(['logs', steady.name, '--check', 'rebuild']);
    expect(logs.exitCode, String(logs.all)).toBe(0);
    const rebuildLog = String(logs.stdout);
    expect(rebuildLog).toMatch(/rebuilding as rebuilder \(uid 2001\), in \/build\/rebuild\/aib-path-varied, on aib-rebuild(\.example\.invalid)?/);

    const statementPath = r.reports!.find((p) => p.endsWith('statement.json.asc'))!;
    expect(statementPath, JSON.stringify(r.reports)).toBeDefined();
    const signed = await (await served(statementPath)).text();
    const dir = await mkdtemp(join(archive.work, 'gpgv-'));
    await writeFile(join(dir, 'statement.asc'), signed);
    await writeFile(join(dir, 'key.asc'), await (await served('rebuilder-key.asc')).text());
    await execa('gpg', ['--batch', '--yes', '--output', join(dir, 'rebuilder.gpg'), '--dearmor', join(dir, 'key.asc')]);
    const gpgv = await execa('gpgv', ['--keyring', join(dir, 'rebuilder.gpg'), '--output', join(dir, 'statement.json'), join(dir, 'statement.asc')], { reject: false });
    expect(gpgv.exitCode, gpgv.stderr).toBe(0);
    // Not the archive key: another key signs what rebuilds said.
    const archiveKey = await (await served('archive-key.asc')).text();
    expect(archiveKey).not.toBe(await readFile(join(dir, 'key.asc'), 'utf8'));
    await writeFile(join(dir, 'archive.asc'), archiveKey);
    await execa('gpg', ['--batch', '--yes', '--output', join(dir, 'archive.gpg'), '--dearmor', join(dir, 'archive.asc')]);
    expect((await execa('gpgv', ['--keyring', join(dir, 'archive.gpg'), join(dir, 'statement.asc')], { reject: false })).exitCode).not.toBe(0);

    // What it signs: the packages' hashes as the archive serves them, and the .buildinfo's.
    const statement = JSON.parse(await readFile(join(dir, 'statement.json'), 'utf8')) as { source: string; version: string; architecture: string; packages: { name: string; sha256: string }[]; buildinfo: { name: string; sha256: string }; builtBy: string; rebuiltBy: string; variations: string[] };
    expect(statement).toMatchObject({ source: steady.name, version: steady.version, architecture: 'amd64' });
    expect(statement.builtBy).not.toBe(statement.rebuiltBy);
    expect(statement.variations).toEqual(expect.arrayContaining(['build path', 'hostname and domain name', 'user and uid', 'umask', 'timezone', 'CPUs']));
    // Its debug symbols (-dbgsym) are in unstable-debug, as Debian's debian-debug archive has them.
    const packages = (await Promise.all(['unstable', 'unstable-debug'].map(async (d) => (await served(`dists/${d}/main/binary-amd64/Packages`)).text()))).join('\n\n');
    for (const p of statement.packages) {
      const stanza = packages.split('\n\n').find((s) => s.includes(`/${p.name}\n`));
      expect(stanza, p.name).toContain(`SHA256: ${p.sha256}`);
    }
    // The .buildinfo is served from the pool and listed on the source's page; its checksums are the pool's files'.
    const page = await (await served(`packages/${steady.name}.html`)).text();
    const buildinfoLink = page.match(/href="\.\.\/(pool\/[^"]+\.buildinfo)"/)?.[1];
    expect(buildinfoLink, 'the .buildinfo on the source page').toBeDefined();
    const buildinfo = await (await served(buildinfoLink!)).text();
    expect(createHash('sha256').update(buildinfo).digest('hex')).toBe(statement.buildinfo.sha256);
    for (const p of statement.packages) expect(buildinfo).toContain(` ${p.sha256} `);
  });

  it('a package that embeds its build host and path is unreproducible: diffoscope names the file and the line; a suite that requires reproducibility does not publish it', async () => {
    await archive.send(up, leaky);
    const r = await rebuilt(leaky.name, leaky.version);
    expect(r, JSON.stringify(r)).toMatchObject({ reproducibility: 'unreproducible', verdict: 'fail' });
    const data = r.findings!.find((f) => f.package?.startsWith('aib-repro-leaky-data_'));
    expect(data, JSON.stringify(r.findings)).toMatchObject({ tag: 'differs' });
    expect(data!.context).toMatch(/where\.txt/);
    expect(r.findings!.some((f) => f.package?.startsWith('aib-repro-leaky_'))).toBe(false);
    const report = await (await served(r.reports!.find((p) => p.endsWith('diffoscope.txt'))!)).text();
    expect(report).toMatch(/where\.txt/);
    expect(report).toMatch(/^[│ ]*-built on \S+ in \/build\/src$/m);
    expect(report).toMatch(/^[│ ]*\+built on aib-rebuild\S* in \/build\/rebuild\/aib-path-varied$/m);
    // Its HTML report is served, sandboxed: what a build wrote runs no script in the archive's pages.
    const html = await served(r.reports!.find((p) => p.endsWith('diffoscope.html'))!);
    expect(html.headers.get('content-security-policy')).toMatch(/sandbox/);
    expect(await html.text()).toMatch(/where\.txt/);
    expect(r.reports!.some((p) => p.endsWith('statement.json.asc'))).toBe(false);

    // publish_requires {rebuild: pass}: gated keeps nothing of it, and says why.
    const upload = await until('the leaky upload refused publication', async () => {
      const u = await archive.upload(leaky.name, leaky.version);
      return u?.state === 'failed' && u;
    });
    expect(upload.reasons.join('\n')).toMatch(/not published \(publish_requires\): not reproducible on amd64: unreproducible: aib-repro-leaky-data_/);
    const gated = await (await served('dists/gated/main/binary-amd64/Packages')).text();
    expect(gated).not.toContain('aib-repro-leaky');

    // Per suite and architecture: how much of what it holds is reproducible, in status --json and
    // on the page (gated holds nothing: the leaky upload was not published there).
    const status = JSON.parse(String((await archive.cli(['status', '--json'])).stdout)) as { reproducible: { suite: string; arch: string; percent: number; reproducible: number; unreproducible: number }[] };
    expect(status.reproducible).toEqual([expect.objectContaining({ suite: 'unstable', arch: 'amd64', percent: 100, reproducible: 1, unreproducible: 0 })]);
    const index = await until('the status page with the share', async () => {
      const text = await (await fetch(up.url)).text();
      return text.includes('Reproducible: amd64: 100% reproducible (1 of 1)') && text;
    }, 60_000);
    expect(index).toContain('<td>rebuild <span class="state pass">reproducible</span></td>');
    // Its page too, which follows the upload's last change once changes pause for half a second.
    const verdict = '<td>rebuild</td><td>amd64</td><td class="state fail">unreproducible</td>';
    const page = await until('the package page with the rebuild verdict', async () => {
      const text = await (await served(`packages/${leaky.name}.html`)).text();
      return text.includes(verdict) && text;
    }, 60_000);
    expect(page).toMatch(/<a href="\.\.\/reproducible\/aib-repro-leaky\/[^"]+\/diffoscope\.html">diffoscope\.html<\/a>/);
  });

  it('archive verify rebuilds again on demand', async () => {
    const first = await rebuilt(steady.name, steady.version);
    const verify = await archive.cli(['verify', steady.name]);
    expect(verify.exitCode, String(verify.all)).toBe(0);
    expect(String(verify.all)).toMatch(/rebuilding on amd64/);
    const again = await rebuilt(steady.name, steady.version, `${first.id}-2`);
    expect(again).toMatchObject({ reproducibility: 'reproducible' });
    const unknown = await archive.cli(['verify', 'aib-no-such-source']);
    expect(unknown.exitCode).not.toBe(0);
    expect(String(unknown.all)).toMatch(/no built aib-no-such-source/);
  });
});
