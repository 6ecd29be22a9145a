import { describe, expect, it } from 'vitest';
import { changedRuns, type ChunkTable } from './index-text.js';

/** A chunk table of these keys, each chunk of 10 bytes and 2 lines. */
const table = (keys: string[]): ChunkTable => keys.map((k) => [k, 10, 2]);

describe('the places where a publication changed an index', () => {
  it('are none for the same chunks', () => {
    expect(changedRuns(table(['a', 'b', 'c']), ['a', 'b', 'c'])).toEqual([]);
  });

  it('are each change apart, not everything between the first and the last (foo and libfoo1)', () => {
    expect(changedRuns(table(['a', 'b', 'c', 'd', 'e']), ['a', 'B', 'c', 'd', 'E'])).toEqual([
      { afterFrom: 1, afterTo: 2, beforeOffset: 10, beforeLength: 10, beforeLines: 2 },
      { afterFrom: 4, afterTo: 5, beforeOffset: 40, beforeLength: 10, beforeLines: 8 },
    ]);
  });

  it('say where chunks were added (nothing of the previous text replaced) and removed (nothing new)', () => {
    expect(changedRuns(table(['a', 'b', 'c']), ['x', 'a', 'c', 'y'])).toEqual([
      { afterFrom: 0, afterTo: 1, beforeOffset: 0, beforeLength: 0, beforeLines: 0 },
      { afterFrom: 2, afterTo: 2, beforeOffset: 10, beforeLength: 10, beforeLines: 2 },
      { afterFrom: 3, afterTo: 4, beforeOffset: 30, beforeLength: 0, beforeLines: 6 },
    ]);
  });

  it('are the whole texts when they share nothing, and count bytes and lines of each chunk as its table says', () => {
    const before: ChunkTable = [['a', 5, 1], ['b', 7, 3], ['c', 11, 2]];
    expect(changedRuns(before, ['x'])).toEqual([{ afterFrom: 0, afterTo: 1, beforeOffset: 0, beforeLength: 23, beforeLines: 0 }]);
    expect(changedRuns(before, [])).toEqual([{ afterFrom: 0, afterTo: 0, beforeOffset: 0, beforeLength: 23, beforeLines: 0 }]);
    expect(changedRuns([], ['x', 'y'])).toEqual([{ afterFrom: 0, afterTo: 2, beforeOffset: 0, beforeLength: 0, beforeLines: 0 }]);
    expect(changedRuns(before, ['a', 'c'])).toEqual([{ afterFrom: 1, afterTo: 1, beforeOffset: 5, beforeLength: 7, beforeLines: 1 }]);
  });

  it('keep the order: a chunk met again out of order is taken as new, and the previous ones it passed as removed', () => {
    // c then a: a was before c in the previous text, so it cannot stay where it was.
    expect(changedRuns(table(['a', 'b', 'c']), ['c', 'a'])).toEqual([
      { afterFrom: 0, afterTo: 0, beforeOffset: 0, beforeLength: 20, beforeLines: 0 },
      { afterFrom: 1, afterTo: 2, beforeOffset: 30, beforeLength: 0, beforeLines: 6 },
    ]);
  });
});
