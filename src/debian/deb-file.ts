// Reading a .deb's control member without dpkg-deb: a .deb is an ar archive holding
// debian-binary, control.tar[.gz|.xz|.zst] and data.tar.* (deb(5)). Reading 10,000 controls
// with one dpkg-deb process each costs minutes; this finds the member, and the caller
// decompresses many at once. Pure: bytes in, values out.

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

/** xz's variable-length integer (xz file format 1.2.0, section 1.2). */
function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    const byte = buf[at + i];
    if (byte === undefined) throw new Error('truncated xz index');
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) return [value, at + i + 1];
  }
  throw new Error('broken xz index');
}

/**
 * The uncompressed size of one .xz stream, from its index (xz format sections 2.1.2.2 and 4):
 * lets many streams be decompressed by one `xz -dc` and the output split again.
 */
export function xzUncompressedSize(stream: Buffer): number {
  let end = stream.length;
  while (end >= 4 && stream.readUInt32LE(end - 4) === 0) end -= 4; // stream padding
  if (end < 24 || stream.subarray(end - 2, end).toString('latin1') !== 'YZ') throw new Error('not a complete .xz stream (no footer)');
  const backwardSize = (stream.readUInt32LE(end - 8) + 1) * 4;
  let at = end - 12 - backwardSize;
  if (at < 12 || stream[at] !== 0) throw new Error('broken xz index');
  let count: number;
  [count, at] = readVarint(stream, at + 1);
  let total = 0;
  for (let i = 0; i < count; i++) {
    let size: number;
    [, at] = readVarint(stream, at); // unpadded size
    [size, at] = readVarint(stream, at);
    total += size;
  }
  return total;
}

/** A file's content from a tar archive (ustar or GNU), by name ("./control" or "control"). */
export function tarFile(tar: Buffer, wanted: string): Buffer | undefined {
  const bare = wanted.replace(/^\.\//, '');
  let longName: string | undefined;
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) return undefined;
    const field = (from: number, len: number) => header.subarray(from, from + len).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const data = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    const prefix = field(257, 6).startsWith('ustar') ? field(345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if (name.replace(/^\.\//, '') === bare && (type === '0' || type === '\0')) return data;
  }
  return undefined;
}
