// OpenPGP signatures (RFC 4880) made in this process with node's crypto, for the key `archive
// init` makes: an RSA signing key without a passphrase and without subkeys. Signing a Release
// this way takes a few milliseconds; two gpg processes (InRelease and Release.gpg) took about
// 70 ms of every publication, half of it the queue's own thread forking them. Any other key
// (a passphrase, a subkey, another algorithm) is gpg's to use: readSigningKey says undefined.
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { packetHeader } from './openpgp-packets.js';

export interface SigningKey {
  /** The v4 fingerprint, upper-case hex, as gpg prints it. */
  fingerprint: string;
  privateKey: KeyObject;
}

/** The body of an armored block (its CRC checked), or undefined when it is not one of `kind`. */
export function dearmor(text: string, kind: string): Buffer | undefined {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const begin = lines.findIndex((l) => l.trimEnd() === `-----BEGIN PGP ${kind}-----`);
  if (begin < 0) return undefined;
  let i = begin + 1;
  while (i < lines.length && lines[i].trim() !== '') i++; // armor headers (Comment: ...)
  const body: string[] = [];
  let crc: string | undefined;
  for (i++; i < lines.length && !lines[i].startsWith('-----END'); i++) {
    if (lines[i].startsWith('=')) crc = lines[i].slice(1).trim();
    else body.push(lines[i].trim());
  }
  if (i >= lines.length) return undefined;
  const data = Buffer.from(body.join(''), 'base64');
  if (crc !== undefined && Buffer.from(crc, 'base64').readUIntBE(0, 3) !== crc24(data)) return undefined;
  return data;
}

/** The packets of an OpenPGP message: tag and body. */
function packets(data: Buffer): { tag: number; body: Buffer }[] {
  const out: { tag: number; body: Buffer }[] = [];
  const why = { 'not-a-packet': 'not an OpenPGP packet', partial: 'partial packet lengths are not used by keys', indeterminate: 'indeterminate packet lengths are not used by keys', 'past-end': 'a packet runs past the end' };
  for (let at = 0; at < data.length; ) {
    const h = packetHeader(data, at);
    if ('problem' in h) throw new Error(why[h.problem]);
    out.push({ tag: h.tag, body: data.subarray(at + h.headLength, at + h.headLength + h.length) });
    at += h.headLength + h.length;
  }
  return out;
}

/** One multiprecision integer at `at`: its bytes and where the next begins. */
function mpi(body: Buffer, at: number): { value: Buffer; next: number } {
  const bits = body.readUInt16BE(at);
  const bytes = (bits + 7) >> 3;
  if (at + 2 + bytes > body.length) throw new Error('an MPI runs past the end');
  return { value: body.subarray(at + 2, at + 2 + bytes), next: at + 2 + bytes };
}

const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
const b64url = (n: bigint) => {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
};

/**
 * The signing key of an armored secret key, when this module can use it: exactly one secret
 * key packet, version 4, RSA, its secret part not encrypted (and its checksum right). Otherwise
 * undefined: gpg signs.
 */
export function readSigningKey(armored: string): SigningKey | undefined {
  let list: { tag: number; body: Buffer }[];
  try {
    const data = dearmor(armored, 'PRIVATE KEY BLOCK');
    if (!data) return undefined;
    list = packets(data);
  } catch {
    return undefined;
  }
  const secret = list.filter((p) => p.tag === 5 || p.tag === 7);
  if (secret.length !== 1 || secret[0].tag !== 5) return undefined;
  const body = secret[0].body;
  // version 4, creation time, algorithm 1 (RSA) or 3 (RSA sign-only)
  if (body[0] !== 4 || (body[5] !== 1 && body[5] !== 3)) return undefined;
  try {
    const n = mpi(body, 6);
    const e = mpi(body, n.next);
    const publicPart = body.subarray(0, e.next);
    if (body[e.next] !== 0) return undefined; // S2K usage: 0 is not encrypted
    const d = mpi(body, e.next + 1);
    const p = mpi(body, d.next);
    const q = mpi(body, p.next);
    const u = mpi(body, q.next);
    let sum = 0;
    for (const byte of body.subarray(e.next + 1, u.next)) sum = (sum + byte) & 0xffff;
    if (u.next + 2 !== body.length || body.readUInt16BE(u.next) !== sum) return undefined;
    const [N, E, D, P, Q] = [n, e, d, p, q].map((m) => big(m.value));
    if (P * Q !== N) return undefined;
    // OpenPGP's u is p⁻¹ mod q; JWK's qi is q⁻¹ mod p: its p is OpenPGP's q and the other way round.
    const privateKey = createPrivateKey({
      format: 'jwk',
      key: { kty: 'RSA', n: b64url(N), e: b64url(E), d: b64url(D), p: b64url(Q), q: b64url(P), dp: b64url(D % (Q - 1n)), dq: b64url(D % (P - 1n)), qi: b64url(big(u.value)) },
    });
    const header = Buffer.alloc(3);
    header[0] = 0x99;
    header.writeUInt16BE(publicPart.length, 1);
    const fingerprint = createHash('sha1').update(header).update(publicPart).digest('hex').toUpperCase();
    return { fingerprint, privateKey };
  } catch {
    return undefined;
  }
}

/**
 * A v4 signature packet (RFC 4880 5.2.3) over `data`: type 0x00 (the bytes as they are) or 0x01
 * (canonical text), SHA-512, with the creation time and the issuer's fingerprint hashed and its
 * key id beside them, as gpg makes them.
 */
function signaturePacket(key: SigningKey, type: 0x00 | 0x01, data: Buffer, created: Date): Buffer {
  const fpr = Buffer.from(key.fingerprint, 'hex');
  const time = Buffer.alloc(4);
  time.writeUInt32BE(Math.floor(created.getTime() / 1000));
  const hashedSub = Buffer.concat([Buffer.from([5, 2]), time, Buffer.from([22, 33, 4]), fpr]);
  const hashed = Buffer.concat([Buffer.from([4, type, 1, 10, hashedSub.length >> 8, hashedSub.length & 0xff]), hashedSub]);
  const trailer = Buffer.alloc(6);
  trailer[0] = 4;
  trailer[1] = 0xff;
  trailer.writeUInt32BE(hashed.length, 2);
  const signed = Buffer.concat([data, hashed, trailer]);
  const digest = createHash('sha512').update(signed).digest();
  let value = sign('sha512', signed, key.privateKey);
  let zeros = 0;
  while (zeros < value.length - 1 && value[zeros] === 0) zeros++;
  value = value.subarray(zeros);
  const bits = value.length * 8 - Math.clz32(value[0]) + 24;
  const unhashed = Buffer.concat([Buffer.from([0, 10, 9, 16]), fpr.subarray(12)]);
  const body = Buffer.concat([hashed, unhashed, digest.subarray(0, 2), Buffer.from([bits >> 8, bits & 0xff]), value]);
  const head = Buffer.from([0x89, body.length >> 8, body.length & 0xff]); // old format, tag 2, two length octets
  return Buffer.concat([head, body]);
}

/** OpenPGP's CRC-24 (RFC 4880 6.1), for the armor's checksum line. */
function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

function armorSignature(packet: Buffer): string {
  const lines = packet.toString('base64').match(/.{1,64}/g)!;
  const crc = Buffer.alloc(3);
  crc.writeUIntBE(crc24(packet), 0, 3);
  return `-----BEGIN PGP SIGNATURE-----\n\n${lines.join('\n')}\n=${crc.toString('base64')}\n-----END PGP SIGNATURE-----\n`;
}

/** A detached, armored signature of the bytes as they are (gpg --armor --detach-sign: Release.gpg). */
export function detachedSignature(key: SigningKey, data: Buffer, created = new Date()): string {
  return armorSignature(signaturePacket(key, 0x00, data, created));
}

/**
 * The text clear-signed (gpg --clearsign: InRelease). The signature covers the lines with their
 * trailing blanks removed, joined by CR LF, without the line break before the signature (RFC
 * 4880 7.1); lines beginning with a dash are escaped.
 */
export function clearsignText(key: SigningKey, text: string, created = new Date()): string {
  const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const canonical = Buffer.from(lines.map((l) => l.replace(/[ \t\r]+$/, '')).join('\r\n'), 'utf8');
  const escaped = lines.map((l) => (l.startsWith('-') ? `- ${l}` : l)).join('\n');
  return `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${escaped}\n${armorSignature(signaturePacket(key, 0x01, canonical, created))}`;
}
