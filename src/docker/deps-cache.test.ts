import { describe, expect, it } from 'vitest';
import { overBounds, type CachedDeps } from './deps-cache.js';

const image = (id: string, size: number): CachedDeps => ({ key: id, id, size, created: '2026-12-06T00:00:00Z', lastUsed: '2026-12-06T00:00:00Z' });

describe('which cached build-dependency images go', () => {
  // Most recently used first, as listDepsImages gives them.
  const all = [image('new', 30), image('b', 30), image('c', 30), image('old', 30)];

  it('those past the count or the bytes, the least recently used', () => {
    expect(overBounds(all, 2, 1000).map((e) => e.id)).toEqual(['c', 'old']);
    expect(overBounds(all, 10, 65).map((e) => e.id)).toEqual(['c', 'old']);
    expect(overBounds(all, 10, 1000)).toEqual([]);
  });

  it('never the one a build is about to start from, even when it alone passes the bytes', () => {
    const huge = [image('just-made', 5000), image('b', 30)];
    expect(overBounds(huge, 10, 1000, 'just-made').map((e) => e.id)).toEqual(['b']);
    expect(overBounds(huge, 10, 1000).map((e) => e.id)).toEqual(['just-made', 'b']);
    expect(overBounds(all, 1, 1000, 'c').map((e) => e.id)).toEqual(['b', 'old']);
  });
});
