// Opening a file someone else put in a folder we read (incoming/): only a regular file is
// opened, never what a symbolic link points to (../state/archive-key.sec), never a FIFO (an
// open for reading would block the queue), a device or a directory. lstat first, so such an
// entry is refused without being opened; then open with O_NOFOLLOW|O_NONBLOCK and check on the
// descriptor that it is still that regular file (same device and inode), so an entry swapped
// between the two steps is refused too. What is read or copied is read through that descriptor.
import { createHash } from 'node:crypto';
import { constants, createWriteStream, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { namingFile } from '../errors.js';

/** A file that has fewer bytes than it said it had when it was opened (another writer cut it meanwhile). */
export const shrank = (size: number, read: number): Error => new Error(`it shrank from ${size} to ${read} bytes while it was read`);

/**
 * The file's bytes as long as it was when opened (`size`), streamed, counted in `read`: one that
 * grows meanwhile (a sparse file extended by petabytes as the queue reads it) is not read on; of
 * one that shrinks, what is left.
 */
async function* bytesOf(handle: FileHandle, size: number, read: { bytes: number }): AsyncGenerator<Buffer> {
  if (size === 0) return;
  for await (const chunk of handle.createReadStream({ autoClose: false, start: 0, end: size - 1 })) {
    read.bytes += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
}

export class NotRegularFile extends Error {
  constructor(
    readonly path: string,
    /** "a symbolic link", "a FIFO", ...: for a reason a packager reads. */
    readonly kind: string,
  ) {
    super(`${path}: not a regular file (${kind})`);
    this.name = 'NotRegularFile';
  }
}

/** What a directory entry is, in words. */
export function entryKind(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isSymbolicLink()) return 'a symbolic link';
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device node';
  if (s.isSocket()) return 'a socket';
  return 'of an unknown type';
}

/** Opens `path` to read, never through a link at its name (NotRegularFile), never waiting on a FIFO. */
async function openNoFollow(path: string): Promise<FileHandle> {
  try {
    return await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new NotRegularFile(path, 'a symbolic link');
    throw err;
  }
}

/** Opens a regular file for reading; anything else is refused with NotRegularFile. */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  const before = await lstat(path);
  if (!before.isFile()) throw new NotRegularFile(path, entryKind(before));
  const handle = await openNoFollow(path);
  const now = await handle.stat();
  if (!now.isFile() || now.dev !== before.dev || now.ino !== before.ino) {
    await handle.close();
    throw new NotRegularFile(path, now.isFile() ? 'another file swapped in while it was opened' : entryKind(now));
  }
  return { handle, size: now.size };
}

/**
 * Whose the archive's state files must be while they are read: run by root (the CLI), the queue's
 * user's, who owns every folder of the root and could plant a link on a file's path, or a hard
 * link, to a file of root's; undefined: anyone's (the queue itself, a user's own CLI).
 */
let stateOwnerUid: number | undefined;

/** Run by root: every state file read from now on must be the file of `uid` (the queue's user). */
export function readStateAsOwner(uid: number): void {
  stateOwnerUid = uid;
}

/** The most of one state file root's CLI reads whole: a JSON text past it could not be one string anyway (V8's limit). */
export const MAX_STATE_FILE_BYTES = 512 * 1024 * 1024;

/**
 * Opens a file of the archive's state (a record, a journal, a log) to read: never through a link
 * at its name, never waiting on a FIFO (O_NONBLOCK), only a regular file, and, run by root, only
 * one of the queue's user's (readStateAsOwner): root reads no file of its own planted there, nor
 * hangs on one. (A device cannot be made there: mknod needs a capability the queue's user lacks.)
 */
export async function openStateFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  const handle = await openNoFollow(path);
  try {
    const facts = await handle.stat();
    if (!facts.isFile()) throw new NotRegularFile(path, entryKind(facts));
    if (stateOwnerUid !== undefined && facts.uid !== stateOwnerUid) {
      throw new Error(`${path}: a file of uid ${facts.uid}, not of the queue's user (uid ${stateOwnerUid}), who owns the archive's files; the archive never makes one (remove it, or give the archive back to its user with chown -R ${stateOwnerUid}:${stateOwnerUid} ROOT)`);
    }
    return { handle, size: facts.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * The most root's CLI reads of one folder's records together (readAll): each may be up to
 * MAX_STATE_FILE_BYTES, and the queue's user could give one file as many names as it liked
 * (hard links), each read and parsed anew.
 */
export const MAX_STATE_FOLDER_BYTES = 1024 * 1024 * 1024;

/** What is left of a folder's MAX_STATE_FOLDER_BYTES while its records are read (readAll). */
export interface StateReadBudget {
  folder: string;
  left: number;
}

/** State files larger than this are read one at a time (readStateFile). */
export const LARGE_STATE_FILE_BYTES = 1024 * 1024;
let largeReads: Promise<unknown> = Promise.resolve();

/**
 * A file of the archive's state, read whole through openStateFile; run by root, of at most
 * MAX_STATE_FILE_BYTES (the queue's user could make one as large as the disk for root to read).
 * Large ones are read one after another, and, run by root, a folder's (`budget`) within
 * MAX_STATE_FOLDER_BYTES together: a folder of records read at once (readAll) could hold a file of
 * 500 MiB under as many names as the queue's user made hard links, and root's CLI took that many
 * times its memory.
 */
export async function readStateFile(path: string, budget?: StateReadBudget): Promise<Buffer> {
  const { handle, size } = await openStateFile(path);
  if (stateOwnerUid !== undefined && budget && (budget.left -= size) < 0) {
    await handle.close();
    throw new Error(`${budget.folder}: its records hold more than ${MAX_STATE_FOLDER_BYTES} bytes together, the most root's CLI reads of one folder (at ${path})`);
  }
  if (size <= LARGE_STATE_FILE_BYTES) return readOpenStateFile(path, handle, size);
  const turn = largeReads.then(() => readOpenStateFile(path, handle, size));
  largeReads = turn.catch(() => undefined);
  return turn;
}

async function readOpenStateFile(path: string, handle: FileHandle, size: number): Promise<Buffer> {
  try {
    if (stateOwnerUid !== undefined && size > MAX_STATE_FILE_BYTES) throw new Error(`${path}: ${size} bytes; expected at most ${MAX_STATE_FILE_BYTES}`);
    const data = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await handle.read(data, read, size - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return data.subarray(0, read);
  } finally {
    await handle.close();
  }
}

/** A regular file's bytes, when it has at most `limit`; undefined (nothing read) when it has more. */
export async function readRegularFile(path: string, limit: number): Promise<{ data?: Buffer; size: number }> {
  const { handle, size } = await openRegularFile(path);
  try {
    if (size > limit) return { size };
    const data = Buffer.alloc(size);
    const { bytesRead } = await handle.read(data, 0, size, 0);
    return { data: data.subarray(0, bytesRead), size };
  } finally {
    await handle.close();
  }
}

/** A file whose size, when opened, is not the one it had when it was looked at (grown or cut since): not read. */
export class SizeChanged extends Error {
  constructor(
    readonly path: string,
    readonly size: number,
  ) {
    super(`${path}: ${size} bytes when opened, another size than before`);
    this.name = 'SizeChanged';
  }
}

/**
 * Copies a regular file, through its descriptor, to a new file (never over one that exists), as
 * long as it was when opened; only when it has the size it had when it was looked at (`size`),
 * else SizeChanged, nothing written: a copy is never larger than what was counted for it.
 */
export async function copyRegularFile(from: string, to: string, size: number): Promise<void> {
  const opened = await openRegularFile(from);
  const { handle } = opened;
  try {
    if (opened.size !== size) throw new SizeChanged(from, opened.size);
    // (A file cut meanwhile is copied as it is left: the upload's checks find it shorter than listed.)
    await pipeline(bytesOf(handle, size, { bytes: 0 }), createWriteStream(to, { flags: 'wx' }));
  } catch (err) {
    // A stream's write error ("ENOSPC: no space left on device, write") names no file: name it.
    throw namingFile(err, to);
  } finally {
    await handle.close();
  }
}

/**
 * A regular file's size and SHA-256, hashed through its descriptor (streamed, so a large file
 * costs no memory) as long as it was when opened; undefined when the entry is not a regular file
 * (nothing opened or read), when it has another size than `onlySize` (nothing read: it cannot be
 * the same content), or when it was cut while it was read.
 */
export async function regularFileSha256(path: string, onlySize?: number): Promise<{ size: number; sha256: string } | undefined> {
  let opened: { handle: FileHandle; size: number };
  try {
    opened = await openRegularFile(path);
  } catch (err) {
    if (err instanceof NotRegularFile) return undefined;
    throw err;
  }
  const { handle, size } = opened;
  try {
    if (onlySize !== undefined && size !== onlySize) return undefined;
    const hash = createHash('sha256');
    const read = { bytes: 0 };
    for await (const chunk of bytesOf(handle, size, read)) hash.update(chunk);
    // Cut while it was read: not the content of that size.
    return read.bytes === size ? { size, sha256: hash.digest('hex') } : undefined;
  } finally {
    await handle.close();
  }
}
