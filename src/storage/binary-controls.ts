// The control paragraph of every .deb in the pool, read once (when the file entered the pool)
// and kept in an append-only file of JSON lines, [pool path, fields]. Suites refer to binaries
// by pool path, so a suite's record stays small and rewriting it after one change is cheap.
import { open, readFile, truncate } from 'node:fs/promises';
import { writeFileAtomic } from './json-files.js';

export type ControlFields = [string, string][];

export class BinaryControls {
  private readonly controls = new Map<string, ControlFields>();

  constructor(readonly path: string) {}

  async load(): Promise<this> {
    const bytes = await readFile(this.path).catch(() => Buffer.alloc(0));
    // Only newline-ended lines were written whole (add() syncs them before a suite refers to
    // them). A tail a crash cut short is cut off here, or the next add() would glue its first
    // line to it and neither would parse again; its file is read again when a suite needs it.
    const whole = bytes.lastIndexOf(0x0a) + 1;
    if (whole < bytes.length) await truncate(this.path, whole);
    for (const line of bytes.subarray(0, whole).toString('utf8').split('\n')) {
      if (!line) continue;
      try {
        const [path, fields] = JSON.parse(line) as [string, ControlFields];
        this.controls.set(path, fields);
      } catch {
        // A line damaged otherwise: its file is read again when a suite needs it.
      }
    }
    return this;
  }

  get(path: string): ControlFields | undefined {
    return this.controls.get(path);
  }

  /** Notes the controls not yet known, durably, before a suite refers to them. */
  async add(entries: { path: string; control: ControlFields }[]): Promise<void> {
    const fresh = entries.filter((e) => !this.controls.has(e.path));
    if (fresh.length === 0) return;
    const handle = await open(this.path, 'a', 0o644);
    try {
      await handle.writeFile(fresh.map((e) => `${JSON.stringify([e.path, e.control])}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
    for (const e of fresh) this.controls.set(e.path, e.control);
  }

  /** Rewrites the file with only the files still kept. */
  async compact(keep: Set<string>): Promise<void> {
    for (const path of [...this.controls.keys()]) if (!keep.has(path)) this.controls.delete(path);
    await writeFileAtomic(this.path, [...this.controls].map((e) => `${JSON.stringify(e)}\n`).join(''));
  }
}
