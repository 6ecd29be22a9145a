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
  ])('Architecture: %j on %j builds %j', (dsc, configured, plan) => {
    expect(planBuilds(dsc, configured)).toEqual(plan);
  });
});
