import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { STATE_EVERY, TextHashes } from './index-text.js';

const whole = (parts: Buffer[]) => {
  const bytes = Buffer.concat(parts);
  return { size: bytes.length, md5: createHash('md5').update(bytes).digest('hex'), sha256: createHash('sha256').update(bytes).digest('hex') };
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
      expect(hashes.ofParts('Packages.xz', file(body))).toEqual(whole(file(body)));
      // Another file's states are its own.
      expect(hashes.ofParts('Packages.gz', body)).toEqual(whole(body));
    }
  });
});
