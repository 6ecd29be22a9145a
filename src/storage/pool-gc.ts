// Removes pool files nothing keeps: no suite or snapshot publishes them, no generation still on
// disk names them, and they belong to no retained version (core/retention.ts).
import { readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Layout } from './layout.js';

/**
 * The pool is read with synchronous calls, in slices of about 20 ms between which the event loop
 * runs: a pool of 100,000 source directories is then read in about 2 s, against 7 s or more with
 * one awaited call per directory. The queue calls this in its lane, so nothing else writes the
 * pool meanwhile.
 *
 * Removes the pool files that are neither in `held` (what the suites publish and pending work
 * needs: strings the queue holds anyway) nor in the set `alsoKept` gives for the files outside
 * `held`, and the folders that leaves empty. `alsoKept` (the files of retained versions and of
 * generations still on disk, which take reading the pool history and every generation's list)
 * is asked only when some file is outside `held`: at 100,000 packages, reading them for a pool
 * that had nothing to remove held 60-90 MiB of node's heap for seconds every ten minutes.
 */
export async function collectPool(layout: Layout, held: Set<string>, alsoKept: (outside: string[]) => Promise<Set<string>> = async () => new Set()): Promise<string[]> {
  const outside: string[] = [];
  await walkPool(layout, { removeEmpty: false }, (file) => {
    if (!held.has(file)) outside.push(file);
    return true;
  });
  if (outside.length === 0) return [];
  const kept = await alsoKept(outside);
  const removed: string[] = [];
  await walkPool(layout, { removeEmpty: true }, (file) => {
    if (held.has(file) || kept.has(file)) return true;
    rmSync(join(layout.public, file), { force: true });
    removed.push(file);
    return false;
  });
  return removed;
}

/**
 * Every file under pool/, by its path from public/, given to `keep`, which says whether it stays
 * (and removes it if not); with `removeEmpty`, a folder left with nothing that stays (or found
 * empty) is removed.
 */
async function walkPool(layout: Layout, o: { removeEmpty: boolean }, keep: (file: string) => boolean): Promise<void> {
  let ran = Date.now();
  const walk = async (dir: string): Promise<boolean> => {
    if (Date.now() - ran > 20) {
      await new Promise((r) => setImmediate(r));
      ran = Date.now();
    }
    let empty = true;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if ((await walk(path)) && o.removeEmpty) {
          try {
            rmdirSync(path);
          } catch {
            // Not empty after all, or gone: left as it is.
          }
        } else empty = false;
        continue;
      }
      if (keep(relative(layout.public, path))) empty = false;
    }
    return empty;
  };
  await walk(layout.pool);
}
