// The files a request brings (`archive include`) are copied by the CLI into ID.files/ while the
// queue already reads them: the request is sent first, and the CLI notes in ID.files/.staged how
// many of its files, in the request's order, are complete. The queue waits for each part it
// reads, so copying and checking overlap; a CLI that cannot copy a file, or stops, ends the wait.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './json-files.js';

const MARK = '.staged';

/** The CLI notes its count after every this many files (and after the last). */
export const NOTED_EVERY = 250;

export interface Staged {
  /** The first `count` files of the request are in place. */
  count: number;
  /** The CLI gave up: why (the files after `count` will not come). */
  error?: string;
}

/** What the note holds: a time too, so that a CLI still copying one large file shows it is at work. */
interface Note extends Staged {
  at: number;
}

/** CLI side: the first `count` files are complete (or staging stopped, with the reason). */
export async function markStaged(dir: string, staged: Staged): Promise<void> {
  // Renamed into place, so the queue never reads half a note, from a file made new under a
  // random name (a link the queue's user plants in its folder is never followed); not synced:
  // it only matters while the CLI that wrote it runs.
  await writeFileAtomic(join(dir, MARK), JSON.stringify({ ...staged, at: Date.now() } satisfies Note), { sync: false });
}

/**
 * Queue side: returns once the first `count` files of the request staged in `dir` are complete,
 * with how many are (as many or more).
 * Throws when the CLI stopped staging, or when its note did not change for `idleMs` (it notes
 * every 2 s while it copies, so it was stopped).
 */
export async function whenStaged(dir: string, count: number, idleMs = 30_000): Promise<number> {
  let seen: string | undefined;
  let since = Date.now();
  for (;;) {
    const text = await readFile(join(dir, MARK), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    const staged: Staged = text === undefined ? { count: 0 } : (JSON.parse(text) as Note);
    if (staged.count >= count) return staged.count;
    if (staged.error) throw new Error(`the CLI stopped copying files into ${dir} after ${staged.count}: ${staged.error}`);
    if (text !== seen) [seen, since] = [text, Date.now()];
    if (Date.now() - since > idleMs) {
      throw new Error(`the CLI stopped copying files into ${dir} (${staged.count} of ${count} there, nothing new for ${Math.round(idleMs / 1000)} s); was it interrupted?`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
