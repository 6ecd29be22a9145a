// The armored signature of a clear-signed .changes or .dsc, checked before gpgv reads it. gpgv
// parses whatever packets the block holds, and inflates a compressed one: a signature packet
// followed by a bzip2-compressed packet of zeros, 5 KB in the armor, is 4 GiB for gpgv to inflate
// (10 s of its time; the 4 MiB a .changes may have, hours), in the queue's one lane, before it
// says anything. A clear signature holds signature packets (RFC 4880 5.2) and nothing else, a
// few hundred bytes each: the block is taken apart here, as gpgv would, and anything else refused.
import { packetHeader } from './openpgp-packets.js';

/** The most a signature block may hold, in bytes of packets: a signature by an RSA key of 16384 bits, with room to spare. */
export const MAX_SIGNATURE_BLOCK_BYTES = 16 * 1024;

/** Names of the packet tags (RFC 4880 4.3, RFC 9580 5), for a reason. */
const PACKET_NAMES: Record<number, string> = {
  1: 'public-key encrypted session key', 3: 'symmetric-key encrypted session key', 4: 'one-pass signature', 5: 'secret key',
  6: 'public key', 7: 'secret subkey', 8: 'compressed data', 9: 'symmetrically encrypted data', 10: 'marker', 11: 'literal data',
  12: 'trust', 13: 'user id', 14: 'public subkey', 17: 'user attribute', 18: 'encrypted and integrity protected data',
  19: 'modification detection code', 20: 'AEAD encrypted data', 21: 'padding',
};

/** An armor header line (RFC 4880 6.2): "Key: value" ("Version: GnuPG v1", "Comment: ..."). */
const ARMOR_HEADER = /^[A-Za-z0-9-]+:(?: |$)/;
/** A line of radix-64 data; padding only at the end of the last. */
const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;
/** The checksum line: "=" and the CRC-24 in four radix-64 characters. */
const CRC_LINE = /^=[A-Za-z0-9+/]{4}$/;

/**
 * Why the lines of an armored signature block (between "-----BEGIN PGP SIGNATURE-----" and
 * "-----END PGP SIGNATURE-----", as unwrapSigned gives them) are not given to gpgv, or
 * undefined when they hold only signature packets, at most MAX_SIGNATURE_BLOCK_BYTES of them.
 * Strict where gpg is lenient (it skips characters that are not radix-64): what is read here
 * is then exactly what gpgv reads, and gpg never writes a block that is refused.
 */
export function signatureBlockProblem(block: string[]): string | undefined {
  const lines = block.map((l) => l.trimEnd());
  const blank = lines.findIndex((l) => l === '');
  if (blank < 0) return 'the signature block has no blank line after its armor headers; expected one, as gpg writes it (RFC 4880 6.2)';
  const header = lines.slice(0, blank).findIndex((l) => !ARMOR_HEADER.test(l));
  if (header >= 0) return `line ${header + 1} of the signature block is not an armor header ("Key: value"); expected headers, then a blank line, then radix-64 data`;
  const data = lines.slice(blank + 1);
  while (data.length > 0 && data[data.length - 1] === '') data.pop();
  if (data.length > 0 && CRC_LINE.test(data[data.length - 1])) data.pop();
  if (data.length === 0) return 'the signature block holds no data; expected a signature packet in radix-64';
  const odd = data.findIndex((l, i) => !BASE64_LINE.test(l) || (l.endsWith('=') && i < data.length - 1));
  if (odd >= 0) return `line ${blank + 2 + odd} of the signature block is not radix-64 data; expected lines of A-Z, a-z, 0-9, + and /, "=" only to pad the last, then an optional =CRC line`;
  const text = data.join('');
  if (text.length % 4 !== 0) return `the signature block's radix-64 data is ${text.length} characters long, not a multiple of 4; expected it padded with "=", as gpg writes it`;
  // Counted before it is decoded: the text of a .changes may be megabytes.
  const bytes = (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
  if (bytes > MAX_SIGNATURE_BLOCK_BYTES) return `the signature block holds ${bytes} bytes of packets; a signature has at most ${MAX_SIGNATURE_BLOCK_BYTES}`;
  return packetProblem(Buffer.from(text, 'base64'));
}

/** Why the packets are not signature packets only (each whole), or undefined. */
function packetProblem(data: Buffer): string | undefined {
  for (let n = 1, at = 0; at < data.length; n++) {
    const h = packetHeader(data, at);
    if ('problem' in h && h.problem === 'not-a-packet') return `packet ${n} of the signature block does not start with a packet header (byte 0x${data[at].toString(16).padStart(2, '0')}); expected signature packets only`;
    if (h.tag !== 2) return `packet ${n} of the signature block is a ${PACKET_NAMES[h.tag!] ?? 'unknown'} packet (tag ${h.tag}); expected signature packets (tag 2) only`;
    if ('problem' in h) {
      if (h.problem === 'partial') return `packet ${n} of the signature block has a partial body length; expected signature packets, of one length each`;
      if (h.problem === 'indeterminate') return `packet ${n} of the signature block has an indeterminate length; expected signature packets, of one length each`;
      return `packet ${n} of the signature block runs past its end; expected whole signature packets`;
    }
    at += h.headLength + h.length;
  }
  return undefined;
}
