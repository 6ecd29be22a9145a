// The build-dependency cache: images archive/deps:KEY, KEY = the buildenv image plus the exact
// set of packages apt resolved, installed and removed (core/apt-output.ts). Least recently
// used go first; "used" is the image's LastTagTime, renewed by tagging it again on every hit.
import { isNotFound, type Docker } from './engine.js';
import { inOrder } from '../debian/indices.js';

export const DEPS_REPO = 'archive/deps';
export const LABEL_DEPS_KEY = 'archive-in-a-box.deps-key';

export function depsImageName(key: string): string {
  return `${DEPS_REPO}:${key}`;
}

export interface CachedDeps {
  key: string;
  id: string;
  /** Bytes of its own, beyond the layers it shares with the build environment. */
  size: number;
  created: string;
  lastUsed: string;
}

/**
 * Marks the image of this key as just used; false when it is gone (another build's eviction
 * removed it since it was found: a miss, not an engine failure).
 */
export async function touchDepsImage(docker: Pick<Docker, 'getImage'>, key: string): Promise<boolean> {
  try {
    await docker.getImage(depsImageName(key)).tag({ repo: DEPS_REPO, tag: key });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * The cached images, most recently used first. One removed between the listing and its inspection
 * (another build's eviction, an `archive cache prune`) is left out: it is not cached any more.
 */
export async function listDepsImages(docker: Pick<Docker, 'listImages' | 'getImage'>): Promise<CachedDeps[]> {
  const images = await docker.listImages({ filters: { reference: [`${DEPS_REPO}:*`] } });
  const parentSizes = new Map<string, number>();
  const sizeOf = async (id: string) => {
    if (!parentSizes.has(id)) parentSizes.set(id, (await docker.getImage(id).inspect().catch(() => ({ Size: 0 }))).Size);
    return parentSizes.get(id)!;
  };
  const entries = await Promise.all(
    images.map(async (img) => {
      const info = await docker.getImage(img.Id).inspect().catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (!info) return undefined;
      const created = new Date(img.Created * 1000).toISOString();
      return {
        key: info.Config?.Labels?.[LABEL_DEPS_KEY] ?? '',
        id: img.Id,
        // A committed image's Parent is the build environment it was made from.
        size: Math.max(0, info.Size - (info.Parent ? await sizeOf(info.Parent) : 0)),
        created,
        lastUsed: (info as unknown as { Metadata?: { LastTagTime?: string } }).Metadata?.LastTagTime ?? created,
      };
    }),
  );
  return entries.filter((e) => e !== undefined).sort((a, b) => inOrder(b.lastUsed, a.lastUsed));
}

/**
 * Which of the cached images (most recently used first) go so that the rest keep within both
 * bounds; never `keep`, the image a build is about to start from (alone past the bounds, it was
 * removed before its build could start, and the job went back to be installed again, for ever).
 */
export function overBounds(all: CachedDeps[], maxImages: number, maxBytes: number, keep?: string): CachedDeps[] {
  const over: CachedDeps[] = [];
  let bytes = 0;
  for (const [i, entry] of all.entries()) {
    bytes += entry.size;
    if ((i < maxImages && bytes <= maxBytes) || entry.id === keep) continue;
    over.push(entry);
  }
  return over;
}

/**
 * Keeps the most recently used images within both bounds (and `keep`); removes the rest, and
 * every cached image that lost its tag: two slots that missed the cache for one key (every key
 * misses at once after a refresh) both commit, and the second takes the tag from the first,
 * which the bounds, counting tagged images only, would never let go.
 */
export async function evictDepsImages(docker: Pick<Docker, 'listImages' | 'getImage'>, maxImages: number, maxBytes: number, log: (t: string) => void = () => undefined, keep?: string): Promise<CachedDeps[]> {
  for (const img of await docker.listImages({ filters: { dangling: ['true'], label: [LABEL_DEPS_KEY] } })) {
    // One a running build uses stays, and goes next time; `keep` too (its build is about to start).
    if (img.Id === keep) continue;
    await docker.getImage(img.Id).remove({ force: false }).catch(() => undefined);
  }
  const removed: CachedDeps[] = [];
  for (const entry of overBounds(await listDepsImages(docker), maxImages, maxBytes, keep)) {
    try {
      await docker.getImage(entry.id).remove({ force: false });
      removed.push(entry);
      log(`archive-in-a-box: evicted cached build-dependencies ${entry.key} (least recently used)\n`);
    } catch {
      // In use by a running build: it stays, and goes next time.
    }
  }
  return removed;
}
