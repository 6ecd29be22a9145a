// archive build: a one-shot build without an archive running, in the same buildenv image and
// throwaway, locked-down containers as the builder, from a source tree and from a .dsc.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, RUN_ID, cleanupRun } from './support/archive.js';
import { makeSourcePackage } from './support/packages.js';

describe('archive build', () => {
  let work: string;
  const build = (args: string[]) =>
    execa('node', [CLI, '--root', join(work, 'no-root'), 'build', ...args], { reject: false, all: true, env: { ARCHIVE_RUN_ID: RUN_ID }, timeout: 20 * 60_000 });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'aib-build-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
    await cleanupRun();
  });

  it('builds a source tree, leaving the .debs, .buildinfo, .changes and log above it', async () => {
    const pkg = await makeSourcePackage(await mkdtemp(join(work, 'tree-')), { name: 'aib-oneshot', version: '1.0-1', line: 'built once' });
    const r = await build([join(pkg.dir, 'aib-oneshot-1.0'), '--json']);
    expect(r.exitCode, String(r.all)).toBe(0);
    const result = JSON.parse(String(r.stdout)) as { outcome: string; files: string[]; out: string };
    expect(result).toMatchObject({ outcome: 'built', out: pkg.dir });
    expect(result.files).toEqual(expect.arrayContaining(['aib-oneshot_1.0-1_amd64.deb', 'aib-oneshot_1.0-1_amd64.buildinfo', 'aib-oneshot_1.0-1_amd64.changes']));
    expect(await readdir(pkg.dir)).toEqual(expect.arrayContaining([...result.files, 'aib-oneshot_1.0-1_amd64.build', 'aib-oneshot_1.0-1.dsc']));
    const { stdout } = await execa('dpkg-deb', ['--field', join(pkg.dir, 'aib-oneshot_1.0-1_amd64.deb'), 'Package', 'Version']);
    expect(stdout).toBe('Package: aib-oneshot\nVersion: 1.0-1');
    // Nothing left running or stopped from the build.
    const left = await execa('docker', ['ps', '-aq', '--filter', `label=archive-in-a-box.run-id=${RUN_ID}`, '--filter', 'label=archive-in-a-box.project=archive-build']);
    expect(left.stdout.trim()).toBe('');
  });

  it('builds a .dsc into --out, and fails with the reason and the log when the build fails', async () => {
    const dir = await mkdtemp(join(work, 'dsc-'));
    const pkg = await makeSourcePackage(dir, { name: 'aib-oneshot-fail', version: '2.0-1', buildScript: 'echo about to fail && exit 7' });
    const out = join(work, 'results');
    await mkdir(out);
    const r = await build([join(dir, pkg.dsc), '--out', out]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/aib-oneshot-fail 2\.0-1 did not build on amd64: /);
    expect(r.stderr).toContain(`log: ${join(out, 'aib-oneshot-fail_2.0-1_amd64.build')}`);
    expect(r.stdout).toContain('about to fail');
    expect(await readdir(out)).toEqual(['aib-oneshot-fail_2.0-1_amd64.build']);
  });

  it('says what is wrong with a path that is neither a .dsc nor a source tree', async () => {
    const r = await build([work]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${work}: no debian/changelog: not a Debian source tree`);
  });
});
