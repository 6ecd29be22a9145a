// Every architecture a team ships, on one amd64 machine: a suite building for amd64, i386 and
// arm64 (i386 and arm64 under qemu here, through binfmt_misc), each with a base debootstrapped
// for it and a build environment of its own. One source with a compiled program (Architecture:
// any) and a data package (Architecture: all): three builds of the one, one of the other, each
// published in its binary-ARCH index, installed and run in clean containers of those
// architectures. A second suite holds a new version back until every architecture built
// (wait_for_all_architectures); i386 added to it afterwards back-fills it, with no upload. And a
// one-shot build for i386 (archive build --arch; i386 rather than arm64, which qemu runs about
// 2.5 times slower here). armhf is left to bench/multiarch.sh: its base and build environment
// would cost this suite minutes more under qemu.
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMode } from '../src/core/doctor.js';
import { architectureFacts } from '../src/process/architectures.js';
import { TestArchive, cleanupRun, inCleanContainer, until, type JobView, type UpResult } from './support/archive.js';
import type { PackageSpec, SourcePackage } from './support/packages.js';

type Job = JobView & { buildArg: string; emulated: boolean };

const multi = (name: string, distribution: string): PackageSpec => ({
  name,
  version: '1.0-1',
  distribution,
  line: `hello from ${name}`,
  data: { binary: `${name}-data`, file: 'data.txt', content: `data of ${name}\n` },
  // No debhelper: under qemu, installing it and running dh is most of a small build.
  withoutDebhelper: true,
});

describe('every architecture a team ships', () => {
  let archive: TestArchive;
  let up: UpResult;
  let pkg: SourcePackage;
  let i386Emulated: boolean;
  const config = () => join(archive.root, 'archive.yaml');
  const packages = (suite: string, arch: string) => readFile(join(archive.root, `public/dists/${suite}/main/binary-${arch}/Packages`), 'utf8');
  const jobs = async (source: string) => ((await archive.upload(source, '1.0-1'))?.jobs ?? []) as Job[];

  /** archive.yaml with the suites' settings changed (through the YAML document: comments stay). */
  async function setSuites(suites: Record<string, Record<string, unknown>>): Promise<void> {
    const doc = parseDocument(await readFile(config(), 'utf8'));
    for (const [name, settings] of Object.entries(suites)) {
      for (const [key, value] of Object.entries(settings)) doc.setIn(['suites', name, key], value);
    }
    await writeFile(config(), doc.toString());
  }

  beforeAll(async () => {
    i386Emulated = runMode((await architectureFacts(['i386']))[0]) === 'emulated';
    archive = await TestArchive.create();
    expect((await archive.cli(['init'])).exitCode).toBe(0);
    await setSuites({
      unstable: { architectures: ['amd64', 'i386', 'arm64'] },
      held: { base: 'trixie', components: ['main'], architectures: ['amd64', 'arm64'], wait_for_all_architectures: true },
    });
    const doc = parseDocument(await readFile(config(), 'utf8'));
    doc.setIn(['builds', 'concurrency'], 2);
    await writeFile(config(), doc.toString());
    up = await archive.up();
    pkg = await archive.send(up, multi('multi', 'unstable'));
    const waited = await archive.cli(['wait', 'multi', '1.0-1', '--timeout', '2400'], { timeoutMs: 41 * 60_000 });
    expect(waited.exitCode, `${waited.all}\n${(await archive.cli(['status'])).stdout}`).toBe(0);
  });

  afterAll(async () => {
    await archive?.destroy();
    await cleanupRun();
  });

  it('builds the program once per architecture and the arch:all package once, on arch_all; the emulated builds are marked', async () => {
    const built = (await jobs('multi')).map((j) => [j.arch, j.buildArg, j.state, j.emulated]);
    expect(built.sort()).toEqual([
      ['amd64', '-b', 'built', false],
      ['arm64', '-B', 'built', true],
      ['i386', '-B', 'built', i386Emulated],
    ]);
    const status = (await archive.cli(['status'])).stdout;
    expect(status).toMatch(/build arm64 \(emulated\) -B: built/);
    // The page follows once changes pause for half a second (the queue's statusChanged): looked at until then.
    await until('the status page with the emulated build built', async () =>
      (await readFile(join(archive.root, 'public/index.html'), 'utf8')).includes('<span class="built" title="emulated">arm64</span>'), 30_000);
  });

  it('publishes binary-ARCH for each architecture, the arch:all package in every one, and Release lists them', async () => {
    const release = await readFile(join(archive.root, 'public/dists/unstable/Release'), 'utf8');
    expect(release).toMatch(/^Architectures: amd64 i386 arm64$/m);
    for (const arch of ['amd64', 'i386', 'arm64']) {
      const index = await packages('unstable', arch);
      expect(index).toMatch(new RegExp(`^Package: multi\\n(.+\\n)*?Architecture: ${arch}\\n`, 'm'));
      expect(index).toMatch(/^Package: multi-data\n(.+\n)*?Architecture: all\n/m);
      expect(release).toContain(`main/binary-${arch}/Packages`);
    }
  });

  it.each([
    ['i386', 'i686', 'Intel (80386|i386)'],
    ['arm64', 'aarch64', 'ARM aarch64'],
  ])("installs and runs in a clean %s container made from the archive's own base", async (arch, machine, elf) => {
    const script = [
      'apt-get update -q >/dev/null',
      'apt-get install -y -q multi multi-data file >/dev/null',
      'multi',
      'echo "machine: $(uname -m); dpkg: $(dpkg --print-architecture)"',
      'file -L /usr/bin/multi',
      'cat /usr/share/multi-data/data.txt',
      "dpkg-query -W -f '${Package} ${Architecture}\\n' multi multi-data",
    ].join('\n');
    const run = await inCleanContainer(up, up.aptSourceHttp, script, [], `archive/base:trixie-${arch}`);
    expect(run.exitCode, String(run.all)).toBe(0);
    expect(run.stdout).toContain('hello from multi');
    // i386 run natively by an amd64 kernel (its IA-32 emulation, when it has one) is told the
    // kernel's machine, as in any i386 container there; qemu tells it its own.
    expect(run.stdout).toContain(`machine: ${arch === 'i386' && !i386Emulated ? 'x86_64' : machine}; dpkg: ${arch}`);
    expect(run.stdout).toMatch(new RegExp(`/usr/bin/multi: ELF \\d+-bit LSB .*${elf}`));
    expect(run.stdout).toContain('data of multi');
    expect(run.stdout).toContain(`multi ${arch}\nmulti-data all`);
  });

  it('holds a new version back in a wait_for_all_architectures suite until every architecture built', async () => {
    await archive.send(up, multi('whole', 'held'));
    // amd64 builds natively, arm64 several times slower: in between, nothing of it is published.
    await until('the amd64 build of whole', async () => (await jobs('whole')).find((j) => j.arch === 'amd64' && j.state === 'built'), 20 * 60_000, 1000);
    const between = await jobs('whole');
    expect(between.find((j) => j.arch === 'arm64')?.state).not.toBe('built');
    // The publication after the amd64 build (the queue publishes on every build) holds neither its binaries nor its source.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await packages('held', 'amd64')).not.toContain('Package: whole');
    expect(await readFile(join(archive.root, 'public/dists/held/main/source/Sources'), 'utf8')).not.toContain('Package: whole');
    // A pool collection meanwhile (a snapshot asks for one, at the end of the queue's scan; the
    // next request is answered after it) keeps what no suite names yet: the held build's files.
    expect((await archive.cli(['snapshot', 'gc-probe', '--suite', 'unstable'])).exitCode).toBe(0);
    expect((await archive.cli(['snapshot', 'gc-probe', '--delete'])).exitCode).toBe(0);
    const pooled = join(archive.root, 'public/pool/main/w/whole');
    expect((await readdir(pooled)).sort()).toEqual(expect.arrayContaining(['whole_1.0-1_amd64.deb', 'whole-data_1.0-1_all.deb', 'whole_1.0-1.dsc']));
    const waited = await archive.cli(['wait', 'whole', '1.0-1', '--timeout', '1800'], { timeoutMs: 31 * 60_000 });
    expect(waited.exitCode, String(waited.all)).toBe(0);
    for (const arch of ['amd64', 'arm64']) {
      const index = await packages('held', arch);
      expect(index).toMatch(new RegExp(`^Package: whole\\n(.+\\n)*?Architecture: ${arch}\\n`, 'm'));
      // Every file the index names is in the pool.
      for (const [, file] of index.matchAll(/^Filename: (.+)$/gm)) expect((await stat(join(archive.root, 'public', file))).isFile()).toBe(true);
    }
    expect(await readFile(join(archive.root, 'public/dists/held/main/source/Sources'), 'utf8')).toContain('Package: whole');
  });

  it('builds one-shot for another architecture: archive build --arch i386', async () => {
    const out = join(archive.work, 'oneshot');
    await execa('mkdir', ['-p', out]);
    const built = await archive.cli(['build', join(pkg.dir, pkg.dsc), '--arch', 'i386', '--out', out, '--json'], { timeoutMs: 30 * 60_000 });
    expect(built.exitCode, String(built.all)).toBe(0);
    const result = JSON.parse(String(built.stdout)) as { outcome: string; arch: string; emulated: boolean; files: string[] };
    expect(result).toMatchObject({ outcome: 'built', arch: 'i386', emulated: i386Emulated });
    expect(result.files).toContain('multi_1.0-1_i386.deb');
    expect((await execa('dpkg-deb', ['-f', join(out, 'multi_1.0-1_i386.deb'), 'Architecture'])).stdout).toBe('i386');
  });

  it('back-fills an architecture added to a suite: builds of what it publishes there, with no new upload', async () => {
    // i386 added to held: the worker builds it already (for unstable), so no new image is needed.
    await setSuites({ held: { architectures: ['amd64', 'arm64', 'i386'] } });
    const backfilled = await until('the i386 back-fill of whole', async () => {
      const i386 = (await jobs('whole')).find((j) => j.arch === 'i386');
      if (i386?.state === 'failed') throw new Error(`the i386 build failed: ${i386.reason}`);
      return i386?.state === 'built' && i386;
    }, 20 * 60_000, 2000);
    // Its arch:all package was built with amd64's (-b): not again.
    expect(backfilled).toMatchObject({ buildArg: '-B', emulated: i386Emulated });
    expect((await archive.uploads()).filter((u) => u.source === 'whole')).toHaveLength(1);
    const i386 = await until('binary-i386 of held with whole', async () => {
      const index = await packages('held', 'i386').catch(() => '');
      return index.includes('Package: whole\n') && index;
    }, 60_000);
    expect(i386).toMatch(/^Package: whole\n(.+\n)*?Architecture: i386\n/m);
    expect(i386).toMatch(/^Package: whole-data\n(.+\n)*?Architecture: all\n/m);
    expect(await readFile(join(archive.root, 'public/dists/held/Release'), 'utf8')).toMatch(/^Architectures: amd64 arm64 i386$/m);
    expect(await readFile(join(archive.root, 'logs/queue.log'), 'utf8')).toMatch(/back-fill of whole 1\.0-1 in held: builds on i386 \(-B\)/);
  });
});
