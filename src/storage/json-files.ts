// Durable JSON records: written to a temporary file, flushed, then renamed over the old one,
// so a crash leaves either the old or the new record, never half of one.
import { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeAllAt } from './files.js';
import { giveOpenFile, type Owner } from './ownership.js';

export interface WriteOptions {
  /** The mode it is made with (0600 for secrets: never readable by others, not for a moment). */
  mode?: number;
  /** Given to this user before it is renamed into place (root writing for the queue's user). */
  owner?: Owner;
  /** Flushed before the rename (default); a note that only matters while its writer runs need not be. */
  sync?: boolean;
}

/** `data` as parts is written in order, each before the next is asked for (so a part may reuse the memory of the one before). */
export async function writeFileAtomic(path: string, data: string | Buffer | Iterable<Buffer>, o: WriteOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  // A new file, never one a link planted under that name points to (issue 17).
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  const handle = await open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, o.mode ?? 0o644);
  try {
    if (o.owner) giveOpenFile(handle.fd, o.owner);
    if (typeof data === 'string' || Buffer.isBuffer(data)) await handle.writeFile(data);
    else {
      let at = 0;
      for (const part of data) {
        await writeAllAt(handle, [part], at);
        at += part.length;
      }
    }
    if (o.sync !== false) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

export async function writeJson(path: string, value: unknown, o: WriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, o);
}

/**
 * A JSON file's value (a record, a generation's manifest); undefined when there is no such file.
 * Anything else (a file that does not parse, one that cannot be read) is an error naming the
 * file, never "none": a record or manifest taken as missing would have its caller start afresh
 * over what it describes.
 */
export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    // No such file, also when a folder on its path is a file.
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw new Error(`cannot read record ${path}: ${(err as Error).message}`);
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
  const records: (T | undefined)[] = await Promise.all(names.map((n) => readJson<T>(join(dir, n))));
  return records.filter((r): r is T => r !== undefined);
}

/** Removes temporary files a crash left beside records. */
export async function removeTemporaries(dir: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.includes('.tmp-')).map((n) => rm(join(dir, n), { force: true })));
}
