import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.js';
import { parseChanges, parseDsc } from '../debian/changes-dsc.js';
import type { FileDigest } from '../debian/file-digest.js';
import { CHECK_IDS, checkSourceFormat, checkUpload, type CheckId, type UploadInput } from './upload-checks.js';

// The table of 30+ bad uploads runs through the real intake in test/upload-intake.integration.test.ts;
// these are the pure checks on their own.
const fixtures = join(import.meta.dirname, '..', 'debian', 'fixtures');
const CHANGES = readFileSync(join(fixtures, 'aib-hello_1.0-1_source.changes'), 'utf8');
const DSC = readFileSync(join(fixtures, 'aib-hello_1.0-1.dsc'), 'utf8');
const config = parseConfig('suites:\n  unstable:\n    base: trixie\n    aliases: [sid]\n', 'archive.yaml');

function good(changesText = CHANGES, dscText = DSC): UploadInput {
  const changes = parseChanges(changesText, 'aib-hello_1.0-1_source.changes');
  const facts = new Map<string, FileDigest>(changes.files.map((f) => [f.name, { size: f.size, md5: f.md5!, sha1: f.sha1!, sha256: f.sha256! }]));
  return { changes, facts, dsc: parseDsc(dscText, 'aib-hello_1.0-1.dsc'), config, pool: new Map() };
}

describe('upload checks', () => {
  it('accept the good fixture', () => {
    expect(checkUpload(good())).toEqual([]);
  });

  it('accept an upload that leaves out an orig tarball the pool already holds', () => {
    const input = good();
    const orig = input.facts.get('aib-hello_1.0.orig.tar.gz')!;
    input.facts.delete('aib-hello_1.0.orig.tar.gz');
    input.changes.files = input.changes.files.filter((f) => f.name !== 'aib-hello_1.0.orig.tar.gz');
    input.pool.set('aib-hello_1.0.orig.tar.gz', orig);
    expect(checkUpload(input)).toEqual([]);
  });

  it('give each failure a stable id and a message with expected and found values', () => {
    const input = good();
    input.facts.get('aib-hello_1.0-1.debian.tar.xz')!.sha256 = '0'.repeat(64);
    expect(checkUpload(input)).toEqual([
      {
        check: 'checksum',
        message: `checksum mismatch for aib-hello_1.0-1.debian.tar.xz: sha256 expected 3c8fd88fef58e099291ff2c3e0c1d04b97db78616539fc63517a82c9075d8a84 got ${'0'.repeat(64)}; re-run dput, the file changed after the .changes was made`,
      },
    ]);
  });

  it('report an unsigned upload only where signatures are required', () => {
    expect(checkUpload({ ...good(), signatures: { changes: { state: 'unsigned' }, dsc: { state: 'unsigned' } } }).map((f) => f.check)).toEqual(['signature', 'signature']);
  });

  // One bad upload per check, each made from the good one by one change; each must fail that
  // check and no other. The README's "What an upload must pass" lists these ids.
  const edit = (changes: (t: string) => string = (t) => t, dsc: (t: string) => string = (t) => t) => good(changes(CHANGES), dsc(DSC));
  const BAD: [string, CheckId, () => UploadInput][] = [
    ['a missing Date field', 'mandatory-field', () => edit((t) => t.replace(/^Date: .*\n/m, ''))],
    ['a source name with capitals', 'source-name', () => {
      const input = edit((t) => t.replace('Source: aib-hello', 'Source: AIB-hello'), (t) => t.replace('Source: aib-hello', 'Source: AIB-hello'));
      input.changes.fileName = 'AIB-hello_1.0-1_source.changes';
      input.dsc = parseDsc(DSC.replace('Source: aib-hello', 'Source: AIB-hello'), 'AIB-hello_1.0-1.dsc');
      return input;
    }],
    ['a version with an underscore', 'version-syntax', () => edit((t) => t.replace('Version: 1.0-1', 'Version: 1.0_1-1'), (t) => t.replace('Version: 1.0-1', 'Version: 1.0_1-1'))],
    ['a Maintainer without an address', 'maintainer', () => edit((t) => t.replace(/^Maintainer: .*$/m, 'Maintainer: Test Maintainer'))],
    ['a Changed-By without an address', 'maintainer', () => edit((t) => t.replace(/^Changed-By: .*$/m, 'Changed-By: someone'))],
    ['a Closes field naming something other than bug numbers', 'closes', () => edit((t) => t.replace(/^Changes:/m, 'Closes: 123456 #7890\nChanges:'))],
    ['a .changes named for a binary upload', 'changes-name', () => {
      const input = good();
      input.changes.fileName = 'aib-hello_1.0-1_amd64.changes';
      return input;
    }],
    ['a distribution the archive does not have', 'distribution', () => edit((t) => t.replace('Distribution: unstable', 'Distribution: stable'))],
    ['an unsigned upload where signatures are required', 'signature', () => ({ ...good(), signatures: { changes: { state: 'unsigned' }, dsc: { state: 'good', fingerprint: 'F' } } })],
    ['a directory part in a file name', 'file-name', () => edit((t) => t.replaceAll(' aib-hello_1.0-1_source.buildinfo', ' ../aib-hello_1.0-1_source.buildinfo'))],
    ['a file name longer than 200 bytes', 'file-name', () => edit((t) => t.replaceAll('aib-hello_1.0-1_source.buildinfo', `aib-hello_1.0-1${'a'.repeat(200)}_source.buildinfo`))],
    ['a file type a source upload does not carry', 'file-type', () => edit((t) => t.replaceAll('aib-hello_1.0-1_source.buildinfo', 'aib-hello_1.0-1.exe'))],
    ['a .buildinfo named for an architecture', 'buildinfo-name', () => edit((t) => t.replaceAll('aib-hello_1.0-1_source.buildinfo', 'aib-hello_1.0-1_amd64.buildinfo'))],
    ['Checksums-Sha256 leaving out a file Files lists', 'checksum-lists', () => edit((t) => t.replace(/^ be027936\S+ 4097 aib-hello_1\.0-1_source\.buildinfo\n/m, ''))],
    ['one file listed twice', 'duplicate-file', () => edit((t) => t.replace(/^( c426373d\S+ 769 misc optional aib-hello_1\.0-1\.dsc)$/m, '$1\n$1'))],
    ['a listed file that was not uploaded', 'missing-file', () => {
      const input = good();
      input.facts.delete('aib-hello_1.0-1_source.buildinfo');
      return input;
    }],
    ['a truncated file', 'size', () => {
      const input = good();
      input.facts.get('aib-hello_1.0-1_source.buildinfo')!.size = 100;
      return input;
    }],
    ['a changed file', 'checksum', () => {
      const input = good();
      input.facts.get('aib-hello_1.0-1_source.buildinfo')!.md5 = '0'.repeat(32);
      return input;
    }],
    ['Architecture naming a binary architecture', 'binaries', () => edit((t) => t.replace('Architecture: source', 'Architecture: source amd64'))],
    ['no .dsc', 'dsc-count', () => {
      const input = edit((t) => t.split('\n').filter((l) => !l.endsWith('.dsc')).join('\n'));
      input.dsc = undefined;
      return input;
    }],
    ['a .dsc that did not parse', 'dsc-parse', () => ({ ...good(), dsc: undefined, dscError: 'aib-hello_1.0-1.dsc:1: expected "Field: value"' })],
    ['a .dsc without Maintainer', 'dsc-fields', () => edit(undefined, (t) => t.replace(/^Maintainer: .*\n/m, ''))],
    ['an empty Build-Depends in the .dsc', 'dsc-fields', () => edit(undefined, (t) => t.replace(/^Build-Depends: .*$/m, 'Build-Depends:'))],
    // Checked by its first line, Sources would publish the second too.
    ['a .dsc Version of two lines', 'dsc-fields', () => edit(undefined, (t) => t.replace('Version: 1.0-1\n', 'Version: 1.0-1\n 99\n'))],
    ['a .dsc of another version', 'dsc-match', () => edit(undefined, (t) => t.replace('Version: 1.0-1', 'Version: 1.0-3'))],
    ['a .dsc naming a file the .changes lists differently', 'dsc-files', () => edit(undefined, (t) => t.replace(/ 660 aib-hello_1\.0-1\.debian\.tar\.xz/g, ' 661 aib-hello_1.0-1.debian.tar.xz'))],
    // Sources publishes the .dsc's own checksums: each must be there, and true.
    ['a .dsc whose Files leaves out a file its Checksums-Sha256 lists', 'checksum-lists', () => edit(undefined, (t) => t.replace(/^ 6f9ce683078733c73125048fa5063332 361 aib-hello_1\.0\.orig\.tar\.gz\n/m, ''))],
    ['a .dsc giving a file another MD5 than the .changes', 'dsc-files', () => edit(undefined, (t) => t.replace('6f9ce683078733c73125048fa5063332', '0'.repeat(32)))],
    ["a .dsc giving the pool's orig tarball another MD5", 'orig-in-pool', () => {
      const input = edit(undefined, (t) => t.replace('6f9ce683078733c73125048fa5063332', '0'.repeat(32)));
      const orig = input.facts.get('aib-hello_1.0.orig.tar.gz')!;
      input.facts.delete('aib-hello_1.0.orig.tar.gz');
      input.changes.files = input.changes.files.filter((f) => f.name !== 'aib-hello_1.0.orig.tar.gz');
      input.pool.set('aib-hello_1.0.orig.tar.gz', orig);
      return input;
    }],
    ['an orig tarball named for another upstream version', 'dsc-file-name', () =>
      edit((t) => t.replaceAll('aib-hello_1.0.orig', 'aib-hello_2.0.orig'), (t) => t.replaceAll('aib-hello_1.0.orig', 'aib-hello_2.0.orig'))],
    ['a debian tarball named for another source', 'dsc-file-name', () =>
      edit((t) => t.replaceAll('aib-hello_1.0-1.debian', 'aib-other_1.0-1.debian'), (t) => t.replaceAll('aib-hello_1.0-1.debian', 'aib-other_1.0-1.debian'))],
    ['a Format that does not fit the files', 'source-format', () => edit(undefined, (t) => t.replace('Format: 3.0 (quilt)', 'Format: 3.0 (native)'))],
    ['an orig tarball other than the pool\'s', 'orig-in-pool', () => {
      const input = good();
      input.pool.set('aib-hello_1.0.orig.tar.gz', { size: 361, md5: '', sha1: '', sha256: '0'.repeat(64) });
      return input;
    }],
    ['a .dsc other than the file of that name in the pool', 'pool-conflict', () => {
      const input = good();
      input.pool.set('aib-hello_1.0-1.dsc', { size: 769, md5: '', sha1: '', sha256: '0'.repeat(64) });
      return input;
    }],
    ['the version the suite already holds', 'version-not-newer', () => ({ ...good(), currentVersion: '1.0-1' })],
  ];

  it.each(BAD)('reject %s for check %s', (_name, check, make) => {
    expect(checkUpload(make()).map((f) => f.check)).toContain(check);
  });

  it('name both sizes and hashes when the .dsc and the .changes disagree on a file', () => {
    const input = edit(undefined, (t) => t.replace('6f9ce683078733c73125048fa5063332', '0'.repeat(32)));
    const message = checkUpload(input).find((f) => f.check === 'dsc-files')!.message;
    expect(message).toMatch(/^aib-hello_1\.0\.orig\.tar\.gz: \S+ and \S+ disagree on its md5 \(\S+: 361 bytes, md5 0{32}, .*; \S+: 361 bytes, md5 6f9ce683078733c73125048fa5063332, /);
  });

  it('have a bad-upload case for every check id it can report', () => {
    const reported = new Set(BAD.map(([, check]) => check));
    // Decided before the checks run: in the intake (test/upload-intake.integration.test.ts) and the parsers.
    const beforeChecks: CheckId[] = ['changes-parse', 'incomplete', 'stray', 'not-regular-file', 'name-too-long', 'too-large', 'internal-error'];
    expect(CHECK_IDS.filter((id) => !reported.has(id) && !beforeChecks.includes(id))).toEqual([]);
  });

  it('name a file listed twice among many, once', () => {
    const lines = Array.from({ length: 100 }, (_, i) => ` d41d8cd98f00b204e9800998ecf8427e 0 misc optional aib-hello_1.0.orig-c${i}.tar.gz`);
    const input = edit((t) => t.replace(/^Files:\n/m, `Files:\n${lines.join('\n')}\n${lines[7]}\n`));
    expect(checkUpload(input).filter((f) => f.check === 'duplicate-file').map((f) => f.message)).toEqual([
      'aib-hello_1.0-1_source.changes: aib-hello_1.0.orig-c7.tar.gz is listed twice in Files; list each file once',
    ]);
  });

  it('report a signature gpgv did not find good alone, with what was wrong and what to do', () => {
    const failed = checkUpload({ ...good(), signatures: { changes: { state: 'error', detail: '2 signatures; exactly one is expected' } } });
    expect(failed).toEqual([
      { check: 'signature', message: 'aib-hello_1.0-1_source.changes: the signature is not accepted (2 signatures; exactly one is expected); sign the file once (debsign) and upload it as signed, nothing added' },
    ]);
  });

  it.each([
    ['3.0 (quilt)', ['a_1.orig.tar.gz', 'a_1-1.debian.tar.xz'], true],
    ['3.0 (quilt)', ['a_1.orig.tar.gz', 'a_1.orig.tar.gz.asc', 'a_1.orig-docs.tar.xz', 'a_1-1.debian.tar.xz'], true],
    ['3.0 (quilt)', ['a_1-1.debian.tar.xz'], false],
    ['3.0 (quilt)', ['a_1.orig.tar.gz', 'a_1-1.diff.gz'], false],
    ['3.0 (native)', ['a_1.tar.xz'], true],
    ['3.0 (native)', ['a_1.orig.tar.gz', 'a_1-1.debian.tar.xz'], false],
    ['1.0', ['a_1.tar.gz'], true],
    ['1.0', ['a_1.orig.tar.gz', 'a_1-1.diff.gz'], true],
    ['1.0', ['a_1.tar.xz'], false],
    ['2.0', ['a_1.tar.gz'], false],
  ])('source format %s with %j is %s', (format, names, ok) => {
    const dsc = parseDsc(`Format: ${format}\nSource: a\nVersion: 1-1\nFiles:\n${names.map((n) => ` 00 1 ${n}`).join('\n')}\n`, 'a_1-1.dsc');
    expect(checkSourceFormat(dsc).length === 0).toBe(ok);
  });
});
