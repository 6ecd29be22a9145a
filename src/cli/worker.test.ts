import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../config/config.js';
import { buildLimits } from '../core/kinds/build.js';
import { WORKER_DEFAULT_CEILINGS } from './worker.js';

describe("archive worker's ceilings without --limit", () => {
  it("are the archive's own defaults (archive.yaml builds:, as README documents them), under qemu too", () => {
    const builds = parseConfig('', 'archive.yaml').builds;
    expect(WORKER_DEFAULT_CEILINGS.limits).toEqual(buildLimits(builds));
    expect(WORKER_DEFAULT_CEILINGS.emulationFactor).toBe(DEFAULT_CONFIG.builds.emulation_factor);
  });
});
