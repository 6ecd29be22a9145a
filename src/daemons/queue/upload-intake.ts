// From incoming/ into quarantine. An upload is taken when every file its .changes lists is
// present and has stopped changing, or at once when the .changes is whole and every file has
// its listed size and checksum (what dput leaves: it writes the .changes last); the set is
// copied into a private quarantine and recorded before incoming/ is cleared, then decided on
// the copies only (upload-decision.ts). Files no .changes names become strays. The caller runs
// each step serially.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchiveConfig } from '../../config/config.js';
import type { SignatureVerdict } from '../../core/signature-verdict.js';
import { signatureMessage, type FailedCheck } from '../../core/upload-checks.js';
import type { UploadRecord } from '../../core/uploads.js';
import { MAX_CONTROL_FILE_BYTES, MAX_NAME_BYTES, parseChanges, UPLOAD_LIST_CAP, wholeChanges, type ChangesFile } from '../../debian/changes-dsc.js';
import { unwrapSigned } from '../../debian/deb822.js';
import { SAFE_FILE_NAME } from '../../debian/pool-path.js';
import { verifyClearsignedBytes } from '../../process/gpg.js';
import { diskSpace, exists } from '../../storage/files.js';
import { copyRegularFile, NotRegularFile, regularFileSha256, SizeChanged } from '../../storage/open-regular-file.js';
import type { Layout } from '../../storage/layout.js';
import type { FailPointHit } from './crash-at-fail-point.js';
import { readControlBytes, reasonName, tooLarge, UploadDecision, uploaderSignature, type ControlBytes, type IntakeStores } from './upload-decision.js';
import { UploadErrors } from './upload-errors.js';

/**
 * At most this much listed is taken before it settles (wholeBeforeSettled): its files are hashed
 * once more for it, which a source package of a few megabytes does not notice.
 */
const FAST_INTAKE_BYTES = 64 * 1024 * 1024;

export interface IntakeOptions {
  /** How long a file must keep its size and mtime before it counts as complete. */
  stableMs?: number;
  /** A stable file of the wrong size is taken (to be rejected) after this long. */
  wrongSizeGraceMs?: number;
  now?: () => number;
  log?: (message: string) => void;
  /** Called at the steps a test may crash the queue at (daemons/queue/crash-at-fail-point.ts). */
  failPoint?: FailPointHit;
}

/** An upload larger than the disk's free space: left in incoming/ until there is room. */
class NoRoomYet extends Error {}

export interface ScanResult {
  /** Uploads still waiting for files or for them to settle. */
  waiting: number;
  decided: UploadRecord[];
}

export class UploadIntake {
  private seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  /** .changes in incoming/ that were looked at to be taken before they settled (wholeBeforeSettled). */
  private readonly triedWhole = new Set<string>();
  /** .changes whose failure could not even be recorded, by mtime: not taken again until they change. */
  private readonly unrecordable = new Map<string, number>();
  /** .changes of uploads larger than the free space, by mtime: said once, taken once there is room. */
  private readonly noRoom = new Map<string, number>();
  /** Strays and .changes that could not be renamed out of incoming/ (a folder without write permission), by mtime: recorded once, not again until they change. */
  private readonly unmovable = new Map<string, number>();
  private readonly stableMs: number;
  private readonly wrongSizeGraceMs: number;
  private readonly now: () => number;
  private readonly log: (message: string) => void;
  private readonly errors: UploadErrors;
  private readonly decision: UploadDecision;

  constructor(
    private readonly layout: Layout,
    private readonly stores: IntakeStores,
    private readonly config: () => ArchiveConfig,
    onAccepted: (upload: UploadRecord) => Promise<void>,
    options: IntakeOptions = {},
  ) {
    this.stableMs = options.stableMs ?? 1000;
    this.wrongSizeGraceMs = options.wrongSizeGraceMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.errors = new UploadErrors(layout.root, options.failPoint);
    this.decision = new UploadDecision({ layout, stores, config, onAccepted, now: this.now, log: this.log }, this.errors);
  }

  /** Checks a quarantined upload and accepts or rejects it (upload-decision.ts). */
  decide(upload: UploadRecord): Promise<UploadRecord> {
    return this.decision.decide(upload);
  }

  /** Removes the files of uploads rejected longer ago than uploads.keep_rejected_days (upload-decision.ts). */
  dropOldRejections(): Promise<number> {
    return this.decision.dropOldRejections();
  }

  /** After a crash: decide uploads left in quarantine; drop half-made quarantine folders. */
  async recover(): Promise<UploadRecord[]> {
    const l = this.layout;
    await mkdir(l.quarantine, { recursive: true });
    const decided: UploadRecord[] = [];
    for (const upload of this.stores.uploads.all()) {
      if (upload.state !== 'received') continue;
      this.log(`upload ${upload.id}: was in quarantine at a stop; deciding it now`);
      await this.dropIncomingCopies(upload);
      // Stopped between moving a rejected upload out of quarantine and recording it: move it
      // back (without the .reason) and decide again, rather than lose track of its files.
      const quarantined = join(l.quarantine, upload.id);
      const rejected = join(l.rejected, upload.id);
      if (!(await exists(quarantined)) && (await exists(rejected))) {
        await rm(join(rejected, reasonName(upload.changes)), { force: true });
        await rename(rejected, quarantined);
      }
      decided.push(await this.decide(upload));
    }
    // A quarantine folder without a record was being filled: its originals are still in incoming/.
    // One whose upload is decided was about to be removed: an accepted upload's files are in the
    // pool (a rejected one's folder moved, so it cannot be left here).
    for (const name of await readdir(l.quarantine)) {
      const upload = this.stores.uploads.get(name);
      if (!upload || upload.state !== 'received') await rm(join(l.quarantine, name), { recursive: true, force: true });
    }
    return decided;
  }

  /**
   * The record was written but incoming/ not yet cleared: clear what is identical to the copy.
   * The original is the uploader's and may be swapped at any moment (for a FIFO, which would
   * block a read, or a link to /dev/zero or a huge file): it is read only through a descriptor
   * opened on a regular file (never following a link, never blocking), and hashed streamed.
   * Anything else stays in incoming/ unread (a stray, later).
   */
  private async dropIncomingCopies(upload: UploadRecord, copied?: string[]): Promise<void> {
    const dir = join(this.layout.quarantine, upload.id);
    for (const name of copied ?? (await readdir(dir).catch(() => [] as string[]))) {
      const original = join(this.layout.incoming, name);
      // Only a copy as long as an original still there is read (after a crash, every file in
      // quarantine is looked at: one moved in unread, a sparse terabyte, is not read for a
      // small file planted under its name).
      const there = await lstat(original).catch(() => undefined);
      if (!there?.isFile() || (await lstat(join(dir, name)).catch(() => undefined))?.size !== there.size) continue;
      const copy = await regularFileSha256(join(dir, name));
      if (!copy) continue;
      const a = await regularFileSha256(original, copy.size).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (a?.sha256 !== copy.sha256) continue;
      // unlink never follows a link; whatever was swapped in since (a folder) stays, a stray.
      await unlink(original).catch((err: NodeJS.ErrnoException) => {
        if (!['ENOENT', 'EISDIR', 'EPERM'].includes(err.code ?? '')) throw err;
      });
    }
  }

  /** One look at incoming/: take every upload whose files are all there and settled. */
  async scan(): Promise<ScanResult> {
    const l = this.layout;
    const config = this.config();
    const now = this.now();
    const names = await readdir(l.incoming);
    const stable = new Map<string, boolean>();
    const mtimes = new Map<string, number>();
    // Entries that are not regular files (symbolic links, FIFOs, devices, folders): never opened;
    // a .changes that is one, or a file a .changes lists, is refused (intake).
    const odd = new Set<string>();
    // Their lstat mtimes: one no .changes names is a stray like any file (moved out, unopened).
    const oddMtimes = new Map<string, number>();
    for (const name of names) {
      const s = await lstat(join(l.incoming, name)).catch(() => undefined);
      if (!s) continue;
      if (!s.isFile()) {
        odd.add(name);
        oddMtimes.set(name, s.mtimeMs);
        continue;
      }
      mtimes.set(name, s.mtimeMs);
      const prev = this.seen.get(name);
      if (!prev || prev.size !== s.size || prev.mtimeMs !== s.mtimeMs) {
        this.seen.set(name, { size: s.size, mtimeMs: s.mtimeMs, since: now });
        stable.set(name, this.stableMs === 0);
      } else stable.set(name, now - prev.since >= this.stableMs);
    }
    for (const name of [...this.seen.keys()]) if (!mtimes.has(name)) this.seen.delete(name);
    for (const name of [...this.triedWhole]) if (!mtimes.has(name)) this.triedWhole.delete(name);

    const decided: UploadRecord[] = [];
    const named = new Set<string>();
    let waiting = 0;
    for (const name of names.filter((n) => n.endsWith('.changes') && (mtimes.has(n) || odd.has(n)))) {
      named.add(name);
      if (this.unrecordable.get(name) === (mtimes.get(name) ?? -1)) continue;
      if (this.unmovable.get(name) === (mtimes.get(name) ?? oddMtimes.get(name))) continue;
      // Each upload is decided inside its own error boundary: what goes wrong with one rejects
      // that one (failed()), and the next is still taken.
      try {
        if (odd.has(name)) {
          decided.push(await this.intake(name, [], []));
          continue;
        }
        const size = this.seen.get(name)!.size;
        if (!stable.get(name)) {
          // dput writes the .changes last: once it is whole, and every file it lists has its
          // listed size and SHA-256, the upload is taken without waiting for it to settle. Tried
          // once per name while it is in incoming/: a .changes touched again and again does not
          // have its files hashed at every scan.
          let whole: { files: string[]; read: ControlBytes } | undefined;
          if (!this.triedWhole.has(name)) {
            this.triedWhole.add(name);
            whole = await this.wholeBeforeSettled(name, size, named);
          }
          if (whole) decided.push(await this.intake(name, whole.files, [], [], whole.read));
          else waiting++;
          continue;
        }
        // Caps before any read: a name the quarantine cannot extend, a file of many megabytes.
        if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
          const message = `${name.slice(0, 60)}…: the name is ${Buffer.byteLength(name)} bytes long; at most ${MAX_NAME_BYTES} are accepted`;
          decided.push(await this.intake(name, [], [{ check: 'name-too-long', message }]));
          continue;
        }
        if (size > MAX_CONTROL_FILE_BYTES) {
          // Moved, not copied: a sparse .changes of terabytes costs its uploader nothing, a copy the disk.
          decided.push(await this.intake(name, [], [{ check: 'too-large', message: tooLarge(name, size) }], [name]));
          continue;
        }
        // Read once: the files it lists, its signature (intake) and the copy kept are all of
        // this read, never of another read of incoming/, where it may be swapped meanwhile.
        let read: ControlBytes;
        let changes: ChangesFile;
        try {
          read = await readControlBytes(join(l.incoming, name), name);
          changes = parseChanges(read.text, name, UPLOAD_LIST_CAP);
        } catch (err) {
          // Swapped for a link since the lstat above: intake refuses it.
          const early: FailedCheck[] = err instanceof NotRegularFile ? [] : [{ check: 'changes-parse', message: `${name}: cannot be read as a .changes file: ${(err as Error).message}` }];
          decided.push(await this.intake(name, [], early));
          continue;
        }
        const listed = changes.files.map((f) => f.name).filter((n) => SAFE_FILE_NAME.test(n));
        for (const n of listed) named.add(n);
        // Ready when every listed file is there and settled at its listed size. A settled file of
        // the wrong size is taken after a grace period, to be rejected with the size it has.
        // (An unsafe name cannot be a file here: nothing to wait for, the checks reject it.)
        // A listed entry that is not a regular file is taken at once, to be refused.
        const ready = changes.files.filter((f) => SAFE_FILE_NAME.test(f.name)).every((f) => {
          if (odd.has(f.name)) return true;
          const seen = this.seen.get(f.name);
          if (!seen || !stable.get(f.name)) return false;
          return seen.size === f.size || now - seen.since >= this.wrongSizeGraceMs;
        });
        const present = listed.filter((n) => mtimes.has(n) || odd.has(n));
        if (ready) {
          // A file of another size than listed is refused unread (a sparse one of terabytes would
          // be copied whole, to be refused after).
          const wrongSize = changes.files.filter((f) => mtimes.has(f.name) && this.seen.get(f.name)!.size !== f.size);
          const early = wrongSize.map((f): FailedCheck => ({ check: 'size', message: `${f.name}: ${this.seen.get(f.name)!.size} bytes, but ${name} lists ${f.size}; not read (kept unopened)` }));
          decided.push(await this.intake(name, present, early, wrongSize.map((f) => f.name), read));
        } else if (now - mtimes.get(name)! > config.uploads.incompleteAfterMinutes * 60_000) {
          const missing = changes.files.filter((f) => !mtimes.has(f.name)).map((f) => f.name);
          decided.push(
            await this.intake(name, present, [
              {
                check: 'incomplete',
                message: `${name}: still incomplete ${config.uploads.incompleteAfterMinutes} minutes after it arrived; missing or still changing: ${missing.join(', ') || changes.files.map((f) => f.name).filter((n) => !stable.get(n)).join(', ')}; upload again with dput`,
              },
            ], [], read),
          );
        } else waiting++;
      } catch (err) {
        if (err instanceof NoRoomYet) {
          // This upload waits; the others are still taken.
          if (this.noRoom.get(name) !== mtimes.get(name)) this.log(`incoming/${name}: not taken yet: ${err.message}; taken once there is room`);
          this.noRoom.set(name, mtimes.get(name)!);
          waiting++;
          continue;
        }
        const upload = await this.failed(name, err, mtimes.get(name));
        if (upload) decided.push(upload);
      }
    }
    for (const name of [...this.noRoom.keys()]) if (!mtimes.has(name)) this.noRoom.delete(name);
    // Entries no .changes names: kept a while (their .changes may come last), then moved out.
    for (const name of names) {
      const mtimeMs = mtimes.get(name) ?? oddMtimes.get(name);
      if (named.has(name) || mtimeMs === undefined || name.endsWith('.changes') || this.unmovable.get(name) === mtimeMs) continue;
      if (now - mtimeMs > config.uploads.strayAfterHours * 3600_000) {
        try {
          decided.push(await this.stray(name, odd.has(name), mtimeMs));
        } catch (err) {
          this.errors.rethrowIfNotTheUploads(err);
          this.log(`incoming/${name}: could not be moved out as a stray file: ${(err as Error).stack}`);
        }
      }
    }
    const present = new Set(names);
    for (const name of [...this.unmovable.keys()]) if (!present.has(name)) this.unmovable.delete(name);
    return { waiting, decided };
  }

  /**
   * An upload whose .changes has not settled, when it can be taken already: the .changes is
   * whole (wholeChanges), lists at most FAST_INTAKE_BYTES, and every file it lists is a regular
   * file with the listed size and SHA-256. The names of the files, with the .changes as read
   * (intake checks its signature and keeps it), or undefined: then it waits to settle, and is
   * checked (and rejected) as any other. Nothing here rejects: a .changes that
   * does not parse, a file not yet readable (install(1) sets the mode last), may still be written.
   */
  private async wholeBeforeSettled(name: string, size: number, named: Set<string>): Promise<{ files: string[]; read: ControlBytes } | undefined> {
    if (Buffer.byteLength(name) > MAX_NAME_BYTES || size > MAX_CONTROL_FILE_BYTES) return undefined;
    let read: ControlBytes;
    let changes: ChangesFile;
    try {
      read = await readControlBytes(join(this.layout.incoming, name), name);
      changes = parseChanges(read.text, name, UPLOAD_LIST_CAP);
    } catch {
      return undefined;
    }
    for (const f of changes.files) if (SAFE_FILE_NAME.test(f.name)) named.add(f.name);
    if (!wholeChanges(read.text, changes) || changes.files.reduce((sum, f) => sum + f.size, 0) > FAST_INTAKE_BYTES) return undefined;
    // Each as large as when this scan looked (what it is copied at): a file still being written
    // then, whole now, waits for the next scan rather than be refused as grown.
    if (read.bytes.length !== size) return undefined;
    for (const f of changes.files) {
      if (!SAFE_FILE_NAME.test(f.name) || this.seen.get(f.name)?.size !== f.size) return undefined;
      const got = await regularFileSha256(join(this.layout.incoming, f.name), f.size).catch(() => undefined);
      if (got?.sha256 !== f.sha256) return undefined;
    }
    return { files: changes.files.map((f) => f.name), read };
  }

  /**
   * The signature of a .changes of incoming/ as the scan read it (read once, through a descriptor
   * checked to be a regular file's, within the cap): the very bytes its file list was parsed
   * from. Read again, it could be another text: an unsigned .changes listing another upload's
   * files, swapped for a signed one between the two reads, would take them.
   */
  private async changesSignature(name: string, read: ControlBytes | undefined): Promise<SignatureVerdict> {
    if (!read) return { state: 'error', detail: `${name} was not read as a control file` };
    let signed: boolean;
    try {
      signed = unwrapSigned(read.text, name).signed;
    } catch (err) {
      return { state: 'error', detail: (err as Error).message };
    }
    return uploaderSignature(this.layout, this.config(), signed, (keyring) => verifyClearsignedBytes(read.bytes, name, keyring));
  }

  /** Crashes (fail points) and the disk's failures are no upload's fault: they go to the caller. */
  /**
   * The error boundary around taking one .changes, for errors before it had a record to reject
   * (decide() has its own): the .changes is moved out of incoming/ into a new record, rejected
   * with the error as its reason. If even that fails, it is left alone until it changes.
   */
  private async failed(changesName: string, err: unknown, mtimeMs: number | undefined): Promise<UploadRecord | undefined> {
    this.errors.rethrowIfNotTheUploads(err);
    this.log(`incoming/${changesName}: unexpected error, rejecting it: ${(err as Error)?.stack ?? String(err)}`);
    try {
      const id = this.newId(changesName.replace(/\.changes$/, ''));
      await mkdir(join(this.layout.quarantine, id), { recursive: true });
      // Recorded before the .changes moves: a folder without a record is removed at a restart
      // (one being filled has its originals in incoming/), and this one would hold the only copy.
      const upload = this.newRecord(id, changesName, [this.errors.internalError(changesName, err)]);
      await this.stores.uploads.save(upload);
      // Recorded: decided whatever the move does. One that cannot be moved stays in incoming/,
      // not taken again until it changes.
      await rename(join(this.layout.incoming, changesName), join(this.layout.quarantine, id, changesName)).catch((e: NodeJS.ErrnoException) => {
        this.errors.rethrowIfNotTheUploads(e);
        if (e.code === 'ENOENT') return;
        this.log(`incoming/${changesName}: could not be moved with its rejection, left until it changes: ${e.message}`);
        this.unrecordable.set(changesName, mtimeMs ?? -1);
      });
      this.seen.delete(changesName);
      return await this.decide(upload);
    } catch (again) {
      this.errors.rethrowIfNotTheUploads(again);
      this.log(`incoming/${changesName}: could not be rejected either, left until it changes: ${(again as Error)?.stack ?? String(again)}`);
      this.unrecordable.set(changesName, mtimeMs ?? -1);
      return undefined;
    }
  }

  private newId(base: string): string {
    const stamp = new Date(this.now()).toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 15);
    // Within NAME_MAX whatever the name it comes from (a stray file's may be 255 bytes).
    return `${stamp}-${base.replace(/[^a-zA-Z0-9_.~+-]/g, '_').slice(0, 100)}-${randomBytes(3).toString('hex')}`;
  }

  private newRecord(id: string, changes: string, early: FailedCheck[]): UploadRecord {
    const [source = changes, version = ''] = changes.replace(/\.changes$/, '').split('_');
    const at = new Date(this.now()).toISOString();
    return {
      id, changes, source, version, distribution: '', state: 'received', receivedAt: at, updatedAt: at,
      reasons: early.map((r) => r.message), checks: early.map((r) => r.check), sourceFiles: [], jobs: [],
    };
  }

  /**
   * Copies the upload into quarantine and records it; only then clears incoming/. The files in
   * `unread` (refused already: `early` says why) are moved there unopened after the record, as
   * entries that are not regular files are. Nothing is copied that cannot fit (below). `read`:
   * the .changes as the scan read it, whose list `files` comes from; its signature is checked,
   * and it is kept, as read, not read again.
   */
  private async intake(changesName: string, files: string[], early: FailedCheck[], unread: string[] = [], read?: ControlBytes): Promise<UploadRecord> {
    const l = this.layout;
    // Where every upload must be signed, a .changes no key of the keyring signed takes no file but
    // itself, neither copied nor moved unread (one of another size than it lists): the files it
    // lists may be another upload's (an orig tarball still arriving with its own .changes), which
    // they stay in incoming/ for.
    if ([...files, ...unread].some((f) => f !== changesName) && !this.config().uploads.allowUnsigned) {
      const verdict = await this.changesSignature(changesName, read);
      if (verdict.state !== 'good') {
        early = [{ check: 'signature', message: `${signatureMessage(changesName, verdict)}; the files it lists were left in incoming/` }];
        files = [];
        unread = unread.filter((f) => f === changesName);
      }
    }
    // What the copies need, before any is made: an upload larger than the archive's file system
    // is refused unread; one larger than its free space waits in incoming/ (said once, taken at
    // a scan that finds room), rather than fill the disk with a copy that cannot fit at every
    // scan, or keep every other upload waiting behind it.
    const reserved = reasonName(changesName);
    const toCopy = [changesName, ...files].filter((n, i, all) => all.indexOf(n) === i && n !== reserved && !unread.includes(n) && this.seen.has(n));
    const bytes = toCopy.reduce((sum, n) => sum + this.seen.get(n)!.size, 0);
    if (bytes > 0) {
      const disk = await diskSpace(l.state);
      if (bytes > disk.total) {
        early = [...early, { check: 'too-large', message: `${changesName}: the upload's files are ${bytes} bytes, more than the archive's file system holds (${disk.total}); not read (kept unopened)` }];
        unread = [...unread, ...toCopy];
      } else if (bytes > disk.free) {
        throw new NoRoomYet(`ENOSPC: no space left on device, copy '${join(l.incoming, changesName)}' and its files (${bytes} bytes) into '${l.quarantine}' (${disk.free} bytes free)`);
      }
    }
    const id = this.newId(changesName.replace(/\.changes$/, ''));
    const dir = join(l.quarantine, id);
    await mkdir(dir, { recursive: true });
    // A listed file named as the rejection's .reason is not taken (a link planted under that name
    // was written through, to the archive key; a FIFO held the queue): left in incoming/, a stray
    // later; refused as `file-name`.
    if (files.includes(reserved)) early = [...early, { check: 'file-name', message: `${reserved}: named as this upload's rejection reason; not taken (left in incoming/)` }];
    const all = [changesName, ...files.filter((f) => f !== changesName && f !== reserved)];
    // Only regular files are copied, through the descriptor that was checked; anything else is
    // refused unread (dput copies regular files only), and moved, after the record, beside the
    // copies: the rejection keeps it, unopened, like every file of the upload.
    const refused: string[] = all.filter((n) => unread.includes(n));
    // Each is copied only at the size the scan saw (what the room was counted for): one grown
    // since (a sparse file extended by terabytes, a .changes that was a FIFO and is a file now)
    // is refused unread, like one of the wrong size.
    try {
      for (const name of all) {
        if (unread.includes(name)) continue;
        const seen = this.seen.get(name)?.size;
        try {
          // The .changes is kept as read, never read again (see changesSignature): one swapped
          // since stays in incoming/ (it is not the copy), to be taken as its own upload.
          if (name === changesName && read) await writeFile(join(dir, name), read.bytes, { flag: 'wx' });
          else await copyRegularFile(join(l.incoming, name), join(dir, name), seen ?? -1);
        } catch (err) {
          if (err instanceof NotRegularFile) {
            refused.push(name);
            early = [...early, { check: 'not-regular-file', message: `${name}: not a regular file (${err.kind}); it was not read, and is kept unopened with the upload's files` }];
          } else if (err instanceof SizeChanged) {
            refused.push(name);
            const message = seen === undefined
              ? `${name}: not a regular file when incoming/ was read, a regular file of ${err.size} bytes when it was to be copied; not read (kept unopened)`
              : `${name}: ${err.size} bytes when it was to be copied, ${seen} when incoming/ was read; not read (kept unopened)`;
            early = [...early, { check: seen === undefined ? 'not-regular-file' : 'size', message }];
          } else throw err;
        }
      }
    } catch (err) {
      // Not the upload's to keep (no record names the folder): its copies go, the originals stay.
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const upload = this.newRecord(id, changesName, early);
    await this.stores.uploads.save(upload);
    this.errors.failPoint('arrival');
    for (const name of refused) {
      if (await this.moveUnread(name, dir)) continue; // false: logged, left there
      // A .changes left there (a folder without write permission) is not taken again until it changes.
      const mtimeMs = name === changesName ? (await lstat(join(l.incoming, name)).catch(() => undefined))?.mtimeMs : undefined;
      if (mtimeMs !== undefined) this.unmovable.set(name, mtimeMs);
    }
    // Only what was copied leaves incoming/: a file another upload of the same name wrote
    // meanwhile (two dputs of one version racing) stays, to be taken as its own upload.
    await this.dropIncomingCopies(upload, all.filter((n) => !refused.includes(n)));
    for (const name of all) this.seen.delete(name);
    this.log(`upload ${id}: received ${changesName} with ${all.length - 1} other file(s)`);
    return this.decide(upload);
  }

  /**
   * Moves an entry refused unread (not a regular file, too large, of another size than listed, a
   * stray) out of incoming/ into `dir`, never opening it nor going into it: rename moves a link,
   * not what it points to, and a folder whole. Never rm -r:
   * it goes by path step by step, so a folder swapped for a link to ../state between its steps
   * would have the queue delete its own state, and a 0555 subfolder makes it fail half-way.
   * Called after the upload's record is saved: if the rename fails otherwise (a folder without write
   * permission cannot be given a new parent), the entry stays in incoming/ and the upload is
   * decided all the same; no such error may reach the caller (failed() would record the upload twice).
   */
  private async moveUnread(name: string, dir: string): Promise<boolean> {
    try {
      await rename(join(this.layout.incoming, name), join(dir, name));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      this.errors.rethrowIfNotTheUploads(err); // the disk's failure: the queue recovers and decides it then
      this.log(`incoming/${name}: could not be moved out of incoming/ (left there): ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * Moves an entry out of incoming/, renamed unopened whatever it is: nothing of it is read, so
   * a sparse file of terabytes costs no copy, and one its owner cannot read (mode 000) moves too.
   */
  private async stray(name: string, odd: boolean, mtimeMs: number): Promise<UploadRecord> {
    const l = this.layout;
    const id = this.newId(`stray-${name}`);
    const dir = join(l.quarantine, id);
    await mkdir(dir, { recursive: true });
    const upload = this.newRecord(id, name, [
      {
        check: 'stray',
        message: `${name}: no .changes file named it within ${this.config().uploads.strayAfterHours} hours; moved out of incoming/ unopened${odd ? ' (not a regular file)' : ''}`,
      },
    ]);
    upload.source = name;
    await this.stores.uploads.save(upload);
    // After the record, as for a refused entry: a crash before leaves it a stray in incoming/.
    if (!(await this.moveUnread(name, dir))) {
      this.unmovable.set(name, mtimeMs);
      upload.reasons = [`${name}: no .changes file named it within ${this.config().uploads.strayAfterHours} hours; it could not be moved out of incoming/ (left there, recorded once until it changes)`];
    }
    this.seen.delete(name);
    return this.decision.reject(upload, upload.reasons.map((message) => ({ check: 'stray', message })));
  }

}
