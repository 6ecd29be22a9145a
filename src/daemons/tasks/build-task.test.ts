// The worker's memory of each source's last build-dependency key (what an early build starts from),
// and the job's input files fetched to disk and checked.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LeasedJob } from '../../core/job-protocol.js';
import { DEFAULT_LIMITS, LABEL_BUILDER } from '../../core/kinds/build.js';
import { sha256Hex } from '../../core/request-signature.js';
import type { Docker } from '../../docker/engine.js';
import { LABEL_CREATED } from '../../docker/images.js';
import type { JobApiClient } from '../job-api-client.js';
import { fetchJobFiles, freshBuildenv, likelyDepsKey, noteDepsKey } from './build-task.js';
import type { TaskContext } from './task.js';

const job = (source: string, arch = 'amd64') => ({ source, base: 'trixie', arch, buildArg: '-B' }) as LeasedJob;

describe('the key of each source\'s last build', () => {
  it('is kept per source, base, architecture and build argument', () => {
    noteDepsKey(job('hello'), 'k1');
    noteDepsKey(job('hello', 'arm64'), 'k2');
    expect(likelyDepsKey(job('hello'))).toBe('k1');
    expect(likelyDepsKey(job('hello', 'arm64'))).toBe('k2');
    expect(likelyDepsKey({ ...job('hello'), buildArg: '-b' } as LeasedJob)).toBeUndefined();
    noteDepsKey(job('hello'), undefined); // a build that never resolved leaves the last key
    expect(likelyDepsKey(job('hello'))).toBe('k1');
  });

  it('is kept for the 1,000 sources built most recently, no more', () => {
    noteDepsKey(job('first'), 'f');
    noteDepsKey(job('again'), 'a');
    for (let i = 0; i < 998; i++) noteDepsKey(job(`s${i}`), `k${i}`);
    noteDepsKey(job('again'), 'a'); // built again: now the most recent
    expect(likelyDepsKey(job('first'))).toBe('f'); // 1,000 sources: all kept
    noteDepsKey(job('one-more'), 'o');
    expect(likelyDepsKey(job('first'))).toBeUndefined(); // the 1,001st pushed out the oldest
    noteDepsKey(job('two-more'), 't');
    expect(likelyDepsKey(job('s0'))).toBeUndefined(); // then the next oldest: not the one built again
    expect(likelyDepsKey(job('again'))).toBe('a');
    expect(likelyDepsKey(job('two-more'))).toBe('t');
  });
});

describe("a job's input files", () => {
  /** A task whose queue serves `served` (name -> bytes) as the real client writes it: to the path given. */
  const task = (inDir: string, files: LeasedJob['files'], served: Record<string, string>, limits = DEFAULT_LIMITS) =>
    ({
      job: { id: 'j1', files, limits } as LeasedJob,
      inDir,
      api: {
        sourceFileTo: async (_id: string, name: string, path: string) => {
          writeFileSync(path, served[name], { flag: 'wx' });
          return { size: Buffer.byteLength(served[name]), sha256: sha256Hex(served[name]) };
        },
      } as unknown as JobApiClient,
    }) as TaskContext;
  const listed = (name: string, text: string) => ({ name, size: Buffer.byteLength(text), sha256: sha256Hex(text) });

  it('are written to the input folder and named with their size and sha256; one that is not what the lease lists is removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-inputs-'));
    try {
      const got = await fetchJobFiles(task(dir, [listed('a.dsc', 'DSC'), listed('a.tar.xz', 'TAR')], { 'a.dsc': 'DSC', 'a.tar.xz': 'TAR' }));
      expect(got).toEqual([{ ...listed('a.dsc', 'DSC'), path: join(dir, 'a.dsc') }, { ...listed('a.tar.xz', 'TAR'), path: join(dir, 'a.tar.xz') }]);
      expect(readFileSync(join(dir, 'a.tar.xz'), 'utf8')).toBe('TAR');
      const other = mkdtempSync(join(tmpdir(), 'aib-inputs-'));
      await expect(fetchJobFiles(task(other, [listed('b.dsc', 'DSC')], { 'b.dsc': 'CSD' }))).rejects.toThrow(
        `b.dsc arrived with 3 bytes, sha256 ${sha256Hex('CSD')}; expected 3 bytes, sha256 ${sha256Hex('DSC')}`,
      );
      expect(readdirSync(other)).toEqual([]);
      rmSync(other, { recursive: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are not fetched when they would not fit in the free space of the input folder: the job goes back, saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-inputs-'));
    try {
      const huge = { name: 'huge.deb', size: 2 ** 50, sha256: 'a'.repeat(64) };
      await expect(fetchJobFiles(task(dir, [listed('a.dsc', 'DSC'), huge], { 'a.dsc': 'DSC' }, { ...DEFAULT_LIMITS, diskBytes: 2 ** 51 }))).rejects.toThrow(
        new RegExp(`^the job's 2 input files hold ${2 ** 50 + 3} bytes; this worker has \\d+ bytes free for them \\(${dir}\\)$`),
      );
      // Nor past the job's disk limit (on a worker with ceilings, the owner's), whatever is free.
      const big = { name: 'big.deb', size: 30 * 1024 ** 3, sha256: 'a'.repeat(64) };
      await expect(fetchJobFiles(task(dir, [listed('a.dsc', 'DSC'), big], { 'a.dsc': 'DSC' }))).rejects.toThrow(
        `the job's 2 input files hold ${30 * 1024 ** 3 + 3} bytes, past its disk limit of ${20 * 1024 ** 3} bytes (builds.disk_gib)`,
      );
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are refused when the lease names one with a path or anything but a plain file name, before anything is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-inputs-'));
    try {
      for (const name of ['../escape.dsc', 'sub/x.dsc', '..', '.', '$(touch PWNED).dsc', '-x.dsc']) {
        await expect(fetchJobFiles(task(join(dir, 'in'), [listed(name, 'X')], { [name]: 'X' }))).rejects.toThrow(`the lease names an input file "${name}": expected a plain file name`);
      }
      expect(existsSync(join(dir, 'escape.dsc'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a job's build environment", () => {
  it("older than the lease allows is refreshed in a container with the worker's labels, which a restart finds it by", async () => {
    // A fake engine that records what it is asked: this shows the labels given, not what an engine does with them.
    const created: { Labels?: Record<string, string> }[] = [];
    // (Its upgrade fails: the labels are given before, and the fake makes no image.)
    const container = { start: async () => undefined, wait: async () => ({ StatusCode: 100 }), logs: async () => Buffer.from('E: no mirror\n'), remove: async () => undefined };
    const docker = {
      getImage: () => ({ inspect: async () => ({ Id: 'sha256:old', Created: '2026-01-01T00:00:00Z', Config: { Labels: { [LABEL_CREATED]: '2026-01-01T00:00:00Z' } } }) }),
      createContainer: async (options: { Labels?: Record<string, string> }) => (created.push(options), container),
    } as unknown as Docker;
    const t = { job: { base: 'trixie', buildenvMaxAgeMs: 3600_000 } as LeasedJob, docker, worker: { name: 'builder-1', labels: { 'com.example.team': 'a' } }, log: () => undefined } as unknown as TaskContext;
    await expect(freshBuildenv(t, 'amd64')).rejects.toThrow('refreshing archive/buildenv:trixie-amd64 failed (exit 100):\nE: no mirror');
    expect(created.map((o) => o.Labels)).toEqual([{ 'com.example.team': 'a', [LABEL_BUILDER]: 'builder-1', 'archive-in-a-box.refresh': 'trixie-amd64' }]);
  });
});
