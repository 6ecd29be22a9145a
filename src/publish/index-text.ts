// One Packages or Sources text written from its chunks (debian/indices.ts cuts it): a chunk the
// previous text already holds is copied from there, at the offset its manifest notes, and only a
// new chunk's stanzas are made; each chunk's gzip member and xz block are compressed once, when
// the compressor does not hold them yet. Chunks go through in groups, so neither the text nor
// the stanzas of a large index are ever in memory all at once. The text is written over what the
// file held (publish/index-texts.ts gives it an older text's file). When the first chunks are
// those the previous text began with, and their hashes' states are known (TextHashes), they are
// copied as they are, neither made nor hashed again: only the text from the first changed chunk on
// (from the last chunk the states were kept after, just before it) is read, hashed and written.
import { createHash, type Hash } from 'node:crypto';
import { constants, open, type FileHandle } from 'node:fs/promises';
import { chunkText, type ChunkLayout, type IndexChunk, type IndexFile, type StanzaSource } from '../debian/indices.js';
import type { IndexCompressor } from './index-compressor.js';
import { writeAllAt } from '../storage/files.js';

/** Each chunk of an index as [key, bytes, lines], in order (what a generation's manifest notes). */
export type ChunkTable = [string, number, number][];

/** Chunks handled at once: a few MiB of text. */
const GROUP = 32;

export interface IndexText {
  facts: Omit<IndexFile, 'path'>;
  chunks: ChunkTable;
  /** The text of the chunks `keep` asked for, in order. */
  kept: Buffer[];
  /** Chunks at the start copied from the previous text as they were, neither made nor hashed again. */
  copied: number;
}

/**
 * The hashes' states are kept after every STATE_EVERY-th chunk (or piece), not after each: a copy
 * of a state cost the queue 10-20 µs (OpenSSL 3 looks the digest up for it), 40 ms of a
 * publication at 100,000 packages; a change then hashes again the few unchanged chunks before it
 * since the last state (at most 7, about 0.8 MB of text at 100,000: 1-2 ms).
 */
export const STATE_EVERY = 8;
/** Whether the states are kept after this many chunks or pieces. */
const keptAfter = (count: number) => count % STATE_EVERY === 0;

interface HashStates {
  sha: Hash;
  /** None when the text's md5 was not asked for. */
  md?: Hash;
}

/** A number for each buffer hashed as a piece, so that a piece is known again without being held. */
const pieceNumbers = new WeakMap<Buffer, number>();
let pieces = 0;
/** A piece kept is the same buffer; a small one (the xz stream's header) is made anew each time, and known by its bytes. */
const pieceIdentity = (b: Buffer): number | string => {
  if (b.length <= 64) return b.toString('latin1');
  let n = pieceNumbers.get(b);
  if (n === undefined) pieceNumbers.set(b, (n = ++pieces));
  return n;
};

/**
 * The sha256 and md5 states of each index's text after every STATE_EVERY-th chunk, and of each
 * .gz and .xz after every STATE_EVERY-th piece, kept from one publication to the next (a daemon
 * keeps one), by the file's name in the generation.
 */
export class TextHashes {
  private readonly texts = new Map<string, { chunks: ChunkTable; after: (HashStates | undefined)[] }>();
  private readonly files = new Map<string, { pieces: (number | string)[]; after: (Required<HashStates> | undefined)[] }>();

  /**
   * The hashes' states after each of the chunks `keys` begins with that `previous` (the previous
   * text of index `id`) began with too, where kept; none when the states held are of another text.
   */
  head(id: string, previous: ChunkTable, keys: string[]): (HashStates | undefined)[] {
    const known = this.texts.get(id);
    if (!known || known.chunks.length !== previous.length || known.chunks.some((c, i) => c[0] !== previous[i][0] || c[1] !== previous[i][1])) return [];
    let n = 0;
    while (n < previous.length && n < keys.length && previous[n][0] === keys[n]) n++;
    return known.after.slice(0, n);
  }

  note(id: string, chunks: ChunkTable, after: (HashStates | undefined)[]): void {
    this.texts.set(id, { chunks, after });
  }

  /**
   * The size and hashes of file `id` made of `parts`: the parts it begins with that it began with
   * before (the compressor's pieces of unchanged chunks, the same buffers) are not hashed again.
   */
  ofParts(id: string, parts: Buffer[]): Required<Omit<IndexFile, 'path'>> {
    const known = this.files.get(id);
    const identities = parts.map(pieceIdentity);
    let n = 0;
    while (known && n < parts.length && n < known.pieces.length && identities[n] === known.pieces[n]) n++;
    while (n > 0 && !known!.after[n - 1]) n--;
    const after = known?.after.slice(0, n) ?? [];
    const sha = n > 0 ? after[n - 1]!.sha.copy() : createHash('sha256');
    const md = n > 0 ? after[n - 1]!.md.copy() : createHash('md5');
    for (const part of parts.slice(n)) {
      sha.update(part);
      md.update(part);
      after.push(keptAfter(after.length + 1) ? { sha: sha.copy(), md: md.copy() } : undefined);
    }
    this.files.set(id, { pieces: identities, after });
    return { size: parts.reduce((sum, p) => sum + p.length, 0), md5: md.digest('hex'), sha256: sha.digest('hex') };
  }
}

/**
 * The buffers the text goes through: one for the text read from the previous file, group after
 * group, and two for the text made, in turn. Kept from one publication to the next (a daemon
 * keeps one) and used again: memory the process has not touched yet costs far more than the text
 * it holds (the kernel maps its pages in one by one; the README's publishing section has the
 * figures). One index at a time.
 */
export class TextBuffers {
  readonly scratch = { bytes: Buffer.alloc(0) };
  readonly made = [Buffer.alloc(0), Buffer.alloc(0)];

  /**
   * Before an index read from its previous file, or texts copied (none is in use between two
   * indices): the largest buffer is the one read into. After a small change most of the text is read; a
   * publication from scratch made all of it, in the buffers for made text.
   */
  forReading(): void {
    const largest = this.made[0].length >= this.made[1].length ? 0 : 1;
    if (this.made[largest].length > this.scratch.bytes.length) [this.scratch.bytes, this.made[largest]] = [this.made[largest], this.scratch.bytes];
  }
}

/**
 * Writes the index's text to `path`, over and in place of what it held, and has the compressor
 * hold every chunk's pieces (at `level`). `previous` is the file of the previous text of this
 * index and its chunk table. `hashes` holds the hashes' states of the previous text (noted under
 * `id`) and takes this one's.
 */
export async function writeIndexText<T>(o: {
  path: string;
  layout: ChunkLayout<T>[];
  stanzas: StanzaSource<T>;
  previous?: { path: string; chunks: ChunkTable };
  compressor: IndexCompressor;
  level: number;
  keep?: (chunk: number) => boolean;
  hashes?: { id: string; states: TextHashes };
  buffers?: TextBuffers;
  /** The file at `path` holds the previous text already (a copy made at leisure): nothing is copied. */
  holdsPrevious?: boolean;
  /** The text's md5 is made too (unless false): Release lists a text the generation does not hold by its SHA256 alone. */
  md5?: boolean;
}): Promise<IndexText> {
  const before = new Map<string, Placed>();
  let offset = 0;
  for (const [key, size, lines] of o.previous?.chunks ?? []) {
    before.set(key, { offset, size, lines });
    offset += size;
  }
  // The unchanged first chunks: copied as they are, when their pieces are held and no patch
  // needs their text.
  const keys = o.layout.map((c) => c.key);
  const withMd5 = o.md5 !== false;
  const states = o.previous && o.hashes ? o.hashes.states.head(o.hashes.id, o.previous.chunks, keys) : [];
  // States made without the md5 are no start for a text that needs it.
  const held = withMd5 && states.some((h) => h && !h.md) ? [] : states;
  let skip = 0;
  let size = 0;
  while (skip < held.length && !o.keep?.(skip) && o.compressor.has(o.level, keys[skip])) size += o.previous!.chunks[skip++][1];
  // Back to the last chunk the states were kept after.
  while (skip > 0 && !held[skip - 1]) size -= o.previous!.chunks[--skip][1];
  const out = await open(o.path, constants.O_RDWR | constants.O_CREAT, 0o644);
  let old: FileHandle | undefined;
  try {
    old = before.size > 0 ? await open(o.previous!.path, 'r').catch(() => undefined) : undefined;
    const buffers = o.buffers ?? new TextBuffers();
    if (old) buffers.forReading();
    const { scratch, made } = buffers;
    const inPlace = o.holdsPrevious && (await out.stat()).size === offset;
    if (!old || (!inPlace && !(await copyHead(old, out, size, scratch)))) skip = size = 0;
    const sha = skip > 0 ? held[skip - 1]!.sha.copy() : createHash('sha256');
    const md = !withMd5 ? undefined : skip > 0 ? held[skip - 1]!.md!.copy() : createHash('md5');
    const after = held.slice(0, skip);
    const table: ChunkTable = o.previous?.chunks.slice(0, skip) ?? [];
    const kept: Buffer[] = [];
    // A group's made text is in use until the group after next: its compression is awaited in the next one.
    let compressing: Promise<void> = Promise.resolve();
    for (let from = skip; from < o.layout.length; from += GROUP) {
      const group = o.layout.slice(from, from + GROUP);
      // Each chunk's text in one buffer, for the file, gzip and xz. Text read from the previous
      // file is in `scratch`, which the next group's overwrites: what outlives this group (a
      // compression still running) is copied out.
      const texts = (await groupTexts(old, before, group, from, o.stanzas, scratch, made, ((from - skip) / GROUP) % 2)).map((t, i) =>
        t.bytes.buffer === scratch.bytes.buffer && !o.compressor.has(o.level, group[i].key) ? { ...t, bytes: Buffer.from(t.bytes) } : t,
      );
      // Compressed while the next group's stanzas are made (one group at a time in xz and gzip).
      await compressing;
      compressing = o.compressor.add(o.level, group.map((c, i) => ({ key: c.key, text: texts[i] })));
      compressing.catch(() => undefined); // awaited below: a failure is thrown there
      const written = writeAllAt(out, texts.map((t) => t.bytes), size);
      for (const [i, { bytes, lines }] of texts.entries()) {
        sha.update(bytes);
        md?.update(bytes);
        after.push(keptAfter(from + i + 1) ? { sha: sha.copy(), md: md?.copy() } : undefined);
        size += bytes.length;
        table.push([group[i].key, bytes.length, lines]);
        // A patch's text outlives the buffers it is in.
        if (o.keep?.(from + i)) kept.push(Buffer.from(bytes));
      }
      await written;
    }
    await compressing;
    await out.truncate(size);
    o.hashes?.states.note(o.hashes.id, table, after);
    return { facts: { size, md5: md?.digest('hex'), sha256: sha.digest('hex') }, chunks: table, kept, copied: skip };
  } finally {
    await out.close();
    await old?.close();
  }
}

/**
 * Copied at once, at most: the text in between is in memory only this much at a time. A buffer
 * held of at least a quarter of it is used as it is, not a new one.
 */
const COPY_PIECE = 4 * 1024 * 1024;

/**
 * The first `bytes` of `from` copied over the start of `to`, through the buffer `scratch` holds
 * (false: `from` is shorter, or `stop` was aborted first). Through memory the process holds
 * already, into pages the file has: a copy in the kernel (copy_file_range) would start a new file,
 * and take new pages.
 */
export async function copyHead(from: FileHandle, to: FileHandle, bytes: number, scratch: { bytes: Buffer }, stop?: AbortSignal): Promise<boolean> {
  if (bytes > 0 && scratch.bytes.length < Math.min(bytes, COPY_PIECE / 4)) scratch.bytes = Buffer.allocUnsafe(Math.min(bytes, COPY_PIECE));
  for (let at = 0; at < bytes; ) {
    if (stop?.aborted) return false;
    const length = Math.min(bytes - at, scratch.bytes.length);
    const piece = await bytesAt(from, at, length, scratch.bytes);
    if (!piece) return false;
    await writeAllAt(to, [piece.subarray(0, length)], at);
    at += length;
  }
  return true;
}

interface Placed {
  offset: number;
  size: number;
  lines: number;
}

/**
 * The text of each chunk of a group, in one buffer each: those the previous file holds are read
 * from it (into `scratch`), chunks that lay side by side there in one read (after a change, every
 * later chunk does); the others are made from their members (into `made[turn]`).
 */
async function groupTexts<T>(
  old: FileHandle | undefined,
  before: Map<string, Placed>,
  group: ChunkLayout<T>[],
  first: number,
  stanzas: StanzaSource<T>,
  scratch: { bytes: Buffer },
  made: Buffer[],
  turn: number,
): Promise<IndexChunk[]> {
  const texts: (IndexChunk | undefined)[] = [];
  const held = group.reduce((n, c) => n + (before.get(c.key)?.size ?? 0), 0);
  if (old && scratch.bytes.length < held) scratch.bytes = Buffer.allocUnsafe(held);
  let into = 0;
  for (let i = 0; old && i < group.length; ) {
    const run: Placed[] = [];
    for (let at = before.get(group[i + run.length]?.key); at && (run.length === 0 || at.offset === run[run.length - 1].offset + run[run.length - 1].size); at = before.get(group[i + run.length]?.key)) run.push(at);
    if (run.length === 0) {
      i++;
      continue;
    }
    const length = run[run.length - 1].offset + run[run.length - 1].size - run[0].offset;
    const bytes = await bytesAt(old, run[0].offset, length, scratch.bytes.subarray(into, into + length));
    into += length;
    for (const at of run) texts[i++] = bytes && { bytes: bytes.subarray(at.offset - run[0].offset, at.offset - run[0].offset + at.size), lines: at.lines };
  }
  // Each chunk made is written into the buffer at once: its stanzas die young, and no string of
  // a group's text outlives a collection of the young generation into the old one.
  let at = 0;
  let madeBytes = 0;
  let madeMembers = 0;
  return group.map((chunk, i) => {
    if (texts[i]) return texts[i];
    const { parts, lines } = chunkText(chunk.members, first + i === 0, stanzas);
    const length = parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
    madeBytes += length;
    madeMembers += chunk.members.length;
    // A buffer too short: another one for the rest of the group, large enough for its members
    // at their size so far (and kept for the groups after); the chunks before keep the one they
    // are in.
    if (made[turn].length - at < length) {
      const members = group.slice(i).reduce((n, c, j) => n + (texts[i + j] ? 0 : c.members.length), 0);
      [made[turn], at] = [Buffer.allocUnsafe(Math.max(length, Math.ceil((1.1 * members * madeBytes) / madeMembers))), 0];
    }
    const start = at;
    for (const p of parts) at += made[turn].write(p, at);
    return { bytes: made[turn].subarray(start, at), lines };
  });
}

/** `length` bytes of a file from `offset`, read into `into` if given (undefined: the file is shorter). */
async function bytesAt(file: FileHandle, offset: number, length: number, into?: Buffer): Promise<Buffer | undefined> {
  // Not zero-filled first: a short read returns nothing, so no byte of it is left unread.
  const bytes = into ?? Buffer.allocUnsafe(length);
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
