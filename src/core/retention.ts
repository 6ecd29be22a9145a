// Which pool files stay. Every version that entered the pool is noted per source; the newest
// `keep` versions of each source keep their files (for a rollback with `archive copy` from a
// snapshot or `include`), older ones go once nothing published names them. Pure.
import { compareVersions } from '../debian/version.js';

/** Per source, the versions that entered the pool and their files (relative to public/). */
export type PoolHistory = Record<string, { version: string; files: string[] }[]>;

export function withHistory(h: PoolHistory, source: string, version: string, files: string[]): PoolHistory {
  const entries = h[source] ?? [];
  const held = entries.find((e) => e.version === version);
  const merged = held ? { version, files: [...new Set([...held.files, ...files])] } : { version, files };
  return { ...h, [source]: [...entries.filter((e) => e.version !== version), merged].sort((a, b) => compareVersions(a.version, b.version)) };
}

/**
 * The history with only the newest `keep` versions of each source, plus the versions a suite or
 * snapshot still publishes (`inUse`: "source version"), and the files those keep.
 */
export function retained(h: PoolHistory, keep: number, inUse: Set<string> = new Set()): { history: PoolHistory; files: Set<string> } {
  const history: PoolHistory = {};
  const files = new Set<string>();
  for (const [source, entries] of Object.entries(h)) {
    const sorted = [...entries].sort((a, b) => compareVersions(a.version, b.version));
    const kept = sorted.filter((e, i) => i >= sorted.length - Math.max(1, keep) || inUse.has(`${source} ${e.version}`));
    history[source] = kept;
    for (const e of kept) for (const f of e.files) files.add(f);
  }
  return { history, files };
}
