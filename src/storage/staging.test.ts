import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { markStaged, whenStaged } from './staging.js';

describe('staged request files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aib-staging-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('waits until the CLI notes that enough files are in, and says how many are', async () => {
    let done = false;
    const waiting = whenStaged(dir, 500).then(() => (done = true));
    await markStaged(dir, { count: 250, bytes: 250 });
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    await markStaged(dir, { count: 500, bytes: 500 });
    await waiting;
    expect(done).toBe(true);
    expect(await whenStaged(dir, 300)).toBe(500); // already there
  });

  it('gives up with the CLI\'s reason when it could not copy a file', async () => {
    await markStaged(dir, { count: 32, bytes: 32, error: '/home/me/b.deb: cannot be read (EACCES)' });
    await expect(whenStaged(dir, 100)).rejects.toThrow(`the CLI stopped copying files into ${dir} after 32: /home/me/b.deb: cannot be read (EACCES)`);
  });

  it('gives up when no byte is copied for too long, though the CLI still notes, and not while bytes come', async () => {
    await markStaged(dir, { count: 1, bytes: 100 });
    await expect(whenStaged(dir, 2, 100)).rejects.toThrow(/1 of 2 there, no byte copied for 0 s\); was it interrupted, or is a file's read hanging\?/);
    // Notes written every 50 ms, each awaited before the test ends (and its folder is removed).
    const notes: Promise<void>[] = [];
    const noting = (note: () => { count: number; bytes: number }) => setInterval(() => notes.push(markStaged(dir, note())), 50);
    // A CLI copying one large file notes that it gets on (the same count, more bytes).
    let bytes = 100;
    const beat = noting(() => ({ count: 1, bytes: (bytes += 64 * 1024) }));
    const waiting = whenStaged(dir, 2, 1000);
    await new Promise((r) => setTimeout(r, 2500));
    clearInterval(beat);
    await Promise.all(notes);
    await markStaged(dir, { count: 2, bytes });
    await waiting;
    // One alive whose read hangs notes the same count and bytes every time: the queue stops waiting.
    const stuck = noting(() => ({ count: 2, bytes }));
    try {
      const started = Date.now();
      await expect(whenStaged(dir, 3, 1000)).rejects.toThrow(/2 of 3 there, no byte copied for 1 s\)/);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      clearInterval(stuck);
      await Promise.all(notes);
    }
  });

  it('never writes its note through a link planted as .staged.tmp in the staging folder', async () => {
    const outside = join(dir, '..', `${dir.split('/').pop()}-outside`);
    await writeFile(outside, 'not a note\n');
    try {
      await symlink(outside, join(dir, '.staged.tmp'));
      await markStaged(dir, { count: 1, bytes: 1 });
      expect(await readFile(outside, 'utf8')).toBe('not a note\n');
      await whenStaged(dir, 1);
    } finally {
      await rm(outside);
    }
  });

  it('refuses a note that is a FIFO (unread, without waiting for a writer), a link, too long or not a count, naming it', async () => {
    const note = join(dir, '.staged');
    await execa('mkfifo', [note]);
    await expect(whenStaged(dir, 1, 1000)).rejects.toThrow(`${note}: not a regular file (a FIFO)`);
    await rm(note);
    await symlink('/etc/passwd', note);
    await expect(whenStaged(dir, 1, 1000)).rejects.toThrow(`${note}: not a regular file (a symbolic link)`);
    await rm(note);
    for (const text of [JSON.stringify({ count: 1, bytes: 0, pad: 'x'.repeat(64 * 1024) }), '{"count": "1", "bytes": 0}', '{"count": -1, "bytes": 0}', '{"count": 1}', '{"count": 1, "bytes": 1.5}', '[1]', 'not JSON']) {
      await writeFile(note, text);
      await expect(whenStaged(dir, 1, 1000)).rejects.toThrow(`${note}: not a staging note (expected {"count": N, "bytes": B} of at most 65536 bytes)`);
    }
  });

  it('gives up when no note ever comes', async () => {
    await expect(whenStaged(dir, 1, 50)).rejects.toThrow(/0 of 1 there/);
  });
});
