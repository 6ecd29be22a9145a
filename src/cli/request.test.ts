import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
  /** A file of 4 MiB included alone, `change` called on it (through an open descriptor) once the CLI has begun its copy; the staging folder. */
  const includeWhileChanging = async (change: (fd: number, size: number) => number | undefined) => {
    const dir = scratchDir('aib-request-');
    const root = join(dir, 'root');
    const requests = join(root, 'state', 'requests');
    mkdirSync(root);
    const file = join(dir, 'grows_1.0_all.deb');
    const size = 4 * 1024 * 1024;
    writeFileSync(file, Buffer.alloc(size, 7));
    const fd = openSync(file, 'r+');
    let now: number | undefined = size;
    // Between two chunks of the copy: once the staged file is there, its size was taken.
    const tick = setInterval(() => {
      const staging = existsSync(requests) ? readdirSync(requests).find((n) => n.endsWith('.files')) : undefined;
      if (staging && now !== undefined && existsSync(join(requests, staging, 'grows_1.0_all.deb'))) now = change(fd, now);
    }, 0);
    try {
      await expect(askQueue(new Layout(root), { action: 'include', files: [file] }, { timeoutS: 0 })).rejects.toThrow('the queue did not answer within 0 s');
    } finally {
      clearInterval(tick);
      closeSync(fd);
    }
    return join(requests, readdirSync(requests).find((n) => n.endsWith('.files'))!);
  };

  it('copies a file that grows while it is copied as long as it was when opened: one that keeps growing would hold the queue', async () => {
    // 64 MiB more at each turn (sparse, at once), up to 1 GiB: faster than any copy.
    const staging = await includeWhileChanging((fd, size) => (size < 1024 ** 3 ? (ftruncateSync(fd, size + 64 * 1024 * 1024), size + 64 * 1024 * 1024) : undefined));
    expect(statSync(join(staging, 'grows_1.0_all.deb')).size).toBe(4 * 1024 * 1024);
  });

  it('stops at a file that shrinks while it is copied, saying so in its note to the queue', async () => {
    const staging = await includeWhileChanging((fd) => void ftruncateSync(fd, 1024 * 1024));
    expect(JSON.parse(readFileSync(join(staging, '.staged'), 'utf8')).error).toMatch(/grows_1\.0_all\.deb: cannot be copied \(it shrank from 4194304 to \d+ bytes while it was read\)$/);
  });
});

describe('a snapshot asked for', () => {
  it('is refused before its request is written when its name is not one a snapshot may take (230 letters: past what a file name may hold once the queue adds to it); deleting one is not', async () => {
    const root = scratchDir('aib-request-');
    const layout = new Layout(root);
    const requests = () => (existsSync(layout.requests) ? readdirSync(layout.requests) : []);
    for (const name of ['a'.repeat(230), 'a'.repeat(101), 'Frozen']) {
      await expect(askQueue(layout, { action: 'snapshot', name }, { timeoutS: 0 }), name).rejects.toThrow(/^snapshot name ".*: expected at most 100 lower-case letters, digits and \. \+ -/);
    }
    expect(requests()).toEqual([]);
    // A name of 100 is sent; so is the deletion of a snapshot named before names were bounded.
    await expect(askQueue(layout, { action: 'snapshot', name: 'a'.repeat(100) }, { timeoutS: 0 })).rejects.toThrow('the queue did not answer within 0 s');
    await expect(askQueue(layout, { action: 'snapshot', name: 'a'.repeat(150), delete: true }, { timeoutS: 0 })).rejects.toThrow('the queue did not answer within 0 s');
    expect(requests().filter((n) => n.endsWith('.request.json'))).toHaveLength(2);
  });
});
