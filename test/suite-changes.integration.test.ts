// The queue's record of suite contents on a real file system, with .debs dpkg-deb built: many
// controls read at once (xz, gzip, zstd and broken files), contents and controls read back
// after a restart, and repaired when a crash cut the control store short.
import { createHash } from 'node:crypto';
import { access, appendFile, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/config.js';
import type { JobRecord } from '../src/core/jobs.js';
import type { UploadRecord } from '../src/core/uploads.js';
import { withHistory } from '../src/core/retention.js';
import { readIncludedDebs } from '../src/daemons/queue/included-debs.js';
import { SuiteChanges } from '../src/daemons/queue/suite-changes.js';
import type { Paragraph } from '../src/debian/deb822.js';
import { MAX_CONTROL_BYTES, MAX_CONTROL_FILE_BYTES, readDebControls } from '../src/process/debian-tools.js';
import { Layout } from '../src/storage/layout.js';
import { NOTED_EVERY, markStaged } from '../src/storage/staging.js';
import { heapObjects } from './support/heap.js';
import { makeBinaryPackage } from './support/packages.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'aib-contents-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('reading many .deb controls', () => {
  it('reads xz, gzip, none and zstd control members alike, and names what is wrong with a broken file', async () => {
    const dir = join(work, 'controls');
    await mkdir(dir);
    const plain = await makeBinaryPackage(dir, { name: 'ctl-xz', version: '1.0-1' });
    const tree = join(dir, 'tree');
    await execa('dpkg-deb', ['-R', plain, tree]);
    const variants: string[] = [plain];
    for (const z of ['gzip', 'none', 'zstd']) {
      await writeFile(join(tree, 'DEBIAN', 'control'), (await readFile(join(tree, 'DEBIAN', 'control'), 'utf8')).replace(/^Package: .*$/m, `Package: ctl-${z}`));
      const out = join(dir, `ctl-${z}_1.0-1_amd64.deb`);
      await execa('dpkg-deb', ['--root-owner-group', `-Z${z}`, '--build', tree, out]);
      variants.push(out);
    }
    // Cut short in its control member, and in its data member (dpkg-deb, reading the control member alone, misses that).
    const bytes = await readFile(plain);
    const broken = [join(dir, 'short-control_1_amd64.deb'), join(dir, 'short-data_1_amd64.deb')];
    await writeFile(broken[0], bytes.subarray(0, 300));
    await writeFile(broken[1], bytes.subarray(0, bytes.length - 100));
    const many = Array.from({ length: 300 }, (_, i) => variants[i % variants.length]);
    const controls = await readDebControls([...many, ...broken]);
    expect(controls.slice(0, 4).map((c) => (c instanceof Error ? c.message : c.first('Package')))).toEqual(['ctl-xz', 'ctl-gzip', 'ctl-none', 'ctl-zstd']);
    expect(controls.slice(0, 300).every((c) => !(c instanceof Error))).toBe(true);
    expect((controls[300] as Error).message).toMatch(/^not a well-formed \.deb: truncated: its control\.tar\.xz member needs \d+ bytes, the file has 300$/);
    expect((controls[301] as Error).message).toMatch(/^not a well-formed \.deb: truncated: its data\.tar\.xz member needs \d+ bytes, the file has \d+$/);
    // The xz members decompressed as soon as they hold a byte (a batch for every member read,
    // as for members of megabytes): the same.
    const said = (c: Paragraph | Error) => (c instanceof Error ? c.message : c.first('Package'));
    expect((await readDebControls([...many, ...broken], [], 1)).map(said)).toEqual(controls.map(said));
  });

  it('refuses a .deb whose control member or control file is past its bound, reads one of several xz streams or another xz filter, names a broken check', async () => {
    const dir = join(work, 'members');
    await mkdir(dir);
    const plain = await makeBinaryPackage(dir, { name: 'ctl-member', version: '1.0-1' });
    const run = async (command: string, args: string[], input?: Buffer) => Buffer.from((await execa(command, args, { input, encoding: 'buffer' })).stdout);
    const controlTar = await run('xz', ['-dc'], await run('ar', ['p', plain, 'control.tar.xz']));
    const data = await run('ar', ['p', plain, 'data.tar.xz']);
    // A .deb of this control member and the plain one's data, put together as dpkg-deb does.
    const deb = async (name: string, controlName: string, control: Buffer) => {
      const parts = join(dir, name);
      await mkdir(parts);
      await writeFile(join(parts, 'debian-binary'), '2.0\n');
      await writeFile(join(parts, controlName), control);
      await writeFile(join(parts, 'data.tar.xz'), data);
      await execa('ar', ['qcD', join(dir, `${name}.deb`), 'debian-binary', controlName, 'data.tar.xz'], { cwd: parts });
      return join(dir, `${name}.deb`);
    };
    const said = async (debs: string[]) => (await readDebControls(debs)).map((c) => (c instanceof Error ? c.message : c.first('Package')));
    // One byte past the bound, as a tar would be: zeros compress to a few KiB.
    const huge = Buffer.alloc(MAX_CONTROL_BYTES + 1);
    const xzBomb = await deb('xz-bomb', 'control.tar.xz', await run('xz', ['-0', '-T1', '-c'], huge));
    const gzBomb = await deb('gz-bomb', 'control.tar.gz', await run('gzip', ['-1', '-c'], huge));
    const plainTar = await deb('plain-tar', 'control.tar', huge);
    // A control file of 1 MiB and a byte, in a well-made .deb (xz and zstd: dpkg-deb reads the latter).
    const tree = join(dir, 'tree');
    await execa('dpkg-deb', ['-R', plain, tree]);
    const control = await readFile(join(tree, 'DEBIAN', 'control'), 'utf8');
    const long = `${control.trimEnd()}\n ${'x'.repeat(MAX_CONTROL_FILE_BYTES - control.length - 1)}\n`;
    expect(Buffer.byteLength(long)).toBe(MAX_CONTROL_FILE_BYTES + 1);
    await writeFile(join(tree, 'DEBIAN', 'control'), long);
    const longControl: string[] = [];
    for (const z of ['xz', 'zstd']) {
      longControl.push(join(dir, `long-${z}_1.0-1_amd64.deb`));
      await execa('dpkg-deb', ['--root-owner-group', `-Z${z}`, '--build', tree, longControl.at(-1)!]);
    }
    // A zstd control member (read by dpkg-deb) holding a file of 64 MiB: dpkg-deb is stopped there.
    await writeFile(join(tree, 'DEBIAN', 'control'), control);
    await writeFile(join(tree, 'DEBIAN', 'md5sums'), huge);
    const zstdBomb = join(dir, 'zstd-bomb_1.0-1_amd64.deb');
    await execa('dpkg-deb', ['--root-owner-group', '-Zzstd', '--build', tree, zstdBomb]);
    const longFile = `not a usable .deb: its control file is ${MAX_CONTROL_FILE_BYTES + 1} bytes, more than 1 MiB (a few KiB is usual)`;
    expect(await said([xzBomb, gzBomb, plainTar, ...longControl, zstdBomb])).toEqual([
      `not a usable .deb: its control.tar.xz member says it holds ${MAX_CONTROL_BYTES + 1} bytes, more than 64 MiB (a few KiB is usual)`,
      'not a usable .deb: its control.tar.gz member holds more than 64 MiB (a few KiB is usual)',
      `not a usable .deb: its control.tar member is ${MAX_CONTROL_BYTES + 1} bytes, more than 64 MiB (a few KiB is usual)`,
      longFile,
      longFile,
      'not a usable .deb: its control member holds more than 64 MiB (a few KiB is usual)',
    ]);
    // Read by the batch's xz: another filter. By dpkg-deb: two streams in one member.
    const x86 = await deb('x86', 'control.tar.xz', await run('xz', ['--x86', '--lzma2', '-c'], controlTar));
    const half = controlTar.length / 2;
    const twoStreams = await deb('two-streams', 'control.tar.xz', Buffer.concat([await run('xz', ['-c'], controlTar.subarray(0, half)), await run('xz', ['-c'], controlTar.subarray(half))]));
    expect(await said([x86, twoStreams])).toEqual(['ctl-member', 'ctl-member']);
    // A flipped byte in a member's CRC64: its batch is read again by dpkg-deb, which names it.
    const good = await run('xz', ['-c'], controlTar);
    const indexSize = (good.readUInt32LE(good.length - 8) + 1) * 4;
    const wrongCheck = Buffer.from(good);
    wrongCheck[good.length - 12 - indexSize - 1] ^= 0x01;
    const brokenCheck = await deb('check', 'control.tar.xz', wrongCheck);
    const same = await deb('same', 'control.tar.xz', good);
    const brokenSaid = expect.stringMatching(/^not a readable \.deb \(dpkg-deb.*(corrupt|integrity)/);
    expect(await said([brokenCheck, same])).toEqual([brokenSaid, 'ctl-member']);
    // Among 40 members, dpkg-deb reads the broken one and at most 3 beside it: its batch is read
    // again in halves (counted by a dpkg-deb on PATH that notes each run and runs Debian's).
    const counting = join(dir, 'counting');
    await mkdir(counting);
    await writeFile(join(counting, 'dpkg-deb'), `#!/bin/sh\necho run >> ${counting}/runs\nexec /usr/bin/dpkg-deb "$@"\n`, { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${counting}:${path}`;
    try {
      const forty = Array.from({ length: 40 }, (_, i) => (i === 25 ? brokenCheck : same));
      expect(await said(forty)).toEqual(forty.map((d) => (d === brokenCheck ? brokenSaid : 'ctl-member')));
    } finally {
      process.env.PATH = path;
    }
    const runs = (await readFile(join(counting, 'runs'), 'utf8')).trim().split('\n');
    expect(runs.length).toBeLessThanOrEqual(4);
    // 200 broken members: halved for 50 xz runs at most, a quarter of them (every batch halved would take 127),
    // then left to dpkg-deb whole; each named. Counted by an xz on PATH likewise (a spare xz
    // started and not yet used counts too: one, or two).
    await writeFile(join(counting, 'xz'), `#!/bin/sh\necho run >> ${counting}/xz-runs\nexec /usr/bin/xz "$@"\n`, { mode: 0o755 });
    process.env.PATH = `${counting}:${path}`;
    try {
      const broken = Array.from({ length: 200 }, () => brokenCheck);
      expect(await said(broken)).toEqual(broken.map(() => brokenSaid));
    } finally {
      process.env.PATH = path;
    }
    const xzRuns = (await readFile(join(counting, 'xz-runs'), 'utf8')).trim().split('\n');
    expect(xzRuns.length).toBeGreaterThan(1);
    expect(xzRuns.length).toBeLessThanOrEqual(1 + 50 + 2);
    // A member whose stream names a check xz does not know (type 0x02, made from a CRC32 one):
    // xz warns and exits 2, having verified nothing; its batch is read again in halves too, and
    // dpkg-deb (which reads it) runs at most 4 times (40 before: the whole batch).
    const crc32 = (b: Buffer) => {
      let c = ~0;
      for (const byte of b) {
        c ^= byte;
        for (let j = 0; j < 8; j++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
      }
      return ~c >>> 0;
    };
    const odd = Buffer.from(await run('xz', ['--check=crc32', '-c'], controlTar));
    odd[7] = 0x02;
    odd.writeUInt32LE(crc32(odd.subarray(6, 8)), 8);
    odd[odd.length - 3] = 0x02;
    odd.writeUInt32LE(crc32(odd.subarray(odd.length - 8, odd.length - 2)), odd.length - 12);
    const oddCheck = await deb('odd-check', 'control.tar.xz', odd);
    await writeFile(join(counting, 'runs'), '');
    process.env.PATH = `${counting}:${path}`;
    try {
      const withOdd = Array.from({ length: 40 }, (_, i) => (i === 7 ? oddCheck : same));
      expect(await said(withOdd)).toEqual(withOdd.map(() => 'ctl-member'));
    } finally {
      process.env.PATH = path;
    }
    const oddRuns = (await readFile(join(counting, 'runs'), 'utf8')).trim().split('\n').filter(Boolean);
    expect(oddRuns.length).toBeGreaterThan(0);
    expect(oddRuns.length).toBeLessThanOrEqual(4);
    // A member that says it holds nothing, last of its batch: cut once xz's output has ended,
    // the batch read in one xz run (taken for a failed batch, it took 9 for these 41).
    const empty = await deb('empty', 'control.tar.xz', await run('xz', ['-c'], Buffer.alloc(0)));
    await writeFile(join(counting, 'xz-runs'), '');
    process.env.PATH = `${counting}:${path}`;
    let emptyLast: string[];
    try {
      emptyLast = await said([...Array.from({ length: 40 }, () => same), empty]);
    } finally {
      process.env.PATH = path;
    }
    expect(emptyLast).toEqual([...Array.from({ length: 40 }, () => 'ctl-member'), 'empty.deb: the control member has no control file']);
    const emptyRuns = (await readFile(join(counting, 'xz-runs'), 'utf8')).trim().split('\n').filter(Boolean);
    expect(emptyRuns.length).toBeLessThanOrEqual(1 + 1);
  }, 60_000);
});

describe('reading included .debs', () => {
  it('holds whole files up to its bound, and reads those past it from disk alike', async () => {
    const dir = join(work, 'included');
    await mkdir(dir);
    const names: string[] = [];
    for (let i = 0; i < 6; i++) names.push((await makeBinaryPackage(dir, { name: `held-${i}`, version: '1.0-1' })).split('/').pop()!);
    const suite = parseConfig('suites:\n  unstable: {}\n', 'archive.yaml').suites[0];
    const oneFile = (await readFile(join(dir, names[0]))).length;
    const view = (r: Awaited<ReturnType<typeof readIncludedDebs>>) => r.map((x) => ('binary' in x ? [x.binary.path, x.digest.sha256, x.binary.size, x.control.length] : x.refused));
    const all = view(await readIncludedDebs(dir, names, suite, undefined));
    expect(all.every((x) => Array.isArray(x))).toBe(true);
    // Two files' bytes and a little: the others are streamed and their controls read again.
    expect(view(await readIncludedDebs(dir, names, suite, undefined, 2 * oneFile + 100))).toEqual(all);
    expect(view(await readIncludedDebs(dir, names, suite, undefined, 0))).toEqual(all);
    // A FIFO planted among them is refused at once, unread; the others are read.
    await execa('mkfifo', [join(dir, 'planted_1.0_all.deb')]);
    const withFifo = view(await readIncludedDebs(dir, [...names, 'planted_1.0_all.deb'], suite, undefined));
    expect(withFifo.slice(0, names.length)).toEqual(all);
    expect(withFifo[names.length]).toBe('not a regular file (a FIFO)');
  });
});

describe('an include whose files are still being copied', () => {
  it('reads, checks and places the files the CLI has copied, once it notes the first NOTED_EVERY, and none it has not', async () => {
    const config = parseConfig('suites:\n  unstable: {}\n', 'archive.yaml');
    const layout = new Layout(join(work, 'staged-root'));
    await mkdir(layout.state, { recursive: true });
    const staging = join(work, 'staged-files');
    await mkdir(staging);
    // The first and the last file real packages; those between not (refused, and cheap to make),
    // one of them not even named as a package, so that the files the queue reads (named as
    // packages) and those the CLI counts (all, in order) are not the same.
    const first = (await makeBinaryPackage(staging, { name: 'first', version: '1.0-1' })).split('/').pop()!;
    const broken = Array.from({ length: NOTED_EVERY - 1 }, (_, i) => `broken-${i}_1_amd64.deb`);
    for (const name of [...broken, 'README.txt']) await writeFile(join(staging, name), 'not a package');
    await mkdir(join(work, 'staged-later'));
    const last = (await makeBinaryPackage(join(work, 'staged-later'), { name: 'last', version: '1.0-1' })).split('/').pop()!;
    const names = [first, 'README.txt', ...broken, last];
    await markStaged(staging, { count: names.length - 1, bytes: 0 }); // all but the last
    const contents = await new SuiteChanges(layout, () => config, () => undefined).load();
    const answer = contents.include(staging, names, 'unstable');
    // The first file reaches the pool while the last is not yet there (a part waited for its last file).
    const pooled = join(layout.public, 'pool/main/f/first', first);
    for (let waited = 0; !(await access(pooled).then(() => true, () => false)); waited += 20) {
      expect(waited, `${pooled} not placed while the CLI still copies`).toBeLessThan(20_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    await copyFile(join(work, 'staged-later', last), join(staging, last));
    await markStaged(staging, { count: names.length, bytes: 0 });
    const done = await answer;
    expect(done.included?.slice().map((b) => b.package)).toEqual(['first', 'last']);
    expect(done.errors).toHaveLength(NOTED_EVERY);
    // The request's names are let go as their files are placed or refused: only the one never read is left.
    expect(names.filter(Boolean)).toEqual(['README.txt']);
  });
});

describe('the archive contents', () => {
  const config = parseConfig('suites:\n  unstable:\n    components: [main, contrib]\n', 'archive.yaml');
  let layout: Layout;
  const open = () => new SuiteChanges(layout, () => config, () => undefined).load();

  beforeAll(async () => {
    layout = new Layout(join(work, 'root'));
    await mkdir(layout.state, { recursive: true });
    const staging = join(work, 'staging');
    await mkdir(staging);
    for (const [name, section] of [['one', 'misc'], ['two', 'contrib/net'], ['three', 'doc']]) {
      await makeBinaryPackage(staging, { name, version: '1.0-1', section });
    }
    await markStaged(staging, { count: 3, bytes: 0 }); // as the CLI notes once it has copied the files
    const answer = await (await open()).include(staging, ['one_1.0-1_amd64.deb', 'two_1.0-1_amd64.deb', 'three_1.0-1_amd64.deb'], 'unstable');
    expect(answer.ok, answer.message).toBe(true);
  });

  it('reads its contents back after a restart, with each control read once and not written into the suite record', async () => {
    const contents = await open();
    const [unstable] = contents.all();
    expect(unstable.binaries.map((b) => `${b.package} ${b.component} ${contents.controls([b])[0].find(([k]) => k === 'Package')?.[1]}`).sort()).toEqual([
      'one main one', 'three main three', 'two contrib two',
    ]);
    expect(await readFile(join(layout.suites, 'unstable.json'), 'utf8')).not.toContain('"control"');
    expect((await readFile(layout.controls, 'utf8')).trim().split('\n')).toHaveLength(3);
  });

  it('keeps no SHA-1 of a binary, also when a record written before carries it', async () => {
    expect(await readFile(join(layout.suites, 'unstable.json'), 'utf8')).not.toContain('"sha1"');
    const path = join(layout.suites, 'unstable.json');
    const record = JSON.parse(await readFile(path, 'utf8')) as { binaries: Record<string, unknown>[] };
    await writeFile(path, JSON.stringify({ ...record, binaries: record.binaries.map((b) => ({ ...b, sha1: '0'.repeat(40) })) }));
    const [unstable] = (await open()).all();
    expect(unstable.binaries).toHaveLength(3);
    expect(unstable.binaries.flatMap((b) => Object.keys(b))).not.toContain('sha1');
  });

  /** A pool file's digests, from its bytes. */
  const digestOf = async (path: string) => {
    const bytes = await readFile(join(layout.public, path));
    return { md5: createHash('md5').update(bytes).digest('hex'), sha256: createHash('sha256').update(bytes).digest('hex') };
  };

  it('keeps each binary\'s digests in the control store, not in the suite record', async () => {
    const contents = await open();
    const record = await readFile(join(layout.suites, 'unstable.json'), 'utf8');
    for (const field of ['"md5"', '"sha256"']) expect(record).not.toContain(field);
    for (const b of contents.all()[0].binaries) {
      expect(Object.keys(b)).not.toContain('sha256');
      expect(contents.digest(b)).toEqual(await digestOf(b.path));
    }
  });

  it('holds each pool path once after a restart: a member shares the control store\'s string', async () => {
    const contents = await open();
    const paths = contents.all()[0].binaries.map((b) => b.path);
    // The list here, the members and the control store hold the same three strings (six with a copy in each member).
    expect((await heapObjects()).filter((o) => o.type === 'string' && paths.includes(o.name))).toHaveLength(paths.length);
  });

  it('takes the digests a record from before carries into whole lines of the control store', async () => {
    const path = join(layout.suites, 'unstable.json');
    const record = JSON.parse(await readFile(path, 'utf8')) as { binaries: { path: string }[] };
    // As written before: control lines [path, fields], the members' digests in the suite's record.
    const lines = (await readFile(layout.controls, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown[]);
    await writeFile(layout.controls, lines.map((l) => `${JSON.stringify(l.slice(0, 2))}\n`).join(''));
    const old = await Promise.all(record.binaries.map(async (b) => ({ ...b, ...(await digestOf(b.path)) })));
    await writeFile(path, JSON.stringify({ ...record, binaries: old }));
    const contents = await open();
    for (const b of contents.all()[0].binaries) expect(contents.digest(b)).toEqual(await digestOf(b.path));
    // Whole lines now supersede the old ones, which the start's rewrite left out: the next start finds the digests there.
    const after = (await readFile(layout.controls, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown[]);
    expect(after.map((l) => l.length)).toEqual([4, 4, 4]);
    await writeFile(path, JSON.stringify(record));
    const again = await open();
    for (const b of again.all()[0].binaries) expect(again.digest(b)).toEqual(await digestOf(b.path));
  });

  it('reads a control again from its .deb when a crash cut the control store short, and never glues a new line to the cut one', async () => {
    const lines = (await readFile(layout.controls, 'utf8')).trim().split('\n');
    await writeFile(layout.controls, `${lines.slice(0, 2).join('\n')}\n${lines[2].slice(0, 20)}`);
    const contents = await open();
    expect(contents.all()[0].binaries.every((b) => contents.controls([b])[0].length > 5)).toBe(true);
    // Its digests too, from the pool file: the suite's record holds none.
    for (const b of contents.all()[0].binaries) expect(contents.digest(b)).toEqual(await digestOf(b.path));
    // The next control noted after the restart must be a line of its own that parses.
    await makeBinaryPackage(join(work, 'staging'), { name: 'four', version: '1.0-1' });
    await markStaged(join(work, 'staging'), { count: 1, bytes: 0 });
    expect((await contents.include(join(work, 'staging'), ['four_1.0-1_amd64.deb'], 'unstable')).ok).toBe(true);
    const stored = (await readFile(layout.controls, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as [string, unknown]);
    expect(stored.map(([path]) => path.split('/').pop()).sort()).toEqual(expect.arrayContaining(['four_1.0-1_amd64.deb', 'one_1.0-1_amd64.deb']));
  });
});

describe('the journal of suite contents and pool history', () => {
  const config = parseConfig('suites:\n  unstable:\n    components: [main]\n', 'archive.yaml');
  let layout: Layout;
  let staging: string;
  const open = () => new SuiteChanges(layout, () => config, () => undefined).load();
  const listing = (c: SuiteChanges) => c.all().map((s) => ({ id: s.id, binaries: s.binaries.map((b) => `${b.package} ${b.version}`).sort() }));

  beforeAll(async () => {
    layout = new Layout(join(work, 'journal-root'));
    await mkdir(layout.state, { recursive: true });
    staging = join(work, 'journal-staging');
    await mkdir(staging);
    for (let i = 0; i < 6; i++) await makeBinaryPackage(staging, { name: `j${i}`, version: '1.0-1' });
    await makeBinaryPackage(staging, { name: 'j0', version: '2.0-1' });
    // Each request below names at most 2 of these files, all in place (storage/staging.ts).
    await markStaged(staging, { count: 2, bytes: 0 });
  });

  it('writes a change as a line in the journal, not the whole record, and reads the same contents back', async () => {
    const contents = await open();
    expect((await contents.include(staging, ['j0_1.0-1_amd64.deb', 'j1_1.0-1_amd64.deb'], 'unstable')).ok).toBe(true);
    const base = await readFile(join(layout.suites, 'unstable.json'), 'utf8');
    for (const n of ['j2', 'j3']) expect((await contents.include(staging, [`${n}_1.0-1_amd64.deb`], 'unstable')).ok).toBe(true);
    expect((await contents.include(staging, ['j0_2.0-1_amd64.deb'], 'unstable')).ok).toBe(true);
    // The base is as the first change left it; the journal holds one line per later change.
    expect(await readFile(join(layout.suites, 'unstable.json'), 'utf8')).toBe(base);
    const journal = (await readFile(join(layout.suites, 'unstable.journal'), 'utf8')).trim().split('\n');
    expect(journal).toHaveLength(3);
    expect(journal[2]).toContain('"binariesOut":["pool/main/j/j0/j0_1.0-1_amd64.deb"]');
    expect(journal.join('\n')).not.toContain('"control"');
    expect(listing(await open())).toEqual(listing(contents));
    expect(listing(contents)[0].binaries).toEqual(['j0 2.0-1', 'j1 1.0-1', 'j2 1.0-1', 'j3 1.0-1']);
    expect((await readFile(`${layout.poolHistory}.journal`, 'utf8')).trim().split('\n').length).toBeGreaterThanOrEqual(3);
  });

  it('writes a first history too long for the journal as its base, a source at a time, as noting each version makes it', async () => {
    const root = new Layout(join(work, 'first-history-root'));
    await mkdir(root.state, { recursive: true });
    const dir = join(work, 'first-history-staging');
    await mkdir(dir);
    // 3,000 packages, a change of about 290 KB (past the 256 KiB of FOLD_BYTES): copies of one whose control is
    // not compressed, its name changed in place (to one of the same length).
    const model = await makeBinaryPackage(dir, { name: 'mzzzzz', version: '1.0-1' });
    await execa('dpkg-deb', ['-R', model, join(dir, 'tree')]);
    await execa('dpkg-deb', ['--root-owner-group', '-Znone', '--build', join(dir, 'tree'), model]);
    await rm(join(dir, 'tree'), { recursive: true });
    const bytes = await readFile(model);
    await rm(model);
    // Given last to first: written a source at a time, the history lists them by name.
    const names = Array.from({ length: 3000 }, (_, i) => `m${String(2999 - i).padStart(5, '0')}_1.0-1_amd64.deb`);
    for (const name of names) await writeFile(join(dir, name), Buffer.from(bytes.toString('latin1').replace('Package: mzzzzz', `Package: ${name.split('_')[0]}`), 'latin1'));
    await markStaged(dir, { count: names.length, bytes: 0 });
    const contents = await new SuiteChanges(root, () => config, () => undefined).load();
    const answer = await contents.include(dir, names, 'unstable');
    expect(answer.message).toBe('included 3000 of 3000 package(s) into unstable');
    // No journal: the base, whose history is what noting each package's version makes.
    await expect(access(`${root.poolHistory}.journal`)).rejects.toThrow();
    const base = JSON.parse(await readFile(root.poolHistory, 'utf8')) as { journalSeq: number; history: Record<string, unknown> };
    const noted = withHistory({}, [...answer.included!].map((b) => ({ source: b.package, version: b.version, files: [b.path] })));
    expect(base).toEqual({ journalSeq: 0, history: noted });
    expect(Object.keys(base.history)).toEqual(Array.from({ length: 3000 }, (_, i) => `m${String(i).padStart(5, '0')}`));
    // The next change is a line of the journal after it.
    await makeBinaryPackage(dir, { name: 'mzzzzz', version: '1.0-2' });
    await markStaged(dir, { count: 1, bytes: 0 });
    expect((await contents.include(dir, ['mzzzzz_1.0-2_amd64.deb'], 'unstable')).ok).toBe(true);
    expect(await readFile(`${root.poolHistory}.journal`, 'utf8')).toBe(`${JSON.stringify([1, [{ source: 'mzzzzz', version: '1.0-2', files: ['pool/main/m/mzzzzz/mzzzzz_1.0-2_amd64.deb'] }]])}\n`);
  });

  it('ignores and cuts off a line a crash left half-written, and goes on from there', async () => {
    const path = join(layout.suites, 'unstable.journal');
    const before = listing(await open());
    await appendFile(path, '[99,{"shape":{"id":"unst');
    await appendFile(`${layout.poolHistory}.journal`, '[99,[{"sou');
    const contents = await open();
    expect(listing(contents)).toEqual(before);
    expect((await readFile(path, 'utf8')).endsWith('\n')).toBe(true);
    expect((await contents.include(staging, ['j4_1.0-1_amd64.deb'], 'unstable')).ok).toBe(true);
    expect(listing(await open())[0].binaries).toContain('j4 1.0-1');
  });

  it('refuses a journal damaged before its last line, naming the file and the line', async () => {
    const path = join(layout.suites, 'unstable.journal');
    const good = await readFile(path, 'utf8');
    await writeFile(path, `not json\n${good}`);
    await expect(open()).rejects.toThrow(`${path}: line 1 is not JSON`);
    await writeFile(path, good);
  });

  it('reads only the history of the sources whose files a collection may remove, and notes what it cuts as a change', async () => {
    const keepOne = parseConfig('suites:\n  unstable:\n    components: [main]\npublish:\n  keep_versions: 1\n', 'archive.yaml');
    const contents = await new SuiteChanges(layout, () => keepOne, () => undefined).load();
    const before = listing(contents);
    // The history so far as a base, with j1's entry damaged: a collection that parsed it would fail.
    const lines = (await readFile(`${layout.poolHistory}.journal`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as [number, { source: string; version: string; files: string[] }[]]);
    const history = withHistory({}, lines.flatMap(([, batch]) => batch));
    expect(Object.keys(history).sort()).toEqual(['j0', 'j1', 'j2', 'j3', 'j4']);
    const seq = lines[lines.length - 1][0];
    const text = JSON.stringify({ journalSeq: seq, history: { ...history, j1: 'DAMAGED' } }).replace('"DAMAGED"', '[{"version":"1.0-1","files":[tru]}]');
    await writeFile(layout.poolHistory, text);
    await rm(`${layout.poolHistory}.journal`);
    // j0 1.0-1 is in no suite (2.0-1 replaced it): with keep_versions 1 its file goes.
    const old = join(layout.public, 'pool/main/j/j0/j0_1.0-1_amd64.deb');
    await readFile(old);
    expect(await contents.collectGarbage([])).toEqual(['pool/main/j/j0/j0_1.0-1_amd64.deb']);
    await expect(readFile(old)).rejects.toThrow('ENOENT');
    await readFile(join(layout.public, 'pool/main/j/j0/j0_2.0-1_amd64.deb'));
    // The base is left as it was; the version cut is one line of the journal.
    expect(await readFile(layout.poolHistory, 'utf8')).toBe(text);
    expect(await readFile(`${layout.poolHistory}.journal`, 'utf8')).toBe(`${JSON.stringify([seq + 1, [{ source: 'j0', version: '1.0-1', drop: true }]])}\n`);
    expect(listing(await open())).toEqual(before);
  });

  it('reads a history base from before the journal whole, and still cuts only the sources whose files a collection may remove', async () => {
    const keepOne = parseConfig('suites:\n  unstable:\n    components: [main]\npublish:\n  keep_versions: 1\n', 'archive.yaml');
    const contents = await new SuiteChanges(layout, () => keepOne, () => undefined).load();
    const file = (n: string, v: string) => `pool/main/j/${n}/${n}_${v}_amd64.deb`;
    // The history alone, as it was written before the journal: no journalSeq, no "history" key.
    const history = Object.fromEntries(['j1', 'j2', 'j3', 'j4'].map((n) => [n, [{ version: '1.0-1', files: [file(n, '1.0-1')] }]]));
    await writeFile(layout.poolHistory, JSON.stringify({ j0: [{ version: '2.0-1', files: [file('j0', '2.0-1')] }], ...history }));
    await rm(`${layout.poolHistory}.journal`, { force: true });
    expect((await contents.remove('j2', 'unstable')).ok).toBe(true);
    expect(await contents.collectGarbage([])).toEqual([file('j2', '1.0-1')]);
    // j2 is in no suite: its version is cut, and no other source's.
    expect(await readFile(`${layout.poolHistory}.journal`, 'utf8')).toBe(`${JSON.stringify([1, [{ source: 'j2', version: '1.0-1', drop: true }]])}\n`);
  });
});

describe('a build joining its suite', () => {
  it("does not take over a package another source published while it was held back: that one is left out, said, and the rest join", async () => {
    const layout = new Layout(join(work, 'joining'));
    await mkdir(layout.state, { recursive: true });
    const config = parseConfig('suites:\n  unstable: {}\n', 'archive.yaml');
    const logged: string[] = [];
    const suites = await new SuiteChanges(layout, () => config, (m) => logged.push(m)).load();
    const digest = (n: number) => ({ size: n, md5: String(n).padStart(32, '0'), sha1: String(n).padStart(40, '0'), sha256: String(n).padStart(64, '0') });
    const source = async (name: string, version: string) =>
      suites.addSource({ id: `u-${name}`, suite: 'unstable', source: name, version, sourceStanza: [['Package', name], ['Version', version]], sourceFiles: [] } as unknown as UploadRecord);
    const binary = (pkg: string, version: string, from: string, n: number) => ({
      control: [['Package', pkg], ['Version', version], ['Architecture', 'amd64'], ['Source', `${from} (${version})`]] as [string, string][],
      path: `pool/main/${from[0]}/${from}/${pkg}_${version.replace(/^\d+:/, '')}_amd64.deb`,
      ...digest(n),
    });
    const build = (from: string, version: string, binaries: ReturnType<typeof binary>[]) =>
      ({ id: `u-${from}-amd64`, kind: 'build', source: from, version, suite: 'unstable', binaries, artifacts: [] }) as unknown as JobRecord;
    // foo's libfoo1 is published; evil's build of the same name (a higher version) was checked
    // before that and joins after it.
    await source('foo', '1.0-1');
    await suites.addBuild(build('foo', '1.0-1', [binary('libfoo1', '1.0-1', 'foo', 1)]), true);
    await source('evil', '1.0-1');
    await suites.addBuild(build('evil', '1.0-1', [binary('libfoo1', '99:1', 'evil', 2), binary('evil-tools', '1.0-1', 'evil', 3)]), true);
    const held = suites.all().find((c) => c.id === 'unstable')!.binaries.map((b) => `${b.package} ${b.version} ${b.source}`).sort();
    expect(held).toEqual(['evil-tools 1.0-1 evil', 'libfoo1 1.0-1 foo']);
    expect(logged).toContain('job u-evil-amd64: libfoo1 not published: unstable has it from source foo (allow_binary_takeover is off)');
  });
});


describe('an include of an older version than the suite or the request has', () => {
  const config = parseConfig('suites:\n  unstable:\n    components: [main]\n', 'archive.yaml');
  let staging: string;
  beforeAll(async () => {
    staging = join(work, 'older-staging');
    await mkdir(staging);
    for (const version of ['1.0-1', '2.0-1']) await makeBinaryPackage(staging, { name: 'old', version });
    await makeBinaryPackage(staging, { name: 'other', version: '1.0-1' });
    await markStaged(staging, { count: 3, bytes: 0 });
  });
  const fresh = async (name: string) => {
    const layout = new Layout(join(work, name));
    await mkdir(layout.state, { recursive: true });
    return { layout, contents: await new SuiteChanges(layout, () => config, () => undefined).load() };
  };
  const held = (c: SuiteChanges) => c.all()[0].binaries.map((b) => `${b.package} ${b.version}`).sort();

  it('refuses it, naming the newer one, rather than say it went in while the suite kept the newer', async () => {
    const { layout, contents } = await fresh('older-than-suite');
    expect((await contents.include(staging, ['old_2.0-1_amd64.deb'], 'unstable')).ok).toBe(true);
    const answer = await contents.include(staging, ['old_1.0-1_amd64.deb', 'other_1.0-1_amd64.deb'], 'unstable');
    expect(answer.ok).toBe(false);
    expect(answer.errors).toEqual(['old_1.0-1_amd64.deb: unstable has old 2.0-1 amd64, newer than 1.0-1: a suite holds one version of a package (to go back to an older one, archive rm it first)']);
    expect(answer.message).toMatch(/^included 1 of 2 package\(s\) into unstable; refused:/);
    expect([...answer.included!].map((b) => b.package)).toEqual(['other']);
    expect(held(contents)).toEqual(['old 2.0-1', 'other 1.0-1']);
    // Not placed in the pool either.
    await expect(access(join(layout.public, 'pool/main/o/old/old_1.0-1_amd64.deb'))).rejects.toThrow();
  });

  it('includes the older of two versions one request brings when the newer cannot be placed', async () => {
    const { layout, contents } = await fresh('older-newer-unplaced');
    // Another file already at the newer one's pool path (placeFile never replaces one).
    await mkdir(join(layout.public, 'pool/main/o/old'), { recursive: true });
    await writeFile(join(layout.public, 'pool/main/o/old/old_2.0-1_amd64.deb'), 'another file');
    const answer = await contents.include(staging, ['old_1.0-1_amd64.deb', 'old_2.0-1_amd64.deb'], 'unstable');
    expect(answer.errors).toEqual([expect.stringMatching(/^old_2\.0-1_amd64\.deb: .*already exists with other content/)]);
    expect(held(contents)).toEqual(['old 1.0-1']);
  });

  it('refuses the older of two versions one request brings, in either order', async () => {
    for (const [i, names] of [['old_1.0-1_amd64.deb', 'old_2.0-1_amd64.deb'], ['old_2.0-1_amd64.deb', 'old_1.0-1_amd64.deb']].entries()) {
      const { layout, contents } = await fresh(`older-in-request-${i}`);
      const answer = await contents.include(staging, names, 'unstable');
      expect(answer.errors).toEqual(['old_1.0-1_amd64.deb: this request brings old 2.0-1 amd64 too, newer than 1.0-1: a suite holds one version of a package']);
      expect([...answer.included!].map((b) => `${b.package} ${b.version}`)).toEqual(['old 2.0-1']);
      expect(answer.message).toMatch(/^included 1 of 2 package\(s\) into unstable; refused:/);
      expect(held(contents)).toEqual(['old 2.0-1']);
      expect(held(await new SuiteChanges(layout, () => config, () => undefined).load())).toEqual(['old 2.0-1']);
      // One pool file backs no member now (the older's, when it was placed first): a collection is due.
      expect(answer.replaced).toBe(i === 0 ? 1 : 0);
    }
  });
});

describe('a snapshot whose name archive.yaml later gives to a suite', () => {
  it('is not what a copy from that name reads: the suite is, as for publishing', async () => {
    const layout = new Layout(join(work, 'shadowed-root'));
    await mkdir(layout.state, { recursive: true });
    const staging = join(work, 'shadowed-staging');
    await mkdir(staging);
    await makeBinaryPackage(staging, { name: 'gone', version: '1.0-1' });
    await markStaged(staging, { count: 1, bytes: 0 });
    let config = parseConfig('suites:\n  unstable:\n    components: [main]\n', 'archive.yaml');
    const contents = await new SuiteChanges(layout, () => config, () => undefined).load();
    expect((await contents.include(staging, ['gone_1.0-1_amd64.deb'], 'unstable')).ok).toBe(true);
    expect((await contents.snapshot('testing', 'unstable')).ok).toBe(true);
    expect((await contents.remove('gone', 'unstable')).ok).toBe(true);
    config = parseConfig('suites:\n  unstable:\n    components: [main]\n  testing:\n    components: [main]\n', 'archive.yaml');
    // The snapshot is no longer published, but held as long as the suite has not replaced it: its file stays.
    expect(await contents.collectGarbage([])).toEqual([]);
    await expect(contents.copy('gone', 'testing', 'unstable')).rejects.toThrow('testing has no source package or binaries from gone');
    expect(contents.all().find((c) => c.id === 'unstable')!.binaries).toEqual([]);
  });
});

describe('an include of a package another source publishes', () => {
  it('is refused, as a build or a copy of it is, unless the suite allows the takeover', async () => {
    const make = async (name: string, version: string, source: string) => {
      const dir = join(work, `takeover-${source}`);
      await mkdir(dir, { recursive: true });
      await makeBinaryPackage(dir, { name, version, source });
      await markStaged(dir, { count: 1, bytes: 0 });
      return dir;
    };
    const [fromA, fromB] = [await make('libx1', '1.0-1', 'srca'), await make('libx1', '2.0-1', 'srcb')];
    // Both in one request.
    const both = join(work, 'takeover-both');
    await mkdir(both);
    for (const [dir, name] of [[fromA, 'libx1_1.0-1_amd64.deb'], [fromB, 'libx1_2.0-1_amd64.deb']]) await copyFile(join(dir, name), join(both, name));
    await markStaged(both, { count: 2, bytes: 0 });
    for (const allow of [false, true]) {
      const config = parseConfig(`suites:\n  unstable:\n    components: [main]\n    allow_binary_takeover: ${allow}\n`, 'archive.yaml');
      const layout = new Layout(join(work, `takeover-root-${allow}`));
      await mkdir(layout.state, { recursive: true });
      const contents = await new SuiteChanges(layout, () => config, () => undefined).load();
      expect((await contents.include(fromA, ['libx1_1.0-1_amd64.deb'], 'unstable')).ok).toBe(true);
      const answer = await contents.include(fromB, ['libx1_2.0-1_amd64.deb'], 'unstable');
      const held = contents.all()[0].binaries.map((b) => `${b.package} ${b.version} ${b.source}`);
      if (allow) {
        expect(answer.ok, answer.message).toBe(true);
        expect(held).toEqual(['libx1 2.0-1 srcb']);
      } else {
        expect(answer.errors).toEqual(['libx1_2.0-1_amd64.deb: binary package libx1 is already published in unstable by source srca, so source srcb may not take it over; remove it first (archive rm srca --suite unstable) or set suites.unstable.allow_binary_takeover: true in archive.yaml']);
        expect(held).toEqual(['libx1 1.0-1 srca']);
      }
      const one = new Layout(join(work, `takeover-one-${allow}`));
      await mkdir(one.state, { recursive: true });
      const inOne = await new SuiteChanges(one, () => config, () => undefined).load();
      const answerOne = await inOne.include(both, ['libx1_1.0-1_amd64.deb', 'libx1_2.0-1_amd64.deb'], 'unstable');
      const heldOne = inOne.all()[0].binaries.map((b) => `${b.package} ${b.version} ${b.source}`);
      if (allow) expect(heldOne).toEqual(['libx1 2.0-1 srcb']);
      else {
        expect(answerOne.errors).toEqual(['libx1_2.0-1_amd64.deb: this request brings binary package libx1 from source srca too, so source srcb may not take it over; bring one of them or set suites.unstable.allow_binary_takeover: true in archive.yaml']);
        expect(heldOne).toEqual(['libx1 1.0-1 srca']);
      }
    }
  });
});

describe('a suite taken out of archive.yaml', () => {
  it('keeps its files and controls through a collection, and is published as it was when it comes back', async () => {
    const both = parseConfig('suites:\n  unstable: {}\n  testing: {}\n', 'archive.yaml');
    const alone = parseConfig('suites:\n  unstable: {}\n', 'archive.yaml');
    let config = both;
    const layout = new Layout(join(work, 'vanished'));
    await mkdir(layout.state, { recursive: true });
    const staging = join(work, 'vanished-staging');
    await mkdir(staging);
    await makeBinaryPackage(staging, { name: 'kept', version: '1.0-1' });
    await markStaged(staging, { count: 1, bytes: 0 });
    let contents = await new SuiteChanges(layout, () => config, () => undefined).load();
    expect((await contents.include(staging, ['kept_1.0-1_amd64.deb'], 'testing')).ok).toBe(true);
    config = alone;
    expect(await contents.collectGarbage([])).toEqual([]);
    await access(join(layout.public, 'pool/main/k/kept/kept_1.0-1_amd64.deb'));
    config = both;
    contents = await new SuiteChanges(layout, () => config, () => undefined).load();
    const testing = contents.all().find((c) => c.id === 'testing')!;
    expect(testing.binaries.map((b) => `${b.package} ${b.version}`)).toEqual(['kept 1.0-1']);
    // Its control is still there to publish it from.
    expect((await readFile(layout.controls, 'utf8'))).toContain('pool/main/k/kept/kept_1.0-1_amd64.deb');
  });
});

describe("a migration's copy", () => {
  it('copies the version it was decided for, and refuses once the suite it copies from holds another', async () => {
    const config = parseConfig('suites:\n  unstable: {}\n  testing: {}\n', 'archive.yaml');
    const layout = new Layout(join(work, 'copy-version'));
    await mkdir(layout.state, { recursive: true });
    const staging = join(work, 'copy-version-staging');
    await mkdir(staging);
    for (const version of ['1.0-1', '2.0-1']) await makeBinaryPackage(staging, { name: 'chain', version });
    await markStaged(staging, { count: 2, bytes: 0 });
    const contents = await new SuiteChanges(layout, () => config, () => undefined).load();
    expect((await contents.include(staging, ['chain_1.0-1_amd64.deb'], 'unstable')).ok).toBe(true);
    expect((await contents.copy('chain', 'unstable', 'testing', '1.0-1')).ok).toBe(true);
    // unstable has moved on to 2.0-1 since a decision for 1.0-1 was made.
    expect((await contents.include(staging, ['chain_2.0-1_amd64.deb'], 'unstable')).ok).toBe(true);
    await expect(contents.copy('chain', 'unstable', 'testing', '1.0-1')).rejects.toThrow('unstable has chain 2.0-1 now, not the 1.0-1 decided on');
    expect(contents.all().find((c) => c.id === 'testing')!.binaries.map((b) => b.version)).toEqual(['1.0-1']);
  });
});
