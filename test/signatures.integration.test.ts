// Upload signatures checked by the real gpgv against a real keyring (issue 17): exactly one good
// signature by a key of the keyring, recorded by its primary key, and nothing outside the
// signed text. Keys are made here in a throwaway GNUPGHOME; no Docker.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addKeysToKeyring, verifyClearsigned } from '../src/process/gpg.js';
import { writeFileAtomic } from '../src/storage/json-files.js';
import { makeSourcePackage } from './support/packages.js';

const TEXT = await readFile(join(import.meta.dirname, '..', 'src', 'debian', 'fixtures', 'aib-hello_1.0-1_source.changes'), 'utf8');
const PAST = '20200101T000000!';

let home: string;
let keyring: string;
const signedBy = { revokedSubkey: '', expiredSubkey: '' };
const keys = { good: '', other: '', stranger: '', expired: '', revoked: '', subkeyPrimary: '', subkey: '', expiredSubkey: '', revokedSubkey: '' };

async function gpg(args: string[], fakedTime?: string) {
  return execa('gpg', ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...(fakedTime ? ['--faked-system-time', fakedTime] : []), ...args]);
}

/** The fingerprints of a key: the primary first, then its subkeys in order. */
async function fingerprints(uid: string): Promise<string[]> {
  const { stdout } = await gpg(['--with-colons', '--list-keys', uid]);
  return stdout.split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9]);
}

async function newKey(uid: string, usage: string, expiry: string, fakedTime?: string): Promise<string> {
  await gpg(['--quick-gen-key', uid, 'ed25519', usage, expiry], fakedTime);
  return (await fingerprints(uid))[0];
}

/** Clear-signs the text (by each key given: several make one block with several signatures), over `digest` when given. */
async function clearsign(signers: string[], fakedTime?: string, text = TEXT, digest?: string): Promise<string> {
  const input = join(home, 'input.txt');
  await writeFile(input, text);
  return (await gpg([...signers.flatMap((k) => ['--local-user', k]), ...(digest ? ['--digest-algo', digest] : []), '--clearsign', '--output', '-', input], fakedTime)).stdout + '\n';
}

async function verify(signed: string) {
  const file = join(home, 'aib-hello_1.0-1_source.changes');
  await writeFile(file, signed);
  return verifyClearsigned(file, keyring);
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'aib-sig-'));
  keys.good = await newKey('Good <good@example.org>', 'sign', '1y');
  keys.other = await newKey('Other <other@example.org>', 'sign', '1y');
  keys.stranger = await newKey('Stranger <stranger@example.org>', 'sign', '1y');
  keys.expired = await newKey('Expired <expired@example.org>', 'sign', '1d', PAST);
  keys.revoked = await newKey('Revoked <revoked@example.org>', 'sign', '1y');
  // A certification-only primary key that signs with subkeys: one expired, one valid, one revoked.
  keys.subkeyPrimary = await newKey('Subkeys <subkeys@example.org>', 'cert', 'never', PAST);
  await gpg(['--quick-add-key', keys.subkeyPrimary, 'ed25519', 'sign', '1d'], PAST);
  await gpg(['--quick-add-key', keys.subkeyPrimary, 'ed25519', 'sign', 'never'], '20200101T010000!');
  await gpg(['--quick-add-key', keys.subkeyPrimary, 'ed25519', 'sign', 'never'], '20200101T020000!');
  [, keys.expiredSubkey, keys.subkey, keys.revokedSubkey] = await fingerprints(keys.subkeyPrimary);
  // Made before the subkey is revoked, or while it had not expired: gpgv must still refuse them.
  signedBy.revokedSubkey = await clearsign([`${keys.revokedSubkey}!`]);
  signedBy.expiredSubkey = await clearsign([`${keys.expiredSubkey}!`], '20200101T120000!');
  await execa('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--command-fd', '0', '--edit-key', keys.subkeyPrimary], {
    input: 'key 3\nrevkey\ny\n0\n\ny\nsave\n',
  });
  // gpg writes a revocation certificate for every new key; imported with the key, it revokes it.
  const rev = await readFile(join(home, 'openpgp-revocs.d', `${keys.revoked}.rev`), 'utf8');
  const uploaders = join(home, 'uploaders.asc');
  // The certificate right after its key: gpg --import takes its packets as part of the key
  // block before it (another key there gets "1 bad signature" and the key stays unrevoked), and
  // gpg --export lists keys in keyring order whatever order they are named in.
  const others = (await gpg(['--armor', '--export', keys.good, keys.other, keys.expired, keys.subkeyPrimary])).stdout;
  const revoked = (await gpg(['--armor', '--export', keys.revoked])).stdout;
  await writeFile(uploaders, `${others}\n${revoked}\n${rev.slice(rev.indexOf(':-----BEGIN') + 1)}`);
  keyring = join(home, 'uploaders.gpg');
  await addKeysToKeyring(undefined, uploaders, await readFile(uploaders), (bytes) => writeFileAtomic(keyring, bytes));
});

afterAll(async () => {
  await execa('gpgconf', ['--homedir', home, '--kill', 'all'], { reject: false });
  await rm(home, { recursive: true, force: true });
});

describe('an upload signature', () => {
  it('is good when signed once by a key in the keyring, and names that key', async () => {
    expect(await verify(await clearsign([keys.good]))).toEqual({ state: 'good', fingerprint: keys.good, uid: 'Good <good@example.org>' });
  });

  it('names the primary key when a signing subkey signed, as the keyring lists keys by their primary', async () => {
    expect(await verify(await clearsign([`${keys.subkey}!`]))).toMatchObject({ state: 'good', fingerprint: keys.subkeyPrimary });
  });

  it('is good when another subkey of the key has expired and another has been revoked', async () => {
    const listing = (await execa('gpg', ['--batch', '--with-colons', '--show-keys', keyring])).stdout;
    expect(listing).toMatch(/^sub:e:/m);
    expect(listing).toMatch(/^sub:r:/m);
    expect(await verify(await clearsign([`${keys.subkey}!`]))).toMatchObject({ state: 'good' });
  });

  it.each([
    ['a key that is not in the keyring', () => clearsign([keys.stranger]), 'unknown-key'],
    ['an expired primary key', () => clearsign([keys.expired], '20200101T120000!'), 'expired-key'],
    ['a revoked primary key', () => clearsign([keys.revoked]), 'revoked-key'],
    ['a signing subkey that has since expired', async () => signedBy.expiredSubkey, 'expired-key'],
    ['a revoked signing subkey', async () => signedBy.revokedSubkey, 'revoked-key'],
  ])('is refused when made by %s', async (_name, make, state) => {
    expect((await verify(await make())).state).toBe(state);
  });

  it.each([
    ['SHA1', 'SHA-1', 2],
    ['RIPEMD160', 'RIPEMD-160', 3],
  ])('is refused when made over a %s digest, which gpgv itself accepts, saying which', async (algo, digest, id) => {
    const signed = await clearsign([keys.good], undefined, TEXT, algo);
    expect(signed).toContain(`Hash: ${algo}`);
    const gpgv = await execa('gpgv', ['--status-fd', '1', '--keyring', keyring, '-'], { input: signed, reject: false });
    expect(gpgv.stdout).toContain('[GNUPG:] GOODSIG');
    expect(await verify(signed)).toEqual({ state: 'error', detail: expect.stringContaining(`made over a ${digest} digest (OpenPGP hash algorithm ${id}), which is too weak`) });
    expect(await verify(await clearsign([keys.good], undefined, TEXT, 'SHA256'))).toMatchObject({ state: 'good', fingerprint: keys.good });
  });

  it('is refused when the block holds two signatures, even both good: exactly one is expected', async () => {
    expect(await verify(await clearsign([keys.good, keys.other]))).toEqual({ state: 'error', detail: '2 signatures; exactly one is expected' });
  });

  it.each([
    ['a second signed message follows, by a key not in the keyring', async (signed: string) => signed + (await clearsign([keys.stranger], undefined, TEXT.replace('aib-hello', 'evil')))],
    ['a second signed message follows, by the same good key', async (signed: string) => signed + (await clearsign([keys.good], undefined, TEXT.replace('aib-hello', 'evil')))],
    ['garbage follows the signature', async (signed: string) => `${signed}Source: evil\n`],
    ['a broken signature block follows (gpgv exits 2 after its GOODSIG)', async (signed: string) => `${signed}-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n`],
    ['a paragraph comes before the signed message', async (signed: string) => `Source: evil\n\n${signed}`],
  ])('is refused when %s', async (_name, change) => {
    const verdict = await verify(await change(await clearsign([keys.good])));
    expect(verdict.state, JSON.stringify(verdict)).toBe('error');
  });

  it('is refused when the text gpgv verified is not the signed part as the queue reads it: a line over 20000 bytes, whose end gpgv 2.2 drops', async () => {
    // The signature covers what gpgv reads (the long line cut short): a binary signature over
    // that text in canonical form (CRLF, no last line end) is what a clear signature hashes.
    const shown = `${TEXT}Description: ${'x'.repeat(30_000)}\n`;
    const framed = (signature: string) => `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n${shown}${signature}`;
    const cut = join(home, 'cut.txt');
    await writeFile(join(home, 'framed.asc'), framed('-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n'));
    await execa('gpgv', ['--keyring', keyring, '--output', cut, join(home, 'framed.asc')], { reject: false });
    await writeFile(join(home, 'canonical'), (await readFile(cut, 'utf8')).replace(/\n$/, '').replaceAll('\n', '\r\n'));
    await rm(cut);
    const signature = (await gpg(['--local-user', keys.good, '--digest-algo', 'SHA256', '--armor', '--detach-sign', '--output', '-', join(home, 'canonical')])).stdout;
    const forged = framed(`${signature}\n`);
    const verdict = await verify(forged);
    expect(verdict.state, JSON.stringify(verdict)).not.toBe('good');
    // gpgv 2.2 says GOODSIG here (only our comparison refuses it); 2.4 reads the line whole
    // and says BADSIG.
    const gpgv = await execa('gpgv', ['--status-fd', '1', '--keyring', keyring, '-'], { input: forged, reject: false });
    if (gpgv.stdout.includes('[GNUPG:] GOODSIG')) expect(verdict).toMatchObject({ state: 'error', detail: expect.stringContaining('the text gpgv verified is not the signed part') });
  });

  it('is good on the .dsc and .changes dpkg-buildpackage signs, as packagers upload them', async () => {
    const pkg = await makeSourcePackage(await mkdtemp(join(home, 'pkg-')), { name: 'aib-signed', version: '1.0-1', sign: { gnupgHome: home, key: keys.good } });
    for (const file of [pkg.changes, pkg.dsc]) expect(await verifyClearsigned(join(pkg.dir, file), keyring)).toMatchObject({ state: 'good', fingerprint: keys.good });
  });

  it('stays good when blanks are added at the ends of signed lines or around the frame, which the signature does not cover', async () => {
    const signed = await clearsign([keys.good]);
    const padded = `\n${signed.replace('Source: aib-hello\n', 'Source: aib-hello \t\n').replaceAll('\n', '\r\n')}\n`;
    expect(await verify(padded)).toMatchObject({ state: 'good', fingerprint: keys.good });
  });
});
