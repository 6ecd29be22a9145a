import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseXzStream, xzStreamHeader, xzStreamTrailer, XzFormatError, type XzBlock } from './xz-stream.js';

const assembleXzStream = (flags: Buffer, blocks: XzBlock[]) => Buffer.concat([xzStreamHeader(flags), ...blocks.map((b) => b.bytes), xzStreamTrailer(flags, blocks)]);

// Made with `xz -6 -T2 --block-list=4221,2781,5673` of three chunks A, B, C, and of A and C
// alone: blocks are compressed each on its own, so A and C are the same bytes in both.
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name));
const abc = fixture('blocks-abc.xz');
const ac = fixture('blocks-ac.xz');

describe('xz streams taken apart and put together', () => {
  it('reads the blocks of a stream with their sizes', () => {
    const { flags, blocks } = parseXzStream(abc);
    expect([...flags]).toEqual([0x00, 0x04]); // CRC64
    expect(blocks.map((b) => b.uncompressedSize)).toEqual([4221, 2781, 5673]);
    expect(blocks.map((b) => b.bytes.length % 4)).toEqual([0, 0, 0]);
  });

  it('writes back the very stream xz wrote from its own blocks: index, padding and checksums alike', () => {
    const { flags, blocks } = parseXzStream(abc);
    expect(assembleXzStream(flags, blocks).equals(abc)).toBe(true);
  });

  it('makes the stream of A and C from the blocks of A, B and C, byte for byte what xz makes of A and C', () => {
    const { flags, blocks } = parseXzStream(abc);
    expect(assembleXzStream(flags, [blocks[0], blocks[2]]).equals(ac)).toBe(true);
  });

  it('writes an empty stream as xz does for empty input', () => {
    // xz -c </dev/null
    const empty = Buffer.from('/Td6WFoAAATm1rRGAAAAABzfRCEftvN9AQAAAAAEWVo=', 'base64');
    expect(assembleXzStream(Buffer.from([0, 4]), []).equals(empty)).toBe(true);
    expect(parseXzStream(empty).blocks).toEqual([]);
  });

  it.each([
    ['no header magic', Buffer.concat([Buffer.from('hello'), abc.subarray(5)])],
    ['no footer magic (a cut stream)', abc.subarray(0, abc.length - 1)],
    ['an index that misses a block', Buffer.concat([abc.subarray(0, 12), abc.subarray(12 + 504)])],
  ])('refuses %s', (_, data) => {
    expect(() => parseXzStream(data)).toThrow(XzFormatError);
  });
});
