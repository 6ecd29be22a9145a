import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Layout } from './layout.js';
import { collectPool } from './pool-gc.js';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

describe('the pool garbage collection', () => {
  it('removes the files it is not told to keep, and the folders that leaves empty', async () => {
    const root = await mkdtemp(join(tmpdir(), 'aib-gc-'));
    roots.push(root);
    const layout = new Layout(root);
    const files = ['pool/main/a/a/a_1_amd64.deb', 'pool/main/a/a/a_2_amd64.deb', 'pool/main/b/b/b_1_amd64.deb', 'pool/contrib/c/c/c_1.dsc'];
    for (const f of files) {
      await mkdir(join(layout.public, f, '..'), { recursive: true });
      await writeFile(join(layout.public, f), f);
    }
    await mkdir(join(layout.pool, 'main/e/empty'), { recursive: true });
    const removed = await collectPool(layout, new Set([files[1], files[3]]));
    expect(removed.sort()).toEqual([files[0], files[2]]);
    expect(await readdir(join(layout.pool, 'main'))).toEqual(['a']);
    expect(await readdir(join(layout.pool, 'main/a/a'))).toEqual(['a_2_amd64.deb']);
    expect(await readdir(join(layout.pool, 'contrib/c/c'))).toEqual(['c_1.dsc']);
  });

  it('asks for the files kept besides those held only when some file is outside them, and only about those', async () => {
    const root = await mkdtemp(join(tmpdir(), 'aib-gc-'));
    roots.push(root);
    const layout = new Layout(root);
    const files = ['pool/main/a/a/a_1_amd64.deb', 'pool/main/a/a/a_2_amd64.deb', 'pool/main/b/b/b_1.dsc'];
    for (const f of files) {
      await mkdir(join(layout.public, f, '..'), { recursive: true });
      await writeFile(join(layout.public, f), f);
    }
    const asked: string[][] = [];
    const alsoKept = (kept: string[]) => async (outside: string[]) => (asked.push([...outside].sort()), new Set(kept));
    // Every file held: nothing else is read, nothing removed but an empty folder.
    await mkdir(join(layout.pool, 'main/e/empty/deeper'), { recursive: true });
    expect(await collectPool(layout, new Set(files), alsoKept([]))).toEqual([]);
    expect(asked).toEqual([]);
    expect((await readdir(join(layout.pool, 'main'))).sort()).toEqual(['a', 'b']);
    // Two outside: asked about those two; the one it keeps stays.
    expect(await collectPool(layout, new Set([files[1]]), alsoKept([files[0]]))).toEqual([files[2]]);
    expect(asked).toEqual([[files[0], files[2]]]);
    expect(await readdir(join(layout.pool, 'main'))).toEqual(['a']);
    expect((await readdir(join(layout.pool, 'main/a/a'))).sort()).toEqual(['a_1_amd64.deb', 'a_2_amd64.deb']);
  });

  it('removes nothing when the pool is not there', async () => {
    const root = await mkdtemp(join(tmpdir(), 'aib-gc-'));
    roots.push(root);
    expect(await collectPool(new Layout(root), new Set())).toEqual([]);
  });
});
