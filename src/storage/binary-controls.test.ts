import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDiskFullAfter } from '../../test/support/full-disk.js';
import { BinaryControls, type ControlFields } from './binary-controls.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aib-controls-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const path = (i: number) => `pool/main/p/p${i}/p${i}_1.0_amd64.deb`;
/** About 700 bytes a line, and every tenth a -dbgsym: 3,000 of them cross the 1 MiB blocks and batches. */
const control = (i: number): ControlFields => [
  ['Package', `p${i}`],
  ['Version', '1.0'],
  ['Description', `package ${i} ${'é'.repeat(i % 7)}\n ${'x'.repeat(600)}`],
  ...(i % 10 === 0 ? [['Auto-Built-Package', 'debug-symbols'] as [string, string]] : []),
];

const hex = (algorithm: string, i: number) => createHash(algorithm).update(path(i)).digest('hex');
const digest = (i: number) => ({ md5: hex('md5', i), sha256: hex('sha256', i) });
const entry = (i: number) => ({ path: path(i), control: control(i), ...digest(i) });

describe('the control store', () => {
  it('keeps where each control is, reads it back from disk, and knows the -dbgsym packages', async () => {
    const file = join(dir, 'many.jsonl');
    const store = await new BinaryControls(file).load();
    const all = Array.from({ length: 3000 }, (_, i) => entry(i));
    await store.add(all.slice(0, 1000));
    await store.add(all); // the first thousand again: noted once
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(3000);
    for (const s of [store, await new BinaryControls(file).load()]) {
      for (const i of [0, 1, 1499, 2999]) {
        expect(s.get(path(i))).toEqual(control(i));
        expect(s.debug(path(i))).toBe(i % 10 === 0);
        expect(s.digest(path(i))).toEqual(digest(i));
      }
      expect(s.digest('pool/none.deb')).toBeUndefined();
      expect(s.get('pool/none.deb')).toBeUndefined();
      // Many at once, in the order asked, across runs of lines and the unknown ones.
      const asked = [2999, 5, 'none', 4, 1500, 0].map((i) => (i === 'none' ? 'pool/none.deb' : path(i as number)));
      expect(s.getMany(asked)).toEqual([control(2999), control(5), undefined, control(4), control(1500), control(0)]);
      expect(s.getMany(all.map((e) => e.path))).toEqual(all.map((e) => e.control));
      expect(s.debug('pool/none.deb')).toBeUndefined();
    }
  });

  it('compacts to the files kept, and reads the same controls from the new file', async () => {
    const file = join(dir, 'compact.jsonl');
    const store = await new BinaryControls(file).load();
    await store.add(Array.from({ length: 2000 }, (_, i) => entry(i)));
    const keep = new Set(Array.from({ length: 2000 }, (_, i) => i).filter((i) => i % 3 === 0).map(path));
    await store.compact(keep);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(keep.size);
    await store.add([entry(5000)]);
    for (const s of [store, await new BinaryControls(file).load()]) {
      expect(s.get(path(1))).toBeUndefined();
      for (const i of [0, 3, 1998, 5000]) {
        expect(s.get(path(i))).toEqual(control(i));
        expect(s.digest(path(i))).toEqual(digest(i));
      }
    }
  });

  it('passes over a damaged line, cuts off a line a crash left unfinished, and starts the next on a line of its own', async () => {
    const file = join(dir, 'damaged.jsonl');
    await writeFile(file, `${JSON.stringify([path(1), control(1)])}\n{not json\n${JSON.stringify([path(2), control(2)])}\n`);
    await appendFile(file, JSON.stringify([path(3), control(3)]).slice(0, 30));
    const store = await new BinaryControls(file).load();
    expect([1, 2, 3].map((i) => store.debug(path(i)))).toEqual([false, false, undefined]);
    await store.add([entry(3)]);
    const again = await new BinaryControls(file).load();
    for (const i of [1, 2, 3]) expect(again.get(path(i))).toEqual(control(i));
  });

  it('supersedes a line from before digests were kept with a whole one, and keeps the digests through a compaction', async () => {
    const file = join(dir, 'old.jsonl');
    await writeFile(file, [1, 2, 3].map((i) => `${JSON.stringify([path(i), control(i)])}\n`).join(''));
    const store = await new BinaryControls(file).load();
    expect(store.get(path(2))).toEqual(control(2));
    expect(store.digest(path(2))).toBeUndefined();
    await store.add([entry(2), entry(4)]);
    await store.add([entry(2)]); // known whole now: not written again
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(5);
    for (const s of [store, await new BinaryControls(file).load()]) {
      expect([1, 2, 3, 4].map((i) => s.digest(path(i)))).toEqual([undefined, digest(2), undefined, digest(4)]);
      expect(s.get(path(2))).toEqual(control(2));
    }
    await store.compact(new Set([path(1), path(2), path(4)]));
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(3);
    const compacted = await new BinaryControls(file).load();
    expect([1, 2, 4].map((i) => compacted.digest(path(i)))).toEqual([undefined, digest(2), digest(4)]);
    expect([1, 2, 4].map((i) => compacted.get(path(i)))).toEqual([control(1), control(2), control(4)]);
  });

  it('rewrites itself when asked once superseded lines are half the size of the others, as after a start that completes lines from before digests were kept', async () => {
    const file = join(dir, 'upgraded.jsonl');
    const lines = async () => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown[]);
    await writeFile(file, Array.from({ length: 100 }, (_, i) => `${JSON.stringify([path(i), control(i)])}\n`).join(''));
    const store = await new BinaryControls(file).load();
    await store.add(Array.from({ length: 30 }, (_, i) => entry(i)));
    expect(await store.compactIfWasteful()).toBe(false); // 30 superseded: less than half of the 100 others
    expect(await lines()).toHaveLength(130);
    await store.add(Array.from({ length: 70 }, (_, i) => entry(30 + i)));
    expect(await store.compactIfWasteful()).toBe(true);
    const rewritten = await lines();
    expect(rewritten).toHaveLength(100);
    expect(rewritten.every((l) => l.length === 4)).toBe(true);
    await store.add([entry(200)]); // goes on after the rewrite, at its end
    for (const s of [store, await new BinaryControls(file).load()]) {
      for (const i of [0, 29, 30, 99, 200]) {
        expect(s.get(path(i))).toEqual(control(i));
        expect(s.digest(path(i))).toEqual(digest(i));
      }
    }
    expect(await lines()).toHaveLength(101);
    expect(await store.compactIfWasteful()).toBe(false);
  });

  it('refuses digests that are not an MD5 and a SHA-256 in hex, and notes nothing of that call', async () => {
    const file = join(dir, 'refused.jsonl');
    const store = await new BinaryControls(file).load();
    for (const bad of [{ md5: 'm', sha256: digest(1).sha256 }, { md5: digest(1).md5, sha256: digest(1).sha256.toUpperCase() }, { md5: digest(1).md5, sha256: `${digest(1).sha256}00` }]) {
      await expect(store.add([entry(0), { path: path(1), control: control(1), ...bad }])).rejects.toThrow(/refused\.jsonl: pool\/main\/p\/p1\/p1_1\.0_amd64\.deb: the digests given are not an MD5 and a SHA-256 in hex/);
    }
    expect(store.digest(path(0))).toBeUndefined();
    expect(await readFile(file, 'utf8').catch(() => '')).toBe('');
  });
  it('supersedes the line of a file removed from the pool when another file takes its path, not left compacted away (a crash, a full disk)', async () => {
    const file = join(dir, 'reused.jsonl');
    const store = await new BinaryControls(file).load();
    await store.add([entry(1)]);
    // The pool's file at that path removed, the store not compacted; then a rebuilt one placed there.
    const rebuilt = { path: path(1), control: [...control(1), ['Depends', 'libnew1']] as ControlFields, md5: hex('md5', 2), sha256: hex('sha256', 2) };
    await store.add([rebuilt]);
    for (const s of [store, await new BinaryControls(file).load()]) {
      expect(s.digest(path(1))).toEqual({ md5: rebuilt.md5, sha256: rebuilt.sha256 });
      expect(s.get(path(1))).toEqual(rebuilt.control);
    }
    // The same file again: nothing noted.
    await store.add([rebuilt]);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(2);
  });

  it('cuts off what an add that failed halfway (a full disk) wrote, so that the lines noted after it read back', async () => {
    const file = join(dir, 'failed.jsonl');
    const store = await new BinaryControls(file).load();
    await store.add([entry(0)]);
    const before = await readFile(file, 'utf8');
    // 400 lines of about 700 bytes: written in pieces of 64 KiB; the disk fills after the first.
    const writes = await withDiskFullAfter('writev', 1, () => expect(store.add(Array.from({ length: 400 }, (_, i) => entry(i + 1)))).rejects.toThrow('ENOSPC'));
    expect(writes).toBeGreaterThan(1);
    // Room again: the next add (a build joining its suite) reads back, now and after a restart.
    await store.add([entry(500)]);
    for (const s of [store, await new BinaryControls(file).load()]) {
      expect(s.get(path(500))).toEqual(control(500));
      expect(s.get(path(0))).toEqual(control(0));
      expect(s.get(path(1))).toBeUndefined();
    }
    expect(await readFile(file, 'utf8')).toBe(before + `${JSON.stringify([path(500), control(500), digest(500).md5, digest(500).sha256])}\n`);
  });
});
