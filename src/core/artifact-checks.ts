// What a build hands back is checked before any of it is pooled, as dak's daklib/checks.py
// checks an upload: a list of named checks, each one entry. Never trusts the exit code alone:
// the .changes must be of the job's source and version and list binary packages, every file it
// lists must be returned intact, and each .deb must say it is what its name and the job say.
// The queue reads the files (daemons/queue/build-results.ts); deciding is pure.
import type { ChangesFile } from '../debian/changes-dsc.js';
import type { Paragraph } from '../debian/deb822.js';
import { isValidPackageName, isValidVersion, versionWithoutEpoch } from '../debian/version.js';
import type { BuildArg } from './build-plan.js';
import { binaryRefusal, type SuiteContents } from './suite-contents.js';
import { SAFE_FILE_NAME } from '../debian/pool-path.js';
import type { FileDigest } from '../debian/file-digest.js';

/** A file the .changes lists, as returned: its digest when it came back, a .deb's control. */
export interface ReturnedFile {
  name: string;
  /** Listed in the .changes. */
  size: number;
  sha256?: string;
  /** undefined when the build did not return it (or its name is unsafe: not looked for). */
  digest?: FileDigest;
  /** A .deb's or .udeb's control, or why it could not be read. */
  control?: Paragraph | Error;
}

export interface ReturnedBuild {
  job: { id: string; source: string; version: string; arch: string; buildArg?: BuildArg };
  changesName: string;
  changes: ChangesFile;
  files: ReturnedFile[];
  /** The binary packages the source's .dsc declares (Binary:). */
  declared: string[];
  /** The suite the build joins, and whether it lets a source take over another's packages. */
  contents: SuiteContents;
  allowTakeover: boolean;
}

export const isBinaryPackage = (name: string) => /\.u?deb$/.test(name);

interface BuildCheck {
  id: string;
  check(b: ReturnedBuild): string | undefined;
}

interface FileCheck {
  id: string;
  /** Which files it looks at (all when left out). */
  applies?: (f: ReturnedFile) => boolean;
  check(f: ReturnedFile, b: ReturnedBuild): string | undefined;
}

const control = (f: ReturnedFile) => f.control as Paragraph;
const isDeb = (f: ReturnedFile) => isBinaryPackage(f.name);

/**
 * The names dpkg-buildpackage gives a job's .changes or .buildinfo (EXT): SOURCE_VERSION_ARCH, ARCH
 * the job's, or all for an arch-indep build (-A). Any other would take a name another job's
 * build needs (hello_1.0-1_arm64.buildinfo from the amd64 build, or the next version's): the pool
 * never replaces a file, so that build would then be refused.
 */
export function ownNames({ source, version, arch, buildArg }: Omit<ReturnedBuild['job'], 'id'>, ext: string): string[] {
  return (buildArg === '-A' ? ['all', arch] : [arch]).map((a) => `${source}_${versionWithoutEpoch(version)}_${a}.${ext}`);
}

/** Checks of the build as a whole, first. */
export const BUILD_CHECKS: BuildCheck[] = [
  {
    id: 'changes-of-job',
    check: ({ changes, changesName, job }) =>
      changes.source !== job.source || changes.version !== job.version
        ? `${changesName} is for ${changes.source} ${changes.version}, but the job builds ${job.source} ${job.version}`
        : undefined,
  },
  {
    id: 'changes-named-for-source',
    check: ({ changesName, job }) => (!ownNames(job, 'changes').includes(changesName) ? `${changesName} is not a .changes of this build (${ownNames(job, 'changes').join(' or ')})` : undefined),
  },
  {
    id: 'lists-binaries',
    check: ({ files, changesName }) => (!files.some(isDeb) ? `${changesName} lists no binary packages` : undefined),
  },
];

/** Checks of each file the .changes lists, in its order; the first failure refuses the build. */
export const FILE_CHECKS: FileCheck[] = [
  { id: 'safe-name', check: (f, b) => (!SAFE_FILE_NAME.test(f.name) ? `${b.changesName} lists an unsafe file name ${f.name}` : undefined) },
  { id: 'returned', check: (f, b) => (!f.digest ? `${f.name} is listed in ${b.changesName} but was not returned` : undefined) },
  {
    id: 'intact',
    check: (f, b) => (f.digest!.size !== f.size || (f.sha256 && f.digest!.sha256 !== f.sha256) ? `${f.name} does not match ${b.changesName} (size or sha256)` : undefined),
  },
  { id: 'deb-readable', applies: isDeb, check: (f) => (f.control instanceof Error ? f.control.message : undefined) },
  {
    // Before anything compares or files it: a version that does not parse would stop every
    // publication that meets it, a name or source that is not one could leave the pool.
    id: 'deb-fields-valid',
    applies: isDeb,
    check: (f) => fieldsRefusal(control(f)),
  },
  {
    id: 'deb-of-source',
    applies: isDeb,
    check: (f, { job }) => {
      const [from, sourceVersion] = (control(f).first('Source') || control(f).first('Package')).split(/\s+/);
      if (from !== job.source) return `${f.name} says it is built from ${from}, not ${job.source}`;
      // "Source: name (version)" when the binary's version differs (a binNMU), Policy 5.6.1.
      const builtFrom = sourceVersion?.replace(/^\((.*)\)$/, '$1') || control(f).first('Version');
      return builtFrom !== job.version ? `${f.name} says it is built from ${from} ${builtFrom}, not ${job.version}` : undefined;
    },
  },
  {
    id: 'deb-architecture',
    applies: isDeb,
    // And of the kind the job builds: an arch:all package from an arch-only build (-B) would go
    // where no check of the architecture-independent build saw it (a -B build of an architecture
    // the target suite lacks is one its migration does not wait for, yet it copies every _all).
    check: (f, { job }) => {
      const arch = control(f).first('Architecture');
      if (arch === 'all') return job.buildArg === '-B' ? `${f.name} is for all, but the job builds only ${job.arch}'s architecture-dependent packages (-B)` : undefined;
      if (arch !== job.arch) return `${f.name} is for ${arch}, but the job builds ${job.arch}`;
      return job.buildArg === '-A' ? `${f.name} is for ${arch}, but the job builds only architecture-independent packages (-A)` : undefined;
    },
  },
  {
    // Its pool name is its identity: it must be the one its control says, or a .deb could take
    // another binary's file name (and its place in the pool).
    id: 'deb-canonical-name',
    applies: isDeb,
    check: (f) => {
      const c = control(f);
      const expected = `${c.first('Package')}_${versionWithoutEpoch(c.first('Version'))}_${c.first('Architecture')}.${f.name.split('.').pop()}`;
      return f.name !== expected ? `${f.name} holds ${c.first('Package')} ${c.first('Version')} ${c.first('Architecture')}, so it must be named ${expected}` : undefined;
    },
  },
  {
    // Only the packages its .dsc declares, and none another source owns in the suite.
    id: 'deb-owned-by-source',
    applies: isDeb,
    check: (f, b) => {
      const refusal = binaryRefusal(b.contents, b.job.source, b.declared, control(f).first('Package'), b.allowTakeover);
      return refusal ? `${f.name}: ${refusal}` : undefined;
    },
  },
  {
    id: 'buildinfo-of-source',
    applies: (f) => f.name.endsWith('.buildinfo'),
    check: (f, { job }) => (!ownNames(job, 'buildinfo').includes(f.name) ? `${f.name} is not a .buildinfo of this build (${ownNames(job, 'buildinfo').join(' or ')})` : undefined),
  },
];

/** The first check a returned build fails (its id, and why), or undefined when it passes them all. */
export function checkReturnedBuild(b: ReturnedBuild): { check: string; message: string } | undefined {
  for (const c of BUILD_CHECKS) {
    const message = c.check(b);
    if (message) return { check: c.id, message };
  }
  for (const f of b.files) {
    for (const c of FILE_CHECKS) {
      if (c.applies && !c.applies(f)) continue;
      const message = c.check(f, b);
      if (message) return { check: c.id, message };
    }
  }
  return undefined;
}

/** Why a .deb's Package, Version or Source (with its version) is not one, or undefined. */
function fieldsRefusal(c: Paragraph): string | undefined {
  // Checked by their first line, published whole: a second line would be what apt reads.
  const folded = ONE_LINE_FIELDS.find((f) => c.get(f)?.includes('\n'));
  if (folded) return `${folded} spans more than one line; a package's ${ONE_LINE_FIELDS.join(', ')} are one line each (Policy 5.1)`;
  if (!isValidPackageName(c.first('Package'))) return `Package "${c.first('Package')}" is not a valid package name (Policy 5.6.7)`;
  if (!isValidVersion(c.first('Version'))) return `Version "${c.first('Version')}" is not a valid Debian version (Policy 5.6.12)`;
  const source = c.first('Source');
  if (!source) return undefined;
  const m = source.match(/^(\S+)(?:\s+\((\S+)\))?$/);
  if (!m || !isValidPackageName(m[1]) || (m[2] !== undefined && !isValidVersion(m[2]))) {
    return `Source "${source}" is not a source package name with an optional (version) (Policy 5.6.1)`;
  }
  return undefined;
}

/** The fields of a .deb's control that name it, each one line. */
export const ONE_LINE_FIELDS = ['Package', 'Version', 'Architecture', 'Source'];

/** Checks of a .deb that `archive include` brings from elsewhere: a package this suite can hold. */
export const INCLUDED_DEB_CHECKS: { id: string; check(control: Paragraph, suite: { name: string; architectures: string[] }): string | undefined }[] = [
  { id: 'fields-valid', check: (c) => fieldsRefusal(c) },
  {
    id: 'architecture-of-suite',
    check: (c, suite) => {
      const arch = c.first('Architecture');
      return arch !== 'all' && !suite.architectures.includes(arch) ? `Architecture ${arch} is not one of ${suite.name}'s (${suite.architectures.join(', ')}, or all)` : undefined;
    },
  },
];

/** Why an included .deb is refused (the first check it fails), or undefined. */
export function checkIncludedDeb(control: Paragraph, suite: { name: string; architectures: string[] }): string | undefined {
  for (const c of INCLUDED_DEB_CHECKS) {
    const message = c.check(control, suite);
    if (message) return message;
  }
  return undefined;
}
