import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendBuildLog, BUILD_LOG_LIMIT, ensureBuiltImage } from './images.js';

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

describe('ensureBuiltImage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aib-built-image-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * An engine holding archive/tool as sha256:old (and under `otherTags`, a user's docker tag),
   * whose builds make sha256:new under that name; removals of ids that `held` refuses (409).
   */
  function engine(held: string[] = [], otherTags: string[] = []) {
    type Image = { Id: string; Config: { Labels: Record<string, string> }; Created: string; RepoTags: string[] };
    const images: Image[] = [{ Id: 'sha256:old', Config: { Labels: { 'archive-in-a-box.source-revision': 'before' } }, Created: '2026-01-01T00:00:00Z', RepoTags: ['archive/tool:latest', ...otherTags] }];
    const find = (name: string) => images.find((i) => i.Id === name || i.RepoTags.includes(name.includes(':') ? name : `${name}:latest`));
    const removed: string[] = [];
    const docker = {
      getImage: (name: string) => ({
        inspect: async () => find(name) ?? Promise.reject(Object.assign(new Error('no such image'), { statusCode: 404 })),
        remove: async (o: { force?: boolean }) => {
          if (o.force) throw new Error('removed by force');
          if (held.includes(name)) throw Object.assign(new Error(`conflict: unable to delete ${name} (cannot be forced) - image is being used by running container`), { statusCode: 409 });
          removed.push(name);
        },
      }),
      buildImage: async (_tar: unknown, o: { t: string; labels: Record<string, string> }) => {
        const tag = `${o.t}:latest`;
        for (const i of images) i.RepoTags = i.RepoTags.filter((t) => t !== tag);
        images.push({ Id: 'sha256:new', Config: { Labels: o.labels }, Created: '2026-01-02T00:00:00Z', RepoTags: [tag] });
        const stream = new PassThrough();
        stream.end();
        return stream;
      },
      modem: { followProgress: (_s: unknown, done: (err: Error | null) => void) => done(null) },
    };
    return { docker: docker as never, removed };
  }

  it('removes the image a rebuild replaced, without force', async () => {
    const { docker, removed } = engine();
    expect(await ensureBuiltImage(docker, 'archive/tool', { context: dir, dockerfile: 'Dockerfile', args: {} }, () => undefined)).toEqual({ id: 'sha256:new', rebuilt: true });
    expect(removed).toEqual(['sha256:old']);
  });

  it("keeps it while it has another name (a user's docker tag), which removing it by id would take away", async () => {
    const { docker, removed } = engine([], ['archive/tool:pinned']);
    expect(await ensureBuiltImage(docker, 'archive/tool', { context: dir, dockerfile: 'Dockerfile', args: {} }, () => undefined)).toEqual({ id: 'sha256:new', rebuilt: true });
    expect(removed).toEqual([]);
  });

  it('keeps it when something holds it (a container, an image made from it), and is built all the same', async () => {
    const { docker, removed } = engine(['sha256:old']);
    expect(await ensureBuiltImage(docker, 'archive/tool', { context: dir, dockerfile: 'Dockerfile', args: {} }, () => undefined)).toEqual({ id: 'sha256:new', rebuilt: true });
    expect(removed).toEqual([]);
  });
});
