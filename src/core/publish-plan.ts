// What each suite and snapshot publishes, from its contents (core/suite-contents.ts): per
// component, the Sources stanzas and, per architecture, the Packages stanzas. Architecture:
// all goes into every binary-ARCH index (as dak and apt-ftparchive do). Debug symbols go to a
// suite of their own beside each, NAME-debug with the same components and architectures, and
// no sources (as Debian's debian-debug archive holds them), published even while empty so that
// an apt source naming it always works.
import { DEBUG_SUFFIX, type ArchiveConfig } from '../config/config.js';
import { Paragraph } from '../debian/deb822.js';
import { packagesStanza } from '../debian/indices.js';
import { isDebugSymbols, type SuiteBinary, type SuiteContents } from './suite-contents.js';

export interface ComponentPlan {
  name: string;
  sources: Paragraph[];
  /** Packages stanzas per architecture. */
  packages: Map<string, Paragraph[]>;
}

export interface SuitePlan {
  suite: string;
  codename: string;
  architectures: string[];
  components: ComponentPlan[];
  /** Every pool file the indices name, relative to public/. */
  poolFiles: string[];
}

/** Stanzas are made once per pool file and reused: a 10,000-package publish stays cheap. */
const stanzaCache = new WeakMap<SuiteBinary, Paragraph>();
function stanzaOf(b: SuiteBinary): Paragraph {
  let p = stanzaCache.get(b);
  if (!p) stanzaCache.set(b, (p = packagesStanza(new Paragraph(b.control), b)));
  return p;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function planPublication(config: ArchiveConfig, contents: SuiteContents[]): SuitePlan[] {
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
      component(plan, s.component).sources.push(new Paragraph(s.stanza));
      plan.poolFiles.push(...s.files);
    }
    const binaries = [...c.binaries].sort((a, b) => byName(a.package, b.package) || byName(a.arch, b.arch));
    for (const b of binaries) {
      const into = isDebugSymbols(b) ? debug : plan;
      const target = component(into, b.component).packages;
      const arches = b.arch === 'all' ? architectures : architectures.includes(b.arch) ? [b.arch] : [];
      for (const arch of arches) target.get(arch)!.push(stanzaOf(b));
      into.poolFiles.push(b.path);
    }
    plans.push(plan, debug);
  }
  return plans;
}
