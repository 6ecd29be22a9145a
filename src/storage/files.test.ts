import { createHash } from 'node:crypto';
import { closeSync, readSync, statSync } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferFacts, fileFacts, inBatches, placeFile, readIfSmallSync, readSmallOrOpenSync, writeAllAt } from './files.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aib-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writing buffers without joining them', () => {
  it('goes on where the kernel stopped when it takes fewer bytes than given, within a buffer or between two', async () => {
    const path = join(dir, 'short');
    const file = await open(path, 'w+');
    try {
      await file.write('0123456789', 0);
      // At most 3 bytes a call, as a write the kernel cut short.
      const short = Object.assign(Object.create(file), {
        writev: (buffers: Buffer[], position: number) => file.write(Buffer.concat(buffers).subarray(0, 3), 0, Math.min(3, Buffer.concat(buffers).length), position).then(({ bytesWritten }) => ({ bytesWritten, buffers })),
      });
      await writeAllAt(short, [Buffer.from('ab'), Buffer.from('cdefg'), Buffer.from('h')], 1);
    } finally {
      await file.close();
    }
    expect(await readFile(path, 'utf8')).toBe('0abcdefgh9');
  });
});

describe("a file's size and checksums", () => {
  const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');
  // Small files are read in one go, larger ones (over 1 MiB) streamed.
  for (const size of [1000, 3 * 1024 * 1024 + 7]) {
    it(`gives size, MD5, SHA-1 and SHA-256 of ${size} bytes, and no SHA-1 when asked for what a pool index needs`, async () => {
      const data = Buffer.alloc(size, 'debian ');
      const path = join(dir, `facts-${size}`);
      await writeFile(path, data);
      const all = { size, md5: hex('md5', data), sha1: hex('sha1', data), sha256: hex('sha256', data) };
      expect(bufferFacts(data)).toEqual(all);
      expect(await fileFacts(path)).toEqual(all);
      const { sha1: _, ...pool } = all;
      expect(bufferFacts(data, { sha1: false })).toStrictEqual(pool);
      expect(await fileFacts(path, { sha1: false })).toStrictEqual(pool);
    });
  }
});

describe('small files read into one buffer', () => {
  it('gives each file its own bytes, the buffer grown when short but never past the limit, and nothing for a file over it', async () => {
    const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);
    await writeFile(join(dir, 'a'), bytes(1500, 1));
    await writeFile(join(dir, 'b'), bytes(10, 2));
    await writeFile(join(dir, 'c'), bytes(1601, 3));
    const into = { bytes: Buffer.alloc(1024) };
    expect(readIfSmallSync(join(dir, 'a'), 1600, into)).toEqual(bytes(1500, 1));
    // Twice 1024 would pass the limit: grown to the limit, no further.
    expect(into.bytes.length).toBe(1600);
    const held = into.bytes;
    expect(readIfSmallSync(join(dir, 'b'), 1600, into)).toEqual(bytes(10, 2));
    expect(into.bytes).toBe(held);
    expect(readIfSmallSync(join(dir, 'c'), 1600, into)).toBeUndefined();
    expect(into.bytes.length).toBe(1600);
  });
});

describe('a small file read whole, only when it is a regular one', () => {
  it('refuses a FIFO at once, without waiting for a writer, and a folder, naming them', async () => {
    const fifo = join(dir, 'planted.deb');
    await execa('mkfifo', [fifo]);
    expect(() => readIfSmallSync(fifo, 1024)).toThrow(`${fifo}: not a regular file (a FIFO)`);
    expect(() => readIfSmallSync(dir, 1024)).toThrow(`${dir}: not a regular file (a directory)`);
  });

  it('refuses one with fewer bytes than it had when opened, rather than give a part of it as the whole', () => {
    // A file of sysfs says it has 4,096 bytes and holds a few: as one another writer cut meanwhile.
    const cut = '/sys/kernel/uevent_seqnum';
    expect(statSync(cut).size).toBe(4096);
    expect(() => readIfSmallSync(cut, 8192)).toThrow(/^it shrank from 4096 to \d+ bytes while it was read$/);
  });
});

describe('a file over the limit left open to be streamed', () => {
  it('is read through the descriptor it was checked on, whatever its path leads to afterwards', async () => {
    const path = join(dir, 'large.deb');
    await writeFile(path, Buffer.alloc(2000, 7));
    const got = readSmallOrOpenSync(path, 1000);
    if (!('fd' in got)) throw new Error('expected a descriptor, not the bytes, for a file over the limit');
    try {
      expect(got.size).toBe(2000);
      // The path now a FIFO, which a read by name would wait on for ever.
      await rm(path);
      await execa('mkfifo', [path]);
      const out = Buffer.alloc(2100);
      expect(readSync(got.fd, out, 0, 2100, 0)).toBe(2000);
      expect(out.subarray(0, 2000)).toEqual(Buffer.alloc(2000, 7));
    } finally {
      closeSync(got.fd);
    }
    await writeFile(join(dir, 'small.deb'), Buffer.alloc(10, 2));
    expect(readSmallOrOpenSync(join(dir, 'small.deb'), 1000)).toEqual({ data: Buffer.alloc(10, 2) });
    expect(() => readSmallOrOpenSync(path, 1000)).toThrow(`${path}: not a regular file (a FIFO)`);
  });
});

describe('placing a file in the pool', () => {
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('links it, keeps an identical one already there and refuses another', async () => {
    const bytes = Buffer.from('one\n');
    await writeFile(join(dir, 'staged-a'), bytes);
    await writeFile(join(dir, 'staged-b'), bytes);
    const target = join(dir, 'pool', 'o', 'one', 'one_1_all.deb');
    await placeFile(join(dir, 'staged-a'), target, sha256(bytes));
    await placeFile(join(dir, 'staged-b'), target, sha256(bytes));
    expect(await readFile(target)).toEqual(bytes);
    await writeFile(join(dir, 'staged-c'), 'other\n');
    await expect(placeFile(join(dir, 'staged-c'), target, sha256(Buffer.from('other\n')))).rejects.toThrow(`${target} already exists with other content (sha256 ${sha256(bytes)}, new ${sha256(Buffer.from('other\n'))})`);
  });

  it('copies it from another file system, two identical files side by side under temporary names of their own', async () => {
    // /dev/shm is a tmpfs of its own: no link reaches the pool from there.
    const other = await mkdtemp('/dev/shm/aib-files-');
    try {
      expect((await stat(other)).dev).not.toBe((await stat(dir)).dev);
      const bytes = Buffer.alloc(4 * 1024 * 1024, 7);
      await writeFile(join(other, 'a.deb'), bytes);
      await writeFile(join(other, 'b.deb'), bytes);
      const folder = join(dir, 'pool', 'b', 'big');
      const target = join(folder, 'big_1_all.deb');
      const placed = await Promise.allSettled([placeFile(join(other, 'a.deb'), target, sha256(bytes)), placeFile(join(other, 'b.deb'), target, sha256(bytes))]);
      expect(placed.map((p) => p.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(sha256(await readFile(target))).toBe(sha256(bytes));
      expect(await readdir(folder)).toEqual(['big_1_all.deb']);
      // Another file under that name is refused, and the one there kept (a rename would replace it).
      const different = Buffer.alloc(1024, 8);
      await writeFile(join(other, 'c.deb'), different);
      await expect(placeFile(join(other, 'c.deb'), target, sha256(different))).rejects.toThrow(`${target} already exists with other content (sha256 ${sha256(bytes)}, new ${sha256(different)})`);
      expect(sha256(await readFile(target))).toBe(sha256(bytes));
      expect(await readdir(folder)).toEqual(['big_1_all.deb']);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('work in batches', () => {
  it('ends a batch at its width, or sooner once `full` says so', async () => {
    const weights = [3, 1, 1, 4, 1, 1, 1, 1, 9, 1];
    const done: number[] = [];
    let inBatch = 0;
    await inBatches(
      weights,
      4,
      async (w) => void (inBatch += w),
      async (n) => void (done.push(n), (inBatch = 0)),
      () => inBatch >= 5,
    );
    // 3+1+1 reach 5; 4+1; 1+1+1+9 the width; 1. Without `full`: 4, 8, 10.
    expect(done).toEqual([3, 5, 9, 10]);
  });
});
