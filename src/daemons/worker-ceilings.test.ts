// What a worker's owner lets a job take on the machine lent (archive worker --limit), whatever a
// queue, which may be compromised, asks.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../core/kinds/build.js';
import { blameCeiling, parseCeilings, slotsWithin, withinCeilings, type WorkerCeilings } from './worker-ceilings.js';

/** archive worker's (cli/worker.ts WORKER_DEFAULT_CEILINGS, tested there). */
const WORKER_DEFAULT_CEILINGS: WorkerCeilings = { limits: DEFAULT_LIMITS, emulationFactor: 6, concurrency: 1 };

const GiB = 1024 ** 3;

describe("a worker's ceilings", () => {
  it("are the archive's own defaults, each raised (or lowered) by --limit KEY=VALUE in archive.yaml's builds: names and units", () => {
    expect(parseCeilings([], WORKER_DEFAULT_CEILINGS)).toEqual({ limits: DEFAULT_LIMITS, emulationFactor: 6, concurrency: 1 });
    const c = parseCeilings(['memory_gib=16', 'cpus=0.5', 'pids=100', 'timeout_minutes=600', 'log_mib=50', 'disk_gib=100', 'output_files=10', 'emulation_factor=10', 'memory_gib=32', 'concurrency=4'], WORKER_DEFAULT_CEILINGS);
    expect(c.limits).toEqual({ ...DEFAULT_LIMITS, memoryBytes: 32 * GiB, cpus: 0.5, pidsLimit: 100, timeoutMs: 600 * 60_000, logCapBytes: 50 * 1024 ** 2, diskBytes: 100 * GiB, outputFiles: 10 });
    expect(c.emulationFactor).toBe(10);
    expect(c.concurrency).toBe(4);
  });

  it('are whole bytes where --limit gives MiB or GiB with a fraction, as the engine takes them', () => {
    const c = parseCeilings(['memory_gib=1.1', 'log_mib=1.3', 'disk_gib=0.1', 'cpus=0.5', 'timeout_minutes=0.5'], WORKER_DEFAULT_CEILINGS);
    expect([c.limits.memoryBytes, c.limits.logCapBytes, c.limits.diskBytes]).toEqual([1181116006, 1363148, 107374182]);
    expect([c.limits.cpus, c.limits.timeoutMs]).toEqual([0.5, 30_000]);
  });

  it('refuse an unknown key, naming it and the keys there are', () => {
    expect(() => parseCeilings(['memory_gb=4'], WORKER_DEFAULT_CEILINGS)).toThrow(/^--limit memory_gb=4: unknown key "memory_gb", KEY one of timeout_minutes, stall_minutes, log_mib, memory_gib, cpus, pids, cache_images, cache_gib, output_file_gib, output_gib, output_files, disk_gib, emulation_factor, concurrency \(archive\.yaml's builds: names\), as --limit memory_gib=8$/);
    expect(() => parseCeilings(['concurency=4'], WORKER_DEFAULT_CEILINGS)).toThrow('--limit concurency=4: unknown key "concurency"');
    expect(() => parseCeilings(['memory_gib'], WORKER_DEFAULT_CEILINGS)).toThrow(/^--limit memory_gib: expected KEY=VALUE, KEY one of /);
  });

  it("refuse a value that is not a number in archive.yaml's range for the key (a whole one for counts), naming it and the expected form", () => {
    for (const value of ['0', '-1', '', 'lots', '1e3', 'Infinity', '4GiB', ' 4', '4097', '9'.repeat(400)]) {
      expect(() => parseCeilings([`memory_gib=${value}`], WORKER_DEFAULT_CEILINGS), value).toThrow(`--limit memory_gib=${value}: expected a number of GiB from 0.25 to 4096, as --limit memory_gib=4`);
    }
    expect(() => parseCeilings(['pids=100.5'], WORKER_DEFAULT_CEILINGS)).toThrow("--limit pids=100.5: expected a whole number of processes from 64 to 4194304 (Linux's most), as --limit pids=4096");
    expect(() => parseCeilings(['emulation_factor=0'], WORKER_DEFAULT_CEILINGS)).toThrow('--limit emulation_factor=0: expected a number from 1 to 50, as --limit emulation_factor=6');
    expect(() => parseCeilings(['concurrency=2.5'], WORKER_DEFAULT_CEILINGS)).toThrow("--limit concurrency=2.5: expected a whole number of jobs at once from 1 to 64 (a worker's most), as --limit concurrency=1");
  });

  it('are each at most what archive.yaml takes (a time ceiling times the factor only lowers a lease, which is held within 16 days)', () => {
    expect(() => parseCeilings(['emulation_factor=200'], WORKER_DEFAULT_CEILINGS)).toThrow('--limit emulation_factor=200: expected a number from 1 to 50, as --limit emulation_factor=6');
    expect(() => parseCeilings(['timeout_minutes=100000'], WORKER_DEFAULT_CEILINGS)).toThrow('--limit timeout_minutes=100000: expected a number of minutes from 0.1 to 1440 (a day), as --limit timeout_minutes=180');
    expect(() => parseCeilings(['stall_minutes=1441'], WORKER_DEFAULT_CEILINGS)).toThrow('--limit stall_minutes=1441: expected a number of minutes from 0.1 to 1440 (a day), as --limit stall_minutes=150');
    const most = parseCeilings(['timeout_minutes=1440', 'stall_minutes=1440', 'emulation_factor=16'], WORKER_DEFAULT_CEILINGS);
    const { limits } = withinCeilings({ ...DEFAULT_LIMITS, timeoutMs: 1e15, stallMs: 1e15 }, most, true);
    expect(limits.timeoutMs).toBe(1440 * 60_000 * 16);
    expect(limits.stallMs).toBeLessThan(2 ** 31 - 1);
  });
});

describe("a lease's limits on a worker with ceilings", () => {
  it('are kept when under them; one over its ceiling runs at the ceiling, the log saying so once, with the option that raises it', () => {
    const under = withinCeilings({ ...DEFAULT_LIMITS, memoryBytes: GiB, cpus: 1 }, WORKER_DEFAULT_CEILINGS, false);
    expect(under).toEqual({ limits: { ...DEFAULT_LIMITS, memoryBytes: GiB, cpus: 1 }, said: [], lowered: [] });
    const asked = { ...DEFAULT_LIMITS, memoryBytes: 16 * GiB, pidsLimit: 1e9, diskBytes: 1e15, cacheImages: 1e6, outputBytes: 3 * GiB };
    const over = withinCeilings(asked, WORKER_DEFAULT_CEILINGS, false);
    expect(over.limits).toEqual(DEFAULT_LIMITS);
    expect(over.lowered).toEqual(['memory_gib', 'pids', 'cache_images', 'output_gib', 'disk_gib']);
    expect(over.said).toEqual([
      'the archive asks for memory_gib 16; this worker allows 4 (archive worker --limit memory_gib=N)',
      'the archive asks for pids 1000000000; this worker allows 4096 (archive worker --limit pids=N)',
      'the archive asks for cache_images 1000000; this worker allows 20 (archive worker --limit cache_images=N)',
      'the archive asks for output_gib 3; this worker allows 2 (archive worker --limit output_gib=N)',
      `the archive asks for disk_gib ${Number((1e15 / GiB).toFixed(3))}; this worker allows 20 (archive worker --limit disk_gib=N)`,
    ]);
  });

  it("of a job under qemu have time ceilings times the emulation factor, as the archive's time limits are", () => {
    const ceilings = parseCeilings(['timeout_minutes=60', 'emulation_factor=4'], WORKER_DEFAULT_CEILINGS);
    const asked = { ...DEFAULT_LIMITS, timeoutMs: 1000 * 60_000, stallMs: 100 * 60_000 };
    expect(withinCeilings(asked, ceilings, true)).toEqual({
      limits: { ...asked, timeoutMs: 240 * 60_000 },
      said: ['the archive asks for timeout_minutes 1000; this worker allows 240, 60 times emulation_factor 4 under qemu (archive worker --limit timeout_minutes=N)'],
      lowered: ['timeout_minutes'],
    });
    expect(withinCeilings(asked, ceilings, false).limits).toEqual({ ...asked, timeoutMs: 60 * 60_000 });
  });
});

describe("a job's failure on a worker with ceilings", () => {
  it("names the worker's ceiling when its reason names a limit the worker lowered (raising the archive's would change nothing); any other failure or outcome as it is", () => {
    const timeout = { outcome: 'failed', reason: 'the build ran past its time limit of 1 h (builds.timeout_minutes)' } as const;
    expect(blameCeiling(timeout, ['memory_gib', 'timeout_minutes'], 'w1')).toEqual({
      outcome: 'failed',
      reason: "the build ran past its time limit of 1 h (builds.timeout_minutes), lowered to worker w1's ceiling (archive worker --limit timeout_minutes=N there, then archive retry)",
    });
    const stall = { outcome: 'failed', reason: 'the build printed nothing for 5 min (stalled; builds.stall_minutes)' } as const;
    expect(blameCeiling(stall, ['stall_minutes'], 'w1').reason).toContain("lowered to worker w1's ceiling (archive worker --limit stall_minutes=N there");
    // A limit it did not lower, a key that only begins like a lowered one, a build that did not fail.
    expect(blameCeiling(timeout, ['memory_gib'], 'w1')).toBe(timeout);
    const outputs = { outcome: 'failed', reason: 'its files pass the cap of 2 GiB in all at x.deb (builds.output_gib)' } as const;
    expect(blameCeiling(outputs, ['output_file_gib'], 'w1')).toBe(outputs);
    expect(blameCeiling(outputs, ['output_gib'], 'w1').reason).toContain('--limit output_gib=N');
    const built = { outcome: 'built' } as const;
    expect(blameCeiling(built, ['timeout_minutes'], 'w1')).toBe(built);
  });
});

describe('how many builds a worker with ceilings runs at once', () => {
  it("is the queue's concurrency, lowered to the worker's (the queue may ask for 64, each at the limits), saying so; none beside the queue", () => {
    expect(slotsWithin(64, WORKER_DEFAULT_CEILINGS)).toEqual({ slots: 1, said: 'the archive asks for concurrency 64; this worker allows 1 (archive worker --limit concurrency=N)' });
    expect(slotsWithin(2, parseCeilings(['concurrency=4'], WORKER_DEFAULT_CEILINGS))).toEqual({ slots: 2 });
    expect(slotsWithin(64, undefined)).toEqual({ slots: 64 });
  });
});
