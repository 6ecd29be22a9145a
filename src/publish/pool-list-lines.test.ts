import { describe, expect, it } from 'vitest';
import { PoolListLines } from './pool-list-lines.js';

const paths = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `pool/main/p/p${from + i}/p${from + i}_1.0_amd64.deb`);
const text = (parts: Buffer[]) => Buffer.concat(parts).toString('utf8');
const lines = (files: string[]) => files.map((f) => `${f}\n`).join('');

describe('PoolListLines', () => {
  it('writes every path on a line of its own, in order', () => {
    const files = paths(3000);
    const parts = new PoolListLines().parts(files);
    expect(text(parts)).toBe(lines(files));
    // Runs of at most 1,024 paths.
    expect(parts.length).toBe(3);
    expect(new PoolListLines().parts([])).toEqual([]);
  });

  it('writes the runs of the previous list as they were, and encodes only the paths around a change', () => {
    const cache = new PoolListLines();
    const files = paths(5000);
    const before = cache.parts(files);
    // One path inserted in the third run, one removed from the fifth, two appended.
    const changed = [...files.slice(0, 2100), 'pool/main/n/new/new_1.0_all.deb', ...files.slice(2100, 4500), ...files.slice(4501), ...paths(2, 9000)];
    const after = cache.parts(changed);
    expect(text(after)).toBe(lines(changed));
    // Compared by identity: a deep comparison of these buffers took seconds (5 s on a loaded machine).
    const same = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    // The first, second and fourth runs are the same buffers; the third and fifth are made anew.
    expect(same(after.filter((b) => before.includes(b)), [before[0], before[1], before[3]])).toBe(true);
    // Paths a line each, none lost or doubled: the same again gives the same buffers.
    expect(same(cache.parts(changed), after)).toBe(true);
  });

  it('does not take a run whose paths are not all there again, nor leave a trail of short runs after appends', () => {
    const cache = new PoolListLines();
    let files = paths(100);
    cache.parts(files);
    for (let k = 0; k < 200; k++) {
      files = [...files, ...paths(1, 1000 + k)];
      expect(text(cache.parts(files))).toBe(lines(files));
    }
    // 300 paths in runs that are not short, bar the last.
    expect(cache.parts(files).length).toBeLessThanOrEqual(5);
    // The first path of a run, with the others gone: not that run.
    expect(text(cache.parts(files.slice(0, 1)))).toBe(lines(files.slice(0, 1)));
  });
});
