// The publishing policy end to end, against a running archive and real apt: prebuilt .debs
// included, components, rm, copy between suites, frozen snapshots, pool retention, by-hash
// fetches as debootstrap and apt make them, and apt-get update never failing while the
// archive publishes again and again.
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestArchive, aptUpdateLoop, archiveKeyring, cleanupRun, inCleanContainer, verifyServedSuite, type UpResult } from './support/archive.js';
import { dput, makeBinaryPackage } from './support/packages.js';

const CONFIG = (grace: number) => `name: publishing-test
suites:
  unstable:
    components: [main, contrib]
    architectures: [amd64]
  testing:
    components: [main, contrib]
    architectures: [amd64]
publish:
  keep_versions: 1
  by_hash_grace_minutes: ${grace}
`;

interface Listing {
  suite: string;
  kind: string;
  sources: { source: string; version: string; component: string; binaries: { package: string; version: string; origin: string }[] }[];
}

describe('publishing: include, rm, copy, snapshot, retention, by-hash and atomic switches', () => {
  let archive: TestArchive;
  let up: UpResult;
  const deb = (name: string, version: string, extra: { section?: string; arch?: string; source?: string } = {}) =>
    makeBinaryPackage(archive.work, { name, version, ...extra });
  const ls = async (suite: string) => {
    const r = await archive.cli(['ls', '--suite', suite, '--json']);
    expect(r.exitCode, String(r.all)).toBe(0);
    return (JSON.parse(String(r.stdout)) as Listing[])[0];
  };
  const versionIn = async (suite: string, source: string) => (await ls(suite)).sources.find((s) => s.source === source)?.version;
  const ok = async (args: string[]) => {
    const r = await archive.cli(args);
    expect(r.exitCode, `archive ${args.join(' ')}:\n${r.all}`).toBe(0);
    return String(r.stdout);
  };
  const sources = (suites: string) =>
    up.aptSourceHttp.replace(/^Suites: .*$/m, `Suites: ${suites}`).replace(/^Components: .*$/m, 'Components: main contrib');

  beforeAll(async () => {
    archive = await TestArchive.create();
    await ok(['init', '--port', String(archive.port)]);
    await writeFile(join(archive.root, 'archive.yaml'), CONFIG(60));
    up = await archive.up();
  });

  afterAll(async () => {
    await archive?.destroy();
    await cleanupRun();
  });

  it('includes prebuilt .debs into the component their section names, marked imported, and refuses bad ones by name', async () => {
    const good = [await deb('synth-a', '1.0-1'), await deb('synth-c', '1.0-1', { section: 'contrib/utils' }), await deb('synth-c-doc', '1.0-1', { arch: 'all', source: 'synth-c', section: 'contrib/doc' })];
    const wrongArch = await deb('synth-arm', '1.0-1', { arch: 'arm64' });
    const notADeb = join(archive.work, 'notes_1.0_amd64.deb');
    await writeFile(notADeb, 'this is not a Debian package\n');
    // A folder stands for the packages in it.
    const folder = join(archive.work, 'prebuilt');
    await mkdir(folder);
    for (const f of good) await copyFile(f, join(folder, basename(f)));
    const r = await archive.cli(['include', folder, wrongArch, notADeb]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('included 3 of 5 package(s) into unstable; refused:');
    expect(r.stderr).toMatch(/synth-arm_1\.0-1_arm64\.deb: Architecture arm64 is not one of unstable's \(amd64, or all\)/);
    expect(r.stderr).toContain('notes_1.0_amd64.deb: not a well-formed .deb: not an ar archive (a .deb starts with "!<arch>")');

    const unstable = await ls('unstable');
    expect(unstable.sources.map((s) => `${s.source} ${s.version} ${s.component}`)).toEqual(['synth-a 1.0-1 main', 'synth-c 1.0-1 contrib']);
    expect(unstable.sources[1].binaries.map((b) => `${b.package} ${b.origin}`)).toEqual(['synth-c imported', 'synth-c-doc imported']);
    const contrib = await readFile(join(archive.root, 'public/dists/unstable/contrib/binary-amd64/Packages'), 'utf8');
    expect(contrib).toMatch(/^Filename: pool\/contrib\/s\/synth-c\/synth-c_1\.0-1_amd64\.deb$/m);
    expect(await readFile(join(archive.root, 'public/dists/unstable/main/binary-amd64/Packages'), 'utf8')).not.toContain('synth-c');
    // The same version again with other content is refused, as dak and reprepro refuse it.
    await mkdir(join(archive.work, 'again'));
    const rebuilt = await makeBinaryPackage(join(archive.work, 'again'), { name: 'synth-a', version: '1.0-1', section: 'utils' });
    const again = await archive.cli(['include', rebuilt]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/unstable already has synth-a 1\.0-1 amd64 with other content/);
    // A file that cannot be read is named before anything is sent; no request is left behind.
    const missing = join(archive.work, 'gone_1.0-1_amd64.deb');
    const unread = await archive.cli(['include', good[0], missing]);
    expect(unread.exitCode).toBe(2);
    expect(unread.stderr).toContain(`${missing}: cannot be read (ENOENT)`);
    expect((await readdir(join(archive.root, 'state', 'requests'))).filter((n) => n.endsWith('.request.json'))).toEqual([]);
    const empty = join(archive.work, 'empty');
    await mkdir(empty);
    const none = await archive.cli(['include', empty]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain(`${empty}: a folder without .deb or .udeb files in it`);
  });

  it('snapshots a suite, copies between suites without rebuilding, removes a source, and apt sees each', async () => {
    expect(await ok(['snapshot', 'before-2'])).toContain('published as dists/before-2');
    // --json lists what went in; without it the answer says only how many
    // (src/daemons/queue/cli-requests.test.ts).
    const included = JSON.parse(await ok(['include', await deb('synth-a', '1.0-2'), '--json']));
    expect(included).toMatchObject({ ok: true, message: 'included 1 of 1 package(s) into unstable', included: [{ package: 'synth-a', version: '1.0-2', architecture: 'amd64', path: 'pool/main/s/synth-a/synth-a_1.0-2_amd64.deb' }] });
    const copied = JSON.parse(await ok(['copy', 'synth-a', 'unstable', 'testing', '--json']));
    expect(copied).toMatchObject({ ok: true, version: '1.0-2' });
    await ok(['rm', 'synth-c']);
    expect({ unstable: await versionIn('unstable', 'synth-a'), testing: await versionIn('testing', 'synth-a'), snapshot: await versionIn('before-2', 'synth-a') })
      .toEqual({ unstable: '1.0-2', testing: '1.0-2', snapshot: '1.0-1' });
    expect(await versionIn('unstable', 'synth-c')).toBeUndefined();
    expect(await versionIn('before-2', 'synth-c')).toBe('1.0-1');
    // A downgrade by copy is refused; a snapshot cannot change.
    const down = await archive.cli(['copy', 'synth-a', 'before-2', 'testing']);
    expect(down.stderr).toMatch(/testing has synth-a 1\.0-2, newer than before-2's 1\.0-1; remove it first/);
    expect((await archive.cli(['rm', 'synth-a', '--suite', 'before-2'])).stderr).toMatch(/before-2 is a snapshot: snapshots do not change/);
    expect((await archive.cli(['snapshot', 'unstable'])).stderr).toMatch(/"unstable" is already a suite/);

    const client = await inCleanContainer(up, sources('unstable testing before-2'), [
      'apt-get update -q --error-on=any',
      'apt-cache policy synth-a synth-c',
      'apt-get install -y -q synth-a=1.0-1 synth-c >/dev/null',
      'dpkg-query -W synth-a synth-c',
    ].join('\n'));
    expect(client.exitCode, String(client.all)).toBe(0);
    expect(client.all).toMatch(/^synth-a\t1\.0-1$/m);
    expect(client.all).toMatch(/^synth-c\t1\.0-1$/m);
    for (const index of ['testing/main', 'unstable/main', 'before-2/main', 'before-2/contrib']) {
      expect(client.all).toMatch(new RegExp(`500 http://127\\.0\\.0\\.1:\\d+ ${index} amd64 Packages`));
    }
    expect(client.all).not.toMatch(/unstable\/contrib amd64 Packages/);
  });

  it('serves every index by hash as the signed Release names it, and keeps the old ones after a new publish', async () => {
    const keyring = await archiveKeyring(up, archive.work);
    const fetchByHash = async () => {
      const { inRelease, files } = await verifyServedSuite(up, 'unstable', keyring, { byHash: true });
      expect(inRelease).toMatch(/^Acquire-By-Hash: yes$/m);
      expect(files.length).toBeGreaterThan(10);
      return files.map((f) => `${f.path} ${f.sha256}`);
    };
    const before = await fetchByHash();
    await ok(['include', await deb('synth-new', '1.0-1')]);
    const after = await fetchByHash();
    const changed = before.filter((h) => !after.includes(h) && h.includes('binary-amd64/Packages'));
    // Packages, .gz and .xz, and the Index of its patches (Packages.diff/Index).
    expect(changed.map((h) => h.split(' ')[0].replace(/^main\/binary-amd64\//, '')).sort()).toEqual(['Packages', 'Packages.diff/Index', 'Packages.gz', 'Packages.xz']);
    // A client that read the old InRelease still gets what it names.
    for (const h of changed) {
      const [path, sha] = h.split(' ');
      expect((await fetch(`${up.url}dists/unstable/${path.slice(0, path.lastIndexOf('/'))}/by-hash/SHA256/${sha}`)).status).toBe(200);
    }
  });

  it('never fails an apt-get update that runs while the archive publishes 30 times', async () => {
    const client = aptUpdateLoop(up, sources('unstable'));
    const debs = [];
    for (let i = 1; i <= 30; i++) debs.push(await deb('synth-loop', `1.0-${i}`));
    for (const file of debs) await ok(['include', file]);
    const result = await client.stop();
    expect(result.failed, result.output).toBe(0);
    expect(result.updates).toBeGreaterThanOrEqual(5);
    expect(await versionIn('unstable', 'synth-loop')).toBe('1.0-30');
  });

  it('removes pool files once no suite, snapshot, retained version or served generation needs them', async () => {
    // A short grace period, so that older generations (and what only they name) go quickly.
    await writeFile(join(archive.root, 'archive.yaml'), CONFIG(0.02));
    const pool = join(archive.root, 'public/pool/main/s');
    const poolFiles = async (source: string) => (await readdir(join(pool, source)).catch(() => [] as string[])).sort();
    // Three more publishes push out the generations that still name the replaced versions.
    for (let i = 1; i <= 4; i++) {
      await new Promise((r) => setTimeout(r, 1500));
      await ok(['include', await deb(`synth-pad${i}`, '1.0-1')]);
    }
    // synth-loop: only its newest version stays (keep_versions: 1).
    expect(await poolFiles('synth-loop')).toEqual(['synth-loop_1.0-30_amd64.deb']);
    // synth-a 1.0-1 stays while the snapshot publishes it...
    expect(await poolFiles('synth-a')).toEqual(['synth-a_1.0-1_amd64.deb', 'synth-a_1.0-2_amd64.deb']);
    // ...and goes with it.
    await ok(['snapshot', 'before-2', '--delete']);
    await ok(['rm', 'synth-a', '--suite', 'unstable']);
    for (let i = 1; i <= 4; i++) {
      await new Promise((r) => setTimeout(r, 1500));
      await ok(['include', await deb(`synth-pad${i}`, '1.0-2')]);
    }
    expect(await poolFiles('synth-a')).toEqual(['synth-a_1.0-2_amd64.deb']); // testing still has it
    // Removed from unstable, its snapshot gone: nothing keeps synth-c.
    expect(await readdir(join(archive.root, 'public/pool/contrib/s')).catch(() => [])).not.toContain('synth-c');
    expect((await readdir(join(archive.root, 'public/dists'))).sort()).toEqual(['testing', 'testing-debug', 'unstable', 'unstable-debug']);
  });

  it('builds a contrib source into the contrib part of the pool, binaries beside their source', async () => {
    const pkg = await archive.make({ name: 'aib-contrib', version: '1.0-1', section: 'contrib/net' });
    await dput(up.dputConfig, 'publishing-test', pkg.changesPath, pkg.dir); // this archive's name
    const waited = await archive.cli(['wait', 'aib-contrib', '1.0-1', '--timeout', '900']);
    expect(waited.exitCode, String(waited.all)).toBe(0);
    const contrib = await readFile(join(archive.root, 'public/dists/unstable/contrib/binary-amd64/Packages'), 'utf8');
    expect(contrib).toMatch(/^Filename: pool\/contrib\/a\/aib-contrib\/aib-contrib_1\.0-1_amd64\.deb$/m);
    expect(await readdir(join(archive.root, 'public/pool/contrib/a/aib-contrib'))).toEqual(expect.arrayContaining([
      'aib-contrib_1.0-1.dsc', 'aib-contrib_1.0-1_amd64.buildinfo', 'aib-contrib_1.0-1_amd64.changes', 'aib-contrib_1.0-1_amd64.deb',
    ]));
    expect(await readdir(join(archive.root, 'public/pool/main/a')).catch(() => [])).not.toContain('aib-contrib');
  });
});
