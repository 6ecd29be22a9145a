import { link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withDiskFullAfter } from '../../test/support/full-disk.js';
import { scratchDir } from '../../test/support/scratch.js';
import { jsonParts, MadeAsWritten, readAll, readJson, RecordAsWritten, removeTemporaries, writeJson } from './json-files.js';

// Each record read as it is, unless a test puts `reading` around the reads (to count those open
// at once). Not a vi.fn: it would hold every buffer read, in its results.
const reads = vi.hoisted(() => ({ around: undefined as undefined | ((read: () => Promise<Buffer>, path: string) => Promise<Buffer>) }));
vi.mock('./open-regular-file.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./open-regular-file.js')>();
  const readStateFile: typeof real.readStateFile = (...args) => (reads.around ? reads.around(() => real.readStateFile(...args), args[0]) : real.readStateFile(...args));
  return { ...real, readStateFile };
});

describe('readJson', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aib-json-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a folder\'s large records one at a time: a file of 64 MiB under 16 names (hard links) takes the memory of a few, not of 16', async () => {
    await writeFile(join(dir, 'a.json'), `${' '.repeat(64 * 1024 * 1024)}{}`);
    for (let i = 0; i < 15; i++) await link(join(dir, 'a.json'), join(dir, `b${i}.json`));
    let peak = 0;
    const base = process.memoryUsage().arrayBuffers;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)), 1);
    try {
      expect(await readAll(dir)).toHaveLength(16);
    } finally {
      clearInterval(sample);
    }
    // All at once: 16 buffers of 64 MiB (1 GiB) held together.
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(320 * 1024 * 1024);
  });

  it('reads a folder of more records than files may be open at once, a few at a time, in the order of their names', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `${String(i).padStart(3, '0')}.json`);
    await Promise.all(names.map((n, i) => writeFile(join(dir, n), JSON.stringify({ i }))));
    // A process allowed 128 open files (ulimit -n): one more at once fails, as open(2) does.
    let open = 0;
    let most = 0;
    reads.around = async (read, path) => {
      if (open >= 128) throw Object.assign(new Error(`EMFILE: too many open files, open '${path}'`), { code: 'EMFILE' });
      most = Math.max(most, ++open);
      try {
        return await read();
      } finally {
        open--;
      }
    };
    try {
      expect(await readAll(dir)).toEqual(names.map((_, i) => ({ i })));
    } finally {
      reads.around = undefined;
    }
    expect(most).toBeLessThanOrEqual(64);
  });

  it('reads what writeJson wrote', async () => {
    await writeJson(join(dir, 'r.json'), { a: 1 });
    expect(await readJson(join(dir, 'r.json'))).toEqual({ a: 1 });
  });

  it('writes a short record indented, and a long one as one line of the JSON its parts make', async () => {
    await writeJson(join(dir, 'short.json'), { ok: true, included: [{ package: 'a' }] });
    expect(await readFile(join(dir, 'short.json'), 'utf8')).toBe(`${JSON.stringify({ ok: true, included: [{ package: 'a' }] }, null, 2)}\n`);
    // Longer than the 64 KiB piece a line is written in: several pieces through one buffer.
    const answer = { ok: true, included: Array.from({ length: 5000 }, (_, i) => ({ package: `p${i}`, version: '1.0-1', path: `pool/main/p/p${i}/p${i}_1.0-1_amd64.deb` })) };
    await writeJson(join(dir, 'long.json'), answer);
    const text = await readFile(join(dir, 'long.json'), 'utf8');
    expect(text.length).toBeGreaterThan(3 * 64 * 1024);
    expect(text).toBe(`${JSON.stringify(answer)}\n`);
    expect(await readJson(join(dir, 'long.json'))).toEqual(answer);
  });

  it('says undefined for a file that is not there', async () => {
    expect(await readJson(join(dir, 'none.json'))).toBeUndefined();
  });

  it('refuses a file that does not parse, naming it', async () => {
    await writeFile(join(dir, 'torn.json'), '{"a": ');
    await expect(readJson(join(dir, 'torn.json'))).rejects.toThrow(`cannot read record ${join(dir, 'torn.json')}: `);
  });
});

describe('jsonParts', () => {
  const many = <T,>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
  const values: [string, unknown][] = [
    ['a short record', { a: 1, b: [1, 2], c: undefined, d: 'x' }],
    ['a long array of records', many(2500, (i) => ({ path: `pool/p${i}.deb`, size: i, gone: undefined }))],
    ['a long array with holes JSON.stringify makes null', many(2001, (i) => (i % 7 === 0 ? undefined : i % 11 === 0 ? () => i : i))],
    ['a record of long arrays and short members around them', { id: 'u', sources: [], binaries: many(1500, (i) => ({ p: i })), seq: 3, none: undefined, more: many(1001, (i) => i), last: { x: 1 } }],
    ['a record of many keys, some undefined', Object.fromEntries(many(2300, (i): [string, unknown] => [`k${i}`, i % 5 === 0 ? undefined : [i, `${i}`]]))],
    ['long arrays inside a long array', many(1200, (i) => (i === 600 ? many(3000, (j) => j) : i))],
    ['a long record in a record', { history: Object.fromEntries(many(1001, (i): [string, unknown] => [`s ${i}`, { files: [`f${i}`] }])), journalSeq: 9 }],
    ['values with toJSON', many(1001, (i) => new Date(i * 1000))],
    ['a long array in a short one (a journal line: [seq, change])', [7, many(2500, (i) => ({ source: `s${i}`, files: [`f${i}`] }))]],
    ['a long record in a short array in a record', { a: [{ b: Object.fromEntries(many(1001, (i): [string, unknown] => [`k${i}`, i])) }] }],
    ['a list made as written, in a short record', { ok: true, included: new MadeAsWritten(many(2500, (i) => i), (i) => ({ package: `p${i}`, path: `pool/p${i}.deb` })) }],
    ['a short list made as written', [new MadeAsWritten([1, 2], (i) => ({ n: i, gone: undefined }))]],
    ['a record made as written, in a short record', { journalSeq: 2, history: new RecordAsWritten(1500, () => many(1500, (i): [string, unknown] => [`s${i}`, i % 9 === 0 ? undefined : [{ version: `${i}`, files: [`f${i}`] }]])) }],
    ['a short record made as written', [new RecordAsWritten(2, () => [['a', 1], ['b', undefined]])]],
  ];
  for (const [what, value] of values) {
    it(`makes the text JSON.stringify makes: ${what}`, () => {
      const parts = [...jsonParts(value)];
      expect(parts.join('')).toBe(JSON.stringify(value));
      // Long values come in parts, none of them the whole (a fifth at most).
      if (!what.startsWith('a short')) {
        expect(parts.length).toBeGreaterThan(2);
        expect(Math.max(...parts.map((p) => p.length))).toBeLessThan(JSON.stringify(value).length / 5);
      }
    });
  }
});

describe('MadeAsWritten', () => {
  it('makes its members a batch at a time as its JSON is written, each once, and again as it is iterated', () => {
    let made = 0;
    const list = new MadeAsWritten(Array.from({ length: 1000 }, (_, i) => i), (i) => (made++, { n: i }));
    const parts = jsonParts({ included: list })[Symbol.iterator]();
    for (let part = parts.next(); made < 100 && !part.done; part = parts.next());
    expect(made).toBe(100);
    for (let part = parts.next(); !part.done; part = parts.next());
    expect(made).toBe(1000);
    expect(list.length).toBe(1000);
    expect([...list].slice(998)).toEqual([{ n: 998 }, { n: 999 }]);
    expect(list.slice(1, 3)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});

describe('RecordAsWritten', () => {
  it('makes its members as its JSON is written, not before, and all of them', () => {
    let made = 0;
    const record = new RecordAsWritten(1000, function* () {
      for (let i = 0; i < 1000; i++) yield [`k${i}`, (made++, { n: i })] as [string, { n: number }];
    });
    const parts = jsonParts({ journalSeq: 1, history: record })[Symbol.iterator]();
    for (let part = parts.next(); made < 100 && !part.done; part = parts.next());
    expect(made).toBe(100);
    for (let part = parts.next(); !part.done; part = parts.next());
    expect(made).toBe(1000);
    expect(JSON.parse(JSON.stringify(record))).toEqual(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, { n: i }])));
  });
});

describe('writeFileAtomic', () => {
  it('leaves no temporary file beside the record when a write fails (a full disk) or its rename does, and the record as it was', async () => {
    const dir = scratchDir('aib-atomic-');
    const path = join(dir, 'job.json');
    await writeJson(path, { a: 1 });
    // Long: written in parts, by writev, which fails from its first call as on a full disk.
    const long = { ok: true, included: Array.from({ length: 5000 }, (_, i) => ({ package: `p${i}` })) };
    await withDiskFullAfter('writev', 0, () => expect(writeJson(path, long)).rejects.toThrow('ENOSPC'));
    expect(await readdir(dir)).toEqual(['job.json']);
    expect(await readJson(path)).toEqual({ a: 1 });
    // The rename fails: the record's name is a folder with something in it.
    await mkdir(join(dir, 'cut.json', 'x'), { recursive: true });
    await expect(writeJson(join(dir, 'cut.json'), { a: 1 })).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['cut.json', 'job.json']);
  });
});

describe('writeFileAtomic errors', () => {
  it('names the record a write failed for, its code kept (the queue tells a full disk by it)', async () => {
    const path = join(scratchDir('aib-atomic-'), 'job.json');
    let failed: NodeJS.ErrnoException | undefined;
    const long = Array.from({ length: 5000 }, (_, i) => ({ package: `p${i}` }));
    await withDiskFullAfter('writev', 0, async () => {
      failed = await writeJson(path, long).then(() => undefined, (err: NodeJS.ErrnoException) => err);
    });
    expect(failed?.message).toBe(`ENOSPC: no space left on device, write '${path}'`);
    expect([failed?.code, failed?.path]).toEqual(['ENOSPC', path]);
  });
});

describe('removeTemporaries', () => {
  it('removes the temporary files a crash left, and no record whose own name holds ".tmp-"', async () => {
    const dir = scratchDir('aib-temporaries-');
    // A write a crash cut short before its rename.
    await writeFile(join(dir, 'cut.json'), '{"a": 1}');
    await writeFile(join(dir, `cut.json.tmp-${process.pid}-k3x9q`), '{"a": 2');
    // Records of a snapshot named release.tmp-1, of an upload of a source named evil.tmp-x; a
    // compaction's temporary file of the control store.
    const records = ['release.tmp-1.json', 'evil.tmp-x_1.0_source.json', 'a.tmp-1-b.json'];
    for (const name of [...records, 'controls.jsonl.tmp-4242']) await writeFile(join(dir, name), '{}');
    await removeTemporaries(dir);
    expect((await readdir(dir)).sort()).toEqual([...records, 'cut.json'].sort());
  });
});
