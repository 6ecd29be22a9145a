import { describe, expect, it } from 'vitest';
import { missingWorker, nativeWorkerAvailable, parseWorkerToken, presentWorkers, workerToken, type WorkerSeen } from './workers.js';

describe('a worker token', () => {
  const key = 'ab'.repeat(32);

  it('carries the worker name and its key, and reads back', () => {
    const token = workerToken({ id: 'arm-box', key });
    expect(token).toBe(`aibw1.arm-box.${key}`);
    expect(parseWorkerToken(`  ${token}\n`)).toEqual({ name: 'arm-box', key: Buffer.from(key, 'hex') });
  });

  it('is refused when it is something else: the archive token, a short key, a name that is no worker name, extra parts', () => {
    for (const bad of ['0123abcd', `aibw1.arm-box.${key.slice(2)}`, `aibw1.Arm_Box.${key}`, `aibw1.arm-box.${key}.x`, `aibw2.arm-box.${key}`, `aibw1.../x.${key}`]) {
      expect(parseWorkerToken(bad), bad).toBeUndefined();
    }
  });
});

describe('a job waiting for a worker', () => {
  const job = { kind: 'build' as const, arch: 'arm64' };
  const at = (ms: number) => new Date(Date.UTC(2026, 11, 1) + ms).toISOString();

  it('says which worker it waits for when none present offers its kind and architecture', () => {
    expect(missingWorker(job, [{ kinds: ['build'], architectures: ['amd64'] }])).toBe('waiting for a worker that can build arm64');
    expect(missingWorker(job, [])).toBe('waiting for a worker that can build arm64 (no worker has asked for work lately)');
    expect(missingWorker({ kind: 'lintian', arch: 'amd64' }, [{ kinds: ['build'] }])).toBe('waiting for a worker that can run lintian');
    expect(missingWorker({ kind: 'piuparts', arch: 'arm64' }, [{ kinds: ['build', 'piuparts'], architectures: ['amd64'] }])).toBe('waiting for a worker that can run piuparts on arm64');
  });

  it('says nothing when a present worker offers it, or offers any architecture', () => {
    expect(missingWorker(job, [{ kinds: ['build'], architectures: ['amd64', 'arm64'] }])).toBeUndefined();
    expect(missingWorker(job, [{ kinds: ['build'] }])).toBeUndefined();
  });

  it('counts a worker present when heard from within ten minutes, or while it holds a job', () => {
    const now = Date.UTC(2026, 11, 1) + 3600_000;
    const seen = [
      { id: 'fresh', enrolled: true, lastSeen: at(3600_000 - 60_000) },
      { id: 'stale', enrolled: true, lastSeen: at(0) },
      { id: 'busy', enrolled: false, lastSeen: at(0) },
    ];
    expect(presentWorkers(seen, [{ lease: { builder: 'busy/2' } }, {}], now).map((w) => w.id)).toEqual(['fresh', 'busy']);
  });
});

describe('a native worker goes first', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  const seen = (id: string, secondsAgo: number, emulated: string[] = []): WorkerSeen => ({
    id, enrolled: true, kinds: ['build'], architectures: ['amd64', 'arm64'], emulated, lastSeen: new Date(now - secondsAgo * 1000).toISOString(),
  });
  it('is available to take arm64 from an emulating worker when it asked for work within 90 s', () => {
    expect(nativeWorkerAvailable('arm64', 'emu', [seen('pi', 30)], now)).toBe(true);
    expect(nativeWorkerAvailable('arm64', 'emu', [seen('pi', 120)], now)).toBe(false);
  });
  it('is not one that emulates the architecture too, nor the worker asking, nor one without it', () => {
    expect(nativeWorkerAvailable('arm64', 'emu', [seen('other', 5, ['arm64'])], now)).toBe(false);
    expect(nativeWorkerAvailable('arm64', 'pi', [seen('pi', 5)], now)).toBe(false);
    expect(nativeWorkerAvailable('armhf', 'emu', [seen('pi', 5)], now)).toBe(false);
    expect(nativeWorkerAvailable('arm64', 'emu', [{ ...seen('any', 5), architectures: undefined }], now)).toBe(false);
  });
});
