// gpg: the archive signing key (made at init, used by the queue to sign Release files), the
// rebuilder key (made by the queue, to sign reproducible verdicts), and verifying signatures.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { SignatureVerdict } from '../core/signature-verdict.js';
import { CommandTimedOut, UserError } from '../errors.js';
import { unwrapSigned, type SignedText } from '../debian/deb822.js';
import { clearsignText, detachedSignature, readSigningKey, type SigningKey } from './openpgp-sign.js';
import { run } from './run.js';
import { signatureBlockProblem } from './signature-block.js';

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

/**
 * A signer holding the archive key in its own GNUPGHOME for the life of the process. The key
 * `archive init` makes (RSA, no passphrase, no subkeys) signs in this process (openpgp-sign.ts)
 * while gpg holds it usable; any other key, or one gpg says has expired or been revoked, is
 * gpg's to sign with (and to refuse).
 */
export class Signer {
  private constructor(
    private readonly home: string,
    readonly fingerprint: string,
    private readonly own: { key: SigningKey; expires?: number } | undefined,
  ) {}

  static async load(secretKeyArmored: string, home: string): Promise<Signer> {
    await run('mkdir', ['-p', '-m', '700', home]);
    const keyFile = join(home, 'import.asc');
    await writeFile(keyFile, secretKeyArmored, { mode: 0o600 });
    await run('gpg', ['--homedir', home, '--batch', '--quiet', '--import', keyFile]);
    await rm(keyFile);
    const colons = (await run('gpg', ['--homedir', home, '--batch', '--with-colons', '--list-secret-keys'])).stdout;
    const fingerprint = fingerprintFromColons(colons);
    const key = readSigningKey(secretKeyArmored);
    const sec = colons.split('\n').filter((l) => l.startsWith('sec:') || l.startsWith('ssb:')).map((l) => l.split(':'));
    // sec: validity, …, expiry (field 7), …, capabilities (field 12)
    const usable = key?.fingerprint === fingerprint && sec.length === 1 && !/[redi]/.test(sec[0][1]) && /s/i.test(sec[0][11] ?? '');
    return new Signer(home, fingerprint, usable ? { key: key!, expires: Number(sec[0][6]) || undefined } : undefined);
  }

  /** Whether signatures are made in this process now (else by gpg). */
  get signsHere(): boolean {
    return this.ownKey() !== undefined;
  }

  /** The key to sign with here, or undefined: gpg signs (then the key has expired, which gpg says). */
  private ownKey(): SigningKey | undefined {
    if (!this.own || (this.own.expires !== undefined && Date.now() / 1000 >= this.own.expires)) return undefined;
    return this.own.key;
  }

  private gpg(args: string[]) {
    return run('gpg', ['--homedir', this.home, '--batch', '--yes', '--quiet', '--local-user', this.fingerprint, '--digest-algo', 'SHA512', ...args]);
  }

  /** A text, clear-signed (a rebuild's statement). */
  async clearsign(text: string): Promise<string> {
    const own = this.ownKey();
    if (own) return clearsignText(own, text);
    return (await run('gpg', ['--homedir', this.home, '--batch', '--quiet', '--local-user', this.fingerprint, '--digest-algo', 'SHA512', '--clearsign'], { input: text })).stdout;
  }

  /** Writes InRelease (clear-signed) and Release.gpg (detached, armored) beside Release. */
  async signRelease(releasePath: string, inReleasePath: string, releaseGpgPath: string): Promise<void> {
    const own = this.ownKey();
    if (own) {
      const release = await readFile(releasePath);
      await Promise.all([writeFile(inReleasePath, clearsignText(own, release.toString('utf8'))), writeFile(releaseGpgPath, detachedSignature(own, release))]);
      return;
    }
    // One after the other: gpg-agent takes one signing request at a time, and two at once failed
    // now and then ("signing failed: Invalid value" in CI, with a subkey or an EdDSA key; others
    // see "Cannot allocate memory" or "Invalid IPC response").
    await this.gpg(['--clearsign', '--output', inReleasePath, releasePath]);
    await this.gpg(['--armor', '--detach-sign', '--output', releaseGpgPath, releasePath]);
  }
}

/**
 * Verifies a clear-signed file against a keyring and nothing else (gpgv, as dak does), and
 * turns gpgv's machine-readable status lines (doc/DETAILS in GnuPG) into a verdict. Good only if
 * the text gpgv verified (its --output) is the text unwrapSigned reads, which is what the queue
 * parses: two readings of one file is the classic way to get unsigned data past a signature
 * check (gpgv 2.2, for one, drops the end of a line over 20000 bytes and still says GOODSIG).
 */
export async function verifyClearsigned(file: string, keyring: string): Promise<SignatureVerdict> {
  return verifyClearsignedBytes(await readFile(file), basename(file), keyring);
}

/**
 * The most one gpgv run may take: a signature is checked in milliseconds, and the queue's one
 * lane (publications, Valid-Until refreshes) waits on it. What signatureBlockProblem lets
 * through cannot take long; this is for what it does not foresee.
 */
export const GPGV_TIMEOUT_MS = 30_000;

/** verifyClearsigned of a file's bytes, read already (through a descriptor checked to be a regular file's). */
export async function verifyClearsignedBytes(bytes: Buffer, name: string, keyring: string, o: { timeoutMs?: number } = {}): Promise<SignatureVerdict> {
  // Taken apart before gpgv sees it: only one clear-signed message, nothing around it
  // (unwrapSigned), and only signature packets in its signature block (signature-block.ts).
  let ours: SignedText;
  try {
    ours = unwrapSigned(bytes.toString('utf8'), name);
  } catch (err) {
    return { state: 'error', detail: (err as Error).message };
  }
  if (!ours.signed) return { state: 'error', detail: `${name}: not a clear-signed message (no "-----BEGIN PGP SIGNED MESSAGE-----" line); expected one signed with debsign` };
  const problem = signatureBlockProblem(ours.signature!);
  if (problem) return { state: 'error', detail: `${name}: ${problem}; not given to gpgv` };
  const timeoutMs = o.timeoutMs ?? GPGV_TIMEOUT_MS;
  const dir = await mkdtemp(join(tmpdir(), 'aib-gpgv-'));
  try {
    const verified = join(dir, 'verified');
    const args = ['--status-fd', '1', '--keyring', keyring, '--output', verified, '-'];
    let result: { stdout: string; stderr: string; exitCode: number };
    try {
      result = await run('gpgv', args, { input: bytes, allowFailure: true, timeoutMs });
    } catch (err) {
      if (!(err instanceof CommandTimedOut)) throw err;
      return { state: 'error', detail: `${name}: gpgv had not checked the signature after ${timeoutMs / 1000} s and was killed; a signature is checked in milliseconds` };
    }
    const verdict = signatureVerdict(result.stdout, result.exitCode, result.stderr);
    if (verdict.state !== 'good') return verdict;
    const theirs = (await readFile(verified, 'utf8')).replace(/\r\n/g, '\n');
    if (theirs !== ours.content) return { state: 'error', detail: `${name}: the text gpgv verified is not the signed part as the queue reads it (a line over 20000 bytes?)` };
    return verdict;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The digests (OpenPGP hash algorithm ids, RFC 4880 9.4) a signature may not be made over. */
const WEAK_DIGESTS: Record<string, string> = { '1': 'MD5', '2': 'SHA-1', '3': 'RIPEMD-160' };

/**
 * The verdict on one gpgv run: good only for exactly one signature, GOODSIG and VALIDSIG, no
 * ERROR, a digest that is not weak (WEAK_DIGESTS), and exit status 0 (gpgv exits 2 with a
 * GOODSIG already printed when a second signed message or broken armor follows the first). KEYEXPIRED and KEYREVOKED are not looked at:
 * gpgv prints them for any expired or revoked subkey of the key, even one that did not sign
 * (doc/DETAILS); EXPKEYSIG and REVKEYSIG say whether the key that signed is.
 */
export function signatureVerdict(status: string, exitCode: number, stderr = ''): SignatureVerdict {
  const lines = status.split('\n').filter((l) => l.startsWith('[GNUPG:] ')).map((l) => l.slice(9).split(' '));
  const all = (tag: string) => lines.filter((l) => l[0] === tag);
  const has = (tag: string) => all(tag)[0];
  const who = (l: string[] | undefined) => (l ? l.slice(1).join(' ') : '');
  const said = stderr.trim().split('\n').slice(-2).join(' ');
  const signatures = all('NEWSIG').length;
  if (signatures > 1) return { state: 'error', detail: `${signatures} signatures; exactly one is expected` };
  if (has('EXPKEYSIG')) return { state: 'expired-key', detail: who(has('EXPKEYSIG')) };
  if (has('REVKEYSIG')) return { state: 'revoked-key', detail: who(has('REVKEYSIG')) };
  if (has('BADSIG')) return { state: 'bad', detail: `BADSIG ${who(has('BADSIG'))}` };
  const noKey = has('NO_PUBKEY');
  if (noKey) return { state: 'unknown-key', detail: `key ${noKey[1]}` };
  if (has('EXPSIG')) return { state: 'error', detail: `the signature itself has expired (EXPSIG ${who(has('EXPSIG'))})` };
  const error = has('ERROR') ?? has('ERRSIG') ?? has('FAILURE');
  if (error || exitCode !== 0) {
    const what = [error ? error.join(' ') : '', `gpgv exited with ${exitCode}`, said].filter(Boolean).join('; ');
    return { state: 'error', detail: what };
  }
  const good = all('GOODSIG');
  const valid = all('VALIDSIG');
  // VALIDSIG's last field is the primary key's fingerprint, its first the (sub)key that signed.
  if (good.length === 1 && valid.length === 1 && valid[0].length >= 11) {
    // Its eighth field the digest the signature was made over (RFC 4880 9.4), which gpgv does
    // not judge: MD5, SHA-1 and RIPEMD-160 are refused, as apt refuses them in Release files.
    const weak = WEAK_DIGESTS[valid[0][8]];
    if (weak) {
      return { state: 'error', detail: `made over a ${weak} digest (OpenPGP hash algorithm ${valid[0][8]}), which is too weak and not accepted (apt does not accept it either); sign with SHA-256 or stronger (gpg's default; --digest-algo SHA512)` };
    }
    return { state: 'good', fingerprint: valid[0][valid[0].length - 1], uid: good[0].slice(2).join(' ') };
  }
  return { state: 'error', detail: said || 'gpgv gave no verdict' };
}

export interface KeyInfo {
  fingerprint: string;
  uids: string[];
  created?: string;
  expires?: string;
  revoked: boolean;
  expired: boolean;
}

/** Reads `gpg --with-colons` key listings (doc/DETAILS). */
export function parseKeyListing(colons: string): KeyInfo[] {
  const keys: KeyInfo[] = [];
  let current: KeyInfo | undefined;
  let inPrimary = false;
  for (const line of colons.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'pub') {
      const date = (s: string) => (s ? new Date(Number(s) * 1000).toISOString() : undefined);
      current = { fingerprint: '', uids: [], created: date(f[5]), expires: date(f[6]), revoked: f[1] === 'r', expired: f[1] === 'e' };
      keys.push(current);
      inPrimary = true;
    } else if (f[0] === 'sub') inPrimary = false;
    else if (f[0] === 'fpr' && current && inPrimary && !current.fingerprint) current.fingerprint = f[9];
    else if (f[0] === 'uid' && current) current.uids.push(f[9].replace(/\\x3a/g, ':'));
  }
  return keys;
}

/**
 * The keys in a keyring's bytes: read by the caller (under an archive root, through the folder
 * held open: storage/anchored-dir.ts) and handed to gpg, never opened by gpg by path.
 */
export async function listKeys(keyring: Buffer): Promise<KeyInfo[]> {
  // In a home of its own: the keyring is the queue's user's, and root's own ~/.gnupg (its
  // gpg.conf, its trust) has nothing to do with it.
  return withGnupgHome(async (home) => {
    const { stdout } = await run('gpg', ['--homedir', home, '--batch', '--with-colons', '--fixed-list-mode', '--show-keys'], { input: keyring });
    return parseKeyListing(stdout);
  });
}

/**
 * The fingerprint of the key in a secret key's bytes (the archive's, state/archive-key.sec), read
 * as listKeys reads a keyring: handed to gpg in a home of its own, never by path.
 */
export async function secretKeyFingerprint(secret: Buffer): Promise<string> {
  return withGnupgHome(async (home) => {
    const { stdout } = await run('gpg', ['--homedir', home, '--batch', '--with-colons', '--fixed-list-mode', '--show-keys'], { input: secret });
    return fingerprintFromColons(stdout);
  });
}

/**
 * The new bytes of a keyring a change was made to, for the caller to put in place: the caller
 * holds the keyring's file (storage/: replaced by a new file, the queue's user's, through the
 * folder held open), as it read `current`; gpg only ever sees bytes.
 */
export type SaveKeyring = (keyring: Buffer) => Promise<void>;

/**
 * Adds the public keys (and revocation certificates) in `keys`, the bytes of keyFile (read once
 * by the caller: two reads of a path, one for the listing and one for the import, could be of
 * two files), armored or binary, to a binary keyring gpgv can read, whose bytes now are
 * `current` (read by the caller, as for listKeys; undefined: none yet); the new keyring goes to
 * `save`, nothing when gpg refuses the file. Returns the keys the file added, changed or
 * revoked: every key the keyring holds after and did not before among them. A file gpg finds
 * bad signatures in is refused whole: gpg takes a revocation certificate as a signature on the
 * key just before it in the file, so one placed after another key revokes nothing, and gpg says
 * so only on stderr.
 */
export async function addKeysToKeyring(current: Buffer | undefined, keyFile: string, keys: Buffer, save: SaveKeyring): Promise<KeyInfo[]> {
  return withGnupgHome(async (home) => {
    const gpg = (args: string[], input?: Buffer) => run('gpg', ['--homedir', home, '--batch', ...args], { input });
    const listed = async () => parseKeyListing((await gpg(['--quiet', '--with-colons', '--fixed-list-mode', '--list-keys'])).stdout);
    const inFile = parseKeyListing((await gpg(['--quiet', '--with-colons', '--fixed-list-mode', '--show-keys'], keys)).stdout);
    if (current?.length) await gpg(['--quiet', '--import'], current);
    const before = await listed();
    // Not --quiet: "key X: N bad signatures" is said on stderr alone.
    const { stderr, exitCode } = await run('gpg', ['--homedir', home, '--batch', '--import'], { input: keys, allowFailure: true });
    if (exitCode !== 0) {
      const said = stderr.trim().split('\n').filter((l) => !/^gpg: (Total number processed|keybox|.*trustdb)/.test(l)).slice(-2).join('; ');
      throw new UserError(`${keyFile}: holds no OpenPGP public key or revocation certificate for a key of the keyring (${said || `gpg exited with ${exitCode}`}); nothing was added`);
    }
    const bad = [...stderr.matchAll(/key ([0-9A-F]{8,40}): (\d+) bad signatures?/g)];
    if (bad.length > 0) {
      throw new UserError(
        `${keyFile}: gpg found ${bad.map((m) => `${m[2]} bad signature(s) on key ${m[1]}`).join(', ')}; a revocation certificate must come right after the key it revokes (or be added on its own), and nothing in the file may be forged; nothing was added`,
      );
    }
    const after = await listed();
    const was = (k: KeyInfo) => before.find((b) => b.fingerprint === k.fingerprint);
    const changed = after.filter((k) => !was(k) || inFile.some((f) => f.fingerprint === k.fingerprint) || (k.revoked && !was(k)?.revoked));
    if (changed.length === 0) throw new UserError(`${keyFile}: holds no OpenPGP public key or revocation certificate for a key of the keyring`);
    const exported = join(home, 'keyring.gpg');
    await gpg(['--quiet', '--output', exported, '--export']);
    await save(await readFile(exported));
    return changed;
  });
}

/** Removes one key (by fingerprint) from a keyring whose bytes are `current`, saved as addKeysToKeyring does; false when it holds no such key. */
export async function removeKeyFromKeyring(current: Buffer | undefined, fingerprint: string, save: SaveKeyring): Promise<boolean> {
  if (!current?.length) return false;
  return withGnupgHome(async (home) => {
    const gpg = (args: string[], input?: Buffer) => run('gpg', ['--homedir', home, '--batch', '--quiet', '--yes', ...args], { input });
    await gpg(['--import'], current);
    const before = parseKeyListing((await gpg(['--with-colons', '--fixed-list-mode', '--list-keys'])).stdout);
    const key = before.find((k) => k.fingerprint.toUpperCase() === fingerprint.toUpperCase());
    if (!key) return false;
    await gpg(['--delete-keys', key.fingerprint]);
    const exported = join(home, 'keyring.gpg');
    await gpg(['--output', exported, '--export']);
    await save(await readFile(exported).catch(() => Buffer.alloc(0)));
    return true;
  });
}
