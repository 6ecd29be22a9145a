import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateArchiveKey, listKeys, parseKeyListing, secretKeyFingerprint, signatureVerdict, verifyClearsignedBytes } from './gpg.js';

// A fingerprint for the key-listing case.
const FPR = '0123456789ABCDEF0123456789ABCDEF01234567';

// The status lines of one good signature by the Good key, which several runs below begin with.
const GOOD_SIG = [
  '[GNUPG:] NEWSIG',
  '[GNUPG:] KEY_CONSIDERED 19957C957D6D9493139D1B05540C3B5278EF0D57 0',
  '[GNUPG:] SIG_ID vN6euGVRrl4Shzz8uUz7KzK3iD8 2026-11-30 1796078433',
  '[GNUPG:] KEY_CONSIDERED 19957C957D6D9493139D1B05540C3B5278EF0D57 0',
  '[GNUPG:] GOODSIG 540C3B5278EF0D57 Good <good@example.org>',
  '[GNUPG:] VALIDSIG 19957C957D6D9493139D1B05540C3B5278EF0D57 2026-11-30 1796078433 0 4 0 22 8 01 19957C957D6D9493139D1B05540C3B5278EF0D57',
];
const GOOD_STDERR = 'gpgv:                using EDDSA key 19957C957D6D9493139D1B05540C3B5278EF0D57\ngpgv: Good signature from "Good <good@example.org>"';

// Transcripts of real gpgv 2.2.40 runs (--status-fd 1) on test keys: the status lines, the exit
// code and the end of stderr. Made by signing one .changes-like text with throwaway keys; gpgv
// 2.4.7, the queue image's, gives the same verdicts on the same files.
const GPGV: Record<string, { exitCode: number; status: string[]; stderr: string }> = {
  good: {
    exitCode: 0,
    status: GOOD_SIG,
    stderr: GOOD_STDERR,
  },
  subkey: {
    exitCode: 0,
    status: [
      '[GNUPG:] NEWSIG',
      '[GNUPG:] KEY_CONSIDERED C2F5F53114B565C0D86E6234ADE986872491D913 0',
      '[GNUPG:] SIG_ID L2nBGhBQ6D84LzI9YYuR18CbcHU 2026-11-30 1796078433',
      '[GNUPG:] KEY_CONSIDERED C2F5F53114B565C0D86E6234ADE986872491D913 0',
      '[GNUPG:] GOODSIG 0EA194A055E4823C Sub <sub@example.org>',
      '[GNUPG:] VALIDSIG 64619A8C6E065EE2BECC28F20EA194A055E4823C 2026-11-30 1796078433 0 4 0 22 8 01 C2F5F53114B565C0D86E6234ADE986872491D913',
    ],
    stderr: 'gpgv:                using EDDSA key 64619A8C6E065EE2BECC28F20EA194A055E4823C\ngpgv: Good signature from "Sub <sub@example.org>"',
  },
  'msub-good': {
    exitCode: 0,
    status: [
      '[GNUPG:] NEWSIG',
      '[GNUPG:] KEYEXPIRED 1577923200',
      '[GNUPG:] KEY_CONSIDERED 78CC6C4BB395DA14C3B151246739035F95FBF6D9 0',
      '[GNUPG:] SIG_ID 5DYtewgtkKGgYxQmecaarvV/6Wg 2026-11-30 1796078443',
      '[GNUPG:] KEYEXPIRED 1577923200',
      '[GNUPG:] KEY_CONSIDERED 78CC6C4BB395DA14C3B151246739035F95FBF6D9 0',
      '[GNUPG:] GOODSIG 6D6C9D80C7B2B6DF Multi <multi@example.org>',
      '[GNUPG:] VALIDSIG FBC5BEF299B160A3907FA1936D6C9D80C7B2B6DF 2026-11-30 1796078443 0 4 0 22 8 01 78CC6C4BB395DA14C3B151246739035F95FBF6D9',
    ],
    stderr: 'gpgv:                using EDDSA key FBC5BEF299B160A3907FA1936D6C9D80C7B2B6DF\ngpgv: Good signature from "Multi <multi@example.org>"',
  },
  expired: {
    exitCode: 0,
    status: [
      '[GNUPG:] NEWSIG',
      '[GNUPG:] KEY_CONSIDERED 37EE1B2C5E1F7A816A137D9CC76A687DB4E5DCE5 0',
      '[GNUPG:] KEYEXPIRED 1577923200',
      '[GNUPG:] SIG_ID YAfNV2DJ8XELoE5kMfgaGnDjczw 2020-01-01 1577880000',
      '[GNUPG:] KEY_CONSIDERED 37EE1B2C5E1F7A816A137D9CC76A687DB4E5DCE5 0',
      '[GNUPG:] EXPKEYSIG C76A687DB4E5DCE5 Expired <expired@example.org>',
      '[GNUPG:] VALIDSIG 37EE1B2C5E1F7A816A137D9CC76A687DB4E5DCE5 2020-01-01 1577880000 0 4 0 22 8 01 37EE1B2C5E1F7A816A137D9CC76A687DB4E5DCE5',
    ],
    stderr: 'gpgv:                using EDDSA key 37EE1B2C5E1F7A816A137D9CC76A687DB4E5DCE5\ngpgv: Good signature from "Expired <expired@example.org>"',
  },
  revoked: {
    exitCode: 0,
    status: [
      '[GNUPG:] NEWSIG',
      '[GNUPG:] KEY_CONSIDERED D40D2FA0CD092AC92174148A9F0CBE3902442D20 0',
      '[GNUPG:] SIG_ID 3KVbfM1VDiE3yE482JuPIwvgVXg 2026-11-30 1796078433',
      '[GNUPG:] KEY_CONSIDERED D40D2FA0CD092AC92174148A9F0CBE3902442D20 0',
      '[GNUPG:] REVKEYSIG 9F0CBE3902442D20 Revoked <revoked@example.org>',
      '[GNUPG:] VALIDSIG D40D2FA0CD092AC92174148A9F0CBE3902442D20 2026-11-30 1796078433 0 4 0 22 8 01 D40D2FA0CD092AC92174148A9F0CBE3902442D20',
    ],
    stderr: 'gpgv:                using EDDSA key D40D2FA0CD092AC92174148A9F0CBE3902442D20\ngpgv: Good signature from "Revoked <revoked@example.org>"',
  },
  stranger: {
    exitCode: 2,
    status: [
      '[GNUPG:] NEWSIG',
      '[GNUPG:] ERRSIG 65C8DD66A3F99FB8 22 8 01 1796078433 9 53805EE1D5D64EAB673D2F3F65C8DD66A3F99FB8',
      '[GNUPG:] NO_PUBKEY 65C8DD66A3F99FB8',
    ],
    stderr: "gpgv:                using EDDSA key 53805EE1D5D64EAB673D2F3F65C8DD66A3F99FB8\ngpgv: Can't check signature: No public key",
  },
  two: {
    exitCode: 0,
    status: [
      ...GOOD_SIG,
      '[GNUPG:] NEWSIG',
      '[GNUPG:] KEY_CONSIDERED 5DD12BAA8F7D5B7A9241C8E55C9FD5D63D67CB04 0',
      '[GNUPG:] SIG_ID pecs3YBnBzqROMBJMvpUTdZ8B2o 2026-11-30 1796078433',
      '[GNUPG:] KEY_CONSIDERED 5DD12BAA8F7D5B7A9241C8E55C9FD5D63D67CB04 0',
      '[GNUPG:] GOODSIG 5C9FD5D63D67CB04 Other <other@example.org>',
      '[GNUPG:] VALIDSIG 5DD12BAA8F7D5B7A9241C8E55C9FD5D63D67CB04 2026-11-30 1796078433 0 4 0 22 8 01 5DD12BAA8F7D5B7A9241C8E55C9FD5D63D67CB04',
    ],
    stderr: 'gpgv:                using EDDSA key 5DD12BAA8F7D5B7A9241C8E55C9FD5D63D67CB04\ngpgv: Good signature from "Other <other@example.org>"',
  },
  'good-then-stranger': {
    exitCode: 2,
    status: [
      ...GOOD_SIG,
      '[GNUPG:] ERROR proc_pkt.plaintext 89_BAD_DATA',
    ],
    stderr: 'gpgv: WARNING: multiple plaintexts seen\ngpgv: handle plaintext failed: Unexpected error',
  },
  'after-sigblock': {
    exitCode: 2,
    status: GOOD_SIG,
    stderr: GOOD_STDERR,
  },
  'msub-expired': {
    exitCode: 0,
    status: [
      '[GNUPG:] NEWSIG',
      '[GNUPG:] KEYEXPIRED 1577923200',
      '[GNUPG:] KEY_CONSIDERED 78CC6C4BB395DA14C3B151246739035F95FBF6D9 0',
      '[GNUPG:] KEYEXPIRED 1577923200',
      '[GNUPG:] SIG_ID q2WuMe32OWUmwWsE7FJBU50ILhQ 2020-01-01 1577880000',
      '[GNUPG:] KEYEXPIRED 1577923200',
      '[GNUPG:] KEY_CONSIDERED 78CC6C4BB395DA14C3B151246739035F95FBF6D9 0',
      '[GNUPG:] EXPKEYSIG E0EA1C7E9E17232D Multi <multi@example.org>',
      '[GNUPG:] VALIDSIG FC91A4E54A97C08547F7BA41E0EA1C7E9E17232D 2020-01-01 1577880000 0 4 0 22 8 01 78CC6C4BB395DA14C3B151246739035F95FBF6D9',
    ],
    stderr: 'gpgv:                using EDDSA key FC91A4E54A97C08547F7BA41E0EA1C7E9E17232D\ngpgv: Good signature from "Multi <multi@example.org>"',
  },
  'msub-revoked': {
    exitCode: 0,
    status: [
      '[GNUPG:] NEWSIG',
      '[GNUPG:] KEYEXPIRED 1577923200',
      '[GNUPG:] KEY_CONSIDERED 78CC6C4BB395DA14C3B151246739035F95FBF6D9 0',
      '[GNUPG:] SIG_ID ID4nAMOPgL4xcwEeGH08vJNb0ao 2026-11-30 1796078443',
      '[GNUPG:] KEYEXPIRED 1577923200',
      '[GNUPG:] KEY_CONSIDERED 78CC6C4BB395DA14C3B151246739035F95FBF6D9 0',
      '[GNUPG:] REVKEYSIG C30B36BE0AAC02C6 Multi <multi@example.org>',
      '[GNUPG:] VALIDSIG E9681A51AAB9FFE9CCD54EF8C30B36BE0AAC02C6 2026-11-30 1796078443 0 4 0 22 8 01 78CC6C4BB395DA14C3B151246739035F95FBF6D9',
    ],
    stderr: 'gpgv:                using EDDSA key E9681A51AAB9FFE9CCD54EF8C30B36BE0AAC02C6\ngpgv: Good signature from "Multi <multi@example.org>"',
  },
  bad: {
    exitCode: 1,
    status: [
      '[GNUPG:] NEWSIG',
      '[GNUPG:] KEY_CONSIDERED 19957C957D6D9493139D1B05540C3B5278EF0D57 0',
      '[GNUPG:] KEY_CONSIDERED 19957C957D6D9493139D1B05540C3B5278EF0D57 0',
      '[GNUPG:] BADSIG 540C3B5278EF0D57 Good <good@example.org>',
    ],
    stderr: 'gpgv:                using EDDSA key 19957C957D6D9493139D1B05540C3B5278EF0D57\ngpgv: BAD signature from "Good <good@example.org>"',
  },
  'expired-signature': {
    exitCode: 1,
    status: [
      '[GNUPG:] NEWSIG',
      '[GNUPG:] KEY_CONSIDERED C4DB9E0D2B30D31546DB1CBBD1ED578AEE8E9B46 0',
      '[GNUPG:] SIG_ID znveGklwOHkmSD47+4PHifAVCeg 2020-01-02 1577923200',
      '[GNUPG:] KEY_CONSIDERED C4DB9E0D2B30D31546DB1CBBD1ED578AEE8E9B46 0',
      '[GNUPG:] EXPSIG D1ED578AEE8E9B46 Old <old@example.org>',
      '[GNUPG:] VALIDSIG C4DB9E0D2B30D31546DB1CBBD1ED578AEE8E9B46 2020-01-02 1577923200 1578009600 4 0 22 8 01 C4DB9E0D2B30D31546DB1CBBD1ED578AEE8E9B46',
    ],
    stderr: 'gpgv: Expired signature from "Old <old@example.org>"\ngpgv: Signature expired Fri Jan  3 00:00:00 2020 UTC',
  },
};

function verdictOf(name: string) {
  const run = GPGV[name];
  return signatureVerdict(run.status.join('\n') + '\n', run.exitCode, run.stderr);
}

describe('the verdict on a real gpgv run', () => {
  it('is good for one good signature, naming the primary key and its user id', () => {
    expect(verdictOf('good')).toEqual({ state: 'good', fingerprint: '19957C957D6D9493139D1B05540C3B5278EF0D57', uid: 'Good <good@example.org>' });
  });

  it('names the primary key, not the subkey, when a signing subkey signed (VALIDSIG\'s last field)', () => {
    expect(verdictOf('subkey')).toMatchObject({ state: 'good', fingerprint: 'C2F5F53114B565C0D86E6234ADE986872491D913' });
  });

  it('is good when another subkey of the signing key has expired or been revoked (KEYEXPIRED is about any subkey)', () => {
    expect(verdictOf('msub-good')).toMatchObject({ state: 'good', fingerprint: '78CC6C4BB395DA14C3B151246739035F95FBF6D9' });
  });

  it.each([
    ['expired', 'expired-key', 'a primary key that has expired'],
    ['msub-expired', 'expired-key', 'a signing subkey that has expired'],
    ['revoked', 'revoked-key', 'a revoked primary key'],
    ['msub-revoked', 'revoked-key', 'a revoked signing subkey'],
    ['stranger', 'unknown-key', 'a key that is not in the keyring'],
    ['bad', 'bad', 'a text changed after signing'],
  ])('rejects a signature by %s (%s): %s', (name, state) => {
    expect(verdictOf(name).state).toBe(state);
  });

  it('rejects a signature that itself has expired (EXPSIG), saying so', () => {
    expect(verdictOf('expired-signature')).toEqual({ state: 'error', detail: 'the signature itself has expired (EXPSIG D1ED578AEE8E9B46 Old <old@example.org>)' });
  });

  it('rejects two good signatures in one block: exactly one is expected', () => {
    expect(verdictOf('two')).toEqual({ state: 'error', detail: '2 signatures; exactly one is expected' });
  });

  it('rejects a good signature followed by a second signed message (gpgv says ERROR and exits 2)', () => {
    expect(verdictOf('good-then-stranger')).toMatchObject({ state: 'error', detail: expect.stringContaining('multiple plaintexts') });
  });

  it.each([
    ['1', 'MD5'],
    ['2', 'SHA-1'],
    ['3', 'RIPEMD-160'],
  ])('rejects a good signature made over a weak digest (VALIDSIG hash algorithm %s, %s), as apt does, saying which', (algorithm, digest) => {
    // gpgv 2.2.40's lines for an EdDSA signature made with gpg --digest-algo SHA1 (or RIPEMD160): GOODSIG, exit 0.
    const status = [...GOOD_SIG.slice(0, -1), GOOD_SIG.at(-1)!.replace(' 22 8 01 ', ` 22 ${algorithm} 01 `)];
    expect(signatureVerdict(status.join('\n') + '\n', 0, GOOD_STDERR)).toEqual({
      state: 'error',
      detail: `made over a ${digest} digest (OpenPGP hash algorithm ${algorithm}), which is too weak and not accepted (apt does not accept it either); sign with SHA-256 or stronger (gpg's default; --digest-algo SHA512)`,
    });
  });

  it('rejects a good signature when gpgv exits non-zero without an ERROR line (garbage after the signature)', () => {
    expect(verdictOf('after-sigblock')).toMatchObject({ state: 'error', detail: expect.stringContaining('gpgv exited with 2') });
  });
});

describe('gpgv verdicts', () => {
  it('says what gpgv printed when it gave no verdict', () => {
    expect(signatureVerdict('', 2, 'gpgv: keyblock resource: No such file')).toEqual({ state: 'error', detail: 'gpgv exited with 2; gpgv: keyblock resource: No such file' });
  });

  it('lists keys with fingerprint, user ids, expiry and revocation', () => {
    const colons = [
      'pub:r:255:22:89ABCDEF01234567:1764000000:1795536000::-:::sc:::::ed25519:::0:',
      `fpr:::::::::${FPR}:`,
      'uid:r::::1764000000::HASH::Alice <a@example.org>::::::::::0:',
      'sub:r:255:18:1111111111111111:1764000000::::::e:::::cv25519::',
      'fpr:::::::::2222222222222222222222222222222222222222:',
    ].join('\n');
    expect(parseKeyListing(colons)).toEqual([
      { fingerprint: FPR, uids: ['Alice <a@example.org>'], created: '2025-11-24T16:00:00.000Z', expires: '2026-11-24T16:00:00.000Z', revoked: true, expired: false },
    ]);
  });
});

// gpg itself: where it is installed (in CI, and on any machine that runs the archive).
describe.runIf(spawnSync('gpg', ['--version']).status === 0 || !!process.env.CI)("the archive key's fingerprint, for archive doctor", () => {
  it('is read from the secret key as from the public one, to tell whether clients are given the key the archive signs with', async () => {
    const key = await generateArchiveKey('doctor test <t@localhost>', '1y');
    expect(await secretKeyFingerprint(Buffer.from(key.secretArmored))).toBe(key.fingerprint);
    expect((await listKeys(Buffer.from(key.publicArmored)))[0].fingerprint).toBe(key.fingerprint);
  }, 60_000);
});

describe('verifyClearsignedBytes, before and around gpgv', () => {
  // A gpgv of this test's own, first on PATH: it leaves a mark that it ran, then never ends.
  const bin = mkdtempSync(join(tmpdir(), 'aib-fake-gpgv-'));
  const ran = join(bin, 'ran');
  const path = process.env.PATH;
  const signed = readFileSync(join(import.meta.dirname, '..', 'debian', 'fixtures', 'aib-hello_1.0-1.signed.dsc'), 'utf8');
  beforeAll(() => {
    writeFileSync(join(bin, 'gpgv'), `#!/bin/sh\ntouch '${ran}'\nexec sleep 60\n`);
    chmodSync(join(bin, 'gpgv'), 0o755);
    process.env.PATH = `${bin}:${path}`;
  });
  afterAll(() => {
    process.env.PATH = path;
    rmSync(bin, { recursive: true, force: true });
  });

  it('never gives gpgv a signature block holding more than signature packets (a compressed packet of zeros, inflated, would hold the queue)', async () => {
    // A bzip2-compressed data packet (tag 8, algorithm 3) after the signature, the armor's lines kept 64 long.
    const [head, rest] = signed.split('-----BEGIN PGP SIGNATURE-----\n\n');
    const packets = Buffer.concat([Buffer.from(rest.split('\n=')[0].replaceAll('\n', ''), 'base64'), Buffer.from([0xc8, 11, 3]), Buffer.from('BZh91AY&SY')]);
    const bomb = `${head}-----BEGIN PGP SIGNATURE-----\n\n${packets.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PGP SIGNATURE-----\n`;
    expect(await verifyClearsignedBytes(Buffer.from(bomb), 'x.dsc', join(bin, 'keyring.gpg'))).toEqual({
      state: 'error',
      detail: 'x.dsc: packet 2 of the signature block is a compressed data packet (tag 8); expected signature packets (tag 2) only; not given to gpgv',
    });
    expect(existsSync(ran), 'gpgv was run').toBe(false);
  });

  it('kills a gpgv that runs longer than it is given, and says so', async () => {
    const started = Date.now();
    expect(await verifyClearsignedBytes(Buffer.from(signed), 'x.dsc', join(bin, 'keyring.gpg'), { timeoutMs: 300 })).toEqual({
      state: 'error',
      detail: 'x.dsc: gpgv had not checked the signature after 0.3 s and was killed; a signature is checked in milliseconds',
    });
    expect(existsSync(ran)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
