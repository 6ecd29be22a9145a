// Checks on a source-only upload, after dak's daklib/checks.py. Pure: the parsed files and the
// facts measured on the quarantined copies come in, a list of reasons (empty = accept) comes out.
import type { ChangesFile, DscFile, ListedFile } from '../debian/control-files.js';
import { compareVersions, isValidPackageName, parseVersion, versionWithoutEpoch } from '../debian/version.js';
import { suiteFor, type ArchiveConfig } from '../config/config.js';

export interface FileFacts {
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

export interface UploadInput {
  changes: ChangesFile;
  /** Facts of each file present in quarantine, by name. */
  facts: Map<string, FileFacts>;
  /** The .dsc, parsed, when exactly one is listed and it parsed. */
  dsc?: DscFile;
  dscError?: string;
  config: ArchiveConfig;
  /** Version of this source the suite holds now, if any. */
  currentVersion?: string;
}

const MANDATORY = ['Format', 'Date', 'Source', 'Version', 'Distribution', 'Architecture', 'Maintainer', 'Files', 'Checksums-Sha256', 'Changes'];

/** dak's re_file_safe: no directory part, no leading dot or dash. */
export const SAFE_FILE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.~+-]*$/;

export function checkUpload(input: UploadInput): string[] {
  const { changes, facts, dsc, config } = input;
  const reasons: string[] = [];
  const c = changes.fileName;
  for (const field of MANDATORY) {
    if ((changes.paragraph.get(field) ?? '').trim() === '') {
      reasons.push(`${c}: mandatory field ${field} is missing`);
    }
  }
  if (!isValidPackageName(changes.source)) {
    reasons.push(`${c}: source name "${changes.source}" is not valid (Debian Policy 5.6.1: lower-case letters, digits, + - ., at least two, starting alphanumeric)`);
  }
  const version = parseVersion(changes.version);
  if (typeof version === 'string') reasons.push(`${c}: ${version} (Debian Policy 5.6.12)`);
  const expectedName = `${changes.source}_${versionWithoutEpoch(changes.version)}_source.changes`;
  if (c !== expectedName) reasons.push(`${c}: file name should be ${expectedName} for a source-only upload`);

  // Distribution -> suite.
  if (changes.distributions.length !== 1) {
    reasons.push(`${c}: Distribution must name exactly one suite, found "${changes.distributions.join(' ')}"`);
  } else if (changes.distributions[0] === 'UNRELEASED') {
    reasons.push(`${c}: Distribution is UNRELEASED; set it with dch --release before uploading`);
  } else if (!suiteFor(config, changes.distributions[0])) {
    const known = config.suites.flatMap((s) => [s.name, ...s.aliases]).join(', ');
    reasons.push(`${c}: Distribution "${changes.distributions[0]}" is not a suite of this archive (known: ${known})`);
  }

  // Listed files: safe names, consistent lists, present with the right size and hashes.
  for (const f of changes.files) {
    if (!SAFE_FILE_NAME.test(f.name)) {
      reasons.push(`${c}: file name "${f.name}" is not safe (no directory part, no leading . or -, only [a-zA-Z0-9_.~+-])`);
    }
  }
  reasons.push(...listConsistency(changes.paragraph, changes.files, c));
  for (const f of changes.files) {
    if (!SAFE_FILE_NAME.test(f.name)) continue;
    const got = facts.get(f.name);
    if (!got) {
      reasons.push(`${f.name}: listed in ${c} but not uploaded`);
      continue;
    }
    reasons.push(...compareFacts(f, got));
  }

  // Source-only: no binaries.
  const binaries = changes.files.filter((f) => /\.u?deb$/.test(f.name));
  if (binaries.length > 0 || changes.architectures.some((a) => a !== 'source')) {
    const list = binaries.map((f) => f.name).join(', ') || `Architecture: ${changes.architectures.join(' ')}`;
    reasons.push(`${c}: binary packages in a source-only upload (${list}); upload with dpkg-buildpackage -S (or dput a _source.changes)`);
  }

  // Exactly one .dsc, matching the .changes.
  const dscs = changes.files.filter((f) => f.name.endsWith('.dsc'));
  if (dscs.length !== 1) {
    reasons.push(`${c}: a source upload needs exactly one .dsc, found ${dscs.length}${dscs.length ? ` (${dscs.map((d) => d.name).join(', ')})` : ''}`);
  } else if (input.dscError) {
    reasons.push(input.dscError);
  } else if (dsc) {
    if (dsc.source !== changes.source) reasons.push(`${dsc.fileName}: Source "${dsc.source}" does not match ${c}'s "${changes.source}"`);
    if (dsc.version !== changes.version) reasons.push(`${dsc.fileName}: Version "${dsc.version}" does not match ${c}'s "${changes.version}"`);
    for (const f of dsc.files) {
      const listed = changes.files.find((l) => l.name === f.name);
      if (!listed) {
        reasons.push(`${f.name}: named by ${dsc.fileName} but not in ${c}`);
        continue;
      }
      if (listed.size !== f.size || (f.sha256 && listed.sha256 && f.sha256 !== listed.sha256)) {
        reasons.push(`${f.name}: ${dsc.fileName} and ${c} disagree on its size or sha256`);
      }
    }
  }

  // Newer than what the suite holds.
  if (input.currentVersion && typeof version !== 'string') {
    if (compareVersions(changes.version, input.currentVersion) <= 0) {
      reasons.push(`${c}: version ${changes.version} is not newer than ${input.currentVersion}, which the suite already holds; raise the version (dch -i)`);
    }
  }
  return reasons;
}

function listConsistency(paragraph: ChangesFile['paragraph'], files: ListedFile[], c: string): string[] {
  const reasons: string[] = [];
  for (const f of files) {
    if (!f.md5) reasons.push(`${c}: ${f.name} is in a Checksums field but not in Files`);
    if (!f.sha256) reasons.push(`${c}: ${f.name} is not in Checksums-Sha256`);
    if (paragraph.has('Checksums-Sha1') && !f.sha1) reasons.push(`${c}: ${f.name} is not in Checksums-Sha1`);
  }
  return reasons;
}

function compareFacts(listed: ListedFile, got: FileFacts): string[] {
  const hint = 're-run dput, the file changed after the .changes was made';
  if (listed.size !== got.size) return [`size mismatch for ${listed.name}: expected ${listed.size} bytes, got ${got.size}; ${hint}`];
  const reasons: string[] = [];
  for (const algo of ['sha256', 'sha1', 'md5'] as const) {
    const want = listed[algo];
    if (want && want !== got[algo]) reasons.push(`checksum mismatch for ${listed.name}: ${algo} expected ${want} got ${got[algo]}; ${hint}`);
  }
  return reasons;
}
