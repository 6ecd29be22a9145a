// A value kept as a base file and an append-only journal of the changes since: a change costs
// one short line and one fsync, not the rewrite of a record that holds 10,000 packages. The
// base names the last change it includes (`journalSeq`), so a crash between writing a new base
// and emptying the journal replays nothing twice; a line cut short by a crash mid-append is
// the change that was not acknowledged, and is ignored.
import { open, rm, stat, truncate } from 'node:fs/promises';
import { namingFile } from '../errors.js';
import { jsonParts, lineParts, writeFileAtomic } from './json-files.js';
import { parseWithMembers } from './json-members.js';
import { readStateFile } from './open-regular-file.js';

/** The journal is folded into the base once it is this large, or a quarter of the base. */
const FOLD_BYTES = 256 * 1024;

/** What loadPart reads: of the base's top-level objects under these keys, the members whose keys the function takes; each change as `change` cuts it. */
interface Part<E> {
  base: Record<string, (key: string) => boolean>;
  change: (change: E) => E;
}

/** V: the value; E: a change; W: what is written as a base (the value, or a form of it made as it is written). */
export class Journaled<V, E, W = V> {
  private seq = 0;
  private journalBytes = 0;
  private baseBytes = 0;

  constructor(
    private readonly basePath: string,
    private readonly journalPath: string,
    private readonly codec: {
      /** The base file's JSON for a value, and the value back (with the seq it was written at). */
      toBase: (value: W, journalSeq: number) => unknown;
      fromBase: (raw: unknown) => { value: V; journalSeq: number };
      /** Top-level arrays of the base whose members are made one by one as they are parsed (storage/json-members.ts). */
      members?: Record<string, (member: unknown) => unknown>;
      apply: (value: V, change: E) => V;
      /** What changes apply to when there is no base yet (none: a base must come first). */
      empty?: () => V;
    },
  ) {}

  /**
   * The value on disk: the base with every later change applied; undefined when there is none.
   * The writer repairs a journal a crash cut short; a reader (the CLI) leaves the files alone.
   */
  async load(o: { repair: boolean } = { repair: true }): Promise<V | undefined> {
    return this.read(o.repair);
  }

  /**
   * Part of the value (`Part`; storage/json-members.ts walks over the rest of the base unparsed).
   * The writer's journal is repaired as load() does.
   */
  async loadPart(only: Part<E>): Promise<V | undefined> {
    return this.read(true, only);
  }

  private async read(repair: boolean, only?: Part<E>, again = true): Promise<V | undefined> {
    // The journal first, then the base: a reader beside the queue (archive ls, a SuiteStore read
    // only) that read the base first, then the journal after the queue folded it (a new base
    // renamed in, the journal removed), had the old base without the journal's changes. In this
    // order a fold between the two reads leaves it the old journal's lines with a base that
    // includes them (at or below its journalSeq, skipped), and lines of the journal begun after
    // the fold are not read: it gets the value as it was at the fold, or at its first read.
    const journalText = await readStateFile(this.journalPath).then((b) => b.toString('utf8'), notFound);
    const base = await readStateFile(this.basePath).catch(notFound);
    if (base === undefined && journalText === undefined) return undefined;
    // Changes and no base, where changes need one: the value was removed between the two reads
    // (remove() takes the journal, then the base), and a second read finds neither; or the base
    // is missing, which the second read says.
    if (base === undefined && journalText && !this.codec.empty && again) return this.read(repair, only, false);
    let value: V | undefined;
    let from = 0;
    if (base !== undefined) {
      const raw = this.codec.members || only ? parseWithMembers(base, this.codec.members ?? {}, this.basePath, only?.base) : parsed(base, this.basePath);
      ({ value, journalSeq: from } = this.codec.fromBase(raw));
      this.baseBytes = base.length;
    }
    await this.readJournal(journalText, from, repair, (change) => {
      value ??= this.codec.empty?.();
      if (value === undefined) throw new Error(`${this.journalPath}: changes without a base in ${this.basePath}`);
      value = this.codec.apply(value, only ? only.change(change) : change);
    });
    return value;
  }

  /**
   * Ready to take changes without the value being read, when the base says first which change it
   * includes (`{"journalSeq":N,...`, as a codec that puts it first writes it): the journal a crash
   * cut short is repaired, and its lines checked, as load() does. A base that does not begin so
   * is read whole. The pool history of 100,000 sources, read whole at each start only for this,
   * took 35 MiB of the queue's peak there. A base damaged past its first bytes is found when it
   * is read (a fold, a collection of the pool), not at the start.
   */
  async open(): Promise<void> {
    const head = await readHead(this.basePath, 64);
    const seq = head === undefined ? 0 : Number(/^\{"journalSeq":(\d+)[,}]/.exec(head.toString('latin1'))?.[1] ?? NaN);
    if (Number.isNaN(seq)) {
      await this.load();
      return;
    }
    this.baseBytes = head === undefined ? 0 : (await stat(this.basePath)).size;
    const journalText = await readStateFile(this.journalPath).then((b) => b.toString('utf8'), notFound);
    await this.readJournal(journalText, seq, true, () => {
      if (head === undefined && !this.codec.empty) throw new Error(`${this.journalPath}: changes without a base in ${this.basePath}`);
    });
  }

  /**
   * Each whole line of the journal after change `from`, given to `change` in order; notes where
   * the changes go on from, and cuts off (with `repair`) a line a crash left without its newline.
   */
  private async readJournal(journalText: string | undefined, from: number, repair: boolean, change: (c: E) => void): Promise<void> {
    this.seq = from;
    // Only whole lines count: a line without its newline is a change cut short by a crash
    // (never acknowledged), and is cut off below so that the next change starts a line of its own.
    const whole = journalText ? journalText.lastIndexOf('\n') + 1 : 0;
    const lines = (journalText ?? '').slice(0, whole).split('\n');
    for (const [i, line] of lines.entries()) {
      if (!line) continue;
      let entry: [number, E];
      try {
        entry = JSON.parse(line) as [number, E];
      } catch (err) {
        throw new Error(`${this.journalPath}: line ${i + 1} is not JSON (${(err as Error).message}); the file is damaged`);
      }
      if (!Array.isArray(entry) || !Number.isSafeInteger(entry[0])) throw new Error(`${this.journalPath}: line ${i + 1} is not [number, change]; the file is damaged`);
      const [seq, c] = entry;
      if (seq <= from) continue;
      change(c);
      this.seq = seq;
    }
    if (repair && journalText && whole < journalText.length) await truncate(this.journalPath, Buffer.byteLength(journalText.slice(0, whole)));
    this.journalBytes = whole;
  }

  /**
   * Appends a change; when the journal is long, folds it into a new base instead: the value the
   * change leads to, which `next` gives (a caller that does not hold the value reads it back).
   */
  async append(change: E, next: () => W | Promise<W>): Promise<void> {
    const entry = [this.seq + 1, change];
    // Measured before it is written, part by part: a change as large as what it changes (10,000
    // packages included at once) becomes the base, and its line is never made.
    let length = 1;
    for (const part of jsonParts(entry)) length += Buffer.byteLength(part);
    if (this.journalBytes + length > Math.max(FOLD_BYTES, this.baseBytes / 4)) return this.replace(await next());
    const handle = await open(this.journalPath, 'a', 0o644);
    const before = (await handle.stat()).size;
    try {
      for (const part of lineParts(entry)) {
        for (let at = 0; at < part.length; ) at += (await handle.write(part, at)).bytesWritten;
      }
      await handle.sync();
    } catch (err) {
      // Not a line cut short that the next change would be glued to.
      await handle.truncate(before).catch(() => undefined);
      throw namingFile(err, this.journalPath);
    } finally {
      await handle.close();
    }
    this.seq++;
    this.journalBytes += length;
  }

  /** Writes the whole value as the new base and empties the journal. */
  async replace(value: W): Promise<void> {
    let bytes = 0;
    const counted = function* (parts: Iterable<Buffer>) {
      for (const part of parts) {
        bytes += part.length;
        yield part;
      }
    };
    await writeFileAtomic(this.basePath, counted(lineParts(this.codec.toBase(value, this.seq))));
    this.baseBytes = bytes;
    await rm(this.journalPath, { force: true });
    this.journalBytes = 0;
  }

  async remove(): Promise<void> {
    await rm(this.journalPath, { force: true });
    await rm(this.basePath, { force: true });
    this.seq = 0;
    this.journalBytes = 0;
  }
}

/** A base's JSON, or an error naming its file. */
function parsed(bytes: Buffer, path: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`${path}: not JSON (${(err as Error).message}); the file is damaged`);
  }
}

/** The first `bytes` bytes of a file (fewer when it is shorter); undefined when there is no such file. */
async function readHead(path: string, bytes: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(notFound);
  if (!handle) return undefined;
  try {
    const head = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(head, 0, bytes, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function notFound(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT') return undefined;
  throw err;
}
