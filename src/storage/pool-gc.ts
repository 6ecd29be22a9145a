// Removes pool files nothing keeps: no suite or snapshot publishes them, no generation still on
// disk names them, and they belong to no retained version (core/retention.ts).
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Layout } from './layout.js';

export async function collectPool(layout: Layout, keep: Set<string>): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string): Promise<boolean> => {
    let empty = true;
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (await walk(path)) await rmdir(path).catch(() => undefined);
        else empty = false;
        continue;
      }
      const rel = relative(layout.public, path);
      if (keep.has(rel)) empty = false;
      else {
        await rm(path, { force: true });
        removed.push(rel);
      }
    }
    return empty;
  };
  await walk(layout.pool);
  return removed;
}
