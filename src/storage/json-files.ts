// Durable JSON records: written to a temporary file, flushed, then renamed over the old one,
// so a crash leaves either the old or the new record, never half of one.
import { constants, fchmodSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { namingFile } from '../errors.js';
import { inBatches, writeAllAt } from './files.js';
import { MAX_STATE_FOLDER_BYTES, readStateFile, type StateReadBudget } from './open-regular-file.js';
import { giveOpenFile, type Owner } from './ownership.js';

export interface WriteOptions {
  /**
   * The mode it is made with (0600 for secrets: never readable by others, not for a moment), and
   * keeps whatever the umask (0644 unless said).
   */
  mode?: number;
  /** Given to this user before it is renamed into place (root writing for the queue's user). */
  owner?: Owner;
  /** Flushed before the rename (default); a note that only matters while its writer runs need not be. */
  sync?: boolean;
}

/**
 * `data` as an array of parts is written in one call; as another iterable, in order, each before
 * the next is asked for (so a part may reuse the memory of the one before).
 */
export async function writeFileAtomic(path: string, data: string | Buffer | Iterable<Buffer>, o: WriteOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  // A new file, never one a link planted under that name points to (issue 17).
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  const mode = o.mode ?? 0o644;
  const handle = await open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    try {
      if (o.owner) giveOpenFile(handle.fd, o.owner);
      // The umask took its bits off the mode open made it with: under umask 077, root's CLI made
      // public/archive-key.asc 0600, which the repository's nginx (another user) could not serve.
      // (One quick system call, on this thread, as giveOpenFile's.)
      fchmodSync(handle.fd, mode);
      if (typeof data === 'string' || Buffer.isBuffer(data)) await handle.writeFile(data);
      else if (Array.isArray(data)) await writeAllAt(handle, data, 0);
      else {
        let at = 0;
        for (const part of data) {
          await writeAllAt(handle, [part], at);
          at += part.length;
        }
      }
      if (o.sync !== false) await handle.sync();
    } catch (err) {
      // The write's error, not the close's.
      await handle.close().catch(() => undefined);
      throw err;
    }
    await handle.close();
    await rename(tmp, path);
  } catch (err) {
    // Not left behind: on a full disk the queue tries again every few seconds, and each record or
    // journal's fold it failed to write left its temporary file (up to tens of MB) until its next
    // start (removeTemporaries).
    await rm(tmp, { force: true }).catch(() => undefined);
    // The record's name, not its temporary file's (removed).
    throw namingFile(err, path);
  }
}

/**
 * Members of a long array or object made into text at once: a string of a few tens of KB, which
 * dies before node's next collection of its young generation (a thousand at a time, they lived
 * through it, and a record written at 10,000 packages left megabytes in its old generation).
 */
const JSON_BATCH = 100;

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && [Object.prototype, null].includes(Object.getPrototypeOf(v)) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
/** Long, or holding something long: a journal's line [seq, change] whose change names 100,000 packages is long. */
const isLong = (v: unknown): boolean =>
  v instanceof MadeAsWritten
    ? v.length > JSON_BATCH
    : v instanceof RecordAsWritten
      ? v.size > JSON_BATCH
      : Array.isArray(v)
      ? v.length > JSON_BATCH || v.some(isLong)
      : isPlain(v) && (Object.keys(v).length > JSON_BATCH || Object.values(v).some(isLong));

/**
 * A long list whose members are made only as its JSON is written, JSON_BATCH at a time
 * (jsonParts), or as they are iterated: an include's answer names each package it took, and its
 * history notes each one's source, and at 100,000 packages their objects, made at once, held 5-6
 * MiB of the queue's heap each (the answer's through the publication before it is written).
 */
export class MadeAsWritten<T, U> implements Iterable<U> {
  constructor(
    private readonly from: readonly T[],
    private readonly make: (t: T) => U,
  ) {}

  get length(): number {
    return this.from.length;
  }

  slice(start?: number, end?: number): U[] {
    return this.from.slice(start, end).map((t) => this.make(t));
  }

  /** The member at `i`, made now. */
  at(i: number): U {
    return this.make(this.from[i]);
  }

  *[Symbol.iterator](): Iterator<U> {
    for (const t of this.from) yield this.make(t);
  }

  /** JSON.stringify's: all at once (a short list, or one inside a short value). */
  toJSON(): U[] {
    return this.slice();
  }
}

/**
 * A long record whose members are made only as its JSON is written (jsonParts), JSON_BATCH at a
 * time, in the order given (JSON.stringify would put keys that look like numbers first; parsed,
 * both are the same record): the first pool history of an archive that 100,000 packages are
 * included into, made whole before it was written, was 19 MiB of the queue's heap at its peak.
 */
export class RecordAsWritten<U> {
  constructor(
    /** How many members it has at most (past JSON_BATCH it is written a batch at a time; a short one by toJSON). */
    readonly size: number,
    private readonly members: () => Iterable<[string, U]>,
  ) {}

  entries(): Iterable<[string, U]> {
    return this.members();
  }

  /** JSON.stringify's: all at once (a short record, or one inside a short value). */
  toJSON(): Record<string, U> {
    return Object.fromEntries(this.members());
  }
}

/**
 * The text JSON.stringify(value) makes, in parts: the members of a long array or object (and of
 * those inside it) are made JSON_BATCH at a time, so that a record of 100,000 packages is never
 * one string (nor one buffer) in memory.
 */
export function* jsonParts(value: unknown): Generator<string> {
  if (!isLong(value)) {
    yield JSON.stringify(value);
    return;
  }
  let first = true;
  const comma = function* () {
    if (!first) yield ',';
    first = false;
  };
  // What JSON.stringify writes between the brackets of a batch of members: nothing for an object's
  // undefined ones, null for an array's.
  const batchText = function* (text: string) {
    if (text === '') return;
    yield* comma();
    yield text;
  };
  if (Array.isArray(value) || value instanceof MadeAsWritten) {
    yield '[';
    for (let i = 0; i < value.length; i += JSON_BATCH) {
      const batch = value.slice(i, i + JSON_BATCH);
      if (!batch.some(isLong)) yield* batchText(JSON.stringify(batch).slice(1, -1));
      else {
        for (const v of batch) {
          yield* comma();
          yield* isLong(v) ? jsonParts(v) : [JSON.stringify(v) ?? 'null'];
        }
      }
    }
    yield ']';
    return;
  }
  yield '{';
  let batch: [string, unknown][] = [];
  const flush = function* () {
    if (batch.length > 0) yield* batchText(JSON.stringify(Object.fromEntries(batch)).slice(1, -1));
    batch = [];
  };
  for (const [k, v] of value instanceof RecordAsWritten ? value.entries() : pairsOf(value as Record<string, unknown>)) {
    if (isLong(v)) {
      yield* flush();
      yield* comma();
      yield `${JSON.stringify(k)}:`;
      yield* jsonParts(v);
    } else {
      batch.push([k, v]);
      if (batch.length === JSON_BATCH) yield* flush();
    }
  }
  yield* flush();
  yield '}';
}

/** A record's keys and values, a pair at a time: those of Object.entries, of the 100,000 sources of a pool history, took 6 MiB. */
function* pairsOf(record: Record<string, unknown>): Generator<[string, unknown]> {
  for (const k of Object.keys(record)) yield [k, record[k]];
}

/** Bytes of a line written at once. */
const LINE_PIECE = 64 * 1024;

/**
 * A value's JSON and a newline, in pieces of about LINE_PIECE bytes, each in the same buffer: the
 * caller writes a piece before it asks for the next. jsonParts' small strings die young, and
 * nothing of a record of 10,000 packages stays long enough to reach node's old generation.
 */
export function* lineParts(value: unknown): Generator<Buffer> {
  let buffer = Buffer.allocUnsafe(LINE_PIECE);
  let at = 0;
  for (const parts of [jsonParts(value), ['\n']]) {
    for (const part of parts) {
      const length = Buffer.byteLength(part);
      if (at > 0 && at + length > buffer.length) {
        yield buffer.subarray(0, at);
        at = 0;
      }
      if (length > buffer.length) buffer = Buffer.allocUnsafe(length);
      at += buffer.write(part, at);
    }
  }
  yield buffer.subarray(0, at);
}

/**
 * A record, indented; a long one (an include's answer naming 100,000 packages) on one line, made
 * piece by piece: indented as one string, it was the queue's peak at 100,000 packages (50 MiB).
 */
export async function writeJson(path: string, value: unknown, o: WriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, isLong(value) ? lineParts(value) : `${JSON.stringify(value, null, 2)}\n`, o);
}

/**
 * A JSON file's value (a record, a generation's manifest); undefined when there is no such file.
 * Anything else (a file that does not parse, one that cannot be read) is an error naming the
 * file, never "none": a record or manifest taken as missing would have its caller start afresh
 * over what it describes.
 */
export async function readJson<T>(path: string, budget?: StateReadBudget): Promise<T | undefined> {
  try {
    return JSON.parse((await readStateFile(path, budget)).toString('utf8')) as T;
  } catch (err) {
    // No such file, also when a folder on its path is a file.
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    const message = (err as Error).message;
    throw new Error(`cannot read record ${message.startsWith(`${path}: `) ? message : `${path}: ${message}`}`);
  }
}

/** Every record in a directory (files ending .json), sorted by file name. */
export async function readAll<T>(dir: string): Promise<T[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const budget = { folder: dir, left: MAX_STATE_FOLDER_BYTES };
  const records: (T | undefined)[] = new Array(names.length);
  // READ_AT_ONCE open at a time, not all: a queue of 5,000 records under a limit of 1,024 open
  // files (ulimit -n) failed with EMFILE reading them, and could not start.
  const read = names.map((name, i) => ({ name, i }));
  await inBatches(read, READ_AT_ONCE, async ({ name, i }) => void (records[i] = await readJson<T>(join(dir, name), budget)));
  return records.filter((r): r is T => r !== undefined);
}

/** Records readAll reads side by side: enough to keep the disk busy, far below any limit of open files. */
const READ_AT_ONCE = 64;

/**
 * The names of the temporary files writeFileAtomic makes (NAME.tmp-PID-RANDOM) and the control
 * store's compaction (NAME.tmp-PID): at the end of a name only, since a record's own name may hold
 * ".tmp-" (a snapshot named release.tmp-1, an upload of a source named x.tmp-y).
 */
const TEMPORARY_NAME = /\.tmp-\d+(-[0-9a-z]*)?$/;

/** Whether `name` is one of those temporary files' (see TEMPORARY_NAME). */
export const isTemporaryName = (name: string): boolean => TEMPORARY_NAME.test(name);

/** Removes temporary files a crash left beside records. */
export async function removeTemporaries(dir: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter(isTemporaryName).map((n) => rm(join(dir, n), { force: true })));
}
