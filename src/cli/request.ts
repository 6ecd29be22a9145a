// The CLI never changes records: it leaves a request in state/requests/ (with any files it
// brings in ID.files/), and the queue, the only writer, carries it out and answers beside it.
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, createReadStream, createWriteStream, fchmodSync, openSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { basename, relative } from 'node:path';
import { snapshotNameError } from '../config/config.js';
import type { QueueAnswer, QueueRequest } from '../core/queue-requests.js';
import { printableEntry, printableJson } from '../core/terminal-text.js';
import { isPackageFileName } from '../debian/pool-path.js';
import { UserError } from '../errors.js';
import { AnchoredDir } from '../storage/anchored-dir.js';
import { inBatches, readSmallOrOpenSync } from '../storage/files.js';
import { NotRegularFile, shrank } from '../storage/open-regular-file.js';
import { FolderWatch } from '../storage/folder-watch.js';
import type { Layout } from '../storage/layout.js';
import { giveOpenFile, type Owner } from '../storage/ownership.js';
import { writeJson } from '../storage/json-files.js';
import { NOTED_EVERY, markStaged } from '../storage/staging.js';

/** Sends a request and waits for the answer; a refused request becomes a UserError. */
export async function askQueue(layout: Layout, request: QueueRequest, o: { timeoutS: number; json?: boolean }): Promise<QueueAnswer> {
  // Refused here, not only by the queue: nothing is sent that it would refuse for its name.
  const badName = request.action === 'snapshot' && !request.delete ? snapshotNameError(request.name) : undefined;
  if (badName) throw new UserError(badName);
  const files = request.action === 'include' ? request.files : undefined;
  const id = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  if (files) {
    const names = new Set<string>();
    for (const file of files) {
      const name = basename(file);
      if (names.has(name)) throw new UserError(`${file}: two files named ${name} in one request`);
      // (A hidden name could stand for the staging folder's own note: include takes none, pool-path.ts.)
      if (!isPackageFileName(name)) throw new Error(`${file}: not a package file name (include refuses it before this)`);
      names.add(name);
    }
    // One after another on this thread: 1,000 took 2-3 ms, against 11-16 through the thread pool.
    for (const file of files) {
      try {
        accessSync(file, constants.R_OK);
      } catch (err) {
        throw new UserError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    }
    // The queue sees the names only: the files are staged beside the request under them.
    if (request.action === 'include') request = { ...request, files: [...names] };
  }
  // Run by root, everything under state/requests is reached from folders held open, never by
  // path: the queue's user owns them and could swap any of them for a link (storage/anchored-dir.ts).
  const root = AnchoredDir.openRoot(layout);
  let requests: AnchoredDir;
  try {
    requests = root.dir(relative(layout.root, layout.requests), { create: true });
  } finally {
    root.close();
  }
  try {
    // The queue links the files into the pool and removes the rest: run by root, the folder
    // and each file must be its user's (a link to another user's file is refused, protected_hardlinks).
    const staging = files ? requests.dir(`${id}.files`, { create: true }) : undefined;
    try {
      // Sent before the files are copied: the queue reads them as they come (storage/staging.ts).
      await writeJson(requests.at(`${id}.request.json`), request, { owner: requests.owner });
      if (staging) await stageFiles(staging, files!);
    } finally {
      staging?.close();
    }
    const answerName = `${id}.answer.json`;
    const deadline = Date.now() + o.timeoutS * 1000;
    // Woken by the folder's change (the queue renames the answer in), looked at every 250 ms
    // besides; the answer is read only through the folder held open.
    const watch = new FolderWatch(requests.anchor);
    let text: Buffer | undefined;
    try {
      for (;;) {
        watch.looking();
        if ((text = requests.readFile(answerName))) break;
        if (Date.now() > deadline) {
          throw new UserError(`the queue did not answer within ${o.timeoutS} s; is the archive up (archive status)? The request stays in ${layout.requests} and is carried out when the queue runs`);
        }
        await watch.next(250);
      }
    } finally {
      watch.close();
    }
    const answer = JSON.parse(text.toString('utf8')) as QueueAnswer;
    requests.remove(answerName);
    if (o.json) console.log(printableJson(answer));
    if (!answer.ok) throw new UserError(answer.message);
    if (!o.json) console.log(printableEntry(answer.message));
    return answer;
  } finally {
    requests.close();
  }
}

/** A file up to this size is copied with one read on this thread; a larger one is streamed, its bytes noted as they come. */
export const SMALL_FILE_BYTES = 1024 * 1024;
/** A batch of small files ends once it has copied this much: at most this and one file read between two beats. */
export const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Copies the request's files into its staging folder, in order, noting as it goes how many are
 * complete, and at least every 2 s that it is still at work. A file that cannot be copied stops
 * it, and the note says why: the queue then refuses the request with that reason, which the CLI
 * reports as the queue's answer (so does a queue that answered before every file was in).
 */
async function stageFiles(staging: AnchoredDir, files: string[]): Promise<void> {
  let count = 0;
  let noted = 0;
  // Bytes copied so far (of a large file, as it streams): the queue waits while they grow.
  const copied = { bytes: 0 };
  // One note at a time, in order: a late one must not take back a later count.
  let notes = Promise.resolve();
  const note = (error?: string) => (notes = notes.then(() => markStaged(staging.anchor, { count: (noted = count), bytes: copied.bytes, error }, staging.owner).catch(() => undefined)));
  const beat = setInterval(() => void note(), 2000);
  // Every small file read into this one buffer and written from it before the next is read.
  const read = { bytes: Buffer.allocUnsafe(64 * 1024) };
  try {
    // Copies, not links: the caller may rewrite its file in place later (dpkg-deb --build does),
    // and the pool must not change.
    // A batch's small files are copied on this thread, no beat between them: it ends at 32 files
    // or once it has copied BATCH_BYTES, so that a slow source (a network mount) still notes
    // progress within the queue's 30 s down to about 0.2 MiB/s (batches of 32 files of up to 8
    // MiB each needed 8.5 MiB/s).
    let batchFrom = 0;
    await inBatches(files, 32, async (file) => {
      await stageFile(file, staging.at(basename(file)), staging.owner, read, copied).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`${file}: cannot be copied (${err.code ?? (err instanceof NotRegularFile ? `not a regular file (${err.kind})` : err.message)})`);
      });
    }, async (done) => {
      count = done;
      batchFrom = copied.bytes;
      if (done - noted >= NOTED_EVERY || done === files.length) await note();
    }, () => copied.bytes - batchFrom >= BATCH_BYTES);
  } catch (err) {
    // (No beat after it: one queued after the error's note would take its reason back.)
    clearInterval(beat);
    await note((err as Error).message);
  } finally {
    clearInterval(beat);
  }
  await notes;
}

/**
 * One file copied into staging as a new file (never through a link planted there), its owner's,
 * readable by all (pool files are served). Small ones with a few system calls on this thread, one
 * after another: on ext4 that costs half the kernel time of copyFile from the thread pool, whose
 * parallel creates contend for the folder's lock. Large ones streamed.
 */
async function stageFile(file: string, target: string, owner: Owner, read: { bytes: Buffer }, copied: { bytes: number }): Promise<void> {
  // `read` is every copy's: nothing awaited from this read to the last write below, or another
  // copy would read its file into it meanwhile.
  const got = readSmallOrOpenSync(file, SMALL_FILE_BYTES, read);
  // Made here (O_EXCL, O_NOFOLLOW: a link the queue's user planted under that name is not
  // followed), then given away and filled through this one descriptor: never opened again by
  // name, which that user can meanwhile point at another file (a hard link to one of root's).
  const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } = constants;
  // A large file is streamed from the descriptor it was checked on (closed with its stream), as
  // long as it was then: one that keeps growing (a log, a FIFO's writer behind a mount) would hold
  // the queue, which waits for it in its one lane, for as long as it grows.
  const source = 'fd' in got ? createReadStream('', { fd: got.fd, start: 0, end: got.size - 1 }) : undefined;
  let fd: number;
  try {
    fd = openSync(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  } catch (err) {
    source?.destroy();
    throw err;
  }
  try {
    giveOpenFile(fd, owner);
    fchmodSync(fd, 0o644);
    if ('data' in got) {
      for (let at = 0; at < got.data.length; ) at += writeSync(fd, got.data, at);
      copied.bytes += got.data.length;
    } else {
      let bytes = 0;
      source!.on('data', (chunk: Buffer | string) => void ((bytes += chunk.length), (copied.bytes += chunk.length)));
      await pipeline(source!, createWriteStream('', { fd, autoClose: false }));
      if (bytes !== got.size) throw shrank(got.size, bytes);
    }
  } finally {
    source?.destroy();
    closeSync(fd);
  }
}
