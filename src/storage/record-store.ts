// The queue's records, held in memory and written through to state/ as JSON files. The queue
// is the only writer of state/, so the memory copy is the truth while it runs; on start it is
// read back from disk. Reading 10,000 files per publish would not scale; this does.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readAll, writeFileAtomic, writeJson } from './records.js';

export class RecordStore<T extends { id: string }> {
  private readonly records = new Map<string, T>();

  /**
   * compact: one-line JSON, for records that grow large (a suite with 10,000 packages);
   * toDisk/fromDisk: what is written of a record and how it is made whole again on load.
   */
  constructor(
    readonly dir: string,
    private readonly options: { compact?: boolean; toDisk?: (record: T) => unknown; fromDisk?: (raw: T) => T } = {},
  ) {}

  async load(): Promise<this> {
    this.records.clear();
    for (const r of await readAll<T>(this.dir)) this.records.set(r.id, this.options.fromDisk ? this.options.fromDisk(r) : r);
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
    const data = this.options.toDisk ? this.options.toDisk(record) : record;
    if (this.options.compact) await writeFileAtomic(path, `${JSON.stringify(data)}\n`);
    else await writeJson(path, data);
    this.records.set(record.id, record);
    return record;
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
    this.records.delete(id);
  }
}
