// The uploaders keyring with real gpg: keys and revocation certificates added as `archive keys
// add` adds them, and a file whose revocation gpg would quietly attach to the wrong key refused.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addKeysToKeyring, listKeys } from '../src/process/gpg.js';
import { writeFileAtomic } from '../src/storage/json-files.js';
import { CLI, freePort } from './support/archive.js';

let work: string;
let a: { fpr: string; key: string; revocation: string };
let b: { fpr: string; key: string };

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
  b = { fpr: (await gpg('--with-colons', '--list-keys', 'b@example.org')).stdout.match(/^fpr:+([0-9A-F]{40}):/m)![1], key: (await gpg('--armor', '--export', 'b@example.org')).stdout };
});
afterAll(async () => {
  await execa('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'all'], { reject: false });
  await rm(work, { recursive: true, force: true });
});

/** A key file of `parts` in `work`: its name, and its bytes as `archive keys add` reads them (once). */
const file = async (name: string, ...parts: string[]): Promise<[string, Buffer]> => {
  const path = join(work, name);
  await writeFile(path, `${parts.join('\n')}\n`);
  return [path, await readFile(path)];
};
const keyringOf = async (name: string) => readFile(join(work, name)).catch(() => undefined);
/** Where addKeysToKeyring puts the new keyring: a file of `work`, replaced as `archive keys add` replaces it. */
const saveTo = (name: string) => (bytes: Buffer) => writeFileAtomic(join(work, name), bytes);

describe('the uploaders keyring', () => {
  it('revokes a key whose revocation certificate follows it, in one file with another key', async () => {
    const added = await addKeysToKeyring(undefined, ...(await file('b-a-rev.asc', b.key, a.key, a.revocation)), saveTo('one.gpg'));
    expect(added.find((k) => k.fingerprint === a.fpr)?.revoked).toBe(true);
    const keys = await listKeys((await keyringOf('one.gpg'))!);
    expect(keys.map((k) => [k.uids[0], k.revoked])).toEqual(expect.arrayContaining([['Uploader A <a@example.org>', true], ['Uploader B <b@example.org>', false]]));
  });

  it('refuses a file whose revocation certificate follows another key (gpg would attach it there and revoke nothing), writing nothing', async () => {
    await expect(addKeysToKeyring(undefined, ...(await file('a-b-rev.asc', a.key, b.key, a.revocation)), saveTo('two.gpg'))).rejects.toThrow(
      /a-b-rev\.asc: gpg found 1 bad signature\(s\) on key [0-9A-F]+; a revocation certificate must come right after the key it revokes/,
    );
    expect(await keyringOf('two.gpg')).toBeUndefined();
  });

  it('takes a revocation certificate on its own for a key already in the keyring', async () => {
    await addKeysToKeyring(undefined, ...(await file('a.asc', a.key)), saveTo('three.gpg'));
    expect((await listKeys((await keyringOf('three.gpg'))!))[0].revoked).toBe(false);
    const revoked = await addKeysToKeyring(await keyringOf('three.gpg'), ...(await file('a.rev', a.revocation)), saveTo('three.gpg'));
    expect(revoked.map((k) => [k.fingerprint, k.revoked])).toEqual([[a.fpr, true]]);
    expect((await listKeys((await keyringOf('three.gpg'))!))[0].revoked).toBe(true);
    // A revocation of a key the keyring does not hold changes nothing, and says so.
    await expect(addKeysToKeyring(undefined, ...(await file('a2.rev', a.revocation)), saveTo('four.gpg'))).rejects.toThrow(/holds no OpenPGP public key or revocation certificate for a key of the keyring/);
  });
});

describe('archive keys add', () => {
  it('reads a key file once: a FIFO, which gives every reader other keys (the listing one, the import another), is read once, and every key imported is said added', async () => {
    const root = join(work, 'root');
    await execa('node', [CLI, '--root', root, 'init', '--port', String(await freePort())]);
    const fifo = join(work, 'keys.fifo');
    await execa('mkfifo', [fifo]);
    // Key A to the first reader, A and B to every one after: read by path for the listing and
    // again for the import, A was said added and B imported too.
    const writer = execa('sh', ['-c', 'cat "$1" > "$3"; while :; do cat "$1" "$2" > "$3"; done', 'sh', join(work, 'a-only.asc'), join(work, 'b-only.asc'), fifo], { reject: false });
    await writeFile(join(work, 'a-only.asc'), a.key);
    await writeFile(join(work, 'b-only.asc'), b.key);
    try {
      const r = await execa('node', [CLI, '--root', root, 'keys', 'add', fifo], { reject: false, all: true, timeout: 30_000 });
      const keyring = await readFile(join(root, 'state', 'uploaders.gpg')).catch(() => undefined);
      const held = keyring?.length ? (await listKeys(keyring)).map((k) => k.fingerprint) : [];
      expect(held.filter((f) => !r.stdout.includes(f)), `keys imported that were never said added: ${r.all}`).toEqual([]);
      expect(r.exitCode, r.all).toBe(0);
      expect(held).toEqual([a.fpr]);
    } finally {
      writer.kill('SIGKILL');
      await writer;
    }
    // A folder is refused, naming it.
    const folder = await execa('node', [CLI, '--root', root, 'keys', 'add', work], { reject: false, all: true });
    expect(folder.exitCode, folder.all).toBe(2);
    expect(folder.stderr).toContain(`${work}: a folder; expected a file of OpenPGP public keys`);
    // A regular file: every key it adds is said added.
    const both = join(work, 'both.asc');
    await writeFile(both, `${a.key}\n${b.key}\n`);
    const r = await execa('node', [CLI, '--root', root, 'keys', 'add', both], { reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain(`added ${a.fpr}`);
    expect(r.stdout).toContain(`added ${b.fpr}`);
  });
});
