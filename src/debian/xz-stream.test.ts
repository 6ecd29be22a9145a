import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isXzBlockOf, parseXzStream, storedSize, xzStreamHeader, xzStreamTrailer, XzFormatError, type XzBlock } from './xz-stream.js';

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

  it('tells a block from bytes that are not one, by its header, the sizes it gives, its end and its padding', () => {
    const { blocks } = parseXzStream(abc);
    const whole = (b: XzBlock) => isXzBlockOf(b.bytes, b.unpaddedSize, b.uncompressedSize);
    expect(blocks.map(whole)).toEqual([true, true, true]);
    const [a, b] = blocks;
    // Sizes another chunk's, from the middle of a block, cut short, run on into the next one.
    expect(isXzBlockOf(a.bytes, a.unpaddedSize, b.uncompressedSize)).toBe(false);
    expect(isXzBlockOf(a.bytes.subarray(4), a.unpaddedSize - 4, a.uncompressedSize)).toBe(false);
    expect(isXzBlockOf(a.bytes.subarray(0, a.bytes.length - 4), a.unpaddedSize - 4, a.uncompressedSize)).toBe(false);
    expect(isXzBlockOf(Buffer.concat([a.bytes, b.bytes.subarray(0, 4)]), a.unpaddedSize + 4, a.uncompressedSize)).toBe(false);
    expect(isXzBlockOf(Buffer.alloc(0), 0, 0)).toBe(false);
    // A header damaged (its CRC32 no longer holds).
    const damaged = Buffer.from(a.bytes);
    damaged[2] ^= 1;
    expect(isXzBlockOf(damaged, a.unpaddedSize, a.uncompressedSize)).toBe(false);
    // A reserved bit of the block flags set, the CRC32 made again.
    const reserved = Buffer.from(a.bytes);
    const headerSize = (reserved[0] + 1) * 4;
    reserved[1] |= 0x04;
    reserved.writeUInt32LE(crc32(reserved.subarray(0, headerSize - 4)), headerSize - 4);
    expect(isXzBlockOf(reserved, a.unpaddedSize, a.uncompressedSize)).toBe(false);
    // A header without sizes (as xz writes one without threads): its end and padding still tell.
    const bare = withoutSizes(a);
    expect(isXzBlockOf(bare.bytes, bare.unpaddedSize, bare.uncompressedSize)).toBe(true);
    expect(isXzBlockOf(bare.bytes.subarray(0, bare.bytes.length - 4), bare.unpaddedSize - 4, bare.uncompressedSize)).toBe(false);
    expect(isXzBlockOf(Buffer.concat([bare.bytes, b.bytes.subarray(0, 4)]), bare.unpaddedSize + 4, bare.uncompressedSize)).toBe(false);
    // And it is a block: xz unpacks a stream of it.
    expect(parseXzStream(assembleXzStream(Buffer.from([0, 4]), [bare])).blocks[0].bytes.equals(bare.bytes)).toBe(true);
  });
});

/** The block with a header of its one filter only, no sizes (12 bytes: size, flags, LZMA2's 3 filter bytes, padding, CRC32). */
function withoutSizes(block: XzBlock): XzBlock {
  const headerSize = (block.bytes[0] + 1) * 4;
  const dataEnd = block.unpaddedSize - 8;
  // LZMA2's filter flags are the header's last 3 bytes before its padding: ID 0x21, 1 byte of properties.
  const filter = block.bytes.subarray(2, headerSize - 4);
  const at = filter.indexOf(Buffer.from([0x21, 0x01]));
  const body = Buffer.from([2, 0x00, 0x21, 0x01, filter[at + 2], 0, 0, 0]);
  const header = Buffer.concat([body, Buffer.alloc(4)]);
  header.writeUInt32LE(crc32(body), 8);
  const data = block.bytes.subarray(headerSize, dataEnd);
  const unpaddedSize = header.length + data.length + 8;
  const bytes = Buffer.concat([header, data, Buffer.alloc(storedSize(unpaddedSize) - unpaddedSize), block.bytes.subarray(block.bytes.length - 8)]);
  return { bytes, unpaddedSize, uncompressedSize: block.uncompressedSize };
}
