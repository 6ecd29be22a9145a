// The queue's records, held in memory and written through to state/ as JSON files. The queue
// is the only writer of state/, so the memory copy is the truth while it runs; on start it is
// read back from disk. Reading 10,000 files per publish would not scale; this does. (Suite
// contents, which grow large, have a store of their own: suite-store.ts.)
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readAll, writeJson } from './json-files.js';

export class RecordStore<T extends { id: string }> {
  private readonly records = new Map<string, T>();

  /** mode: 0600 for records that hold secrets (an enrolled worker's key). */
  constructor(
    readonly dir: string,
    private readonly mode?: number,
  ) {}

  /** Reads every record back; `fromDisk` brings one written by an older version up to date. */
  async load(fromDisk: (stored: T) => T = (r) => r): Promise<this> {
    this.records.clear();
    for (const r of await readAll<T>(this.dir)) this.records.set(r.id, fromDisk(r));
    return this;
  }

  get(id: string): T | undefined {
    return this.records.get(id);
  }

  all(): T[] {
    return [...this.records.values()];
  }

  async save(record: T): Promise<T> {
    await writeJson(join(this.dir, `${record.id}.json`), record, { mode: this.mode });
    this.records.set(record.id, record);
    return record;
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
    this.records.delete(id);
  }
}
