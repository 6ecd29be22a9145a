import { afterEach, describe, expect, it } from 'vitest';
import { containerDiskUsage, DISK_COUNT, DiskUsageCounter, type EngineDiskUsage } from './disk-usage.js';
import type { Docker } from './engine.js';

// As /system/df answers (API 1.41): a build with its anonymous /build volume, a deps container
// without one, a volume the engine did not count.
const DF: EngineDiskUsage = {
  Containers: [
    { Id: 'build', SizeRw: 0, Mounts: [{ Type: 'volume', Name: 'v-build' }, { Type: 'tmpfs' }] },
    { Id: 'deps', SizeRw: 12_582_912, Mounts: [] },
    { Id: 'fresh', SizeRw: -1, Mounts: [{ Type: 'volume', Name: 'v-fresh' }, { Type: 'bind', Name: 'v-build' }] },
  ],
  Volumes: [
    { Name: 'v-build', UsageData: { Size: 31_457_280 } },
    { Name: 'v-fresh', UsageData: { Size: -1 } },
  ],
};

describe('what a container has written, from the engine\'s disk usage', () => {
  it('is its writable layer and its volume', () => {
    expect(containerDiskUsage(DF, 'build')).toBe(31_457_280);
    expect(containerDiskUsage(DF, 'deps')).toBe(12_582_912);
  });

  it('counts nothing for what the engine did not count (-1), nor a mount that is not a volume', () => {
    expect(containerDiskUsage(DF, 'fresh')).toBe(0);
  });

  it('is unknown for a container the answer does not list, and for an answer without containers', () => {
    expect(containerDiskUsage(DF, 'gone')).toBeUndefined();
    expect(containerDiskUsage({ Containers: null, Volumes: null }, 'build')).toBeUndefined();
  });
});

describe('the engine\'s count for a worker\'s containers', () => {
  const was = { ...DISK_COUNT };
  afterEach(() => Object.assign(DISK_COUNT, was));
  /** An engine whose /system/df answers as `answer` says (never, when it returns undefined); the requests it had. */
  const engine = (answer: (n: number) => { df?: EngineDiskUsage; err?: Error } | undefined) => {
    const asked: { path: string; options: unknown }[] = [];
    const docker = {
      modem: {
        dial: (o: { path: string; options: unknown }, done: (err: Error | null, data?: unknown) => void) => {
          asked.push(o);
          const a = answer(asked.length);
          if (a) setTimeout(() => done(a.err ?? null, a.df), 5);
        },
      },
    } as unknown as Docker;
    return { docker, asked };
  };

  it('is counted anew when asked for a fresh count: not the kept one, nor one in flight here or at the engine (asked twice, the second answer taken)', async () => {
    const size = (n: number): EngineDiskUsage => ({ Containers: [{ Id: 'deps', SizeRw: n, Mounts: [] }], Volumes: [] });
    const { docker, asked } = engine((n) => ({ df: size(n) }));
    const counter = new DiskUsageCounter(docker);
    expect(await counter.of('deps')).toBe(1);
    expect(await counter.of('deps', { fresh: true })).toBe(3);
    expect(asked).toHaveLength(3);
    // One in flight when the fresh count is asked for is waited for, then the engine is asked twice.
    DISK_COUNT.freshMs = 0;
    const inFlight = counter.of('deps');
    const fresh = counter.of('deps', { fresh: true });
    expect(await inFlight).toBe(4);
    expect(await fresh).toBe(6);
  });

  it('tries a fresh count again when the engine refuses it (one already running, before API 1.42)', async () => {
    Object.assign(DISK_COUNT, { freshRetryMs: 1 });
    const conflict = new Error('(HTTP code 409) conflict - a disk usage operation is already running');
    const { docker, asked } = engine((n) => (n <= 3 ? { err: conflict } : { df: DF }));
    expect(await new DiskUsageCounter(docker).of('deps', { fresh: true })).toBe(12_582_912);
    expect(asked).toHaveLength(4);
    const { docker: refusing } = engine(() => ({ err: conflict }));
    await expect(new DiskUsageCounter(refusing).of('deps', { fresh: true })).rejects.toThrow('409');
  });

  it('is one request for every container that asks at once, and kept a few seconds; containers and volumes only', async () => {
    const { docker, asked } = engine(() => ({ df: DF }));
    const counter = new DiskUsageCounter(docker);
    expect(await Promise.all([counter.of('build'), counter.of('deps'), counter.of('gone')])).toEqual([31_457_280, 12_582_912, undefined]);
    expect(await counter.of('build')).toBe(31_457_280);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ path: '/system/df?', options: { type: ['container', 'volume'] } });
  });

  it('fails a count the engine does not answer in time, or answers with an error, and asks again at the next', async () => {
    Object.assign(DISK_COUNT, { timeoutMs: 50, freshMs: 0 });
    const { docker, asked } = engine((n) => (n === 1 ? undefined : n === 2 ? { err: new Error('a disk usage operation is already running') } : { df: DF }));
    const counter = new DiskUsageCounter(docker);
    await expect(counter.of('build')).rejects.toThrow('the engine did not answer its disk usage within 0 s');
    await expect(counter.of('build')).rejects.toThrow('a disk usage operation is already running');
    expect(await counter.of('build')).toBe(31_457_280);
    expect(asked).toHaveLength(3);
  });
});
