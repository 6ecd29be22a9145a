// gpg: the archive signing key (made at init, used by the queue to sign Release files).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

/** A throwaway GNUPGHOME in a short path (gpg-agent's socket path must stay under 108 bytes). */
export async function withGnupgHome<T>(fn: (home: string) => Promise<T>): Promise<T> {
  const home = await mkdtemp(join(tmpdir(), 'aib-gpg-'));
  try {
    return await fn(home);
  } finally {
    await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

export interface ArchiveKey {
  fingerprint: string;
  secretArmored: string;
  publicArmored: string;
}

/** Makes a signing-only key without a passphrase, as dak's and reprepro's set-ups do. */
export async function generateArchiveKey(uid: string, expiry = '3y'): Promise<ArchiveKey> {
  return withGnupgHome(async (home) => {
    const gpg = (args: string[], input?: string) => run('gpg', ['--homedir', home, '--batch', '--quiet', ...args], { input });
    await gpg(['--passphrase', '', '--quick-gen-key', uid, 'rsa3072', 'sign', expiry]);
    const fingerprint = fingerprintFromColons((await gpg(['--with-colons', '--list-secret-keys'])).stdout);
    const secretArmored = (await gpg(['--armor', '--export-secret-keys', fingerprint])).stdout;
    const publicArmored = (await gpg(['--armor', '--export', fingerprint])).stdout;
    return { fingerprint, secretArmored, publicArmored };
  });
}

export function fingerprintFromColons(colons: string): string {
  const fpr = colons.split('\n').find((l) => l.startsWith('fpr:'));
  if (!fpr) throw new Error('gpg listed no key fingerprint');
  return fpr.split(':')[9];
}

/** A signer holding the archive key in its own GNUPGHOME for the life of the process. */
export class Signer {
  private constructor(
    private readonly home: string,
    readonly fingerprint: string,
  ) {}

  static async load(secretKeyArmored: string, home: string): Promise<Signer> {
    await run('mkdir', ['-p', '-m', '700', home]);
    const keyFile = join(home, 'import.asc');
    await writeFile(keyFile, secretKeyArmored, { mode: 0o600 });
    await run('gpg', ['--homedir', home, '--batch', '--quiet', '--import', keyFile]);
    await rm(keyFile);
    const colons = await run('gpg', ['--homedir', home, '--batch', '--with-colons', '--list-secret-keys']);
    return new Signer(home, fingerprintFromColons(colons.stdout));
  }

  private gpg(args: string[]) {
    return run('gpg', ['--homedir', this.home, '--batch', '--yes', '--quiet', '--local-user', this.fingerprint, '--digest-algo', 'SHA512', ...args]);
  }

  /** Writes InRelease (clear-signed) and Release.gpg (detached, armored) beside Release. */
  async signRelease(releasePath: string, inReleasePath: string, releaseGpgPath: string): Promise<void> {
    await this.gpg(['--clearsign', '--output', inReleasePath, releasePath]);
    await this.gpg(['--armor', '--detach-sign', '--output', releaseGpgPath, releasePath]);
  }
}
