// Writes a new generation of dists/ beside the served one, signs it, then switches the
// dists link in one rename(2) (generations.ts), so apt sees the old repository or the new one,
// never a mix. An index whose text did not change is hard-linked from the previous generation
// instead of being compressed again; one that changed is written from its chunks, the unchanged
// ones copied from the previous text (index-text.ts), which is kept outside the generation
// (index-texts.ts). A small index's text is published too; a large one's only as .gz and .xz,
// as dak publishes Debian's: Release lists it all the same, by its SHA256 (MD5Sum lists the files
// the generation holds). Every index is also under by-hash/SHA256/ (by-hash.ts), and the by-hash
// files of earlier generations stay for a grace period, so a client that read the old InRelease
// still finds what it names. A suite that did not change at all (its indices, its Release fields
// but the date) is carried over whole, signatures included, as reprepro exports only what
// changed: a publish signs the suites it changes, however many snapshots there are.
// Beside each changed Packages and Sources, INDEX.diff/ carries the patch from the previous text
// and those before it (debian/pdiff.ts), so apt updates a small change with a small download.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { copyFile, link, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SuitePlan } from '../core/publish-plan.js';
import { chunkLayout, componentReleaseText, releaseText, type IndexFile, type ReleaseInfo } from '../debian/indices.js';
import { diffIndexText, edScriptOfParts, parseDiffIndex, type PatchEntry } from '../debian/pdiff.js';
import type { Signer } from '../process/gpg.js';
import { levelFor } from './index-compressor.js';
import { changedRuns, readRange, writeIndexText, type ChangedRun, type ChunkTable, type TextBuffers, TextHashes } from './index-text.js';
import { writeByHash } from './by-hash.js';
import { IndexTexts } from './index-texts.js';
import type { PoolListLines } from './pool-list-lines.js';
import { currentGeneration, pruneGenerations, readManifest, switchLink, writeManifest, writePoolList, type Manifest } from './generations.js';
import type { Layout } from '../storage/layout.js';
import type { FailPoint } from '../core/fail-points.js';

export interface PublishOptions {
  label: string;
  now?: Date;
  /** How long by-hash files (and generations) of earlier publications stay. */
  byHashGraceMs?: number;
  /** Release files say Valid-Until this long after their Date (0: no Valid-Until). */
  validForMs?: number;
  /** Keeps the hashes' states of the index files (texts, .gz, .xz) from one publication to the next (a daemon passes the same one). */
  textHashes?: TextHashes;
  /** The buffers index texts go through, used again from one publication to the next (likewise). */
  textBuffers?: TextBuffers;
  /** The bytes of the previous pool.list, for the lines of this one (likewise). */
  poolLines?: PoolListLines;
  /** Patches kept in each index's .diff/ series (0: none published). */
  pdiffs?: number;
  /** The largest text of an index published uncompressed too (PLAIN_INDEX_BYTES unless a test asks). */
  plainIndexBytes?: number;
  /** Called at the steps a test may crash the queue at (core/fail-points.ts). */
  failPoint?: (point: FailPoint) => void;
}

export interface PublishResult {
  generation: string;
  /** Index files written and reused (linked) from the previous generation. */
  written: number;
  reused: number;
  /** Chunks of the indices written that were compressed (the others' pieces were copied from the previous generation). */
  compressed: number;
  /** Earlier generations removed (their pool files may now be unreferenced). */
  pruned: number;
  /** By the path of each Packages and Sources, the generation whose text under state/index-texts it has. */
  texts: Record<string, string>;
}

/** Without the previous chunks noted (an older manifest), a patch is made from the whole texts only up to this size. */
const WHOLE_TEXT_PATCH_BYTES = 4 * 1024 * 1024;

/**
 * The largest text of an index published uncompressed beside its .gz and .xz (about 1,000
 * packages), for whoever reads it without apt; apt fetches the .xz of any size.
 */
export const PLAIN_INDEX_BYTES = 1024 * 1024;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

export async function publish<T>(layout: Layout, plans: SuitePlan<T>[], signer: Signer, options: PublishOptions): Promise<PublishResult> {
  try {
    return await publishGeneration(layout, plans, signer, options);
  } catch (err) {
    // A failed write says only "ENOSPC: no space left on device, write": name the place too.
    const e = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`publishing a new generation in ${layout.generations} failed: ${e.message}`, { cause: err }), { code: e.code });
  }
}

async function publishGeneration<T>(layout: Layout, plans: SuitePlan<T>[], signer: Signer, options: PublishOptions): Promise<PublishResult> {
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
  const manifest: Manifest = { indexes: {}, byHash: {}, facts: {}, suites: {}, chunks: {}, texts: {} };
  const texts = new IndexTexts(layout.indexTexts);
  /** An index's text of this size is published uncompressed too. */
  const plain = (size: number) => size <= (options.plainIndexBytes ?? PLAIN_INDEX_BYTES);
  /** Where the previous generation's text of an index is: kept outside it, or in it (a generation written before texts were kept). */
  const previousText = (key: string) => {
    const from = prevManifest.texts?.[key];
    return from ? texts.path(key, from) : prevDir && join(prevDir, key);
  };
  let written = 0;
  let reused = 0;
  let compressed = 0;
  const hashes = options.textHashes ?? new TextHashes();
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
    for (const k of mine(prevManifest.chunks ?? {})) manifest.chunks![k] = prevManifest.chunks![k];
    for (const k of mine(prevManifest.texts ?? {})) manifest.texts![k] = prevManifest.texts![k];
    manifest.suites![suiteRel] = before;
    return true;
  };

  // Every pool file the indices name, written and flushed while the indices are made: one wait
  // for the disk at the end, not two. A file two suites name is listed once (no set is made of
  // 100,000 paths for one suite).
  const lists = plans.map((p) => p.poolFiles).filter((files) => files.length > 0);
  const writeSuites = async () => {
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
      // Each index's chunks, and its identity: the keys of its chunks, made from its members
      // without their text (debian/indices.ts).
      const indices = plan.components.flatMap(({ name: component, packages, sources }) => [
        ...plan.architectures.map((arch) => ({ component, arch, dir: `${component}/binary-${arch}`, name: 'Packages', members: packages.get(arch) ?? [] })),
        { component, arch: 'source', dir: `${component}/source`, name: 'Sources', members: sources },
      ]).map((index) => {
        const chunks = chunkLayout(index.members, plan.stanzas);
        const keys = chunks.map((c) => c.key);
        return { ...index, chunks, keys, level: levelFor(index.members.length), hash: sha256(Buffer.from(keys.join('\n'))) };
      });
      const fields = { ...info, date: undefined, validUntil: undefined, validFor: options.validForMs ?? 0 };
      const identity = sha256(Buffer.from(JSON.stringify({ fields, indices: indices.map((i) => [i.dir, i.hash]) })));
      if (await carryOver(suiteRel, identity)) {
        reused += 3 * indices.length;
        continue;
      }
      manifest.suites![suiteRel] = { identity, signed: now.toISOString() };
      const files: IndexFile[] = [];
      /** Files Release lists that the generation does not hold: the text of a large index. */
      const unpublished = new Set<string>();
      const note = (f: IndexFile) => {
        // One the generation does not hold is listed by its SHA256 alone, what apt checks an
        // unpacked text by: its md5 would only be made to be printed.
        const listed = unpublished.has(f.path) ? { ...f, md5: undefined } : f;
        files.push(listed);
        manifest.facts![`${suiteRel}/${f.path}`] = { size: f.size, md5: listed.md5, sha256: f.sha256 };
      };
      const writeSmall = async (path: string, data: Buffer) => {
        await mkdir(dirname(join(suiteDir, path)), { recursive: true });
        await writeFile(join(suiteDir, path), data);
        note({ path, size: data.length, md5: md5(data), sha256: sha256(data) });
      };
      /**
       * An index (when small) and its .gz and .xz: linked from the previous generation when its
       * text is the same.
       */
      const writeIndex = async ({ dir, name, chunks, keys, level, hash }: (typeof indices)[number]) => {
        const key = `${suiteRel}/${dir}/${name}`;
        manifest.indexes[key] = hash;
        const variants = [name, `${name}.gz`, `${name}.xz`];
        await mkdir(join(suiteDir, dir), { recursive: true });
        if (prevDir && prevManifest.indexes[key] === hash) {
          try {
            const linked: IndexFile[] = [];
            const kept = prevManifest.texts?.[key];
            if (kept) manifest.texts![key] = kept;
            for (const v of variants) {
              const known = prevManifest.facts?.[`${suiteRel}/${dir}/${v}`];
              if (v === name && kept && known && !plain(known.size)) {
                linked.push({ path: `${dir}/${v}`, ...known });
                unpublished.add(`${dir}/${v}`);
                continue;
              }
              await link(join(prevDir, suiteRel, dir, v), join(suiteDir, dir, v));
              const content = known ? undefined : await readFile(join(suiteDir, dir, v));
              linked.push(known ? { path: `${dir}/${v}`, ...known } : { path: `${dir}/${v}`, size: content!.length, md5: md5(content!), sha256: sha256(content!) });
            }
            // Its patch series stays as it was: the Index still names this text as current.
            const diffIndex = `${dir}/${name}.diff/Index`;
            const knownIndex = prevManifest.facts?.[`${suiteRel}/${diffIndex}`];
            if (knownIndex && (options.pdiffs ?? 0) > 0) {
              await linkTree(join(prevDir, suiteRel, dir, `${name}.diff`), join(suiteDir, dir, `${name}.diff`), (n) => n !== 'by-hash');
              linked.push({ path: diffIndex, ...knownIndex });
            }
            // Noted once all is in place: a failure above writes the index anew (below), noted then.
            for (const f of linked) note(f);
            const table = prevManifest.chunks?.[key];
            if (table) manifest.chunks![key] = table;
            reused += variants.length;
            return;
          } catch {
            // The previous generation is incomplete or gone: write it anew.
            delete manifest.texts![key];
            unpublished.delete(`${dir}/${name}`);
            for (const v of variants) await rm(join(suiteDir, dir, v), { force: true });
            await rm(join(suiteDir, dir, `${name}.diff`), { recursive: true, force: true });
          }
        }
        const table = prevManifest.chunks?.[key];
        const patching = patchPart(key, keys, table);
        const { path: textPath, holdsPrevious } = await texts.claim(key, prevManifest.texts?.[key], generation);
        const text = await writeIndexText({
          path: textPath,
          compressed: { gz: join(suiteDir, dir, variants[1]), xz: join(suiteDir, dir, variants[2]) },
          holdsPrevious,
          layout: chunks,
          stanzas: plan.stanzas,
          previous: prevDir && table ? { path: previousText(key)!, chunks: table, gz: join(prevDir, suiteRel, dir, variants[1]), xz: join(prevDir, suiteRel, dir, variants[2]) } : undefined,
          level,
          keep: patching && ((j) => patching.some((run) => j >= run.afterFrom && j < run.afterTo)),
          hashes: { id: key, states: hashes },
          buffers: options.textBuffers,
          // Unless the text is still too large to be published as it is.
          md5: plain(prevManifest.facts?.[key]?.size ?? 0),
        });
        manifest.texts![key] = generation;
        let facts = text.facts;
        if (plain(facts.size)) {
          await copyFile(textPath, join(suiteDir, dir, name));
          // Large before, small now: its md5 made from the file.
          if (!facts.md5) facts = { ...facts, md5: md5(await readFile(textPath)) };
        } else unpublished.add(`${dir}/${name}`);
        note({ path: `${dir}/${name}`, ...facts });
        // Each index's chunks: the next publication copies the unchanged ones and patches only the others.
        manifest.chunks![key] = text.chunks;
        note({ path: `${dir}/${variants[1]}`, ...text.gz });
        note({ path: `${dir}/${variants[2]}`, ...text.xz });
        written += variants.length;
        compressed += text.compressed;
        if (patching) await writePatches(dir, name, patching, text.kept);
      };
      /**
       * The places a patch is made of, when one is worth making: where the chunks of this text
       * differ from the previous text's.
       */
      const patchPart = (key: string, keys: string[], table?: ChunkTable): ChangedRun[] | undefined => {
        const beforeSize = prevManifest.facts?.[key]?.size ?? 0;
        // No index before, or an empty one: the first text is no patch. Nor is an empty one,
        // which apt does not fetch (an index of size 0 in Release is taken as empty).
        if (!options.pdiffs || !prevDir || beforeSize === 0 || keys.length === 0) return undefined;
        // A manifest from before chunks were noted: the whole texts, when they are small.
        if (!table) return beforeSize <= WHOLE_TEXT_PATCH_BYTES ? [{ afterFrom: 0, afterTo: keys.length, beforeOffset: 0, beforeLength: beforeSize, beforeLines: 0 }] : undefined;
        const runs = changedRuns(table, keys);
        // A change to most of the index makes a patch about as large as it: apt fetches the index then.
        const changed = runs.reduce((n, r) => n + r.afterTo - r.afterFrom, 0);
        return changed <= Math.max(2, keys.length / 2) ? runs : undefined;
      };
      /**
       * INDEX.diff/: the patch from the previous generation's text to this one (its changed
       * places, `runs`, the new chunks of each in `kept`, in order), after the kept patches
       * before it (linked from the previous generation), and the Index naming them. Without a
       * previous text, or with a change ed cannot carry, there is no series: apt then fetches
       * the whole index.
       */
      const writePatches = async (dir: string, name: string, runs: ChangedRun[], kept: Buffer[]) => {
        const beforeFacts = prevManifest.facts![`${suiteRel}/${dir}/${name}`];
        const parts: { before: Buffer; after: Buffer; fromLine: number }[] = [];
        let next = 0;
        for (const run of runs) {
          const before = await readRange(previousText(`${suiteRel}/${dir}/${name}`)!, run.beforeOffset, run.beforeLength);
          if (!before) return;
          parts.push({ before, after: Buffer.concat(kept.slice(next, (next += run.afterTo - run.afterFrom))), fromLine: run.beforeLines });
        }
        const script = edScriptOfParts(parts);
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
      await writeByHash(suiteDir, suiteRel, prevDir, prevManifest, manifest, files.filter((f) => !unpublished.has(f.path)), now, grace);
      const release = join(suiteDir, 'Release');
      await writeFile(release, releaseText(info, files));
      await signer.signRelease(release, join(suiteDir, 'InRelease'), join(suiteDir, 'Release.gpg'));
    }
    await writeManifest(tmpDir, manifest);
  };
  // Both settled before a failure is thrown: neither is still writing then.
  const saved = await Promise.allSettled([writePoolList(tmpDir, lists.length === 1 ? lists[0] : [...new Set(lists.flat())], options.poolLines), writeSuites()]);
  for (const r of saved) if (r.status === 'rejected') throw r.reason;
  await rename(tmpDir, genDir);
  options.failPoint?.('publish-before-switch');
  await switchLink(layout.dists, `generations/${generation}/dists`);
  options.failPoint?.('publish-after-switch');
  await texts.keepOnly(Object.keys(manifest.texts!));
  hashes.keepOnly(Object.keys(manifest.texts!));
  const pruned = await pruneGenerations(layout, { keep: generation, graceMs: grace, now });
  return { generation, written, reused, compressed, pruned, texts: manifest.texts! };
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

