import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { arMembers, controlMember, DebFormatError, tarFile, xzUncompressedSize } from './deb-file.js';
import { parseXzStream, xzStreamHeader, xzStreamTrailer } from './xz-stream.js';

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

  it('takes an .xz member only as exactly one stream: not two, nor one cut short behind an index of its own', () => {
    // A member's size decides where a batch's output is cut: it must be what xz reads of it.
    const multi = fixture('multi-block.xz');
    expect(() => xzUncompressedSize(Buffer.concat([multi, multi]))).toThrow('not one .xz stream (its index does not account for what is before it)');
    // The first bytes of a stream, then an index and footer saying they are a whole block: the
    // index adds up, but the block's LZMA2 data runs on past them (into the next member).
    const flags = multi.subarray(6, 8);
    const head = multi.subarray(0, 12 + 200);
    const fake = Buffer.concat([head, xzStreamTrailer(flags, [{ unpaddedSize: head.length - 12, uncompressedSize: 10 }])]);
    expect(() => xzUncompressedSize(fake)).toThrow('not one .xz stream (a block runs into its index)');
    expect(() => xzUncompressedSize(Buffer.concat([Buffer.alloc(4), multi.subarray(4)]))).toThrow('not an .xz stream (no header)');
    // An index that says a block holds less than its chunks do (xz would write all of it before
    // it found out: a member of zeros holds thousands of times its size).
    const { blocks } = parseXzStream(multi);
    const lying = blocks.map((b, i) => (i === 1 ? { ...b, uncompressedSize: b.uncompressedSize - 1 } : b));
    expect(() => xzUncompressedSize(Buffer.concat([xzStreamHeader(flags), ...blocks.map((b) => b.bytes), xzStreamTrailer(flags, lying)]))).toThrow('not one .xz stream (a block holds other than its index says)');
    expect(xzUncompressedSize(Buffer.concat([xzStreamHeader(flags), ...blocks.map((b) => b.bytes), xzStreamTrailer(flags, blocks)]))).toBe(13893);
    // A block the index does not list, hidden in the one before it (whose length the index
    // stretches over both): xz would write what it holds before it found the index wrong.
    const hidden = [...blocks, blocks[0]];
    const stretched = blocks.map((b, i) => (i === blocks.length - 1 ? { ...b, unpaddedSize: b.bytes.length + blocks[0].unpaddedSize } : b));
    expect(() => xzUncompressedSize(Buffer.concat([xzStreamHeader(flags), ...hidden.map((b) => b.bytes), xzStreamTrailer(flags, stretched)]))).toThrow('not one .xz stream (a block is not as long as its index says)');
    // Other filters before LZMA2 keep the sizes: such a member is read by the batch's xz.
    const text = execFileSync('seq', ['1', '3000']);
    expect(xzUncompressedSize(execFileSync('xz', ['--x86', '--lzma2', '-c'], { input: text }))).toBe(text.length);
    expect(xzUncompressedSize(execFileSync('xz', ['--delta=dist=4', '--lzma2', '-C', 'sha256', '-c'], { input: text }))).toBe(text.length);
  });

  it('says what is wrong with a file that is not a .deb', () => {
    expect(() => arMembers(Buffer.from('hello'))).toThrow(/not an ar archive/);
    const broken = Buffer.from(fixture('aib-fixture_1.0-1_all.deb'));
    broken.write('xx', 8 + 58, 'latin1');
    expect(() => arMembers(broken)).toThrow(/broken ar header at byte 8/);
    expect(() => xzUncompressedSize(Buffer.alloc(40))).toThrow(/not a complete .xz stream/);
  });

  /** A tar entry's header, and a body of at most one block. */
  const header = (name: string, size: number, type = '0') => {
    const h = Buffer.alloc(512);
    h.write(name, 0);
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
    h.write(type, 156);
    h.write('ustar  \0', 257);
    return h;
  };
  const body = (text: string) => Buffer.concat([Buffer.from(text), Buffer.alloc(512 - text.length)]);

  it('finds a file in a tar by its ./ or bare name, and GNU long names', () => {
    const long = `./${'d'.repeat(120)}/control`;
    const tar = Buffer.concat([header('././@LongLink', long.length + 1, 'L'), body(`${long}\0`), header('./x', 3), body('abc'), header('control', 2), body('ok'), Buffer.alloc(1024)]);
    expect(tarFile(tar, './control')?.toString()).toBe('ok');
    expect(tarFile(tar, long)?.toString()).toBe('abc');
    expect(tarFile(tar, './missing')).toBeUndefined();
    // Cut short inside an entry: an error, not the entry's first bytes as if they were all of it.
    const cut = Buffer.concat([header('./control', 600), body('Package: p\n')]);
    expect(() => tarFile(cut, './control')).toThrow(DebFormatError);
    expect(() => tarFile(cut, './control')).toThrow('a tar cut short: its entry at byte 0 needs 600 bytes, 512 follow');
  });

  it('refuses a tar naming the file twice, which dpkg would read the last of (by a GNU long name or a pax path too)', () => {
    const entry = (name: string, text: string) => [header(name, text.length), body(text)];
    const pax = (path: string) => {
      const record = `${path.length + 7 + String(path.length + 7).length} path=${path}\n`;
      return [header('./PaxHeaders/x', record.length, 'x'), body(record)];
    };
    const end = Buffer.alloc(1024);
    const twice = Buffer.concat([...entry('./control', 'Package: hello\n'), ...entry('./md5sums', 'x'), ...entry('./control', 'Package: libc6\n'), end]);
    expect(() => tarFile(twice, './control')).toThrow('its control member holds control twice (dpkg would read the last)');
    const renamed = Buffer.concat([...entry('./control', 'Package: hello\n'), ...pax('./control'), ...entry('./other', 'Package: libc6\n'), end]);
    expect(() => tarFile(renamed, './control')).toThrow(DebFormatError);
    // Named as tar writes it out, or renamed by a pax header's last path or GNU sparse name.
    for (const second of ['././control', './/control', '/control', 'control/']) {
      expect(() => tarFile(Buffer.concat([...entry('./control', 'Package: hello\n'), ...entry(second, 'Package: libc6\n'), end]), './control'), second).toThrow(DebFormatError);
    }
    const lastPath = (record: string) => [header('./PaxHeaders/x', record.length, 'x'), body(record)];
    expect(() => tarFile(Buffer.concat([...entry('./control', 'Package: hello\n'), ...lastPath('16 path=./other\n18 path=./control\n'), ...entry('./x', 'Package: libc6\n'), end]), './control')).toThrow(DebFormatError);
    expect(() => tarFile(Buffer.concat([...entry('./control', 'Package: hello\n'), ...lastPath('29 GNU.sparse.name=./control\n'), ...entry('./x', 'Package: libc6\n'), end]), './control')).toThrow(DebFormatError);
    // A pax path alone names its entry.
    expect(tarFile(Buffer.concat([...pax('./control'), ...entry('./other', 'Package: p\n'), end]), './control')?.toString()).toBe('Package: p\n');
  });

  it('reads names as GNU tar does, and refuses what tar would read otherwise: a pax size, a global header, an extended header of megabytes, a control that is a link', () => {
    const entry = (name: string, text: string, type = '0') => [header(name, text.length, type), body(text)];
    const end = Buffer.alloc(1024);
    // A POSIX header's prefix makes its name; a GNU header's prefix bytes are a time, as GNU tar
    // reads them: the second ./control below is one, and dpkg would read it last.
    const gnu = header('./control', 'Package: evil\n'.length);
    gnu.write('x', 345);
    const posix = header('y/control', 'Package: p\n'.length);
    posix.write('ustar\u000000', 257, 'latin1');
    posix.write('x', 345);
    expect(() => tarFile(Buffer.concat([...entry('./control', 'Package: harmless\n'), gnu, body('Package: evil\n'), end]), './control')).toThrow('its control member holds control twice (dpkg would read the last)');
    expect(tarFile(Buffer.concat([posix, body('Package: p\n'), end]), 'x/y/control')?.toString()).toBe('Package: p\n');
    // A pax size=0 before ./junk, whose own size covers a second ./control: tar reads junk empty,
    // then that control; refused, whatever it would hide.
    const hidden = [...entry('./control', 'Package: evil\n')];
    const paxSize = (record: string) => [header('./PaxHeaders/junk', record.length, 'x'), body(record)];
    const junk = [header('./junk', 1024), ...hidden];
    expect(() => tarFile(Buffer.concat([...entry('./control', 'Package: harmless\n'), ...paxSize('10 size=0\n'), ...junk, end]), './control')).toThrow('a pax header with size= in its control member (tar would apply it; refused)');
    // Times and owners only describe an entry.
    expect(tarFile(Buffer.concat([...paxSize('30 mtime=1700000000.123456789\n'), ...entry('./control', 'Package: p\n'), end]), './control')?.toString()).toBe('Package: p\n');
    expect(() => tarFile(Buffer.concat([...paxSize('12 comment=\n'), header('./g', 0, 'g'), ...entry('./control', 'Package: p\n'), end]), './control')).toThrow('a pax global header in its control member (dpkg-deb writes none)');
    // A pax header of 64 MiB of records: refused by its size, before one record is read.
    const bomb = header('./PaxHeaders/bomb', 64 * 1024 * 1024, 'x');
    expect(() => tarFile(Buffer.concat([bomb, Buffer.alloc(64 * 1024 * 1024), end]), './control')).toThrow(`an extended tar header of ${64 * 1024 * 1024} bytes at byte 0; at most 65536`);
    expect(() => tarFile(Buffer.concat([...paxSize('5 pa\n'), ...entry('./control', 'x'), end]), './control')).toThrow(DebFormatError);
    for (const type of ['1', '2']) expect(() => tarFile(Buffer.concat([...entry('./control', '', type), end]), './control'), type).toThrow(`its control member holds control as other than a regular file (tar type "${type}")`);
    // Extended headers GNU tar weighs otherwise than in order: a pax path before a long name
    // (the path wins), two pax headers (the last alone counts); and Solaris' X, read as pax.
    const harmless = entry('./control', 'Package: harmless\n');
    const evil = entry('./junk', 'Package: evil\n');
    const long = (name: string) => [header('././@LongLink', name.length + 1, 'L'), body(`${name}\0`)];
    const paxPath = (path: string, type = 'x') => {
      const record = `${path.length + 7 + String(path.length + 7).length} path=${path}\n`;
      return [header('./PaxHeaders/x', record.length, type), body(record)];
    };
    expect(() => tarFile(Buffer.concat([...harmless, ...paxPath('./control'), ...long('./junk'), ...evil, end]), './control')).toThrow('more than one extended header before an entry of its control member, at byte 2048');
    expect(() => tarFile(Buffer.concat([...harmless, ...paxPath('./junk'), ...paxSize('12 mtime=1\n'), ...entry('./control', 'Package: evil\n'), end]), './control')).toThrow('more than one extended header before an entry');
    expect(() => tarFile(Buffer.concat([...harmless, ...paxPath('./control', 'X'), ...evil, end]), './control')).toThrow('a Solaris extended header (type X) in its control member (dpkg-deb writes none)');
  });
});
