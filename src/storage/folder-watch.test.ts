import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderWatch } from './folder-watch.js';

describe('waiting for a folder to change', () => {
  let dir: string;
  let watch: FolderWatch | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aib-folder-watch-'));
  });
  afterEach(async () => {
    watch?.close();
    await rm(dir, { recursive: true, force: true });
  });

  // Each waits a minute unless woken: a watch that slept through the change fails on vitest's limit.
  it('wakes when a file is renamed into it', async () => {
    watch = new FolderWatch(dir);
    watch.looking();
    const woken = watch.next(60_000);
    await writeFile(join(dir, '.tmp'), '{}');
    await rename(join(dir, '.tmp'), join(dir, 'record.json'));
    await woken;
  });

  it('returns at once for a change made while the caller looked', async () => {
    watch = new FolderWatch(dir);
    watch.looking();
    await writeFile(join(dir, 'record.json'), '{}');
    await new Promise((r) => setTimeout(r, 50)); // the event arrives while "looking"
    await watch.next(60_000);
  });

  it('falls back to the time given where the folder cannot be watched', async () => {
    watch = new FolderWatch(join(dir, 'missing'));
    watch.looking();
    const t0 = Date.now();
    await watch.next(30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
  });
});
