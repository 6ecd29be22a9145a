// OpenPGP packet headers (RFC 4880 4.2): the one reading of them, for the archive key's packets
// (openpgp-sign.ts) and an uploader's signature block (signature-block.ts).

export type PacketHeader =
  | { tag: number; headLength: number; length: number }
  /** Not a packet header; a partial or indeterminate length (data packets' only); a header or body past the data's end. */
  | { problem: 'not-a-packet' | 'partial' | 'indeterminate' | 'past-end'; tag?: number };

/** The header of the packet at `at` in `data`, its body within the data; or what is wrong with it. */
export function packetHeader(data: Buffer, at: number): PacketHeader {
  const head = data[at];
  if (head === undefined || !(head & 0x80)) return { problem: 'not-a-packet' };
  let tag: number;
  let headLength: number;
  let length: number;
  if (head & 0x40) {
    // New format (4.2.2): the tag in six bits; a length of one, two or five octets; 224-254 a
    // partial body length, for data packets only (4.2.2.4).
    tag = head & 0x3f;
    const o1 = data[at + 1];
    if (o1 >= 224 && o1 < 255) return { problem: 'partial', tag };
    headLength = o1 === undefined || o1 < 192 ? 2 : o1 < 224 ? 3 : 6;
    if (at + headLength > data.length) return { problem: 'past-end', tag };
    length = headLength === 2 ? o1 : headLength === 3 ? ((o1 - 192) << 8) + data[at + 2] + 192 : data.readUInt32BE(at + 2);
  } else {
    // Old format (4.2.1): the tag in four bits, the length's size in two: one, two or four
    // octets, or none: indeterminate, to the end of the data.
    tag = (head >> 2) & 0x0f;
    if ((head & 3) === 3) return { problem: 'indeterminate', tag };
    headLength = 1 + [1, 2, 4][head & 3];
    if (at + headLength > data.length) return { problem: 'past-end', tag };
    length = data.readUIntBE(at + 1, headLength - 1);
  }
  if (at + headLength + length > data.length) return { problem: 'past-end', tag };
  return { tag, headLength, length };
}
