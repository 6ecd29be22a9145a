import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { keepCount } from './cache.js';

describe('archive cache prune --keep', () => {
  it('takes a whole number of images, 0 or more', () => {
    expect(keepCount('5')).toBe(5);
    expect(keepCount('0')).toBe(0);
    expect(keepCount('007')).toBe(7);
  });

  it('refuses anything else, which kept nothing and removed the whole cache', () => {
    for (const text of ['5x', '', ' ', '-1', '2.5', 'five', 'Infinity', '1e3']) {
      expect(() => keepCount(text), text).toThrow(new UserError(`--keep: "${text}" is not a number of images to keep (a whole number, 0 or more)`));
    }
  });
});
