// Reading a .deb's control member without dpkg-deb: a .deb is an ar archive holding
// debian-binary, control.tar[.gz|.xz|.zst] and data.tar.* (deb(5)). Reading 10,000 controls
// with one dpkg-deb process each costs minutes; this finds the member, and the caller
// decompresses many at once. Pure: bytes in, values out.
import { HEADER_MAGIC, readVarint, storedSize } from './xz-stream.js';

/** A file that does not hold together as a .deb (deb(5)). */
export class DebFormatError extends Error {}

export interface ArMember {
  name: string;
  /** Offset of the member's data in the file, and its size. */
  offset: number;
  size: number;
}

const AR_MAGIC = '!<arch>\n';

/**
 * The ar members whose headers lie in `head` (the file's first bytes); stops at the first
 * header beyond it. Throws when `head` does not start like a .deb.
 */
export function arMembers(head: Buffer): ArMember[] {
  if (head.subarray(0, 8).toString('latin1') !== AR_MAGIC) throw new DebFormatError('not an ar archive (a .deb starts with "!<arch>")');
  const members: ArMember[] = [];
  let at = 8;
  while (at + 60 <= head.length) {
    const header = head.subarray(at, at + 60);
    if (header.subarray(58, 60).toString('latin1') !== '`\n') throw new DebFormatError(`broken ar header at byte ${at}`);
    const name = header.subarray(0, 16).toString('latin1').trim().replace(/\/$/, '');
    const size = Number(header.subarray(48, 58).toString('latin1').trim());
    if (!Number.isSafeInteger(size) || size < 0) throw new DebFormatError(`broken ar member size at byte ${at}`);
    members.push({ name, offset: at + 60, size });
    at += 60 + size + (size % 2);
  }
  return members;
}

/** The control member of a .deb, from its ar members (deb(5): the second, control.tar*). */
export function controlMember(members: ArMember[]): ArMember & { compression: 'none' | 'gz' | 'xz' | 'zst' } {
  if (members[0]?.name !== 'debian-binary') throw new DebFormatError('the first member is not debian-binary, as deb(5) requires');
  const m = members[1];
  const match = m?.name.match(/^control\.tar(?:\.(gz|xz|zst))?$/);
  if (!m || !match) throw new DebFormatError(`the second member is ${m ? `"${m.name}"` : 'missing'}, expected control.tar[.gz|.xz|.zst]`);
  return { ...m, compression: (match[1] as 'gz' | 'xz' | 'zst' | undefined) ?? 'none' };
}

/**
 * The uncompressed size of one .xz stream, from its index (xz format sections 2.1.2.2 and 4):
 * lets many streams be decompressed by one `xz -dc` and the output split again. Throws for bytes
 * that are not exactly one stream (and its padding): with several streams, or blocks other than
 * its index says, the output would be cut elsewhere than at the members' own ends.
 */
export function xzUncompressedSize(stream: Buffer): number {
  let end = stream.length;
  while (end >= 4 && stream.readUInt32LE(end - 4) === 0) end -= 4; // stream padding
  if (end < 24 || stream.subarray(end - 2, end).toString('latin1') !== 'YZ') throw new Error('not a complete .xz stream (no footer)');
  const backwardSize = (stream.readUInt32LE(end - 8) + 1) * 4;
  const indexAt = end - 12 - backwardSize;
  if (indexAt < 12 || stream[indexAt] !== 0) throw new Error('broken xz index');
  let at: number;
  let count: number;
  [count, at] = readVarint(stream, indexAt + 1);
  let total = 0;
  // Each block the index lists is where xz will find it: from the header on, one after the
  // other, its LZMA2 data (walked chunk by chunk, as xz reads it) ending where the index says, up
  // to the index. So xz reads these bytes as this one stream and checks it against this index:
  // a member cannot run on into the next one of a batch, nor end inside a stream of its own.
  if (!stream.subarray(0, 6).equals(HEADER_MAGIC)) throw new Error('not an .xz stream (no header)');
  const checkType = stream[7] & 0x0f;
  const checkSize = checkType === 0 ? 0 : 4 << Math.floor((checkType - 1) / 3);
  let block = 12;
  for (let i = 0; i < count; i++) {
    let unpadded: number;
    let size: number;
    [unpadded, at] = readVarint(stream, at);
    [size, at] = readVarint(stream, at);
    const lzma2 = lzma2Data(stream, block, indexAt);
    if (lzma2.end - block + checkSize !== unpadded) throw new Error('not one .xz stream (a block is not as long as its index says)');
    // What its chunks hold, as the index says: xz then writes no more of a member than that.
    if (lzma2.size !== size) throw new Error('not one .xz stream (a block holds other than its index says)');
    block += storedSize(unpadded);
    total += size;
  }
  if (block !== indexAt) throw new Error('not one .xz stream (its index does not account for what is before it)');
  return total;
}

/**
 * Where the LZMA2 data of the xz block at `block` ends (after its end marker), and how many bytes
 * it decompresses to, from its chunks' headers (the LZMA2 format: a stored chunk 0x01/0x02 and
 * its 16-bit size, an LZMA chunk 0x80-0xff, its sizes and, from 0xc0, a properties byte); nothing
 * is decompressed. A filter before LZMA2 (x86, delta) keeps the size.
 */
function lzma2Data(stream: Buffer, block: number, limit: number): { end: number; size: number } {
  if (block >= limit || stream[block] === 0) throw new Error('not one .xz stream (no block where its index puts one)');
  let at = block + (stream[block] + 1) * 4;
  let size = 0;
  for (;;) {
    if (at >= limit) throw new Error('not one .xz stream (a block runs into its index)');
    const control = stream[at];
    if (control === 0x00) return { end: at + 1, size };
    if (at + 3 > limit) throw new Error('not one .xz stream (a block runs into its index)');
    const chunk = stream.readUInt16BE(at + 1) + 1;
    if (control === 0x01 || control === 0x02) {
      size += chunk;
      at += 3 + chunk;
    } else if (control >= 0x80) {
      if (at + 5 > limit) throw new Error('not one .xz stream (a block runs into its index)');
      size += (control & 0x1f) * 0x10000 + chunk;
      at += (control >= 0xc0 ? 6 : 5) + stream.readUInt16BE(at + 3) + 1;
    } else throw new Error(`not one .xz stream (LZMA2 chunk 0x${control.toString(16)})`);
  }
}

/** A tar entry's name as extracted: without empty and "." parts, or a leading "/". */
function tarPath(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

/** The most an extended header (a GNU long name, a pax header) of a control member may hold: a name, not megabytes. */
const MAX_EXTENDED_HEADER = 64 * 1024;

/** pax keys that only describe an entry (times, owners, attributes): what GNU tar does with the rest (size, path, sparse maps) changes what is extracted. */
const DESCRIBING_PAX_KEY = /^(mtime|atime|ctime|uid|gid|uname|gname|comment|linkpath|(SCHILY|LIBARCHIVE)\.xattr\..+)$/;

/** A pax header's records, "LENGTH KEY=VALUE\n" each, read by their lengths as tar reads them. */
function paxRecords(data: Buffer): [string, string][] {
  const records: [string, string][] = [];
  for (let at = 0; at < data.length && data[at] !== 0; ) {
    const space = data.indexOf(0x20, at);
    const length = space > at ? Number(data.subarray(at, space).toString('latin1')) : NaN;
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > data.length || data[at + length - 1] !== 0x0a) throw new DebFormatError(`a pax header record at byte ${at} is not "LENGTH KEY=VALUE"`);
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw new DebFormatError(`a pax header record at byte ${at} has no KEY=`);
    records.push([record.slice(0, eq), record.slice(eq + 1)]);
    at += length;
  }
  return records;
}

/**
 * A file's content from a tar archive (ustar, GNU or pax), by name ("./control" or "control"),
 * read as GNU tar (what dpkg-deb extracts it with) reads it, or refused where the two could
 * differ: one extended header at most before an entry (a GNU long name, or a pax header that
 * may name it and describe it, but nothing else: a pax size would make tar read the entries
 * after it otherwise); no pax global or Solaris header; a name's prefix
 * field counts only in a POSIX header ("ustar\0"; in a GNU one those bytes are a time); an
 * extended header of at most 64 KiB. An archive naming the file twice, or as other than a
 * regular file, is refused: dpkg, which extracts it, reads the last, and the archive would judge
 * the package by a control dpkg never uses.
 */
export function tarFile(tar: Buffer, wanted: string): Buffer | undefined {
  // As tar writes it out: "./control", "././control", ".//control" and "/control" are one file.
  const bare = tarPath(wanted);
  let longName: string | undefined;
  let extended = 0;
  let found: Buffer | undefined;
  let seen = false;
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, len: number) => header.subarray(from, from + len).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    if (!(size >= 0) || at + 512 + size > tar.length) throw new DebFormatError(`a tar cut short: its entry at byte ${at} needs ${size} bytes, ${Math.max(0, tar.length - at - 512)} follow`);
    const data = tar.subarray(at + 512, at + 512 + size);
    if (['L', 'K', 'x', 'g'].includes(type) && size > MAX_EXTENDED_HEADER) throw new DebFormatError(`an extended tar header of ${size} bytes at byte ${at}; at most ${MAX_EXTENDED_HEADER}`);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'g') throw new DebFormatError('a pax global header in its control member (dpkg-deb writes none)');
    // Solaris' extended header, which GNU tar reads as pax; and more than one extended header
    // before an entry, which GNU tar weighs otherwise than in order (the last pax header alone,
    // its path over a long name).
    if (type === 'X') throw new DebFormatError('a Solaris extended header (type X) in its control member (dpkg-deb writes none)');
    if (['L', 'K', 'x'].includes(type) && ++extended > 1) throw new DebFormatError(`more than one extended header before an entry of its control member, at byte ${at - 512 - Math.ceil(size / 512) * 512}`);
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'K') continue;
    if (type === 'x') {
      for (const [key, value] of paxRecords(data)) {
        if (key === 'path') longName = value;
        else if (!DESCRIBING_PAX_KEY.test(key)) throw new DebFormatError(`a pax header with ${key.slice(0, 40)}= in its control member (tar would apply it; refused)`);
      }
      continue;
    }
    extended = 0;
    const posix = header.subarray(257, 263).equals(Buffer.from('ustar\0', 'latin1'));
    const prefix = posix ? field(345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if (tarPath(name) !== bare) continue;
    if (seen) throw new DebFormatError(`its control member holds ${bare} twice (dpkg would read the last)`);
    if (type !== '0' && type !== '\0') throw new DebFormatError(`its control member holds ${bare} as other than a regular file (tar type ${JSON.stringify(type)})`);
    seen = true;
    found = data;
  }
  return found;
}
