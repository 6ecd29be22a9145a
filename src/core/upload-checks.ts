// Checks on a source-only upload, after dak's daklib/checks.py and Launchpad's upload
// processor. Pure: the parsed files, the facts measured on the quarantined copies, the
// signature verdicts and the pool's copies of named files come in; failed checks go out,
// each with a stable id (for tests and scripts) and a message naming the file, what was
// expected, what was found, and what to do.
import { suiteFor, type ArchiveConfig } from '../config/config.js';
import { MAX_NAME_BYTES, type ChangesFile, type DscFile, type ListedFile } from '../debian/changes-dsc.js';
import { SAFE_FILE_NAME } from '../debian/pool-path.js';
import type { FileDigest } from '../debian/file-digest.js';
import { compareVersions, isValidPackageName, parseVersion, versionWithoutEpoch } from '../debian/version.js';
import type { SignatureVerdict } from './signature-verdict.js';

export interface UploadInput {
  changes: ChangesFile;
  /** Facts of the listed files present in quarantine, by name. */
  facts: Map<string, FileDigest>;
  /** The .dsc, parsed, when exactly one is listed, present, and it parsed. */
  dsc?: DscFile;
  dscError?: string;
  config: ArchiveConfig;
  /** Version of this source the suite holds now, if any. */
  currentVersion?: string;
  /** Facts of files with the names the .dsc lists (or its own) that are already in this source's pool directory. */
  pool: Map<string, FileDigest>;
  /** Signature verdicts; undefined where no check was made. */
  signatures?: { changes: SignatureVerdict; dsc?: SignatureVerdict };
}

export const CHECK_IDS = [
  'changes-parse', 'incomplete', 'stray', 'not-regular-file', 'name-too-long', 'too-large', 'internal-error',
  'mandatory-field', 'changes-name', 'source-name', 'version-syntax', 'distribution', 'closes',
  'file-name', 'file-type', 'buildinfo-name', 'checksum-lists', 'duplicate-file', 'missing-file', 'size',
  'checksum', 'binaries', 'dsc-count', 'dsc-parse', 'dsc-fields', 'dsc-match', 'dsc-files', 'dsc-file-name',
  'source-format', 'orig-in-pool', 'pool-conflict', 'version-not-newer', 'maintainer', 'signature',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export interface FailedCheck {
  check: CheckId;
  message: string;
}

const MANDATORY = ['Format', 'Date', 'Source', 'Version', 'Distribution', 'Architecture', 'Maintainer', 'Files', 'Checksums-Sha256', 'Changes'];
const DSC_MANDATORY = ['Format', 'Source', 'Version', 'Maintainer', 'Files', 'Checksums-Sha256'];

const TAR = String.raw`\.tar\.(gz|bz2|xz|lzma|zst)`;
const FILE_TYPES = [/\.dsc$/, new RegExp(`${TAR}$`), new RegExp(`${TAR}\\.asc$`), /\.diff\.gz$/, /\.buildinfo$/, /\.u?deb$/];
/** RFC 822-ish "Name <address>", as dak's fix_maintainer accepts. */
const MAINTAINER = /^[^<>,]+ <[^<>@\s]+@[^<>\s]+>$/;

export function checkUpload(input: UploadInput): FailedCheck[] {
  const { changes, facts, dsc, config } = input;
  const failed: FailedCheck[] = [];
  const fail = (check: CheckId, message: string) => failed.push({ check, message });
  const c = changes.fileName;

  for (const field of MANDATORY) {
    if ((changes.paragraph.get(field) ?? '').trim() === '') fail('mandatory-field', `${c}: mandatory field ${field} is missing or empty`);
  }
  if (!isValidPackageName(changes.source)) {
    fail('source-name', `${c}: source name "${changes.source}" is not valid (Debian Policy 5.6.1: lower-case letters, digits, + - ., at least two, starting alphanumeric)`);
  }
  const version = parseVersion(changes.version);
  if (typeof version === 'string') fail('version-syntax', `${c}: ${version} (Debian Policy 5.6.12)`);
  for (const field of ['Maintainer', 'Changed-By']) {
    const person = changes.paragraph.first(field);
    if (person && !MAINTAINER.test(person)) {
      fail('maintainer', `${c}: ${field} "${person}" is not of the form "Full Name <address@example.org>" (Debian Policy 5.6.2)`);
    }
  }
  // dak's ChangesCheck: each word of Closes is a bug number (Debian Policy 5.6.22).
  const closes = changes.paragraph.first('Closes').split(/\s+/).filter((w) => w !== '' && !/^[0-9]+$/.test(w));
  if (closes.length > 0) fail('closes', `${c}: Closes must list bug numbers only, separated by spaces; found ${closes.length} other word(s): ${closes.slice(0, 5).join(' ')}`);
  const expectedName = `${changes.source}_${versionWithoutEpoch(changes.version)}_source.changes`;
  if (c !== expectedName) fail('changes-name', `${c}: a source-only upload's .changes must be named ${expectedName}`);

  // Distribution -> exactly one configured suite.
  if (changes.distributions.length !== 1) {
    fail('distribution', `${c}: Distribution must name exactly one suite, found "${changes.distributions.join(' ')}"`);
  } else if (changes.distributions[0] === 'UNRELEASED') {
    fail('distribution', `${c}: Distribution is UNRELEASED; finalise the changelog entry (dch --release) and rebuild the source package`);
  } else if (!suiteFor(config, changes.distributions[0])) {
    const known = config.suites.flatMap((s) => [s.name, ...s.aliases]).join(', ');
    fail('distribution', `${c}: Distribution "${changes.distributions[0]}" is not a suite of this archive (known: ${known})`);
  }

  // Signatures (dak: check_signature; the .dsc too, as Debian requires).
  if (input.signatures) {
    const verdicts: [string, SignatureVerdict | undefined][] = [[c, input.signatures.changes], [dsc?.fileName ?? '.dsc', input.signatures.dsc]];
    for (const [file, verdict] of verdicts) {
      if (!verdict || verdict.state === 'good') continue;
      fail('signature', signatureMessage(file, verdict));
    }
  }

  // Listed files: safe names, known types, consistent lists, present with the right facts.
  for (const f of changes.files) {
    if (!SAFE_FILE_NAME.test(f.name)) {
      fail('file-name', `${c}: file name "${f.name}" is not safe (no directory part, no leading . or -, only [a-zA-Z0-9_.~+-])`);
    } else if (f.name.length > MAX_NAME_BYTES) {
      fail('file-name', `${c}: file name ${f.name.slice(0, 40)}… is ${f.name.length} bytes long; at most ${MAX_NAME_BYTES} are accepted`);
    } else if (!FILE_TYPES.some((t) => t.test(f.name))) {
      fail('file-type', `${c}: ${f.name} is not a file a source upload carries (.dsc, .tar.*, .diff.gz, .asc, .buildinfo)`);
    } else if (f.name.endsWith('.buildinfo') && !f.name.endsWith('_source.buildinfo')) {
      // dak's SuffixCheck: an architecture's name is kept for the buildinfo of its binaries.
      fail('buildinfo-name', `${c}: ${f.name} is named for an architecture, but a source-only upload's .buildinfo ends in _source.buildinfo`);
    }
    if (f.duplicateIn) fail('duplicate-file', `${c}: ${f.name} is listed twice in ${f.duplicateIn.join(' and ')}; list each file once`);
  }
  failed.push(...listConsistency(changes, c));
  for (const f of changes.files) {
    if (!SAFE_FILE_NAME.test(f.name)) continue;
    const got = facts.get(f.name);
    if (!got) fail('missing-file', `${f.name}: listed in ${c} but not uploaded; upload every file the .changes lists (dcmd ls ${c})`);
    else failed.push(...compareFacts(f, got));
  }

  // Source-only: no binaries.
  const binaries = changes.files.filter((f) => /\.u?deb$/.test(f.name));
  const archs = changes.architectures.filter((a) => a !== 'source');
  if (binaries.length > 0 || archs.length > 0 || !changes.architectures.includes('source')) {
    const what = binaries.map((f) => f.name).join(', ') || `Architecture: ${changes.architectures.join(' ')}`;
    fail('binaries', `${c}: a source-only upload carries no binary packages, found ${what}; build it with dpkg-buildpackage -S`);
  }

  // Exactly one .dsc, matching the .changes, its files all there.
  const dscs = changes.files.filter((f) => f.name.endsWith('.dsc'));
  if (dscs.length !== 1) {
    fail('dsc-count', `${c}: a source upload carries exactly one .dsc, found ${dscs.length}${dscs.length ? ` (${dscs.map((d) => d.name).join(', ')})` : ''}`);
  } else if (input.dscError) {
    fail('dsc-parse', input.dscError);
  } else if (dsc) {
    failed.push(...checkDsc(input, dsc, c));
  }

  // Newer than what the suite holds (dak: check_source_in_one_dist / version checks).
  if (input.currentVersion && typeof version !== 'string' && compareVersions(changes.version, input.currentVersion) <= 0) {
    fail('version-not-newer', `${c}: version ${changes.version} is not newer than ${input.currentVersion}, which the suite already holds; add a changelog entry with a higher version (dch -i)`);
  }
  return failed;
}

/** Why a signature is not good enough, for a reason a packager reads. */
export function signatureMessage(file: string, verdict: Exclude<SignatureVerdict, { state: 'good' }>): string {
  switch (verdict.state) {
    case 'unsigned':
      return `${file}: not signed, and this archive requires signed uploads; sign with debsign (or dpkg-buildpackage without -us -uc)`;
    case 'unknown-key':
      return `${file}: signed by a key that is not in the uploaders keyring (${verdict.detail}); ask the archive owner to run archive keys add`;
    case 'expired-key':
      return `${file}: signed by an expired key (${verdict.detail}); extend the key's expiry and re-add it with archive keys add`;
    case 'revoked-key':
      return `${file}: signed by a revoked key (${verdict.detail})`;
    case 'bad':
      return `${file}: the signature does not verify (${verdict.detail}); the file changed after it was signed`;
    default:
      return `${file}: the signature is not accepted (${verdict.detail}); sign the file once (debsign) and upload it as signed, nothing added`;
  }
}

function checkDsc(input: UploadInput, dsc: DscFile, c: string): FailedCheck[] {
  const failed: FailedCheck[] = [];
  const fail = (check: CheckId, message: string) => failed.push({ check, message });
  const { changes } = input;
  const d = dsc.fileName;
  for (const field of DSC_MANDATORY) {
    if ((dsc.paragraph.get(field) ?? '').trim() === '') fail('dsc-fields', `${d}: mandatory field ${field} is missing or empty`);
  }
  // Checked by their first line, published whole in Sources: a second line would be what apt reads.
  for (const field of ['Source', 'Version', 'Architecture']) {
    if (dsc.paragraph.get(field)?.includes('\n')) fail('dsc-fields', `${d}: field ${field} spans more than one line; it is one line (Policy 5.1)`);
  }
  // dak's SourceCheck: a relation field that is there is not empty.
  for (const field of ['Build-Depends', 'Build-Depends-Arch', 'Build-Depends-Indep', 'Build-Conflicts', 'Build-Conflicts-Arch', 'Build-Conflicts-Indep']) {
    if (dsc.paragraph.has(field) && dsc.paragraph.first(field) === '' && dsc.paragraph.lines(field).length === 0) fail('dsc-fields', `${d}: field ${field} is empty; leave it out or name a package`);
  }
  if (dsc.source !== changes.source) fail('dsc-match', `${d}: Source "${dsc.source}" does not match ${c}'s "${changes.source}"`);
  if (dsc.version !== changes.version) fail('dsc-match', `${d}: Version "${dsc.version}" does not match ${c}'s "${changes.version}"`);
  const expectedDsc = `${dsc.source}_${versionWithoutEpoch(dsc.version)}.dsc`;
  if (d !== expectedDsc) fail('dsc-match', `${d}: should be named ${expectedDsc}`);
  // Its checksum fields list the same files, each with every hash (Sources publishes them).
  failed.push(...listConsistency(dsc, d));
  const listedByName = new Map(changes.files.map((f) => [f.name, f]));
  // Launchpad's upload processor: a file the pool holds under this name must be this very file.
  const pooledDsc = input.pool.get(d);
  const listedDsc = listedByName.get(d);
  if (pooledDsc && listedDsc?.sha256 && pooledDsc.sha256 !== listedDsc.sha256) {
    fail('pool-conflict', `${d}: the pool already holds another file of this name (sha256 ${pooledDsc.sha256}, uploaded ${listedDsc.sha256}); a published version cannot change: upload a new version`);
  }
  for (const f of dsc.files) {
    if (!SAFE_FILE_NAME.test(f.name)) {
      fail('file-name', `${d}: file name "${f.name}" is not safe`);
      continue;
    }
    if (f.duplicateIn) fail('duplicate-file', `${d}: ${f.name} is listed twice in ${f.duplicateIn.join(' and ')}; list each file once`);
    const misnamed = sourceFileNameProblem(f.name, dsc);
    if (misnamed) fail('dsc-file-name', `${d}: ${misnamed}`);
    const listed = listedByName.get(f.name);
    const inPool = input.pool.get(f.name);
    if (listed) {
      // (The .changes' entries were compared with the files themselves.)
      const differs = disagreement(f, listed);
      if (differs) fail('dsc-files', `${f.name}: ${d} and ${c} disagree on its ${differs} (${d}: ${facts(f)}; ${c}: ${facts(listed)})`);
      // An orig tarball named like one already in the pool must be that same file (dak: check_orig).
      if (inPool && disagreement(f, inPool)) {
        fail('orig-in-pool', `${f.name}: differs from the file of that name already in the pool (sha256 ${inPool.sha256}, uploaded ${f.sha256}); an upstream tarball cannot change under the same name: use the pool's, or a new upstream version`);
      }
    } else if (!inPool) {
      fail('dsc-files', `${f.name}: named by ${d} but neither uploaded nor in the pool; upload it (dpkg-buildpackage -sa)`);
    } else if (disagreement(f, inPool)) {
      fail('orig-in-pool', `${f.name}: ${d} expects another ${disagreement(f, inPool)} than the file of that name in the pool has (sha256 ${inPool.sha256})`);
    }
  }
  failed.push(...checkSourceFormat(dsc));
  return failed;
}

/**
 * dak's SourceCheck.check_filename: a source file is named SOURCE_VERSION.*, an upstream tarball
 * (and its signature) SOURCE_UPSTREAM.orig[-COMPONENT].tar.*, with the .dsc's Source and Version.
 */
function sourceFileNameProblem(name: string, dsc: DscFile): string | undefined {
  const orig = /^([^_]+)_([^_]+)\.orig(-[a-z0-9-]+)?\.tar\.[a-z0-9]+(\.asc)?$/.exec(name);
  const other = orig ? undefined : /^([^_]+)_([^_]+?)\.(debian\.tar\.[a-z0-9]+|diff\.gz|tar\.[a-z0-9]+)(\.asc)?$/.exec(name);
  const match = orig ?? other;
  if (!match) return `${name} is not named like a source file (SOURCE_VERSION.debian.tar.*, SOURCE_UPSTREAM.orig.tar.*, ...)`;
  if (match[1] !== dsc.source) return `${name} is named for source ${match[1]}, but the .dsc's Source is ${dsc.source}`;
  const full = versionWithoutEpoch(dsc.version);
  const revision = full.lastIndexOf('-');
  if (orig && revision < 0) return `${name} is an upstream tarball, but Version ${dsc.version} has no Debian revision (a native package has none)`;
  const expected = orig ? full.slice(0, revision) : full;
  if (match[2] !== expected) return `${name} carries version ${match[2]}, but the .dsc's Version ${dsc.version} says ${expected}`;
  return undefined;
}

/** The file set a .dsc's Format allows (dpkg-source(1), "SOURCE PACKAGE FORMATS"). */
export function checkSourceFormat(dsc: DscFile): FailedCheck[] {
  const names = dsc.files.map((f) => f.name);
  const count = (re: RegExp) => names.filter((n) => re.test(n)).length;
  const origMain = count(new RegExp(`\\.orig${TAR}$`));
  const origComponent = count(new RegExp(`\\.orig-[a-z0-9-]+${TAR}$`));
  const debianTar = count(new RegExp(`\\.debian${TAR}$`));
  const signatures = count(/\.asc$/);
  const diff = count(/\.diff\.gz$/);
  const nativeTar = names.filter((n) => new RegExp(`${TAR}$`).test(n) && !/\.orig(-[a-z0-9-]+)?\.tar\./.test(n) && !/\.debian\.tar\./.test(n)).length;
  const fail = (expected: string): FailedCheck[] => [
    { check: 'source-format', message: `${dsc.fileName}: Format "${dsc.format}" needs ${expected}, found: ${names.join(', ') || 'no files'}` },
  ];
  switch (dsc.format) {
    case '3.0 (quilt)':
      return origMain === 1 && debianTar === 1 && nativeTar === 0 && diff === 0 && signatures + origMain + origComponent + debianTar === names.length
        ? []
        : fail('one .orig.tar.*, one .debian.tar.*, optional .orig-COMPONENT.tar.* and .asc signatures');
    case '3.0 (native)':
      return nativeTar === 1 && names.length === 1 ? [] : fail('exactly one .tar.* and nothing else');
    case '1.0':
      return (nativeTar === 1 && names.length === 1 && /\.tar\.gz$/.test(names[0])) ||
        (origMain === 1 && diff === 1 && names.length === 2 + signatures)
        ? []
        : fail('one .tar.gz (native) or one .orig.tar.gz with one .diff.gz');
    default:
      return [{ check: 'source-format', message: `${dsc.fileName}: source format "${dsc.format}" is not accepted (1.0, 3.0 (quilt), 3.0 (native))` }];
  }
}

/** A listed file's size and hashes, as a reason names them. */
function facts(f: ListedFile): string {
  return [`${f.size} bytes`, ...(['md5', 'sha1', 'sha256'] as const).filter((k) => f[k]).map((k) => `${k} ${f[k]}`)].join(', ');
}

/** Which of size, md5, sha1 and sha256 (those both give) two listings of a file disagree on. */
function disagreement(a: ListedFile, b: Partial<FileDigest> & { size: number }): string | undefined {
  const differing = [...(a.size !== b.size ? ['size'] : []), ...(['md5', 'sha1', 'sha256'] as const).filter((k) => a[k] && b[k] && a[k] !== b[k])];
  return differing.length ? differing.join(', ') : undefined;
}

/** A .changes' or .dsc's Files and Checksums fields list the same files, with the same sizes. */
function listConsistency(listing: { paragraph: ChangesFile['paragraph']; files: ListedFile[] }, c: string): FailedCheck[] {
  const failed: FailedCheck[] = [];
  const p = listing.paragraph;
  const fields: [string, keyof ListedFile][] = [['Files', 'md5'], ['Checksums-Sha256', 'sha256']];
  if (p.has('Checksums-Sha1')) fields.push(['Checksums-Sha1', 'sha1']);
  for (const f of listing.files) {
    for (const [field, key] of fields) {
      if (!f[key]) failed.push({ check: 'checksum-lists', message: `${c}: ${f.name} is missing from ${field}; Files and the Checksums fields must list the same files` });
    }
    if (f.sizeConflict) failed.push({ check: 'checksum-lists', message: `${c}: ${f.name} has different sizes in Files and the Checksums fields` });
  }
  return failed;
}

function compareFacts(listed: ListedFile, got: FileDigest): FailedCheck[] {
  const hint = 're-run dput, the file changed after the .changes was made';
  if (listed.size !== got.size) {
    return [{ check: 'size', message: `size mismatch for ${listed.name}: expected ${listed.size} bytes, got ${got.size}; ${hint}` }];
  }
  const failed: FailedCheck[] = [];
  for (const algo of ['sha256', 'sha1', 'md5'] as const) {
    const want = listed[algo];
    if (want && want !== got[algo]) failed.push({ check: 'checksum', message: `checksum mismatch for ${listed.name}: ${algo} expected ${want} got ${got[algo]}; ${hint}` });
  }
  return failed;
}
