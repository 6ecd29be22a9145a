// What each suite and snapshot publishes, from its contents (core/suite-contents.ts): per
// component, the Sources stanzas and, per architecture, the Packages stanzas. Architecture:
// all goes into every binary-ARCH index (as dak and apt-ftparchive do). Debug symbols go to a
// suite of their own beside each, NAME-debug with the same components and architectures, and
// no sources (as Debian's debian-debug archive holds them), published even while empty so that
// an apt source naming it always works.
import { createHash } from 'node:crypto';
import { DEBUG_SUFFIX, type ArchiveConfig } from '../config/config.js';
import { Paragraph } from '../debian/deb822.js';
import { inOrder, packagesStanza, stanzaOf, type StanzaSource } from '../debian/indices.js';
import { changedSorted, madeFrom, sortedBinaries, type SuiteBinary, type SuiteContents, type SuiteSource } from './suite-contents.js';

/** What an index lists: binaries in Packages, sources in Sources. */
export type Member = SuiteBinary | SuiteSource;

export interface ComponentPlan<T = Member> {
  name: string;
  sources: T[];
  /** Packages members per architecture. */
  packages: Map<string, T[]>;
}

export interface SuitePlan<T = Member> {
  suite: string;
  codename: string;
  architectures: string[];
  components: ComponentPlan<T>[];
  /** Every pool file the indices name, relative to public/. */
  poolFiles: string[];
  /** How its members become stanzas. */
  stanzas: StanzaSource<T>;
}

/**
 * What the pool knows of binaries that they do not hold (the queue's control store,
 * storage/binary-controls.ts): their control fields, in their order, read from disk, and a file's
 * digests (undefined when not known).
 */
export interface PoolFacts {
  controls(binaries: SuiteBinary[]): [string, string][][];
  digest(b: SuiteBinary): { md5: string; sha256: string } | undefined;
}

const isSource = (m: Member): m is SuiteSource => 'stanza' in m;
/** A source's stanza is held with it: it is known by its text's hash, made once. */
const sourceIdentities = new WeakMap<SuiteSource, string>();

/**
 * Members as stanzas. A binary's stanza is made from its control (read from disk) and its pool
 * file only when the publisher needs its chunk's text, and is not kept: a binary is known by its
 * pool file's path and hash, which fix its stanza.
 */
export function memberStanzas(pool: PoolFacts): StanzaSource<Member> {
  const sourceParagraph = (s: SuiteSource) => new Paragraph(s.stanza);
  return {
    values: true,
    name: (m) => (isSource(m) ? m.source : m.package),
    identity: (m) => {
      if (!isSource(m)) return `${m.path} ${pool.digest(m)?.sha256}`;
      let id = sourceIdentities.get(m);
      if (!id) sourceIdentities.set(m, (id = createHash('sha256').update(sourceParagraph(m).toString()).digest('base64')));
      return id;
    },
    stanzas: (members) => {
      const binaries = members.filter((m): m is SuiteBinary => !isSource(m));
      const controls = new Map(pool.controls(binaries).map((c, i) => [binaries[i], c]));
      return members.map((m) => {
        if (isSource(m)) return stanzaOf(sourceParagraph(m));
        const digest = pool.digest(m);
        if (!digest) throw new Error(`${m.path}: its digests are not known (the control store has no whole line for it)`);
        return packagesStanza(controls.get(m)!, { path: m.path, size: m.size, ...digest });
      });
    },
  };
}

/**
 * A suite's binaries as its Packages lists hold them (in Packages order), and the pool files of
 * each, by the suite ('') and its -debug suite. Made once per list of binaries (contents are
 * values), and for a list withBinaries made from one placed before, from that one: publishing
 * one more package among 100,000 places one, not 100,000.
 */
interface Placement {
  shape: string;
  lists: Map<string, SuiteBinary[]>;
  paths: Map<string, string[]>;
}
const placements = new WeakMap<SuiteBinary[], Placement>();
const listName = (suffix: string, component: string, arch: string) => `${suffix}/${component}/${arch}`;

function placement(binaries: SuiteBinary[], components: string[], architectures: string[]): Placement {
  const shape = JSON.stringify([components, architectures]);
  const held = placements.get(binaries);
  if (held?.shape === shape) return held;
  // Architecture: all goes into every binary-ARCH list; a component taken out of archive.yaml
  // since: its packages show in the first one.
  const listsOf = (b: SuiteBinary) => {
    const suffix = b.debug ? DEBUG_SUFFIX : '';
    const component = components.includes(b.component) ? b.component : components[0];
    const arches = b.arch === 'all' ? architectures : architectures.includes(b.arch) ? [b.arch] : [];
    return { suffix, names: arches.map((arch) => listName(suffix, component, arch)) };
  };
  const made: Placement = { shape, lists: new Map(), paths: new Map([['', []], [DEBUG_SUFFIX, []]]) };
  const change = madeFrom(binaries);
  const before = change && placements.get(change.from);
  if (change && before?.shape === shape) {
    // Each list without the members that left it and with those that joined it.
    const left = new Map<string, Set<SuiteBinary>>();
    const joined = new Map<string, SuiteBinary[]>();
    const gone = new Map<string, Set<string>>([['', new Set()], [DEBUG_SUFFIX, new Set()]]);
    for (const b of change.left) {
      const { suffix, names } = listsOf(b);
      for (const n of names) left.set(n, (left.get(n) ?? new Set()).add(b));
      gone.get(suffix)!.add(b.path);
    }
    for (const b of change.joined) {
      for (const n of listsOf(b).names) {
        const list = joined.get(n);
        if (list) list.push(b);
        else joined.set(n, [b]);
      }
    }
    for (const n of new Set([...before.lists.keys(), ...joined.keys()])) {
      const list = before.lists.get(n) ?? [];
      made.lists.set(n, left.has(n) || joined.has(n) ? changedSorted(list, left.get(n) ?? new Set(), joined.get(n) ?? []) : list);
    }
    for (const [suffix, paths] of before.paths) made.paths.set(suffix, withoutPaths(paths, gone.get(suffix)!));
    for (const b of change.joined) made.paths.get(b.debug ? DEBUG_SUFFIX : '')!.push(b.path);
  } else {
    for (const b of sortedBinaries(binaries)) {
      const { suffix, names } = listsOf(b);
      for (const n of names) {
        const list = made.lists.get(n);
        if (list) list.push(b);
        else made.lists.set(n, [b]);
      }
      made.paths.get(suffix)!.push(b.path);
    }
  }
  placements.set(binaries, made);
  return made;
}

/** `paths` without those in `gone` (each one of them), a copy: a few are found without hashing the rest. */
function withoutPaths(paths: string[], gone: Set<string>): string[] {
  if (gone.size > 16) return paths.filter((p) => !gone.has(p));
  const out = paths.slice();
  for (const p of gone) out.splice(out.indexOf(p), 1);
  return out;
}

export function planPublication(config: ArchiveConfig, contents: SuiteContents[], pool: PoolFacts): SuitePlan[] {
  const stanzas = memberStanzas(pool);
  const plans: SuitePlan[] = [];
  for (const c of contents) {
    const suite = config.suites.find((s) => s.name === (c.kind === 'snapshot' ? c.of : c.id));
    const components = c.components ?? suite?.components;
    const architectures = c.architectures ?? suite?.architectures;
    if (!components || !architectures) continue; // a suite taken out of archive.yaml is no longer published
    const codename = c.kind === 'snapshot' ? c.id : c.id === 'unstable' ? 'sid' : c.id;
    const empty = (id: string, code: string): SuitePlan => ({
      suite: id,
      codename: code,
      architectures,
      components: components.map((name) => ({ name, sources: [], packages: new Map() })),
      poolFiles: [],
      stanzas,
    });
    const plan = empty(c.id, codename);
    const debug = empty(`${c.id}${DEBUG_SUFFIX}`, `${codename}${DEBUG_SUFFIX}`);
    // A component taken out of archive.yaml since: its packages show in the first one.
    const component = (p: SuitePlan, name: string) => p.components.find((x) => x.name === name) ?? p.components[0];
    for (const s of [...c.sources].sort((a, b) => inOrder(a.source, b.source))) {
      component(plan, s.component).sources.push(s);
      plan.poolFiles.push(...s.files);
    }
    const placed = placement(c.binaries, components, architectures);
    for (const [p, prefix] of [[plan, ''], [debug, DEBUG_SUFFIX]] as const) {
      for (const { name, packages } of p.components) for (const arch of architectures) packages.set(arch, placed.lists.get(listName(prefix, name, arch)) ?? []);
      p.poolFiles = p.poolFiles.concat(placed.paths.get(prefix)!);
    }
    plans.push(plan, debug);
  }
  return plans;
}
