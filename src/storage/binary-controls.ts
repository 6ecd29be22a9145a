// The control paragraph and digests of every .deb in the pool, read once (when the file entered
// the pool) and kept in an append-only file of JSON lines, [pool path, fields, md5, sha256].
// Suites refer to binaries by pool path, so a suite's record stays small and rewriting it after
// one change is cheap. Memory holds where each line is, whether its package is a -dbgsym, and its
// digests as bytes (48 a file, off node's heap), not the fields: those of 100,000 packages, each a
// string of its own, would be most of the queue's memory, and their digests as hex strings were
// 13 MiB more of its heap. A line is read again whenever a stanza is made from it
// (core/publish-plan.ts): when its chunk of an index changes. A line from before digests were
// kept, [pool path, fields], is superseded by a whole one for the same path, and so is the line of
// a file removed from the pool when another takes its path (add()).
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { open, rename, rm, truncate } from 'node:fs/promises';
import { isDebugControl } from '../core/suite-contents.js';
import { writeAllAt } from './files.js';

export type ControlFields = [string, string][];

interface Place {
  offset: number;
  length: number;
  debug: boolean;
  /** Absent on a line from before digests were kept. */
  digest?: Digest;
}

/** A pool file's digests, in hex, as Packages lists them. */
export interface Digest {
  md5: string;
  sha256: string;
}

const MD5_BYTES = 16;
const DIGEST_BYTES = MD5_BYTES + 32;
const isHex = (s: unknown, bytes: number): s is string => typeof s === 'string' && s.length === 2 * bytes && /^[0-9a-f]+$/.test(s);
const DEBUG = 1;
const DIGESTED = 2;

/**
 * Each line's place, by pool path: a number per path, and the places in arrays of numbers by that
 * number (an object per line was 5 MiB at 100,000 lines), the digests in one buffer. Lines are
 * only added; a compaction makes a new file.
 */
class Places {
  private readonly at = new Map<string, number>();
  /** Each path's one string, by number: members read back share it (copies of their own were 8 MiB at 100,000). */
  private readonly paths: string[] = [];
  private offsets = new Float64Array(1024);
  private lengths = new Float64Array(1024);
  private flags = new Uint8Array(1024);
  private digests = Buffer.alloc(1024 * DIGEST_BYTES);
  /** The bytes of the lines noted, their newlines included: each path's newest line, none it superseded. */
  bytes = 0;

  /** The string this holds for the path. */
  path(path: string): string | undefined {
    const i = this.at.get(path);
    return i === undefined ? undefined : this.paths[i];
  }

  /** Where the line is (its digests apart: reading a control needs none, and their text would be made for nothing). */
  get(path: string): Place | undefined {
    const i = this.at.get(path);
    return i === undefined ? undefined : { offset: this.offsets[i], length: this.lengths[i], debug: (this.flags[i] & DEBUG) !== 0 };
  }

  debug(path: string): boolean | undefined {
    const i = this.at.get(path);
    return i === undefined ? undefined : (this.flags[i] & DEBUG) !== 0;
  }

  digest(path: string): Digest | undefined {
    const i = this.at.get(path);
    return i === undefined ? undefined : this.digestAt(i);
  }

  digested(path: string): boolean {
    const i = this.at.get(path);
    return i !== undefined && (this.flags[i] & DIGESTED) !== 0;
  }

  private digestAt(i: number): Digest | undefined {
    if ((this.flags[i] & DIGESTED) === 0) return undefined;
    const at = i * DIGEST_BYTES;
    return { md5: this.digests.toString('hex', at, at + MD5_BYTES), sha256: this.digests.toString('hex', at + MD5_BYTES, at + DIGEST_BYTES) };
  }

  set(path: string, place: Place): void {
    let i = this.at.get(path);
    if (i === undefined) {
      i = this.paths.length;
      if (i === this.offsets.length) this.grow();
      this.at.set(path, i);
      this.paths.push(path);
    } else this.bytes -= this.lengths[i] + 1;
    this.bytes += place.length + 1;
    this.offsets[i] = place.offset;
    this.lengths[i] = place.length;
    this.flags[i] = (place.debug ? DEBUG : 0) | (place.digest ? DIGESTED : 0);
    if (place.digest) {
      this.digests.write(place.digest.md5, i * DIGEST_BYTES, 'hex');
      this.digests.write(place.digest.sha256, i * DIGEST_BYTES + MD5_BYTES, 'hex');
    }
  }

  /** Every line's place with its digests (what a compaction carries over). */
  *entries(): IterableIterator<[string, Place]> {
    for (const [i, path] of this.paths.entries()) yield [path, { ...this.get(path)!, digest: this.digestAt(i) }];
  }

  private grow(): void {
    const more = <T extends Float64Array | Uint8Array | Buffer>(a: T, make: (n: number) => T): T => {
      const b = make(a.length * 2);
      b.set(a);
      return b;
    };
    this.offsets = more(this.offsets, (n) => new Float64Array(n));
    this.lengths = more(this.lengths, (n) => new Float64Array(n));
    this.flags = more(this.flags, (n) => new Uint8Array(n));
    this.digests = more(this.digests, (n) => Buffer.alloc(n));
  }
}

/** The file is read, and copied by a compaction, in blocks of about this many bytes: 100,000 controls are never one buffer. */
const BATCH_BYTES = 1024 * 1024;
/**
 * New lines are written in batches of about this many bytes: strings that die before node's next
 * collection of its young generation (a thousand controls at 1 MiB lived through it into the old one).
 */
const WRITE_BYTES = 64 * 1024;

export class BinaryControls {
  private places = new Places();
  /** The file's length: where the next line goes. */
  private end = 0;
  private fd?: number;

  constructor(readonly path: string) {}

  async load(): Promise<this> {
    this.places = new Places();
    this.closeReader();
    this.end = await this.scan(this.path, (path, place) => this.places.set(path, place));
    return this;
  }

  /**
   * Reads the file block by block and notes each whole line. Only newline-ended lines were
   * written whole (add() syncs them before a suite refers to them). A tail a crash cut short is
   * cut off, or the next add() would glue its first line to it and neither would parse again;
   * its file is read again when a suite needs it. A line damaged otherwise is passed over the
   * same way. Returns the length of the whole lines.
   */
  private async scan(path: string, note: (path: string, place: Place) => void): Promise<number> {
    const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!handle) return 0;
    let whole = 0;
    let position = 0;
    try {
      const block = Buffer.alloc(BATCH_BYTES);
      let carry = Buffer.alloc(0);
      for (;;) {
        const { bytesRead } = await handle.read(block, 0, block.length, position);
        if (bytesRead === 0) break;
        const data = carry.length > 0 ? Buffer.concat([carry, block.subarray(0, bytesRead)]) : block.subarray(0, bytesRead);
        const base = position - carry.length;
        let start = 0;
        for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
          try {
            const [file, fields, md5, sha256] = JSON.parse(data.subarray(start, nl).toString()) as [string, ControlFields, unknown, unknown];
            const digest = isHex(md5, MD5_BYTES) && isHex(sha256, 32) ? { md5, sha256 } : undefined;
            if (typeof file === 'string' && Array.isArray(fields)) note(file, { offset: base + start, length: nl - start, debug: isDebugControl(fields), digest });
          } catch {
            // A damaged line: its file is read again when a suite needs it.
          }
          start = nl + 1;
        }
        whole = base + start;
        carry = Buffer.from(data.subarray(start));
        position += bytesRead;
      }
    } finally {
      await handle.close();
    }
    if (whole < position) await truncate(path, whole);
    return whole;
  }

  /** Whether the package is a -dbgsym (undefined: its control is not known). */
  debug(path: string): boolean | undefined {
    return this.places.debug(path);
  }

  /** A pooled file's digests (undefined: not known). */
  digest(path: string): Digest | undefined {
    return this.places.digest(path);
  }

  /**
   * The path as this store holds it (undefined: not known): a member read back from its suite's
   * record keeps this string rather than one of its own.
   */
  heldPath(path: string): string | undefined {
    return this.places.path(path);
  }

  /** Whether a pooled file's digests are known (without making them into text). */
  digested(path: string): boolean {
    return this.places.digested(path);
  }

  /** The control fields of a pooled file, read from disk. */
  get(path: string): ControlFields | undefined {
    return this.getMany([path])[0];
  }

  /**
   * The control fields of many pooled files, in their order (undefined: not known). Lines close
   * together in the file (files included together) are read in one system call.
   */
  getMany(paths: string[]): (ControlFields | undefined)[] {
    const wanted = paths.map((path, i) => ({ i, place: this.places.get(path) })).filter((w): w is { i: number; place: Place } => !!w.place);
    wanted.sort((a, b) => a.place.offset - b.place.offset);
    const found: (ControlFields | undefined)[] = paths.map(() => undefined);
    for (let from = 0; from < wanted.length; ) {
      // A run of lines with at most a few KiB between them, up to 1 MiB in all.
      let to = from + 1;
      const start = wanted[from].place.offset;
      const endOf = (w: { place: Place }) => w.place.offset + w.place.length;
      let end = endOf(wanted[from]);
      while (to < wanted.length && wanted[to].place.offset - end <= 4096 && endOf(wanted[to]) - start <= BATCH_BYTES) end = Math.max(end, endOf(wanted[to++]));
      this.fd ??= openSync(this.path, 'r');
      const span = Buffer.alloc(end - start);
      readSync(this.fd, span, 0, span.length, start);
      for (const { i, place } of wanted.slice(from, to)) {
        found[i] = (JSON.parse(span.subarray(place.offset - start, place.offset - start + place.length).toString()) as [string, ControlFields])[1];
      }
      from = to;
    }
    return found;
  }

  /**
   * Notes the controls and digests not yet known, durably, before a suite refers to them: a file's
   * line from before digests were kept is superseded by a whole one, and so is the line of another
   * file that had the same path (one removed from the pool, its line not yet compacted away: the
   * pool now holds the file of these digests).
   */
  async add(entries: ({ path: string; control: ControlFields } & Digest)[]): Promise<void> {
    const fresh = new Map<string, { control: ControlFields; digest: Digest }>();
    for (const { path, control, md5, sha256 } of entries) {
      const known = this.places.digested(path) ? this.places.digest(path) : undefined;
      if (known && known.md5 === md5 && known.sha256 === sha256) continue;
      if (!isHex(md5, MD5_BYTES) || !isHex(sha256, 32)) throw new Error(`${this.path}: ${path}: the digests given are not an MD5 and a SHA-256 in hex (${md5}, ${sha256})`);
      fresh.set(path, { control, digest: { md5, sha256 } });
    }
    if (fresh.size === 0) return;
    const noted: [string, Place][] = [];
    // Written where the known lines end, not appended: what an add that failed halfway (a full
    // disk) left after them is cut off first, or every line noted after it would be placed wrong.
    const handle = await open(this.path, constants.O_WRONLY | constants.O_CREAT, 0o644);
    try {
      await handle.truncate(this.end);
      let at = this.end;
      let batch: string[] = [];
      let bytes = 0;
      let written = this.end;
      const write = async () => {
        const data = Buffer.from(batch.join(''));
        await writeAllAt(handle, [data], written);
        written += data.length;
        batch = [];
        bytes = 0;
      };
      for (const [path, { control, digest }] of fresh) {
        const line = `${JSON.stringify([path, control, digest.md5, digest.sha256])}\n`;
        const length = Buffer.byteLength(line);
        noted.push([path, { offset: at, length: length - 1, debug: isDebugControl(control), digest }]);
        at += length;
        batch.push(line);
        bytes += length;
        if (bytes >= WRITE_BYTES) await write();
      }
      if (batch.length > 0) await write();
      await handle.sync();
      this.end = at;
    } finally {
      await handle.close();
    }
    for (const [path, place] of noted) this.places.set(path, place);
  }

  /**
   * Rewrites the file when superseded lines (damaged ones, those of files another took the path
   * of, or those from before digests were kept, which the queue's first start after that change
   * supersedes all at once) are half the
   * size of the others or more, rather than leave it so until a collection removes a pool file.
   * Whether it did.
   */
  async compactIfWasteful(): Promise<boolean> {
    if (this.end - this.places.bytes < this.places.bytes / 2) return false;
    await this.compact();
    return true;
  }

  /** Rewrites the file with each path's newest line only, of the files still kept (without `keep`, of all it knows). */
  async compact(keep?: Set<string>): Promise<void> {
    const tmp = `${this.path}.tmp-${process.pid}`;
    const kept = [...this.places.entries()].filter(([path]) => !keep || keep.has(path)).sort(([, a], [, b]) => a.offset - b.offset);
    const places = new Places();
    // A new file, never one a link planted under that name points to (issue 17).
    await rm(tmp, { force: true });
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
    const out = await open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
    try {
      let at = 0;
      let batch: Buffer[] = [];
      let bytes = 0;
      for (const [path, place] of kept) {
        const line = Buffer.alloc(place.length + 1, 0x0a);
        this.fd ??= openSync(this.path, 'r');
        readSync(this.fd, line, 0, place.length, place.offset);
        places.set(path, { ...place, offset: at });
        at += line.length;
        batch.push(line);
        bytes += line.length;
        if (bytes >= BATCH_BYTES) {
          await out.writeFile(Buffer.concat(batch));
          batch = [];
          bytes = 0;
        }
      }
      if (batch.length > 0) await out.writeFile(Buffer.concat(batch));
      await out.sync();
    } catch (err) {
      await out.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await out.close();
    await rename(tmp, this.path);
    this.closeReader();
    this.end = kept.reduce((n, [, p]) => n + p.length + 1, 0);
    this.places = places;
  }

  private closeReader(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
