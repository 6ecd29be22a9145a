// Removes pool files nothing keeps: no suite or snapshot publishes them, no generation still on
// disk names them, and they belong to no retained version (core/retention.ts).
import { readdirSync, rmSync, rmdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { Layout } from './layout.js';

/**
 * The pool is read with synchronous calls, in slices of about 20 ms between which the event loop
 * runs: a pool of 100,000 source directories is then read in about 2 s, against 7 s or more with
 * one awaited call per directory. The queue calls this in its lane, so nothing else writes the
 * pool meanwhile.
 *
 * Removes the pool files that are neither in `held` (what the suites publish and pending work
 * needs: strings the queue holds anyway) nor in the set `alsoKept` gives for the files outside
 * `held`, and the folders that leaves empty (or that were). `alsoKept` (the files of retained
 * versions and of generations still on disk, which take reading the pool history and every
 * generation's list) is asked only when some file is outside `held`: at 100,000 packages,
 * reading them for a pool that had nothing to remove held 60-90 MiB of node's heap for seconds,
 * at each start and every ten minutes.
 */
export async function collectPool(layout: Layout, held: Set<string>, alsoKept: (outside: string[]) => Promise<Set<string>> = async () => new Set()): Promise<string[]> {
  const pause = pauses();
  const outside: string[] = [];
  const emptyFolders: string[] = [];
  /** Whether the folder holds no file, however deep. */
  const walk = async (dir: string): Promise<boolean> => {
    await pause();
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    let empty = true;
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (!entry.isDirectory()) {
        empty = false;
        const file = relative(layout.public, path);
        if (!held.has(file)) outside.push(file);
      } else if (await walk(path)) emptyFolders.push(path);
      else empty = false;
    }
    return empty;
  };
  await walk(layout.pool);
  const kept = outside.length > 0 ? await alsoKept(outside) : new Set<string>();
  const removed = outside.filter((f) => !kept.has(f));
  // Then the folders left empty: those found so, and those the files removed were in, deepest first.
  const folders = new Set(emptyFolders);
  for (const file of removed) {
    await pause();
    rmSync(join(layout.public, file), { force: true });
    for (let dir = dirname(join(layout.public, file)); dir.startsWith(`${layout.pool}${sep}`); dir = dirname(dir)) folders.add(dir);
  }
  for (const dir of [...folders].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty, or gone: left as it is.
    }
  }
  return removed;
}

/** A function that lets the event loop run when the last time it did is 20 ms ago. */
function pauses(): () => Promise<void> {
  let ran = Date.now();
  return async () => {
    if (Date.now() - ran > 20) {
      await new Promise((r) => setImmediate(r));
      ran = Date.now();
    }
  };
}
