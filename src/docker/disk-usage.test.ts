import { describe, expect, it } from 'vitest';
import { containerDiskUsage, type EngineDiskUsage } from './disk-usage.js';

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
