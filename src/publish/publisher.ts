// Writes a new generation of dists/ beside the served one, signs it, then switches the
// dists link in one rename(2) (generations.ts), so apt sees the old repository or the new one,
// never a mix. An index whose text did not change is hard-linked from the previous generation
// instead of being compressed again. Every index is also under by-hash/SHA256/ (by-hash.ts), and
// the by-hash files of earlier generations stay for a grace period, so a client that read the
// old InRelease still finds what it names. A suite that did not change at all (its indices, its
// Release fields but the date) is carried over whole, signatures included, as reprepro exports
// only what changed: a publish signs the suites it changes, however many snapshots there are.
// Beside each changed Packages and Sources, INDEX.diff/ carries the patch from the previous text
// and those before it (debian/pdiff.ts), so apt updates a small change with a small download.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { link, mkdir, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SuitePlan } from '../core/publish-plan.js';
import { chunkBytes, componentReleaseText, indexChunks, releaseText, type IndexChunk, type IndexFile, type ReleaseInfo } from '../debian/indices.js';
import { diffIndexText, edScript, parseDiffIndex, type PatchEntry } from '../debian/pdiff.js';
import type { Signer } from '../process/gpg.js';
import { IndexCompressor } from './index-compressor.js';
import { writeByHash } from './by-hash.js';
import { currentGeneration, pruneGenerations, readManifest, switchLink, writeManifest, type Manifest } from './generations.js';
import type { Layout } from '../storage/layout.js';
import type { FailPoint } from '../core/fail-points.js';

export interface PublishOptions {
  label: string;
  now?: Date;
  /** How long by-hash files (and generations) of earlier publications stay. */
  byHashGraceMs?: number;
  /** Release files say Valid-Until this long after their Date (0: no Valid-Until). */
  validForMs?: number;
  /** Keeps compressed chunks from one publication to the next (a daemon passes the same one). */
  compressor?: IndexCompressor;
  /** Patches kept in each index's .diff/ series (0: none published). */
  pdiffs?: number;
  /** Called at the steps a test may crash the queue at (core/fail-points.ts). */
  failPoint?: (point: FailPoint) => void;
}

export interface PublishResult {
  generation: string;
  /** Index files written (compressed anew) and reused from the previous generation. */
  written: number;
  reused: number;
  /** Earlier generations removed (their pool files may now be unreferenced). */
  pruned: number;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

export async function publish(layout: Layout, plans: SuitePlan[], signer: Signer, options: PublishOptions): Promise<PublishResult> {
  try {
    return await publishGeneration(layout, plans, signer, options);
  } catch (err) {
    // A failed write says only "ENOSPC: no space left on device, write": name the place too.
    const e = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`publishing a new generation in ${layout.generations} failed: ${e.message}`, { cause: err }), { code: e.code });
  }
}

async function publishGeneration(layout: Layout, plans: SuitePlan[], signer: Signer, options: PublishOptions): Promise<PublishResult> {
  const now = options.now ?? new Date();
  const grace = options.byHashGraceMs ?? 3600_000;
  await mkdir(layout.generations, { recursive: true });
  const previous = await currentGeneration(layout);
  const prevDir = previous ? join(layout.generations, previous) : undefined;
  const empty: Manifest = { indexes: {}, byHash: {} };
  const prevManifest: Manifest = { ...empty, ...(prevDir ? await readManifest(prevDir) : undefined) };
  const generation = `${now.toISOString().replace(/[-:.]/g, '').replace('T', '-').replace('Z', '')}-${process.pid}`;
  const genDir = join(layout.generations, generation);
  const tmpDir = `${genDir}.tmp`;
  await rm(tmpDir, { recursive: true, force: true });
  const manifest: Manifest = { indexes: {}, byHash: {}, pool: [...new Set(plans.flatMap((p) => p.poolFiles))].sort(), facts: {}, suites: {}, chunks: {} };
  let written = 0;
  let reused = 0;
  const compressor = options.compressor ?? new IndexCompressor();
  /**
   * dists/SUITE linked whole from the previous generation when its identity is the same, none of
   * its by-hash files is past the grace period, and its Valid-Until (if any) is not half gone.
   */
  const carryOver = async (suiteRel: string, identity: string): Promise<boolean> => {
    const before = prevManifest.suites?.[suiteRel];
    if (!prevDir || before?.identity !== identity) return false;
    const age = (iso: string) => now.getTime() - new Date(iso).getTime();
    if (options.validForMs && age(before.signed) > options.validForMs / 2) return false;
    const mine = (record: Record<string, unknown>) => Object.keys(record).filter((k) => k.startsWith(`${suiteRel}/`));
    if (mine(prevManifest.byHash).some((k) => Object.values(prevManifest.byHash[k]).some((t) => age(t) > grace))) return false;
    try {
      await linkTree(join(prevDir, suiteRel), join(tmpDir, suiteRel));
    } catch {
      // The previous generation is incomplete or gone: written anew.
      await rm(join(tmpDir, suiteRel), { recursive: true, force: true });
      return false;
    }
    for (const k of mine(prevManifest.indexes)) manifest.indexes[k] = prevManifest.indexes[k];
    for (const k of mine(prevManifest.byHash)) manifest.byHash[k] = prevManifest.byHash[k];
    for (const k of mine(prevManifest.facts ?? {})) manifest.facts![k] = prevManifest.facts![k];
    manifest.suites![suiteRel] = before;
    return true;
  };

  for (const plan of plans) {
    const suiteRel = join('dists', plan.suite);
    const suiteDir = join(tmpDir, suiteRel);
    const info: ReleaseInfo = {
      origin: options.label,
      label: options.label,
      suite: plan.suite,
      codename: plan.codename,
      date: now,
      validUntil: options.validForMs ? new Date(now.getTime() + options.validForMs) : undefined,
      architectures: plan.architectures,
      components: plan.components.map((c) => c.name),
      description: `${options.label} ${plan.suite}, published by archive-in-a-box`,
    };
    // Each index's text as chunks, and its identity: the hashes of its chunks (the whole text is
    // hashed only when new).
    const indices = plan.components.flatMap(({ name: component, packages, sources }) => [
      ...plan.architectures.map((arch) => ({ component, arch, dir: `${component}/binary-${arch}`, name: 'Packages', stanzas: packages.get(arch) ?? [] })),
      { component, arch: 'source', dir: `${component}/source`, name: 'Sources', stanzas: sources },
    ]).map((index) => {
      const chunks = indexChunks(index.stanzas);
      const keys = IndexCompressor.keys(chunks);
      return { ...index, chunks, keys, hash: sha256(Buffer.from(keys.join('\n'))) };
    });
    // Each index's chunks (hash, bytes, lines): the next publication patches only the ones that changed.
    for (const i of indices) manifest.chunks![`${suiteRel}/${i.dir}/${i.name}`] = i.chunks.map((c, j) => [i.keys[j], c.size, c.lines]);
    const fields = { ...info, date: undefined, validUntil: undefined, validFor: options.validForMs ?? 0 };
    const identity = sha256(Buffer.from(JSON.stringify({ fields, indices: indices.map((i) => [i.dir, i.hash]) })));
    if (await carryOver(suiteRel, identity)) {
      for (const i of indices) compressor.keep(i.chunks, i.keys);
      reused += 3 * indices.length;
      continue;
    }
    manifest.suites![suiteRel] = { identity, signed: now.toISOString() };
    const files: IndexFile[] = [];
    const note = (f: IndexFile) => {
      files.push(f);
      manifest.facts![`${suiteRel}/${f.path}`] = { size: f.size, md5: f.md5, sha256: f.sha256 };
    };
    const record = (path: string, data: Buffer, hash = sha256(data)) => note({ path, size: data.length, md5: md5(data), sha256: hash });
    const writeSmall = async (path: string, data: Buffer) => {
      await mkdir(dirname(join(suiteDir, path)), { recursive: true });
      await writeFile(join(suiteDir, path), data);
      record(path, data);
    };
    /** An index and its .gz and .xz: linked from the previous generation when its text is the same. */
    const writeIndex = async ({ dir, name, chunks, keys, hash }: (typeof indices)[number]) => {
      const key = `${suiteRel}/${dir}/${name}`;
      manifest.indexes[key] = hash;
      const variants = [name, `${name}.gz`, `${name}.xz`];
      await mkdir(join(suiteDir, dir), { recursive: true });
      if (prevDir && prevManifest.indexes[key] === hash) {
        try {
          const linked: IndexFile[] = [];
          for (const v of variants) {
            await link(join(prevDir, suiteRel, dir, v), join(suiteDir, dir, v));
            const known = prevManifest.facts?.[`${suiteRel}/${dir}/${v}`];
            const content = known ? undefined : await readFile(join(suiteDir, dir, v));
            linked.push(known ? { path: `${dir}/${v}`, ...known } : { path: `${dir}/${v}`, size: content!.length, md5: md5(content!), sha256: sha256(content!) });
          }
          for (const f of linked) note(f);
          // Its patch series stays as it was: the Index still names this text as current.
          const diffIndex = `${dir}/${name}.diff/Index`;
          const knownIndex = prevManifest.facts?.[`${suiteRel}/${diffIndex}`];
          if (knownIndex && (options.pdiffs ?? 0) > 0) {
            await linkTree(join(prevDir, suiteRel, dir, `${name}.diff`), join(suiteDir, dir, `${name}.diff`), (n) => n !== 'by-hash');
            note({ path: diffIndex, ...knownIndex });
          }
          compressor.keep(chunks, keys);
          reused += variants.length;
          return;
        } catch {
          // The previous generation is incomplete or gone: write it anew.
          for (const v of variants) await rm(join(suiteDir, dir, v), { force: true });
          await rm(join(suiteDir, dir, `${name}.diff`), { recursive: true, force: true });
        }
      }
      const compressing = compressor.compress(chunks, keys);
      note({ path: `${dir}/${name}`, ...(await writeChunks(join(suiteDir, dir, name), chunks)) }); // while they run
      const { gz, xz } = await compressing;
      record(`${dir}/${name}.gz`, gz);
      record(`${dir}/${name}.xz`, xz);
      await Promise.all([gz, xz].map((content, i) => writeFile(join(suiteDir, dir, variants[i + 1]), content)));
      written += variants.length;
      if ((options.pdiffs ?? 0) > 0 && prevDir) await writePatches(dir, name, chunks, keys);
    };
    /**
     * INDEX.diff/: the patch from the previous generation's text to this one, after the kept
     * patches before it (linked from the previous generation), and the Index naming them.
     * Without a previous text, or with a change ed cannot carry, there is no series: apt then
     * fetches the whole index.
     */
    const writePatches = async (dir: string, name: string, chunks: IndexChunk[], keys: string[]) => {
      const beforeFacts = prevManifest.facts?.[`${suiteRel}/${dir}/${name}`];
      if (!beforeFacts) return;
      const change = await changedLines(join(prevDir!, suiteRel, dir, name), beforeFacts.size, prevManifest.chunks?.[`${suiteRel}/${dir}/${name}`], chunks, keys);
      const script = change && edScript(change.before, change.after, change.fromLine);
      if (!script) return;
      const diffDir = join(suiteDir, dir, `${name}.diff`);
      const prevDiffDir = join(prevDir!, suiteRel, dir, `${name}.diff`);
      await mkdir(diffDir, { recursive: true });
      const earlier = parseDiffIndex(await readFile(join(prevDiffDir, 'Index'), 'utf8').catch(() => ''));
      const keepEarlier = options.pdiffs! - 1;
      let series: PatchEntry[] = [];
      for (const p of keepEarlier > 0 ? earlier.slice(-keepEarlier) : []) {
        // A series is only useful unbroken: a patch that cannot be carried over ends the older ones.
        if (await link(join(prevDiffDir, `${p.name}.gz`), join(diffDir, `${p.name}.gz`)).then(() => true, () => false)) series.push(p);
        else series = [];
      }
      const download = gzipSync(script, { level: 9 });
      await writeFile(join(diffDir, `${generation}.gz`), download);
      series.push({
        name: generation,
        from: { sha256: beforeFacts.sha256, size: beforeFacts.size },
        patch: { sha256: sha256(script), size: script.length },
        download: { sha256: sha256(download), size: download.length },
      });
      const current = files.find((f) => f.path === `${dir}/${name}`)!;
      await writeSmall(`${dir}/${name}.diff/Index`, Buffer.from(diffIndexText(current, series)));
    };
    for (const index of indices) {
      await writeIndex(index);
      await writeSmall(`${index.dir}/Release`, Buffer.from(componentReleaseText(info, index.component, index.arch)));
    }
    await writeByHash(suiteDir, suiteRel, prevDir, prevManifest, manifest, files, now, grace);
    const release = join(suiteDir, 'Release');
    await writeFile(release, releaseText(info, files));
    await signer.signRelease(release, join(suiteDir, 'InRelease'), join(suiteDir, 'Release.gpg'));
  }
  await writeManifest(tmpDir, manifest);
  await rename(tmpDir, genDir);
  options.failPoint?.('publish-before-switch');
  await switchLink(layout.dists, `generations/${generation}/dists`);
  options.failPoint?.('publish-after-switch');
  compressor.sweep();
  const pruned = await pruneGenerations(layout, { keep: generation, graceMs: grace, now });
  return { generation, written, reused, pruned };
}

/** Writes an index's text chunk by chunk (never joined whole) and returns its size and hashes. */
async function writeChunks(path: string, chunks: IndexChunk[]): Promise<Omit<IndexFile, 'path'>> {
  const sha = createHash('sha256');
  const md = createHash('md5');
  let size = 0;
  const handle = await open(path, 'w', 0o644);
  try {
    for (const c of chunks) {
      const bytes = chunkBytes(c);
      sha.update(bytes);
      md.update(bytes);
      await handle.writeFile(bytes);
      size += bytes.length;
    }
  } finally {
    await handle.close();
  }
  return { size, md5: md.digest('hex'), sha256: sha.digest('hex') };
}

/**
 * The lines an index changed since the previous publication: the chunks both texts begin and
 * end with are left out, so a patch to a 100 MB index reads and compares one chunk, not the
 * whole text. Without the previous chunks (a manifest from before they were noted) the whole
 * texts are compared. Undefined when the previous text cannot be read.
 */
async function changedLines(
  beforePath: string,
  beforeSize: number,
  beforeChunks: [string, number, number][] | undefined,
  chunks: IndexChunk[],
  keys: string[],
): Promise<{ before: Buffer; after: Buffer; fromLine: number } | undefined> {
  let head = 0;
  let tail = 0;
  let headBytes = 0;
  let headLines = 0;
  let tailBytes = 0;
  if (beforeChunks) {
    const same = (i: number, j: number) => beforeChunks[i][0] === keys[j];
    while (head < beforeChunks.length && head < keys.length && same(head, head)) {
      headBytes += beforeChunks[head][1];
      headLines += beforeChunks[head][2];
      head++;
    }
    while (tail < beforeChunks.length - head && tail < keys.length - head && same(beforeChunks.length - 1 - tail, keys.length - 1 - tail)) {
      tailBytes += beforeChunks[beforeChunks.length - 1 - tail][1];
      tail++;
    }
  }
  const before = Buffer.alloc(beforeSize - headBytes - tailBytes);
  try {
    const handle = await open(beforePath, 'r');
    try {
      const { bytesRead } = await handle.read(before, 0, before.length, headBytes);
      if (bytesRead !== before.length) return undefined;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  return { before, after: Buffer.concat(chunks.slice(head, chunks.length - tail).map(chunkBytes)), fromLine: headLines };
}

/** A tree of hard links to the files of another (one file system), of the names `take` keeps. */
async function linkTree(from: string, to: string, take: (name: string) => boolean = () => true): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (!take(entry.name)) continue;
    if (entry.isDirectory()) await linkTree(join(from, entry.name), join(to, entry.name));
    else await link(join(from, entry.name), join(to, entry.name));
  }
}

