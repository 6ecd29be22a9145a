// The generations of dists/: each publication is a folder under state/generations (its
// indices, signatures and a manifest of what it holds), and dists is a link to the served one,
// switched in one rename(2). Which is served, when its suites were signed, which pool files the
// generations still on disk name, and pruning the old ones.
import { mkdir, readFile, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexFile } from '../debian/indices.js';
import { readJson, writeFileAtomic } from '../storage/json-files.js';
import type { Layout } from '../storage/layout.js';
import { readStateFile } from '../storage/open-regular-file.js';
import type { ChunkTable } from './index-text.js';
import { PoolListLines } from './pool-list-lines.js';

/** Generations always kept, whatever their age, besides those within the grace period. */
export const KEEP_GENERATIONS = 3;

/** What a generation holds, for the next one. */
export interface Manifest {
  /** Each index's text hash, by path. */
  indexes: Record<string, string>;
  /** For each index directory, the by-hash names it serves and when each was last current. */
  byHash: Record<string, Record<string, string>>;
  /** Every pool file the generation's indices name, in manifests written before pool.list was. */
  pool?: string[];
  /** Size and hashes of each index file, by path: a reused index is not read and hashed again. */
  facts?: Record<string, Omit<IndexFile, 'path'>>;
  /** Each suite's identity (its Release fields but the dates, and its indices) and when it was signed, by dists/SUITE. */
  suites?: Record<string, { identity: string; signed: string }>;
  /** Each Packages and Sources file's chunks, by path (debian/indices.ts; index-text.ts's ChunkTable). */
  chunks?: Record<string, ChunkTable>;
  /** The generation whose file under state/index-texts holds each Packages and Sources text, by path (index-texts.ts). */
  texts?: Record<string, string>;
}

/** A generation's manifest (undefined: it has none). */
export function readManifest(dir: string): Promise<Manifest | undefined> {
  return readJson<Manifest>(join(dir, 'manifest.json'));
}

/**
 * Flushed: the next publication and the pool's garbage collection read it, and a manifest torn
 * by a power cut would stop both (storage/json-files.ts readJson says so rather than guess).
 */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

/**
 * Every pool file the generation's indices name (kept while the generation is), one per line, in
 * a file of its own: the next publication reads the manifest, and 100,000 paths in it would make
 * it 5 MB. Pool paths are made of package names, versions and uploaded file names, none of which
 * can hold a line break (debian/version.ts, SAFE_FILE_NAME). Flushed as the manifest is: the
 * pool's garbage collection trusts it. `lines` holds the previous list's bytes (a daemon keeps one).
 */
export async function writePoolList(dir: string, files: string[], lines = new PoolListLines()): Promise<void> {
  await writeFileAtomic(join(dir, POOL_LIST), lines.parts(files));
}

const POOL_LIST = 'pool.list';

/**
 * The paths of `among` that a generation names: in its pool.list, or the list in its manifest
 * (written before pool.list was). A few paths (a collection after a change) are looked for in
 * the list's bytes, and no string is made of its 100,000 lines; many, among its lines.
 */
async function namedBy(dir: string, among: Set<string>): Promise<string[]> {
  let list: Buffer;
  try {
    list = await readFile(join(dir, POOL_LIST));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${join(dir, POOL_LIST)}: ${(err as Error).message}`);
    return ((await readManifest(dir))?.pool ?? []).filter((f) => among.has(f));
  }
  if (among.size > FEW_PATHS) return list.toString('utf8').split('\n').filter((line) => among.has(line));
  return [...among].filter((path) => isLine(list, path));
}

/** Paths looked for one by one in a pool list's bytes, up to this many. */
const FEW_PATHS = 64;

/** Whether `path` is a whole line of `list` (lines end in a newline; the last may not). */
function isLine(list: Buffer, path: string): boolean {
  const line = Buffer.from(`\n${path}\n`);
  const first = line.subarray(1);
  const last = line.subarray(0, line.length - 1);
  return (
    list.subarray(0, first.length).equals(first) ||
    list.indexOf(line) >= 0 ||
    list.subarray(Math.max(0, list.length - last.length)).equals(last) ||
    list.equals(line.subarray(1, line.length - 1))
  );
}

/** Points `path` (a symbolic link) at `target` atomically: a new link, renamed over the old. */
export async function switchLink(path: string, target: string): Promise<void> {
  const tmp = `${path}.new-${process.pid}`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, path);
}

export async function currentGeneration(layout: Layout): Promise<string | undefined> {
  try {
    return (await readlink(layout.dists)).split('/')[1];
  } catch {
    return undefined;
  }
}

/** A date field (Date, Valid-Until) of the served Release of a suite, as written (undefined: none, or no Release). */
export async function servedReleaseField(layout: Layout, suite: string, field: 'Date' | 'Valid-Until'): Promise<string | undefined> {
  const text = await readStateFile(join(layout.dists, suite, 'Release')).then((b) => b.toString('utf8'), () => '');
  return text.match(new RegExp(`^${field}: (.+)$`, 'm'))?.[1];
}

/** A Release's date as a Date: an invalid one (getTime() NaN) when it is not a date. */
export const releaseDate = (text: string) => new Date(text.replace(' UTC', ' GMT'));

/** A date field (Date, Valid-Until) of the served Release of a suite. */
export async function servedReleaseDate(layout: Layout, suite: string, field: 'Date' | 'Valid-Until' = 'Date'): Promise<Date | undefined> {
  const date = await servedReleaseField(layout, suite, field);
  return date ? releaseDate(date) : undefined;
}

/** The oldest signing time among the suites of the served generation (undefined: none known). */
export async function oldestSignature(layout: Layout): Promise<Date | undefined> {
  const current = await currentGeneration(layout);
  const manifest = current ? await readManifest(join(layout.generations, current)) : undefined;
  const dates = Object.values(manifest?.suites ?? {}).map((s) => new Date(s.signed).getTime());
  return dates.length > 0 ? new Date(Math.min(...dates)) : undefined;
}

/**
 * Removes unfinished generations (a crash mid-publish), and generations past the grace period
 * beyond the newest few: counted from when each stopped being served, when the next one was made
 * (a generation served for hours is kept for the grace period after that, not dropped at once:
 * the pool's collection keeps only what a generation on disk names). The served one always stays.
 */
export async function pruneGenerations(layout: Layout, o: { keep?: string; graceMs?: number; now?: Date } = {}): Promise<number> {
  const names = await generationNames(layout);
  const current = o.keep ?? (await currentGeneration(layout));
  const now = (o.now ?? new Date()).getTime();
  const complete = names.filter((n) => !n.endsWith('.tmp'));
  const candidates = complete.slice(0, Math.max(0, complete.length - KEEP_GENERATIONS)).filter((n) => n !== current);
  const doomed = [...names.filter((n) => n.endsWith('.tmp') && n !== `${current}.tmp`)];
  for (const n of candidates) {
    const next = complete[complete.indexOf(n) + 1];
    const { mtimeMs } = await stat(join(layout.generations, next));
    if (now - mtimeMs > (o.graceMs ?? 3600_000)) doomed.push(n);
  }
  for (const n of doomed) await rm(join(layout.generations, n), { recursive: true, force: true });
  return doomed.length;
}

/** The files of `among` that a generation still on disk names (a client may be reading it): the lists are read one at a time, and only those files kept. */
export async function poolFilesOfGenerations(layout: Layout, among: Set<string>): Promise<Set<string>> {
  const files = new Set<string>();
  for (const name of await generationNames(layout)) {
    if (name.endsWith('.tmp')) continue;
    for (const f of await namedBy(join(layout.generations, name), among)) files.add(f);
  }
  return files;
}

/**
 * The generation folders (finished, and .tmp ones being written), sorted: only folders, so a file
 * someone left there (or one that filled the disk) is neither read as a generation nor removed.
 */
async function generationNames(layout: Layout): Promise<string[]> {
  const entries = await readdir(layout.generations, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}
