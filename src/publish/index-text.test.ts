import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { STATE_EVERY, TextHashes } from './index-text.js';

const whole = (parts: Buffer[]) => {
  const bytes = Buffer.concat(parts);
  return { size: bytes.length, md5: createHash('md5').update(bytes).digest('hex'), sha256: createHash('sha256').update(bytes).digest('hex') };
};

/** The facts of a file of `parts` hashed as the publisher does, each part's bytes given from the first one hashed again. */
const hashed = (hashes: TextHashes, id: string, parts: Buffer[]) => {
  const hashing = hashes.ofParts(id, parts);
  for (let i = hashing.from; i < parts.length; i++) hashing.update(i, parts[i]);
  return { from: hashing.from, ...hashing.done(parts.reduce((sum, p) => sum + p.length, 0)) };
};

describe('TextHashes.ofParts', () => {
  it('gives the hashes of the whole file, whatever changed since the parts it began with before', () => {
    const hashes = new TextHashes();
    const piece = (n: number) => Buffer.from(`piece ${n} `.repeat(50 + n));
    // 5 states kept: 40 pieces, a small header made anew each time (equal bytes, another buffer).
    const pieces = Array.from({ length: 40 }, (_, i) => piece(i));
    const file = (body: Buffer[]) => [Buffer.from('header'), ...body, Buffer.from(`footer ${body.length}`)];
    expect(pieces.length).toBeGreaterThan(4 * STATE_EVERY);
    let body: Buffer[] = pieces;
    const froms: number[] = [];
    for (const change of [
      (b: Buffer[]) => b, // the same again
      (b: Buffer[]) => [...b.slice(0, 20), piece(100), ...b.slice(21)], // one in the middle
      (b: Buffer[]) => [...b.slice(0, 30), Buffer.alloc(b[30].length, 'x'), ...b.slice(31)], // one of the same size
      (b: Buffer[]) => [piece(101), ...b.slice(1)], // the first
      (b: Buffer[]) => [...b, piece(102), piece(103)], // two more at the end
      (b: Buffer[]) => b.slice(0, 9), // most gone
      (b: Buffer[]) => [...b.slice(0, 8), ...pieces.slice(30)], // back after a kept state
      () => [],
      (b: Buffer[]) => pieces,
    ]) {
      body = change(body);
      const { from, ...facts } = hashed(hashes, 'Packages.xz', file(body));
      expect(facts).toEqual(whole(file(body)));
      // Another file's states are its own.
      expect(hashed(hashes, 'Packages.gz', body)).toMatchObject(whole(body));
      froms.push(from);
    }
    // Hashed whole the first time; after a change to the 21st piece, again only from a state kept before it.
    expect(froms[0]).toBe(0);
    expect(froms[1]).toBeGreaterThan(0);
    expect(froms[1]).toBeLessThanOrEqual(21);
  });
});
