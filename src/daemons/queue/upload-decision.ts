// Deciding a quarantined upload: its files checked (core/upload-checks.ts, on the copies
// only, signatures with gpgv), then accepted (the source pooled, its jobs made) or rejected
// (every file kept with a .reason under state/rejected/ID/). upload-intake.ts brings uploads here.
import { mkdir, readdir, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suiteFor, type ArchiveConfig } from '../../config/config.js';
import { planBuilds } from '../../core/build-plan.js';
import { newBuildJob, type JobRecord } from '../../core/jobs.js';
import type { SignatureVerdict } from '../../core/signature-verdict.js';
import { checkUpload, type FailedCheck } from '../../core/upload-checks.js';
import type { PoolFileRecord, UploadRecord } from '../../core/uploads.js';
import {
  MAX_CONTROL_FILE_BYTES, MAX_NAME_BYTES, parseChanges, parseDsc, UPLOAD_LIST_CAP, type ChangesFile, type DscFile,
} from '../../debian/changes-dsc.js';
import { decodeControlFile } from '../../debian/deb822.js';
import type { FileDigest } from '../../debian/file-digest.js';
import { sourcesStanza } from '../../debian/indices.js';
import { componentFor, poolDirOf, SAFE_FILE_NAME } from '../../debian/pool-path.js';
import { compareVersions } from '../../debian/version.js';
import { verifyClearsigned } from '../../process/gpg.js';
import { exists, fileFacts, placeFile } from '../../storage/files.js';
import { readRegularFile } from '../../storage/open-regular-file.js';
import type { Layout } from '../../storage/layout.js';
import type { RecordStore } from '../../storage/record-store.js';
import type { UploadErrors } from './upload-errors.js';

/** The longest reason kept for one failed check, in characters. */
const MAX_REASON = 1000;

/** A .changes or .dsc (from incoming/ or quarantine), read only if it is a regular file of sane size. */
export async function readControlFile(path: string, name: string): Promise<string> {
  return (await readControlBytes(path, name)).text;
}

/** A control file as read once: its bytes and their text, for what must be checked and parsed from the same read. */
export interface ControlBytes {
  bytes: Buffer;
  text: string;
}

/** readControlFile, keeping the bytes read too. */
export async function readControlBytes(path: string, name: string): Promise<ControlBytes> {
  const { data, size } = await readRegularFile(path, MAX_CONTROL_FILE_BYTES);
  if (!data) throw new Error(tooLarge(name, size));
  return { bytes: data, text: decodeControlFile(data, name) };
}

/** A clear-signed file's verdict against the uploaders keyring (`verify` runs gpgv on it); unsigned, or no keyring, said as such. */
export async function uploaderSignature(layout: Layout, config: ArchiveConfig, signed: boolean, verify: (keyring: string) => Promise<SignatureVerdict>): Promise<SignatureVerdict> {
  if (!signed) return { state: 'unsigned' };
  const keyring = join(layout.root, config.uploads.keyring);
  if (!(await exists(keyring))) return { state: 'unknown-key', detail: `the uploaders keyring ${config.uploads.keyring} is empty` };
  return verify(keyring);
}

export function tooLarge(name: string, size: number): string {
  return `${name}: ${size} bytes; a .changes or .dsc may have at most ${MAX_CONTROL_FILE_BYTES} (it was not read)`;
}

/**
 * The rejection's .reason beside the upload's files: a .changes (or stray) name too long to
 * extend is shortened; never the name itself (a stray of 200 characters and ".reason").
 */
export function reasonName(changes: string): string {
  const name = `${Buffer.byteLength(changes) <= MAX_NAME_BYTES ? changes : changes.replace(/[^a-zA-Z0-9_.~+-]/g, '_').slice(0, MAX_NAME_BYTES)}.reason`;
  return name === changes ? `${changes}.reason` : name;
}

/** Where uploads and the jobs they make are recorded. */
export interface IntakeStores {
  uploads: RecordStore<UploadRecord>;
  jobs: RecordStore<JobRecord>;
  /** The version of a source a suite publishes, also one no upload brought (an include, a copy, a migration). */
  published: (suite: string, source: string) => string | undefined;
}

export interface DecisionContext {
  layout: Layout;
  stores: IntakeStores;
  config: () => ArchiveConfig;
  onAccepted: (upload: UploadRecord) => Promise<void>;
  now: () => number;
  log: (message: string) => void;
}

export class UploadDecision {
  constructor(
    private readonly o: DecisionContext,
    private readonly errors: UploadErrors,
  ) {}

  /**
   * Checks a quarantined upload and accepts or rejects it, inside an error boundary: an
   * unexpected error rejects the upload with the error as its reason, and the queue goes on.
   */
  async decide(upload: UploadRecord): Promise<UploadRecord> {
    try {
      return await this.check(upload);
    } catch (err) {
      this.errors.rethrowIfNotTheUploads(err);
      // Decided already (the error came after its record said so): nothing to undo here.
      if (upload.state !== 'received') throw err;
      this.o.log(`upload ${upload.id}: unexpected error, rejecting it: ${(err as Error)?.stack ?? String(err)}`);
      return this.reject(upload, [this.errors.internalError(upload.changes, err)]);
    }
  }

  private async check(upload: UploadRecord): Promise<UploadRecord> {
    const l = this.o.layout;
    const config = this.o.config();
    const dir = join(l.quarantine, upload.id);
    if (upload.reasons.length > 0) {
      return this.reject(upload, upload.reasons.map((message, i) => ({ check: (upload.checks?.[i] ?? 'incomplete') as FailedCheck['check'], message })));
    }
    let changes: ChangesFile;
    try {
      changes = parseChanges(await readControlFile(join(dir, upload.changes), upload.changes), upload.changes, UPLOAD_LIST_CAP);
    } catch (err) {
      return this.reject(upload, [{ check: 'changes-parse', message: `${upload.changes}: cannot be read as a .changes file: ${(err as Error).message}` }]);
    }
    upload.source = changes.source;
    upload.version = changes.version;
    upload.distribution = changes.distributions.join(' ');
    const suite = changes.distributions.length === 1 ? suiteFor(config, changes.distributions[0]) : undefined;
    upload.suite = suite?.name;

    const facts = new Map<string, FileDigest>();
    for (const name of await readdir(dir)) if (name !== upload.changes) facts.set(name, await fileFacts(join(dir, name)));
    const dscEntries = changes.files.filter((f) => f.name.endsWith('.dsc'));
    let dsc: DscFile | undefined;
    let dscError: string | undefined;
    if (dscEntries.length === 1 && facts.has(dscEntries[0].name)) {
      try {
        dsc = parseDsc(await readControlFile(join(dir, dscEntries[0].name), dscEntries[0].name), dscEntries[0].name, UPLOAD_LIST_CAP);
      } catch (err) {
        dscError = `${dscEntries[0].name}: cannot be read as a .dsc file: ${(err as Error).message}`;
      }
    }
    const pool = new Map<string, FileDigest>();
    if (dsc && suite && SAFE_FILE_NAME.test(dsc.source)) {
      const section = changes.files.find((f) => f.name === dsc!.fileName)?.section;
      const poolDir = join(l.public, poolDirOf(componentFor(section, suite.components), dsc.source));
      for (const f of [{ name: dsc.fileName }, ...dsc.files]) {
        if (SAFE_FILE_NAME.test(f.name) && (await exists(join(poolDir, f.name)))) pool.set(f.name, await fileFacts(join(poolDir, f.name)));
      }
    }
    const current = [
      ...this.o.stores.uploads
        .all()
        .filter((u) => u.suite === upload.suite && u.source === upload.source && u.id !== upload.id && !['received', 'rejected'].includes(u.state))
        .map((u) => u.version),
      ...(suite ? [this.o.stores.published(suite.name, changes.source)].filter((v): v is string => v !== undefined) : []),
    ]
      .sort(compareVersions)
      .pop();
    let signatures: { changes: SignatureVerdict; dsc?: SignatureVerdict } | undefined;
    if (!config.uploads.allowUnsigned) {
      signatures = {
        changes: await this.verify(join(dir, upload.changes), changes.signed),
        dsc: dsc ? await this.verify(join(dir, dsc.fileName), dsc.signed) : undefined,
      };
      if (signatures.changes.state === 'good') upload.signedBy = signatures.changes.fingerprint;
    }
    const failed = checkUpload({ changes, facts, dsc, dscError, config, currentVersion: current, pool, signatures });
    if (failed.length > 0 || !dsc || !suite) return this.reject(upload, failed);
    return this.accept(upload, changes, dsc, suite.name);
  }

  private async verify(file: string, signed: boolean): Promise<SignatureVerdict> {
    return uploaderSignature(this.o.layout, this.o.config(), signed, (keyring) => verifyClearsigned(file, keyring));
  }

  async reject(upload: UploadRecord, failed: FailedCheck[]): Promise<UploadRecord> {
    const l = this.o.layout;
    // A reason quotes a field's value at most in part: one line may be megabytes long, and the
    // reason goes into the record, the .reason file and the status page.
    failed = failed.map((f) => (f.message.length <= MAX_REASON ? f : { ...f, message: `${f.message.slice(0, MAX_REASON)}… (cut at ${MAX_REASON} characters)` }));
    const target = join(l.rejected, upload.id);
    await mkdir(l.rejected, { recursive: true });
    await rm(target, { recursive: true, force: true });
    await rename(join(l.quarantine, upload.id), target);
    this.errors.failPoint('reject');
    const text = `${upload.changes} was rejected at ${new Date(this.o.now()).toISOString()}:\n\n${failed.map((f) => `- [${f.check}] ${f.message}`).join('\n')}\n\nEvery file of the upload is kept beside this file.\n`;
    // A new file, never through an entry of that name (intake takes none: file-name).
    await writeFile(join(target, reasonName(upload.changes)), text, { flag: 'wx' });
    Object.assign(upload, {
      state: 'rejected',
      reasons: failed.map((f) => f.message),
      checks: failed.map((f) => f.check),
      rejectedDir: `state/rejected/${upload.id}`,
      updatedAt: new Date(this.o.now()).toISOString(),
    });
    await this.o.stores.uploads.save(upload);
    this.o.log(`upload ${upload.id}: REJECTED\n  ${upload.reasons.join('\n  ')}`);
    return upload;
  }

  /**
   * The files of uploads rejected more than uploads.keep_rejected_days ago removed, their records
   * kept (saying when), as dak's clean-queues empties its reject queue; how many uploads' went.
   * Only what the rejection's folder holds itself, each entry unlinked (never followed): a folder
   * an uploader put where a file belonged, moved in unopened, stays, and the folder with it. Its
   * owner may still hold it open and change it; removing what is in it would go by path, and a
   * folder swapped for a link meanwhile would have the queue delete through the link.
   */
  async dropOldRejections(): Promise<number> {
    const days = this.o.config().uploads.keepRejectedDays;
    if (days <= 0) return 0;
    const before = this.o.now() - days * 86_400_000;
    let dropped = 0;
    for (const upload of this.o.stores.uploads.all()) {
      if (upload.state !== 'rejected' || !upload.rejectedDir || upload.filesRemovedAt || !(Date.parse(upload.updatedAt) < before)) continue;
      // One that cannot be emptied (a folder without write permission) is said, and the rest go on.
      if (await this.dropRejection(upload, days).catch((err: Error) => void this.o.log(`upload ${upload.id}: its files could not be removed: ${err.message}`))) dropped++;
    }
    return dropped;
  }

  /** One rejected upload's files removed (dropOldRejections); whether they were. */
  private async dropRejection(upload: UploadRecord, days: number): Promise<boolean> {
    const dir = join(this.o.layout.rejected, upload.id);
    const left: string[] = [];
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
    for (const entry of entries) {
      const gone = entry.isDirectory() ? false : await unlink(join(dir, entry.name)).then(
        () => true,
        (err: NodeJS.ErrnoException) => err.code === 'ENOENT' || (['EISDIR', 'EPERM'].includes(err.code ?? '') ? false : Promise.reject(err)),
      );
      if (!gone) left.push(entry.name);
    }
    if (left.length === 0) await rmdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    const at = new Date(this.o.now()).toISOString();
    await this.o.stores.uploads.save({ ...upload, filesRemovedAt: at, ...(left.length === 0 && { rejectedDir: undefined }) });
    this.o.log(`upload ${upload.id}: its files removed, ${days} days after its rejection (uploads.keep_rejected_days)${left.length ? `; left: ${left.join(', ')} (a folder, moved in unopened)` : ''}`);
    return true;
  }

  /** Pool first (idempotent), then jobs, then the record: a crash anywhere is redone safely. */
  private async accept(upload: UploadRecord, changes: ChangesFile, dsc: DscFile, suiteName: string): Promise<UploadRecord> {
    const l = this.o.layout;
    const dir = join(l.quarantine, upload.id);
    const suite = this.o.config().suites.find((s) => s.name === suiteName)!;
    const dscEntry = changes.files.find((f) => f.name === dsc.fileName)!;
    const poolDir = poolDirOf(componentFor(dscEntry.section, suite.components), dsc.source);
    const sourceFiles: PoolFileRecord[] = [];
    for (const name of [dsc.fileName, ...dsc.files.map((f) => f.name)]) {
      const uploaded = join(dir, name);
      const pooled = join(l.public, poolDir, name);
      // A file the upload left out (an orig tarball) is the pool's, checked above.
      const from = (await exists(uploaded)) ? uploaded : pooled;
      const facts = await fileFacts(from);
      if (from === uploaded) await placeFile(uploaded, pooled, facts.sha256);
      sourceFiles.push({ name, path: `${poolDir}/${name}`, ...facts });
    }
    const stanza = sourcesStanza(dsc, { ...sourceFiles[0], path: sourceFiles[0].path }, poolDir, dscEntry);
    const at = new Date(this.o.now()).toISOString();
    const jobs = planBuilds(dsc.architectures, suite.architectures, this.o.config().builds.archAll).map((p) => newBuildJob({ id: upload.id, source: dsc.source, version: dsc.version }, suite, p, at));
    for (const job of jobs) await this.o.stores.jobs.save(job);
    Object.assign(upload, {
      state: jobs.length ? 'accepted' : 'published',
      sourceFiles,
      sourceStanza: stanza.entries(),
      jobs: jobs.map((j) => j.id),
      updatedAt: at,
    });
    await this.o.stores.uploads.save(upload);
    this.errors.failPoint('accept');
    await rm(dir, { recursive: true, force: true });
    this.o.log(`upload ${upload.id}: ACCEPTED ${dsc.source} ${dsc.version} into ${suite.name}; builds: ${jobs.map((j) => `${j.arch} (${j.buildArg})`).join(', ') || 'none for the configured architectures'}`);
    await this.o.onAccepted(upload);
    return upload;
  }
}
