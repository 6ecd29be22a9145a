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
import { sortedBinaries, type SuiteBinary, type SuiteContents, type SuiteSource } from './suite-contents.js';

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

/** Binaries' control fields, in their order (kept on disk by the queue: storage/binary-controls.ts). */
export type ControlsOf = (binaries: SuiteBinary[]) => [string, string][][];

const isSource = (m: Member): m is SuiteSource => 'stanza' in m;
/** A source's stanza is held with it: it is known by its text's hash, made once. */
const sourceIdentities = new WeakMap<SuiteSource, string>();

/**
 * Members as stanzas. A binary's stanza is made from its control (read from disk) and its pool
 * file only when the publisher needs its chunk's text, and is not kept: a binary is known by its
 * pool file's path and hash, which fix its stanza.
 */
export function memberStanzas(controlsOf: ControlsOf): StanzaSource<Member> {
  const sourceParagraph = (s: SuiteSource) => new Paragraph(s.stanza);
  return {
    values: true,
    name: (m) => (isSource(m) ? m.source : m.package),
    identity: (m) => {
      if (!isSource(m)) return `${m.path} ${m.sha256}`;
      let id = sourceIdentities.get(m);
      if (!id) sourceIdentities.set(m, (id = createHash('sha256').update(sourceParagraph(m).toString()).digest('base64')));
      return id;
    },
    stanzas: (members) => {
      const binaries = members.filter((m): m is SuiteBinary => !isSource(m));
      const controls = new Map(controlsOf(binaries).map((c, i) => [binaries[i], c]));
      return members.map((m) => (isSource(m) ? stanzaOf(sourceParagraph(m)) : packagesStanza(controls.get(m)!, m)));
    },
  };
}

export function planPublication(config: ArchiveConfig, contents: SuiteContents[], controlsOf: ControlsOf): SuitePlan[] {
  const stanzas = memberStanzas(controlsOf);
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
      components: components.map((name) => ({ name, sources: [], packages: new Map(architectures.map((a) => [a, []])) })),
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
    for (const b of sortedBinaries(c.binaries)) {
      const into = b.debug ? debug : plan;
      const target = component(into, b.component).packages;
      const arches = b.arch === 'all' ? architectures : architectures.includes(b.arch) ? [b.arch] : [];
      for (const arch of arches) target.get(arch)!.push(b);
      into.poolFiles.push(b.path);
    }
    plans.push(plan, debug);
  }
  return plans;
}
