import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../config/config.js';
import { buildLimits } from '../core/kinds/build.js';
import { STOPPING } from '../daemons/builder.js';
import { WORKER_DEFAULT_CEILINGS } from './worker.js';
import { WORKER_STOP_SECONDS, dockerRunLine } from './workers.js';

describe("archive worker's ceilings without --limit", () => {
  it("are the archive's own defaults (archive.yaml builds:, as README documents them), under qemu too", () => {
    const builds = parseConfig('', 'archive.yaml').builds;
    expect(WORKER_DEFAULT_CEILINGS.limits).toEqual(buildLimits(builds));
    expect(WORKER_DEFAULT_CEILINGS.emulationFactor).toBe(DEFAULT_CONFIG.builds.emulation_factor);
  });
});

describe("the docker run line of a worker's container (archive workers add)", () => {
  it('gives it the time to stop, its jobs\' containers removed and the jobs given back: past STOPPING.deadlineMs, not the engine\'s 10 s', () => {
    expect(dockerRunLine('w1', 'TOKEN', 'https://a.example:8080/')).toContain(` --stop-timeout ${WORKER_STOP_SECONDS} `);
    expect(WORKER_STOP_SECONDS * 1000).toBeGreaterThan(STOPPING.deadlineMs);
  });
});
