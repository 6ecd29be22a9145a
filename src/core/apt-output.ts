// Reading what apt-get build-dep says, for the build-dependency cache and dep-wait.
import { createHash } from 'node:crypto';
import { parseDeb822 } from '../debian/deb822.js';
import { inOrder } from '../debian/indices.js';

export interface ResolvedPackage {
  name: string;
  version: string;
}

/** The packages `apt-get build-dep -s` would install: its "Inst NAME [OLD] (VERSION ...)" lines. */
export function parseSimulation(output: string): ResolvedPackage[] {
  const installs: ResolvedPackage[] = [];
  for (const line of output.split('\n')) {
    const m = line.match(/^Inst (\S+) (?:\[[^\]]*\] )?\((\S+)/);
    if (m) installs.push({ name: m[1], version: m[2] });
  }
  return installs.sort((a, b) => inOrder(a.name, b.name));
}

/**
 * The packages `apt-get build-dep -s` would remove (Build-Conflicts, or packages the installs
 * conflict with): its "Remv NAME [VERSION]" lines ("Purg" with --purge), the names sorted.
 */
export function parseRemovals(output: string): string[] {
  const names = new Set<string>();
  for (const line of output.split('\n')) {
    const m = line.match(/^(?:Remv|Purg) (\S+)/);
    if (m) names.add(m[1]);
  }
  return [...names].sort(inOrder);
}

/** One line of apt's complaint: the package (or "builddeps:SRC") whose field names the relation. */
export interface UnmetRelation {
  package?: string;
  field: string;
  relation: string;
}

/**
 * apt's complaint, line by line. apt 2.x says "The following packages have unmet
 * dependencies:", apt 3.x "Unsatisfied dependencies:"; both list " PACKAGE : Depends:
 * RELATION" lines, continued by "Depends:" lines indented under the first (their package
 * carried to them).
 */
export function parseUnmetLines(output: string): UnmetRelation[] {
  const out: UnmetRelation[] = [];
  let inList = false;
  let pkg: string | undefined;
  for (const line of output.split('\n')) {
    if (/unmet dependencies|Unsatisfied dependencies/i.test(line)) {
      inList = true;
      continue;
    }
    if (!inList) continue;
    const m = line.match(/^\s*(?:(\S+) :\s*)?(Depends|PreDepends|Pre-Depends|Breaks|Conflicts): (.+)$/);
    if (m) {
      pkg = m[1] ?? pkg;
      out.push({ ...(pkg ? { package: pkg } : {}), field: m[2], relation: m[3].trim() });
    } else if (/^(E|Error|W|N):|^\S/.test(line) && out.length > 0) inList = false;
  }
  return out;
}

/** The unsatisfiable relations in apt's complaint, e.g. "libfoo-dev but it is not installable". */
export function parseUnmet(output: string): string[] {
  return [...new Set(parseUnmetLines(output).map((u) => u.relation))];
}

/** Whether apt failed because dependencies cannot be satisfied (dep-wait), not for another reason. */
export function isUnsatisfiable(output: string): boolean {
  return parseUnmet(output).length > 0 || /Unable to correct problems|Unable to satisfy dependencies|has no installation candidate|Unable to locate package/.test(output);
}

/**
 * What `apt-cache show NAME=VERSION…` says of each package file: "NAME=VERSION SHA256", sorted.
 * A name and version do not say what is in the file: this archive may publish other content
 * under the same ones after an `archive rm`, and the cache is shared by every archive on the
 * engine, so the key holds the files' hashes too.
 */
export function parseShowHashes(output: string): string[] {
  const hashes = new Set<string>();
  for (const p of parseDeb822(output, 'apt-cache show')) {
    if (p.first('Package') && p.first('SHA256')) hashes.add(`${p.first('Package')}=${p.first('Version')} ${p.first('SHA256')}`);
  }
  return [...hashes].sort();
}

/**
 * The cache key: the build environment image and the exact change apt would make to it: what it
 * installs, file hashes included, and what it removes. The removals are in the key, not only the
 * installs: a source with Build-Conflicts: g++ installing the same set as one without would
 * otherwise share its image, and get one with g++ still there (a hit), or leave one without it
 * for the other (a miss, committed). Keying them (refusing to cache would have to skip the
 * lookup as well) gives each its own image. A removal is "-NAME" (a package name never starts
 * with "-", so it is no install's or hash's line); a set that removes nothing keys as before.
 */
export function depsKey(buildenvImageId: string, arch: string, installs: ResolvedPackage[], hashes: string[], removals: string[]): string {
  const h = createHash('sha256').update(`${buildenvImageId}\n${arch}\n`);
  for (const p of installs) h.update(`${p.name}=${p.version}\n`);
  for (const line of hashes) h.update(`${line}\n`);
  for (const name of removals) h.update(`-${name}\n`);
  return h.digest('hex').slice(0, 32);
}
