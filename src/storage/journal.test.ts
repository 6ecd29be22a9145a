import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withDiskFullAfter } from '../../test/support/full-disk.js';
import { Journaled } from './journal.js';

// Each read of the journal's files as it is, unless a test puts the writer's work after one.
const reads = vi.hoisted(() => ({ after: undefined as undefined | (() => Promise<void>) }));
vi.mock('./open-regular-file.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./open-regular-file.js')>();
  const readStateFile: typeof real.readStateFile = async (...args) => {
    const read = await real.readStateFile(...args);
    const after = reads.after;
    reads.after = undefined;
    await after?.();
    return read;
  };
  return { ...real, readStateFile };
});

interface List {
  items: { name: string; size: number }[];
}

describe('Journaled', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aib-journal-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const open = () =>
    new Journaled<List, { add: List['items'] }>(join(dir, 'list.json'), join(dir, 'list.journal'), {
      toBase: (value, journalSeq) => ({ ...value, journalSeq }),
      fromBase: (raw) => {
        const { journalSeq, ...value } = raw as List & { journalSeq: number };
        return { value, journalSeq };
      },
      apply: (value, change) => ({ items: [...value.items, ...change.add] }),
    });
  const items = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ name: `pool/main/i/item/item-${from + i}_1.0_amd64.deb`, size: from + i }));
  /** `add` appended to the journal of `value`; the value it leads to. */
  const appended = async (j: ReturnType<typeof open>, value: List, add: List['items']): Promise<List> => {
    const next = { items: [...value.items, ...add] };
    await j.append({ add }, () => next);
    return next;
  };

  it('opens without reading a base that names its seq first, goes on from its journal, and repairs a line cut short as load does', async () => {
    let decoded = 0;
    const seqFirst = () =>
      new Journaled<List, { add: List['items'] }>(join(dir, 'list.json'), join(dir, 'list.journal'), {
        toBase: (value, journalSeq) => ({ journalSeq, ...value }),
        fromBase: (raw) => {
          decoded++;
          const { journalSeq, ...value } = raw as List & { journalSeq: number };
          return { value, journalSeq };
        },
        apply: (value, change) => ({ items: [...value.items, ...change.add] }),
      });
    let value: List = { items: items(0, 2) };
    const j = seqFirst();
    await j.replace(value);
    value = await appended(j, value, items(2, 1));
    // A crash mid-append left a line without its newline.
    await writeFile(join(dir, 'list.journal'), `${await readFile(join(dir, 'list.journal'), 'utf8')}[2,{"add":[{"na`);
    const opened = seqFirst();
    await opened.open();
    expect(decoded).toBe(0);
    expect(await readFile(join(dir, 'list.journal'), 'utf8')).toBe(`${JSON.stringify([1, { add: items(2, 1) }])}\n`);
    // The next change goes on from the journal's last: a load reads every change back.
    value = await appended(opened, value, items(3, 1));
    expect(await readFile(join(dir, 'list.journal'), 'utf8')).toContain(`${JSON.stringify([2, { add: items(3, 1) }])}\n`);
    expect(await seqFirst().load()).toEqual(value);
    // And it folds into the base when the journal grows past a quarter of it, as after a load.
    const folding = seqFirst();
    await folding.open();
    value = await appended(folding, value, items(4, 6000));
    await expect(stat(join(dir, 'list.journal'))).rejects.toThrow('ENOENT');
    expect(await seqFirst().load()).toEqual(value);
    // A damaged line before the last is refused, naming the file and the line.
    await writeFile(join(dir, 'list.journal'), `not json\n${JSON.stringify([9, { add: [] }])}\n`);
    await expect(seqFirst().open()).rejects.toThrow(`${join(dir, 'list.journal')}: line 1 is not JSON`);
    await writeFile(join(dir, 'list.journal'), `5\n`);
    await expect(seqFirst().load()).rejects.toThrow(`${join(dir, 'list.journal')}: line 1 is not [number, change]`);
    // A base that is no JSON, named.
    await writeFile(join(dir, 'list.json'), '{"items": [');
    await expect(seqFirst().load()).rejects.toThrow(`${join(dir, 'list.json')}: not JSON`);
    // A base that does not begin with its seq (this file's other codec) is read whole.
    await open().replace(value);
    decoded = 0;
    await seqFirst().open();
    expect(decoded).toBe(1);
  });

  it('reads part of the value: the wanted members of a base object, and each change cut', async () => {
    type Sizes = { journalSeq?: number; sizes: Record<string, number> };
    const j = new Journaled<Sizes, [string, number][]>(join(dir, 's.json'), join(dir, 's.journal'), {
      toBase: (value, journalSeq) => ({ journalSeq, sizes: value.sizes }),
      fromBase: (raw) => ({ value: { sizes: (raw as Sizes).sizes }, journalSeq: (raw as Sizes).journalSeq ?? 0 }),
      apply: (value, change) => ({ sizes: { ...value.sizes, ...Object.fromEntries(change) } }),
    });
    await j.replace({ sizes: { a: 1, b: 2, c: 3 } });
    await j.append([['a', 10], ['d', 4]], () => ({ sizes: {} }));
    await appendFile(join(dir, 's.journal'), '[3,[["b",');
    const wanted = (k: string) => k === 'a' || k === 'd';
    expect(await j.loadPart({ base: { sizes: wanted }, change: (c) => c.filter(([k]) => wanted(k)) })).toEqual({ sizes: { a: 10, d: 4 } });
    // As the writer does, it cut off the line a crash left short; changes go on from there.
    await j.append([['b', 20]], () => ({ sizes: {} }));
    expect(await j.load()).toEqual({ sizes: { a: 10, b: 20, c: 3, d: 4 } });
  });

  it('writes a small change as a line, a large one (written in parts) as the base, and reads the same value back', async () => {
    const j = open();
    let value: List = { items: items(0, 2) };
    await j.replace(value);
    value = await appended(j, value, items(2, 1));
    expect((await readFile(join(dir, 'list.journal'), 'utf8')).split('\n')).toEqual([JSON.stringify([1, { add: items(2, 1) }]), '']);
    // 6,000 members (over 256 KiB of text): more than a quarter of the base, made into text a hundred at a time.
    value = await appended(j, value, items(3, 6000));
    await expect(stat(join(dir, 'list.journal'))).rejects.toThrow('ENOENT');
    expect(JSON.parse(await readFile(join(dir, 'list.json'), 'utf8'))).toEqual({ ...value, journalSeq: 1 });
    value = await appended(j, value, items(6003, 1));
    expect(await open().load()).toEqual(value);
  });

  it('asks for the value a change leads to only when it folds, and folds one read back from disk', async () => {
    const j = open();
    await j.replace({ items: items(0, 2) });
    // A caller that does not hold the value (the pool history) reads it back when asked.
    let asked = 0;
    const readBack = (add: List['items']) => async () => {
      asked++;
      const held = (await open().load())!;
      return { items: [...held.items, ...add] };
    };
    await j.append({ add: items(2, 1) }, readBack(items(2, 1)));
    expect(asked).toBe(0);
    await j.append({ add: items(3, 6000) }, readBack(items(3, 6000)));
    expect(asked).toBe(1);
    await expect(stat(join(dir, 'list.journal'))).rejects.toThrow('ENOENT');
    expect((await open().load())!.items).toEqual(items(0, 6003));
  });

  /** `writer` runs after the next read of a file, before the one after it. */
  const afterFirstRead = (writer: () => Promise<void>) => void (reads.after = writer);

  it('reads, beside the writer, the value as the writer folded it when the fold comes between its reads of the journal and the base', async () => {
    const j = open();
    let value: List = { items: items(0, 2) };
    await j.replace(value);
    value = await appended(j, value, items(2, 1));
    let folded: List | undefined;
    afterFirstRead(async () => {
      // Folded (a new base, the journal removed), and a journal begun afresh after it.
      folded = value = await appended(j, value, items(3, 6000));
      await expect(stat(join(dir, 'list.journal'))).rejects.toThrow('ENOENT');
      value = await appended(j, value, items(6003, 1));
    });
    // Read the other way round, it had the first base and the new journal's line, without the change of line 1 or the fold's.
    expect(await open().load({ repair: false })).toEqual(folded);
    expect(await open().load({ repair: false })).toEqual(value);
  });

  it('reads none, beside the writer, of a value removed between its reads of the journal and the base', async () => {
    const j = open();
    const value: List = { items: items(0, 2) };
    await j.replace(value);
    await appended(j, value, items(2, 1));
    afterFirstRead(() => j.remove());
    expect(await open().load({ repair: false })).toBeUndefined();
  });

  it('leaves no line cut short when the disk fills mid-append: the change is refused, the next one reads back', async () => {
    const j = open();
    let value: List = { items: items(0, 2) };
    await j.replace(value);
    value = await appended(j, value, items(2, 1));
    const before = await readFile(join(dir, 'list.journal'), 'utf8');
    // 1,500 members (about 100 KB): a line written in two pieces (64 KiB each), under the size that makes a base.
    // The disk fills after the first part: every later write of a file fails, as on a full disk.
    // Refused naming the journal, its code kept (the queue tells a full disk by it).
    const refused = { message: `ENOSPC: no space left on device, write '${join(dir, 'list.journal')}'`, code: 'ENOSPC' };
    const writes = await withDiskFullAfter('write', 1, () => expect(appended(j, value, items(3, 1500))).rejects.toMatchObject(refused));
    expect(writes).toBeGreaterThan(1);
    expect(await readFile(join(dir, 'list.journal'), 'utf8')).toBe(before);
    value = await appended(j, value, items(1503, 1));
    expect(await open().load()).toEqual(value);
  });
});
