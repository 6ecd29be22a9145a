// Binary package relationship fields (Policy 7.1): "a (>= 1) | b, c:any", parsed, and whether
// a set of packages satisfies one of their clauses (Provides and Multi-Arch included). Pure.
import { compareVersions } from './version.js';

export type RelationOp = '<<' | '<=' | '=' | '>=' | '>>';

export interface Relation {
  name: string;
  /** The architecture qualifier (":any", ":native"), when given. */
  archQualifier?: string;
  op?: RelationOp;
  version?: string;
}

/** A clause: alternatives, any of which satisfies it; `text` as the field wrote it. */
export interface RelationClause {
  text: string;
  alternatives: Relation[];
}

/** A package as relations see it: its name, version, architecture, Multi-Arch and Provides. */
export interface RelationPackage {
  package: string;
  version: string;
  arch: string;
  multiArch?: string;
  provides: Relation[];
}

const RELATION = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^\s)]+)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$/;

/** A relationship field's clauses; what cannot be read is an error naming it. */
export function parseRelations(field: string): RelationClause[] | { error: string } {
  const clauses: RelationClause[] = [];
  for (const raw of field.split(',')) {
    const text = raw.trim().replace(/\s+/g, ' ');
    if (!text) continue;
    const alternatives: Relation[] = [];
    for (const alt of text.split('|')) {
      const m = alt.trim().match(RELATION);
      if (!m) return { error: `"${alt.trim()}" is not a package relation (name, then an optional "(op version)")` };
      // "<" and ">" are the obsolete forms of "<=" and ">=" (Policy 7.1).
      const op = m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : (m[3] as RelationOp | undefined);
      alternatives.push({ name: m[1], ...(m[2] ? { archQualifier: m[2] } : {}), ...(op ? { op, version: m[4] } : {}) });
    }
    clauses.push({ text, alternatives });
  }
  return clauses;
}

/** Whether `version` meets `op wanted`. */
export function versionSatisfies(version: string, op: RelationOp, wanted: string): boolean {
  const c = compareVersions(version, wanted);
  return op === '<<' ? c < 0 : op === '<=' ? c <= 0 : op === '=' ? c === 0 : op === '>=' ? c >= 0 : c > 0;
}

/** Packages by the names they answer to: their own and what they provide. */
export class RelationIndex {
  private readonly byName = new Map<string, { pkg: RelationPackage; provided?: Relation }[]>();

  constructor(packages: RelationPackage[]) {
    for (const pkg of packages) {
      this.add(pkg.package, { pkg });
      for (const p of pkg.provides) this.add(p.name, { pkg, provided: p });
    }
  }

  private add(name: string, entry: { pkg: RelationPackage; provided?: Relation }): void {
    const list = this.byName.get(name);
    if (list) list.push(entry);
    else this.byName.set(name, [entry]);
  }

  /**
   * Whether a package here satisfies `r` for a package of architecture `arch`: of that
   * architecture or all, or of any when the relation says ":any" (of a Multi-Arch: allowed
   * package) or the package is Multi-Arch: foreign. A versioned relation is met by a provided
   * name only through a versioned Provides (Policy 7.5).
   */
  satisfies(r: Relation, arch: string): boolean {
    return (this.byName.get(r.name) ?? []).some(({ pkg, provided }) => {
      const archOk = pkg.arch === arch || pkg.arch === 'all' || (r.archQualifier === 'any' && pkg.multiArch === 'allowed') || pkg.multiArch === 'foreign';
      if (!archOk) return false;
      if (!r.op || !r.version) return true;
      const version = provided ? provided.version : pkg.version;
      if (provided && provided.op !== '=') return false;
      return version !== undefined && versionSatisfies(version, r.op, r.version);
    });
  }
}
