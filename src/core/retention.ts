// Which pool files stay. Every version that entered the pool is noted per source; for a source
// that a suite or snapshot still publishes, the newest `keep` versions keep their files (to go
// back to by hand, as reprepro's and aptly's pools allow), older ones go once nothing published
// names them. A source removed from every suite and snapshot keeps nothing.
import { compareVersions } from '../debian/version.js';

/** Per source, the versions that entered the pool and their files (relative to public/). */
export type PoolHistory = Record<string, { version: string; files: string[] }[]>;

/**
 * The history with these versions' files noted (a version seen again gains files). Noted in `h`
 * itself, which it returns: the history of 100,000 sources is not copied for each change.
 */
export function withHistory(h: PoolHistory, added: { source: string; version: string; files: string[] }[]): PoolHistory {
  for (const { source, version, files } of added) {
    const entries = h[source];
    // A source new to the history (each of 100,000 packages included at once): no copies.
    if (!entries) {
      h[source] = [{ version, files }];
      continue;
    }
    const held = entries.find((e) => e.version === version);
    const merged = held ? { version, files: [...new Set([...held.files, ...files])] } : { version, files };
    h[source] = [...entries.filter((e) => e.version !== version), merged].sort((a, b) => compareVersions(a.version, b.version));
  }
  return h;
}

/**
 * The history cut to what stays, and the files it keeps: the versions a suite or snapshot
 * publishes (`inUse`: "source version") and, for sources still published, the newest `keep`.
 */
export function retained(h: PoolHistory, keep: number, inUse: Set<string>): { history: PoolHistory; files: Set<string> } {
  const published = new Set([...inUse].map((k) => k.split(' ')[0]));
  const history: PoolHistory = {};
  const files = new Set<string>();
  for (const [source, entries] of Object.entries(h)) {
    const sorted = [...entries].sort((a, b) => compareVersions(a.version, b.version));
    const newest = published.has(source) ? sorted.length - Math.max(1, keep) : sorted.length;
    const kept = sorted.filter((e, i) => i >= newest || inUse.has(`${source} ${e.version}`));
    if (kept.length === 0) continue;
    history[source] = kept;
    for (const e of kept) for (const f of e.files) files.add(f);
  }
  return { history, files };
}
