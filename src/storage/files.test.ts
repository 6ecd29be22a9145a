import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAllAt, writeBuffers } from './files.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aib-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writing buffers without joining them', () => {
  it('writes the buffers one after the other into a new file of mode 644', async () => {
    const path = join(dir, 'parts');
    await writeBuffers(path, [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cde')]);
    expect(await readFile(path, 'utf8')).toBe('abcde');
    expect((await stat(path)).mode & 0o777).toBe(0o644);
  });

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
