// The .gz and .xz of Packages and Sources, compressed chunk by chunk (debian/indices.ts cuts
// an index into chunks whose borders follow its stanzas). Each chunk becomes a gzip member and
// an xz block, kept by the chunk's key; an index is its members one after the other (RFC 1952
// allows many members; zlib, gzip and apt read them all) and one xz stream of its blocks. So
// publishing one new package into a 10,000-package archive compresses one chunk of each
// index, not 9 MB. The pieces are kept in a file of the compressor's own, not in memory (17 MiB
// at 100,000 packages): an index is written from it, a window at a time.
import { closeSync, constants, mkdirSync, openSync, readSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { IndexChunk } from '../debian/indices.js';
import { parseXzStream, xzStreamParts } from '../debian/xz-stream.js';
import { xz } from '../process/debian-tools.js';
import { inBatches, writeAllAt } from '../storage/files.js';

const gzipAsync = promisify(gzip);

/** Stream flags of an xz stream whose blocks carry a CRC64 check (xz's default). */
const CRC64_FLAGS = Buffer.from([0x00, 0x04]);

// Never through a link planted under the file's name (issue 17).
const { O_CREAT, O_NOFOLLOW, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } = constants;

/** Bytes of kept pieces read at once when an index is written. */
const WINDOW = 1024 * 1024;
/** The file is written anew without the pieces no index uses once they are this many bytes, and more than those used. */
const COMPACT_BYTES = 4 * 1024 * 1024;

/**
 * Where a kept piece's bytes lie in the compressor's file. `id` names the bytes there: a
 * compaction moves pieces, and a place that held one piece may hold another after it.
 */
export interface Span {
  at: number;
  length: number;
  id: number;
}
/** A part of a .gz or .xz file: bytes made for this publication, or a piece kept in the file. */
export type Part = Buffer | Span;

interface Piece {
  gz: Span;
  xz: { bytes: Span; unpaddedSize: number; uncompressedSize: number };
}

/**
 * Large indices use xz's fastest level, in threads: a few percent larger than -6 and many times
 * faster (bench/publisher.sh measures both; the README has the figures). Small ones use -6, as
 * dak does. Decided by the members' count, known before their text (about 256 KiB of stanzas).
 */
export function levelFor(members: number): number {
  return members > 256 ? 0 : 6;
}

/** A span's name: numbers above every buffer's (publish/index-text.ts numbers those from 1). */
let spans = 2 ** 40;

export class IndexCompressor {
  private pieces = new Map<string, Piece>();
  private used = new Set<string>();
  private fd?: number;
  /** The file's length: where the next piece goes. */
  private end = 0;
  private readonly window = Buffer.allocUnsafe(WINDOW);

  /** `path`: the file the pieces are kept in, made anew (what it held is of another run). */
  constructor(private readonly path: string) {}

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
    // The gzip members, then the xz blocks, in the chunks' order: an index's pieces lie mostly
    // side by side, and are read back a window at a time.
    const bytes = [...gz, ...blocks.map((b) => b.bytes)];
    // Its place taken and the file made before the first await: an add beside it takes the next.
    const at = this.end;
    this.end += bytes.reduce((sum, b) => sum + b.length, 0);
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
    }
    const handle = await open(this.path, O_RDWR | O_NOFOLLOW);
    try {
      await writeAllAt(handle, bytes, at);
    } finally {
      await handle.close();
    }
    let place = at;
    const span = (length: number): Span => ({ at: (place += length) - length, length, id: ++spans });
    const gzSpans = gz.map((g) => span(g.length));
    fresh.forEach((c, j) => {
      const { bytes: block, unpaddedSize, uncompressedSize } = blocks[j];
      this.pieces.set(`${level}:${c.key}`, { gz: gzSpans[j], xz: { bytes: span(block.length), unpaddedSize, uncompressedSize } });
    });
  }

  /** The .gz and .xz of an index from its chunks' pieces, each held (added or kept), as the parts each file is, in order; marks them used. */
  async assemble(level: number, keys: string[]): Promise<{ gz: Part[]; xz: Part[] }> {
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

  /**
   * Writes a file of `parts`, one after the other, to `path` (a new file, mode 644), reading the
   * kept pieces a window at a time; `each` is given every part's bytes in turn, valid only
   * during the call. Returns the file's size.
   */
  async write(path: string, parts: Part[], each: (part: number, bytes: Buffer) => void): Promise<number> {
    const file = await open(path, 'w', 0o644);
    let size = 0;
    try {
      for (let i = 0; i < parts.length; ) {
        const part = parts[i];
        if (Buffer.isBuffer(part)) {
          each(i++, part);
          await writeAllAt(file, [part], size);
          size += part.length;
          continue;
        }
        // Spans that follow one another in the compressor's file, read at once.
        let j = i + 1;
        let length = part.length;
        for (let next = parts[j]; j < parts.length && !Buffer.isBuffer(next) && next.at === part.at + length && length + next.length <= WINDOW; next = parts[++j]) length += next.length;
        const bytes = length <= WINDOW ? this.window.subarray(0, length) : Buffer.allocUnsafe(length);
        this.read(part.at, bytes);
        for (let k = i, from = 0; k < j; k++) {
          const { length: n } = parts[k] as Span;
          each(k, bytes.subarray(from, from + n));
          from += n;
        }
        await writeAllAt(file, [bytes], size);
        size += length;
        i = j;
      }
    } finally {
      await file.close();
    }
    return size;
  }

  private read(at: number, into: Buffer): void {
    for (let got = 0; got < into.length; ) {
      const n = readSync(this.fd!, into, got, into.length - got, at + got);
      if (n === 0) throw new Error(`${this.path}: ends before the compressed index chunks it holds (at ${at + got} of ${this.end} bytes)`);
      got += n;
    }
  }

  /** Marks the chunks of an index as used by this publication, so that sweep() keeps them. */
  keep(level: number, keys: string[]): void {
    for (const k of keys) this.used.add(`${level}:${k}`);
  }

  /**
   * After a publication: forgets the pieces none of its indices uses. When they are most of the
   * file, it is written anew with the others alone.
   */
  async sweep(): Promise<void> {
    for (const k of this.pieces.keys()) if (!this.used.has(k)) this.pieces.delete(k);
    this.used.clear();
    let held = 0;
    for (const p of this.pieces.values()) held += p.gz.length + p.xz.bytes.length;
    if (this.end - held > Math.max(COMPACT_BYTES, held)) await this.compact();
  }

  /** The pieces held, copied into a new file in their order. When it cannot be made, the file stays as it was: the next sweep tries again. */
  private async compact(): Promise<void> {
    const kept = [...this.pieces.values()].flatMap((p) => [p.gz, p.xz.bytes]).sort((a, b) => a.at - b.at);
    const next = `${this.path}.new`;
    const moved: { span: Span; at: number }[] = [];
    let end = 0;
    try {
      const handle = await open(next, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
      try {
        for (const span of kept) {
          const bytes = span.length <= WINDOW ? this.window.subarray(0, span.length) : Buffer.allocUnsafe(span.length);
          this.read(span.at, bytes);
          await writeAllAt(handle, [bytes], end);
          moved.push({ span, at: end });
          end += span.length;
        }
      } finally {
        await handle.close();
      }
      await rename(next, this.path);
    } catch {
      await rm(next, { force: true });
      return;
    }
    closeSync(this.fd!);
    this.fd = openSync(this.path, O_RDONLY | O_NOFOLLOW);
    this.end = end;
    for (const { span, at } of moved) Object.assign(span, { at, id: ++spans });
  }
}
