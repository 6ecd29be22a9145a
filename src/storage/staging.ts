// The files a request brings (`archive include`) are copied by the CLI into ID.files/ while the
// queue already reads them: the request is sent first, and the CLI notes in ID.files/.staged how
// many of its files, in the request's order, are complete, and how many bytes it copied. The
// queue waits for each part it reads, so copying and checking overlap; a CLI that cannot copy a
// file, stops, or copies nothing for a while (a read that hangs) ends the wait.
import { join } from 'node:path';
import { readIfSmallSync } from './files.js';
import { writeFileAtomic } from './json-files.js';
import type { Owner } from './ownership.js';

const MARK = '.staged';

/** The CLI notes its count after every this many files (and after the last). */
export const NOTED_EVERY = 250;

export interface Staged {
  /** The first `count` files of the request are in place. */
  count: number;
  /** Bytes copied so far, of those files and the one being copied: a CLI copying one large file shows that it gets on. */
  bytes: number;
  /** The CLI gave up: why (the files after `count` will not come). */
  error?: string;
}

/** A note is a few dozen bytes, with a reason a few hundred; one longer is none. */
const NOTE_BYTES = 64 * 1024;

/**
 * CLI side: the first `count` files are complete (or staging stopped, with the reason). Given to
 * `owner` (the queue's user, when root writes it), as everything root leaves in its folders.
 */
export async function markStaged(dir: string, staged: Staged, owner?: Owner): Promise<void> {
  // Renamed into place, so the queue never reads half a note, from a file made new under a
  // random name (a link the queue's user plants in its folder is never followed); not synced:
  // it only matters while the CLI that wrote it runs.
  await writeFileAtomic(join(dir, MARK), JSON.stringify(staged), { sync: false, owner });
}

/**
 * The note in `dir`, or undefined when there is none yet; a FIFO, link or anything else there is
 * refused, unread. Opened at once (O_NOFOLLOW, O_NONBLOCK) and looked at on its descriptor: the
 * CLI renames a new note over it while this reads, which a look before the open would take for a
 * swap.
 */
function readNote(dir: string): Staged | undefined {
  const path = join(dir, MARK);
  let bytes: Buffer | undefined;
  try {
    bytes = readIfSmallSync(path, NOTE_BYTES, undefined, { follow: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const text = bytes?.toString('utf8');
  let note: Partial<Staged> | undefined;
  try {
    note = text === undefined ? undefined : (JSON.parse(text) as Partial<Staged>);
  } catch {
    note = undefined;
  }
  const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!note || !count(note.count) || !count(note.bytes) || (note.error !== undefined && typeof note.error !== 'string')) {
    throw new Error(`${path}: not a staging note (expected {"count": N, "bytes": B} of at most ${NOTE_BYTES} bytes)`);
  }
  return { count: note.count, bytes: note.bytes, error: note.error };
}

/**
 * Queue side: returns once the first `count` files of the request staged in `dir` are complete,
 * with how many are (as many or more).
 * Throws when the CLI stopped staging, or when its note said no more files or bytes for `idleMs`
 * (it notes every 2 s while it copies): a CLI stopped, or one alive whose read hangs (a file on a
 * mount that stopped answering), would otherwise hold the queue, which waits in its serial lane.
 */
export async function whenStaged(dir: string, count: number, idleMs = 30_000): Promise<number> {
  let seen: string | undefined;
  let since = Date.now();
  for (;;) {
    const staged: Staged = readNote(dir) ?? { count: 0, bytes: 0 };
    if (staged.count >= count) return staged.count;
    if (staged.error) throw new Error(`the CLI stopped copying files into ${dir} after ${staged.count}: ${staged.error}`);
    const progress = `${staged.count}/${staged.bytes}`;
    if (progress !== seen) [seen, since] = [progress, Date.now()];
    if (Date.now() - since > idleMs) {
      throw new Error(`the CLI stopped copying files into ${dir} (${staged.count} of ${count} there, no byte copied for ${Math.round(idleMs / 1000)} s); was it interrupted, or is a file's read hanging?`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
