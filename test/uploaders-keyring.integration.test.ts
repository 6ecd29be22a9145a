// The uploaders keyring with real gpg: keys and revocation certificates added as `archive keys
// add` adds them, and a file whose revocation gpg would quietly attach to the wrong key refused.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addKeysToKeyring, listKeys } from '../src/process/gpg.js';
import { writeFileAtomic } from '../src/storage/json-files.js';

let work: string;
let a: { fpr: string; key: string; revocation: string };
let b: { key: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'aib-keyring-'));
  const home = join(work, 'gnupg');
  await mkdir(home, { mode: 0o700 });
  const gpg = (...args: string[]) => execa('gpg', ['--homedir', home, '--batch', '--passphrase', '', ...args]);
  await gpg('--quick-gen-key', 'Uploader A <a@example.org>', 'ed25519', 'sign', '1y');
  await gpg('--quick-gen-key', 'Uploader B <b@example.org>', 'ed25519', 'sign', '1y');
  const fpr = (await gpg('--with-colons', '--list-keys', 'a@example.org')).stdout.match(/^fpr:+([0-9A-F]{40}):/m)![1];
  // gpg keeps a revocation certificate for each new key, its armor line escaped with ":".
  const revocation = (await readFile(join(home, 'openpgp-revocs.d', `${fpr}.rev`), 'utf8')).replace(/^:-----/m, '-----');
  a = { fpr, key: (await gpg('--armor', '--export', 'a@example.org')).stdout, revocation };
  b = { key: (await gpg('--armor', '--export', 'b@example.org')).stdout };
});
afterAll(() => rm(work, { recursive: true, force: true }));

const file = async (name: string, ...parts: string[]) => {
  const path = join(work, name);
  await writeFile(path, `${parts.join('\n')}\n`);
  return path;
};
const keyringOf = async (name: string) => readFile(join(work, name)).catch(() => undefined);
/** Where addKeysToKeyring puts the new keyring: a file of `work`, replaced as `archive keys add` replaces it. */
const saveTo = (name: string) => (bytes: Buffer) => writeFileAtomic(join(work, name), bytes);

describe('the uploaders keyring', () => {
  it('revokes a key whose revocation certificate follows it, in one file with another key', async () => {
    const added = await addKeysToKeyring(undefined, await file('b-a-rev.asc', b.key, a.key, a.revocation), saveTo('one.gpg'));
    expect(added.find((k) => k.fingerprint === a.fpr)?.revoked).toBe(true);
    const keys = await listKeys((await keyringOf('one.gpg'))!);
    expect(keys.map((k) => [k.uids[0], k.revoked])).toEqual(expect.arrayContaining([['Uploader A <a@example.org>', true], ['Uploader B <b@example.org>', false]]));
  });

  it('refuses a file whose revocation certificate follows another key (gpg would attach it there and revoke nothing), writing nothing', async () => {
    await expect(addKeysToKeyring(undefined, await file('a-b-rev.asc', a.key, b.key, a.revocation), saveTo('two.gpg'))).rejects.toThrow(
      /a-b-rev\.asc: gpg found 1 bad signature\(s\) on key [0-9A-F]+; a revocation certificate must come right after the key it revokes/,
    );
    expect(await keyringOf('two.gpg')).toBeUndefined();
  });

  it('takes a revocation certificate on its own for a key already in the keyring', async () => {
    await addKeysToKeyring(undefined, await file('a.asc', a.key), saveTo('three.gpg'));
    expect((await listKeys((await keyringOf('three.gpg'))!))[0].revoked).toBe(false);
    const revoked = await addKeysToKeyring(await keyringOf('three.gpg'), await file('a.rev', a.revocation), saveTo('three.gpg'));
    expect(revoked.map((k) => [k.fingerprint, k.revoked])).toEqual([[a.fpr, true]]);
    expect((await listKeys((await keyringOf('three.gpg'))!))[0].revoked).toBe(true);
    // A revocation of a key the keyring does not hold changes nothing, and says so.
    await expect(addKeysToKeyring(undefined, await file('a2.rev', a.revocation), saveTo('four.gpg'))).rejects.toThrow(/holds no OpenPGP public key or revocation certificate for a key of the keyring/);
  });
});
