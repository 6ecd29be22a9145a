import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendBuildLog, BUILD_LOG_LIMIT } from './images.js';

describe('appendBuildLog', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aib-build-log-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends a build\'s output under a line naming the image, after what the log held', async () => {
    const log = join(dir, 'image-builds.log');
    await writeFile(log, 'earlier\n');
    await appendBuildLog(log, 'archive/tool', ['Step 1/2 : FROM base', 'done']);
    expect(await readFile(log, 'utf8')).toMatch(/^earlier\n=== image archive\/tool, \d{4}-\d\d-\d\dT[\d:.]+Z\nStep 1\/2 : FROM base\ndone\n$/);
  });

  it('starts a log past its limit anew, saying so, rather than growing it with every rebuild', async () => {
    const log = join(dir, 'image-builds.log');
    await writeFile(log, 'earlier\n');
    await truncate(log, BUILD_LOG_LIMIT + 1);
    await appendBuildLog(log, 'archive/tool', ['done']);
    const text = await readFile(log, 'utf8');
    expect(text).toMatch(/^\(earlier builds' output removed: the log had passed 8 MiB\)\n=== image archive\/tool, .*\ndone\n$/);
    expect((await stat(log)).size).toBeLessThan(200);
    // At the limit itself it is kept.
    await truncate(log, BUILD_LOG_LIMIT);
    await appendBuildLog(log, 'archive/tool', ['done']);
    expect((await stat(log)).size).toBeGreaterThan(BUILD_LOG_LIMIT);
  });
});
