import { describe, expect, it } from 'vitest';
import { evictDepsImages, listDepsImages, overBounds, touchDepsImage, type CachedDeps } from './deps-cache.js';

const image = (id: string, size: number): CachedDeps => ({ key: id, id, size, created: '2026-12-06T00:00:00Z', lastUsed: '2026-12-06T00:00:00Z' });

describe('which cached build-dependency images go', () => {
  // Most recently used first, as listDepsImages gives them.
  const all = [image('new', 30), image('b', 30), image('c', 30), image('old', 30)];

  it('those past the count or the bytes, the least recently used', () => {
    expect(overBounds(all, 2, 1000).map((e) => e.id)).toEqual(['c', 'old']);
    expect(overBounds(all, 10, 65).map((e) => e.id)).toEqual(['c', 'old']);
    expect(overBounds(all, 10, 1000)).toEqual([]);
  });

  it('never the one a build is about to start from, even when it alone passes the bytes', () => {
    const huge = [image('just-made', 5000), image('b', 30)];
    expect(overBounds(huge, 10, 1000, 'just-made').map((e) => e.id)).toEqual(['b']);
    expect(overBounds(huge, 10, 1000).map((e) => e.id)).toEqual(['just-made', 'b']);
    expect(overBounds(all, 1, 1000, 'c').map((e) => e.id)).toEqual(['b', 'old']);
  });
});

/** An engine whose images named in `gone` are removed (by another build's eviction) after it lists them. */
function racingEngine(gone: string[]) {
  const removed: string[] = [];
  const notFound = (id: string) => Object.assign(new Error(`(HTTP code 404) no such image - No such image: ${id}`), { statusCode: 404 });
  const docker = {
    listImages: async (o: { filters: { dangling?: string[] } }) => (o.filters.dangling ? [] : ['sha256:a', 'sha256:b'].map((Id, i) => ({ Id, Created: 1_700_000_000 + i }))),
    getImage: (id: string) => ({
      inspect: async () => {
        if (gone.includes(id)) throw notFound(id);
        return { Id: id, Size: 100, Config: { Labels: { 'archive-in-a-box.deps-key': id.slice(7) } }, Metadata: { LastTagTime: '2026-12-06T00:00:00Z' } };
      },
      tag: async () => {
        if (gone.includes(id)) throw notFound(id);
      },
      remove: async () => void removed.push(id),
    }),
  };
  return { docker: docker as never, removed };
}

describe('the cache, while another build evicts from it', () => {
  it('leaves out an image removed between the listing and its inspection', async () => {
    expect((await listDepsImages(racingEngine(['sha256:a']).docker)).map((e) => e.id)).toEqual(['sha256:b']);
  });

  it('evicts within the bounds without failing the install that made it', async () => {
    const { docker, removed } = racingEngine(['sha256:a']);
    await expect(evictDepsImages(docker, 0, 1000)).resolves.toEqual([expect.objectContaining({ id: 'sha256:b' })]);
    expect(removed).toEqual(['sha256:b']);
  });

  it('takes one gone before it was marked used for a miss', async () => {
    expect(await touchDepsImage(racingEngine(['archive/deps:k']).docker, 'k')).toBe(false);
    expect(await touchDepsImage(racingEngine([]).docker, 'k')).toBe(true);
  });

  it('still fails on any other error of the engine', async () => {
    const docker = { getImage: () => ({ tag: async () => Promise.reject(Object.assign(new Error('boom'), { statusCode: 500 })) }) };
    await expect(touchDepsImage(docker as never, 'k')).rejects.toThrow('boom');
  });
});
