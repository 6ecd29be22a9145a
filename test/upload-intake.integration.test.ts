// The table of bad uploads, each made from a good one by one change, taken through the real
// intake (files on disk, quarantine, gpgv against a real keyring): each must fail exactly the
// check named, and end up under state/rejected/ with every file and a .reason.
import { rmdirSync, symlinkSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, statfs, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ArchiveConfig } from '../src/config/config.js';
import type { CheckId } from '../src/core/upload-checks.js';
import type { JobRecord } from '../src/core/jobs.js';
import type { UploadRecord } from '../src/core/uploads.js';
import { parseChanges } from '../src/debian/changes-dsc.js';
import { unwrapSigned } from '../src/debian/deb822.js';
import { SuiteChanges } from '../src/daemons/queue/suite-changes.js';
import { UploadIntake } from '../src/daemons/queue/upload-intake.js';
import type { FailPointHit } from '../src/daemons/queue/crash-at-fail-point.js';
import type { FailPoint } from '../src/core/fail-points.js';
import { addKeysToKeyring, listKeys } from '../src/process/gpg.js';
import { fileFacts } from '../src/storage/files.js';
import { Layout } from '../src/storage/layout.js';
import { RecordStore } from '../src/storage/record-store.js';
import { markStaged } from '../src/storage/staging.js';
import { writeFileAtomic, writeJson } from '../src/storage/json-files.js';
import { makeBinaryPackage } from './support/packages.js';

const FIXTURES = join(import.meta.dirname, '..', 'src', 'debian', 'fixtures');
const CHANGES = 'aib-hello_1.0-1_source.changes';
const DSC = 'aib-hello_1.0-1.dsc';
const ORIG = 'aib-hello_1.0.orig.tar.gz';
const DEBIAN = 'aib-hello_1.0-1.debian.tar.xz';
const BUILDINFO = 'aib-hello_1.0-1_source.buildinfo';

let gnupg: string;
const roots: string[] = [];
let revocation: string;
const keys: Record<'good' | 'unknown' | 'expired' | 'revoked' | 'subkeyPrimary' | 'subkey', string> = { good: '', unknown: '', expired: '', revoked: '', subkeyPrimary: '', subkey: '' };

async function gpg(args: string[], fakedTime?: string) {
  return execa('gpg', ['--homedir', gnupg, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...(fakedTime ? ['--faked-system-time', fakedTime] : []), ...args]);
}

async function newKey(uid: string, expiry = '1y', fakedTime?: string, usage = 'sign'): Promise<string> {
  await gpg(['--quick-gen-key', uid, 'ed25519', usage, expiry], fakedTime);
  const { stdout } = await gpg(['--with-colons', '--list-keys', uid]);
  return stdout.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
}

/** One upload being prepared: the fixture files in a folder, changed by the case. */
class Upload {
  constructor(readonly dir: string) {}
  path(name: string) {
    return join(this.dir, name);
  }
  async text(name: string) {
    return readFile(this.path(name), 'utf8');
  }
  async edit(name: string, fn: (text: string) => string) {
    await writeFile(this.path(name), fn(await this.text(name)));
  }
  /** Re-computes the .changes checksum lines from the files, as dpkg-genchanges would. */
  async resum(changes = CHANGES) {
    let text = await this.text(changes);
    for (const f of parseChanges(text, changes).files) {
      let facts;
      try {
        facts = await fileFacts(this.path(f.name));
      } catch {
        continue;
      }
      const name = f.name.replace(/[.+]/g, '\\$&');
      text = text
        .replace(new RegExp(`^ [0-9a-f]{32} \\d+ (\\S+ \\S+ )${name}$`, 'm'), ` ${facts.md5} ${facts.size} $1${f.name}`)
        .replace(new RegExp(`^ [0-9a-f]{40} \\d+ ${name}$`, 'm'), ` ${facts.sha1} ${facts.size} ${f.name}`)
        .replace(new RegExp(`^ [0-9a-f]{64} \\d+ ${name}$`, 'm'), ` ${facts.sha256} ${facts.size} ${f.name}`);
    }
    await writeFile(this.path(changes), text);
  }
  async sign(name: string, key: string | string[], fakedTime?: string) {
    await gpg([...[key].flat().flatMap((k) => ['--local-user', k]), '--clearsign', '--output', `${this.path(name)}.asc`, this.path(name)], fakedTime);
    await rename(`${this.path(name)}.asc`, this.path(name));
  }
  /** Signs the .dsc, updates the .changes for it, signs the .changes: what debsign does. */
  async signAll(key: string, fakedTime?: string) {
    await this.sign(DSC, key, fakedTime);
    await this.resum();
    await this.sign(CHANGES, key, fakedTime);
  }
}

interface Case {
  name: string;
  check: CheckId;
  config?: string;
  prepare: (u: Upload, root: Layout) => Promise<void>;
  /** A .changes the keyring's keys did not sign: it takes no file but itself, the rest stay in incoming/ (another upload's, perhaps). */
  takesNoFile?: true;
}

const REQUIRE_SIGNED = 'uploads:\n  allow_unsigned: false\n';

const CASES: Case[] = [
  { name: 'a flipped byte in the debian tarball', check: 'checksum', prepare: async (u) => {
    const b = await readFile(u.path(DEBIAN)); b[100] ^= 1; await writeFile(u.path(DEBIAN), b);
  } },
  { name: 'a flipped byte in the .dsc', check: 'checksum', prepare: (u) => u.edit(DSC, (t) => t.replace('Standards-Version: 4.7.0', 'Standards-Version: 4.7.1')) },
  { name: 'a truncated orig tarball', check: 'size', prepare: async (u) => writeFile(u.path(ORIG), (await readFile(u.path(ORIG))).subarray(0, 100)) },
  { name: 'a listed file that never arrives', check: 'incomplete', config: 'uploads:\n  incomplete_after_minutes: 1\n', prepare: async (u) => {
    await rm(u.path(DEBIAN));
    const old = new Date(Date.now() - 5 * 60_000); await utimes(u.path(CHANGES), old, old);
  } },
  { name: 'a file the .dsc names but the .changes does not list', check: 'dsc-files', prepare: async (u) => {
    await u.edit(CHANGES, (t) => t.split('\n').filter((l) => !l.includes(DEBIAN)).join('\n'));
  } },
  { name: 'a directory part in a file name', check: 'file-name', prepare: (u) => u.edit(CHANGES, (t) => t.replaceAll(` ${BUILDINFO}`, ` ../${BUILDINFO}`)) },
  { name: 'a file name starting with a dot', check: 'file-name', prepare: (u) => u.edit(CHANGES, (t) => t.replaceAll(` ${BUILDINFO}`, ` .${BUILDINFO}`)) },
  { name: 'a file name starting with a dash', check: 'file-name', prepare: (u) => u.edit(CHANGES, (t) => t.replaceAll(` ${BUILDINFO}`, ` -${BUILDINFO}`)) },
  { name: 'a file type a source upload does not carry', check: 'file-type', prepare: async (u) => {
    await copyFile(u.path(BUILDINFO), u.path('aib-hello_1.0-1.exe'));
    await u.edit(CHANGES, (t) => t.replaceAll(` ${BUILDINFO}`, ' aib-hello_1.0-1.exe'));
  } },
  { name: 'two .dsc files', check: 'dsc-count', prepare: async (u) => {
    await copyFile(u.path(DSC), u.path('aib-hello_1.0-2.dsc'));
    await u.edit(CHANGES, (t) => t.replaceAll(` ${BUILDINFO}`, ' aib-hello_1.0-2.dsc'));
    await u.resum();
  } },
  { name: 'no .dsc at all', check: 'dsc-count', prepare: (u) => u.edit(CHANGES, (t) => t.split('\n').filter((l) => !l.endsWith('.dsc')).join('\n')) },
  { name: 'a binary package included', check: 'binaries', prepare: async (u) => {
    await copyFile(u.path(BUILDINFO), u.path('aib-hello_1.0-1_amd64.deb'));
    await u.edit(CHANGES, (t) => t.replaceAll(` ${BUILDINFO}`, ' aib-hello_1.0-1_amd64.deb'));
  } },
  { name: 'Architecture naming a binary architecture', check: 'binaries', prepare: (u) => u.edit(CHANGES, (t) => t.replace('Architecture: source', 'Architecture: source amd64')) },
  { name: 'a distribution the archive does not have', check: 'distribution', prepare: (u) => u.edit(CHANGES, (t) => t.replace('Distribution: unstable', 'Distribution: stable')) },
  { name: 'Distribution UNRELEASED', check: 'distribution', prepare: (u) => u.edit(CHANGES, (t) => t.replace('Distribution: unstable', 'Distribution: UNRELEASED')) },
  { name: 'two distributions', check: 'distribution', prepare: (u) => u.edit(CHANGES, (t) => t.replace('Distribution: unstable', 'Distribution: unstable experimental')) },
  { name: 'a version older than the suite holds', check: 'version-not-newer', prepare: (_u, root) => holds(root, '1.0-2') },
  { name: 'the version the suite already holds', check: 'version-not-newer', prepare: (_u, root) => holds(root, '1.0-1') },
  { name: 'a version older than the suite publishes from an include, no upload of it', check: 'version-not-newer', prepare: (_u, root) => included(root, '1.0-2') },
  { name: 'a signature over changed content', check: 'signature', config: REQUIRE_SIGNED, takesNoFile: true, prepare: async (u) => {
    await u.signAll(keys.good);
    await u.edit(CHANGES, (t) => t.replace('urgency=medium', 'urgency=high'));
  } },
  { name: 'a key that is not in the keyring', check: 'signature', config: REQUIRE_SIGNED, takesNoFile: true, prepare: (u) => u.signAll(keys.unknown) },
  { name: 'an expired key', check: 'signature', config: REQUIRE_SIGNED, takesNoFile: true, prepare: (u) => u.signAll(keys.expired, '20200101T120000!') },
  { name: 'a revoked key', check: 'signature', config: REQUIRE_SIGNED, takesNoFile: true, prepare: (u) => u.signAll(keys.revoked) },
  { name: 'no signature where one is required', check: 'signature', config: REQUIRE_SIGNED, takesNoFile: true, prepare: async () => undefined },
  { name: 'a signed .changes with an unsigned .dsc', check: 'signature', config: REQUIRE_SIGNED, prepare: (u) => u.sign(CHANGES, keys.good) },
  { name: 'two signatures on the .changes', check: 'signature', config: REQUIRE_SIGNED, takesNoFile: true, prepare: async (u) => {
    await u.sign(DSC, keys.good);
    await u.resum();
    await u.sign(CHANGES, [keys.good, `${keys.subkey}!`]);
  } },
  // gpgv verifies the first signed message and ignores what is around it; the queue must not read it.
  { name: 'a second signed message after the signed .changes', check: 'changes-parse', config: REQUIRE_SIGNED, prepare: async (u) => {
    await u.signAll(keys.good);
    const dsc = await u.text(DSC);
    await u.edit(CHANGES, (t) => t + dsc);
  } },
  { name: 'a paragraph before the signed .changes', check: 'changes-parse', config: REQUIRE_SIGNED, prepare: async (u) => {
    await u.signAll(keys.good);
    await u.edit(CHANGES, (t) => `Source: evil\n\n${t}`);
  } },
  { name: 'a missing Maintainer field', check: 'mandatory-field', prepare: (u) => u.edit(CHANGES, (t) => t.replace(/^Maintainer: .*\n/m, '')) },
  { name: 'a missing Date field', check: 'mandatory-field', prepare: (u) => u.edit(CHANGES, (t) => t.replace(/^Date: .*\n/m, '')) },
  { name: 'a Maintainer without an address', check: 'maintainer', prepare: (u) => u.edit(CHANGES, (t) => t.replace(/^Maintainer: .*$/m, 'Maintainer: Test Maintainer')) },
  { name: 'a .changes named for a binary upload', check: 'changes-name', prepare: (u) => rename(u.path(CHANGES), u.path('aib-hello_1.0-1_amd64.changes')) },
  { name: 'a source name with capitals', check: 'source-name', prepare: (u) => u.edit(CHANGES, (t) => t.replace('Source: aib-hello', 'Source: AIB-hello')) },
  { name: 'a version with an underscore', check: 'version-syntax', prepare: (u) => u.edit(CHANGES, (t) => t.replace('Version: 1.0-1', 'Version: 1.0_1-1')) },
  { name: 'Checksums-Sha256 leaving out a file Files lists', check: 'checksum-lists', prepare: (u) => u.edit(CHANGES, (t) => t.replace(new RegExp(`^ [0-9a-f]{64} \\d+ ${BUILDINFO}\\n`, 'm'), '')) },
  { name: 'Files and Checksums-Sha256 disagreeing on a size', check: 'checksum-lists', prepare: (u) => u.edit(CHANGES, (t) => t.replace(new RegExp(`^( [0-9a-f]{64}) 4097 ${BUILDINFO}$`, 'm'), `$1 4098 ${BUILDINFO}`)) },
  { name: 'a .dsc of another version', check: 'dsc-match', prepare: async (u) => {
    await u.edit(DSC, (t) => t.replace('Version: 1.0-1', 'Version: 1.0-3'));
    await u.resum();
  } },
  { name: 'a .dsc of another source', check: 'dsc-match', prepare: async (u) => {
    await u.edit(DSC, (t) => t.replace('Source: aib-hello', 'Source: aib-other'));
    await u.resum();
  } },
  { name: 'a .dsc whose Format does not fit its files', check: 'source-format', prepare: async (u) => {
    await u.edit(DSC, (t) => t.replace('Format: 3.0 (quilt)', 'Format: 3.0 (native)'));
    await u.resum();
  } },
  { name: 'a source format the archive does not accept', check: 'source-format', prepare: async (u) => {
    await u.edit(DSC, (t) => t.replace('Format: 3.0 (quilt)', 'Format: 3.0 (git)'));
    await u.resum();
  } },
  { name: 'a .dsc without Maintainer', check: 'dsc-fields', prepare: async (u) => {
    await u.edit(DSC, (t) => t.replace(/^Maintainer: .*\n/m, ''));
    await u.resum();
  } },
  { name: 'a .dsc that is not a control file', check: 'dsc-parse', prepare: async (u) => {
    await writeFile(u.path(DSC), 'this is not\na control file\n');
    await u.resum();
  } },
  { name: 'a .dsc of more than 4 MiB', check: 'dsc-parse', prepare: async (u) => {
    await u.edit(DSC, (t) => `${t}X-Padding:\n${` ${'x'.repeat(1023)}\n`.repeat(4 * 1024)}`);
    await u.resum();
  } },
  { name: 'a .changes that is not a control file', check: 'changes-parse', prepare: (u) => writeFile(u.path(CHANGES), 'garbage\n') },
  { name: 'a .changes listing one file twice in Files and Checksums-Sha256', check: 'duplicate-file', prepare: (u) => u.edit(CHANGES, (t) =>
    t.replace(new RegExp(`^( [0-9a-f]{32} 4097 misc optional ${BUILDINFO})$`, 'm'), '$1\n$1').replace(new RegExp(`^( [0-9a-f]{64} 4097 ${BUILDINFO})$`, 'm'), '$1\n$1')) },
  { name: 'a Changes field that is not valid UTF-8', check: 'changes-parse', prepare: async (u) => {
    const text = await readFile(u.path(CHANGES));
    const at = text.indexOf('Test upload.');
    await writeFile(u.path(CHANGES), Buffer.concat([text.subarray(0, at), Buffer.from([0xc3, 0x28]), text.subarray(at)]));
  } },
  { name: 'an orig tarball named for another upstream version than the .dsc Version', check: 'dsc-file-name', prepare: async (u) => {
    await rename(u.path(ORIG), u.path('aib-hello_2.0.orig.tar.gz'));
    await u.edit(DSC, (t) => t.replaceAll(ORIG, 'aib-hello_2.0.orig.tar.gz'));
    await u.edit(CHANGES, (t) => t.replaceAll(ORIG, 'aib-hello_2.0.orig.tar.gz'));
    await u.resum();
  } },
  { name: 'an orig tarball that differs from the one in the pool', check: 'orig-in-pool', prepare: async (_u, root) => {
    const dir = join(root.public, 'pool/main/a/aib-hello');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, ORIG), 'another tarball of the same name');
  } },
  { name: 'a .dsc that differs from the one of that name in the pool', check: 'pool-conflict', prepare: async (_u, root) => {
    const dir = join(root.public, 'pool/main/a/aib-hello');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, DSC), 'another .dsc of the same name');
  } },
];

/** Records that the suite holds aib-hello at a version, as an earlier accepted upload would. */
async function holds(root: Layout, version: string) {
  const at = new Date().toISOString();
  const record: UploadRecord = {
    id: `earlier-${version}`, changes: `aib-hello_${version}_source.changes`, source: 'aib-hello', version, distribution: 'unstable',
    suite: 'unstable', state: 'published', receivedAt: at, updatedAt: at, reasons: [], sourceFiles: [], jobs: [],
  };
  await writeJson(join(root.uploads, `${record.id}.json`), record);
}

/** A fresh root; the intake reads its records when made, so make it after staging files. */
async function newArchive(configText = ''): Promise<{ layout: Layout; config: ArchiveConfig; intake: (failPoint?: FailPointHit) => Promise<UploadIntake> }> {
  const layout = new Layout(await mkdtemp(join(tmpdir(), 'aib-intake-')));
  roots.push(layout.root);
  for (const dir of [...layout.directories, layout.uploads, layout.jobs]) await mkdir(dir, { recursive: true });
  await writeFile(layout.config, configText);
  const config = parseConfig(configText, layout.config);
  if (!config.uploads.allowUnsigned) {
    // The revoked key goes in with its revocation certificate; the signing home keeps it usable.
    // The certificate right after its key (gpg --export keeps keyring order): gpg --import
    // takes it as part of the key block before it.
    const exported = (await gpg(['--armor', '--export', keys.good, keys.expired, keys.subkeyPrimary])).stdout;
    const revoked = (await gpg(['--armor', '--export', keys.revoked])).stdout;
    await writeFile(join(gnupg, 'uploaders.asc'), `${exported}\n${revoked}\n${revocation}`);
    await addKeysToKeyring(undefined, 'uploaders.asc', await readFile(join(gnupg, 'uploaders.asc')), (bytes) => writeFileAtomic(join(layout.root, config.uploads.keyring), bytes));
  }
  const intake = async (failPoint?: FailPointHit) =>
    new UploadIntake(layout, await storesOf(layout), () => config, async () => undefined, { stableMs: 0, wrongSizeGraceMs: 0, failPoint });
  return { layout, config, intake };
}

async function storesOf(layout: Layout) {
  const suites = await new SuiteChanges(layout, () => parseConfig('', layout.config), () => undefined).load();
  return {
    uploads: await new RecordStore<UploadRecord>(layout.uploads).load(),
    jobs: await new RecordStore<JobRecord>(layout.jobs).load(),
    published: (suite: string, source: string) => suites.publishedVersion(suite, source),
  };
}

/** The suite publishes aib-hello VERSION, brought by no upload: a binary of it included (archive include). */
async function included(root: Layout, version: string) {
  const dir = await mkdtemp(join(tmpdir(), 'aib-included-'));
  try {
    await makeBinaryPackage(dir, { name: 'aib-hello', version });
    await markStaged(dir, { count: 1, bytes: 0 });
    const suites = await new SuiteChanges(root, () => parseConfig('', root.config), () => undefined).load();
    const answer = await suites.include(dir, [`aib-hello_${version}_amd64.deb`], 'unstable');
    if (!answer.ok) throw new Error(answer.message);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function stage(layout: Layout, prepare: Case['prepare']): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'aib-upload-'));
  for (const f of [CHANGES, DSC, ORIG, DEBIAN, BUILDINFO]) await copyFile(join(FIXTURES, f), join(dir, f));
  await prepare(new Upload(dir), layout);
  const names = await readdir(dir);
  for (const n of names) await copyFile(join(dir, n), join(layout.incoming, n));
  // Keep the case's own mtimes (the incomplete case backdates its .changes).
  const changes = names.find((n) => n.endsWith('.changes'))!;
  const { mtime } = await stat(join(dir, changes));
  await utimes(join(layout.incoming, changes), mtime, mtime);
  await rm(dir, { recursive: true, force: true });
  return names;
}

beforeAll(async () => {
  gnupg = await mkdtemp(join(tmpdir(), 'aib-k-'));
  keys.good = await newKey('Good Uploader <good@example.org>');
  keys.unknown = await newKey('Stranger <stranger@example.org>');
  keys.expired = await newKey('Expired Uploader <expired@example.org>', '1d', '20200101T000000!');
  keys.revoked = await newKey('Revoked Uploader <revoked@example.org>');
  keys.subkeyPrimary = await newKey('Subkey Uploader <subkey@example.org>', '1y', undefined, 'cert');
  await gpg(['--quick-add-key', keys.subkeyPrimary, 'ed25519', 'sign', '1y']);
  keys.subkey = (await gpg(['--with-colons', '--list-keys', keys.subkeyPrimary])).stdout.split('\n').filter((l) => l.startsWith('fpr:'))[1].split(':')[9];
  // gpg writes a revocation certificate for every new key; imported with the key, it revokes it.
  const rev = await readFile(join(gnupg, 'openpgp-revocs.d', `${keys.revoked}.rev`), 'utf8');
  revocation = rev.slice(rev.indexOf(':-----BEGIN') + 1);
});

afterAll(async () => {
  await execa('gpgconf', ['--homedir', gnupg, '--kill', 'all'], { reject: false });
  for (const dir of [gnupg, ...roots]) await rm(dir, { recursive: true, force: true });
});

describe('the upload intake', () => {
  it(`rejects ${CASES.length} kinds of bad upload, each for the check it breaks, keeping the files and a reason`, async () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    const failures: string[] = [];
    for (const c of CASES) {
      const { layout, intake } = await newArchive(c.config);
      const staged = await stage(layout, c.prepare);
      const { decided } = await (await intake()).scan();
      const upload = decided[0];
      const reason = upload?.rejectedDir ? await readFile(join(layout.root, upload.rejectedDir, `${upload.changes}.reason`), 'utf8').catch(() => '') : '';
      const kept = upload?.rejectedDir ? await readdir(join(layout.root, upload.rejectedDir)) : [];
      // What the .changes lists goes with it (not when no key of the keyring signed it); anything else stays in incoming/ (a stray, later).
      const changesName = staged.find((n) => n.endsWith('.changes'))!;
      const listed = c.check === 'changes-parse' || c.takesNoFile || !upload?.rejectedDir ? [] : parseChanges(await readFile(join(layout.root, upload.rejectedDir, changesName), 'utf8'), changesName).files.map((f) => f.name);
      const expectedKept = staged.filter((n) => n === changesName || listed.includes(n));
      const leftInIncoming = staged.filter((n) => !expectedKept.includes(n) && !(c.check === 'incomplete' && n === DEBIAN));
      if (decided.length !== 1 || upload.state !== 'rejected') failures.push(`${c.name}: expected a rejection, got ${upload?.state ?? 'nothing'} ${JSON.stringify(upload?.reasons)}`);
      else if (!upload.checks?.includes(c.check)) failures.push(`${c.name}: expected check ${c.check}, got ${upload.checks?.join(', ')}: ${upload.reasons.join(' | ')}`);
      else if (!reason.includes(`[${c.check}]`)) failures.push(`${c.name}: the .reason does not name ${c.check}:\n${reason}`);
      else if (!expectedKept.every((n) => kept.includes(n))) failures.push(`${c.name}: kept ${kept.join(', ')}, expected ${expectedKept.join(', ')}`);
      else if ((await readdir(layout.incoming)).sort().join() !== leftInIncoming.sort().join()) failures.push(`${c.name}: incoming/ holds ${(await readdir(layout.incoming)).join(', ')}, expected ${leftInIncoming.join(', ')}`);
      await rm(layout.root, { recursive: true, force: true });
    }
    expect(failures).toEqual([]);
  });

  it('accepts the good upload: source in the pool, one build job, nothing left in quarantine', async () => {
    const { layout, intake } = await newArchive();
    await stage(layout, async () => undefined);
    const [upload] = (await (await intake()).scan()).decided;
    expect(upload.state, upload.reasons.join('\n')).toBe('accepted');
    expect(await readdir(join(layout.public, 'pool/main/a/aib-hello'))).toEqual([DEBIAN, DSC, ORIG].sort());
    expect(upload.jobs).toEqual([`${upload.id}-amd64`]);
    expect(await readdir(layout.quarantine)).toEqual([]);
  });

  it('accepts a signed upload from a key in the keyring, and records the signer', async () => {
    const { layout, intake } = await newArchive(REQUIRE_SIGNED);
    await stage(layout, (u) => u.signAll(keys.good));
    const [upload] = (await (await intake()).scan()).decided;
    expect(upload.state, upload.reasons.join('\n')).toBe('accepted');
    expect(upload.signedBy).toBe(keys.good);
  });

  it('where uploads must be signed, lets an unsigned .changes take none of the files it lists: they stay for the signed upload they belong to', async () => {
    const { layout, intake } = await newArchive(REQUIRE_SIGNED);
    await stage(layout, (u) => u.signAll(keys.good));
    // Its files have come, its .changes not yet; other .changes, unsigned, list them all: one with
    // their sizes and hashes (the signed one's text), one with the .dsc's size before it was signed.
    const signed = await readFile(join(layout.incoming, CHANGES));
    await rm(join(layout.incoming, CHANGES));
    const queue = await intake();
    const claims = { 'aib-claim_1.0-1_source.changes': unwrapSigned(signed.toString()).content, 'aib-claim_1.0-2_source.changes': await readFile(join(FIXTURES, CHANGES), 'utf8') };
    for (const [claim, text] of Object.entries(claims)) {
      await writeFile(join(layout.incoming, claim), text);
      const [claimed] = (await queue.scan()).decided;
      expect(claimed).toMatchObject({ changes: claim, state: 'rejected', checks: ['signature'] });
      expect(claimed.reasons[0]).toMatch(/the files it lists were left in incoming\/$/);
      expect((await readdir(layout.incoming)).sort()).toEqual([BUILDINFO, DEBIAN, DSC, ORIG].sort());
    }
    await writeFile(join(layout.incoming, CHANGES), signed);
    const [upload] = (await queue.scan()).decided;
    expect(upload.state, upload.reasons.join('\n')).toBe('accepted');
  });

  it('records the primary key as the signer of an upload signed with a signing subkey', async () => {
    const { layout, intake } = await newArchive(REQUIRE_SIGNED);
    await stage(layout, (u) => u.signAll(`${keys.subkey}!`));
    const [upload] = (await (await intake()).scan()).decided;
    expect(upload.state, upload.reasons.join('\n')).toBe('accepted');
    expect(upload.signedBy).toBe(keys.subkeyPrimary);
  });

  it('takes an orig tarball the upload leaves out from the pool', async () => {
    const { layout, intake } = await newArchive();
    const dir = join(layout.public, 'pool/main/a/aib-hello');
    await mkdir(dir, { recursive: true });
    await copyFile(join(FIXTURES, ORIG), join(dir, ORIG));
    await stage(layout, async (u) => {
      await rm(u.path(ORIG));
      await u.edit(CHANGES, (t) => t.split('\n').filter((l) => !l.includes(ORIG)).join('\n'));
    });
    const [upload] = (await (await intake()).scan()).decided;
    expect(upload.state, upload.reasons.join('\n')).toBe('accepted');
    expect(upload.sourceFiles.map((f) => f.name)).toContain(ORIG);
  });

  it('waits for files still arriving, then takes the upload once they are complete', async () => {
    const { layout } = await newArchive();
    const slow = new UploadIntake(layout, await storesOf(layout), () => parseConfig('', layout.config), async () => undefined, { stableMs: 0, wrongSizeGraceMs: 60_000 });
    await copyFile(join(FIXTURES, CHANGES), join(layout.incoming, CHANGES));
    await copyFile(join(FIXTURES, DSC), join(layout.incoming, DSC));
    await writeFile(join(layout.incoming, ORIG), (await readFile(join(FIXTURES, ORIG))).subarray(0, 10)); // half copied
    expect(await slow.scan()).toEqual({ waiting: 1, decided: [] });
    for (const f of [ORIG, DEBIAN, BUILDINFO]) await copyFile(join(FIXTURES, f), join(layout.incoming, f));
    const { decided } = await slow.scan();
    expect(decided.map((u) => u.state)).toEqual(['accepted']);
  });

  it('takes an upload at once, before it settles, when its .changes is whole and every file has its listed size and checksum', async () => {
    const { layout } = await newArchive();
    const intake = new UploadIntake(layout, await storesOf(layout), () => parseConfig('', layout.config), async () => undefined, { stableMs: 60_000 });
    await stage(layout, async () => undefined);
    const { decided } = await intake.scan();
    expect(decided.map((u) => u.state)).toEqual(['accepted']);
    expect(await readdir(layout.incoming)).toEqual([]);
  });

  it('does not take before it settles an upload listing more than 64 MiB, even whole (its files would be hashed once more for it)', async () => {
    const { layout } = await newArchive();
    const intake = new UploadIntake(layout, await storesOf(layout), () => parseConfig('', layout.config), async () => undefined, { stableMs: 60_000 });
    // An orig tarball of 64 MiB and one byte (sparse), its checksums in the .changes as they are.
    await stage(layout, async (u) => {
      await truncate(u.path(ORIG), 64 * 1024 * 1024 + 1);
      await u.resum();
    });
    expect(await intake.scan()).toEqual({ waiting: 1, decided: [] });
  });

  it('does not take (nor reject) before it settles an upload with a file of the right size but other bytes, or a cut .changes; once settled, decides it', async () => {
    const { layout } = await newArchive();
    const intake = new UploadIntake(layout, await storesOf(layout), () => parseConfig('', layout.config), async () => undefined, { stableMs: 300 });
    // A file of its listed size whose bytes are not all there yet (a writer that sized it first).
    await stage(layout, async (u) => {
      const b = await readFile(u.path(DEBIAN)); b.fill(0, 100); await writeFile(u.path(DEBIAN), b);
    });
    expect(await intake.scan()).toEqual({ waiting: 1, decided: [] });
    await new Promise((r) => setTimeout(r, 350));
    const [late] = (await intake.scan()).decided;
    expect([late.state, [...new Set(late.checks)]]).toEqual(['rejected', ['checksum']]);
    // A .changes cut at the end of a line of its Files field, the rest still to come.
    const whole = await readFile(join(FIXTURES, CHANGES), 'utf8');
    const cut = whole.slice(0, whole.lastIndexOf(ORIG) + ORIG.length + 1);
    await stage(layout, async (u) => writeFile(u.path(CHANGES), cut));
    expect(await intake.scan()).toEqual({ waiting: 1, decided: [] });
    // Once looked at, a .changes waits to settle: touched again and again, its files are not hashed at every scan.
    await writeFile(join(layout.incoming, CHANGES), whole);
    expect(await intake.scan()).toEqual({ waiting: 1, decided: [] });
    await new Promise((r) => setTimeout(r, 350));
    expect((await intake.scan()).decided.map((u) => u.state)).toEqual(['accepted']);
  });

  it('accepts exactly one of two uploads of the same version', async () => {
    const { layout, intake: make } = await newArchive();
    const intake = await make();
    await stage(layout, async () => undefined);
    const first = (await intake.scan()).decided;
    await stage(layout, async () => undefined);
    const second = (await intake.scan()).decided;
    expect([...first, ...second].map((u) => u.state)).toEqual(['accepted', 'rejected']);
    expect(second[0].checks).toEqual(['version-not-newer']);
  });

  it('moves a file no .changes names out of incoming after the stray period, with a record', async () => {
    const { layout, intake } = await newArchive('uploads:\n  stray_after_hours: 1\n');
    await writeFile(join(layout.incoming, 'leftover.tar.gz'), 'x');
    await writeFile(join(layout.incoming, 'fresh.tar.gz'), 'y');
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(layout.incoming, 'leftover.tar.gz'), old, old);
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.changes, u.state, u.checks])).toEqual([['leftover.tar.gz', 'rejected', ['stray']]]);
    expect(await readdir(layout.incoming)).toEqual(['fresh.tar.gz']);
    expect(await readdir(join(layout.root, decided[0].rejectedDir!))).toContain('leftover.tar.gz');
  });

  it("removes a rejected upload's files once uploads.keep_rejected_days have passed, keeping its record, and never goes into a folder an uploader put there", async () => {
    const { layout, intake } = await newArchive('uploads:\n  stray_after_hours: 1\n  keep_rejected_days: 30\n');
    const old = new Date(Date.now() - 2 * 3600_000);
    // Three strays: a file, a folder holding a link to the queue's state (moved in unopened), and a fresh one.
    await writeFile(join(layout.incoming, 'leftover.tar.gz'), 'x');
    await mkdir(join(layout.incoming, 'leftover.d'));
    await symlink(layout.state, join(layout.incoming, 'leftover.d', 'state'));
    await writeFile(join(layout.incoming, 'recent.tar.gz'), 'y');
    for (const name of ['leftover.tar.gz', 'leftover.d', 'recent.tar.gz']) await utimes(join(layout.incoming, name), old, old);
    const { decided } = await (await intake()).scan();
    const byName = Object.fromEntries(decided.map((u) => [u.changes, u]));
    // The first two were rejected 31 days ago.
    const longAgo = new Date(Date.now() - 31 * 86_400_000).toISOString();
    for (const name of ['leftover.tar.gz', 'leftover.d']) await writeJson(join(layout.uploads, `${byName[name].id}.json`), { ...byName[name], updatedAt: longAgo });
    const first = await intake();
    expect(await first.dropOldRejections()).toBe(2);
    const stores = await storesOf(layout);
    const file = stores.uploads.get(byName['leftover.tar.gz'].id)!;
    expect(file).toMatchObject({ state: 'rejected', checks: ['stray'], filesRemovedAt: expect.any(String) });
    expect(file.rejectedDir).toBeUndefined();
    await expect(lstat(join(layout.rejected, file.id))).rejects.toThrow(/ENOENT/);
    // The folder stays, what is in it untouched (the link and what it points to), its .reason gone.
    const folder = stores.uploads.get(byName['leftover.d'].id)!;
    expect(folder.filesRemovedAt).toEqual(expect.any(String));
    expect(await readdir(join(layout.root, folder.rejectedDir!))).toEqual(['leftover.d']);
    expect((await lstat(join(layout.root, folder.rejectedDir!, 'leftover.d', 'state'))).isSymbolicLink()).toBe(true);
    expect((await readdir(layout.state)).length).toBeGreaterThan(0);
    // The recent one keeps its files; nothing is done twice.
    expect(await readdir(join(layout.root, byName['recent.tar.gz'].rejectedDir!))).toContain('recent.tar.gz');
    expect(await (await intake()).dropOldRejections()).toBe(0);
  });

  it('goes on to the other rejected uploads when one cannot be emptied', async () => {
    const { layout, intake } = await newArchive('uploads:\n  stray_after_hours: 1\n');
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const name of ['first.tar.gz', 'second.tar.gz']) {
      await writeFile(join(layout.incoming, name), 'x');
      await utimes(join(layout.incoming, name), old, old);
    }
    const decided = (await (await intake()).scan()).decided.sort((a, b) => a.changes.localeCompare(b.changes));
    for (const u of decided) await writeJson(join(layout.uploads, `${u.id}.json`), { ...u, updatedAt: new Date(0).toISOString() });
    // The first's folder is not one any more (ENOTDIR when read).
    await rm(join(layout.rejected, decided[0].id), { recursive: true });
    await writeFile(join(layout.rejected, decided[0].id), 'not a folder');
    expect(await (await intake()).dropOldRejections()).toBe(1);
    await expect(lstat(join(layout.rejected, decided[1].id))).rejects.toThrow(/ENOENT/);
  });

  it('keeps rejected uploads\' files for ever with uploads.keep_rejected_days: 0, and refuses a negative number', async () => {
    const { layout, intake } = await newArchive('uploads:\n  stray_after_hours: 1\n  keep_rejected_days: 0\n');
    await writeFile(join(layout.incoming, 'leftover.tar.gz'), 'x');
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(layout.incoming, 'leftover.tar.gz'), old, old);
    const [upload] = (await (await intake()).scan()).decided;
    await writeJson(join(layout.uploads, `${upload.id}.json`), { ...upload, updatedAt: new Date(0).toISOString() });
    expect(await (await intake()).dropOldRejections()).toBe(0);
    expect(await readdir(join(layout.root, upload.rejectedDir!))).toContain('leftover.tar.gz');
    expect(() => parseConfig('uploads:\n  keep_rejected_days: -1\n', 'archive.yaml')).toThrow('archive.yaml: uploads.keep_rejected_days: expected 0 (keep a rejected upload\'s files for ever) or a number of days up to 3650, found -1');
  });

  it('moves a FIFO and a dangling link no .changes names out of incoming as strays after the stray period, unopened', async () => {
    const { layout, intake } = await newArchive('uploads:\n  stray_after_hours: 1\n');
    await execa('mkfifo', [join(layout.incoming, 'leftover.fifo')]);
    await symlink('../nowhere', join(layout.incoming, 'leftover.link'));
    await execa('mkfifo', [join(layout.incoming, 'fresh.fifo')]);
    const old = new Date(Date.now() - 2 * 3600_000);
    // touch -h: the link's own mtime, as lstat sees it (utimes would follow it).
    for (const name of ['leftover.fifo', 'leftover.link']) await execa('touch', ['-h', '-d', old.toISOString(), join(layout.incoming, name)]);
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.changes, u.state, u.checks]).sort()).toEqual([
      ['leftover.fifo', 'rejected', ['stray']],
      ['leftover.link', 'rejected', ['stray']],
    ]);
    expect(await readdir(layout.incoming)).toEqual(['fresh.fifo']);
    const byName = Object.fromEntries(decided.map((u) => [u.changes, u]));
    expect((await lstat(join(layout.root, byName['leftover.fifo'].rejectedDir!, 'leftover.fifo'))).isFIFO()).toBe(true);
    expect((await lstat(join(layout.root, byName['leftover.link'].rejectedDir!, 'leftover.link'))).isSymbolicLink()).toBe(true);
  });

  it('records a stray folder that cannot be moved out (no write permission on it) once, not at every scan', async () => {
    const { layout, intake: make } = await newArchive('uploads:\n  stray_after_hours: 1\n');
    const intake = await make();
    const stuck = join(layout.incoming, 'leftover.d');
    await mkdir(stuck);
    await execa('touch', ['-d', new Date(Date.now() - 2 * 3600_000).toISOString(), stuck]);
    // A folder cannot be given a new parent without write permission on it; root is stopped
    // only by the immutable flag.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await execa('chattr', ['+i', stuck]);
    else await chmod(stuck, 0o555);
    try {
      const decided = [...(await intake.scan()).decided, ...(await intake.scan()).decided];
      expect(decided.map((u) => [u.changes, u.state, u.checks])).toEqual([['leftover.d', 'rejected', ['stray']]]);
      expect(decided[0].reasons[0]).toContain('could not be moved out of incoming/ (left there');
      expect(await readdir(layout.incoming)).toEqual(['leftover.d']);
    } finally {
      if (asRoot) await execa('chattr', ['-i', stuck], { reject: false });
      await chmod(stuck, 0o755);
    }
  });

  it('finishes an upload a crash left in quarantine, exactly once', async () => {
    const { layout, intake } = await newArchive();
    await stage(layout, async () => undefined);
    // The state a kill -9 leaves between recording the upload and clearing incoming/.
    const id = 'crashed-upload';
    await mkdir(join(layout.quarantine, id), { recursive: true });
    for (const f of await readdir(layout.incoming)) await copyFile(join(layout.incoming, f), join(layout.quarantine, id, f));
    const at = new Date().toISOString();
    await writeJson(join(layout.uploads, `${id}.json`), {
      id, changes: CHANGES, source: 'aib-hello', version: '1.0-1', distribution: '', state: 'received', receivedAt: at, updatedAt: at, reasons: [], sourceFiles: [], jobs: [],
    } satisfies UploadRecord);
    const restarted = await intake();
    const recovered = await restarted.recover();
    expect(recovered.map((u) => u.state)).toEqual(['accepted']);
    expect(await readdir(layout.incoming)).toEqual([]);
    expect((await restarted.scan()).decided).toEqual([]);
  });

  // The queue's process dies at a fail point (test/faults.e2e.test.ts); here the step is cut
  // short by an exception, and a new intake on the same records plays the restarted queue.
  const crashAt = (point: FailPoint): FailPointHit => (p) => {
    if (p === point) throw new Error(`crash at ${p}`);
  };

  it('finishes a rejection cut short after its files moved to state/rejected/, keeping every file', async () => {
    const { layout, intake } = await newArchive();
    const staged = await stage(layout, (u) => u.edit(CHANGES, (t) => t.replace('Distribution: unstable', 'Distribution: stable')));
    await expect((await intake(crashAt('reject'))).scan()).rejects.toThrow('crash at reject');
    const recovered = await (await intake()).recover();
    expect(recovered.map((u) => [u.state, u.checks])).toEqual([['rejected', ['distribution']]]);
    expect((await readdir(join(layout.root, recovered[0].rejectedDir!))).sort()).toEqual([...staged, `${CHANGES}.reason`].sort());
    expect(await readdir(layout.quarantine)).toEqual([]);
    expect(await readdir(layout.incoming)).toEqual([]);
  });

  it('leaves nothing in quarantine after an acceptance cut short once its record is written', async () => {
    const { layout, intake } = await newArchive();
    await stage(layout, async () => undefined);
    await expect((await intake(crashAt('accept'))).scan()).rejects.toThrow('crash at accept');
    expect((await readdir(layout.quarantine)).length).toBe(1);
    const restarted = await intake();
    expect(await restarted.recover()).toEqual([]);
    expect(await readdir(layout.quarantine)).toEqual([]);
    expect((await storesOf(layout)).uploads.all().map((u) => u.state)).toEqual(['accepted']);
  });
});

/** Fails when any regular file under public/, state/rejected/ or state/uploads/ holds the secret (links are not followed). */
async function expectNowhere(layout: Layout, secret: string): Promise<void> {
  const holders: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && (await readFile(path)).includes(secret)) holders.push(path);
    }
  };
  for (const dir of [layout.public, layout.rejected, layout.uploads, layout.quarantine]) await walk(dir);
  expect(holders).toEqual([]);
}

/** The fixture .changes with more lines in Files (and their size left as listed). */
async function changesWithFiles(extra: string[]): Promise<string> {
  const text = await readFile(join(FIXTURES, CHANGES), 'utf8');
  return text.replace(/^Files:\n/m, `Files:\n${extra.join('\n')}\n`);
}

describe('hostile files in incoming/', () => {
  const SECRET = 'SECRET-0123456789abcdef-not-for-the-status-page';

  it('rejects a .changes that is a symbolic link to the API token as not a regular file, and quotes nothing of it', async () => {
    const { layout, intake } = await newArchive();
    await writeFile(layout.apiToken, `${SECRET}\n`);
    await symlink('../state/api-token', join(layout.incoming, CHANGES));
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.state, u.checks])).toEqual([['rejected', ['not-regular-file']]]);
    expect(decided[0].reasons.join('\n')).toContain(`${CHANGES}: not a regular file (a symbolic link)`);
    await expectNowhere(layout, SECRET);
    expect(await readdir(layout.incoming)).toEqual([]);
    expect(await readFile(layout.apiToken, 'utf8')).toBe(`${SECRET}\n`);
  });

  it('rejects a .changes linked to a FIFO without opening it (an open for reading would block)', async () => {
    const { layout, intake } = await newArchive();
    await execa('mkfifo', [join(layout.state, 'fifo')]);
    await symlink('../state/fifo', join(layout.incoming, CHANGES));
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.state, u.checks])).toEqual([['rejected', ['not-regular-file']]]);
  });

  it.each([
    ['a FIFO', ['mkfifo']],
    ['a device node', ['mknod', '-m', '644', undefined, 'c', '1', '5']],
    ['a directory', ['mkdir']],
  ] as const)('rejects a .changes that is %s as not a regular file, and takes the good upload beside it', async (kind, command) => {
    const { layout, intake } = await newArchive();
    await stage(layout, async () => undefined);
    const hostile = join(layout.incoming, 'aib-other_1.0-1_source.changes');
    const [program, ...args] = command;
    await execa(program, args.length ? args.map((a) => a ?? hostile) : [hostile]);
    const { decided } = await (await intake()).scan();
    const byName = Object.fromEntries(decided.map((u) => [u.changes, [u.state, u.checks, u.reasons.join('\n')]]));
    expect(byName[CHANGES]?.[0]).toBe('accepted');
    expect(byName['aib-other_1.0-1_source.changes']).toEqual(['rejected', ['not-regular-file'], expect.stringContaining(`not a regular file (${kind})`)]);
    expect(await readdir(layout.incoming)).toEqual([]);
  });

  it('rejects a .changes that is a folder holding a 0555 subfolder once, with one record, keeps it unopened, and goes on', async () => {
    const { layout, intake: make } = await newArchive();
    const intake = await make();
    const other = 'aib-other_1.0-1_source.changes';
    const locked = join(layout.incoming, other, 'sub', 'file');
    await mkdir(join(layout.incoming, other, 'sub'), { recursive: true });
    await writeFile(locked, 'x');
    await chmod(join(layout.incoming, other, 'sub'), 0o555);
    // Root is not held back by 0555 (the queue's user is): an immutable file stops root alike.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await execa('chattr', ['+i', locked]);
    try {
      await stage(layout, async () => undefined);
      const decided = [...(await intake.scan()).decided, ...(await intake.scan()).decided];
      const byName = Object.fromEntries(decided.map((u) => [u.changes, [u.state, u.checks]]));
      expect(byName).toEqual({ [CHANGES]: ['accepted', []], [other]: ['rejected', ['not-regular-file']] });
      const records = (await readdir(layout.uploads)).filter((n) => n.endsWith('.json'));
      expect(records).toHaveLength(2);
      const rejected = decided.find((u) => u.changes === other)!;
      expect((await lstat(join(layout.root, rejected.rejectedDir!, other))).isDirectory()).toBe(true);
      expect(await readdir(layout.incoming)).toEqual([]);
    } finally {
      if (asRoot) await execa('chattr', ['-R', '-i', layout.root], { reject: false });
      await execa('chmod', ['-R', 'u+w', layout.root], { reject: false });
    }
  });

  it('records a .changes that is a folder it cannot move out (no write permission on it) once, not at every scan', async () => {
    const { layout, intake: make } = await newArchive();
    const intake = await make();
    const other = 'aib-other_1.0-1_source.changes';
    const folder = join(layout.incoming, other);
    await mkdir(folder);
    // A folder is given a new parent only with write permission on itself; root needs it immutable.
    const asRoot = process.getuid?.() === 0;
    await (asRoot ? execa('chattr', ['+i', folder]) : chmod(folder, 0o555));
    try {
      const decided = [...(await intake.scan()).decided, ...(await intake.scan()).decided, ...(await intake.scan()).decided];
      expect(decided.map((u) => [u.changes, u.state, u.checks])).toEqual([[other, 'rejected', ['not-regular-file']]]);
      expect((await readdir(layout.uploads)).filter((n) => n.endsWith('.json'))).toHaveLength(1);
      expect(await readdir(layout.incoming)).toEqual([other]);
    } finally {
      if (asRoot) await execa('chattr', ['-i', folder], { reject: false });
      await chmod(folder, 0o755);
    }
  });

  it('moves a refused folder swapped for a link to a folder outside incoming/ as the link, never touching that folder', async () => {
    const { layout, intake } = await newArchive();
    const other = 'aib-other_1.0-1_source.changes';
    await mkdir(join(layout.incoming, other));
    const outside = join(layout.root, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'precious'), 'keep me');
    // Refused as a folder; swapped for the link after its record, before it leaves incoming/.
    const queue = await intake((point) => {
      if (point !== 'arrival') return;
      rmdirSync(join(layout.incoming, other));
      symlinkSync(outside, join(layout.incoming, other));
    });
    const { decided } = await queue.scan();
    expect(decided.map((u) => [u.changes, u.state, u.checks])).toEqual([[other, 'rejected', ['not-regular-file']]]);
    expect(await readFile(join(outside, 'precious'), 'utf8')).toBe('keep me');
    expect((await lstat(join(layout.root, decided[0].rejectedDir!, other))).isSymbolicLink()).toBe(true);
    expect(await readdir(layout.incoming)).toEqual([]);
  });

  it('never copies a listed file that is a symbolic link to the archive key into quarantine, the pool or state/rejected/', async () => {
    const { layout, intake } = await newArchive();
    await writeFile(layout.secretKey, `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${SECRET}\n`);
    await stage(layout, async () => undefined);
    await rm(join(layout.incoming, ORIG));
    await symlink('../state/archive-key.sec', join(layout.incoming, ORIG));
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.state, u.checks])).toEqual([['rejected', ['not-regular-file']]]);
    expect(decided[0].reasons).toEqual([expect.stringContaining(`${ORIG}: not a regular file (a symbolic link)`)]);
    await expectNowhere(layout, SECRET);
    expect(await readdir(layout.incoming)).toEqual([]);
  });

  it.each([
    ['a link to the archive key', (at: string) => symlink('../../archive-key.sec', at)],
    ['a FIFO', (at: string) => execa('mkfifo', [at])],
  ] as const)("writes a rejection's .reason as a new file, never through a listed file named as it (%s)", async (_, plant) => {
    const { layout, intake } = await newArchive();
    const key = `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${SECRET}\n`;
    await writeFile(layout.secretKey, key);
    await stage(layout, async () => undefined);
    const reason = `${CHANGES}.reason`;
    await writeFile(join(layout.incoming, CHANGES), await changesWithFiles([` d41d8cd98f00b204e9800998ecf8427e 0 misc optional ${reason}`]));
    // Relative to state/rejected/ID/, where a rejection's files go: state/archive-key.sec.
    await plant(join(layout.incoming, reason));
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.state, u.checks?.includes('file-name')])).toEqual([['rejected', true]]);
    expect(decided[0].reasons.join('\n')).toContain(`${reason}: named as this upload's rejection reason; not taken (left in incoming/)`);
    expect(await readFile(layout.secretKey, 'utf8')).toBe(key);
    expect(await readFile(join(layout.root, decided[0].rejectedDir!, reason), 'utf8')).toContain(`${CHANGES} was rejected at`);
    expect(await readdir(layout.incoming)).toEqual([reason]);
  });

  it('rejects a .changes of 32 MiB at once, without parsing it', async () => {
    const { layout, intake } = await newArchive();
    const text = await readFile(join(FIXTURES, CHANGES), 'utf8');
    const padding = ` ${'x'.repeat(1023)}\n`.repeat(32 * 1024);
    await stage(layout, async () => undefined);
    await writeFile(join(layout.incoming, CHANGES), text.replace(' .\n', ` .\n${padding}`));
    const started = Date.now();
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.state, u.checks])).toEqual([['rejected', ['too-large']]]);
    expect(decided[0].reasons[0]).toMatch(new RegExp(`^${CHANGES}: 335\\d{5} bytes; a .changes or .dsc may have at most 4194304`));
    expect(Date.now() - started).toBeLessThan(3000);
  });

  // Sparse files: terabytes that cost their uploader nothing, and must cost the queue no copy.
  /** The upload's orig tarball made `size` bytes long (sparse), the .changes listing `listed`. */
  const hugeOrig = async (layout: Layout, size: number, listed: number) => {
    await stage(layout, async () => undefined);
    await truncate(join(layout.incoming, ORIG), size);
    const text = await readFile(join(layout.incoming, CHANGES), 'utf8');
    await writeFile(join(layout.incoming, CHANGES), text.replaceAll(` 361 ${ORIG}`, ` ${listed} ${ORIG}`).replaceAll(` 361 misc optional ${ORIG}`, ` ${listed} misc optional ${ORIG}`));
  };
  /** The blocks a file in an upload's rejected folder takes: a moved sparse file, next to none. */
  const blocksOf = async (layout: Layout, upload: UploadRecord, name: string) => (await stat(join(layout.root, upload.rejectedDir!, name))).blocks;

  it('moves a sparse .changes of a terabyte into the rejection unread, not copied', async () => {
    const { layout, intake } = await newArchive();
    await writeFile(join(layout.incoming, CHANGES), 'Format: 1.8\n');
    await truncate(join(layout.incoming, CHANGES), 1024 ** 4);
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.state, u.checks])).toEqual([['rejected', ['too-large']]]);
    expect(await blocksOf(layout, decided[0], CHANGES)).toBeLessThan(64);
    expect(await readdir(layout.incoming)).toEqual([]);
  });

  it('refuses a listed file of another size than listed unread (a sparse terabyte listed as 361 bytes), not copied', async () => {
    const { layout, intake } = await newArchive();
    await hugeOrig(layout, 1024 ** 4, 361);
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.state, u.checks])).toEqual([['rejected', ['size']]]);
    expect(decided[0].reasons).toEqual([`${ORIG}: ${1024 ** 4} bytes, but ${CHANGES} lists 361; not read (kept unopened)`]);
    expect(await blocksOf(layout, decided[0], ORIG)).toBeLessThan(64);
    expect(await readdir(layout.incoming)).toEqual([]);
  });

  it('refuses unread an upload larger than the file system holds; one larger than its free space is not copied, but waits, said once, while the others are taken', async () => {
    const { layout, config } = await newArchive();
    const logged: string[] = [];
    const intake = new UploadIntake(layout, await storesOf(layout), () => config, async () => undefined, { stableMs: 0, wrongSizeGraceMs: 0, log: (m) => logged.push(m) });
    const disk = await statfs(layout.state);
    const whole = disk.blocks * disk.bsize;
    await hugeOrig(layout, whole + 1024 ** 3, whole + 1024 ** 3);
    const { decided } = await intake.scan();
    expect(decided.map((u) => [u.state, u.checks])).toEqual([['rejected', ['too-large']]]);
    expect(decided[0].reasons[0]).toMatch(new RegExp(`^${CHANGES}: the upload's files are \\d+ bytes, more than the archive's file system holds \\(${whole}\\); not read`));
    expect(await blocksOf(layout, decided[0], ORIG)).toBeLessThan(64);
    expect(await readdir(layout.incoming)).toEqual([]);
    // Larger than what is free: it waits in incoming/, nothing copied, said once; an upload beside it is taken.
    const free = (await statfs(layout.state)).bavail * disk.bsize;
    await hugeOrig(layout, free + 1024 ** 3, free + 1024 ** 3);
    await writeFile(join(layout.incoming, 'aib-other_1.0-1_source.changes'), 'Format: 1.8\n');
    for (let i = 0; i < 2; i++) {
      const { waiting, decided: other } = await intake.scan();
      expect([waiting, other.map((u) => u.changes)]).toEqual([1, i === 0 ? ['aib-other_1.0-1_source.changes'] : []]);
    }
    expect(logged.filter((m) => m.includes('not taken yet'))).toEqual([
      expect.stringMatching(/^incoming\/aib-hello_1.0-1_source.changes: not taken yet: ENOSPC: no space left on device, copy '.*incoming\/aib-hello_1.0-1_source.changes' and its files \(\d+ bytes\) into '.*quarantine' \(\d+ bytes free\); taken once there is room$/),
    ]);
    expect((await readdir(layout.incoming)).sort()).toEqual([BUILDINFO, CHANGES, DEBIAN, DSC, ORIG].sort());
  });

  it('rejects a .changes listing 50,000 files at once, and takes the upload after it', async () => {
    const { layout, intake: make } = await newArchive();
    const intake = await make();
    const lines = Array.from({ length: 50_000 }, (_, i) => ` d41d8cd98f00b204e9800998ecf8427e 0 misc optional aib-many_1.0.orig-c${i}.tar.gz`);
    await writeFile(join(layout.incoming, 'aib-many_1.0-1_source.changes'), (await changesWithFiles(lines)).replaceAll('aib-hello', 'aib-many'));
    const started = Date.now();
    const first = (await intake.scan()).decided;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(first.map((u) => [u.state, u.checks])).toEqual([['rejected', ['changes-parse']]]);
    expect(first[0].reasons[0]).toContain('field Files lists 50004 files; an upload may list at most 500');
    await stage(layout, async () => undefined);
    expect((await intake.scan()).decided.map((u) => u.state)).toEqual(['accepted']);
  });

  it('rejects a .changes whose name is too long for the quarantine, and takes the upload beside it', async () => {
    const { layout, intake } = await newArchive();
    await stage(layout, async () => undefined);
    const long = `aib-hello_1.0-1${'a'.repeat(250 - 'aib-hello_1.0-1_source.changes'.length)}_source.changes`;
    expect(long.length).toBe(250);
    // It lists no files, so that it is taken at once, whichever of the two comes first.
    await writeFile(join(layout.incoming, long), (await readFile(join(FIXTURES, CHANGES), 'utf8')).replace(/^ [0-9a-f]{32,64} .*\n/gm, ''));
    const { decided } = await (await intake()).scan();
    const byName = Object.fromEntries(decided.map((u) => [u.changes, [u.state, u.checks]]));
    expect(byName).toEqual({ [CHANGES]: ['accepted', []], [long]: ['rejected', ['name-too-long']] });
    const rejected = decided.find((u) => u.changes === long)!;
    expect(await readdir(join(layout.root, rejected.rejectedDir!))).toHaveLength(2); // the file and its .reason
    expect(await readdir(layout.incoming)).toEqual([]);
  });

  it.each([`${'a'.repeat(243)}.tar.gz`, `${'a'.repeat(200)}.reason`])('moves a stray file whose name is too long for the quarantine out like any other (%s), its .reason beside it', async (long) => {
    const { layout, intake } = await newArchive('uploads:\n  stray_after_hours: 1\n');
    await writeFile(join(layout.incoming, long), 'x');
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(layout.incoming, long), old, old);
    const { decided } = await (await intake()).scan();
    expect(decided.map((u) => [u.changes, u.state, u.checks])).toEqual([[long, 'rejected', ['stray']]]);
    const kept = await readdir(join(layout.root, decided[0].rejectedDir!));
    expect(kept).toHaveLength(2);
    expect(kept).toContain(long);
    expect(await readFile(join(layout.root, decided[0].rejectedDir!, long), 'utf8')).toBe('x');
    expect(await readdir(layout.incoming)).toEqual([]);
  });

  it('cuts a reason that would quote a field of 100,000 characters at 1,000', async () => {
    const { layout, intake } = await newArchive();
    await stage(layout, (u) => u.edit(CHANGES, (t) => t.replace(/^Maintainer: .*$/m, `Maintainer: ${'x'.repeat(100_000)}`)));
    const [upload] = (await (await intake()).scan()).decided;
    expect(upload.checks).toEqual(['maintainer']);
    expect(upload.reasons[0]).toMatch(/^aib-hello_1\.0-1_source\.changes: Maintainer "x{900,}… \(cut at 1000 characters\)$/);
    expect(upload.reasons[0].length).toBeLessThan(1100);
  });

  it('rejects an upload that makes the intake fail unexpectedly, with the error as its reason, and takes the next one', async () => {
    const { layout, intake: make } = await newArchive();
    const intake = await make();
    // A file where the source's pool folder belongs: placing the upload's files fails (ENOTDIR).
    const dir = join(layout.public, 'pool/main/a/aib-hello');
    await mkdir(join(dir, '..'), { recursive: true });
    await writeFile(dir, 'not a folder');
    await stage(layout, async () => undefined);
    const first = (await intake.scan()).decided;
    expect(first.map((u) => [u.state, u.checks])).toEqual([['rejected', ['internal-error']]]);
    expect(first[0].reasons[0]).toMatch(/^aib-hello_1\.0-1_source\.changes: the queue failed while deciding this upload: ENOTDIR: not a directory, link 'state\/quarantine\//);
    expect(await readdir(layout.quarantine)).toEqual([]);
    await rm(dir);
    await stage(layout, async () => undefined);
    expect((await intake.scan()).decided.map((u) => u.state)).toEqual(['accepted']);
    expect(await (await make()).recover()).toEqual([]);
  });
});

describe('the uploaders keyring', () => {
  it('adds armored keys to a binary keyring gpgv reads, and lists them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aib-kr-'));
    await writeFile(join(dir, 'good.asc'), (await gpg(['--armor', '--export', keys.good])).stdout);
    const added = await addKeysToKeyring(undefined, 'good.asc', await readFile(join(dir, 'good.asc')), (bytes) => writeFileAtomic(join(dir, 'uploaders.gpg'), bytes));
    expect(added.map((k) => k.fingerprint)).toEqual([keys.good]);
    const listed = await listKeys(await readFile(join(dir, 'uploaders.gpg')));
    expect(listed).toEqual([expect.objectContaining({ fingerprint: keys.good, uids: ['Good Uploader <good@example.org>'], revoked: false })]);
    await rm(dir, { recursive: true, force: true });
  });
});
