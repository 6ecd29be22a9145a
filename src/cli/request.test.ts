import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { Layout } from '../storage/layout.js';
import { askQueue, BATCH_BYTES, SMALL_FILE_BYTES } from './request.js';

// Where the CLI's batches of copies end: each `after` of inBatches, recorded as it passes.
const batchEnds: number[][] = [];
vi.mock('../storage/files.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../storage/files.js')>();
  return {
    ...real,
    inBatches: <T>(items: T[], width: number, fn: (item: T) => Promise<void>, after?: (done: number) => Promise<void>, full?: () => boolean) => {
      const ends: number[] = [];
      batchEnds.push(ends);
      return real.inBatches(items, width, fn, async (done) => void (ends.push(done), await after?.(done)), full);
    },
  };
});

describe('staging the files of an include', () => {
  it('ends a batch of copies once it has copied BATCH_BYTES (a slow source still notes its progress), and copies every byte of each file', async () => {
    const dir = scratchDir('aib-request-');
    const root = join(dir, 'root');
    const debs = join(dir, 'debs');
    for (const d of [root, debs]) mkdirSync(d);
    // Small files (read on this thread in one go) of a MiB each, and one just past that (streamed).
    const sizes = [...Array(12).fill(SMALL_FILE_BYTES), SMALL_FILE_BYTES + 1, 10];
    const files = sizes.map((size, i) => {
      const path = join(debs, `p${i}_1.0_all.deb`);
      writeFileSync(path, Buffer.alloc(size, i + 1));
      return path;
    });
    batchEnds.length = 0;
    // No queue answers: the request is sent, its files staged, and then the wait gives up at once.
    await expect(askQueue(new Layout(root), { action: 'include', files }, { timeoutS: 0 })).rejects.toThrow('the queue did not answer within 0 s');
    const [ends] = batchEnds;
    // Four small files reach BATCH_BYTES (4 MiB): batches of 4, not one of all 14 (at most 32).
    expect(BATCH_BYTES / SMALL_FILE_BYTES).toBe(4);
    expect(ends).toEqual([4, 8, 12, 14]);
    const staging = join(root, 'state', 'requests', readdirSync(join(root, 'state', 'requests')).find((n) => n.endsWith('.files'))!);
    for (const [i, file] of files.entries()) expect(readFileSync(join(staging, `p${i}_1.0_all.deb`)).equals(readFileSync(file))).toBe(true);
  });
});
