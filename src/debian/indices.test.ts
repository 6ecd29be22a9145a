import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDsc } from './changes-dsc.js';
import { Paragraph, parseDeb822 } from './deb822.js';
import { CHUNK_MAX_STANZAS, CHUNK_STANZAS, chunkLayout, chunkText, indexText, paragraphStanzas, packagesStanza, releaseText, sourcesStanza } from './indices.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const pool = {
  path: 'pool/main/a/aib-hello/aib-hello_1.0-1_amd64.deb',
  size: 2944,
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
  sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
};

describe('index files', () => {
  it('writes a Packages stanza with the control fields in apt-ftparchive order and the file facts', () => {
    const [control] = parseDeb822(fixture('aib-hello_1.0-1_amd64.control'));
    const stanza = packagesStanza(control.entries(), pool);
    const text = stanza.text;
    expect(stanza.lines).toBe(14);
    expect(text).toBe(
      [
        'Package: aib-hello',
        'Architecture: amd64',
        'Version: 1.0-1',
        'Priority: optional',
        'Section: misc',
        'Maintainer: Test Maintainer <test@example.org>',
        'Installed-Size: 24',
        'Depends: libc6 (>= 2.34)',
        `Filename: ${pool.path}`,
        'Size: 2944',
        `MD5sum: ${pool.md5}`,
        `SHA256: ${pool.sha256}`,
        'Description: test program for archive-in-a-box',
        ' Prints a known line.',
        '',
      ].join('\n'),
    );
  });

  it("leaves out the hashes a .deb's control may claim for itself (apt checks every one Packages lists), as apt-ftparchive does", () => {
    const control: [string, string][] = [['Package', 'aib-x'], ['Version', '1'], ['SHA512', '00'], ['sha1', '00'], ['Description-md5', '00'], ['MSDOS-Filename', 'X.DEB'], ['Description', 'x']];
    expect(packagesStanza(control, pool).text).toBe(['Package: aib-x', 'Version: 1', `Filename: ${pool.path}`, 'Size: 2944', `MD5sum: ${pool.md5}`, `SHA256: ${pool.sha256}`, 'Description: x', ''].join('\n'));
  });

  it('gives the pool file\'s facts in place of control fields of their names, in any spelling, and keeps unnamed fields after the named ones in their order', () => {
    const control: [string, string][] = [
      ['X-Zeta', 'z'],
      ['Description', 'short\n long'],
      ['filename', 'pool/elsewhere.deb'],
      ['Package', 'aib-x'],
      ['SIZE', '1'],
      ['X-Alpha', 'a'],
      ['Version', '1'],
    ];
    const stanza = packagesStanza(control, pool);
    expect(stanza.text).toBe(
      ['Package: aib-x', 'Version: 1', `filename: ${pool.path}`, 'SIZE: 2944', `MD5sum: ${pool.md5}`, `SHA256: ${pool.sha256}`, 'Description: short', ' long', 'X-Zeta: z', 'X-Alpha: a', ''].join('\n'),
    );
    expect(stanza.lines).toBe(10);
  });

  it('writes a Sources stanza: Package for Source, Directory, the .dsc itself in the file lists', () => {
    const dsc = parseDsc(fixture('aib-hello_1.0-1.dsc'), 'aib-hello_1.0-1.dsc');
    const dscFile = { ...pool, path: 'pool/main/a/aib-hello/aib-hello_1.0-1.dsc', size: 769 };
    const p = sourcesStanza(dsc, dscFile, 'pool/main/a/aib-hello', { section: 'misc', priority: 'optional' });
    expect(p.entries()[0]).toEqual(['Package', 'aib-hello']);
    expect(p.has('Source')).toBe(false);
    expect(p.first('Directory')).toBe('pool/main/a/aib-hello');
    expect(p.first('Section')).toBe('misc');
    expect(p.lines('Files')).toEqual([
      `${pool.md5} 769 aib-hello_1.0-1.dsc`,
      '6f9ce683078733c73125048fa5063332 361 aib-hello_1.0.orig.tar.gz',
      'caa58f6382a13e04809a719855cdab86 660 aib-hello_1.0-1.debian.tar.xz',
    ]);
    expect(p.lines('Checksums-Sha256')[0]).toBe(`${pool.sha256} 769 aib-hello_1.0-1.dsc`);
    expect(p.first('Package-List')).toBe('');
    expect(p.lines('Package-List')).toEqual(['aib-hello deb misc optional arch=any']);
  });

  it('separates stanzas with one blank line', () => {
    const [a] = parseDeb822('Package: a\n');
    const [b] = parseDeb822('Package: b\n');
    expect(indexText([a, b])).toBe('Package: a\n\nPackage: b\n');
    expect(indexText([])).toBe('');
  });

  it('cuts an index into chunks that make up its text, where one new package changes one chunk', () => {
    const stanzas = (names: string[]) => names.map((n) => new Paragraph([['Package', n], ['Version', '1.0']]));
    const names = Array.from({ length: 2000 }, (_, i) => `p${i}`);
    // Each chunk's key, and its text: the same key is always the same text.
    const texts = (list: Paragraph[]) => chunkLayout(list, paragraphStanzas).map((c, j) => `${c.key} ${chunkText(c.members, j === 0, paragraphStanzas).parts.join('')}`);
    const text = (list: Paragraph[]) => texts(list).map((t) => t.slice(t.indexOf(' ') + 1)).join('');
    const before = texts(stanzas(names));
    expect(text(stanzas(names))).toBe(indexText(stanzas(names)));
    expect(text(stanzas(names))).toBe(names.map((n) => `Package: ${n}\nVersion: 1.0\n`).join('\n'));
    expect(before.length).toBeGreaterThan(2000 / CHUNK_STANZAS / 3);
    for (const at of [0, 777, 2000]) {
      const after = texts(stanzas([...names.slice(0, at), 'new', ...names.slice(at)]));
      const changed = after.filter((c) => !before.includes(c));
      // The chunk it joined, or (when it starts a chunk of its own) the one it cut in two.
      expect(changed.length, `inserted at ${at}`).toBeGreaterThanOrEqual(1);
      expect(changed.length, `inserted at ${at}`).toBeLessThanOrEqual(2);
      expect(before.filter((c) => !after.includes(c)).length).toBeLessThanOrEqual(1);
    }
  });

  it('starts a chunk at each stanza whose first line hashes to 0 modulo CHUNK_STANZAS (FNV-1a, 32 bits): borders published indices already have', () => {
    const fnv = (text: string) => [...Buffer.from(text)].reduce((h, byte) => Math.imul(h ^ byte, 0x01000193), 0x811c9dc5) >>> 0;
    const names = Array.from({ length: 3000 }, (_, i) => `lib${i}-dev`);
    const starts = chunkLayout(names.map((n) => new Paragraph([['Package', n]])), paragraphStanzas).slice(1).map((c) => c.members[0].first('Package'));
    expect(starts).toEqual(names.filter((n, i) => i > 0 && fnv(`Package: ${n}`) % CHUNK_STANZAS === 0));
    expect(starts.length).toBeGreaterThan(5);
  });

  it('ends a chunk at its stanza limit when no border comes, and tells a first chunk from a later one of the same stanzas', () => {
    const same = Array.from({ length: 3 * CHUNK_MAX_STANZAS }, () => new Paragraph([['Package', 'x']]));
    const layout = chunkLayout(same, paragraphStanzas);
    expect(layout.map((c) => c.members.length)).toEqual([CHUNK_MAX_STANZAS, CHUNK_MAX_STANZAS, CHUNK_MAX_STANZAS]);
    // The same stanzas, but the first chunk has no blank line before its first stanza.
    expect(new Set(layout.map((c) => c.key)).size).toBe(2);
  });

  it('takes the key of a chunk of the very members laid out before, when its members are values, and hashes a chunk that changed', () => {
    const names = Array.from({ length: 1500 }, (_, i) => `p${i}`);
    const members = names.map((n) => new Paragraph([['Package', n], ['Version', '1.0']]));
    const hashed: Paragraph[] = [];
    const values = { ...paragraphStanzas, values: true, identity: (p: Paragraph) => (hashed.push(p), paragraphStanzas.identity(p)) };
    const first = chunkLayout(members, values);
    expect(hashed).toHaveLength(members.length);
    hashed.length = 0;
    // One member replaced, one added: only their chunks are hashed again, and every key is the one made without the cache.
    const next = [...members.slice(0, 700), new Paragraph([['Package', 'p700'], ['Version', '2.0']]), ...members.slice(701), new Paragraph([['Package', 'zz'], ['Version', '1.0']])];
    const again = chunkLayout(next, values);
    expect(again.map((c) => c.key)).toEqual(chunkLayout(next, paragraphStanzas).map((c) => c.key));
    expect(again.filter((c) => !first.some((f) => f.key === c.key))).toHaveLength(2);
    expect(hashed.length).toBeLessThanOrEqual(2 * CHUNK_MAX_STANZAS);
    expect(hashed).toContain(next[700]);
    // Laid out again unchanged: each chunk is taken whole, only the name after it looked at.
    const named: Paragraph[] = [];
    const third = chunkLayout(next, { ...values, name: (p: Paragraph) => (named.push(p), paragraphStanzas.name(p)) });
    expect(third.map((c) => c.key)).toEqual(again.map((c) => c.key));
    expect(named.length).toBeLessThan(third.length);
  });

  it('writes a Release file with the fields apt reads and aligned checksum lists', () => {
    const text = releaseText(
      {
        origin: 'o',
        label: 'l',
        suite: 'unstable',
        codename: 'sid',
        date: new Date('2026-11-29T10:00:00Z'),
        architectures: ['amd64'],
        components: ['main'],
        description: 'd',
      },
      [
        { path: 'main/source/Sources', size: 1234, md5: 'm2', sha256: 's2' },
        { path: 'main/binary-amd64/Packages', size: 5, md5: 'm1', sha256: 's1' },
      ],
    );
    expect(text).toContain('Date: Sun, 29 Nov 2026 10:00:00 UTC\n');
    expect(text).toContain('Acquire-By-Hash: yes\n');
    expect(text).toContain('Architectures: amd64\nComponents: main\n');
    expect(text).toContain('SHA256:\n s1    5 main/binary-amd64/Packages\n s2 1234 main/source/Sources\n');
    expect(text).toContain('MD5Sum:\n m1    5 main/binary-amd64/Packages\n');
  });

  it("lists Release's files in byte order, as dak and apt-ftparchive do, not in the locale's", () => {
    const info = { origin: 'o', label: 'l', suite: 'u', codename: 'u', date: new Date(0), architectures: ['amd64'], components: ['main'], description: 'd' };
    const paths = ['main/binary-amd64/Packages.xz', 'main/Contents-amd64', 'main/binary-amd64/Packages-x', 'main/binary-amd64/Packages'];
    const text = releaseText(info, paths.map((path) => ({ path, size: 1, md5: 'm', sha256: 's' })));
    // A locale's collation puts binary- before Contents (lower case before upper case).
    const listed = text.split('SHA256:\n')[1].trimEnd().split('\n').map((line) => line.split(' ').pop());
    expect(listed).toEqual(['main/Contents-amd64', 'main/binary-amd64/Packages', 'main/binary-amd64/Packages-x', 'main/binary-amd64/Packages.xz']);
  });
});
