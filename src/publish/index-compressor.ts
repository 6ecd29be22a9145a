// The .gz and .xz of Packages and Sources, compressed chunk by chunk (debian/indices.ts cuts
// an index into chunks whose borders follow its stanzas). Each chunk becomes a gzip member and
// an xz block, kept by the chunk's key; an index is its members one after the other (RFC 1952
// allows many members; zlib, gzip and apt read them all) and one xz stream of its blocks. So
// publishing one new package into a 10,000-package archive compresses one chunk of each
// index, not 9 MB.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { IndexChunk } from '../debian/indices.js';
import { parseXzStream, xzStreamParts, type XzBlock } from '../debian/xz-stream.js';
import { xz } from '../process/debian-tools.js';
import { inBatches } from '../storage/files.js';

const gzipAsync = promisify(gzip);

/** Stream flags of an xz stream whose blocks carry a CRC64 check (xz's default). */
const CRC64_FLAGS = Buffer.from([0x00, 0x04]);

interface Piece {
  gz: Buffer;
  xz: XzBlock;
}

/**
 * Large indices use xz's fastest level, in threads: a few percent larger than -6 and many times
 * faster (bench/publisher.sh measures both; the README has the figures). Small ones use -6, as
 * dak does. Decided by the members' count, known before their text (about 256 KiB of stanzas).
 */
export function levelFor(members: number): number {
  return members > 256 ? 0 : 6;
}

export class IndexCompressor {
  private pieces = new Map<string, Piece>();
  private used = new Set<string>();

  /** Whether a chunk's pieces are held (from an earlier publication or this one). */
  has(level: number, key: string): boolean {
    return this.pieces.has(`${level}:${key}`);
  }

  /** Compresses chunks not held yet: each a gzip member (four at once, in libuv's pool) and an xz block (one xz run for all, given the stanzas as parts). */
  async add(level: number, chunks: { key: string; text: IndexChunk }[]): Promise<void> {
    const fresh = chunks.filter((c, i) => !this.has(level, c.key) && chunks.findIndex((d) => d.key === c.key) === i);
    if (fresh.length === 0) return;
    const gz: Buffer[] = [];
    const [, xzed] = await Promise.all([
      inBatches(fresh.map((c, j) => ({ c, j })), 4, async ({ c, j }) => void (gz[j] = await gzipAsync(c.text.bytes, { level: 9 }))),
      xz(fresh.map((c) => c.text.bytes), { level, threads: level === 0 && fresh.length > 1, blocks: fresh.map((c) => c.text.bytes.length) }),
    ]);
    const { blocks } = parseXzStream(xzed);
    if (blocks.length !== fresh.length || blocks.some((b, j) => b.uncompressedSize !== fresh[j].text.bytes.length)) {
      throw new Error(`xz wrote ${blocks.length} block(s) for ${fresh.length} chunk(s), not one block per chunk as --block-list asks`);
    }
    // Copies: a kept block must not hold the whole output of this run in memory.
    fresh.forEach((c, j) => this.pieces.set(`${level}:${c.key}`, { gz: gz[j], xz: { ...blocks[j], bytes: Buffer.from(blocks[j].bytes) } }));
  }

  /** The .gz and .xz of an index from its chunks' pieces, each held (added or kept), as the buffers each file is, in order; marks them used. */
  async assemble(level: number, keys: string[]): Promise<{ gz: Buffer[]; xz: Buffer[] }> {
    this.keep(level, keys);
    const pieces = keys.map((k) => {
      const piece = this.pieces.get(`${level}:${k}`);
      if (!piece) throw new Error(`index chunk ${k} was not compressed`);
      return piece;
    });
    return {
      // An empty index is one empty gzip member (an empty file is no gzip file).
      gz: pieces.length > 0 ? pieces.map((p) => p.gz) : [await gzipAsync(Buffer.alloc(0), { level: 9 })],
      xz: xzStreamParts(CRC64_FLAGS, pieces.map((p) => p.xz)),
    };
  }

  /** Marks the chunks of an index as used by this publication, so that sweep() keeps them. */
  keep(level: number, keys: string[]): void {
    for (const k of keys) this.used.add(`${level}:${k}`);
  }

  /** After a publication: forgets the pieces none of its indices uses. Memory stays that of one generation's compressed indices. */
  sweep(): void {
    for (const k of this.pieces.keys()) if (!this.used.has(k)) this.pieces.delete(k);
    this.used.clear();
  }
}
