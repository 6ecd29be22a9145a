// The archive's own signatures (InRelease, Release.gpg, a rebuild's statement) made in the
// queue's process for the key `archive init` makes, checked by the real gpgv; every other key
// (a passphrase, a subkey, EdDSA, expired) left to gpg. Keys are made in throwaway GNUPGHOMEs.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateArchiveKey, Signer, type ArchiveKey } from '../src/process/gpg.js';
import { readSigningKey } from '../src/process/openpgp-sign.js';

const dirs: string[] = [];
let initKey: ArchiveKey;

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aib-sign-'));
  dirs.push(dir);
  return dir;
}

/** A secret key made by gpg with these arguments to --quick-gen-key (and --quick-add-key, if given). */
async function gpgKey(gen: string[], o: { passphrase?: string; fakedTime?: string; addKey?: string[] } = {}): Promise<string> {
  const home = await tempDir();
  const gpg = (args: string[]) =>
    execa('gpg', ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', o.passphrase ?? '', ...(o.fakedTime ? ['--faked-system-time', o.fakedTime] : []), ...args]);
  await gpg(['--quick-gen-key', ...gen]);
  const fpr = (await gpg(['--with-colons', '--list-keys'])).stdout.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
  if (o.addKey) await gpg(['--quick-add-key', fpr, ...o.addKey]);
  return (await gpg(['--armor', '--export-secret-keys'])).stdout;
}

/** Signs a Release with a Signer loaded from `secret`; what gpgv says of both signatures, and the text it verified in InRelease. */
async function signAndVerify(secret: string, publicArmored: string, release: string) {
  const dir = await tempDir();
  const signer = await Signer.load(secret, join(dir, 'home'));
  await writeFile(join(dir, 'Release'), release);
  await signer.signRelease(join(dir, 'Release'), join(dir, 'InRelease'), join(dir, 'Release.gpg'));
  await execa('mkdir', ['-m', '700', join(dir, 'kr')]);
  await execa('gpg', ['--homedir', join(dir, 'kr'), '--batch', '--quiet', '--no-default-keyring', '--keyring', join(dir, 'keyring.gpg'), '--import'], { input: publicArmored });
  const gpgv = (args: string[]) => execa('gpgv', ['--keyring', join(dir, 'keyring.gpg'), ...args], { reject: false });
  const detached = await gpgv([join(dir, 'Release.gpg'), join(dir, 'Release')]);
  const inline = await gpgv(['--output', join(dir, 'verified'), join(dir, 'InRelease')]);
  return { signer, dir, detached: detached.exitCode, inline: inline.exitCode, verified: await readFile(join(dir, 'verified'), 'utf8').catch(() => '') };
}

const RELEASE = 'Origin: test\nLabel: test\nSuite: unstable\nDate: Thu, 03 Dec 2026 06:00:00 UTC\n-a line that begins with a dash\nSHA256:\n 0123 12 main/binary-amd64/Packages\n';

beforeAll(async () => {
  initKey = await generateArchiveKey('Archive <archive@example.org>');
}, 120_000);

afterAll(async () => {
  for (const dir of dirs) {
    await execa('gpgconf', ['--homedir', join(dir, 'home'), '--kill', 'all'], { reject: false });
    await rm(dir, { recursive: true, force: true });
  }
});

describe("the archive's signatures", () => {
  it('are made in the process for the key archive init makes, and gpgv finds both good, InRelease holding the Release text', async () => {
    const r = await signAndVerify(initKey.secretArmored, initKey.publicArmored, RELEASE);
    expect(r.signer.signsHere).toBe(true);
    expect([r.detached, r.inline]).toEqual([0, 0]);
    expect(r.verified).toBe(RELEASE);
    expect(await readFile(join(r.dir, 'InRelease'), 'utf8')).toContain('\n- -a line that begins with a dash\n');
  });

  it('are found bad by gpgv once the Release changes', async () => {
    const r = await signAndVerify(initKey.secretArmored, initKey.publicArmored, RELEASE);
    await writeFile(join(r.dir, 'Release'), RELEASE.replace('unstable', 'testing'));
    expect((await execa('gpgv', ['--keyring', join(r.dir, 'keyring.gpg'), join(r.dir, 'Release.gpg'), join(r.dir, 'Release')], { reject: false })).exitCode).not.toBe(0);
    const forged = (await readFile(join(r.dir, 'InRelease'), 'utf8')).replace('Suite: unstable', 'Suite: testing');
    await writeFile(join(r.dir, 'InRelease'), forged);
    expect((await execa('gpgv', ['--keyring', join(r.dir, 'keyring.gpg'), join(r.dir, 'InRelease')], { reject: false })).exitCode).not.toBe(0);
  });

  it('clear-sign a rebuild statement that gpgv verifies', async () => {
    const dir = await tempDir();
    const signer = await Signer.load(initKey.secretArmored, join(dir, 'home'));
    await writeFile(join(dir, 'statement'), await signer.clearsign('Source: a\nVersion: 1\nVerdict: reproducible\n'));
    await execa('gpg', ['--homedir', join(dir, 'home'), '--batch', '--quiet', '--output', join(dir, 'keyring.gpg'), '--export', initKey.fingerprint]);
    expect((await execa('gpgv', ['--keyring', join(dir, 'keyring.gpg'), join(dir, 'statement')], { reject: false })).exitCode).toBe(0);
  });

  it('are left to gpg for a key with a passphrase, with a subkey, or of another algorithm, and still verify', async () => {
    const withSubkey = await gpgKey(['Sub <sub@example.org>', 'rsa2048', 'sign', 'never'], { addKey: ['rsa2048', 'sign'] });
    const eddsa = await gpgKey(['Ed <ed@example.org>', 'ed25519', 'sign', 'never']);
    expect(readSigningKey(withSubkey)).toBeUndefined();
    expect(readSigningKey(eddsa)).toBeUndefined();
    expect(readSigningKey(await gpgKey(['Pass <pass@example.org>', 'rsa2048', 'sign', 'never'], { passphrase: 'secret' }))).toBeUndefined();
    for (const secret of [withSubkey, eddsa]) {
      const home = await tempDir();
      await execa('gpg', ['--homedir', home, '--batch', '--quiet', '--import'], { input: secret });
      const publicArmored = (await execa('gpg', ['--homedir', home, '--batch', '--armor', '--export'])).stdout;
      const r = await signAndVerify(secret, publicArmored, RELEASE);
      expect(r.signer.signsHere).toBe(false);
      expect([r.detached, r.inline, r.verified]).toEqual([0, 0, RELEASE]);
    }
  });

  it('are refused, as gpg refuses them, with a key that has expired', async () => {
    const expired = await gpgKey(['Old <old@example.org>', 'rsa2048', 'sign', '1y'], { fakedTime: '20200101T000000!' });
    expect(readSigningKey(expired)).toBeDefined();
    const dir = await tempDir();
    const signer = await Signer.load(expired, join(dir, 'home'));
    expect(signer.signsHere).toBe(false);
    await writeFile(join(dir, 'Release'), RELEASE);
    await expect(signer.signRelease(join(dir, 'Release'), join(dir, 'InRelease'), join(dir, 'Release.gpg'))).rejects.toThrow(/expired|unusable/i);
  });
});
