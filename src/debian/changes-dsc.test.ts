import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_LIST_CAP, MAX_LISTED_FILES, parseChanges, parseDsc, UPLOAD_LIST_CAP, wholeChanges } from './changes-dsc.js';

const changes = (files: string[]) => `Source: a\nVersion: 1-1\nFiles:\n${files.map((f) => ` ${f}`).join('\n')}\n`;

describe('control files', () => {
  it(`refuse a Files field of more than ${MAX_LISTED_FILES} entries, naming the field and the limit`, () => {
    const lines = Array.from({ length: MAX_LISTED_FILES + 1 }, (_, i) => `d41d8cd98f00b204e9800998ecf8427e 0 misc optional a_1.orig-c${i}.tar.gz`);
    expect(() => parseChanges(changes(lines), 'a_1-1_source.changes', UPLOAD_LIST_CAP)).toThrow(
      `a_1-1_source.changes: field Files lists ${MAX_LISTED_FILES + 1} files; an upload may list at most ${MAX_LISTED_FILES}`,
    );
    expect(parseChanges(changes(lines.slice(1)), 'a_1-1_source.changes', UPLOAD_LIST_CAP).files).toHaveLength(MAX_LISTED_FILES);
  });

  it('take a build .changes of 600 files (a big source with -dbgsym packages), while an upload of 600 is refused', () => {
    const lines = Array.from({ length: 600 }, (_, i) => `d41d8cd98f00b204e9800998ecf8427e 0 misc optional a${i}_1-1_amd64.deb`);
    expect(parseChanges(changes(lines), 'a_1-1_amd64.changes').files).toHaveLength(600);
    expect(() => parseChanges(changes(lines), 'a_1-1_source.changes', UPLOAD_LIST_CAP)).toThrow('lists 600 files; an upload may list at most 500');
    const many = Array.from({ length: BUILD_LIST_CAP.max + 1 }, (_, i) => `d41d8cd98f00b204e9800998ecf8427e 0 misc optional a${i}_1-1_amd64.deb`);
    expect(() => parseChanges(changes(many), 'a_1-1_amd64.changes')).toThrow(`lists ${BUILD_LIST_CAP.max + 1} files; a build's .changes may list at most ${BUILD_LIST_CAP.max}`);
  });

  it('quote no part of a checksum line that does not parse', () => {
    expect(() => parseChanges(changes(['SECRET 1 2']), 'a_1-1_source.changes')).toThrow(
      'a_1-1_source.changes: field Files, entry 1: has 3 words, expected 5 (md5 size section priority name)',
    );
    expect(() => parseDsc('Source: a\nFiles:\n d41d8cd98f00b204e9800998ecf8427e SECRET a.tar.gz\n', 'a_1-1.dsc')).toThrow('a_1-1.dsc: field Files, entry 1: the size is not a number');
  });

  it('refuse an entry on a checksum field\'s own line, which dpkg-source would read and the archive not check', () => {
    const dsc = 'Source: a\nChecksums-Sha256: ' + 'e'.repeat(64) + ' 4 a_1.orig-x.tar.gz\n ' + 'e'.repeat(64) + ' 4 a_1.orig.tar.gz\n';
    expect(() => parseDsc(dsc, 'a_1-1.dsc')).toThrow("a_1-1.dsc: field Checksums-Sha256: text on the field's own line; expected the list of files on the lines after it, one per line");
  });

  it('keep every field a file appears in twice', () => {
    const line = 'd41d8cd98f00b204e9800998ecf8427e 0 misc optional a_1.orig.tar.gz';
    const [file] = parseChanges(changes([line, line]), 'a_1-1_source.changes').files;
    expect(file.duplicateIn).toEqual(['Files']);
  });
});

describe('a .changes read while it is being written', () => {
  const unsigned = readFileSync(join(import.meta.dirname, 'fixtures', 'aib-hello_1.0-1_source.changes'), 'utf8');
  const signed = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${unsigned}-----BEGIN PGP SIGNATURE-----\n\niHUEARYKAB0WIQ\n=abcd\n-----END PGP SIGNATURE-----\n`;
  /** Whether text parses and counts as whole. */
  const whole = (text: string) => {
    try {
      return wholeChanges(text, parseChanges(text, 'aib-hello_1.0-1_source.changes', UPLOAD_LIST_CAP));
    } catch {
      return false;
    }
  };

  it.each([['unsigned', unsigned], ['signed', signed]])('is whole only once every byte is there (%s): no cut of it counts', (_kind, text) => {
    expect(whole(text)).toBe(true);
    const cutsThatCount = [];
    for (let at = 1; at < text.length; at++) if (whole(text.slice(0, at))) cutsThatCount.push(at);
    expect(cutsThatCount).toEqual([]);
  });

  it('is not whole when a file is missing from one checksum field, whichever field comes last', () => {
    const withoutSha256Line = unsigned.split('\n').filter((l) => !/^ [0-9a-f]{64} 361 /.test(l)).join('\n');
    expect(whole(withoutSha256Line)).toBe(false);
    // Files first, the SHA-1 field last and cut after its first line.
    const [head, files] = unsigned.split('Files:\n');
    const reordered = `${head.replace(/Checksums-Sha1:\n(?: .*\n)+/, '')}Files:\n${files}Checksums-Sha1:\n${/Checksums-Sha1:\n( .*\n)/.exec(unsigned)![1]}`;
    expect(whole(reordered)).toBe(false);
  });
});
