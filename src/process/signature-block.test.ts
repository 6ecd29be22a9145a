import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unwrapSigned } from '../debian/deb822.js';
import { MAX_SIGNATURE_BLOCK_BYTES, signatureBlockProblem } from './signature-block.js';

// A real clear signature (gpg 2.2, an Ed25519 key) and its one signature packet.
const SIGNED = readFileSync(join(import.meta.dirname, '..', 'debian', 'fixtures', 'aib-hello_1.0-1.signed.dsc'), 'utf8');
const BLOCK = unwrapSigned(SIGNED).signature!;
const PACKET = Buffer.from(BLOCK.slice(1, -1).join(''), 'base64');

/** The lines of an armored block holding `data` (the checksum line is not checked, so any will do). */
const armor = (data: Buffer, headers: string[] = []) => [...headers, '', ...data.toString('base64').match(/.{1,64}/g)!, '=AAAA'];
/** A new-format packet of `tag` with a one-octet length. */
const packet = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([0xc0 | tag, body.length]), body]);
/** A bzip2-compressed data packet (tag 8, algorithm 3), its stream only begun: refused before anything inflates it. */
const BZIP2 = packet(8, Buffer.concat([Buffer.from([3]), Buffer.from('BZh91AY&SY')]));

describe('the signature block given to gpgv', () => {
  it('takes the block gpg writes: a signature packet, with or without armor headers, blanks at line ends allowed', () => {
    // Old format, tag 2, a one-octet length: the whole block.
    expect([PACKET[0], PACKET.length]).toEqual([0x88, 2 + PACKET[1]]);
    expect(signatureBlockProblem(BLOCK)).toBeUndefined();
    expect(signatureBlockProblem(armor(PACKET, ['Version: GnuPG v1', 'Comment: made for a test']))).toBeUndefined();
    // gpg --comment ' ' writes "Comment:  ", its value blank.
    expect(signatureBlockProblem(armor(PACKET, ['Comment:  ']))).toBeUndefined();
    expect(signatureBlockProblem(BLOCK.map((l) => `${l} \t`))).toBeUndefined();
    // Two signatures (refused later, by gpgv's verdict: exactly one is expected), no checksum line.
    expect(signatureBlockProblem(armor(Buffer.concat([PACKET, PACKET])).slice(0, -1))).toBeUndefined();
  });

  it.each([
    ['a compressed data packet after the signature (a bzip2 bomb)', armor(Buffer.concat([PACKET, BZIP2])), 'packet 2 of the signature block is a compressed data packet (tag 8); expected signature packets (tag 2) only'],
    ['an old-format compressed packet of indeterminate length', armor(Buffer.concat([PACKET, Buffer.from([0xa3, 3]), Buffer.from('BZh9')])), 'packet 2 of the signature block is a compressed data packet (tag 8); expected signature packets (tag 2) only'],
    ['a literal data packet alone', armor(packet(11, Buffer.from('b\0\0\0\0\0hello'))), 'packet 1 of the signature block is a literal data packet (tag 11); expected signature packets (tag 2) only'],
    ['a signature packet of partial body length', armor(Buffer.from([0xc2, 0xe1, 1, 2])), 'packet 1 of the signature block has a partial body length; expected signature packets, of one length each'],
    ['a signature packet of indeterminate length', armor(Buffer.concat([Buffer.from([0x8b]), PACKET])), 'packet 1 of the signature block has an indeterminate length; expected signature packets, of one length each'],
    ['a signature packet cut short', armor(PACKET.subarray(0, PACKET.length - 1)), 'packet 1 of the signature block runs past its end; expected whole signature packets'],
    ['a signature packet whose length octets are cut', armor(Buffer.concat([PACKET, Buffer.from([0xc2, 0xff, 0])])), 'packet 2 of the signature block runs past its end; expected whole signature packets'],
    ['a byte that begins no packet', armor(Buffer.concat([PACKET, Buffer.from([0x00])])), 'packet 2 of the signature block does not start with a packet header (byte 0x00); expected signature packets only'],
  ])('refuses %s, unread by gpgv', (_name, block, problem) => {
    expect(signatureBlockProblem(block)).toBe(problem);
  });

  it(`refuses more than ${MAX_SIGNATURE_BLOCK_BYTES} bytes of signature packets, counted before they are decoded`, () => {
    const many = Buffer.concat(Array.from({ length: Math.ceil(MAX_SIGNATURE_BLOCK_BYTES / PACKET.length) + 1 }, () => PACKET));
    expect(signatureBlockProblem(armor(many))).toBe(`the signature block holds ${many.length} bytes of packets; a signature has at most ${MAX_SIGNATURE_BLOCK_BYTES}`);
    // One of 4 MiB: a single signature packet with a five-octet length.
    const huge = Buffer.concat([Buffer.from([0xc2, 0xff, 0, 0x40, 0, 0]), Buffer.alloc(4 * 1024 * 1024)]);
    expect(signatureBlockProblem(armor(huge))).toMatch(/^the signature block holds 4194310 bytes of packets/);
  });

  it.each([
    ['no blank line after the armor headers', BLOCK.slice(1), 'the signature block has no blank line after its armor headers; expected one, as gpg writes it (RFC 4880 6.2)'],
    ['a line that is not an armor header before the blank line', ['Version: 1', 'garbage', ...BLOCK], 'line 2 of the signature block is not an armor header ("Key: value"); expected headers, then a blank line, then radix-64 data'],
    ['a character gpg would skip', ['', `${BLOCK[1].slice(0, 10)}*${BLOCK[1].slice(10)}`, ...BLOCK.slice(2)], 'line 2 of the signature block is not radix-64 data; expected lines of A-Z, a-z, 0-9, + and /, "=" only to pad the last, then an optional =CRC line'],
    ['padding before the last line', ['', 'AAAA==', ...BLOCK.slice(1)], 'line 2 of the signature block is not radix-64 data; expected lines of A-Z, a-z, 0-9, + and /, "=" only to pad the last, then an optional =CRC line'],
    ['data not padded to a multiple of 4', ['', 'AAAAA'], 'the signature block\'s radix-64 data is 5 characters long, not a multiple of 4; expected it padded with "=", as gpg writes it'],
    ['no data', ['', '=AAAA'], 'the signature block holds no data; expected a signature packet in radix-64'],
  ])('refuses a block with %s', (_name, block, problem) => {
    expect(signatureBlockProblem(block)).toBe(problem);
  });
});
