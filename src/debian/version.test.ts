import { describe, expect, it } from 'vitest';
import { compareVersions, isValidPackageName, parseVersion, versionWithoutEpoch } from './version.js';

// Each row: a < b, per Debian Policy 5.6.12 (and dpkg --compare-versions).
const LESS: [string, string][] = [
  ['1.0', '1.1'],
  ['1.0-1', '1.0-2'],
  ['1.0~rc1', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0~', '1.0'],
  ['1.0', '1.0+b1'],
  ['1.0', '1.0.1'],
  ['1.0', '1.0a'],
  ['1.0a', '1.0+'],
  ['1.9', '1.10'],
  ['1:0.1', '2:0.0'],
  ['9.9', '1:0.1'],
  ['1.0-1', '1.0-1.1'],
  ['1.0-1~bpo1', '1.0-1'],
  ['2.30-1', '2.30a-1'],
  ['0.9', '0.10'],
  ['1.0-0', '1.0-1'],
  ['a', 'b'].map((x) => `1${x}`) as [string, string],
];

describe('Debian version comparison', () => {
  it.each(LESS)('%s sorts before %s', (a, b) => {
    expect(compareVersions(a, b)).toBeLessThan(0);
    expect(compareVersions(b, a)).toBeGreaterThan(0);
  });

  it.each([
    ['1.0', '1.0-0'],
    ['0:1.0', '1.0'],
    ['1.01', '1.1'],
    ['1.0-1', '1.0-1'],
  ])('%s equals %s', (a, b) => {
    expect(compareVersions(a, b)).toBe(0);
  });

  it.each([
    ['1.0', { epoch: 0, upstream: '1.0', revision: '' }],
    ['2:1.0-1-2', { epoch: 2, upstream: '1.0-1', revision: '2' }],
    ['1.0+dfsg~1-3ubuntu1', { epoch: 0, upstream: '1.0+dfsg~1', revision: '3ubuntu1' }],
  ])('parses %s into epoch, upstream and revision', (text, expected) => {
    expect(parseVersion(text)).toEqual(expected);
  });

  it.each(['', 'a1.0', '1.0-', '1:', 'x:1.0', '1.0 1', '1.0_1', '1.0-1_2'])('rejects "%s" with a reason', (text) => {
    expect(typeof parseVersion(text)).toBe('string');
  });

  it('drops the epoch for file names', () => {
    expect(versionWithoutEpoch('1:2.0-1')).toBe('2.0-1');
  });

  it.each([
    ['hello', true],
    ['libfoo2.0', true],
    ['g++', true],
    ['a', false],
    ['Hello', false],
    ['-foo', false],
    ['foo_bar', false],
  ])('package name %s valid: %s', (name, valid) => {
    expect(isValidPackageName(name as string)).toBe(valid);
  });
});
