// The queue: the only writer of state/ and public/. Watches incoming/, takes complete uploads
// into quarantine, checks them, accepts or rejects, makes build jobs, receives build results
// and publishes. Every change of state goes through one serial lane.
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import chokidar from 'chokidar';
import { parseConfig, type ArchiveConfig } from '../../config/config.js';
import {
  cancel, depWait, expireDepWait, expireLease, finish, giveBack, heartbeat, isLeasable, lease, retry, retryDepWait, type BinaryRecord, type JobRecord,
} from '../../core/jobs.js';
import type { BuildSettings } from '../../config/config.js';
import type { BuildLimits } from '../../core/kinds/build.js';
import { planPublication } from '../../core/publish-plan.js';
import { SAFE_FILE_NAME } from '../../core/upload-checks.js';
import { uploadStateFromJobs, type UploadRecord } from '../../core/uploads.js';
import { parseChanges, parseDsc } from '../../debian/changes-dsc.js';
import { compareVersions } from '../../debian/version.js';
import { debControl } from '../../process/debian-tools.js';
import { Signer } from '../../process/gpg.js';
import { exists, fileFacts, placeFile } from '../../storage/files.js';
import { Layout } from '../../storage/layout.js';
import { IndexCompressor } from '../../publish/index-compressor.js';
import { oldestSignature, publish, pruneGenerations } from '../../publish/publisher.js';
import { RecordStore } from '../../storage/record-store.js';
import { readJson, removeTemporaries, writeFileAtomic, writeJson } from '../../storage/json-files.js';
import { renderStatusPages } from '../../core/status-page.js';
import { startJobApi, type BuildReport, type JobApiHandlers } from '../job-api.js';
import { UploadIntake } from './upload-intake.js';
import { failPoints, type FailPointHit } from './crash-at-fail-point.js';
import { SuiteChanges, type Answer } from './suite-changes.js';
import { ContentsError, binaryRefusal } from '../../core/suite-contents.js';

const SCAN_INTERVAL_MS = 5000;

/** What the CLI asks of the queue (src/cli/request.ts writes these). */
interface Request {
  action: 'retry' | 'rm' | 'copy' | 'snapshot' | 'include';
  source?: string;
  version?: string;
  suite?: string;
  from?: string;
  to?: string;
  name?: string;
  delete?: boolean;
  files?: string[];
  component?: string;
}

export class Queue {
  private lane: Promise<unknown> = Promise.resolve();
  private signer!: Signer;
  private config!: ArchiveConfig;
  private configMtime = 0;
  private intake!: UploadIntake;
  private uploads!: RecordStore<UploadRecord>;
  private jobs!: RecordStore<JobRecord>;
  private contents!: SuiteChanges;
  private readonly leaseWaiters = new Set<() => void>();
  /** When each job's builder was last heard from ("JOB BUILDER" -> ms), before the lane saw it. */
  private readonly heardFrom = new Map<string, number>();
  private scanTimer?: NodeJS.Timeout;
  private readonly failPoint: FailPointHit;

  constructor(readonly layout: Layout) {
    this.failPoint = failPoints(layout);
  }

  /** Runs fn after everything queued before it: one change of state at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lane.then(fn, fn);
    this.lane = next.catch(() => undefined);
    return next;
  }

  log(message: string): void {
    const line = `${new Date().toISOString()} ${message}`;
    console.log(line);
    appendFile(join(this.layout.logs, 'queue.log'), `${line}\n`).catch(() => undefined);
  }

  async start(port = 8000): Promise<void> {
    const l = this.layout;
    await this.reloadConfig();
    for (const dir of [l.incoming, l.pool, l.uploads, l.jobs, l.quarantine, l.rejected, l.artifacts, l.buildLogs, l.logs, l.requests, l.suites]) {
      await mkdir(dir, { recursive: true });
    }
    for (const dir of [l.uploads, l.jobs, l.suites, l.state]) await removeTemporaries(dir);
    await this.sweepRequests();
    this.uploads = await new RecordStore<UploadRecord>(l.uploads).load();
    this.jobs = await new RecordStore<JobRecord>(l.jobs).load();
    this.contents = await new SuiteChanges(l, () => this.config, (m) => this.log(m)).load();
    this.intake = new UploadIntake(l, { uploads: this.uploads, jobs: this.jobs }, () => this.config, async (upload) => {
      await this.sourceJoinsSuite(upload);
      this.wakeBuilders();
      // Published once at the end of the scan: a burst of uploads is one publication, not one
      // each (each took seconds in the lane, and builders could lease nothing meanwhile).
      this.acceptedUnpublished.push(`${upload.source} ${upload.version}`);
    }, {
      log: (m) => this.log(m),
      failPoint: this.failPoint,
    });
    this.signer = await Signer.load(await readFile(l.secretKey, 'utf8'), await mkdtemp(join(tmpdir(), 'archive-gnupg-')));
    // A failure here (disk full) must not stop the queue: the scan tries again every few
    // seconds, while the job API answers and the previous generation stays served.
    await this.serial(async () => {
      await this.recover();
      await this.publishNow('start');
    }).catch((err) => this.infrastructureError('at start', err));
    await this.serial(() => this.writeStatus()).catch((err) => this.log(`status page: ${(err as Error).message}`));
    const token = (await readFile(l.apiToken, 'utf8')).trim();
    await startJobApi(port, token, this.handlers());
    chokidar
      .watch(l.incoming, { ignoreInitial: false, depth: 0, awaitWriteFinish: false })
      .on('all', () => this.scheduleScan())
      .on('error', (err) => this.log(`watcher error: ${(err as Error).message}`));
    setInterval(() => this.scheduleScan(), SCAN_INTERVAL_MS).unref();
    // Often enough for a short lease (lease_seconds) to run out close to its deadline.
    setInterval(() => void this.serial(() => this.expireLeases()), 2_000).unref();
    setInterval(() => void this.serial(() => this.refreshValidUntil()), 600_000).unref();
    setInterval(() => void this.serial(() => this.collectGarbage()).catch((err) => this.log(`pool: ${(err as Error).message}`)), 600_000).unref();
    setInterval(() => void this.sweepRequests().catch((err) => this.log(`requests: ${(err as Error).message}`)), 600_000).unref();
    // Requests from the CLI are taken at once, not at the next scan.
    chokidar
      .watch(l.requests, { ignoreInitial: true, depth: 0 })
      .on('add', (path) => path.endsWith('.request.json') && this.scheduleScan(20));
    this.log(`queue started: watching ${l.incoming}, job API on :${port}`);
  }

  /** After a crash (or a failure such as a full disk): finish or roll back what was under way. In the serial lane. */
  private async recover(): Promise<void> {
    await pruneGenerations(this.layout);
    await this.intake.recover();
    // Accepted sources and finished builds whose joining their suite a crash interrupted (or
    // records from before suites had contents of their own), oldest version first.
    const byVersion = (a: { version: string }, b: { version: string }) => compareVersions(a.version, b.version);
    for (const u of this.uploads.all().filter((u) => !u.inSuite && !['received', 'rejected'].includes(u.state)).sort(byVersion)) {
      await this.sourceJoinsSuite(u);
    }
    for (const j of this.jobs.all().filter((j) => !j.inSuite && j.state === 'built').sort(byVersion)) await this.buildJoinsSuite(j);
    // A stop between a build's publication and its upload's state: the state follows its jobs.
    for (const u of this.uploads.all().filter((u) => ['accepted', 'building'].includes(u.state) && u.jobs.length > 0)) {
      const job = this.jobs.get(u.jobs[0]);
      if (job) await this.saveJob(job);
    }
    await this.collectGarbage();
  }

  /**
   * An infrastructure failure (disk full, permissions): said loudly, with what failed and where
   * (the error names the file); nothing is rejected for it, uploads stay where they are, the
   * served generation stays; the next scan, in a few seconds, recovers and publishes again.
   */
  private infrastructureError(what: string, err: unknown): void {
    this.log(`ERROR ${what} (will retry in ${SCAN_INTERVAL_MS / 1000} s; uploads are kept, the served repository is unchanged): ${(err as Error).stack}`);
    this.recoverPending = true;
    this.scheduleScan(SCAN_INTERVAL_MS);
  }

  private async sourceJoinsSuite(upload: UploadRecord): Promise<void> {
    await this.contents.addSource(upload);
    await this.uploads.save({ ...upload, inSuite: true });
    await this.cancelBuilds(upload.suite!, upload.source, `superseded by ${upload.source} ${upload.version}`, upload.version);
  }

  /**
   * Builds not started yet of `source` in `suite` (only of versions older than `olderThan` when
   * given): cancelled, with the reason (core/jobs.ts cancel). Returns how many.
   */
  private async cancelBuilds(suite: string, source: string, reason: string, olderThan?: string): Promise<number> {
    const now = new Date();
    let cancelled = 0;
    for (const job of this.jobs.all()) {
      if (job.source !== source || job.suite !== suite || (olderThan !== undefined && compareVersions(job.version, olderThan) >= 0)) continue;
      const next = cancel(job, reason, now);
      if (next === job) continue;
      await this.saveJob(next);
      this.log(`job ${job.id}: cancelled: ${reason}`);
      cancelled++;
    }
    return cancelled;
  }

  private async buildJoinsSuite(job: JobRecord): Promise<void> {
    const upload = this.uploads.get(job.uploadId);
    const allBuilt = !!upload && this.jobs.all().filter((j) => upload.jobs.includes(j.id)).every((j) => j.state === 'built');
    try {
      await this.contents.addBuild(job, allBuilt);
    } catch (err) {
      if (!(err instanceof ContentsError)) throw err;
      this.log(`job ${job.id}: not published: ${err.message}`);
    }
    await this.jobs.save({ ...job, inSuite: true });
  }

  private async collectGarbage(): Promise<void> {
    const pending = this.uploads.all().filter((u) => ['accepted', 'building', 'dep-wait'].includes(u.state));
    const removed = await this.contents.collectGarbage(pending);
    if (removed.length > 0) this.log(`pool: removed ${removed.length} file(s) nothing refers to any more: ${removed.slice(0, 5).join(', ')}${removed.length > 5 ? ', ...' : ''}`);
  }

  /** Uploads accepted since the last publication ("source version"). */
  private acceptedUnpublished: string[] = [];
  private scanPending = false;
  private recoverPending = false;
  private publishPending = false;
  /** Something left a suite or an old generation went: the pool may hold unreferenced files. */
  private garbageLikely = false;
  private scanDueAt = 0;
  /** A scan at most delayMs from now: a request (20 ms) does not wait for a later scan already set. */
  private scheduleScan(delayMs = 300): void {
    const due = Date.now() + delayMs;
    if (this.scanPending && this.scanDueAt <= due) return;
    this.scanPending = true;
    this.scanDueAt = due;
    clearTimeout(this.scanTimer);
    this.scanTimer = setTimeout(() => {
      this.scanPending = false;
      void this.serial(async () => {
        await this.reloadConfig();
        // After a failure (disk full, ...) what it interrupted is finished, as after a crash,
        // and published again. A publish that still fails does not keep uploads from being
        // taken and checked meanwhile; it is said (and tried again) at the end.
        if (this.recoverPending) {
          await this.recover();
          this.recoverPending = false;
          this.publishPending = true;
        }
        let publishFailure: unknown;
        if (this.publishPending) await this.publishNow('again, after a failure').catch((err) => (publishFailure = err));
        await this.handleRequests();
        const { waiting, decided } = await this.intake.scan();
        if (this.acceptedUnpublished.length > 0) {
          const names = this.acceptedUnpublished;
          await this.publishNow(`accepted ${names.length > 3 ? `${names.length} uploads` : names.join(', ')}`);
        }
        if (decided.length > 0) this.statusChanged();
        if (waiting > 0) this.scheduleScan(1000);
        if (this.garbageLikely) {
          this.garbageLikely = false;
          await this.collectGarbage();
        }
        if (publishFailure) throw publishFailure;
      }).catch((err) => this.infrastructureError('while taking uploads or publishing', err));
    }, delayMs);
  }

  /**
   * What requests leave behind: staged files a crash kept from being removed, and answers no
   * CLI took within an hour (it gave up waiting, or a crash came between the answer and the
   * request's removal, so the request was carried out again).
   */
  private async sweepRequests(): Promise<void> {
    const dir = this.layout.requests;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      if (name.endsWith('.files.done')) await rm(path, { recursive: true, force: true });
      else if (name.endsWith('.answer.json') && Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now()) > 3600_000) {
        await rm(path, { force: true });
      }
    }
  }

  /** Requests the CLI left in state/requests/: carried out here, answered beside them. */
  private async handleRequests(): Promise<void> {
    const dir = this.layout.requests;
    for (const name of (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.request.json'))) {
      const request = await readJson<Request>(join(dir, name));
      const staging = join(dir, name.replace('.request.json', '.files'));
      let answer: Answer;
      try {
        answer = await this.carryOut(request, staging);
      } catch (err) {
        if (!(err instanceof ContentsError)) throw err;
        answer = { ok: false, message: err.message };
      }
      await writeJson(join(dir, name.replace('.request.json', '.answer.json')), answer);
      await rm(join(dir, name), { force: true });
      this.log(`request ${name}: ${answer.message}`);
      // Out of the lane: removing 10,000 staged files must not hold up the next request. A
      // crash meanwhile leaves a *.done folder, removed at the next start.
      if (await rename(staging, `${staging}.done`).then(() => true, () => false)) {
        void rm(`${staging}.done`, { recursive: true, force: true }).catch((err) => this.log(`${staging}.done: ${(err as Error).message}`));
      }
      // Only when a pool file may have lost its last reference (an include that only adds
      // leaves nothing behind); collected after the answer, at the end of this scan.
      if (['rm', 'copy', 'snapshot'].includes(request?.action ?? '') || Number(answer.replaced) > 0) this.garbageLikely = true;
    }
  }

  private async carryOut(r: Request | undefined, staging: string): Promise<Answer> {
    const suite = r?.suite ?? this.config.suites[0].name;
    let answer: Answer;
    switch (r?.action) {
      case 'retry':
        return this.retryRequest(r.source!, r.version);
      case 'rm': {
        answer = await this.contents.remove(r.source!, suite);
        const cancelled = await this.cancelBuilds(suite, r.source!, `${r.source} was removed from ${suite} (archive rm)`);
        if (cancelled > 0) answer.message += `; ${cancelled} build(s) not started yet cancelled`;
        break;
      }
      case 'copy':
        answer = await this.contents.copy(r.source!, r.from!, r.to!);
        break;
      case 'snapshot':
        answer = r.delete ? await this.contents.deleteSnapshot(r.name!) : await this.contents.snapshot(r.name!, suite);
        break;
      case 'include':
        answer = await this.contents.include(staging, r.files ?? [], suite, r.component);
        if ((answer.included as unknown[]).length === 0) return answer;
        break;
      default:
        return { ok: false, message: `unknown request ${JSON.stringify(r)}` };
    }
    await this.publishNow(`${r.action} ${r.source ?? r.name ?? ''}`.trim());
    this.statusChanged();
    return answer;
  }

  private async retryRequest(source: string, version?: string): Promise<Answer> {
    const uploads = this.uploads
      .all()
      .filter((u) => u.source === source && (!version || u.version === version) && !['received', 'rejected'].includes(u.state))
      .sort((a, b) => compareVersions(a.version, b.version));
    const upload = uploads.pop();
    if (!upload) return { ok: false, message: `no accepted upload of ${source}${version ? ` ${version}` : ''}; see archive status` };
    const jobs = this.jobs.all().filter((j) => upload.jobs.includes(j.id) && (j.state === 'failed' || j.state === 'dep-wait'));
    if (jobs.length === 0) return { ok: false, message: `${source} ${upload.version} has no failed or waiting build to retry` };
    for (const job of jobs) await this.saveJob(retry(job, new Date()));
    this.scheduleScan();
    return { ok: true, message: `${source} ${upload.version}: ${jobs.map((j) => j.arch).join(', ')} queued again`, jobs: jobs.map((j) => j.id) };
  }

  /** archive.yaml is re-read when it changes, so policy edits apply without a restart. */
  private async reloadConfig(): Promise<void> {
    const { mtimeMs } = await stat(this.layout.config);
    if (mtimeMs === this.configMtime) return;
    this.config = parseConfig(await readFile(this.layout.config, 'utf8'), this.layout.config);
    if (this.configMtime !== 0) this.log(`reloaded ${this.layout.config}`);
    this.configMtime = mtimeMs;
  }

  private async publishNow(why: string): Promise<void> {
    const jobs = this.jobs.all();
    this.acceptedUnpublished = [];
    const plans = planPublication(this.config, this.contents.all());
    const started = Date.now();
    // A failed publish leaves the previous generation served; the next scan tries again.
    this.publishPending = true;
    const result = await publish(this.layout, plans, this.signer, {
      failPoint: this.failPoint,
      label: this.config.name,
      byHashGraceMs: this.config.publish.byHashGraceMinutes * 60_000,
      validForMs: this.config.publish.validUntilDays * 86_400_000,
      compressor: this.compressor,
      pdiffs: this.config.publish.pdiffs,
    });
    this.publishPending = false;
    if (result.pruned > 0) this.garbageLikely = true;
    this.log(`published generation ${result.generation} (${why}) in ${Date.now() - started} ms; ${result.written} index files written, ${result.reused} unchanged`);
    // Something new is in the archive: jobs waiting for build-dependencies try again.
    const now = new Date();
    for (const job of jobs.filter((j) => j.state === 'dep-wait')) {
      const next = retryDepWait(job, now, this.config.builds.depWaitHours * 3600_000);
      await this.saveJob(next);
      this.log(`job ${job.id}: ${next.state === 'failed' ? next.reason : 'dep-wait over, trying again'}`);
    }
  }

  /**
   * With Valid-Until set, the Release files are signed again at half their validity: a publish
   * then signs anew every suite (snapshots and -debug suites too) signed that long ago.
   */
  private async refreshValidUntil(): Promise<void> {
    const validFor = this.config.publish.validUntilDays * 86_400_000;
    if (!validFor) return;
    const oldest = await oldestSignature(this.layout);
    if (!oldest || Date.now() - oldest.getTime() > validFor / 2) return this.publishNow('Valid-Until refresh');
  }

  private async expireLeases(): Promise<void> {
    const now = new Date();
    const leaseMs = this.config.builds.leaseSeconds * 1000;
    for (const job of this.jobs.all()) {
      // A heartbeat still queued behind long work in the lane (publishes for a burst of
      // requests) renews nothing yet, but its builder is alive: its lease does not run out.
      const heard = job.lease ? this.heardFrom.get(`${job.id} ${job.lease.builder}`) : undefined;
      if (heard !== undefined && now.getTime() - heard < leaseMs) continue;
      const next = expireDepWait(expireLease(job, now), now, this.config.builds.depWaitHours * 3600_000);
      if (next !== job) {
        await this.saveJob(next);
        this.log(`job ${job.id}: lease of ${job.lease?.builder} expired; now ${next.state}`);
      }
    }
  }

  /** Compressed index chunks, kept from one publication to the next. */
  private readonly compressor = new IndexCompressor();

  private statusTimer?: NodeJS.Timeout;
  private statusDue?: number;
  /**
   * The status page follows every change: written once changes pause for half a second (a
   * page of 10,000 packages is not rendered between two requests that come one after the
   * other), and at least every 5 seconds while they keep coming.
   */
  private statusChanged(): void {
    const now = Date.now();
    this.statusDue ??= now + 5000;
    clearTimeout(this.statusTimer);
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      this.statusDue = undefined;
      void this.serial(() => this.writeStatus()).catch((err) => this.log(`status page: ${(err as Error).message}`));
    }, Math.max(0, Math.min(500, this.statusDue - now)));
  }

  private async writeStatus(): Promise<void> {
    const pages = renderStatusPages({
      config: this.config,
      uploads: this.uploads.all(),
      jobs: this.jobs.all(),
      contents: this.contents.all(),
      now: new Date(),
      incoming: process.env.ARCHIVE_HOST_INCOMING ?? this.layout.incoming,
    });
    for (const [path, html] of Object.entries(pages)) await writeFileAtomic(join(this.layout.public, path), html);
  }

  private wakeBuilders(): void {
    for (const wake of this.leaseWaiters) wake();
    this.leaseWaiters.clear();
  }

  private async saveJob(job: JobRecord): Promise<void> {
    await this.jobs.save(job);
    this.statusChanged();
    if (isLeasable(job)) this.wakeBuilders();
    const upload = this.uploads.get(job.uploadId);
    if (!upload) return;
    const { state, reasons } = uploadStateFromJobs(upload, this.jobs.all());
    if (state !== upload.state) await this.uploads.save({ ...upload, state, reasons, updatedAt: new Date().toISOString() });
  }

  private job(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) throw Object.assign(new Error(`no job ${id}`), { status: 404 });
    return job;
  }

  private async leaseOne(builder: string): Promise<object | undefined> {
    const l = this.layout;
    const job = this.jobs
      .all()
      .filter(isLeasable)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
    if (!job) return undefined;
    const leased = lease(job, builder, new Date(), this.config.builds.leaseSeconds * 1000);
    leased.log = `logs/${job.source}_${job.version.replace(/^\d+:/, '')}_${job.arch}.${leased.attempts}.log`;
    await writeFile(join(l.public, leased.log), '');
    await this.saveJob(leased);
    const upload = this.uploads.get(job.uploadId)!;
    const suite = this.config.suites.find((s) => s.name === job.suite)!;
    this.log(`job ${job.id}: leased to ${builder} (attempt ${leased.attempts})`);
    return {
      ...leased,
      files: upload.sourceFiles.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })),
      limits: buildLimits(this.config.builds),
      buildenvMaxAgeMs: this.config.builds.buildenvMaxAgeHours * 3600_000,
      leaseMs: this.config.builds.leaseSeconds * 1000,
      localArchive: { suite: suite.name, components: suite.components },
    };
  }

  private handlers(): JobApiHandlers {
    const l = this.layout;
    return {
      lease: async (builder, waitMs, gone) => {
        // Long polling: a builder asking when there is nothing to do waits here until a job
        // becomes leasable (or the wait ends), so a new upload starts building at once.
        const first = await this.serial(() => this.leaseOne(builder));
        if (first || waitMs <= 0) return first;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, waitMs);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.leaseWaiters.add(done);
        });
        return this.serial(async () => (gone() ? undefined : this.leaseOne(builder)));
      },
      builderStarted: (name) =>
        this.serial(async () => {
          // A builder that restarted holds nothing any more: its jobs go back at once,
          // without waiting for their leases to run out.
          for (const job of this.jobs.all()) {
            if (job.state === 'building' && (job.lease?.builder === name || job.lease?.builder.startsWith(`${name}/`))) {
              await this.saveJob(giveBack(job, job.lease.builder, `builder ${name} restarted`, new Date()));
              this.log(`job ${job.id}: given back, its builder ${name} restarted`);
            }
          }
          return { concurrency: this.config.builds.concurrency };
        }),
      heartbeat: (id, builder) => {
        this.heardFrom.set(`${id} ${builder}`, Date.now());
        return this.serial(async () => this.saveJob(heartbeat(this.job(id), builder, new Date(), this.config.builds.leaseSeconds * 1000)));
      },
      sourceFile: async (id, name) => {
        const job = this.job(id);
        const upload = this.uploads.get(job.uploadId);
        const file = upload?.sourceFiles.find((f) => f.name === name);
        if (!file) throw Object.assign(new Error(`job ${id} has no source file ${name}`), { status: 404 });
        return join(l.public, file.path);
      },
      appendLog: async (id, builder, text) => {
        const job = this.job(id);
        if (job.state !== 'building' || job.lease?.builder !== builder || !job.log) {
          throw Object.assign(new Error(`job ${id} is not leased to ${builder}`), { status: 409 });
        }
        await appendFile(join(l.public, job.log), text);
      },
      putArtifact: async (id, builder, name, body) => {
        const job = this.job(id);
        if (job.state !== 'building' || job.lease?.builder !== builder) {
          throw Object.assign(new Error(`job ${id} is not leased to ${builder}`), { status: 409 });
        }
        if (!SAFE_FILE_NAME.test(name)) throw Object.assign(new Error(`unsafe artifact name ${name}`), { status: 400 });
        this.failPoint('hand-in');
        const dir = join(l.artifacts, id);
        await mkdir(dir, { recursive: true });
        // Aside until the whole body arrived and matched its signed sha256: a cut or tampered
        // upload leaves nothing behind. A name of its own, so two uploads of one file do not mix.
        const part = join(dir, `.${name}.${randomBytes(6).toString('hex')}.part`);
        try {
          await writeFile(part, body);
          // The body may take minutes: a lease that ran out meanwhile (and went to another
          // builder) hands in nothing over the new holder's files.
          const now = this.job(id);
          if (now.state !== 'building' || now.lease?.builder !== builder) {
            throw Object.assign(new Error(`job ${id} is no longer leased to ${builder}`), { status: 409 });
          }
          await rename(part, join(dir, name));
        } finally {
          await rm(part, { force: true });
        }
      },
      complete: (id, builder, result) => this.serial(() => this.complete(id, builder, result)),
    };
  }

  /** A builder's result: check the artifacts against its .changes, pool them, publish. */
  private async complete(id: string, builder: string, result: BuildReport): Promise<void> {
    const l = this.layout;
    const job = this.job(id);
    const dir = join(l.artifacts, id);
    const now = new Date();
    this.heardFrom.delete(`${id} ${builder}`);
    let next: JobRecord;
    if (result.outcome === 'dep-wait') next = depWait(job, builder, result.missing ?? 'unknown relation', now);
    else if (result.outcome === 'give-back') next = giveBack(job, builder, result.reason ?? 'builder problem', now);
    else if (result.outcome !== 'built') next = finish(job, builder, { ok: false, reason: result.reason ?? 'build failed', image: result.image, depsKey: result.depsKey }, now);
    else {
      try {
        const { binaries, artifacts } = await this.poolArtifacts(job, dir);
        next = finish(job, builder, { ok: true, binaries, artifacts, log: job.log!, image: result.image, depsKey: result.depsKey }, now);
      } catch (err) {
        next = finish(job, builder, { ok: false, reason: (err as Error).message, image: result.image, depsKey: result.depsKey }, now);
      }
    }
    if (next.state === 'built') {
      // The upload turns "published" (what archive wait waits for) only once the publication
      // that holds the build is served: job, suite, publication, then the upload's state.
      await this.jobs.save(next);
      await this.buildJoinsSuite(next);
      this.log(`job ${id}: built`);
      await this.publishNow(`built ${job.source} ${job.version} on ${job.arch}`);
      await this.saveJob(this.job(id));
    } else {
      await this.saveJob(next);
      this.log(`job ${id}: ${next.state}${next.reason ? ` (${next.reason})` : ''}`);
    }
    await rm(dir, { recursive: true, force: true });
  }

  /** Never trusts the exit code alone: the .changes must list .debs, all present and intact. */
  private async poolArtifacts(job: JobRecord, dir: string): Promise<{ binaries: BinaryRecord[]; artifacts: string[] }> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const changesName = names.find((n) => n.endsWith('.changes'));
    if (!changesName) throw new Error(`the build returned no .changes file (got: ${names.join(', ') || 'nothing'})`);
    const changes = parseChanges(await readFile(join(dir, changesName), 'utf8'), changesName);
    if (changes.source !== job.source || changes.version !== job.version) {
      throw new Error(`${changesName} is for ${changes.source} ${changes.version}, but the job builds ${job.source} ${job.version}`);
    }
    const debs = changes.files.filter((f) => /\.u?deb$/.test(f.name));
    if (debs.length === 0) throw new Error(`${changesName} lists no binary packages`);
    const suite = this.config.suites.find((s) => s.name === job.suite)!;
    // The packages the build may publish: those its .dsc, as accepted into the pool, declares.
    const dscFile = this.uploads.get(job.uploadId)?.sourceFiles.find((f) => f.name.endsWith('.dsc'));
    if (!dscFile) throw new Error(`job ${job.id}: its upload's .dsc is not known, so the packages it may build are not`);
    // Beside their source, in the component its Section chose (pool/contrib/... for contrib/net).
    const poolDir = dirname(dscFile.path);
    const declared = parseDsc(await readFile(join(this.layout.public, dscFile.path), 'utf8'), dscFile.name).binaries;
    const contents = this.contents.all().find((c) => c.id === suite.name)!;
    const binaries: BinaryRecord[] = [];
    const artifacts: string[] = [];
    // Every file is checked before any goes into the pool: a refusal leaves nothing behind (a
    // rebuild after it is rarely bit-identical, and would then clash with what was placed).
    const placements: { from: string; to: string; sha256: string }[] = [];
    for (const f of changes.files) {
      if (!SAFE_FILE_NAME.test(f.name)) throw new Error(`${changesName} lists an unsafe file name ${f.name}`);
      const path = join(dir, f.name);
      if (!(await exists(path))) throw new Error(`${f.name} is listed in ${changesName} but was not returned`);
      const facts = await fileFacts(path);
      if (facts.size !== f.size || (f.sha256 && facts.sha256 !== f.sha256)) throw new Error(`${f.name} does not match ${changesName} (size or sha256)`);
      if (/\.u?deb$/.test(f.name)) {
        const control = await debControl(path);
        const [from, sourceVersion] = (control.first('Source') || control.first('Package')).split(/\s+/);
        if (from !== job.source) throw new Error(`${f.name} says it is built from ${from}, not ${job.source}`);
        // "Source: name (version)" when the binary's version differs (a binNMU), Policy 5.6.1.
        const builtFrom = sourceVersion?.replace(/^\((.*)\)$/, '$1') || control.first('Version');
        if (builtFrom !== job.version) throw new Error(`${f.name} says it is built from ${from} ${builtFrom}, not ${job.version}`);
        const arch = control.first('Architecture');
        if (arch !== job.arch && arch !== 'all') throw new Error(`${f.name} is for ${arch}, but the job builds ${job.arch}`);
        // Its pool name is its identity: it must be the one its control says, or a .deb could
        // take another binary's file name (and its place in the pool).
        const expected = `${control.first('Package')}_${control.first('Version').replace(/^\d+:/, '')}_${arch}.${f.name.split('.').pop()}`;
        if (f.name !== expected) throw new Error(`${f.name} holds ${control.first('Package')} ${control.first('Version')} ${arch}, so it must be named ${expected}`);
        const refusal = binaryRefusal(contents, job.source, declared, control.first('Package'), !!suite.allowBinaryTakeover);
        if (refusal) throw new Error(`${f.name}: ${refusal}`);
        placements.push({ from: path, to: `${poolDir}/${f.name}`, sha256: facts.sha256 });
        binaries.push({ control: control.entries(), path: `${poolDir}/${f.name}`, ...facts });
      } else if (f.name.endsWith('.buildinfo')) {
        if (!f.name.startsWith(`${job.source}_`)) throw new Error(`${f.name} is not a .buildinfo of ${job.source}`);
        placements.push({ from: path, to: `${poolDir}/${f.name}`, sha256: facts.sha256 });
        artifacts.push(`${poolDir}/${f.name}`);
      }
    }
    if (!changesName.startsWith(`${job.source}_`)) throw new Error(`${changesName} is not a .changes of ${job.source}`);
    const changesTarget = `${poolDir}/${changesName}`;
    placements.push({ from: join(dir, changesName), to: changesTarget, sha256: (await fileFacts(join(dir, changesName))).sha256 });
    artifacts.push(changesTarget);
    for (const p of placements) await placeFile(p.from, join(this.layout.public, p.to), p.sha256);
    return { binaries, artifacts };
  }
}

/** archive.yaml's build settings as the limits a builder applies. */
export function buildLimits(b: BuildSettings): BuildLimits {
  return {
    timeoutMs: b.timeoutMinutes * 60_000,
    stallMs: b.stallMinutes * 60_000,
    logCapBytes: b.logMiB * 1024 ** 2,
    memoryBytes: b.memoryGiB * 1024 ** 3,
    pidsLimit: b.pids,
    cpus: b.cpus,
    cacheImages: b.cacheImages,
    cacheBytes: b.cacheGiB * 1024 ** 3,
    outputFileBytes: b.outputFileGiB * 1024 ** 3,
    outputBytes: b.outputGiB * 1024 ** 3,
    outputFiles: b.outputFiles,
  };
}
