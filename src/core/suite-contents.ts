// What each suite (and each snapshot) holds: which source packages and which binary packages,
// each pointing at files in the shared pool. This membership is the archive's truth, as dak's
// src_associations/bin_associations and reprepro's per-distribution databases are; the
// publisher writes Packages and Sources from it, and `rm`, `copy`, `snapshot` and `include`
// change it. Pure: contents in, contents out.
import { Paragraph } from '../debian/deb822.js';
import { inOrder } from '../debian/indices.js';
import { compareVersions } from '../debian/version.js';
import { planBuilds } from './build-plan.js';
import type { BinaryRecord } from './jobs.js';

export interface SuiteSource {
  source: string;
  version: string;
  component: string;
  /** The Sources stanza, field by field. */
  stanza: [string, string][];
  /** Its files in the pool, relative to public/ (the .dsc first). */
  files: string[];
  uploadId?: string;
  /** When this version entered this suite (ISO 8601), by its upload or a copy: a migration's after_days counts from it. */
  since?: string;
}

/**
 * A binary package as a suite member. Its control fields and its file's digests are not held here
 * but in the control store (storage/binary-controls.ts), by pool path: a suite of 100,000 packages
 * would otherwise hold every field of every package, and its MD5 and SHA-256 as hex strings held
 * 13 MiB of the queue's heap at 100,000, 16-20 MiB of its peak. Nor its SHA-1, which no index of
 * binaries lists (Packages carries MD5sum and SHA256, as dak's do).
 */
export interface SuiteBinary extends Omit<BinaryRecord, 'control' | 'sha1' | 'md5' | 'sha256'> {
  package: string;
  version: string;
  arch: string;
  /** The source package it was built from, and that source's version (Policy 5.6.1). */
  source: string;
  sourceVersion: string;
  component: string;
  /** Built here from an upload, or imported with `archive include`. */
  origin: 'built' | 'imported';
  jobId?: string;
  /** A -dbgsym package dh_strip made (Auto-Built-Package: debug-symbols): published in NAME-debug, not NAME. */
  debug: boolean;
}

export interface SuiteContents {
  /** The suite's or snapshot's name (what apt names in its Suites field). */
  id: string;
  kind: 'suite' | 'snapshot';
  /** A snapshot's origin, its time, and the shape it froze. */
  of?: string;
  createdAt?: string;
  components?: string[];
  architectures?: string[];
  sources: SuiteSource[];
  binaries: SuiteBinary[];
}

export class ContentsError extends Error {}
/** `archive rm` of a source a suite holds nothing of (withoutSource). */
export class NothingToRemove extends ContentsError {}

/** Auto-Built-Package: debug-symbols: a -dbgsym package dh_strip made, published in NAME-debug. */
export function isDebugControl(control: [string, string][]): boolean {
  // The length first: no lower-case copy of every other field's name (the control store asks this of each of 100,000 packages as it loads).
  return control.some(([field, value]) => field.length === AUTO_BUILT_PACKAGE.length && field.toLowerCase() === AUTO_BUILT_PACKAGE && value.trim() === 'debug-symbols');
}
const AUTO_BUILT_PACKAGE = 'auto-built-package';

export function emptyContents(id: string): SuiteContents {
  return { id, kind: 'suite', sources: [], binaries: [] };
}

/**
 * A string of its own, made from its bytes. A field's value is a slice of its control's text, and
 * V8 keeps a slice of 13 characters or more as a view of the whole text: each member kept its
 * package's paragraph alive (a kilobyte or more, with a real package's description).
 */
const own = (s: string): string => (s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8'));

/**
 * Short values many members share (architectures, components), as one string each: a
 * member's "amd64" was a string of its own, 2 MiB at 100,000. Bounded: a value past the first
 * few hundred is kept as it is.
 */
const shared = new Map<string, string>();
const common = (s: string): string => {
  const held = shared.get(s);
  if (held !== undefined) return held;
  if (shared.size < 256) shared.set(s, s);
  return s;
};

/**
 * A member as V8 holds it best: every field in the object itself, in one order (a member made by
 * spreading a record kept 8 of its 13 fields in a second array, 24 bytes more each), its path one
 * flat string (not the pieces it was joined from), a value it shares with another field (a source
 * named as its package) or with other members (its architecture) held once. Fields a record
 * read from an older state carries that a member does not (its control, its digests) are dropped.
 */
export function binaryMember(b: SuiteBinary): SuiteBinary {
  return {
    path: own(b.path),
    size: b.size,
    package: b.package,
    version: b.version,
    arch: common(b.arch),
    source: b.source === b.package ? b.package : b.source,
    sourceVersion: b.sourceVersion === b.version ? b.version : b.sourceVersion,
    component: common(b.component),
    origin: b.origin,
    jobId: b.jobId,
    debug: b.debug,
  };
}

/** A .deb's control paragraph and pool facts as a suite member (its digests stay with the caller). */
export function suiteBinary(
  { control: fields, sha1: _, md5: _m, sha256: _s, ...record }: Omit<BinaryRecord, 'sha1' | 'md5' | 'sha256'> & { sha1?: string; md5?: string; sha256?: string },
  component: string,
  origin: SuiteBinary['origin'],
  jobId?: string,
): SuiteBinary {
  const control = new Paragraph(fields);
  const name = own(control.first('Package'));
  const version = own(control.first('Version'));
  // "Source: name (version)" when the binary's version differs from its source's (binNMUs).
  const m = control.first('Source').match(/^(\S+)(?:\s+\((\S+)\))?/);
  return binaryMember({
    ...record,
    package: name,
    version,
    arch: own(control.first('Architecture')),
    source: m && m[1] !== name ? own(m[1]) : name,
    sourceVersion: m?.[2] && m[2] !== version ? own(m[2]) : version,
    component,
    origin,
    jobId,
    debug: isDebugControl(fields),
  });
}

const binaryKey = (b: { package: string; arch: string }) => `${b.package} ${b.arch}`;

/**
 * Members by package and architecture, without a string made for each key: by the package's
 * name (the member's own string), a second architecture's by both (binaryKey). Keys made for
 * every member were 4 MiB of the queue's heap at 100,000 packages.
 */
export class ByBinaryKey {
  private readonly byName = new Map<string, SuiteBinary>();
  private readonly others = new Map<string, SuiteBinary>();

  get(b: { package: string; arch: string }): SuiteBinary | undefined {
    const held = this.byName.get(b.package);
    return held === undefined || held.arch === b.arch ? held : this.others.get(binaryKey(b));
  }

  /** A member of that package name, of whichever architecture came first. */
  named(pkg: string): SuiteBinary | undefined {
    return this.byName.get(pkg);
  }

  /** Holds `b`, in place of the member with its package and architecture (which keeps its place). */
  set(b: SuiteBinary): void {
    const held = this.byName.get(b.package);
    if (held === undefined || held.arch === b.arch) this.byName.set(b.package, b);
    else this.others.set(binaryKey(b), b);
  }

  /** Each package's first architecture in the order they came, then the others in theirs. */
  values(): SuiteBinary[] {
    return [...this.byName.values(), ...this.others.values()];
  }
}

/** A member's file's SHA-256, which the member does not hold (the control store does); undefined when not known. */
export type Sha256Of = (b: SuiteBinary) => string | undefined;

/**
 * Why `b` cannot join beside `old` (same package, architecture and version, other file), if it
 * cannot. A file whose digest is not known is taken as another.
 */
export function binaryConflict(suite: string, old: SuiteBinary | undefined, b: SuiteBinary, sha256Of: Sha256Of): string | undefined {
  if (!old || old.version !== b.version) return undefined;
  const [was, is] = [sha256Of(old), sha256Of(b)];
  if (was === undefined || was !== is) {
    return `${suite} already has ${b.package} ${b.version} ${b.arch} with other content (sha256 ${was ?? 'not known'}, new ${is ?? 'not known'}); give the new build a new version`;
  }
  return undefined;
}

/**
 * Why a build of `source` may not publish binary package `pkg` in suite `c`, if it may not: it
 * is not in the Binary: field of the source's .dsc (nor the -dbgsym of one there), so the
 * build made a package its source never declared; or another source in the suite already
 * publishes that name, which dak holds for NEW as a takeover, as one source could otherwise
 * replace another's package. Debian's own packages are not in the suite: a local overlay of
 * one (a newer "hello") is what a local archive is for, and stays allowed.
 */
export function binaryRefusal(c: SuiteContents, source: string, declared: string[], pkg: string, allowTakeover: boolean): string | undefined {
  if (!declared.includes(pkg) && !(pkg.endsWith('-dbgsym') && declared.includes(pkg.slice(0, -'-dbgsym'.length)))) {
    return `binary package ${pkg} is not in the Binary field of ${source}'s .dsc (${declared.join(', ') || 'empty'}); a build publishes only the packages its source declares, and their -dbgsym`;
  }
  const [taken] = allowTakeover ? [] : takeovers(c, source, [{ package: pkg }]);
  return taken && takeoverRefusal(c.id, pkg, taken[1], source);
}

/** Why `source` may not publish `pkg` in `suite`, where source `other` publishes it (or an include of both brings it). */
export function takeoverRefusal(suite: string, pkg: string, other: string, source: string, from?: 'this request'): string {
  const [how, instead] = from
    ? [`this request brings binary package ${pkg} from source ${other} too`, 'bring one of them']
    : [`binary package ${pkg} is already published in ${suite} by source ${other}`, `remove it first (archive rm ${other} --suite ${suite})`];
  return `${how}, so source ${source} may not take it over; ${instead} or set suites.${suite}.allow_binary_takeover: true in archive.yaml`;
}

/** A newly accepted source replaces the suite's older version; its binaries stay until rebuilt. */
export function withSource(c: SuiteContents, source: SuiteSource): SuiteContents {
  const held = c.sources.find((s) => s.source === source.source);
  if (held && compareVersions(held.version, source.version) > 0) {
    throw new ContentsError(`${c.id} already has ${held.source} ${held.version}, newer than ${source.version}`);
  }
  return { ...c, sources: [...c.sources.filter((s) => s.source !== source.source), source] };
}

/**
 * Binaries join per (package, architecture): a newer version replaces the held one, the same
 * version with the same file is a no-op, and the same version with another file is refused,
 * as dak and reprepro refuse it (apt would see two different files under one name). Costs what
 * changes, not what is held: adding one package to 100,000 copies the list, and merges one into its
 * sorted copy, which also answers which member holds a package (sortedBinaries).
 */
export function withBinaries(c: SuiteContents, binaries: SuiteBinary[], sha256Of: Sha256Of): SuiteContents {
  const had = (b: SuiteBinary) => heldBinary(c, b);
  const set = new ByBinaryKey();
  for (const b of binaries) {
    // A package given twice: the later one is checked against the earlier.
    const old = set.get(b) ?? had(b);
    const conflict = binaryConflict(c.id, old, b, sha256Of);
    if (conflict) throw new ContentsError(conflict);
    if (old && compareVersions(old.version, b.version) > 0) continue;
    set.set(b);
  }
  const joined = set.values().filter((b) => had(b) !== b);
  const replaced = new Map<SuiteBinary, SuiteBinary>();
  const added: SuiteBinary[] = [];
  for (const b of joined) {
    const old = had(b);
    if (old) replaced.set(old, b);
    else added.push(b);
  }
  // A member replaced keeps its place; new ones go at the end.
  const next = swapped(c.binaries, replaced).concat(added);
  changes.set(next, { from: new WeakRef(c.binaries), left: [...replaced.keys()], joined });
  sortedLists.set(next, changedSorted(sortedBinaries(c.binaries), new Set(replaced.keys()), joined));
  return { ...c, binaries: next };
}

/**
 * What withBinaries changed, by the list it made: the members that left and joined the list it
 * was given, so that the suite store writes them without comparing 100,000 members. The list it
 * was given is held weakly: each list would otherwise keep every list before it.
 */
const changes = new WeakMap<SuiteBinary[], { from: WeakRef<SuiteBinary[]>; left: SuiteBinary[]; joined: SuiteBinary[] }>();

/** The members that left `from` and joined `to`, when withBinaries made `to` from `from`. */
export function binariesChange(from: SuiteBinary[], to: SuiteBinary[]): { left: SuiteBinary[]; joined: SuiteBinary[] } | undefined {
  const change = changes.get(to);
  return change?.from.deref() === from ? { left: change.left, joined: change.joined } : undefined;
}

/** The list withBinaries made `to` from, and what left it and joined, while that list is still held. */
export function madeFrom(to: SuiteBinary[]): { from: SuiteBinary[]; left: SuiteBinary[]; joined: SuiteBinary[] } | undefined {
  const change = changes.get(to);
  const from = change?.from.deref();
  return from && change && { from, left: change.left, joined: change.joined };
}

const byNameThenArch = (a: { package: string; arch: string }, b: { package: string; arch: string }) => inOrder(a.package, b.package) || inOrder(a.arch, b.arch);

/**
 * A list of binaries by package name, then architecture (the order of Packages), made once per
 * list and kept while the list is. A list withBinaries made from one already sorted is sorted
 * by merging in what joined: publishing one more package among 100,000 sorts one.
 */
export function sortedBinaries(binaries: SuiteBinary[]): SuiteBinary[] {
  let sorted = sortedLists.get(binaries);
  if (!sorted) sortedLists.set(binaries, (sorted = [...binaries].sort(byNameThenArch)));
  return sorted;
}
const sortedLists = new WeakMap<SuiteBinary[], SuiteBinary[]>();

/**
 * A few members of a long list, found without visiting the rest: the list's own copy and search
 * (memmove and a pointer compare in V8) cost a fraction of a callback per member.
 */
const FEW = 16;

/** `list` with each member `replaced` names in its place replaced (a copy). */
function swapped(list: SuiteBinary[], replaced: Map<SuiteBinary, SuiteBinary>): SuiteBinary[] {
  if (replaced.size > FEW) return list.map((b) => replaced.get(b) ?? b);
  const out = list.slice();
  for (const [old, b] of replaced) out[out.indexOf(old)] = b;
  return out;
}

/**
 * A list in Packages order (by name, then architecture) without `left` (each one of its members)
 * and with `joined` (in any order) merged in: a copy. A few changes are found by search, and the
 * list copied around them in slices, joined in one concat (V8 copies those as blocks of memory;
 * a loop over 100,000 members, run once per publication, runs uncompiled).
 */
export function changedSorted(sorted: SuiteBinary[], left: Set<SuiteBinary>, joined: SuiteBinary[]): SuiteBinary[] {
  const adding = [...joined].sort(byNameThenArch);
  if (left.size > FEW || adding.length > FEW) return merged(sorted.filter((b) => !left.has(b)), adding);
  const gone = [...left].map((b) => sorted.indexOf(b)).filter((at) => at >= 0).sort((a, b) => a - b);
  const parts: SuiteBinary[][] = [];
  let i = 0;
  let g = 0;
  // The members from i up to `end`, but those gone.
  const copyUpTo = (end: number) => {
    for (; g < gone.length && gone[g] < end; g++) {
      parts.push(sorted.slice(i, gone[g]));
      i = gone[g] + 1;
    }
    parts.push(sorted.slice(i, end));
    i = end;
  };
  for (const x of adding) {
    copyUpTo(after(sorted, x));
    parts.push([x]);
  }
  copyUpTo(sorted.length);
  return ([] as SuiteBinary[]).concat(...parts);
}

/** Two sorted lists as one. */
function merged(a: SuiteBinary[], b: SuiteBinary[]): SuiteBinary[] {
  const out: SuiteBinary[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(byNameThenArch(a[i], b[j]) <= 0 ? a[i++] : b[j++]);
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/**
 * The suite's member of b's package and architecture, if any: found in the list's sorted copy by
 * bisection (a map of 100,000 members by name held 3.5 MiB of the queue's heap beside it). Of two
 * members of one package and architecture (a copy can leave two), the later one.
 */
export function heldBinary(c: SuiteContents, b: { package: string; arch: string }): SuiteBinary | undefined {
  const sorted = sortedBinaries(c.binaries);
  const found = sorted[after(sorted, b) - 1];
  return found && found.package === b.package && found.arch === b.arch ? found : undefined;
}

/** Where `x` goes in a sorted list: after every member that sorts with it or before it (by bisection). */
function after(sorted: SuiteBinary[], x: { package: string; arch: string }): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byNameThenArch(sorted[mid], x) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Once every build of a source's published version is in, binaries that older versions built
 * and the new one no longer does go (dak's "not built from source" cruft). Imported binaries
 * are the user's and stay until `archive rm`.
 */
export function withoutSuperseded(c: SuiteContents, source: string): SuiteContents {
  const current = c.sources.find((s) => s.source === source);
  if (!current) return c;
  return { ...c, binaries: c.binaries.filter((b) => b.source !== source || ofVersion(b, current.version)) };
}

/** Whether a binary of a source goes with the source's `version`: built from it, or imported (the user's, kept whatever its version). */
const ofVersion = (b: SuiteBinary, version: string) => b.origin === 'imported' || b.sourceVersion === version;

/** `archive rm`: the source and every binary built from it (or imported under its name). */
export function withoutSource(c: SuiteContents, source: string): { contents: SuiteContents; sources: number; binaries: number } {
  const sources = c.sources.filter((s) => s.source === source).length;
  const binaries = c.binaries.filter((b) => b.source === source).length;
  if (sources + binaries === 0) throw new NothingToRemove(`${c.id} has no source package or binaries from ${source}; see archive ls --suite ${c.id}`);
  return {
    contents: { ...c, sources: c.sources.filter((s) => s.source !== source), binaries: c.binaries.filter((b) => b.source !== source) },
    sources,
    binaries,
  };
}

/**
 * `archive copy`: a source and its binaries of that version (copiedBinaries) as published in
 * `from` replace what `to` holds of that source, with no rebuild (a migration, as britney's),
 * the source noted as in `to` since `at` (unless `to` had that version already; `unchanged` when
 * it had every file too).
 * Binaries for architectures `to` does not have are left out; a downgrade is refused, and so is
 * a binary package another source publishes in `to` unless `allowTakeover` (then the copy's
 * replaces it).
 */
export function withCopy(from: SuiteContents, to: SuiteContents, source: string, toArchitectures: string[], allowTakeover: boolean, at = new Date().toISOString()): { contents: SuiteContents; copied: SuiteBinary[]; version: string; unchanged?: boolean } {
  const version = publishedVersion(from, source);
  if (!version) throw new ContentsError(`${from.id} has no source package or binaries from ${source}; see archive ls --suite ${from.id}`);
  const binaries = copiedBinaries(from, source, version, toArchitectures);
  const held = publishedVersion(to, source);
  if (held && compareVersions(held, version) > 0) {
    throw new ContentsError(`${to.id} has ${source} ${held}, newer than ${from.id}'s ${version}; remove it first (archive rm ${source} --suite ${to.id}) to go back`);
  }
  const src = from.sources.find((s) => s.source === source);
  const had = to.sources.find((s) => s.source === source);
  // The same version with every file the copy brings: nothing changes (what the target has
  // besides, an architecture `from` lacks, stays), and its days there still count.
  const paths = new Set(to.binaries.filter((b) => b.source === source).map((b) => b.path));
  if (held === version && (!src || had?.version === version) && binaries.every((b) => paths.has(b.path))) return { contents: to, copied: [], version, unchanged: true };
  // As a migration waits for them: the copy would leave the target the source without them
  // (their builds join `from` only, and a copied source is not built again in `to`).
  const unbuilt = unbuiltArchitectures(from, source, version, toArchitectures);
  if (unbuilt.length > 0) throw new ContentsError(`${source} ${version} is not copied to ${to.id}: ${unbuiltText(from.id, unbuilt)}; copy it once they are in (archive status ${source} says how its builds stand)`);
  const taken = allowTakeover ? [] : takeovers(to, source, binaries);
  if (taken.length > 0) {
    throw new ContentsError(`${source} ${version} is not copied to ${to.id}: ${takeoverText(taken, to.id)}; remove that source first (archive rm ${taken[0][1]} --suite ${to.id}) or set suites.${to.id}.allow_binary_takeover: true in archive.yaml`);
  }
  // What the target held of the source goes, and so does what another source had under a name
  // and architecture the copy brings (a takeover, allowed), whatever its version: apt sees one of
  // each, the copy's.
  const brought = new Set(binaries.map((b) => `${b.package} ${b.arch}`));
  const rest = { ...to, sources: to.sources.filter((s) => s.source !== source), binaries: to.binaries.filter((b) => b.source !== source && !brought.has(`${b.package} ${b.arch}`)) };
  // In the target since the copy, unless it had that version already (binaries it lacked brought):
  // a migration's after_days count from when the version entered it.
  const since = had?.version === version ? had.since : at;
  return { contents: { ...rest, sources: src ? [...rest.sources, { ...src, since }] : rest.sources, binaries: [...rest.binaries, ...binaries] }, copied: binaries, version };
}

/**
 * The architectures among `toArchitectures` (and `all`) that `source` `version` builds for, by
 * its .dsc's Architecture field and as its builds are planned (core/build-plan.ts), of which
 * `from` holds none of its binaries: its builds there not all in yet (or failed, or held back),
 * or `from` without that architecture. A copy or migration of it waits for them. None for a
 * source `from` holds only binaries of (imported: they are all there is).
 */
export function unbuiltArchitectures(from: SuiteContents, source: string, version: string, toArchitectures: string[]): string[] {
  const src = from.sources.find((s) => s.source === source && s.version === version);
  if (!src) return [];
  const architectures = (new Paragraph(src.stanza).first('Architecture') ?? '').split(/\s+/).filter(Boolean);
  const builds = planBuilds(architectures, toArchitectures).flatMap((p) => (p.buildArg === '-B' ? [p.arch] : p.buildArg === '-A' ? ['all'] : [p.arch, 'all']));
  const held = new Set(copiedBinaries(from, source, version, toArchitectures).map((b) => b.arch));
  return [...new Set(builds)].filter((arch) => !held.has(arch)).sort(inOrder);
}

/** "unstable has none of its binaries for amd64, all yet (...)": what unbuiltArchitectures found. */
export const unbuiltText = (from: string, unbuilt: string[]) =>
  `${from} has none of its binaries for ${unbuilt.join(', ')} yet (their builds are not all in, failed or are held back, or ${from} lacks the architecture)`;

/**
 * The binaries of `source` at `version` a copy from `from` brings to a suite of
 * `toArchitectures`. Not those an older version built that `from` still holds (its new builds
 * not all in yet, or one failed): the copy would pair them with a source they were not built from.
 */
export function copiedBinaries(from: SuiteContents, source: string, version: string, toArchitectures: string[]): SuiteBinary[] {
  return from.binaries.filter((b) => b.source === source && ofVersion(b, version) && (b.arch === 'all' || toArchitectures.includes(b.arch)));
}

/**
 * The packages among `binaries` (of `source`) that another source publishes in `c`, each with
 * that source, in package order: taking one over needs allow_binary_takeover, whether a build
 * brings it (binaryRefusal), a build held back joins later, or a copy or migration brings it.
 */
export function takeovers(c: SuiteContents, source: string, binaries: Pick<SuiteBinary, 'package'>[]): [pkg: string, other: string][] {
  const found = takenOver(c, binaries.map((b) => ({ package: b.package, source })));
  return [...found].map(([key, other]): [string, string] => [key.slice(0, key.indexOf(' ')), other]).sort(([a], [b]) => inOrder(a, b));
}

/**
 * Of `binaries` (each with the source bringing it), each whose package another source publishes
 * in `c`: that source, by "PACKAGE SOURCE" (one pass over c's members, whatever their number).
 */
export function takenOver(c: SuiteContents, binaries: Pick<SuiteBinary, 'package' | 'source'>[]): Map<string, string> {
  const bringing = new Map<string, Set<string>>();
  for (const b of binaries) {
    const sources = bringing.get(b.package) ?? new Set<string>();
    bringing.set(b.package, sources.add(b.source));
  }
  const found = new Map<string, string>();
  for (const held of c.binaries) {
    for (const source of bringing.get(held.package) ?? []) {
      const key = `${held.package} ${source}`;
      if (held.source !== source && !found.has(key)) found.set(key, held.source);
    }
  }
  return found;
}

/** "binary package libx1 is published in testing by source y" (and how many more). */
export function takeoverText(taken: [pkg: string, other: string][], suite: string): string {
  const [pkg, other] = taken[0];
  return `binary package ${pkg} is published in ${suite} by source ${other}${taken.length > 1 ? ` (and ${taken.length - 1} more that other sources publish there)` : ''}, which it may not take over`;
}

/** The version of a source a suite publishes: its source package's, else its binaries' newest. */
export function publishedVersion(c: SuiteContents, source: string): string | undefined {
  return c.sources.find((s) => s.source === source)?.version ?? c.binaries.filter((b) => b.source === source).map((b) => b.sourceVersion).sort(compareVersions).pop();
}

/** Every pool file the contents name, relative to public/. */
export function poolFilesOf(c: SuiteContents): string[] {
  return [...c.sources.flatMap((s) => s.files), ...c.binaries.map((b) => b.path)];
}
