// The build-dependency cache's eviction against the real engine: images archive/deps:KEY made by
// committing containers, as builds make them.
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { DEPS_REPO, LABEL_DEPS_KEY, evictDepsImages } from '../src/docker/deps-cache.js';
import { connectDocker } from '../src/docker/engine.js';
import { RUN_ID, cleanupRun } from './support/archive.js';

const key = `aibtest-${RUN_ID.replace(/[^a-z0-9-]/g, '')}`.slice(0, 100);

/** A cached image of `key`, as a build that missed the cache commits one; its id. */
async function commitDeps(): Promise<string> {
  const name = `${key}-${Math.random().toString(36).slice(2, 8)}`;
  await execa('docker', ['create', '--name', name, '--label', `archive-in-a-box.run-id=${RUN_ID}`, 'archive/base:trixie', 'true']);
  try {
    const { stdout } = await execa('docker', ['commit', '--change', `LABEL ${LABEL_DEPS_KEY}=${key}`, name, `${DEPS_REPO}:${key}`]);
    made.push(String(stdout).trim());
    return made.at(-1)!;
  } finally {
    await execa('docker', ['rm', name]);
  }
}
const made: string[] = [];
const exists = async (id: string) => (await execa('docker', ['image', 'inspect', id], { reject: false })).exitCode === 0;

describe("the build-dependency cache's eviction", () => {
  afterAll(async () => {
    await execa('docker', ['rmi', '-f', `${DEPS_REPO}:${key}`, ...made], { reject: false });
    await cleanupRun();
  });

  it('removes a cached image that lost its tag to another of the same key (two slots that missed at once), keeping the tagged one', async () => {
    const first = await commitDeps();
    const second = await commitDeps();
    expect(second).not.toBe(first);
    expect(await exists(first)).toBe(true); // untagged now, nothing else would remove it
    const docker = await connectDocker(undefined);
    await evictDepsImages(docker, 1000, Number.MAX_SAFE_INTEGER);
    expect(await exists(first)).toBe(false);
    expect(await exists(second)).toBe(true);
    expect(await exists(`${DEPS_REPO}:${key}`)).toBe(true);
  });

  it('keeps an image that lost its tag when it is the one a build is about to start from', async () => {
    const first = await commitDeps();
    const second = await commitDeps();
    const docker = await connectDocker(undefined);
    await evictDepsImages(docker, 1000, Number.MAX_SAFE_INTEGER, () => undefined, first);
    expect(await exists(first)).toBe(true);
    expect(await exists(second)).toBe(true);
    await evictDepsImages(docker, 1000, Number.MAX_SAFE_INTEGER);
    expect(await exists(first)).toBe(false);
  });
});
