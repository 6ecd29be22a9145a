import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.js';
import { parseChanges, parseDsc } from '../debian/control-files.js';
import { checkSourceFormat, checkUpload, type FileFacts, type UploadInput } from './upload-checks.js';

// The table of 30+ bad uploads runs through the real intake in test/upload-intake.integration.test.ts;
// these are the pure checks on their own.
const fixtures = join(import.meta.dirname, '..', 'debian', 'fixtures');
const CHANGES = readFileSync(join(fixtures, 'aib-hello_1.0-1_source.changes'), 'utf8');
const DSC = readFileSync(join(fixtures, 'aib-hello_1.0-1.dsc'), 'utf8');
const config = parseConfig('suites:\n  unstable:\n    base: trixie\n    aliases: [sid]\n', 'archive.yaml');

function good(changesText = CHANGES, dscText = DSC): UploadInput {
  const changes = parseChanges(changesText, 'aib-hello_1.0-1_source.changes');
  const facts = new Map<string, FileFacts>(changes.files.map((f) => [f.name, { size: f.size, md5: f.md5!, sha1: f.sha1!, sha256: f.sha256! }]));
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
