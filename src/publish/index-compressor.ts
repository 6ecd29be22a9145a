// The .gz and .xz of Packages and Sources, compressed chunk by chunk (debian/indices.ts cuts
// an index into chunks whose borders follow its stanzas). Each chunk becomes a gzip member and
// an xz block; an index is its members one after the other (RFC 1952 allows many members; zlib,
// gzip and apt read them all) and one xz stream of its blocks. A chunk the previous generation's
// index held is not compressed again: its member and block are copied from that generation's
// .gz and .xz (index-text.ts), where the manifest's chunk table places them. So publishing one
// new package into a 100,000-package archive compresses one chunk of each index, not 87 MB, and
// no compressed chunk outlives the write of its index in memory.
import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import { parseXzStream, type XzBlock } from '../debian/xz-stream.js';
import { xz } from '../process/debian-tools.js';
import { inBatches } from '../storage/files.js';

const gzipAsync = promisify(gzip);

/** Stream flags of an xz stream whose blocks carry a CRC64 check (xz's default). */
export const CRC64_FLAGS = Buffer.from([0x00, 0x04]);

/** An empty index's .gz: one empty gzip member (an empty file is no gzip file). */
export const EMPTY_GZIP = gzipSync(Buffer.alloc(0), { level: 9 });

/**
 * Whether `bytes` are a gzip member of a text of `size` bytes, as far as its ends tell: gzip's
 * magic and method first, the size (modulo 2^32, RFC 1952's ISIZE) last.
 */
export function isGzipMemberOf(bytes: Buffer, size: number): boolean {
  return bytes.length >= 18 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 8 && bytes.readUInt32LE(bytes.length - 4) === size % 2 ** 32;
}

/**
 * Large indices use xz's fastest level, in threads: a few percent larger than -6 and many times
 * faster (bench/publisher.sh measures both; the README has the figures). Small ones use -6, as
 * dak does. Decided by the members' count, known before their text (about 256 KiB of stanzas).
 */
export function levelFor(members: number): number {
  return members > 256 ? 0 : 6;
}

/**
 * Each text compressed: a gzip member (four at once, in libuv's pool) and an xz block of
 * CRC64_FLAGS's check (one xz run for all, given the texts as parts), in order.
 */
export async function compressChunks(level: number, texts: Buffer[]): Promise<{ gz: Buffer[]; xz: XzBlock[] }> {
  if (texts.length === 0) return { gz: [], xz: [] };
  const gz: Buffer[] = [];
  const [, xzed] = await Promise.all([
    inBatches(texts.map((t, j) => ({ t, j })), 4, async ({ t, j }) => void (gz[j] = await gzipAsync(t, { level: 9 }))),
    xz(texts, { level, threads: level === 0 && texts.length > 1, blocks: texts.map((t) => t.length) }),
  ]);
  const { flags, blocks } = parseXzStream(xzed);
  if (!flags.equals(CRC64_FLAGS)) throw new Error(`xz wrote blocks with check flags ${flags.toString('hex')}, not CRC64's ${CRC64_FLAGS.toString('hex')}`);
  if (blocks.length !== texts.length || blocks.some((b, j) => b.uncompressedSize !== texts[j].length)) {
    throw new Error(`xz wrote ${blocks.length} block(s) for ${texts.length} chunk(s), not one block per chunk as --block-list asks`);
  }
  return { gz, xz: blocks };
}
