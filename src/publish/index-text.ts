// One Packages or Sources file written from its chunks (debian/indices.ts cuts it): a chunk the
// previous generation's file already holds is copied from there, at the offset its manifest
// notes, and only a new chunk's stanzas are made; each chunk's gzip member and xz block are
// compressed once, when the compressor does not hold them yet. Chunks go through in groups, so
// neither the text nor the stanzas of a large index are ever in memory all at once.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { chunkBytes, chunkText, type ChunkLayout, type IndexChunk, type IndexFile, type StanzaSource } from '../debian/indices.js';
import type { IndexCompressor } from './index-compressor.js';

/** Each chunk of an index as [key, bytes, lines], in order (what a generation's manifest notes). */
export type ChunkTable = [string, number, number][];

/** Chunks handled at once: a few MiB of text. */
const GROUP = 32;

export interface IndexText {
  facts: Omit<IndexFile, 'path'>;
  chunks: ChunkTable;
  /** The text of the chunks `keep` asked for, in order. */
  kept: Buffer[];
}

/**
 * Writes the index's text to `path` and has the compressor hold every chunk's pieces (at
 * `level`). `previous` is the previous generation's file of this index and its chunk table.
 */
export async function writeIndexText<T>(o: {
  path: string;
  layout: ChunkLayout<T>[];
  stanzas: StanzaSource<T>;
  previous?: { path: string; chunks: ChunkTable };
  compressor: IndexCompressor;
  level: number;
  keep?: (chunk: number) => boolean;
}): Promise<IndexText> {
  const before = new Map<string, { offset: number; size: number; lines: number }>();
  let offset = 0;
  for (const [key, size, lines] of o.previous?.chunks ?? []) {
    before.set(key, { offset, size, lines });
    offset += size;
  }
  const sha = createHash('sha256');
  const md = createHash('md5');
  const table: ChunkTable = [];
  const kept: Buffer[] = [];
  let size = 0;
  const out = await open(o.path, 'w', 0o644);
  const old = before.size > 0 ? await open(o.previous!.path, 'r').catch(() => undefined) : undefined;
  let compressing: Promise<void> = Promise.resolve();
  try {
    for (let from = 0; from < o.layout.length; from += GROUP) {
      const group = o.layout.slice(from, from + GROUP);
      // Each chunk's text in one buffer, joined once for the file, gzip and xz.
      const texts: IndexChunk[] = [];
      for (const [i, chunk] of group.entries()) {
        const text = (old && (await copied(old, before.get(chunk.key)))) ?? chunkText(chunk.members, from + i === 0, o.stanzas);
        texts.push({ ...text, parts: [chunkBytes(text)] });
      }
      // Compressed while the next group's stanzas are made (one group at a time in xz and gzip).
      await compressing;
      compressing = o.compressor.add(o.level, group.map((c, i) => ({ key: c.key, text: texts[i] })));
      compressing.catch(() => undefined); // awaited below: a failure is thrown there
      for (const [i, text] of texts.entries()) {
        const bytes = text.parts[0];
        sha.update(bytes);
        md.update(bytes);
        await out.writeFile(bytes);
        size += bytes.length;
        table.push([group[i].key, text.size, text.lines]);
        if (o.keep?.(from + i)) kept.push(bytes);
      }
    }
    await compressing;
  } finally {
    await out.close();
    await old?.close();
  }
  return { facts: { size, md5: md.digest('hex'), sha256: sha.digest('hex') }, chunks: table, kept };
}

/** A chunk's text read from the previous file (undefined: not there, or the file is shorter). */
async function copied(file: FileHandle, at: { offset: number; size: number; lines: number } | undefined): Promise<IndexChunk | undefined> {
  const bytes = at && (await bytesAt(file, at.offset, at.size));
  return bytes && { parts: [bytes], size: at!.size, lines: at!.lines };
}

/** `length` bytes of a file from `offset` (undefined: the file is shorter). */
async function bytesAt(file: FileHandle, offset: number, length: number): Promise<Buffer | undefined> {
  const bytes = Buffer.alloc(length);
  const { bytesRead } = await file.read(bytes, 0, length, offset);
  return bytesRead === length ? bytes : undefined;
}

/** `length` bytes of a file from `offset` (undefined: it cannot be read, or is shorter). */
export async function readRange(path: string, offset: number, length: number): Promise<Buffer | undefined> {
  const file = await open(path, 'r').catch(() => undefined);
  try {
    return file && (await bytesAt(file, offset, length).catch(() => undefined));
  } finally {
    await file?.close();
  }
}

/**
 * The part of an index a publication changed: the chunks both tables begin and end with are
 * left out. `head` and `tail` count them; the bytes and lines are those of the previous text.
 */
export function changedChunks(before: ChunkTable, keys: string[]): { head: number; tail: number; headBytes: number; headLines: number; tailBytes: number } {
  let head = 0;
  let tail = 0;
  let headBytes = 0;
  let headLines = 0;
  let tailBytes = 0;
  while (head < before.length && head < keys.length && before[head][0] === keys[head]) {
    headBytes += before[head][1];
    headLines += before[head][2];
    head++;
  }
  while (tail < before.length - head && tail < keys.length - head && before[before.length - 1 - tail][0] === keys[keys.length - 1 - tail]) {
    tailBytes += before[before.length - 1 - tail][1];
    tail++;
  }
  return { head, tail, headBytes, headLines, tailBytes };
}
