// What each suite and snapshot publishes, from its contents (core/suite-contents.ts): per
// component, the Sources stanzas and, per architecture, the Packages stanzas. Architecture:
// all goes into every binary-ARCH index (as dak and apt-ftparchive do). Debug symbols go to a
// suite of their own beside each, NAME-debug with the same components and architectures, and
// no sources (as Debian's debian-debug archive holds them), published even while empty so that
// an apt source naming it always works.
import { DEBUG_SUFFIX, type ArchiveConfig } from '../config/config.js';
import { Paragraph } from '../debian/deb822.js';
import { packagesStanza, stanzaOf, type Stanza } from '../debian/indices.js';
import type { SuiteBinary, SuiteContents, SuiteSource } from './suite-contents.js';

export interface ComponentPlan {
  name: string;
  sources: Stanza[];
  /** Packages stanzas per architecture. */
  packages: Map<string, Stanza[]>;
}

export interface SuitePlan {
  suite: string;
  codename: string;
  architectures: string[];
  components: ComponentPlan[];
  /** Every pool file the indices name, relative to public/. */
  poolFiles: string[];
}

/** A binary's control fields (kept on disk by the queue: storage/binary-controls.ts). */
export type ControlOf = (b: SuiteBinary) => [string, string][];

/**
 * Stanzas are made once per member and reused, as text (the parsed paragraph is not kept): a
 * 10,000-package publish stays cheap, and a member costs its stanza's bytes.
 */
const stanzas = new WeakMap<SuiteBinary | SuiteSource, Stanza>();
function stanzaFor(m: SuiteBinary | SuiteSource, controlOf: ControlOf): Stanza {
  let s = stanzas.get(m);
  if (!s) stanzas.set(m, (s = stanzaOf('stanza' in m ? new Paragraph(m.stanza) : packagesStanza(new Paragraph(controlOf(m)), m))));
  return s;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function planPublication(config: ArchiveConfig, contents: SuiteContents[], controlOf: ControlOf): SuitePlan[] {
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
    });
    const plan = empty(c.id, codename);
    const debug = empty(`${c.id}${DEBUG_SUFFIX}`, `${codename}${DEBUG_SUFFIX}`);
    // A component taken out of archive.yaml since: its packages show in the first one.
    const component = (p: SuitePlan, name: string) => p.components.find((x) => x.name === name) ?? p.components[0];
    for (const s of [...c.sources].sort((a, b) => byName(a.source, b.source))) {
      component(plan, s.component).sources.push(stanzaFor(s, controlOf));
      plan.poolFiles.push(...s.files);
    }
    const binaries = [...c.binaries].sort((a, b) => byName(a.package, b.package) || byName(a.arch, b.arch));
    for (const b of binaries) {
      const into = b.debug ? debug : plan;
      const target = component(into, b.component).packages;
      const arches = b.arch === 'all' ? architectures : architectures.includes(b.arch) ? [b.arch] : [];
      for (const arch of arches) target.get(arch)!.push(stanzaFor(b, controlOf));
      into.poolFiles.push(b.path);
    }
    plans.push(plan, debug);
  }
  return plans;
}
