import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeControlFile, Deb822Error, parseDeb822, parseSingle, serializeDeb822, unwrapSigned } from './deb822.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

describe('deb822', () => {
  it.each(['aib-hello_1.0-1_source.changes', 'aib-hello_1.0-1.dsc', 'aib-hello_1.0-1_amd64.control'])(
    'parses and re-serialises %s byte for byte',
    (name) => {
      const text = fixture(name);
      expect(serializeDeb822(parseDeb822(text, name))).toBe(text);
    },
  );

  it('reads multi-line fields as their continuation lines', () => {
    const { paragraph } = parseSingle(fixture('aib-hello_1.0-1.dsc'), 'x.dsc');
    expect(paragraph.first('Source')).toBe('aib-hello');
    expect(paragraph.lines('Checksums-Sha256')).toHaveLength(2);
    expect(paragraph.lines('Checksums-Sha256')[0]).toMatch(/^fe11457b\S+ 361 aib-hello_1\.0\.orig\.tar\.gz$/);
  });

  it('looks fields up without regard to case, as Policy 5.1 says', () => {
    const [p] = parseDeb822('Package: a\nVERSION: 1\n');
    expect(p.get('version')).toBe('1');
    expect(p.get('Package')).toBe('a');
  });

  it('strips an OpenPGP clear-signature frame and reports that the text was signed', () => {
    const signed = fixture('aib-hello_1.0-1.signed.dsc');
    const { content, signed: wasSigned, signature } = unwrapSigned(signed);
    expect(wasSigned).toBe(true);
    expect(content).toBe(fixture('aib-hello_1.0-1.dsc'));
    // The armored signature's lines, for the check before gpgv reads them (process/signature-block.ts).
    expect(signature).toEqual(['', ...signed.split('-----BEGIN PGP SIGNATURE-----\n\n')[1].split('\n-----END')[0].split('\n')]);
    expect(parseSingle(signed, 'x.dsc').paragraph.first('Version')).toBe('1.0-1');
  });

  it('removes dash-escaping inside a signed message', () => {
    const text = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nA: 1\n- -B: not a field\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n';
    expect(unwrapSigned(text).content).toBe('A: 1\n-B: not a field\n');
  });

  // What gpg takes as the signed text is all the queue may read (dak: apt_pkg's TagFile
  // refuses data outside the signed part); a different reading is how a signed file smuggles
  // in fields nobody signed.
  describe('refuses data outside the signed part', () => {
    const signed = fixture('aib-hello_1.0-1.signed.dsc');
    it.each([
      ['a paragraph before the signed message', `Source: evil\n\n${signed}`, 'x.dsc:1: text before "-----BEGIN PGP SIGNED MESSAGE-----"'],
      ['garbage after the signature', `${signed}garbage\n`, 'x.dsc:30: text after "-----END PGP SIGNATURE-----"'],
      ['a second signed message after the first', `${signed}${signed}`, 'x.dsc:30: text after "-----END PGP SIGNATURE-----"'],
      ['a signature block that never ends', signed.replace('-----END PGP SIGNATURE-----\n', ''), 'x.dsc:23: the signature has no "-----END PGP SIGNATURE-----" line'],
      // gpgv would end the text there and read the armor after it (a compressed packet, say),
      // which the check of the last block (process/signature-block.ts) never sees.
      ['an armor line inside the signed text', signed.replace('Format: ', '-----BEGIN PGP SIGNATURE-----x\nFormat: '), 'x.dsc:4: a line of the signed text starts with "-" unescaped'],
    ])('%s', (_name, text, message) => {
      expect(() => unwrapSigned(text, 'x.dsc')).toThrow(Deb822Error);
      expect(() => unwrapSigned(text, 'x.dsc')).toThrow(message);
    });
  });

  it('reads the signed text as gpg does: blank lines around the frame allowed, the trailing blanks and carriage returns of a line ignored (RFC 4880 7.1)', () => {
    const signed = fixture('aib-hello_1.0-1.signed.dsc');
    const padded = `\n${signed.replace('Source: aib-hello\n', 'Source: aib-hello \t\n').replace('Format: 3.0 (quilt)\n', 'Format: 3.0 (quilt)\r \n').replace('-----BEGIN PGP SIGNATURE-----', '-----BEGIN PGP SIGNATURE-----  ')}\n\n`;
    expect(unwrapSigned(padded, 'x.dsc')).toMatchObject({ content: fixture('aib-hello_1.0-1.dsc'), signed: true });
  });

  it.each([
    [' continued\n', 'continuation line before any field'],
    ['no colon here\n', 'expected "Field: value"'],
    ['A: 1\nA: 2\n', 'appears twice'],
  ])('names the file and line of a malformed input: %j', (text, message) => {
    expect(() => parseDeb822(text, 'bad.changes')).toThrow(Deb822Error);
    expect(() => parseDeb822(text, 'bad.changes')).toThrow(new RegExp(`^bad\\.changes:\\d+: .*${message.replace(/[".]/g, '.')}`));
  });

  it('quotes at most 40 characters of a field name, however long the file makes it', () => {
    const name = `X${'a'.repeat(999)}`;
    expect(() => parseDeb822(`${name}: 1\n${name}: 2\n`, 'long.dsc')).toThrow(new Deb822Error('long.dsc', 2, `field "${name.slice(0, 40)}…" (1000 characters) appears twice in one paragraph`));
  });

  it('refuses a .dsc with more than one paragraph', () => {
    expect(() => parseSingle('A: 1\n\nB: 2\n', 'two.dsc')).toThrow('two.dsc:1: expected exactly one paragraph, found 2');
  });
  it('refuses bytes that are not UTF-8, naming the line and field but quoting none of it (Policy 5.1)', () => {
    const bytes = Buffer.concat([Buffer.from('Source: a\nChanges:\n a (1) unstable\n .\n * '), Buffer.from([0xc3, 0x28]), Buffer.from('x\nFiles:\n')]);
    expect(() => decodeControlFile(bytes, 'a_1_source.changes')).toThrow(
      new Deb822Error('a_1_source.changes', 5, 'field "Changes" is not valid UTF-8 (Debian Policy 5.1: control files are UTF-8)'),
    );
    expect(decodeControlFile(Buffer.from('Maintainer: Jörg <j@example.org>\n'), 'x.dsc')).toBe('Maintainer: Jörg <j@example.org>\n');
  });

  it('quotes no part of a line that does not parse', () => {
    expect(() => parseDeb822('Source: a\nSECRET-TOKEN\n', 'x.changes')).toThrow('x.changes:2: expected "Field: value" (a line with a colon) or a continuation line');
    expect(() => parseDeb822('SECRET TOKEN: 1\n', 'x.changes')).toThrow('x.changes:1: invalid field name (only printable ASCII without spaces)');
  });
});
