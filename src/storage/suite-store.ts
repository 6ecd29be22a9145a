// What each suite and snapshot contains, held in memory and kept in state/suites/: per suite a
// base file (NAME.json) and a journal of changes (NAME.journal, storage/journal.ts). Contents
// are values (core/suite-contents.ts): a change keeps the members it does not touch as the
// same objects, so what changed is found by identity and only that is written. Binaries carry
// no control fields and no digests: the control store keeps them once per pool file
// (binary-controls.ts).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { binariesChange, type SuiteBinary, type SuiteContents, type SuiteSource } from '../core/suite-contents.js';
import { Journaled } from './journal.js';

/**
 * A binary as written: a member as it is (no copy of 100,000 members is made to write them), its
 * `debug` made again on reading from the control store; records from before it carry their fields
 * inline, and their digests (the control store keeps them now).
 */
type StoredBinary = Omit<SuiteBinary, 'debug'> & { debug?: boolean; control?: [string, string][]; md5?: string; sha1?: string; sha256?: string };
type Shape = Omit<SuiteContents, 'sources' | 'binaries'>;

/** A change: the record's other fields, and the members that left (by key) and joined. */
interface SuiteChange {
  shape: Shape;
  sourcesOut?: string[];
  sourcesIn?: SuiteSource[];
  binariesOut?: string[];
  binariesIn?: StoredBinary[];
}

const sourceKey = (s: SuiteSource) => `${s.source} ${s.version}`;
/** A pool file holds one binary package: its path names the member. */
const binaryKey = (b: { path: string }) => b.path;
const shapeOf = ({ sources: _s, binaries: _b, ...shape }: SuiteContents): Shape => shape;
/** The members of `prev` not in `next`, and of `next` not in `prev` (by identity). */
function changed<T>(prev: T[], next: T[]): { left: T[]; joined: T[] } {
  const kept = new Set(next);
  const had = new Set(prev);
  return { left: prev.filter((m) => !kept.has(m)), joined: next.filter((m) => !had.has(m)) };
}

export class SuiteStore {
  private readonly records = new Map<string, SuiteContents>();
  private readonly journals = new Map<string, Journaled<SuiteContents, SuiteChange>>();

  /**
   * whole: makes a binary read from disk a member again (whether it is a -dbgsym, from the control store).
   * readOnly: for readers beside the queue (the CLI), which never change state/.
   */
  constructor(
    private readonly dir: string,
    private readonly whole: (b: StoredBinary) => SuiteBinary,
    private readonly o: { readOnly?: boolean } = {},
  ) {}

  private journal(id: string): Journaled<SuiteContents, SuiteChange> {
    let j = this.journals.get(id);
    if (!j) {
      j = new Journaled<SuiteContents, SuiteChange>(join(this.dir, `${id}.json`), join(this.dir, `${id}.journal`), {
        toBase: (c, journalSeq) => ({ ...c, journalSeq }),
        members: { binaries: (b) => this.whole(b as StoredBinary) },
        fromBase: (raw) => {
          const { journalSeq = 0, ...c } = raw as SuiteContents & { journalSeq?: number };
          return { value: c, journalSeq };
        },
        apply: (c, change) => {
          const sourcesOut = new Set(change.sourcesOut);
          const binariesOut = new Set(change.binariesOut);
          return {
            ...change.shape,
            sources: [...c.sources.filter((s) => !sourcesOut.has(sourceKey(s))), ...(change.sourcesIn ?? [])],
            binaries: [...c.binaries.filter((b) => !binariesOut.has(binaryKey(b))), ...(change.binariesIn ?? []).map(this.whole)],
          };
        },
      });
      this.journals.set(id, j);
    }
    return j;
  }

  async load(): Promise<this> {
    this.records.clear();
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const ids = [...new Set(names.filter((n) => /\.(json|journal)$/.test(n)).map((n) => n.replace(/\.(json|journal)$/, '')))].sort();
    for (const id of ids) {
      const value = await this.journal(id).load({ repair: !this.o.readOnly });
      if (value) this.records.set(id, value);
    }
    return this;
  }

  get(id: string): SuiteContents | undefined {
    return this.records.get(id);
  }

  all(): SuiteContents[] {
    return [...this.records.values()];
  }

  async save(next: SuiteContents): Promise<void> {
    const prev = this.records.get(next.id);
    const journal = this.journal(next.id);
    if (!prev) await journal.replace(next);
    else {
      const keptSources = new Set(next.sources);
      const hadSources = new Set(prev.sources);
      const binaries = binariesChange(prev.binaries, next.binaries) ?? changed(prev.binaries, next.binaries);
      await journal.append(
        {
          shape: shapeOf(next),
          sourcesOut: prev.sources.filter((s) => !keptSources.has(s)).map(sourceKey),
          sourcesIn: next.sources.filter((s) => !hadSources.has(s)),
          binariesOut: binaries.left.map(binaryKey),
          binariesIn: binaries.joined,
        },
        () => next,
      );
    }
    this.records.set(next.id, next);
  }

  async remove(id: string): Promise<void> {
    await this.journal(id).remove();
    this.records.delete(id);
    this.journals.delete(id);
  }
}
