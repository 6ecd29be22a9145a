// QA on every upload (issue 15): lintian, blhc, piuparts and autopkgtest run as jobs after each build, in throwaway
// containers from the archive's own images, with the real tools; each verdict, and each trend
// against the previous version, checked through `archive qa`, `archive status --json` and the
// status page. Publication does not wait for them; migration to testing does (its gates).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { TestArchive, cleanupRun, until, type UpResult } from './support/archive.js';
import type { PackageSpec } from './support/packages.js';

interface Check {
  id: string;
  check: string;
  arch: string;
  state: string;
  verdict?: string;
  trend?: string;
  comparedWith?: string;
  summary?: string;
  tool?: string;
  newFindings?: string[];
  findings?: { severity: string; tag: string; context?: string }[];
  log?: string;
  reason?: string;
}

/**
 * An autopkgtest that runs the program and looks for what it should print; and one that tries
 * what a package's test must not do from its testbed (root there): reach the queue, see the
 * Docker socket, mount a file system.
 */
const CONFINED = `#!/bin/bash
if timeout 5 bash -c 'exec 3<>/dev/tcp/queue/8000' 2>/dev/null; then echo 'reached the queue'; exit 1; fi
if [ -e /var/run/docker.sock ]; then echo 'sees the Docker socket'; exit 1; fi
if mount -t tmpfs none /mnt 2>/dev/null; then echo 'mounted a file system'; exit 1; fi
echo confined
`;
const smokeTest = (expect: string) => ({
  'tests/control': 'Tests: smoke\nDepends: @\n\nTests: confined\nRestrictions: needs-root\n',
  'tests/smoke': `#!/bin/sh\nset -e\naib-qa-clean | grep '${expect}'\n`,
  'tests/confined': CONFINED,
});
/** A package lintian, blhc and piuparts find nothing wrong with (debhelper, dpkg-buildflags' flags), whose test passes. */
const clean = (version: string, extra: Partial<PackageSpec> = {}): PackageSpec => ({ name: 'aib-qa-clean', version, line: `clean ${version}`, debianFiles: smokeTest('clean'), ...extra });
/** Ships a folder in /opt (lintian: dir-or-file-in-opt, an error). */
const inOpt = (name: string) => ({ debianFiles: { [`${name}.dirs`]: `opt/${name}\n` } });
/**
 * Its postinst makes a file nothing removes (piuparts: left after purge), and one more when it
 * reaches the repository: piuparts runs maintainer scripts with no network (that file is never made).
 */
const leavesState = (name: string) => ({
  [`${name}.postinst`]: `#!/bin/bash\nset -e\nmkdir -p /var/lib/${name}\necho made > /var/lib/${name}/state\nif timeout 5 bash -c 'exec 3<>/dev/tcp/repo/8080' 2>/dev/null; then echo reached > /var/lib/${name}/reached-the-repository; fi\n#DEBHELPER#\n`,
});
/** Compiled without -fstack-protector-strong (blhc names it). */
const unprotected = { compilerFlags: '$(filter-out -fstack-protector-strong,$(CFLAGS)) $(CPPFLAGS) $(LDFLAGS)' };
/** Its only test needs a machine of its own (autopkgtest skips it here: neutral). */
const bootTest = { 'tests/control': 'Tests: boot\nRestrictions: isolation-machine\n', 'tests/boot': '#!/bin/sh\nexit 0\n' };
const dirty = (version: string, extra: Partial<PackageSpec> = {}): PackageSpec => ({ name: 'aib-qa-dirty', version, line: `dirty ${version}`, ...extra, debianFiles: { ...bootTest, ...extra.debianFiles } });

describe('QA checks on every upload', () => {
  let archive: TestArchive;
  let up: UpResult;

  /** The checks of SOURCE VERSION as `archive qa --json` shows them, once all of them ran. */
  async function checksDone(source: string, version: string): Promise<Record<string, Check>> {
    const checks = await until(`the QA checks of ${source} ${version}`, async () => {
      const r = await archive.cli(['qa', source, version, '--json']);
      if (r.exitCode !== 0) return undefined;
      const [report] = JSON.parse(String(r.stdout)) as { checks: Check[] }[];
      const failed = report.checks.find((c) => c.state === 'failed');
      if (failed) throw new Error(`${failed.id} could not run: ${failed.reason}`);
      // The suite's four; a migration's installability check comes after them.
      const four = report.checks.filter((c) => c.check !== 'installability');
      return four.length === 4 && four.every((c) => c.state === 'done') && four;
    }, 15 * 60_000, 2000);
    return Object.fromEntries(checks.map((c) => [c.check, c]));
  }

  async function published(source: string, version: string): Promise<void> {
    await until(`${source} ${version} published`, async () => {
      const u = await archive.upload(source, version);
      if (u && ['failed', 'rejected'].includes(u.state)) throw new Error(`${source} ${version}: ${u.state}: ${JSON.stringify(u)}`);
      return u?.state === 'published';
    });
  }

  /** testing's Packages as served, once the queue migrated SOURCE VERSION there and published it (not only recorded it). */
  async function migrated(source: string, version: string): Promise<string> {
    return until(`${source} ${version} published in testing`, async () => {
      const packages = await (await fetch(`${up.url}dists/testing/main/binary-amd64/Packages`)).text();
      return packages.includes(`/${source}_${version}_`) && packages;
    }, 5 * 60_000, 2000);
  }

  /** The queue's decision for SOURCE VERSION, asked afresh (archive migrate --dry-run). */
  async function decision(source: string, version: string): Promise<{ migrates: boolean; reasons: string[] } | undefined> {
    const r = await archive.cli(['migrate', '--dry-run', '--json']);
    expect(r.exitCode, String(r.all)).toBe(0);
    return (JSON.parse(String(r.stdout)) as { migration: { source: string; version: string; migrates: boolean; reasons: string[] }[] }).migration.find((d) => d.source === source && d.version === version);
  }

  beforeAll(async () => {
    archive = await TestArchive.create({ qa: true });
    // testing takes from unstable what passes its gates, at once (after_days: 0).
    const init = await archive.cli(['init', '--port', String(archive.port)]);
    if (init.exitCode !== 0) throw new Error(`archive init failed:\n${String(init.all)}`);
    const file = join(archive.root, 'archive.yaml');
    const doc = parseDocument(await readFile(file, 'utf8'));
    doc.setIn(['suites', 'testing'], { architectures: ['amd64'], qa: [], migrate_from: 'unstable', after_days: 0, require: { lintian: 'no-errors', piuparts: 'pass', autopkgtest: 'no-regression' } });
    // gated publishes a version only once lintian found no error in it.
    doc.setIn(['suites', 'gated'], { architectures: ['amd64'], qa: ['lintian'], publish_requires: { lintian: 'no-errors' } });
    await writeFile(file, doc.toString());
    up = await archive.up();
  });
  afterAll(async () => {
    await archive?.destroy();
    await cleanupRun();
  });

  it('a new root runs every check on every build', async () => {
    expect(await readFile(join(archive.root, 'archive.yaml'), 'utf8')).toMatch(/qa:\n\s+- lintian\n\s+- blhc\n\s+- piuparts\n\s+- autopkgtest\n/);
  });

  it('a clean package passes; lintian, blhc and piuparts name what is wrong with another (whose test needs a machine: neutral), published all the same', async () => {
    await archive.send(up, clean('1.0-1'));
    await archive.send(up, dirty('1.0-1', { debianFiles: { ...inOpt('aib-qa-dirty').debianFiles, ...leavesState('aib-qa-dirty') }, ...unprotected }));
    await published('aib-qa-clean', '1.0-1');
    await published('aib-qa-dirty', '1.0-1');

    const good = await checksDone('aib-qa-clean', '1.0-1');
    expect(good.lintian, JSON.stringify(good.lintian)).toMatchObject({ arch: 'amd64', verdict: 'pass' });
    expect(good.lintian.tool).toMatch(/^lintian \d/);
    expect(good.lintian.trend).toBeUndefined();
    expect(good.blhc, JSON.stringify(good.blhc)).toMatchObject({ verdict: 'pass', summary: 'hardening flags present on every compiler line' });
    expect(good.blhc.tool).toMatch(/^blhc \d/);
    expect(good.piuparts, JSON.stringify(good.piuparts)).toMatchObject({ verdict: 'pass', summary: 'install, remove, purge: nothing failed, nothing left' });
    expect(good.autopkgtest, JSON.stringify(good.autopkgtest)).toMatchObject({ verdict: 'pass', summary: '2 test(s) passed' });
    expect(good.autopkgtest.tool).toMatch(/^autopkgtest \d/);

    const bad = await checksDone('aib-qa-dirty', '1.0-1');
    expect(bad.lintian, JSON.stringify(bad.lintian)).toMatchObject({ verdict: 'fail', trend: 'never-passed' });
    expect(bad.lintian.findings).toEqual(expect.arrayContaining([expect.objectContaining({ severity: 'E', tag: 'dir-or-file-in-opt' })]));
    expect(bad.blhc, JSON.stringify(bad.blhc)).toMatchObject({ verdict: 'fail', trend: 'never-passed' });
    expect(bad.blhc.summary).toContain('CFLAGS missing (-fstack-protector-strong)');
    expect(bad.blhc.findings![0].context).toMatch(/^line \d+: .*-o aib-qa-dirty hello\.c/);
    expect(bad.piuparts, JSON.stringify(bad.piuparts)).toMatchObject({ verdict: 'fail', trend: 'never-passed', summary: '2 file(s) left after purge: /var/lib/aib-qa-dirty, /var/lib/aib-qa-dirty/state' });
    expect(await (await fetch(`${up.url}${bad.piuparts.log}`)).text()).toContain('archive-in-a-box: piuparts: the packages are installed with no network\n');
    expect(bad.autopkgtest, JSON.stringify(bad.autopkgtest)).toMatchObject({ verdict: 'neutral' });
    expect(bad.autopkgtest.summary).toMatch(/^no test could run here: boot \(.*isolation/);
    // A failed check does not take back what was published.
    expect((await archive.upload('aib-qa-dirty', '1.0-1'))?.state).toBe('published');

    // The same, as `archive qa` and `archive status` say it, and on the source's page with its logs.
    const text = await archive.cli(['qa', 'aib-qa-dirty']);
    expect(text.stdout).toContain('aib-qa-dirty 1.0-1 in unstable: QA checks lintian, blhc, piuparts, autopkgtest');
    expect(text.stdout).toMatch(/lintian amd64: fail, never-passed: 1 error tag\(s\): dir-or-file-in-opt/);
    expect(text.stdout).toMatch(/E: aib-qa-dirty: dir-or-file-in-opt/);
    const status = await archive.cli(['status']);
    expect(status.stdout).toMatch(/qa blhc amd64: fail, never-passed: CFLAGS missing \(-fstack-protector-strong\)/);
    const page = await (await fetch(`${up.url}packages/aib-qa-dirty.html`)).text();
    expect(page).toContain('<th>QA check</th>');
    expect(page).toMatch(/<td>blhc<\/td><td>amd64<\/td><td class="state fail">fail<\/td>/);
    const log = await fetch(`${up.url}${bad.blhc.log}`);
    expect(log.status).toBe(200);
    expect(await log.text()).toContain('CFLAGS missing (-fstack-protector-strong)');

    // The clean one migrates to testing (once apt said it installs there, its libc6 from Debian)
    // and apt finds it there; the other waits, saying why.
    const packages = await migrated('aib-qa-clean', '1.0-1');
    const [report] = JSON.parse(String((await archive.cli(['qa', 'aib-qa-clean', '1.0-1', '--json'])).stdout)) as { checks: Check[] }[];
    expect(report.checks.find((c) => c.check === 'installability'), JSON.stringify(report.checks)).toMatchObject({ verdict: 'pass', summary: "installs in testing with Debian's release" });
    expect(packages).toMatch(/^Package: aib-qa-clean$/m);
    expect(packages).toMatch(/^Filename: pool\/main\/a\/aib-qa-clean\/aib-qa-clean_1\.0-1_amd64\.deb$/m);
    expect(packages).not.toContain('aib-qa-dirty');
    const waits = await decision('aib-qa-dirty', '1.0-1');
    expect(waits, JSON.stringify(waits)).toMatchObject({ migrates: false });
    expect(waits!.reasons).toEqual(['lintian on amd64: 1 error(s): 1 error tag(s): dir-or-file-in-opt', 'piuparts failed on amd64: 2 file(s) left after purge: /var/lib/aib-qa-dirty, /var/lib/aib-qa-dirty/state']);
    const statusJson = JSON.parse(String((await archive.cli(['status', '--json'])).stdout)) as { migration: { source: string; reasons: string[] }[] };
    expect(statusJson.migration.find((d) => d.source === 'aib-qa-dirty')?.reasons).toEqual(waits!.reasons);
    await until('the status page saying why aib-qa-dirty waits', async () => {
      const index = await (await fetch(`${up.url}index.html`)).text();
      return index.includes('<h3>Migrating from unstable') && index.includes('<li>piuparts failed on amd64: 2 file(s) left after purge: /var/lib/aib-qa-dirty, /var/lib/aib-qa-dirty/state</li>');
    }, 30_000);
  });

  it('the next versions are compared with these: a new lintian error or a failing test is a regression, a failure gone is fixed; neither migrates', async () => {
    await archive.send(up, clean('1.1-1', { debianFiles: { ...smokeTest('something it never prints'), ...inOpt('aib-qa-clean').debianFiles } }));
    // It needs the clean one's new version, which does not reach testing.
    await archive.send(up, dirty('1.1-1', { depends: ['aib-qa-clean (>= 1.1)'] }));
    await published('aib-qa-clean', '1.1-1');
    await published('aib-qa-dirty', '1.1-1');

    const worse = await checksDone('aib-qa-clean', '1.1-1');
    expect(worse.lintian, JSON.stringify(worse.lintian)).toMatchObject({ verdict: 'fail', trend: 'regression', comparedWith: '1.0-1' });
    expect(worse.lintian.newFindings).toContain('E: dir-or-file-in-opt');
    expect(worse.blhc).toMatchObject({ verdict: 'pass', comparedWith: '1.0-1' });
    expect(worse.blhc.trend).toBeUndefined();
    expect(worse.autopkgtest, JSON.stringify(worse.autopkgtest)).toMatchObject({ verdict: 'fail', trend: 'regression', comparedWith: '1.0-1' });
    expect(worse.autopkgtest.summary).toMatch(/^failed: smoke/);

    const better = await checksDone('aib-qa-dirty', '1.1-1');
    expect(better.lintian, JSON.stringify(better.lintian)).toMatchObject({ verdict: 'pass', trend: 'fixed', comparedWith: '1.0-1' });
    expect(better.blhc).toMatchObject({ verdict: 'pass', trend: 'fixed' });
    // Upgraded from the version the suite published before, whose postinst left its file.
    expect(better.piuparts, JSON.stringify(better.piuparts)).toMatchObject({ verdict: 'pass', trend: 'fixed', summary: 'install, remove, purge, upgrade from 1.0-1: nothing failed, nothing left' });

    const json = JSON.parse(String((await archive.cli(['status', '--json'])).stdout)) as { uploads: { source: string; version: string; qa: Check[] }[] };
    const shown = json.uploads.find((u) => u.source === 'aib-qa-clean' && u.version === '1.1-1')!;
    expect(shown.qa.filter((c) => c.check !== 'installability').map((c) => `${c.check} ${c.verdict} ${c.trend ?? ''}`.trim())).toEqual(['lintian fail regression', 'blhc pass', 'piuparts pass', 'autopkgtest fail regression']);
    const page = await (await fetch(`${up.url}packages/aib-qa-clean.html`)).text();
    expect(page).toMatch(/<td class="state fail">fail<\/td><td><span class="state regression">regression<\/span> <span class="muted">against 1\.0-1<\/span>/);

    // The fixed one passes its gates (its test could not run here: neutral holds no gate), but apt,
    // asked in a testbed with testing and Debian as sources, finds its dependency unmet there:
    // the regressed one stays at 1.0-1 in testing.
    const blocked = await until('the installability check of aib-qa-dirty 1.1-1 in testing', async () => {
      const x = await decision('aib-qa-dirty', '1.1-1');
      return x?.reasons.some((r) => r.startsWith('not installable')) && x;
    }, 10 * 60_000, 2000);
    expect(blocked.reasons).toEqual(['not installable in testing on amd64: aib-qa-dirty: Depends: aib-qa-clean (>= 1.1) but it is not going to be installed']);
    const logs = await archive.cli(['logs', 'aib-qa-dirty', '1.1-1', '--check', 'installability']);
    expect(logs.stdout).toContain('The following packages have unmet dependencies:');
    const stays = await decision('aib-qa-clean', '1.1-1');
    expect(stays, JSON.stringify(stays)).toMatchObject({ migrates: false, replaces: '1.0-1' });
    expect(stays!.reasons).toEqual([
      'lintian on amd64: 1 error(s): 1 error tag(s): dir-or-file-in-opt',
      expect.stringMatching(/^autopkgtest regressed on amd64 \(against 1\.0-1\): failed: smoke/),
    ]);
    const text = await archive.cli(['migrate']);
    expect(text.stdout).toContain('0 source(s) migrated');
    expect(text.stdout).toMatch(/aib-qa-clean 1\.1-1 unstable -> testing: waits: lintian on amd64: 1 error\(s\)/);
    const [testing] = JSON.parse(String((await archive.cli(['ls', '--suite', 'testing', '--json'])).stdout)) as { sources: { source: string; version: string }[] }[];
    expect(testing.sources.map((x) => `${x.source} ${x.version}`)).toEqual(['aib-qa-clean 1.0-1']);
  });

  it('a suite with publish_requires publishes a version once its gates hold, and never one they refuse', async () => {
    const gated = (version: string, extra: Partial<PackageSpec> = {}): PackageSpec => ({ name: 'aib-qa-gated', version, line: `gated ${version}`, distribution: 'gated', ...extra });
    const packages = async () => (await fetch(`${up.url}dists/gated/main/binary-amd64/Packages`)).text();
    const state = (version: string, want: string) =>
      until(`aib-qa-gated ${version} ${want}`, async () => {
        const u = await archive.upload('aib-qa-gated', version);
        if (u?.state === 'rejected' || (u?.state === 'failed' && want !== 'failed')) throw new Error(JSON.stringify(u));
        return u?.state === want && u;
      }, 10 * 60_000, 250);

    await archive.send(up, gated('1.0-1'));
    await state('1.0-1', 'published');
    // Held after its build until lintian passed: the queue's log has the build's publication, then
    // lintian's pass, then the publication its gates let through (made only for an upload not yet
    // in its suite). Read from the log, not by polling for "held": on a busy machine the window
    // can pass between two polls of archive status.
    const [report] = JSON.parse(String((await archive.cli(['qa', 'aib-qa-gated', '1.0-1', '--json'])).stdout)) as { checks: Check[] }[];
    const lintianId = report.checks.find((c) => c.check === 'lintian')!.id;
    const log = await readFile(join(archive.root, 'logs', 'queue.log'), 'utf8');
    const built = log.indexOf('(built aib-qa-gated 1.0-1 on amd64)');
    const passed = log.indexOf(`job ${lintianId}: pass`);
    const released = log.indexOf('(aib-qa-gated 1.0-1: its QA gates hold)');
    expect(built, log.slice(-4000)).toBeGreaterThan(-1);
    expect(passed).toBeGreaterThan(built);
    expect(released).toBeGreaterThan(passed);
    expect(await packages()).toMatch(/^Filename: pool\/main\/a\/aib-qa-gated\/aib-qa-gated_1\.0-1_amd64\.deb$/m);

    await archive.send(up, gated('1.1-1', inOpt('aib-qa-gated')));
    const refused = await state('1.1-1', 'failed');
    expect(refused.reasons).toEqual(['not published (publish_requires): lintian on amd64: 1 error(s): 1 error tag(s): dir-or-file-in-opt']);
    expect((await archive.cli(['wait', 'aib-qa-gated', '1.1-1', '--timeout', '10'])).exitCode).toBe(1);
    const still = await packages();
    expect(still).toMatch(/aib-qa-gated_1\.0-1_amd64\.deb$/m);
    expect(still).not.toContain('1.1-1');

    // archive.yaml without the gate (re-read by the queue): the version it refused is published.
    const file = join(archive.root, 'archive.yaml');
    const doc = parseDocument(await readFile(file, 'utf8'));
    doc.deleteIn(['suites', 'gated', 'publish_requires']);
    await writeFile(file, doc.toString());
    await until('aib-qa-gated 1.1-1 published without the gate', async () => (await archive.upload('aib-qa-gated', '1.1-1'))?.state === 'published', 60_000);
    expect(await packages()).toMatch(/aib-qa-gated_1\.1-1_amd64\.deb$/m);
  });
});
