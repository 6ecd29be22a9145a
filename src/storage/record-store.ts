// The queue's records, held in memory and written through to state/ as JSON files. The queue
// is the only writer of state/, so the memory copy is the truth while it runs; on start it is
// read back from disk. Reading 10,000 files per publish would not scale; this does.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readAll, writeFileAtomic, writeJson } from './records.js';

export class RecordStore<T extends { id: string }> {
  private readonly records = new Map<string, T>();

  /** compact: one-line JSON, for records that grow large (a suite with 10,000 packages). */
  constructor(readonly dir: string, private readonly options: { compact?: boolean } = {}) {}

  async load(): Promise<this> {
    this.records.clear();
    for (const r of await readAll<T>(this.dir)) this.records.set(r.id, r);
    return this;
  }

  get(id: string): T | undefined {
    return this.records.get(id);
  }

  all(): T[] {
    return [...this.records.values()];
  }

  async save(record: T): Promise<T> {
    const path = join(this.dir, `${record.id}.json`);
    if (this.options.compact) await writeFileAtomic(path, `${JSON.stringify(record)}\n`);
    else await writeJson(path, record);
    this.records.set(record.id, record);
    return record;
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
    this.records.delete(id);
  }
}
