// File facts and safe placement.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, linkSync, mkdirSync, openSync, readSync } from 'node:fs';
import { copyFile, readFile, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileDigest } from '../debian/file-digest.js';
import { entryKind, NotRegularFile, shrank } from './open-regular-file.js';

/**
 * What a binary package's index entry needs of its file: Packages carries MD5sum and SHA256, as
 * dak's do, and no SHA-1 (which would be a third pass over every byte of an included .deb).
 */
export type PoolDigest = Omit<FileDigest, 'sha1'>;

/** Size and checksums of bytes already in memory (without the SHA-1 when `sha1` is false). */
export function bufferFacts(data: Buffer): FileDigest;
export function bufferFacts(data: Buffer, o: { sha1: false }): PoolDigest;
export function bufferFacts(data: Buffer, { sha1 = true }: { sha1?: boolean } = {}): PoolDigest | FileDigest {
  return digestOf(data, sha1);
}

function digestOf(data: Buffer, sha1: boolean): PoolDigest | FileDigest {
  const hex = (algorithm: string) => createHash(algorithm).update(data).digest('hex');
  return { size: data.length, md5: hex('md5'), ...(sha1 ? { sha1: hex('sha1') } : {}), sha256: hex('sha256') };
}

/**
 * A file's bytes when it is at most `limit` long (one open, one fstat, one read), else undefined.
 * Only a regular file's: a FIFO or device is refused (NotRegularFile) without being read, and
 * opened without waiting (O_NONBLOCK), so one planted among staged files never holds the thread.
 * With `follow: false`, a link is refused too (NotRegularFile), never followed.
 * Synchronous: for many small files, four system calls on this thread cost a fifth of what they
 * cost through the thread pool; callers go through inBatches, which lets the event loop run. Read
 * into `into` when given (made larger when short), whose bytes they are until the next read into
 * it: a caller that copies 100,000 files one after another makes no buffer for each.
 */
export function readIfSmallSync(path: string, limit: number, into?: { bytes: Buffer }, o: { follow?: boolean } = {}): Buffer | undefined {
  const got = readSmallOrOpenSync(path, limit, into, o);
  if ('data' in got) return got.data;
  closeSync(got.fd);
  return undefined;
}

/**
 * As readIfSmallSync, but a file over `limit` is left open, its descriptor the caller's to read
 * (streamed) and close: what it reads is the regular file checked, not what its path leads to
 * by then (a FIFO swapped in would hold the reader).
 */
export function readSmallOrOpenSync(path: string, limit: number, into?: { bytes: Buffer }, o: { follow?: boolean } = {}): { data: Buffer } | { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (o.follow === false ? constants.O_NOFOLLOW : 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP' && o.follow === false) throw new NotRegularFile(path, 'a symbolic link');
    throw err;
  }
  let open = false;
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NotRegularFile(path, entryKind(stats));
    const { size } = stats;
    if (size > limit) {
      open = true;
      return { fd, size };
    }
    if (into && into.bytes.length < size) into.bytes = Buffer.allocUnsafe(Math.min(limit, Math.max(size, 2 * into.bytes.length)));
    const data = into?.bytes ?? Buffer.allocUnsafe(size);
    const read = readFullySync(fd, data, size);
    if (read < size) throw shrank(size, read);
    return { data: data.subarray(0, size) };
  } finally {
    if (!open) closeSync(fd);
  }
}

/** Up to `size` bytes of the file from its start into `into`, in as many reads as the kernel needs; how many it had. */
export function readFullySync(fd: number, into: Buffer, size: number): number {
  let read = 0;
  while (read < size) {
    const n = readSync(fd, into, read, size - read, read);
    if (n === 0) break;
    read += n;
  }
  return read;
}

export async function fileFacts(path: string): Promise<FileDigest>;
export async function fileFacts(path: string, o: { sha1: false }): Promise<PoolDigest>;
export async function fileFacts(path: string, { sha1: withSha1 = true }: { sha1?: boolean } = {}): Promise<PoolDigest | FileDigest> {
  // Small files in one read; large ones streamed.
  if ((await stat(path)).size <= 1024 * 1024) return digestOf(await readFile(path), withSha1);
  const md5 = createHash('md5');
  const sha1 = withSha1 ? createHash('sha1') : undefined;
  const sha256 = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    md5.update(chunk);
    sha1?.update(chunk);
    sha256.update(chunk);
    size += (chunk as Buffer).length;
  }
  return { size, md5: md5.digest('hex'), ...(sha1 ? { sha1: sha1.digest('hex') } : {}), sha256: sha256.digest('hex') };
}

/** The size of the file system `path` is on, and what of it an unprivileged writer may still use, in bytes. */
export async function diskSpace(path: string): Promise<{ total: number; free: number }> {
  const s = await statfs(path);
  return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Places a file at `target` atomically, so a reader never sees half a file: a hard link when
 * source and pool share a file system (one step, and the source is complete), else a copy to a
 * temporary name of its own, then linked into place (never renamed over what is there). An
 * identical file already there is kept; a different one is an error.
 */
export async function placeFile(from: string, target: string, expectedSha256: string): Promise<void> {
  let code: string | undefined;
  try {
    // Quick system calls, on this thread (see readIfSmallSync); the folder made only when missing.
    try {
      linkSync(from, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(target), { recursive: true });
      linkSync(from, target);
    }
    return;
  } catch (err) {
    code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'EXDEV' && code !== 'EPERM') throw err;
  }
  if (code !== 'EEXIST') {
    // Two identical files of one request go to one pool path side by side: a name for each copy.
    const tmp = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      await copyFile(from, tmp, constants.COPYFILE_EXCL);
      linkSync(tmp, target);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  }
  const facts = await fileFacts(target);
  if (facts.sha256 === expectedSha256) return;
  throw new Error(`${target} already exists with other content (sha256 ${facts.sha256}, new ${expectedSha256})`);
}

/**
 * fn on `width` items at a time, in order; `after` with how many are done after each batch. When
 * fn does its work synchronously, the event loop still runs between batches, once 20 ms have
 * passed since it last ran (a batch itself holds it as long as its work takes). With `full`, asked
 * after each item is started, a batch also ends once it says so: what a batch does on this
 * thread bounded by its size, not only by its count.
 */
export async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<void>, after?: (done: number) => Promise<void>, full?: () => boolean): Promise<void> {
  let ran = Date.now();
  for (let i = 0; i < items.length; ) {
    const batch: Promise<void>[] = [];
    const end = Math.min(i + width, items.length);
    do batch.push(fn(items[i++]));
    while (i < end && !full?.());
    await Promise.all(batch);
    await after?.(i);
    if (Date.now() - ran > 20) {
      await new Promise((r) => setImmediate(r));
      ran = Date.now();
    }
  }
}

/** All of `buffers`, one after the other, written at `position`: in one call unless the kernel takes less. */
export async function writeAllAt(file: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest, position);
    position += bytesWritten;
    while (rest.length > 0 && bytesWritten >= rest[0].length) bytesWritten -= rest.shift()!.length;
    if (bytesWritten > 0) rest[0] = rest[0].subarray(bytesWritten);
  }
}

