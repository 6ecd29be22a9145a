// A lease and a start's settings as the worker takes them from the queue, which may be elsewhere
// and compromised: every number checked before it is used.
import { describe, expect, it } from 'vitest';
import type { LeasedJob } from '../core/job-protocol.js';
import { MAX_JOB_TIME_MS } from '../config/config.js';
import { DEFAULT_LIMITS } from '../core/kinds/build.js';
import { MAX_CONCURRENCY, MIN_BUILDENV_AGE_MS, checkLease, checkSettings } from './job-api-client.js';

const file = (name: string, size: number) => ({ name, size, sha256: 'a'.repeat(64) });
const lease = (o: Record<string, unknown> = {}) =>
  ({ id: 'j1', kind: 'build', source: 'hello', version: '1.0-1', base: 'trixie', arch: 'amd64', buildArg: '-B', files: [file('hello_1.0-1.dsc', 100)], limits: {}, buildenvMaxAgeMs: 86_400_000, leaseMs: 90_000, ...o }) as unknown as LeasedJob;

describe('a lease', () => {
  it('as the queue sends it is taken, each limit it leaves out the default', () => {
    const checked = checkLease(lease({ limits: { memoryBytes: 2 * 1024 ** 3, cpus: 0.5 }, files: [file('a.dsc', 0), file('a.tar.xz', Number.MAX_SAFE_INTEGER)] }));
    expect(checked.limits).toEqual({ ...DEFAULT_LIMITS, memoryBytes: 2 * 1024 ** 3, cpus: 0.5 });
    expect(checked.files.map((f) => f.size)).toEqual([0, Number.MAX_SAFE_INTEGER]);
    expect(checkLease(lease({ limits: undefined })).limits).toEqual(DEFAULT_LIMITS);
    expect(checkLease(lease({ leaseMs: undefined })).leaseMs).toBeUndefined();
    expect(checkLease(lease()).buildenvMaxAgeMs).toBe(86_400_000);
    // Only the limits a worker knows go on: nothing else the queue adds rides along to Docker.
    expect(Object.keys(checkLease(lease({ limits: { extra: 1 } })).limits).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
  });

  it('is refused when an input file has a size that is negative, not whole or not a number, naming the file', () => {
    // Sizes that sum to 0 would pass the free-space check, and the first file could then take a petabyte.
    expect(() => checkLease(lease({ files: [file('a.tar.xz', 1e15), file('a.dsc', -1e15)] }))).toThrow("the lease's input file a.dsc: size: expected a whole number of bytes, 0 or more, found -1000000000000000");
    for (const size of [-1, 1.5, 2 ** 53, NaN, '100', null, undefined]) {
      expect(() => checkLease(lease({ files: [{ name: 'a.dsc', size, sha256: 'a'.repeat(64) }] })), String(size)).toThrow(/^the lease's input file a\.dsc: size: expected a whole number of bytes, 0 or more, found /);
    }
    expect(() => checkLease(lease({ files: 'a.dsc' }))).toThrow(`the lease's files: expected a list of input files, found "a.dsc"`);
  });

  it('is refused when an input file is not named with a plain file name: the names go into the scripts run as root in its containers', () => {
    // A name that would run as shell code in the build-dependency container, committed to the cache every archive on the engine shares.
    for (const name of ['$(cd tmp;cd deps;touch PWNED;echo real).dsc', '`id`.dsc', "a'b.dsc", 'a b.dsc', 'a;b.dsc', 'a\nb.dsc', '-x.dsc', '.dsc', '../a.dsc', 'sub/a.dsc', '..', '']) {
      expect(() => checkLease(lease({ files: [file(name, 1)] })), name).toThrow(`the lease's input file name: expected a plain file name (letters, digits and _.~+-, not first), found ${JSON.stringify(name)}`);
    }
    for (const name of [null, 7, { length: 1 }]) expect(() => checkLease(lease({ files: [{ name, size: 1, sha256: 'a'.repeat(64) }] })), String(name)).toThrow(/^the lease's input file name: expected a plain file name/);
    // Debian's own names pass: a version's epoch-less "+" and "~", a previous version's "prev~".
    expect(checkLease(lease({ files: [file('hello_1.0~rc1+dfsg-1.dsc', 1), file('prev~hello_0.9-1_amd64.deb', 1), file('build.log', 1)] })).files).toHaveLength(3);
  });

  it('is refused when its architecture, base or build argument is not one a queue makes (they go into scripts and image names)', () => {
    for (const arch of ['amd64;id', '$(id)', 'AMD64', '', null]) expect(() => checkLease(lease({ arch })), String(arch)).toThrow(`the lease's arch: expected an architecture name such as amd64, found ${JSON.stringify(arch)}`);
    for (const base of ['trixie:latest', '../x', undefined]) expect(() => checkLease(lease({ base })), String(base)).toThrow(`the lease's base: expected a Debian release such as trixie, found ${JSON.stringify(base) ?? 'undefined'}`);
    for (const buildArg of ['-b; id', '-S', '', undefined]) expect(() => checkLease(lease({ buildArg })), String(buildArg)).toThrow(`the lease's buildArg: expected -b, -B or -A, found ${JSON.stringify(buildArg) ?? 'undefined'}`);
  });

  it('is refused when a limit is 0, negative or not a finite number (0 is no limit to Docker), naming the limit', () => {
    for (const key of ['memoryBytes', 'pidsLimit', 'cpus', 'timeoutMs', 'outputFiles'] as const) {
      for (const value of [0, -1, '4', null, true]) {
        expect(() => checkLease(lease({ limits: { [key]: value } })), `${key} ${value}`).toThrow(`the lease's limits.${key}: expected a positive number, found ${JSON.stringify(value)}`);
      }
    }
    expect(() => checkLease(lease({ limits: [] }))).toThrow(`the lease's limits: expected an object of build limits, found []`);
    expect(() => checkLease(lease({ limits: 'none' }))).toThrow(`the lease's limits: expected an object of build limits, found "none"`);
  });

  it("is refused when a time limit is more than archive.yaml gives (16 days, timeout_minutes times emulation_factor), within what a timer holds, naming it", () => {
    expect(checkLease(lease({ limits: { timeoutMs: MAX_JOB_TIME_MS, stallMs: MAX_JOB_TIME_MS } })).limits.timeoutMs).toBe(MAX_JOB_TIME_MS);
    for (const key of ['timeoutMs', 'stallMs'] as const) {
      // 2^31 ms and more: a timer of that long fires at once.
      for (const value of [MAX_JOB_TIME_MS + 1, 2 ** 31, 1e15]) {
        expect(() => checkLease(lease({ limits: { [key]: value } })), `${key} ${value}`).toThrow(
          `the lease's limits.${key}: expected a number of milliseconds up to 1382400000 (archive.yaml's most: 16 days, timeout_minutes times emulation_factor), found ${value}`,
        );
      }
    }
  });

  it('is refused when a count is not a whole number, naming it; a size in bytes is taken whole (the engine takes whole bytes; a queue of before sent fractions); a time or a CPU share may have a fraction', () => {
    for (const key of ['pidsLimit', 'outputFiles', 'cacheImages'] as const) {
      expect(() => checkLease(lease({ limits: { [key]: 1181116006.4 } })), key).toThrow(`the lease's limits.${key}: expected a whole number greater than 0, found 1181116006.4`);
    }
    expect(checkLease(lease({ limits: { memoryBytes: 1181116006.4, logCapBytes: 1.5, diskBytes: 322122547.2 } })).limits).toMatchObject({ memoryBytes: 1181116006, logCapBytes: 1, diskBytes: 322122547 });
    for (const value of [0.5, 2 ** 60]) {
      expect(() => checkLease(lease({ limits: { diskBytes: value } })), String(value)).toThrow(`the lease's limits.diskBytes: expected a number of bytes from 1 to 9007199254740991, found ${value}`);
    }
    expect(checkLease(lease({ limits: { cpus: 1.5, timeoutMs: 1.5, stallMs: 1.5 } })).limits).toMatchObject({ cpus: 1.5, timeoutMs: 1.5, stallMs: 1.5 });
  });

  it('is refused when its lease time is not a positive number', () => {
    for (const leaseMs of [0, -1000, '90000', null]) {
      expect(() => checkLease(lease({ leaseMs })), String(leaseMs)).toThrow(`the lease's leaseMs: expected a positive number of milliseconds, found ${JSON.stringify(leaseMs)}`);
    }
  });

  it('keeps a build environment an hour at least, however young the queue says to refresh it: never once a job', () => {
    expect(checkLease(lease({ buildenvMaxAgeMs: 0 })).buildenvMaxAgeMs).toBe(MIN_BUILDENV_AGE_MS);
    expect(checkLease(lease({ buildenvMaxAgeMs: MIN_BUILDENV_AGE_MS - 1 })).buildenvMaxAgeMs).toBe(MIN_BUILDENV_AGE_MS);
    expect(MIN_BUILDENV_AGE_MS).toBe(3600_000);
    for (const age of [-1, '1', null, undefined]) {
      expect(() => checkLease(lease({ buildenvMaxAgeMs: age })), String(age)).toThrow(`the lease's buildenvMaxAgeMs: expected a number of milliseconds, 0 or more, found ${JSON.stringify(age) ?? 'undefined'}`);
    }
  });
});

describe("a start's settings", () => {
  it('run as many job slots as the queue says, from 1 to MAX_CONCURRENCY (64)', () => {
    expect(checkSettings({ concurrency: 1 })).toEqual({ concurrency: 1 });
    expect(checkSettings({ concurrency: 64 })).toEqual({ concurrency: 64 });
    expect(checkSettings({ concurrency: 1e9 })).toEqual({ concurrency: MAX_CONCURRENCY });
    expect(MAX_CONCURRENCY).toBe(64);
  });

  it('are refused when concurrency is not a whole number of at least 1', () => {
    for (const concurrency of [0, -1, 1.5, NaN, '4', null]) {
      expect(() => checkSettings({ concurrency } as never), String(concurrency)).toThrow(`the queue's settings: concurrency: expected a whole number of job slots, at least 1, found ${JSON.stringify(concurrency)}`);
    }
  });
});
