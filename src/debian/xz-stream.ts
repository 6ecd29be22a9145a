// The .xz container (https://tukaani.org/xz/xz-file-format.txt): a stream is a header, blocks
// each compressed on its own, an index of their sizes and a footer. Blocks of one stream can
// be taken apart and put together again without being decompressed, which is how a large
// index changed in one place is published without compressing all of it again (xz -T0 writes
// such multi-block streams too; every xz reader, apt's included, takes them).
import { crc32 } from 'node:zlib';

export class XzFormatError extends Error {}

export interface XzBlock {
  /** The block as stored: header, compressed data, padding to four bytes, check. */
  bytes: Buffer;
  /** Header + compressed data + check, without the padding (the index records this). */
  unpaddedSize: number;
  uncompressedSize: number;
}

export interface XzStream {
  /** The two stream flag bytes: the check type of every block. */
  flags: Buffer;
  blocks: XzBlock[];
}

export const HEADER_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const FOOTER_MAGIC = Buffer.from('YZ');

/** xz's variable-length integer (xz file format 1.2.0, section 1.2) at `at`, and where it ends. */
export function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (at + i >= buf.length) throw new XzFormatError('xz index cut short');
    const byte = buf[at + i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return [value, at + i + 1];
  }
  throw new XzFormatError('xz index number longer than nine bytes');
}

function varint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

/** Splits one xz stream (as `xz` writes it: a single stream, no stream padding) into blocks. */
export function parseXzStream(data: Buffer): XzStream {
  if (data.length < 32 || !data.subarray(0, 6).equals(HEADER_MAGIC)) throw new XzFormatError('not an xz stream (no header magic)');
  if (!data.subarray(data.length - 2).equals(FOOTER_MAGIC)) throw new XzFormatError('xz stream without footer magic (one stream expected, without padding)');
  const flags = data.subarray(6, 8);
  const footer = data.subarray(data.length - 12);
  if (!footer.subarray(8, 10).equals(flags)) throw new XzFormatError('xz header and footer flags differ');
  const indexSize = (footer.readUInt32LE(4) + 1) * 4;
  const indexAt = data.length - 12 - indexSize;
  if (indexAt < 12 || data[indexAt] !== 0) throw new XzFormatError('xz index not where the footer says');
  let [count, at] = readVarint(data, indexAt + 1);
  let offset = 12;
  const blocks: XzBlock[] = [];
  while (count-- > 0) {
    let unpaddedSize: number;
    let uncompressedSize: number;
    [unpaddedSize, at] = readVarint(data, at);
    [uncompressedSize, at] = readVarint(data, at);
    const stored = storedSize(unpaddedSize);
    if (offset + stored > indexAt) throw new XzFormatError('xz blocks run past the index');
    blocks.push({ bytes: data.subarray(offset, offset + stored), unpaddedSize, uncompressedSize });
    offset += stored;
  }
  if (offset !== indexAt) throw new XzFormatError('xz index does not account for every block');
  return { flags: Buffer.from(flags), blocks };
}

/** The header of an xz stream whose blocks have the check `flags` names: what comes before its first block. */
export function xzStreamHeader(flags: Buffer): Buffer {
  return Buffer.concat([HEADER_MAGIC, flags, u32(crc32(flags))]);
}

/** The index and footer of an xz stream of blocks of these sizes, in order: what comes after its last block. */
export function xzStreamTrailer(flags: Buffer, blocks: Omit<XzBlock, 'bytes'>[]): Buffer {
  const records = [0, ...varint(blocks.length), ...blocks.flatMap((b) => [...varint(b.unpaddedSize), ...varint(b.uncompressedSize)])];
  const indexBody = Buffer.from([...records, ...new Array<number>(pad4(records.length)).fill(0)]);
  const index = Buffer.concat([indexBody, u32(crc32(indexBody))]);
  const backward = Buffer.concat([u32(index.length / 4 - 1), flags]);
  return Buffer.concat([index, u32(crc32(backward)), backward, FOOTER_MAGIC]);
}

/** Bytes of a block's CRC64 check. */
const CRC64_BYTES = 8;

/**
 * Whether `bytes` are a stored xz block of CRC64 check (header, LZMA2 data, padding, check) of
 * this unpadded size, holding a text of `size` bytes, as far as can be told without
 * decompressing it: its header is whole (its CRC32 holds), the sizes it gives (xz gives them
 * when it compresses in threads) are these, its LZMA2 data ends in LZMA2's end marker, and its
 * padding is zeros. Bytes from the middle of a block, or a block cut or run on, are not one.
 */
export function isXzBlockOf(bytes: Buffer, unpadded: number, size: number): boolean {
  const headerSize = (bytes[0] + 1) * 4;
  const dataEnd = unpadded - CRC64_BYTES;
  if (bytes.length === 0 || bytes[0] === 0 || bytes.length !== storedSize(unpadded) || dataEnd <= headerSize) return false;
  if (crc32(bytes.subarray(0, headerSize - 4)) !== bytes.readUInt32LE(headerSize - 4)) return false;
  // The block flags' reserved bits are zero; the sizes it gives lie within the header.
  if (bytes[1] & 0x3c) return false;
  const header = bytes.subarray(0, headerSize - 4);
  try {
    let at = 2;
    let value: number;
    if (bytes[1] & 0x40) {
      [value, at] = readVarint(header, at);
      if (headerSize + value !== dataEnd) return false;
    }
    if (bytes[1] & 0x80) {
      [value, at] = readVarint(header, at);
      if (value !== size) return false;
    }
  } catch {
    return false;
  }
  return bytes[dataEnd - 1] === 0 && bytes.subarray(dataEnd, bytes.length - CRC64_BYTES).every((b) => b === 0);
}

/** Bytes a block of this unpadded size takes in the stream (padded to four bytes). */
export const storedSize = (unpaddedSize: number) => unpaddedSize + pad4(unpaddedSize);
