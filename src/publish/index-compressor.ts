// The .gz and .xz of Packages and Sources, compressed chunk by chunk (debian/indices.ts cuts
// an index into chunks whose borders follow its stanzas). Each chunk becomes a gzip member and
// an xz block, kept by the chunk's hash; an index is its members one after the other (RFC 1952
// allows many members; zlib, gzip and apt read them all) and one xz stream of its blocks. So
// publishing one new package into a 10,000-package archive compresses one chunk of each
// index, not 9 MB.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { chunkBytes, type IndexChunk } from '../debian/indices.js';
import { assembleXzStream, parseXzStream, type XzBlock } from '../debian/xz-stream.js';
import { xz } from '../process/debian-tools.js';
import { inBatches } from '../storage/files.js';

const gzipAsync = promisify(gzip);

/** Stream flags of an xz stream whose blocks carry a CRC64 check (xz's default). */
const CRC64_FLAGS = Buffer.from([0x00, 0x04]);

interface Piece {
  gz: Buffer;
  xz: XzBlock;
}

export interface CompressedIndex {
  gz: Buffer;
  xz: Buffer;
  /** Chunks compressed now (the others came from earlier publications). */
  compressed: number;
}

/**
 * Large indices use xz's fastest level, in threads: a few percent larger than -6 and many times
 * faster (bench/publisher.sh measures both; the README has the figures). Small ones use -6, as
 * dak does.
 */
function levelFor(chunks: IndexChunk[]): number {
  return chunks.reduce((n, c) => n + c.size, 0) > 256 * 1024 ? 0 : 6;
}

export class IndexCompressor {
  private pieces = new Map<string, Piece>();
  private used = new Set<string>();

  /** A hash of each chunk: what the compressed pieces are kept by. */
  static keys(chunks: IndexChunk[]): string[] {
    return chunks.map((c) => {
      const hash = createHash('sha256');
      for (const part of c.parts) hash.update(part);
      return hash.digest('base64');
    });
  }

  /** The .gz and .xz of an index: chunks not seen before are compressed, gzip (in libuv's pool) and xz (a process) side by side. */
  async compress(chunks: IndexChunk[], keys: string[]): Promise<CompressedIndex> {
    const level = levelFor(chunks);
    const keyed = keys.map((k) => `${level}:${k}`);
    const missing = new Map<string, IndexChunk>();
    keyed.forEach((k, i) => this.pieces.has(k) || missing.has(k) || missing.set(k, chunks[i]));
    if (missing.size > 0) {
      const fresh = [...missing.values()];
      // Never the whole text in one buffer: gzip takes one chunk at a time, four at once (libuv's
      // pool), and xz is given the stanzas one after the other.
      const gz: Buffer[] = [];
      const [, xzed] = await Promise.all([
        inBatches(fresh.map((c, j) => ({ c, j })), 4, async ({ c, j }) => void (gz[j] = await gzipAsync(chunkBytes(c), { level: 9 }))),
        xz(fresh.flatMap((c) => c.parts), { level, threads: level === 0 && fresh.length > 1, blocks: fresh.map((c) => c.size) }),
      ]);
      const { blocks } = parseXzStream(xzed);
      if (blocks.length !== fresh.length || blocks.some((b, j) => b.uncompressedSize !== fresh[j].size)) {
        throw new Error(`xz wrote ${blocks.length} block(s) for ${fresh.length} chunk(s), not one block per chunk as --block-list asks`);
      }
      // Copies: a kept block must not hold the whole output of this run in memory.
      [...missing.keys()].forEach((k, j) => this.pieces.set(k, { gz: gz[j], xz: { ...blocks[j], bytes: Buffer.from(blocks[j].bytes) } }));
    }
    for (const k of keyed) this.used.add(k);
    const pieces = keyed.map((k) => this.pieces.get(k)!);
    return {
      // An empty index is one empty gzip member (an empty file is no gzip file).
      gz: pieces.length > 0 ? Buffer.concat(pieces.map((p) => p.gz)) : await gzipAsync(Buffer.alloc(0), { level: 9 }),
      xz: assembleXzStream(CRC64_FLAGS, pieces.map((p) => p.xz)),
      compressed: missing.size,
    };
  }

  /** Marks the chunks of an index that is reused as it is, so that they are kept. */
  keep(chunks: IndexChunk[], keys: string[]): void {
    const level = levelFor(chunks);
    for (const k of keys) this.used.add(`${level}:${k}`);
  }

  /** After a publication: forgets the pieces none of its indices uses. Memory stays that of one generation's compressed indices. */
  sweep(): void {
    for (const k of this.pieces.keys()) if (!this.used.has(k)) this.pieces.delete(k);
    this.used.clear();
  }
}
