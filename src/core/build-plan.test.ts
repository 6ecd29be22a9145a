import { describe, expect, it } from 'vitest';
import { planBuilds } from './build-plan.js';

describe('build plans', () => {
  it.each([
    [['any'], ['amd64'], [{ arch: 'amd64', buildArg: '-B' }]],
    [['all'], ['amd64', 'arm64'], [{ arch: 'amd64', buildArg: '-A' }]],
    [['any', 'all'], ['amd64', 'arm64'], [{ arch: 'amd64', buildArg: '-b' }, { arch: 'arm64', buildArg: '-B' }]],
    [['linux-any'], ['amd64', 'arm64'], [{ arch: 'amd64', buildArg: '-B' }, { arch: 'arm64', buildArg: '-B' }]],
    [['arm64'], ['amd64', 'arm64'], [{ arch: 'arm64', buildArg: '-B' }]],
    [['arm64', 'all'], ['amd64', 'arm64'], [{ arch: 'arm64', buildArg: '-B' }, { arch: 'amd64', buildArg: '-A' }]],
    [['armhf'], ['amd64'], []],
    [['any-arm'], ['amd64', 'armhf', 'arm64'], [{ arch: 'armhf', buildArg: '-B' }]],
    [['any-i386', 'any-arm64'], ['amd64', 'i386', 'arm64'], [{ arch: 'i386', buildArg: '-B' }, { arch: 'arm64', buildArg: '-B' }]],
    [['any-amd64'], ['i386'], []],
  ])('Architecture: %j on %j builds %j', (dsc, configured, plan) => {
    expect(planBuilds(dsc, configured)).toEqual(plan);
  });
});

describe('Architecture: all on builds.arch_all', () => {
  it('builds arch:all once, on arch_all, beside its any build there (-b), or alone (-A) when that architecture builds nothing else', () => {
    expect(planBuilds(['any', 'all'], ['amd64', 'i386', 'arm64'], 'arm64')).toEqual([
      { arch: 'amd64', buildArg: '-B' }, { arch: 'i386', buildArg: '-B' }, { arch: 'arm64', buildArg: '-b' },
    ]);
    expect(planBuilds(['all'], ['i386', 'arm64'], 'amd64')).toEqual([{ arch: 'amd64', buildArg: '-A' }]);
    expect(planBuilds(['any-arm64', 'all'], ['amd64', 'arm64', 'armhf'], 'amd64')).toEqual([{ arch: 'arm64', buildArg: '-B' }, { arch: 'amd64', buildArg: '-A' }]);
  });
});
