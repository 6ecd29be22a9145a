import { createHash } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { copyRegularFile, regularFileSha256, SizeChanged } from './open-regular-file.js';

/**
 * `read` on a file of 4 MiB that grows by 8 MiB at each turn of the event loop (sparse: at once,
 * faster than any read) up to 256 MiB, as an uploader's file can while the queue reads it; the
 * size it has at the end.
 */
async function whileGrowing<T>(path: string, read: () => Promise<T>): Promise<{ result: T; end: number }> {
  writeFileSync(path, Buffer.alloc(4 * 1024 * 1024, 1));
  const fd = openSync(path, 'r+');
  let size = 4 * 1024 * 1024;
  const grow = setInterval(() => size < 256 * 1024 * 1024 && ftruncateSync(fd, (size += 8 * 1024 * 1024)), 0);
  try {
    return { result: await read(), end: size };
  } finally {
    clearInterval(grow);
    closeSync(fd);
  }
}

describe('a regular file read through its descriptor', () => {
  it('is hashed as long as it was when opened, not for as long as it grows', async () => {
    const path = join(scratchDir('aib-regular-'), 'grows.orig.tar.gz');
    const { result, end } = await whileGrowing(path, () => regularFileSha256(path));
    expect(result!.size).toBeLessThan(end);
    expect(result!.sha256).toBe(createHash('sha256').update(readFileSync(path).subarray(0, result!.size)).digest('hex'));
  });

  it('is copied only at the size it had when it was looked at: one grown since is not, nothing written; an empty one is copied empty', async () => {
    const dir = scratchDir('aib-regular-');
    const path = join(dir, 'grown.orig.tar.gz');
    writeFileSync(path, Buffer.alloc(4096, 1));
    // Extended by a gigabyte (sparse: at once) after the scan counted its 4,096 bytes.
    truncateSync(path, 1024 ** 3);
    await expect(copyRegularFile(path, join(dir, 'copy'), 4096)).rejects.toThrow(new SizeChanged(path, 1024 ** 3));
    expect(existsSync(join(dir, 'copy'))).toBe(false);
    writeFileSync(join(dir, 'small'), Buffer.alloc(4096, 2));
    await copyRegularFile(join(dir, 'small'), join(dir, 'small-copy'), 4096);
    expect(readFileSync(join(dir, 'small-copy'))).toEqual(Buffer.alloc(4096, 2));
    writeFileSync(join(dir, 'empty'), '');
    await copyRegularFile(join(dir, 'empty'), join(dir, 'empty-copy'), 0);
    expect(readFileSync(join(dir, 'empty-copy'))).toEqual(Buffer.alloc(0));
    expect(await regularFileSha256(join(dir, 'empty'))).toEqual({ size: 0, sha256: createHash('sha256').digest('hex') });
  });

  it('is no content of its size when it was cut while hashed; copied as it is left (the upload\'s checks find it short)', async () => {
    // A file of sysfs says it has 4,096 bytes and holds a few: as one its uploader cut meanwhile.
    const cut = '/sys/kernel/uevent_seqnum';
    expect(statSync(cut).size).toBe(4096);
    expect(await regularFileSha256(cut)).toBeUndefined();
    const copy = join(scratchDir('aib-regular-'), 'copy');
    await copyRegularFile(cut, copy, 4096);
    expect(statSync(copy).size).toBeLessThan(4096);
  });
});
