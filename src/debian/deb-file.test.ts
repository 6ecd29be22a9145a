import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { arMembers, controlMember, tarFile, xzUncompressedSize } from './deb-file.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

describe('reading a .deb without dpkg-deb', () => {
  it('finds the members of a .deb dpkg-deb built, control second', () => {
    const members = arMembers(fixture('aib-fixture_1.0-1_all.deb'));
    expect(members.map((m) => m.name)).toEqual(['debian-binary', 'control.tar.xz', 'data.tar.xz']);
    expect(controlMember(members)).toMatchObject({ name: 'control.tar.xz', compression: 'xz' });
  });

  it('reads the control file out of a gzip control member', () => {
    const deb = fixture('aib-fixture-gz_1.0-1_all.deb');
    const m = controlMember(arMembers(deb));
    expect(m.compression).toBe('gz');
    const control = tarFile(gunzipSync(deb.subarray(m.offset, m.offset + m.size)), './control')!.toString();
    expect(control).toMatch(/^Package: aib-fixture\nVersion: 1:1.0-1\n/);
  });

  it('reads the uncompressed size from an .xz index, over several blocks', () => {
    const deb = fixture('aib-fixture_1.0-1_all.deb');
    const m = controlMember(arMembers(deb));
    expect(xzUncompressedSize(deb.subarray(m.offset, m.offset + m.size))).toBe(10240);
    // seq 1 3000 | xz --block-size=4000: 13,893 bytes in four blocks.
    expect(xzUncompressedSize(fixture('multi-block.xz'))).toBe(13893);
  });

  it('says what is wrong with a file that is not a .deb', () => {
    expect(() => arMembers(Buffer.from('hello'))).toThrow(/not an ar archive/);
    const broken = Buffer.from(fixture('aib-fixture_1.0-1_all.deb'));
    broken.write('xx', 8 + 58, 'latin1');
    expect(() => arMembers(broken)).toThrow(/broken ar header at byte 8/);
    expect(() => xzUncompressedSize(Buffer.alloc(40))).toThrow(/not a complete .xz stream/);
  });

  it('finds a file in a tar by its ./ or bare name, and GNU long names', () => {
    const header = (name: string, size: number, type = '0') => {
      const h = Buffer.alloc(512);
      h.write(name, 0);
      h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
      h.write(type, 156);
      h.write('ustar  \0', 257);
      return h;
    };
    const body = (text: string) => Buffer.concat([Buffer.from(text), Buffer.alloc(512 - text.length)]);
    const long = `./${'d'.repeat(120)}/control`;
    const tar = Buffer.concat([header('././@LongLink', long.length + 1, 'L'), body(`${long}\0`), header('./x', 3), body('abc'), header('control', 2), body('ok'), Buffer.alloc(1024)]);
    expect(tarFile(tar, './control')?.toString()).toBe('ok');
    expect(tarFile(tar, long)?.toString()).toBe('abc');
    expect(tarFile(tar, './missing')).toBeUndefined();
  });
});
