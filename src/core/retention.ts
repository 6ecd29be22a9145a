// Which pool files stay. Every version that entered the pool is noted per source; for a source
// that a suite or snapshot still publishes, the newest `keep` versions keep their files (to go
// back to by hand, as reprepro's and aptly's pools allow), older ones go once nothing published
// names them. A source removed from every suite and snapshot keeps nothing.
import { compareVersions } from '../debian/version.js';

/** Per source, the versions that entered the pool and their files (relative to public/). */
export type PoolHistory = Record<string, { version: string; files: string[] }[]>;

/** A change of the history: a version's files noted, or (`drop`) a version no longer kept. */
export type HistoryEntry = { source: string; version: string; files: string[] } | { source: string; version: string; drop: true };

/**
 * The history with these versions' files noted (a version seen again gains files), and the
 * versions dropped taken out. Changed in `h` itself, which it returns: the history of 100,000
 * sources is not copied for each change.
 */
export function withHistory(h: PoolHistory, changes: Iterable<HistoryEntry>): PoolHistory {
  for (const change of changes) {
    const { source, version } = change;
    // Its own: a source named "constructor" is not Object's.
    const entries = Object.hasOwn(h, source) ? h[source] : undefined;
    if ('drop' in change) {
      const rest = (entries ?? []).filter((e) => e.version !== version);
      if (rest.length > 0) h[source] = rest;
      else delete h[source];
      continue;
    }
    const { files } = change;
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
 * What withHistory({}, changes) holds, a source at a time (in the order of their names), each
 * made only when it is asked for: the first history of an archive that 100,000 packages are
 * included into is written without its 100,000 entries made at once (storage/json-files.ts's
 * RecordAsWritten). Only the changes' sources are held meanwhile, in an array.
 */
export function* newHistory(changes: { length: number; at(i: number): HistoryEntry | undefined }): Generator<[string, PoolHistory[string]]> {
  const at = (i: number) => changes.at(i)!;
  const sources = Array.from({ length: changes.length }, (_, i) => at(i).source);
  // (Stable: a source's changes stay in the order given, as withHistory takes them.)
  const order = sources.map((_, i) => i).sort((a, b) => (sources[a] < sources[b] ? -1 : sources[a] > sources[b] ? 1 : 0));
  for (let from = 0; from < order.length; ) {
    const source = sources[order[from]];
    let to = from + 1;
    while (to < order.length && sources[order[to]] === source) to++;
    const entries = withHistory({}, order.slice(from, to).map(at))[source];
    if (entries) yield [source, entries];
    from = to;
  }
}

/**
 * The history cut to what stays, the files it keeps, and the versions cut (as changes that drop
 * them): the versions a suite or snapshot publishes (`inUse`: "source version") and, for sources
 * still published, the newest `keep`, stay.
 */
export function retained(h: PoolHistory, keep: number, inUse: Set<string>): { history: PoolHistory; files: Set<string>; dropped: HistoryEntry[] } {
  const published = new Set([...inUse].map((k) => k.split(' ')[0]));
  const history: PoolHistory = {};
  const files = new Set<string>();
  const dropped: HistoryEntry[] = [];
  for (const [source, entries] of Object.entries(h)) {
    const sorted = [...entries].sort((a, b) => compareVersions(a.version, b.version));
    const newest = published.has(source) ? sorted.length - Math.max(1, keep) : sorted.length;
    const stays = (e: { version: string }, i: number) => i >= newest || inUse.has(`${source} ${e.version}`);
    for (const [i, e] of sorted.entries()) if (!stays(e, i)) dropped.push({ source, version: e.version, drop: true });
    const kept = sorted.filter(stays);
    if (kept.length === 0) continue;
    history[source] = kept;
    for (const e of kept) for (const f of e.files) files.add(f);
  }
  return { history, files, dropped };
}
