// The publisher on a real file system with real gpg: generations switched atomically,
// unchanged indices reused, by-hash files kept for the grace period, crash leftovers cleaned,
// Valid-Until, and signatures gpgv accepts with the exported key alone.
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SuitePlan } from '../src/core/publish-plan.js';
import { Paragraph } from '../src/debian/deb822.js';
import { parseDiffIndex } from '../src/debian/pdiff.js';
import { CHUNK_MAX_STANZAS, chunkLayout, paragraphStanzas } from '../src/debian/indices.js';
import { generateArchiveKey, Signer } from '../src/process/gpg.js';
import { Layout } from '../src/storage/layout.js';
import { STATE_EVERY, TextBuffers, TextHashes, writeIndexText, type ChunkTable, type IndexText } from '../src/publish/index-text.js';
import { currentGeneration, oldestSignature, poolFilesOfGenerations, pruneGenerations, writePoolList } from '../src/publish/generations.js';
import { publish } from '../src/publish/publisher.js';
import { IndexTexts } from '../src/publish/index-texts.js';

let layout: Layout;
let signer: Signer;
let publicKey: string;
let home: string;

function plan(packages: string[], sources: string[] = []): SuitePlan<Paragraph>[] {
  const stanza = (name: string) => new Paragraph([['Package', name], ['Version', '1.0'], ['Architecture', 'amd64'], ['Filename', `pool/main/${name[0]}/${name}/${name}_1.0_amd64.deb`]]);
  return [{
    suite: 'unstable', codename: 'sid', architectures: ['amd64'],
    components: [{
      name: 'main',
      sources: sources.map((s) => new Paragraph([['Package', s], ['Version', '1.0']])),
      packages: new Map([['amd64', packages.map(stanza)]]),
    }],
    poolFiles: packages.map((name) => `pool/main/${name[0]}/${name}/${name}_1.0_amd64.deb`),
    stanzas: paragraphStanzas,
  }];
}
// The buffers index texts go through, used again by every publication of this file, as the queue's are.
const textBuffers = new TextBuffers();
const options = (extra = {}) => ({ label: 'test', textBuffers, ...extra });
const byHash = async (dir: string) => (await readdir(join(layout.dists, 'unstable', dir, 'by-hash', 'SHA256'))).sort();
/** An index's text as apt reads it: from its .gz (a large index has no uncompressed file). */
const unpacked = async (dists: string, path: string) => gunzipSync(await readFile(join(dists, `${path}.gz`)));
/** Each file of dists/unstable that Release lists has the size and hashes it gives. */
const expectReleaseTrue = async (dists: string) => {
  const [md5s, sha256s] = (await readFile(join(dists, 'unstable/Release'), 'utf8')).split('MD5Sum:')[1].split('SHA256:');
  for (const [field, algorithm] of [[md5s, 'md5'], [sha256s, 'sha256']]) {
    for (const [, hash, size, path] of field.matchAll(/^ ([0-9a-f]+) +(\d+) (\S+)$/gm)) {
      const bytes = await readFile(join(dists, 'unstable', path)).catch(() => undefined);
      if (bytes) expect({ path, size: bytes.length, hash: createHash(algorithm).update(bytes).digest('hex') }).toEqual({ path, size: Number(size), hash });
    }
  }
};
/** The files a Release lists under MD5Sum. */
const md5Lines = (release: string) => [...release.split('SHA256:')[0].matchAll(/^ [0-9a-f]{32} +\d+ (\S+)$/gm)].map((m) => m[1]);
const sha256sOf = async (dir: string, name: string) => {
  const release = await readFile(join(layout.dists, 'unstable', 'Release'), 'utf8');
  return [...release.split('SHA256:')[1].matchAll(new RegExp(`^ ([0-9a-f]{64}) +\\d+ ${dir}/${name}(\\.gz|\\.xz)?$`, 'gm'))].map((m) => m[1]).sort();
};

beforeAll(async () => {
  layout = new Layout(await mkdtemp(join(tmpdir(), 'aib-pub-')));
  home = await mkdtemp(join(tmpdir(), 'aib-s-'));
  const key = await generateArchiveKey('Publisher Test <p@example.org>', '1d');
  publicKey = join(layout.root, 'key.gpg');
  await writeFile(join(layout.root, 'key.asc'), key.publicArmored);
  await execa('gpg', ['--batch', '--yes', '--dearmor', '--output', publicKey, join(layout.root, 'key.asc')]);
  signer = await Signer.load(key.secretArmored, home);
});

afterAll(async () => {
  await execa('gpgconf', ['--homedir', home, '--kill', 'all'], { reject: false });
  await rm(layout.root, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

describe('the publisher', () => {
  it('writes a signed generation and points dists at it', async () => {
    const result = await publish(layout, plan(['a']), signer, options());
    expect(await readlink(layout.dists)).toBe(`generations/${result.generation}/dists`);
    const packages = await readFile(join(layout.dists, 'unstable/main/binary-amd64/Packages'), 'utf8');
    expect(packages).toContain('Package: a\n');
    for (const args of [['InRelease'], ['Release.gpg', 'Release']]) {
      const verify = await execa('gpgv', ['--keyring', publicKey, ...args.map((f) => join(layout.dists, 'unstable', f))], { reject: false, all: true });
      expect(verify.exitCode, String(verify.all)).toBe(0);
    }
    expect(await readFile(join(layout.dists, 'unstable/Release'), 'utf8')).not.toContain('Valid-Until');
  });

  it('reuses the indices whose content did not change, compressing only the ones that did', async () => {
    const result = await publish(layout, plan(['a'], ['a']), signer, options());
    // Packages (3 files) unchanged; Sources (3 files) changed.
    expect({ written: result.written, reused: result.reused }).toEqual({ written: 3, reused: 3 });
  });

  it('keeps the by-hash files of earlier generations for the grace period, then lets them go', async () => {
    await publish(layout, plan(['a', 'b']), signer, options());
    const before = await sha256sOf('main/binary-amd64', 'Packages');
    await publish(layout, plan(['a', 'b', 'c']), signer, options());
    const current = await sha256sOf('main/binary-amd64', 'Packages');
    const served = await byHash('main/binary-amd64');
    expect(served).toEqual(expect.arrayContaining([...before, ...current]));
    // A client holding the previous InRelease fetches its Packages by hash from the new tree.
    for (const hash of before) expect((await readFile(join(layout.dists, 'unstable/main/binary-amd64/by-hash/SHA256', hash))).length).toBeGreaterThan(0);
    // Past the grace period only the current files stay.
    await publish(layout, plan(['a', 'b', 'c']), signer, options({ byHashGraceMs: 0, now: new Date(Date.now() + 1000) }));
    expect(await byHash('main/binary-amd64')).toEqual(current);
  });

  it('makes and compresses again only the chunk a new package lands in, copies the others from the previous files (after a restart too), and every .gz and .xz reads back as its index', async () => {
    const names = Array.from({ length: 3000 }, (_, i) => `pkg${String(i).padStart(5, '0')}`);
    // Counted: the stanzas made in each publication.
    let made = 0;
    const counted = (list: string[]) =>
      plan(list).map((p) => ({ ...p, stanzas: { ...p.stanzas, stanzas: (ms: Paragraph[]) => ((made += ms.length), p.stanzas.stanzas(ms)) } }));
    const textHashes = new TextHashes();
    const run = async (list: string[], hashes = textHashes) => {
      made = 0;
      const { compressed } = await publish(layout, counted(list), signer, options({ textHashes: hashes }));
      return { compressed, made };
    };
    const dir = join(layout.dists, 'unstable/main/binary-amd64');
    const expectWhole = async (list: string[]) => {
      const text = await readFile(join(dir, 'Packages'));
      expect(text.toString()).toBe(`${list.map((n) => `Package: ${n}\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/main/${n[0]}/${n}/${n}_1.0_amd64.deb\n`).join('\n')}`);
      // xz and gzip, and apt's own reader (apt-helper cat-file decompresses as apt does).
      for (const [file, tool] of [['Packages.xz', 'xz'], ['Packages.gz', 'gzip']]) {
        for (const [command, args] of [[tool, ['-dc']], ['/usr/lib/apt/apt-helper', ['cat-file']]] as const) {
          const unpacked = await execa(command, [...args, join(dir, file)], { encoding: 'buffer', stripFinalNewline: false });
          expect(Buffer.compare(Buffer.from(unpacked.stdout), text), `${command} does not read ${file} as Packages`).toBe(0);
        }
      }
      await execa('xz', ['--test', join(dir, 'Packages.xz')]);
      await expectReleaseTrue(layout.dists);
    };
    const first = await run(names);
    expect(first.made).toBe(3000);
    expect(first.compressed).toBeGreaterThan(5);
    await expectWhole(names);
    // Packages: the one chunk the new package joined; Sources (empty and unchanged) is reused.
    const second = await run([...names, 'pkg01500a'].sort());
    expect(second.compressed).toBe(1);
    expect(second.made).toBeGreaterThan(0);
    expect(second.made).toBeLessThanOrEqual(CHUNK_MAX_STANZAS);
    await expectWhole([...names, 'pkg01500a'].sort());
    // As after a restart, no hashes' states held: still only the changed chunk is made and
    // compressed; the others' text comes from the previous text, their gzip members and xz
    // blocks from the previous generation's .gz and .xz.
    const third = [...names, 'pkg01500a', 'pkg02500a'].sort();
    expect(await run(third, new TextHashes())).toEqual({ compressed: 1, made: expect.any(Number) });
    expect(made).toBeLessThanOrEqual(CHUNK_MAX_STANZAS);
    await expectWhole(third);
    // The served .gz cut short (a disk that filled): not copied from, every chunk compressed again.
    await truncate(join(dir, 'Packages.gz'), 1000);
    const fourth = [...third, 'pkg00500a'].sort();
    const { compressed } = await run(fourth);
    const manifest = JSON.parse(await readFile(join(layout.generations, (await currentGeneration(layout))!, 'manifest.json'), 'utf8'));
    expect(compressed).toBe(manifest.chunks['dists/unstable/main/binary-amd64/Packages'].length);
    await expectWhole(fourth);
    expect(Buffer.from((await execa('gzip', ['-dc', join(layout.dists, 'unstable/main/source/Sources.gz')], { encoding: 'buffer' })).stdout).length).toBe(0);
  });

  it('writes an index of many groups of chunks whole, each group made while the one before it is compressed; a large one only as .gz and .xz, Release listing its text', async () => {
    // About 100 chunks: the publisher makes and compresses them 32 at a time.
    const names = Array.from({ length: 13_000 }, (_, i) => `many${String(i).padStart(5, '0')}`);
    await publish(layout, plan(names), signer, options());
    const dir = join(layout.dists, 'unstable/main/binary-amd64');
    const text = await unpacked(layout.dists, 'unstable/main/binary-amd64/Packages');
    expect(text.toString()).toBe(names.map((n) => `Package: ${n}\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/main/${n[0]}/${n}/${n}_1.0_amd64.deb\n`).join('\n'));
    const xz = await execa('xz', ['-dc', join(dir, 'Packages.xz')], { encoding: 'buffer', stripFinalNewline: false });
    expect(Buffer.compare(Buffer.from(xz.stdout), text), 'xz does not read Packages.xz as the .gz').toBe(0);
    // Over 1 MiB: no uncompressed file, nor one under by-hash, but Release lists the text apt unpacks.
    expect(text.length).toBeGreaterThan(1024 * 1024);
    await expect(stat(join(dir, 'Packages'))).rejects.toThrow(/ENOENT/);
    const hash = createHash('sha256').update(text).digest('hex');
    expect(await readFile(join(layout.dists, 'unstable/Release'), 'utf8')).toContain(` ${hash} ${text.length} main/binary-amd64/Packages\n`);
    expect(await byHash('main/binary-amd64')).not.toContain(hash);
    // By its SHA256 alone: MD5Sum lists the files the generation holds.
    expect(md5Lines(await readFile(join(layout.dists, 'unstable/Release'), 'utf8'))).toEqual(['main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz', 'main/binary-amd64/Release', 'main/source/Release', 'main/source/Sources', 'main/source/Sources.gz', 'main/source/Sources.xz']);
  });

  it('lists a text in MD5Sum exactly when it is published, with the md5 of the file, as it grows and shrinks across the limit', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-md5-')));
    try {
      // 3,000 stanzas are about 300 kB, 1,000 about 100 kB: a limit between them.
      const names = Array.from({ length: 3000 }, (_, i) => `pkg${String(i).padStart(5, '0')}`);
      const extra = { plainIndexBytes: 200_000, textHashes: new TextHashes() };
      const release = () => readFile(join(own.dists, 'unstable/Release'), 'utf8');
      const packagesMd5 = async () => (await release()).split('SHA256:')[0].match(/^ ([0-9a-f]{32}) +\d+ main\/binary-amd64\/Packages$/m)?.[1];
      const fileMd5 = async () => createHash('md5').update(await readFile(join(own.dists, 'unstable/main/binary-amd64/Packages'))).digest('hex');
      for (const [list, large] of [[names, true], [names.slice(0, 1000), false], [names.slice(0, 1001), false], [names, true], [[...names, 'pkg99999'], true]] as const) {
        await publish(own, plan([...list]), signer, options(extra));
        // Every file the generation holds is what Release says, its .gz and .xz hashed from the states kept.
        await expectReleaseTrue(own.dists);
        if (large) {
          await expect(stat(join(own.dists, 'unstable/main/binary-amd64/Packages'))).rejects.toThrow(/ENOENT/);
          expect(await packagesMd5()).toBeUndefined();
          expect(await release()).toMatch(/^ [0-9a-f]{64} +\d+ main\/binary-amd64\/Packages$/m);
        } else expect(await packagesMd5()).toBe(await fileMd5());
      }
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('writes a text over an older generation\'s file, never over the one the served generation names, which a failed publication leaves as it was', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-texts-')));
    const textDir = join(own.indexTexts, 'dists/unstable/main/binary-amd64/Packages');
    const files = async () => (await readdir(textDir)).sort();
    const names = Array.from({ length: 3000 }, (_, i) => `pkg${String(i).padStart(5, '0')}`);
    const textOf = (list: string[]) => list.map((n) => `Package: ${n}\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/main/${n[0]}/${n}/${n}_1.0_amd64.deb\n`).join('\n');
    // No uncompressed Packages published: the text is only under state/. The hashes' states are
    // kept, as the queue keeps them: each text is written from its first changed chunk on.
    const textHashes = new TextHashes();
    const publishOwn = (list: string[], extra = {}) => publish(own, plan(list), signer, options({ plainIndexBytes: 0, textHashes, ...extra }));
    try {
      const first = await publishOwn(names);
      expect(await files()).toEqual([first.generation]);
      const firstFile = (await stat(join(textDir, first.generation))).ino;
      const second = await publishOwn([...names, 'pkg01500a'].sort());
      expect(await files()).toEqual([first.generation, second.generation]);
      // The third text is written over the first's file, renamed: the second's stays.
      const third = [...names, 'pkg01500a', 'pkg02500a'].sort();
      const done = await publishOwn(third);
      expect(await files()).toEqual([second.generation, done.generation]);
      expect((await stat(join(textDir, done.generation))).ino).toBe(firstFile);
      expect(await readFile(join(textDir, done.generation), 'utf8')).toBe(textOf(third));
      expect((await unpacked(own.dists, 'unstable/main/binary-amd64/Packages')).toString()).toBe(textOf(third));
      // A publication that fails while its text is written: the served text and generation stay.
      const served = await readFile(join(textDir, done.generation));
      // It fails on a chunk near the end: the chunks before it are written into the file it took.
      const failing = plan([...third, 'pkg02990a'].sort()).map((p) => ({
        ...p,
        stanzas: { ...p.stanzas, stanzas: (ms: Paragraph[]) => { if (ms.some((m) => m.get('Package') === 'pkg02990a')) throw new Error('disk gone'); return p.stanzas.stanzas(ms); } },
      }));
      await expect(publish(own, failing, signer, options({ plainIndexBytes: 0 }))).rejects.toThrow(/disk gone/);
      expect(await readFile(join(textDir, done.generation))).toEqual(served);
      expect(await readlink(own.dists)).toBe(`generations/${done.generation}/dists`);
      // The next one starts from the served text and writes over the failed one's file.
      const fourth = [...third, 'pkg02990a'].sort();
      const after = await publishOwn(fourth, { pdiffs: 2 });
      expect(await files()).toEqual([done.generation, after.generation].sort());
      expect((await unpacked(own.dists, 'unstable/main/binary-amd64/Packages')).toString()).toBe(textOf(fourth));
      expect(await readdir(join(own.dists, 'unstable/main/binary-amd64/Packages.diff'))).toContain(`${after.generation}.gz`);
      // Between publications the other file is made a copy of the served text, and the next text
      // is written over that copy from its first changed chunk on. Stopped first (a publication
      // is due): no copy is made, nor named as one.
      await new IndexTexts(own.indexTexts).prepareSpares(after.texts, new TextBuffers(), AbortSignal.abort());
      expect(await files()).toEqual([done.generation, after.generation].sort());
      await new IndexTexts(own.indexTexts).prepareSpares(after.texts, new TextBuffers());
      expect(await files()).toEqual([after.generation, `${after.generation}+copy`]);
      expect(await readFile(join(textDir, `${after.generation}+copy`))).toEqual(await readFile(join(textDir, after.generation)));
      const copy = (await stat(join(textDir, `${after.generation}+copy`))).ino;
      const fifth = [...fourth, 'pkg01000a'].sort();
      const next = await publishOwn(fifth);
      expect(await files()).toEqual([after.generation, next.generation].sort());
      expect((await stat(join(textDir, next.generation))).ino).toBe(copy);
      expect(await readFile(join(textDir, next.generation), 'utf8')).toBe(textOf(fifth));
      expect((await unpacked(own.dists, 'unstable/main/binary-amd64/Packages')).toString()).toBe(textOf(fifth));
      // A suite gone: its texts go with it.
      await publish(own, [], signer, options());
      await expect(stat(textDir)).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('lets go of the texts and hashes of an index the served generation lacks, also those a crash right after a switch left', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-orphans-')));
    const textHashes = new TextHashes();
    const twoSuites = (list: string[]) => [...plan(list), ...plan(list).map((p) => ({ ...p, suite: 'snap1', codename: 'snap1' }))];
    try {
      await publish(own, twoSuites(['a', 'b']), signer, options({ textHashes }));
      expect(textHashes.ids.filter((id) => id.startsWith('dists/snap1/'))).not.toEqual([]);
      // snap1 removed; the crash comes after the switch, before its texts were let go (as this
      // publication's own step would have let them go, it is cut out).
      await expect(publish(own, plan(['a', 'b']), signer, options({ textHashes, failPoint: (at: string) => { if (at === 'publish-after-switch') throw new Error('killed'); } }))).rejects.toThrow('killed');
      await stat(join(own.indexTexts, 'dists/snap1'));
      // The next publication starts from the one that does not name snap1.
      const done = await publish(own, plan(['a', 'b', 'c']), signer, options({ textHashes }));
      await expect(stat(join(own.indexTexts, 'dists/snap1'))).rejects.toThrow(/ENOENT/);
      expect((await readdir(join(own.indexTexts, 'dists'))).sort()).toEqual(['unstable']);
      expect(Object.keys(done.texts).every((key) => key.startsWith('dists/unstable/'))).toBe(true);
      for (const key of Object.keys(done.texts)) await stat(join(own.indexTexts, key, done.texts[key]));
      expect(textHashes.ids.sort()).toEqual(Object.keys(done.texts).sort());
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('goes on from a generation written before texts were kept, copying its unchanged chunks from its uncompressed index', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-texts-old-')));
    const names = Array.from({ length: 3000 }, (_, i) => `pkg${String(i).padStart(5, '0')}`);
    let made = 0;
    const counted = (list: string[]) => plan(list).map((p) => ({ ...p, stanzas: { ...p.stanzas, stanzas: (ms: Paragraph[]) => ((made += ms.length), p.stanzas.stanzas(ms)) } }));
    try {
      const first = await publish(own, plan(names), signer, options());
      const manifest = join(own.generations, first.generation, 'manifest.json');
      const { texts: _, ...older } = JSON.parse(await readFile(manifest, 'utf8'));
      await writeFile(manifest, JSON.stringify(older));
      await rm(own.indexTexts, { recursive: true });
      const list = [...names, 'pkg01500a'].sort();
      await publish(own, counted(list), signer, options({ pdiffs: 2 }));
      expect(made).toBeGreaterThan(0);
      expect(made).toBeLessThanOrEqual(CHUNK_MAX_STANZAS);
      expect(await readFile(join(own.dists, 'unstable/main/binary-amd64/Packages'), 'utf8')).toContain('Package: pkg01500a\n');
      expect((await readdir(join(own.dists, 'unstable/main/binary-amd64/Packages.diff'))).filter((n) => n.endsWith('.gz'))).toHaveLength(1);
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it("starts an index from a copy of the previous file and hashes on from its first changed chunk, when the previous text's hashes are held; the text and its hashes are those made without", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aib-text-'));
    const stanza = (n: string) => new Paragraph([['Package', n], ['Version', '1.0'], ['Architecture', 'amd64']]);
    const names = Array.from({ length: 3000 }, (_, i) => `pkg${String(i).padStart(5, '0')}`);
    const layoutOf = (list: string[]) => chunkLayout(list.map(stanza), paragraphStanzas);
    const textOf = (list: string[]) => list.map((n) => `Package: ${n}\nVersion: 1.0\nArchitecture: amd64\n`).join('\n');
    const states = new TextHashes();
    // One set of buffers for every write but the one made without what was held.
    const buffers = new TextBuffers();
    const files = (name: string) => ({ gz: join(dir, `${name}.gz`), xz: join(dir, `${name}.xz`) });
    const write = (name: string, list: string[], previous?: { path: string; chunks: ChunkTable }, hashes: TextHashes | undefined = states) =>
      writeIndexText({
        path: join(dir, name),
        compressed: files(name),
        layout: layoutOf(list),
        stanzas: paragraphStanzas,
        previous: previous && { ...previous, ...files(basename(previous.path)) },
        level: 0,
        hashes: hashes && { id: 'Packages', states: hashes },
        buffers: hashes === states ? buffers : undefined,
      });
    const factsOf = async (name: string) => {
      const bytes = await readFile(join(dir, name));
      return { size: bytes.length, md5: createHash('md5').update(bytes).digest('hex'), sha256: createHash('sha256').update(bytes).digest('hex') };
    };
    /** The text, .gz and .xz are what the result says, and the .gz and .xz unpack to the text. */
    const expectWhole = async (name: string, made: IndexText, list: string[]) => {
      expect(await readFile(join(dir, name), 'utf8')).toBe(textOf(list));
      expect({ text: made.facts, gz: made.gz, xz: made.xz }).toEqual({ text: await factsOf(name), gz: await factsOf(`${name}.gz`), xz: await factsOf(`${name}.xz`) });
      for (const [tool, file] of [['gzip', `${name}.gz`], ['xz', `${name}.xz`]]) {
        expect((await execa(tool, ['-dc', join(dir, file)], { stripFinalNewline: false })).stdout, `${file} does not unpack to ${name}`).toBe(textOf(list));
      }
    };
    const first = await write('1', names);
    expect(first.copied).toBe(0);
    expect(first.compressed).toBe(first.chunks.length);
    await expectWhole('1', first, names);
    const madeInto = buffers.made.reduce((a, b) => (b.length > a.length ? b : a));
    // One package near the end: every chunk before its chunk is taken with the files.
    const later = [...names, 'pkg02990a'].sort();
    const second = await write('2', later, { path: join(dir, '1'), chunks: first.chunks });
    // Up to the last chunk before it whose hashes' states were kept.
    expect(second.chunks.length).toBeGreaterThan(2 * STATE_EVERY);
    expect(second.copied).toBe(Math.floor((second.chunks.length - 1) / STATE_EVERY) * STATE_EVERY);
    expect(second.compressed).toBe(1);
    // The text read from the previous file went into the buffer the text was made in before: no new memory.
    expect(buffers.scratch.bytes.buffer).toBe(madeInto.buffer);
    await expectWhole('2', second, later);
    const without = await write('2-without', later, { path: join(dir, '1'), chunks: first.chunks }, new TextHashes());
    expect(without.copied).toBe(0);
    expect(without.compressed).toBe(1);
    for (const suffix of ['', '.gz', '.xz']) expect(await readFile(join(dir, `2${suffix}`))).toEqual(await readFile(join(dir, `2-without${suffix}`)));
    expect(second).toEqual({ ...without, copied: second.copied });
    // One removed near the start: the file is shorter than the copy it starts from.
    const fewer = later.filter((n) => n !== 'pkg00010');
    const third = await write('3', fewer, { path: join(dir, '2'), chunks: second.chunks });
    expect(third.copied).toBe(0);
    await expectWhole('3', third, fewer);
    const fourth = await write('4', [...fewer, 'pkg02995a'].sort(), { path: join(dir, '3'), chunks: third.chunks });
    expect(fourth.copied).toBeGreaterThan(0);
    await expectWhole('4', fourth, [...fewer, 'pkg02995a'].sort());
    // States held for another text than the previous file's, or a previous text cut short: written
    // whole, the unchanged chunks' pieces still copied from the previous .gz and .xz.
    const fifth = await write('5', names, { path: join(dir, '2'), chunks: second.chunks });
    expect(fifth.copied).toBe(0);
    await expectWhole('5', fifth, names);
    await truncate(join(dir, '4'), 1000);
    const last = [...fewer, 'pkg02995a', 'pkg02996a'].sort();
    const sixth = await write('6', last, { path: join(dir, '4'), chunks: fourth.chunks });
    expect(sixth.copied).toBe(0);
    expect(sixth.compressed).toBe(1);
    await expectWhole('6', sixth, last);
    // A previous .xz cut short, or a chunk table from before the pieces were noted: every chunk compressed again.
    await truncate(join(dir, '6.xz'), 1000);
    const seventh = await write('7', last, { path: join(dir, '6'), chunks: sixth.chunks });
    expect(seventh.compressed).toBe(seventh.chunks.length);
    await expectWhole('7', seventh, last);
    const eighth = await write('8', last, { path: join(dir, '7'), chunks: seventh.chunks.map(([key, bytes, lines]) => [key, bytes, lines]) });
    expect(eighth.compressed).toBe(eighth.chunks.length);
    await expectWhole('8', eighth, last);
    // A table whose sizes are not sizes (a negative one, with a larger one after to make up the sum): no read from it.
    const bent = seventh.chunks.map((c, i): ChunkTable[number] => (i === 1 ? [c[0], c[1], c[2], -100, c[4]] : i === 2 ? [c[0], c[1], c[2], c[3]! + 100 + seventh.chunks[1][3]!, c[4]] : c));
    const bentFrom = await write('8b', last, { path: join(dir, '7'), chunks: bent });
    expect(bentFrom.compressed).toBe(bentFrom.chunks.length);
    await expectWhole('8b', bentFrom, last);
    // Sizes moved from one chunk to the next (the sums kept, each still a size): what they place
    // is no member and no block of those chunks' texts, which are compressed again; the others are copied.
    for (const [gz, xz] of [[10, 4], [10, 0], [0, 4]]) {
      const moved = seventh.chunks.map((c, i): ChunkTable[number] => (i === 1 ? [c[0], c[1], c[2], c[3]! - gz, c[4]! - xz] : i === 2 ? [c[0], c[1], c[2], c[3]! + gz, c[4]! + xz] : c));
      const movedFrom = await write('8c', last, { path: join(dir, '7'), chunks: moved });
      expect(movedFrom.compressed, `gz ${gz}, xz ${xz}`).toBe(2);
      await expectWhole('8c', movedFrom, last);
    }
    // An empty index: one empty gzip member, an xz stream of no block.
    const empty = await write('9', [], { path: join(dir, '8'), chunks: eighth.chunks });
    expect(empty.chunks).toEqual([]);
    await expectWhole('9', empty, []);
    // The previous text gone, its .gz and .xz there and its states held: the text made again, the pieces still copied.
    const tenth = await write('10', names);
    await rm(join(dir, '10'));
    const eleventh = await write('11', later, { path: join(dir, '10'), chunks: tenth.chunks });
    expect({ copied: eleventh.copied, compressed: eleventh.compressed }).toEqual({ copied: 0, compressed: 1 });
    await expectWhole('11', eleventh, later);
    await rm(dir, { recursive: true, force: true });
  });

  it("makes each chunk's text into the buffers held, and into another one when they are short mid-group: the text is the same", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aib-text-'));
    // Short stanzas first, then long ones: a buffer sized from the first chunks is short for the later ones.
    const names = Array.from({ length: 2000 }, (_, i) => `pkg${String(i).padStart(5, '0')}`);
    const description = (i: number) => (i < 300 ? 'short' : `long\n ${'x'.repeat(60 + (i % 7))}\n .\n ${'y'.repeat(1 + (i % 50))}`);
    const fields = (n: string, i: number): [string, string][] => [['Package', n], ['Version', '1.0'], ['Description', description(i)]];
    const list = names.map((n, i) => new Paragraph(fields(n, i)));
    const layout = chunkLayout(list, paragraphStanzas);
    const buffers = new TextBuffers();
    buffers.made[0] = Buffer.alloc(64);
    buffers.made[1] = Buffer.alloc(64);
    const made = await writeIndexText({ path: join(dir, 'Packages'), compressed: { gz: join(dir, 'Packages.gz'), xz: join(dir, 'Packages.xz') }, layout, stanzas: paragraphStanzas, level: 0, buffers });
    const text = names.map((n, i) => fields(n, i).map(([k, v]) => `${k}: ${v}\n`).join('')).join('\n');
    expect(await readFile(join(dir, 'Packages'), 'utf8')).toBe(text);
    expect(made.facts.sha256).toBe(createHash('sha256').update(text).digest('hex'));
    expect(made.chunks.reduce((n, c) => n + c[1], 0)).toBe(Buffer.byteLength(text));
    // One group, in buffer 0: the one it ended in was made mid-group, for the rest of it.
    expect(buffers.made[0].length).toBeGreaterThan(64);
    expect(buffers.made[0].length).toBeLessThan(Buffer.byteLength(text));
    await rm(dir, { recursive: true, force: true });
  });

  it('writes Valid-Until when asked', async () => {
    const now = new Date('2027-01-01T00:00:00Z');
    await publish(layout, plan(['a']), signer, options({ now, validForMs: 7 * 86_400_000 }));
    const release = await readFile(join(layout.dists, 'unstable/Release'), 'utf8');
    expect(release).toContain('Date: Fri, 01 Jan 2027 00:00:00 UTC\n');
    expect(release).toContain('Valid-Until: Fri, 08 Jan 2027 00:00:00 UTC\n');
  });

  it('carries a suite that did not change over whole, its signed Release as it was, and signs it anew once its Valid-Until is half gone', async () => {
    const t = new Date('2027-02-01T00:00:00Z');
    const week = 7 * 86_400_000;
    const at = (ms: number) => options({ now: new Date(t.getTime() + ms), validForMs: week, byHashGraceMs: 2 * week });
    // What the generation before served as current stops being current at t: kept by hash with the new ones.
    const before = await sha256sOf('main/binary-amd64', 'Packages');
    await publish(layout, plan(['a', 'd']), signer, at(0));
    const inRelease = join(layout.dists, 'unstable/InRelease');
    const signed = await readFile(inRelease, 'utf8');
    const again = await publish(layout, plan(['a', 'd']), signer, at(1000));
    expect({ written: again.written, reused: again.reused }).toEqual({ written: 0, reused: 6 });
    expect(await readFile(inRelease, 'utf8')).toBe(signed);
    expect(await oldestSignature(layout)).toEqual(t); // what the queue's Valid-Until refresh looks at
    const verify = await execa('gpgv', ['--keyring', publicKey, inRelease], { reject: false, all: true });
    expect(verify.exitCode, String(verify.all)).toBe(0);
    expect(await byHash('main/binary-amd64')).toEqual([...new Set([...before, ...(await sha256sOf('main/binary-amd64', 'Packages'))])].sort());
    // Half a week later it is signed again, with the new date, though nothing changed.
    await publish(layout, plan(['a', 'd']), signer, at(week / 2 + 1000));
    expect(await readFile(inRelease, 'utf8')).toContain('Date: Thu, 04 Feb 2027 12:00:01 UTC\n');
    // And a suite that changes is written anew, its unchanged indices linked.
    const changed = await publish(layout, plan(['a', 'd'], ['d']), signer, at(week / 2 + 2000));
    expect({ written: changed.written, reused: changed.reused }).toEqual({ written: 3, reused: 3 });
  });

  it('keeps a by-hash file for the grace period from when it stopped being current, though it was published long before (a quiet hour)', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-quiet-')));
    try {
      const hour = 3600_000;
      const t = Date.now();
      const at = (ms: number) => options({ now: new Date(t + ms), byHashGraceMs: hour });
      const served = async () => (await readdir(join(own.dists, 'unstable/main/binary-amd64/by-hash/SHA256'))).sort();
      await publish(own, plan(['a']), signer, at(0));
      const first = await served();
      // Carried over unchanged for most of the hour, then a change more than an hour after the first.
      await publish(own, plan(['a']), signer, at(hour / 2));
      await publish(own, plan(['a', 'b']), signer, at(hour + 60_000));
      const second = (await served()).filter((h) => !first.includes(h));
      expect(second.length).toBeGreaterThan(0);
      // A client that read the first InRelease a moment before still finds every file it names.
      expect(await served()).toEqual([...first, ...second].sort());
      // Within the hour after the change they stay; past it, only the current ones.
      await publish(own, plan(['a', 'b'], ['b']), signer, at(2 * hour));
      expect(await served()).toEqual(expect.arrayContaining(first));
      await publish(own, plan(['a', 'b'], ['c']), signer, at(2 * hour + 120_000));
      expect((await served()).filter((h) => first.includes(h))).toEqual([]);
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('keeps an old generation for the grace period from when the next one replaced it, not from when it was made', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-prune-')));
    try {
      const names: string[] = [];
      for (const pkgs of [['a'], ['a', 'b'], ['b'], ['b', 'c'], ['c']]) names.push((await publish(own, plan(pkgs), signer, options())).generation);
      // The first was served for two hours; the second replaced it a minute ago: the first stays.
      const ago = (ms: number) => new Date(Date.now() - ms);
      await utimes(join(own.generations, names[0]), ago(2 * 3600_000), ago(2 * 3600_000));
      await utimes(join(own.generations, names[1]), ago(60_000), ago(60_000));
      await pruneGenerations(own, { graceMs: 3600_000 });
      expect(await readdir(own.generations)).toContain(names[0]);
      // Replaced more than the grace period ago: it goes (beyond the newest few, which always stay).
      await utimes(join(own.generations, names[1]), ago(2 * 3600_000), ago(2 * 3600_000));
      await pruneGenerations(own, { graceMs: 3600_000 });
      expect(await readdir(own.generations)).not.toContain(names[0]);
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('cleans up what a crash mid-publish left, and keeps serving the last good generation', async () => {
    const served = await readlink(layout.dists);
    await mkdir(join(layout.generations, '20990101-000000000-1.tmp', 'dists'), { recursive: true });
    await pruneGenerations(layout);
    expect((await readdir(layout.generations)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(await readlink(layout.dists)).toBe(served);
  });

  it('notes the pool files each generation names outside its manifest, and still reads them from a manifest written before', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-poollist-')));
    try {
      const first = await publish(own, plan(['p', 'q']), signer, options());
      const second = await publish(own, plan(['q', 'r']), signer, options());
      for (const g of [first, second]) expect(JSON.parse(await readFile(join(own.generations, g.generation, 'manifest.json'), 'utf8'))).not.toHaveProperty('pool');
      const path = (n: string) => `pool/main/${n[0]}/${n}/${n}_1.0_amd64.deb`;
      // Of the files asked about, those a generation names.
      const among = new Set(['o', 'p', 'q', 'r', 's'].map(path).concat('pool/main/o/old/old_1.0_amd64.deb'));
      expect([...(await poolFilesOfGenerations(own, among))].sort()).toEqual(['p', 'q', 'r'].map(path));
      expect([...(await poolFilesOfGenerations(own, new Set([path('q'), path('s')])))]).toEqual([path('q')]);
      // A generation from an earlier version: its pool list in its manifest.
      const older = join(own.generations, first.generation);
      await rm(join(older, 'pool.list'));
      const manifest = JSON.parse(await readFile(join(older, 'manifest.json'), 'utf8'));
      await writeFile(join(older, 'manifest.json'), JSON.stringify({ ...manifest, pool: ['pool/main/o/old/old_1.0_amd64.deb'] }));
      expect([...(await poolFilesOfGenerations(own, among))].sort()).toEqual(['pool/main/o/old/old_1.0_amd64.deb', ...['q', 'r'].map(path)]);
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('keeps every path of a pool list written in parts, none joined to the next', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-poollist-')));
    try {
      // 2,500 paths: parts of a thousand, and a last part that is not full.
      const paths = Array.from({ length: 2500 }, (_, i) => `pool/main/p/p${i}/p${i}_1.0_amd64.deb`);
      await writePoolList(join(own.generations, '20260101-000000000-1'), paths);
      expect([...(await poolFilesOfGenerations(own, new Set(paths)))].sort()).toEqual([...paths].sort());
      // A few paths are looked for in the bytes: whole lines only, the first and a last without its newline too.
      expect([...(await poolFilesOfGenerations(own, new Set([paths[0], paths[2499], 'p0/p0_1.0_amd64.deb', 'pool/main/p/p1/p1_1.0_amd64.de', 'pool/main/p/p25/p25'])))]).toEqual([paths[0], paths[2499]]);
      await writeFile(join(own.generations, '20260101-000000000-1', 'pool.list'), 'a/x.deb\nb/x.deb\nc/x.deb');
      expect([...(await poolFilesOfGenerations(own, new Set(['a/x.deb', 'c/x.deb', 'x.deb', 'b/x.de', '/x.deb', 'c/x.deb\n'])))]).toEqual(['a/x.deb', 'c/x.deb']);
      await writeFile(join(own.generations, '20260101-000000000-1', 'pool.list'), 'a/x.deb');
      expect([...(await poolFilesOfGenerations(own, new Set(['a/x.deb', 'a/x.de'])))]).toEqual(['a/x.deb']);
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('neither reads nor removes a file someone left among the generations (one that filled the disk)', async () => {
    const filler = join(layout.generations, '00000000-filler');
    await writeFile(filler, 'x');
    await utimes(filler, new Date(0), new Date(0));
    await expect(poolFilesOfGenerations(layout, new Set())).resolves.toBeInstanceOf(Set);
    await pruneGenerations(layout, { graceMs: 0 });
    expect(await readFile(filler, 'utf8')).toBe('x');
    await rm(filler);
  });
});

describe('index diffs for apt clients', () => {
  let diffLayout: Layout;
  let server: Server;
  let port: number;
  /** Each request the repository answered: its path and the bytes it sent. */
  const served: { path: string; bytes: number }[] = [];
  let apt: string;
  const names = Array.from({ length: 400 }, (_, i) => `pkg${String(i).padStart(4, '0')}`);
  // As a large index is published: no uncompressed Packages; apt checks what it unpacks against Release.
  const publishDiffs = (packages: string[]) => publish(diffLayout, plan(packages), signer, options({ pdiffs: 3, plainIndexBytes: 0 }));
  const servedText = () => unpacked(diffLayout.dists, 'unstable/main/binary-amd64/Packages');

  beforeAll(async () => {
    diffLayout = new Layout(await mkdtemp(join(tmpdir(), 'aib-pdiff-')));
    server = createServer(async (req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      try {
        const body = await readFile(join(diffLayout.public, path));
        served.push({ path, bytes: body.length });
        res.writeHead(200, { 'content-length': body.length }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
    // apt with its own state, lists, configuration and this repository alone.
    apt = await mkdtemp(join(tmpdir(), 'aib-apt-'));
    for (const dir of ['lists/partial', 'cache/archives/partial', 'parts']) await mkdir(join(apt, dir), { recursive: true });
    await writeFile(join(apt, 'status'), '');
    await writeFile(join(apt, 'sources.list'), `deb [signed-by=${publicKey}] http://127.0.0.1:${port}/ unstable main\n`);
    // Read instead of /etc/apt/apt.conf, and no apt.conf.d: nothing of the host's set-up applies.
    await writeFile(join(apt, 'apt.conf'), [
      `Dir::Etc::SourceList "${join(apt, 'sources.list')}";`, 'Dir::Etc::SourceParts "/dev/null";', `Dir::Etc::Parts "${join(apt, 'parts')}";`,
      `Dir::State::Lists "${join(apt, 'lists')}";`, `Dir::Cache "${join(apt, 'cache')}";`, `Dir::State::status "${join(apt, 'status')}";`,
      'APT::Architecture "amd64";', 'APT::Architectures { "amd64"; };', 'Acquire::Languages "none";', 'APT::Sandbox::User "root";',
      'Acquire::GzipIndexes "false";', 'Debug::pkgAcquire::Diffs "true";', '',
    ].join('\n'));
  });
  afterAll(async () => {
    server.close();
    await rm(diffLayout.root, { recursive: true, force: true });
    await rm(apt, { recursive: true, force: true });
  });

  const aptUpdate = async () => {
    served.length = 0;
    const run = await execa('apt-get', ['update'], { all: true, reject: false, env: { APT_CONFIG: join(apt, 'apt.conf') } });
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).not.toMatch(/^(W|E): /m);
    const lists = await readdir(join(apt, 'lists'));
    const list = lists.find((n) => n.endsWith('_binary-amd64_Packages'));
    if (!list) throw new Error(`apt kept no plain Packages list (${lists.join(' ')}):\n${run.all}`);
    return { log: run.all ?? '', packages: await readFile(join(apt, 'lists', list)) };
  };
  const fetched = () => served.map((s) => s.path.replace(/^\/dists\/unstable\/main\/binary-amd64\//, ''));
  /** Whole Packages files fetched, by name or by hash (not the patches' Index under Packages.diff/). */
  const wholeIndex = () => fetched().filter((p) => /^(Packages(\.xz|\.gz)?|by-hash\/.*)$/.test(p));
  const bytes = () => served.reduce((n, s) => n + s.bytes, 0);

  it('lists each file once in Release when an unchanged index is written anew, its patches gone from the served generation', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-relist-')));
    const publishOwn = (sources: string[], list = names) => publish(own, plan(list, sources), signer, options({ pdiffs: 3, plainIndexBytes: 0 }));
    try {
      await publishOwn(['s1']);
      await publishOwn(['s1'], [...names, 'pkg0200a']);
      // The served generation's patches of Packages lost (a damaged disk); the next changes Sources only.
      await rm(join(own.dists, 'unstable/main/binary-amd64/Packages.diff'), { recursive: true });
      await publishOwn(['s1', 's2'], [...names, 'pkg0200a']);
      const release = await readFile(join(own.dists, 'unstable/Release'), 'utf8');
      const lines = release.split('\n').filter((l) => /^ [0-9a-f]{32,64} /.test(l));
      expect(lines.filter((l, i) => lines.indexOf(l) !== i)).toEqual([]);
      expect(lines.some((l) => l.endsWith(' main/binary-amd64/Packages.xz'))).toBe(true);
      await expectReleaseTrue(own.dists);
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('lets apt update a small change with a patch, not the whole Packages, and end with the served index', async () => {
    await publishDiffs(names);
    const first = await aptUpdate();
    expect(wholeIndex()).toHaveLength(1);
    await publishDiffs([...names, 'pkg0200a']);
    expect(await readdir(join(diffLayout.dists, 'unstable/main/binary-amd64/Packages.diff'))).toHaveLength(3); // Index, by-hash, the patch
    const second = await aptUpdate();
    await expect(stat(join(diffLayout.dists, 'unstable/main/binary-amd64/Packages'))).rejects.toThrow(/ENOENT/);
    expect(Buffer.compare(second.packages, await servedText())).toBe(0);
    expect(second.packages.toString()).toContain('Package: pkg0200a\n');
    expect(wholeIndex()).toEqual([]);
    expect(fetched().some((p) => /^Packages\.diff\/.+\.gz$/.test(p))).toBe(true);
    const patchBytes = bytes();
    expect(first.packages.length).toBeGreaterThan(20 * 1024);
    expect(patchBytes).toBeLessThan(first.packages.length / 4); // Release files and one small patch
  });

  it('lets a client two publications behind apply both patches, and keeps only the newest patches', async () => {
    await publishDiffs([...names, 'pkg0200a', 'pkg0300a']);
    await publishDiffs([...names, 'pkg0200a', 'pkg0300a', 'pkg0100a']);
    const update = await aptUpdate();
    expect(fetched().filter((p) => /^Packages\.diff\/.+\.gz$/.test(p))).toHaveLength(2);
    expect(wholeIndex()).toEqual([]);
    expect(Buffer.compare(update.packages, await servedText())).toBe(0);
    // Kept: 3 patches (pdiffs: 3), the oldest dropped.
    await publishDiffs([...names, 'pkg0200a', 'pkg0300a', 'pkg0100a', 'pkg0000a']);
    const index = await readFile(join(diffLayout.dists, 'unstable/main/binary-amd64/Packages.diff/Index'), 'utf8');
    expect(index.match(/^SHA256-History:\n((?: .*\n)*)/m)![1].trim().split('\n')).toHaveLength(3);
    expect((await readdir(join(diffLayout.dists, 'unstable/main/binary-amd64/Packages.diff'))).filter((n) => n.endsWith('.gz'))).toHaveLength(3);
    const release = await readFile(join(diffLayout.dists, 'unstable/Release'), 'utf8');
    expect(release).toMatch(/^ [0-9a-f]{64} +\d+ main\/binary-amd64\/Packages\.diff\/Index$/m);
  });

  it('makes no patch for the first text of an index, nor for a change to most of it', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-pdiff-none-')));
    const diffDir = join(own.dists, 'unstable/main/binary-amd64/Packages.diff');
    const hasPatch = () => readdir(diffDir).then(() => true, () => false);
    try {
      await publish(own, plan([]), signer, options({ pdiffs: 3 }));
      await publish(own, plan(names), signer, options({ pdiffs: 3 }));
      expect(await hasPatch()).toBe(false);
      await publish(own, plan(names.map((n) => `${n}x`)), signer, options({ pdiffs: 3 }));
      expect(await hasPatch()).toBe(false);
      await publish(own, plan([...names.map((n) => `${n}x`), 'pkg0200b'].sort()), signer, options({ pdiffs: 3 }));
      expect(await hasPatch()).toBe(true);
      const index = createHash('sha256').update(await readFile(join(diffDir, 'Index'))).digest('hex');
      // A change to most of it again: no patch, no Index; a client holding the InRelease before still
      // fetches that Index by hash for the grace period (and falls back to the whole index).
      await publish(own, plan(names.map((n) => `${n}y`)), signer, options({ pdiffs: 3 }));
      expect(await readdir(diffDir)).toEqual(['by-hash']);
      expect(await readdir(join(diffDir, 'by-hash/SHA256'))).toEqual([index]);
      // Nor for an index that became empty, which apt does not fetch (Release gives it size 0).
      await publish(own, plan(names.map((n) => `${n}y`).slice(0, 1)), signer, options({ pdiffs: 3 }));
      expect(await hasPatch()).toBe(true);
      expect((await readdir(diffDir)).filter((n) => n.endsWith('.gz'))).toHaveLength(1);
      await publish(own, plan([]), signer, options({ pdiffs: 3 }));
      expect((await readdir(diffDir)).filter((n) => n !== 'by-hash')).toEqual([]);
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('compares whole texts only up to 4 MiB when the previous generation noted no chunks, and patches again from the next one', async () => {
    const own = new Layout(await mkdtemp(join(tmpdir(), 'aib-pdiff-large-')));
    const diffDir = join(own.dists, 'unstable/main/binary-amd64/Packages.diff');
    const hasPatch = () => readdir(diffDir).then(() => true, () => false);
    const many = Array.from({ length: 45_000 }, (_, i) => `pkg${String(i).padStart(5, '0')}`);
    try {
      await publish(own, plan(many), signer, options({ pdiffs: 3 }));
      expect((await unpacked(own.dists, 'unstable/main/binary-amd64/Packages')).length).toBeGreaterThan(4 * 1024 * 1024);
      const manifest = join(own.generations, (await currentGeneration(own))!, 'manifest.json');
      const { chunks: _, ...older } = JSON.parse(await readFile(manifest, 'utf8'));
      await writeFile(manifest, JSON.stringify(older));
      await publish(own, plan(many.filter((n) => n !== 'pkg20000')), signer, options({ pdiffs: 3 }));
      expect(await hasPatch()).toBe(false);
      expect((await unpacked(own.dists, 'unstable/main/binary-amd64/Packages')).toString()).not.toContain('Package: pkg20000\n');
      await publish(own, plan(many.filter((n) => n !== 'pkg20000' && n !== 'pkg30000')), signer, options({ pdiffs: 3 }));
      expect(await hasPatch()).toBe(true);
    } finally {
      await rm(own.root, { recursive: true, force: true });
    }
  });

  it('patches a removal from the changed chunks alone, and from the whole texts when the previous generation noted no chunks', async () => {
    const now = [...names, 'pkg0200a', 'pkg0300a', 'pkg0100a', 'pkg0000a'];
    await aptUpdate();
    await publishDiffs(now.filter((n) => n !== 'pkg0399'));
    let update = await aptUpdate();
    expect(wholeIndex()).toEqual([]);
    expect(Buffer.compare(update.packages, await servedText())).toBe(0);
    expect(update.packages.toString()).not.toContain('Package: pkg0399\n');
    // A manifest written before chunks were noted: the patch is made from the whole texts.
    const manifest = join(diffLayout.generations, (await currentGeneration(diffLayout))!, 'manifest.json');
    const { chunks, ...older } = JSON.parse(await readFile(manifest, 'utf8'));
    expect(Object.keys(chunks)).toContain('dists/unstable/main/binary-amd64/Packages');
    await writeFile(manifest, JSON.stringify(older));
    await publishDiffs(now.filter((n) => n !== 'pkg0399' && n !== 'pkg0001'));
    update = await aptUpdate();
    expect(wholeIndex()).toEqual([]);
    expect(Buffer.compare(update.packages, await servedText())).toBe(0);
    expect(update.packages.toString()).not.toContain('Package: pkg0001\n');
  });

  it('patches changes far apart in the index (an upload of foo and libfoo1) with a small patch, not one from the first to the last', async () => {
    const now = [...names, 'pkg0200a', 'pkg0300a', 'pkg0100a', 'pkg0000a'].filter((n) => n !== 'pkg0399' && n !== 'pkg0001');
    await aptUpdate();
    const before = await servedText();
    // Added near the start and near the end (each after its namesake, in the order the index has): one place each, everything between unchanged.
    await publishDiffs(now.flatMap((n) => (n === 'pkg0005' || n === 'pkg0395' ? [n, `${n}a`] : [n])));
    const update = await aptUpdate();
    expect(wholeIndex()).toEqual([]);
    expect(Buffer.compare(update.packages, await servedText())).toBe(0);
    expect(update.packages.toString()).toContain('Package: pkg0005a\n');
    expect(update.packages.toString()).toContain('Package: pkg0395a\n');
    const diffDir = join(diffLayout.dists, 'unstable/main/binary-amd64/Packages.diff');
    const newest = parseDiffIndex(await readFile(join(diffDir, 'Index'), 'utf8')).at(-1)!;
    // Two stanzas of about 400 bytes each, with the ed commands: not the 380 stanzas between them.
    expect(newest.patch.size).toBeLessThan(2000);
    expect(newest.patch.size).toBeLessThan(before.length / 50);
  });
});
