// One Packages or Sources text written from its chunks (debian/indices.ts cuts it), with its .gz
// and .xz: a chunk the previous text already holds is copied from there, at the offset its
// manifest notes, and only a new chunk's stanzas are made; likewise a chunk's gzip member and xz
// block are copied from the previous .gz and .xz, and only a new chunk is compressed
// (index-compressor.ts). Chunks go through in groups, so neither the text, nor its stanzas, nor
// its compressed pieces are ever in memory all at once. The text is written over what the file
// held (publish/index-texts.ts gives it an older text's file). When the first chunks are those
// the previous text began with, and the hashes' states after them are known (TextHashes), they
// are copied as they are, neither made nor hashed again: only the files from the first changed
// chunk on (from the last chunk the states were kept after, just before it) are read, hashed and
// written.
import { createHash, type Hash } from 'node:crypto';
import { constants, open, type FileHandle } from 'node:fs/promises';
import { chunkText, type ChunkLayout, type IndexChunk, type IndexFile, type StanzaSource } from '../debian/indices.js';
import { isXzBlockOf, storedSize, xzStreamHeader, xzStreamTrailer } from '../debian/xz-stream.js';
import { compressChunks, CRC64_FLAGS, EMPTY_GZIP, isGzipMemberOf } from './index-compressor.js';
import { writeAllAt } from '../storage/files.js';

/**
 * Each chunk of an index as [key, bytes, lines, bytes of its gzip member, unpadded size of its
 * xz block], in order (what a generation's manifest notes; manifests written before the pieces
 * were copied hold the first three only, and their .gz and .xz are compressed again).
 */
export type ChunkTable = [string, number, number, number?, number?][];

/**
 * Chunks handled at once: about 2 MiB of text at 100,000 packages. With 32, the buffers the queue
 * keeps (TextBuffers) held 8.7 MiB after a publication at 100,000 (4.1 with 16), and its memory
 * outside the heap reached 38 MiB during a publication from scratch (28), which took 2.8-2.9 s
 * (3.1-3.2). Each group is one run of xz: with 8, it took 10.6 s against 6.2 when tried before
 * (README, "Development").
 */
const GROUP = 16;

type Facts = Required<Omit<IndexFile, 'path'>>;

export interface IndexText {
  facts: Omit<IndexFile, 'path'>;
  gz: Facts;
  xz: Facts;
  chunks: ChunkTable;
  /** The text of the chunks `keep` asked for, in order. */
  kept: Buffer[];
  /** Chunks at the start copied from the previous files as they were, neither made nor hashed again. */
  copied: number;
  /** Chunks compressed (the others' pieces were copied from the previous .gz and .xz). */
  compressed: number;
}

/**
 * The hashes' states are kept after every STATE_EVERY-th chunk, not after each: a copy of a
 * state cost the queue 10-20 µs (OpenSSL 3 looks the digest up for it), 40 ms of a publication
 * at 100,000 packages; a change then hashes again the few unchanged chunks before it since the
 * last state (at most 7, about 0.8 MB of text at 100,000: 1-2 ms).
 */
export const STATE_EVERY = 8;
/** Whether the states are kept after this many chunks. */
const keptAfter = (count: number) => count % STATE_EVERY === 0;

interface Digests {
  sha: Hash;
  /** None when the text's md5 was not asked for. */
  md?: Hash;
}

/** The states of the text's hashes, and of its .gz's and .xz's, after the same chunk. */
interface HashStates {
  text: Digests;
  gz: Required<Digests>;
  xz: Required<Digests>;
}

const digests = (from?: Digests): Required<Digests> => ({ sha: from ? from.sha.copy() : createHash('sha256'), md: from?.md ? from.md.copy() : createHash('md5') });
const update = (d: Digests, bytes: Buffer) => {
  d.sha.update(bytes);
  d.md?.update(bytes);
};
const factsOf = (size: number, d: Required<Digests>): Facts => ({ size, md5: d.md.digest('hex'), sha256: d.sha.digest('hex') });

/**
 * The states of each index's hashes after every STATE_EVERY-th chunk, kept from one publication
 * to the next (a daemon keeps one), by the index's name in the generation.
 */
export class TextHashes {
  private readonly texts = new Map<string, { chunks: ChunkTable; after: (HashStates | undefined)[] }>();

  /**
   * The hashes' states after each of the chunks `keys` begins with that `previous` (the previous
   * chunk table of index `id`) began with too, where kept; none when the states held are of
   * another text.
   */
  head(id: string, previous: ChunkTable, keys: string[]): (HashStates | undefined)[] {
    const known = this.texts.get(id);
    if (!known || known.chunks.length !== previous.length || known.chunks.some((c, i) => c.some((v, j) => v !== previous[i][j]))) return [];
    let n = 0;
    while (n < previous.length && n < keys.length && previous[n][0] === keys[n]) n++;
    return known.after.slice(0, n);
  }

  note(id: string, chunks: ChunkTable, after: (HashStates | undefined)[]): void {
    this.texts.set(id, { chunks, after });
  }

  /** Lets go of the states of every index but `ids` (the served generation's): a removed snapshot's held a megabyte at 100,000. */
  keepOnly(ids: string[]): void {
    const kept = new Set(ids);
    for (const id of this.texts.keys()) if (!kept.has(id)) this.texts.delete(id);
  }

  /** The indices whose states are held. */
  get ids(): string[] {
    return [...this.texts.keys()];
  }
}

/**
 * The buffers the files go through: one for the text read from the previous file, group after
 * group, two for the text made, in turn, and two for the compressed pieces read from the
 * previous .gz and .xz, in turn. Kept from one publication to the next (a daemon keeps one) and used
 * again: memory the process has not touched yet costs far more than the text it holds (the
 * kernel maps its pages in one by one; the README's publishing section has the figures). One
 * index at a time.
 */
export class TextBuffers {
  readonly scratch = { bytes: Buffer.alloc(0) };
  readonly made = [Buffer.alloc(0), Buffer.alloc(0)];
  readonly pieces = [{ bytes: Buffer.alloc(0) }, { bytes: Buffer.alloc(0) }];

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

/** Where a chunk of the previous text was, and its pieces in the previous .gz and .xz. */
interface Placed {
  offset: number;
  size: number;
  lines: number;
  gz: { offset: number; size: number };
  xz: { offset: number; size: number; unpadded: number };
}

/** A chunk's gzip member and xz block, read from the previous files. */
interface Piece {
  gz: Buffer;
  xz: Buffer;
  unpadded: number;
}

/** The previous .gz and .xz, open, when they are as long as the chunk table says. */
interface PreviousPieces {
  gz: FileHandle;
  xz: FileHandle;
  paths: { gz: string; xz: string };
}

/**
 * Writes the index's text to `path`, over and in place of what it held, and its .gz and .xz to
 * `compressed` (new files), each chunk compressed at `level` unless the previous ones hold it.
 * `previous` is the file of the previous text of this index, its chunk table and the .gz and .xz
 * it was published as. `hashes` holds the hashes' states of the previous files (noted under `id`)
 * and takes these ones'.
 */
export async function writeIndexText<T>(o: {
  path: string;
  compressed: { gz: string; xz: string };
  layout: ChunkLayout<T>[];
  stanzas: StanzaSource<T>;
  previous?: { path: string; chunks: ChunkTable; gz?: string; xz?: string };
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
  const header = xzStreamHeader(CRC64_FLAGS);
  let offset = 0;
  const piecesAt = { gz: 0, xz: header.length };
  let sized = true;
  for (const [key, size, lines, gz, unpadded] of o.previous?.chunks ?? []) {
    // A table from before the pieces were noted (or one not ours): every chunk is compressed.
    if (!isSize(gz) || !isSize(unpadded)) sized = false;
    const xz = { offset: piecesAt.xz, size: storedSize(unpadded ?? 0), unpadded: unpadded ?? 0 };
    before.set(key, { offset, size, lines, gz: { offset: piecesAt.gz, size: gz ?? 0 }, xz });
    offset += size;
    piecesAt.gz += gz ?? 0;
    piecesAt.xz += xz.size;
  }
  const keys = o.layout.map((c) => c.key);
  const withMd5 = o.md5 !== false;
  const buffers = o.buffers ?? new TextBuffers();
  const { scratch, made } = buffers;
  const out = await open(o.path, constants.O_RDWR | constants.O_CREAT, 0o644);
  let gzOut: FileHandle | undefined;
  let xzOut: FileHandle | undefined;
  let old: FileHandle | undefined;
  let oldPieces: PreviousPieces | undefined;
  // A group's pieces being compressed and written: awaited before the files close, also on a failure.
  let compressing: Promise<void> = Promise.resolve();
  try {
    gzOut = await open(o.compressed.gz, 'w', 0o644);
    xzOut = await open(o.compressed.xz, 'w', 0o644);
    old = before.size > 0 ? await open(o.previous!.path, 'r').catch(() => undefined) : undefined;
    if (sized && before.size > 0) oldPieces = await openPieces(o.previous!, piecesAt.gz, piecesAt.xz + xzTrailer(o.previous!.chunks).length);
    /**
     * Whether a chunk's gzip member and xz block are placed in the previous files, to be copied
     * rather than compressed: those of the first chunks as they are (their hashes' states were
     * kept for this very table, TextHashes.head), the others when they are what the table says
     * (soundPieces).
     */
    const placedPieces = (key: string) => oldPieces !== undefined && before.has(key);
    // The unchanged first chunks: copied as they are, when no patch needs their text.
    const states = o.previous && o.hashes ? o.hashes.states.head(o.hashes.id, o.previous.chunks, keys) : [];
    // States made without the md5 are no start for a text that needs it.
    const held = withMd5 && states.some((h) => h && !h.text.md) ? [] : states;
    let skip = 0;
    while (skip < held.length && !o.keep?.(skip) && placedPieces(keys[skip])) skip++;
    // Back to the last chunk the states were kept after.
    while (skip > 0 && !held[skip - 1]) skip--;
    if (old) buffers.forReading();
    // Where the chunks copied end in the previous files.
    const last = skip > 0 ? before.get(keys[skip - 1])! : undefined;
    const ends = { text: last ? last.offset + last.size : 0, gz: last ? last.gz.offset + last.gz.size : 0, xz: last ? last.xz.offset + last.xz.size : 0 };
    const inPlace = o.holdsPrevious && (await out.stat()).size === offset;
    if (
      skip > 0 &&
      !(
        (inPlace || (old && (await copyHead(old, out, ends.text, scratch)))) &&
        (await copyHead(oldPieces!.gz, gzOut, ends.gz, scratch)) &&
        (await copyHead(oldPieces!.xz, xzOut, ends.xz, scratch))
      )
    ) {
      skip = 0;
    }
    let size = skip > 0 ? ends.text : 0;
    const start = skip > 0 ? held[skip - 1] : undefined;
    const text: Digests = { sha: start ? start.text.sha.copy() : createHash('sha256'), md: !withMd5 ? undefined : start ? start.text.md!.copy() : createHash('md5') };
    const gz = digests(start?.gz);
    const xz = digests(start?.xz);
    const sizes = { gz: skip > 0 ? ends.gz : 0, xz: skip > 0 ? ends.xz : 0 };
    if (skip === 0) {
      await writeAllAt(xzOut, [header], 0);
      update(xz, header);
      sizes.xz = header.length;
    }
    const after: (HashStates | undefined)[] = held.slice(0, skip);
    /** The states of the .gz's and .xz's hashes after a chunk, where kept: made a group behind the text's. */
    const piecesAfter: Pick<HashStates, 'gz' | 'xz'>[] = [];
    const table: ChunkTable = o.previous?.chunks.slice(0, skip).map((c) => [...c]) ?? [];
    /** Each chunk's gzip member and xz block's unpadded size, by its place in the index. */
    const pieceSizes: [number, number][] = [];
    const kept: Buffer[] = [];
    let compressed = 0;
    /** A group's pieces, copied (those given) or compressed, written to the .gz and .xz and hashed. */
    const writePieces = async (first: number, group: ChunkLayout<T>[], texts: Buffer[], copied: (Piece | undefined)[]) => {
      const fresh = group.flatMap((_, i) => (copied[i] ? [] : [i]));
      const compressedNow = await compressChunks(o.level, fresh.map((i) => texts[i]));
      compressed += fresh.length;
      const [gzFile, xzFile] = [gzOut!, xzOut!];
      const parts: { gz: Buffer[]; xz: Buffer[] } = { gz: [], xz: [] };
      for (let i = 0, f = 0; i < group.length; i++) {
        const piece = copied[i] ?? { gz: compressedNow.gz[f], xz: compressedNow.xz[f].bytes, unpadded: compressedNow.xz[f++].unpaddedSize };
        parts.gz.push(piece.gz);
        parts.xz.push(piece.xz);
        update(gz, piece.gz);
        update(xz, piece.xz);
        pieceSizes[first + i] = [piece.gz.length, piece.unpadded];
        if (keptAfter(first + i + 1)) piecesAfter[first + i] = { gz: digests(gz), xz: digests(xz) };
      }
      const at = { ...sizes };
      sizes.gz += parts.gz.reduce((n, b) => n + b.length, 0);
      sizes.xz += parts.xz.reduce((n, b) => n + b.length, 0);
      await Promise.all([writeAllAt(gzFile, parts.gz, at.gz), writeAllAt(xzFile, parts.xz, at.xz)]);
    };
    // A group's made text is in use until the group after next: its pieces are awaited in the next one.
    for (let from = skip; from < o.layout.length; from += GROUP) {
      const group = o.layout.slice(from, from + GROUP);
      const turn = ((from - skip) / GROUP) % 2;
      // The pieces the previous files hold of this group's chunks, read first: a chunk whose
      // pieces are not what the table says (a manifest damaged) is compressed from its text.
      const placed = group.map((c) => (placedPieces(c.key) ? before.get(c.key) : undefined));
      const copied = oldPieces ? soundPieces(await readPieces(oldPieces, placed, buffers.pieces[turn]), placed) : [];
      // Each chunk's text in one buffer, for the file, gzip and xz. Text read from the previous
      // file is in `scratch`, which the next group's overwrites: what outlives this group (a
      // compression still running) is copied out.
      const texts = (await groupTexts(old, before, group, from, o.stanzas, scratch, made, turn)).map((t, i) =>
        t.bytes.buffer === scratch.bytes.buffer && !copied[i] ? { ...t, bytes: Buffer.from(t.bytes) } : t,
      );
      // Compressed while the next group's stanzas are made (one group at a time in xz and gzip).
      await compressing;
      compressing = writePieces(from, group, texts.map((t) => t.bytes), copied);
      compressing.catch(() => undefined); // awaited below: a failure is thrown there
      const written = writeAllAt(out, texts.map((t) => t.bytes), size);
      for (const [i, { bytes, lines }] of texts.entries()) {
        update(text, bytes);
        after.push(keptAfter(from + i + 1) ? { text: { sha: text.sha.copy(), md: text.md?.copy() } } as HashStates : undefined);
        size += bytes.length;
        table.push([group[i].key, bytes.length, lines]);
        // A patch's text outlives the buffers it is in.
        if (o.keep?.(from + i)) kept.push(Buffer.from(bytes));
      }
      await written;
    }
    await compressing;
    for (let i = skip; i < table.length; i++) {
      table[i].push(...pieceSizes[i]);
      if (after[i]) Object.assign(after[i]!, piecesAfter[i]);
    }
    const tail = [
      { file: gzOut, bytes: table.length === 0 ? EMPTY_GZIP : Buffer.alloc(0), d: gz, at: sizes.gz },
      { file: xzOut, bytes: xzTrailer(table), d: xz, at: sizes.xz },
    ];
    for (const t of tail) update(t.d, t.bytes);
    await Promise.all(tail.map((t) => writeAllAt(t.file, [t.bytes], t.at).then(() => t.file.truncate(t.at + t.bytes.length))));
    await out.truncate(size);
    o.hashes?.states.note(o.hashes.id, table, after);
    return {
      facts: { size, md5: text.md?.digest('hex'), sha256: text.sha.digest('hex') },
      gz: factsOf(sizes.gz + tail[0].bytes.length, gz),
      xz: factsOf(sizes.xz + tail[1].bytes.length, xz),
      chunks: table,
      kept,
      copied: skip,
      compressed,
    };
  } finally {
    await compressing.catch(() => undefined);
    await Promise.all([out, gzOut, xzOut, old, oldPieces?.gz, oldPieces?.xz].map((f) => f?.close()));
  }
}

/** The index and footer of the .xz of an index of these chunks, each with its block's size noted. */
const xzTrailer = (chunks: ChunkTable) => xzStreamTrailer(CRC64_FLAGS, chunks.map(([, bytes, , , unpadded]) => ({ unpaddedSize: unpadded!, uncompressedSize: bytes })));

const isSize = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** The previous .gz and .xz, open, when they are the sizes the chunk table makes them (a file cut short or gone: none). */
async function openPieces(previous: { gz?: string; xz?: string }, gzSize: number, xzSize: number): Promise<PreviousPieces | undefined> {
  if (!previous.gz || !previous.xz) return undefined;
  const paths = { gz: previous.gz, xz: previous.xz };
  const [gz, xz] = await Promise.all([open(paths.gz, 'r').catch(() => undefined), open(paths.xz, 'r').catch(() => undefined)]);
  const sizes = await Promise.all([gz?.stat(), xz?.stat()].map((s) => s?.then((st) => st.size).catch(() => -1)));
  if (gz && xz && sizes[0] === gzSize && sizes[1] === xzSize) return { gz, xz, paths };
  await Promise.all([gz?.close(), xz?.close()]);
  return undefined;
}

/**
 * The gzip member and xz block of each chunk placed (none for the others), read from the
 * previous files into `into` (made larger when short), pieces that lay side by side in one read.
 */
async function readPieces(from: PreviousPieces, placed: (Placed | undefined)[], into: { bytes: Buffer }): Promise<(Piece | undefined)[]> {
  const total = placed.reduce((n, p) => n + (p ? p.gz.size + p.xz.size : 0), 0);
  if (into.bytes.length < total) into.bytes = Buffer.allocUnsafe(Math.max(total, 2 * into.bytes.length));
  let at = 0;
  const read = async (kind: 'gz' | 'xz') => {
    const pieces: (Buffer | undefined)[] = [];
    for (let i = 0; i < placed.length; ) {
      if (!placed[i]) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < placed.length && placed[j] && placed[j]![kind].offset === placed[j - 1]![kind].offset + placed[j - 1]![kind].size) j++;
      const start = placed[i]![kind].offset;
      const length = placed[j - 1]![kind].offset + placed[j - 1]![kind].size - start;
      const bytes = await bytesAt(from[kind], start, length, into.bytes.subarray(at, at + length));
      if (!bytes) throw new Error(`${from.paths[kind]} is shorter than its generation's manifest says (${start + length} bytes at least): was it changed while being read?`);
      for (; i < j; i++) pieces[i] = bytes.subarray(placed[i]![kind].offset - start, placed[i]![kind].offset - start + placed[i]![kind].size);
      at += length;
    }
    return pieces;
  };
  const gz = await read('gz');
  const xz = await read('xz');
  return placed.map((p, i) => p && { gz: gz[i]!, xz: xz[i]!, unpadded: p.xz.unpadded });
}

/**
 * The pieces that are what the chunk table says: a gzip member and an xz block of their chunk's
 * text. A table whose sizes were moved from one chunk to another (their sum kept) would
 * otherwise splice bytes of the wrong chunks into the new files, and Release would hash them.
 */
function soundPieces(pieces: (Piece | undefined)[], placed: (Placed | undefined)[]): (Piece | undefined)[] {
  return pieces.map((p, i) => (p && isGzipMemberOf(p.gz, placed[i]!.size) && isXzBlockOf(p.xz, p.unpadded, placed[i]!.size) ? p : undefined));
}

/**
 * Copied at once, at most: the text in between is in memory only this much at a time. A buffer
 * held of at least a quarter of it is used as it is, not a new one.
 */
const COPY_PIECE = 1024 * 1024;

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
 * One place where a publication changed an index: chunks `afterFrom` to `afterTo` (not included)
 * of the new table stand where the previous text had `beforeLength` bytes from byte
 * `beforeOffset` (after its first `beforeLines` lines).
 */
export interface ChangedRun {
  afterFrom: number;
  afterTo: number;
  beforeOffset: number;
  beforeLength: number;
  beforeLines: number;
}

/**
 * The places where the chunks of a new index (`keys`) differ from the previous table's, in order:
 * the chunks both have, in the same order, are left out (a chunk's key names its members, so a
 * key both have is the same text; chunk borders are set by the stanzas' names, so a change moves
 * no border far from it). An upload whose packages sort far apart (foo, libfoo1) changes two
 * places, not everything between them.
 */
export function changedRuns(before: ChunkTable, keys: string[]): ChangedRun[] {
  const at = new Map<string, number>();
  before.forEach(([key], i) => at.has(key) || at.set(key, i));
  const runs: ChangedRun[] = [];
  let offset = 0;
  let lines = 0;
  let b = 0;
  let runFrom: number | undefined;
  /** The previous text's chunks b to `to` are replaced by the new ones from runFrom to `afterTo`. */
  const close = (to: number, afterTo: number) => {
    let length = 0;
    let removedLines = 0;
    for (let i = b; i < to; i++) (length += before[i][1]), (removedLines += before[i][2]);
    if (runFrom !== undefined || to > b) runs.push({ afterFrom: runFrom ?? afterTo, afterTo, beforeOffset: offset, beforeLength: length, beforeLines: lines });
    offset += length;
    lines += removedLines;
    b = to;
    runFrom = undefined;
  };
  keys.forEach((key, j) => {
    const i = at.get(key);
    if (i === undefined || i < b) {
      runFrom ??= j;
      return;
    }
    close(i, j);
    // The chunk both have.
    offset += before[i][1];
    lines += before[i][2];
    b = i + 1;
  });
  close(before.length, keys.length);
  return runs;
}
