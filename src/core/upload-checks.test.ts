import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.js';
import { parseChanges, parseDsc } from '../debian/control-files.js';
import { checkUpload, type FileFacts, type UploadInput } from './upload-checks.js';

const fixtures = join(import.meta.dirname, '..', 'debian', 'fixtures');
const CHANGES = readFileSync(join(fixtures, 'aib-hello_1.0-1_source.changes'), 'utf8');
const DSC = readFileSync(join(fixtures, 'aib-hello_1.0-1.dsc'), 'utf8');
const config = parseConfig('suites:\n  unstable:\n    base: trixie\n    aliases: [sid]\n', 'archive.yaml');

/** The good upload: every file present with exactly the facts the .changes lists. */
function good(changesText = CHANGES, dscText = DSC, name = 'aib-hello_1.0-1_source.changes'): UploadInput {
  const changes = parseChanges(changesText, name);
  const facts = new Map<string, FileFacts>(changes.files.map((f) => [f.name, { size: f.size, md5: f.md5!, sha1: f.sha1!, sha256: f.sha256! }]));
  return { changes, facts, dsc: parseDsc(dscText, 'aib-hello_1.0-1.dsc'), config };
}

describe('upload checks', () => {
  it('accept the good fixture', () => {
    expect(checkUpload(good())).toEqual([]);
  });

  it.each<[string, (u: UploadInput) => UploadInput, RegExp]>([
    ['a flipped byte', (u) => (u.facts.get('aib-hello_1.0-1.debian.tar.xz')!.sha256 = '0'.repeat(64), u), /^checksum mismatch for aib-hello_1\.0-1\.debian\.tar\.xz: sha256 expected 3c8fd88f\w+ got 0{64}; re-run dput/],
    ['a wrong size', (u) => (u.facts.get('aib-hello_1.0.orig.tar.gz')!.size = 1, u), /^size mismatch for aib-hello_1\.0\.orig\.tar\.gz: expected 361 bytes, got 1/],
    ['a missing file', (u) => (u.facts.delete('aib-hello_1.0.orig.tar.gz'), u), /^aib-hello_1\.0\.orig\.tar\.gz: listed in .* but not uploaded/],
    ['UNRELEASED', (u) => good(CHANGES.replace('Distribution: unstable', 'Distribution: UNRELEASED')), /Distribution is UNRELEASED/],
    ['an unknown distribution', (u) => good(CHANGES.replace('Distribution: unstable', 'Distribution: stable')), /Distribution "stable" is not a suite of this archive \(known: unstable, sid\)/],
    ['two distributions', (u) => good(CHANGES.replace('Distribution: unstable', 'Distribution: unstable sid')), /exactly one suite/],
    ['an older version than the suite holds', (u) => ({ ...u, currentVersion: '1.0-2' }), /version 1\.0-1 is not newer than 1\.0-2/],
    ['the same version as the suite holds', (u) => ({ ...u, currentVersion: '1.0-1' }), /not newer than 1\.0-1/],
    ['a .dsc of another version', (u) => good(CHANGES, DSC.replace('Version: 1.0-1', 'Version: 1.0-2')), /Version "1\.0-2" does not match/],
    ['a binary package', (u) => good(CHANGES.replace('Architecture: source', 'Architecture: source amd64')), /binary packages in a source-only upload/],
    ['a changes file of the wrong name', (u) => good(CHANGES, DSC, 'hello.changes'), /file name should be aib-hello_1\.0-1_source\.changes/],
    ['a missing mandatory field', (u) => good(CHANGES.replace(/^Maintainer: .*\n/m, '')), /mandatory field Maintainer is missing/],
  ])('reject %s', (_name, mutate, reason) => {
    const reasons = checkUpload(mutate(good()));
    expect(reasons.some((r) => reason.test(r)), reasons.join('\n')).toBe(true);
  });

  it('map an alias to its suite', () => {
    expect(checkUpload(good(CHANGES.replace('Distribution: unstable', 'Distribution: sid')))).toEqual([]);
  });
});
