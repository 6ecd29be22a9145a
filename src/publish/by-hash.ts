// by-hash/SHA256/HASH beside every index (Acquire-By-Hash): a client that read an InRelease
// finds what it names even after the next publication, for a grace period.
import { link, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { IndexFile } from '../debian/indices.js';
import type { Manifest } from './generations.js';

/**
 * by-hash/SHA256/HASH beside every index: this generation's files, plus the previous
 * generation's by-hash files that stopped being current less than the grace period ago.
 */
export async function writeByHash(
  suiteDir: string,
  suiteRel: string,
  prevDir: string | undefined,
  prev: Manifest,
  manifest: Manifest,
  files: IndexFile[],
  now: Date,
  graceMs: number,
): Promise<void> {
  const linkOnce = (from: string, to: string) =>
    link(from, to).catch((err) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    });
  for (const f of files) {
    if (f.path.endsWith('/Release')) continue;
    const dir = dirname(f.path);
    const key = `${suiteRel}/${dir}`;
    manifest.byHash[key] ??= {};
    manifest.byHash[key][f.sha256] = now.toISOString();
    const target = join(suiteDir, dir, 'by-hash', 'SHA256', f.sha256);
    await mkdir(dirname(target), { recursive: true });
    await linkOnce(join(suiteDir, f.path), target);
  }
  if (!prevDir) return;
  // What the previous generation served as current (its Release's files) stops being current
  // now, whenever it was written: its stamp is its publication's, kept while the suite was carried
  // over unchanged, and its grace period starts only now.
  const wasCurrent = new Set(Object.entries(prev.facts ?? {}).filter(([path]) => path.startsWith(`${suiteRel}/`)).map(([path, f]) => `${dirname(path)} ${f.sha256}`));
  // A folder this generation has no index in (no patches this time, an architecture taken out)
  // keeps its by-hash files too.
  for (const [key, hashes] of Object.entries(prev.byHash)) {
    if (!key.startsWith(`${suiteRel}/`)) continue;
    for (const [hash, stamp] of Object.entries(hashes)) {
      const lastCurrent = wasCurrent.has(`${key} ${hash}`) ? now.toISOString() : stamp;
      if (manifest.byHash[key]?.[hash] || now.getTime() - new Date(lastCurrent).getTime() > graceMs) continue;
      const dir = key.slice(suiteRel.length + 1);
      try {
        await mkdir(join(suiteDir, dir, 'by-hash', 'SHA256'), { recursive: true });
        await linkOnce(join(prevDir, key, 'by-hash', 'SHA256', hash), join(suiteDir, dir, 'by-hash', 'SHA256', hash));
        (manifest.byHash[key] ??= {})[hash] = lastCurrent;
      } catch {
        // Gone with a pruned generation: nothing to keep.
      }
    }
  }
}

