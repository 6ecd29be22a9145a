// The queue: the only writer of state/ and public/. This file wires its parts and runs its
// clock: incoming/ and state/requests/ are watched, a scan takes requests and uploads, timers
// expire leases, re-sign and collect garbage, and every change runs in one serial lane.
//   upload-intake.ts     uploads from incoming/ into quarantine (and strays)
//   upload-decision.ts   a quarantined upload checked, accepted (jobs made) or rejected
//   cli-requests.ts      what the CLI asks (retry, rm, copy, snapshot, include)
//   job-leasing.ts       jobs and leases, for workers over the job API (daemons/job-api.ts)
//   worker-registry.ts   enrolled workers and their keys; when each worker was last heard from
//   build-results.ts     what a build hands back: checked, pooled, joined to its suite
//   qa-results.ts        QA checks: made after builds, what they found kept and compared
//   migrations.ts        sources migrating between suites once their gates hold
//   suite-changes.ts     what each suite holds, and the pool's history (included-debs.ts)
//   publishing.ts        generations of dists/, Valid-Until, the pool's garbage
import { appendFile, mkdir, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import chokidar from 'chokidar';
import { parseConfig, type ArchiveConfig } from '../../config/config.js';
import { backfillJobs } from '../../core/backfill.js';
import { jobFromDisk, type JobRecord } from '../../core/jobs.js';
import type { QaReport } from '../../core/kinds/qa.js';
import { renderStatusPages } from '../../core/status-page.js';
import { printableEntry } from '../../core/terminal-text.js';
import type { UploadRecord } from '../../core/uploads.js';
import { byKind, kindLabel } from '../../core/work-kinds.js';
import { compareVersions } from '../../debian/version.js';
import { Signer } from '../../process/gpg.js';
import { pruneGenerations } from '../../publish/generations.js';
import { removeTemporaries, writeFileAtomic } from '../../storage/json-files.js';
import type { Layout } from '../../storage/layout.js';
import { UserError } from '../../errors.js';
import { RecordStore } from '../../storage/record-store.js';
import { answerStatus, refused, startJobApi } from '../job-api.js';
import { BuildResults } from './build-results.js';
import { CliRequests } from './cli-requests.js';
import { failPoints, type FailPointHit } from './crash-at-fail-point.js';
import { JobLeasing } from './job-leasing.js';
import { Migrations } from './migrations.js';
import { Publishing } from './publishing.js';
import { QaResults } from './qa-results.js';
import { RebuildResults } from './rebuild-results.js';
import type { QueueContext } from './queue-context.js';
import { SerialLane } from './serial-lane.js';
import { SuiteChanges } from './suite-changes.js';
import { SuiteJoining } from './suite-joining.js';
import { UploadIntake } from './upload-intake.js';
import { WorkerRegistry } from './worker-registry.js';

const SCAN_INTERVAL_MS = 5000;

export interface QueueOptions {
  /** incoming/ as the host sees it, for the status page's dput stanza (ARCHIVE_HOST_INCOMING). */
  hostIncoming?: string;
  /** ARCHIVE_FAILPOINTS, for the crash tests (core/fail-points.ts). */
  failPoints?: string;
  /** The archive's URL as clients use it (ARCHIVE_PUBLIC_URL), for the status page. */
  publicUrl?: string;
  /** The id of the root archive up deployed it for (ARCHIVE_ROOT_ID): the queue refuses any other root. */
  rootId?: string;
}

/**
 * Why the root mounted at `layout` is not the one archive up deployed the queue for (its
 * state/root-id is not `expected`); undefined when it is, or when no id is expected. On a Swarm
 * the queue runs on the node of the engine archive up spoke to (DOCKER_HOST), whose folder of the
 * root's path may be another archive's root, or an empty one.
 */
export async function otherRootError(layout: Layout, expected: string | undefined, hostRoot: string | undefined): Promise<string | undefined> {
  if (!expected) return undefined;
  const found = (await readFile(layout.rootId, 'utf8').catch(() => '')).trim();
  if (found === expected) return undefined;
  return (
    `${hostRoot ?? layout.root} on the node this queue runs on is not the root archive up deployed it for: its ${basename(layout.rootId)} is ${found ? `id ${found}` : 'missing'}, not id ${expected}. ` +
    'archive up (--swarm) runs the queue on the node of the Docker engine it speaks to (DOCKER_HOST): run it on the machine that holds the root, against its own engine'
  );
}

export class Queue implements QueueContext {
  readonly lane = new SerialLane();
  readonly failPoint: FailPointHit;
  uploads!: RecordStore<UploadRecord>;
  jobs!: RecordStore<JobRecord>;
  suites!: SuiteChanges;
  private settings!: ArchiveConfig;
  private configMtime = 0;
  private intake!: UploadIntake;
  private leasing!: JobLeasing;
  private workers!: WorkerRegistry;
  private results!: BuildResults;
  private qa!: QaResults;
  private rebuilds!: RebuildResults;
  private migrations!: Migrations;
  private joining!: SuiteJoining;
  private requests!: CliRequests;
  private publishing!: Publishing;
  /** Uploads accepted since the last publication ("source version"). */
  private acceptedUnpublished: string[] = [];
  private scanTimer?: NodeJS.Timeout;
  private scanPending = false;
  private scanDueAt = 0;
  private recoverPending = false;

  constructor(
    readonly layout: Layout,
    private readonly o: QueueOptions = {},
  ) {
    this.failPoint = failPoints(layout, o.failPoints);
  }

  config(): ArchiveConfig {
    return this.settings;
  }

  log(message: string): void {
    const line = `${new Date().toISOString()} ${printableEntry(message)}`;
    console.log(line);
    appendFile(join(this.layout.logs, 'queue.log'), `${line}\n`).catch(() => undefined);
  }

  publish(why: string): Promise<void> {
    this.acceptedUnpublished = [];
    return this.publishing.publish(why);
  }

  async start(port = 8000): Promise<void> {
    const l = this.layout;
    // Before anything is made in it.
    const other = await otherRootError(l, this.o.rootId, this.o.hostIncoming && dirname(this.o.hostIncoming));
    if (other) throw new UserError(other);
    for (const dir of [l.incoming, l.pool, l.uploads, l.jobs, l.quarantine, l.rejected, l.artifacts, l.buildLogs, l.logs, l.requests, l.suites, l.workers, l.workersSeen]) {
      await mkdir(dir, { recursive: true });
    }
    for (const dir of [l.uploads, l.jobs, l.suites, l.state, l.workers, l.workersSeen, l.artifacts]) await removeTemporaries(dir);
    this.uploads = await new RecordStore<UploadRecord>(l.uploads).load();
    this.jobs = await new RecordStore<JobRecord>(l.jobs).load(jobFromDisk);
    this.suites = await new SuiteChanges(l, () => this.settings, (m) => this.log(m)).load();
    // Read once the suites and snapshots are: archive.yaml may not name a suite a snapshot is.
    await this.reloadConfig();
    const token = (await readFile(l.apiToken, 'utf8')).trim();
    this.workers = await new WorkerRegistry(this, token).load();
    this.leasing = new JobLeasing(this, this.workers);
    this.joining = new SuiteJoining(this, this.leasing);
    this.results = new BuildResults(this, this.leasing, this.joining);
    this.qa = new QaResults(this, this.leasing);
    this.rebuilds = new RebuildResults(this, this.leasing);
    this.migrations = new Migrations(this, this.leasing);
    this.requests = new CliRequests(this, this.leasing, this.workers, this.migrations, this.rebuilds);
    this.publishing = new Publishing(this, await Signer.load(await readFile(l.secretKey, 'utf8'), await mkdtemp(join(tmpdir(), 'archive-gnupg-'))), this.leasing);
    await this.requests.sweep();
    this.intake = new UploadIntake(l, { uploads: this.uploads, jobs: this.jobs, published: (suite, source) => this.suites.publishedVersion(suite, source) }, () => this.settings, async (upload) => {
      await this.joining.source(upload);
      this.leasing.wakeWorkers();
      // Published once at the end of the scan: a burst of uploads is one publication, not one
      // each (each took seconds in the lane, and workers could lease nothing meanwhile).
      this.acceptedUnpublished.push(`${upload.source} ${upload.version}`);
    }, {
      log: (m) => this.log(m),
      failPoint: this.failPoint,
    });
    // A failure here (disk full) must not stop the queue: the scan tries again every few
    // seconds, while the job API answers and the previous generation stays served.
    await this.lane.run(async () => {
      await this.recover();
      await this.backfill();
      await this.publish('start');
      await this.planAfterBuilds();
      await this.migrations.run();
    }).catch((err) => this.infrastructureError('at start', err));
    await this.lane.run(() => this.writeStatus()).catch((err) => this.log(`status page: ${(err as Error).message}`));
    const leasing = this.leasing;
    await startJobApi(port, this.workers.keyFor, {
      lease: (request, waitMs, gone, checkKey) => leasing.lease(request, waitMs, gone, checkKey),
      start: async (name, offer, checkKey) => {
        // (Nor the offer of a worker removed since noted, as the new one's under its name.)
        checkKey();
        await this.workers.heard(name, offer).catch((err) => this.log(`worker ${name}: ${(err as Error).message}`));
        return leasing.start(name, checkKey);
      },
      heartbeat: (id, builder, checkKey) => leasing.heartbeat(id, builder, checkKey),
      sourceFile: async (id, name) => {
        const file = leasing.inputs(leasing.job(id)).find((f) => f.name === name);
        if (!file) throw refused(404, `job ${id} has no input file ${name}`);
        return join(l.public, file.path);
      },
      log: (id, builder, body, checkKey) => this.results.log(id, builder, body, checkKey),
      artifact: (id, builder, name, body, checkKey) => this.results.artifact(id, builder, name, body, checkKey),
      complete: (id, builder, r, checkKey) =>
        this.lane.run(() => {
          // Only the holder's key ends the job: the same name under a new key is another worker.
          checkKey();
          const job = leasing.job(id);
          if (job.kind !== r.kind) throw refused(409, `job ${id} is a ${kindLabel(job.kind)}, not a ${kindLabel(r.kind)}`);
          return byKind(r, {
            build: async (report) => {
              await this.results.complete(id, builder, report);
              await this.planAfterBuilds();
              await this.migrations.run();
            },
            lintian: (report) => this.checked(id, builder, report),
            blhc: (report) => this.checked(id, builder, report),
            piuparts: (report) => this.checked(id, builder, report),
            autopkgtest: (report) => this.checked(id, builder, report),
            installability: (report) => this.checked(id, builder, report),
            rebuild: async (report) => {
              await this.rebuilds.complete(id, builder, report);
              await this.afterVerdict(id);
            },
          }).catch((err: unknown) => {
            // Not a refusal of the report but a failure after it was recorded (a full disk while
            // the build joined its suite or published): the worker's give-back is refused then
            // (the job is built), so the next scan finishes what it interrupted, as after a crash.
            if (answerStatus(err) === 500) this.infrastructureError(`while completing job ${id}`, err);
            throw err;
          });
        }),
    });
    chokidar
      // A file still being written may not be the queue's to read yet (dput's local method
      // copies with install(1), which sets the mode last): not watching it is no error; the
      // folder's events and the scan see it once it is whole.
      .watch(l.incoming, { ignoreInitial: false, depth: 0, awaitWriteFinish: false, ignorePermissionErrors: true })
      .on('all', () => this.scheduleScan())
      .on('error', (err) => this.log(`watcher error: ${(err as Error).message}`));
    setInterval(() => this.scheduleScan(), SCAN_INTERVAL_MS).unref();
    // Often enough for a short lease (lease_seconds) to run out close to its deadline.
    setInterval(() => void this.lane.run(() => this.leasing.expire()).catch((err) => this.infrastructureError('while expiring leases', err)), 2_000).unref();
    setInterval(() => void this.lane.run(() => this.publishing.refreshValidUntil()).catch((err) => this.infrastructureError('while signing again for Valid-Until', err)), 600_000).unref();
    setInterval(() => void this.lane.run(() => this.publishing.collectGarbage()).catch((err) => this.log(`pool: ${(err as Error).message}`)), 600_000).unref();
    // Sources come of age (after_days) by the clock alone.
    setInterval(() => void this.lane.run(() => this.migrations.run()).catch((err) => this.infrastructureError('while migrating', err)), 3_600_000).unref();
    // Rejected uploads' files go once uploads.keep_rejected_days have passed.
    setInterval(() => void this.lane.run(() => this.intake.dropOldRejections()).catch((err) => this.log(`rejected uploads: ${(err as Error).message}`)), 3_600_000).unref();
    setInterval(() => void this.requests.sweep().catch((err) => this.log(`requests: ${(err as Error).message}`)), 600_000).unref();
    // Requests from the CLI are taken at once, not at the next scan.
    chokidar
      .watch(l.requests, { ignoreInitial: true, depth: 0 })
      .on('add', (path) => path.endsWith('.request.json') && this.scheduleScan(0));
    this.log(`queue started: watching ${l.incoming}, job API on :${port}`);
  }

  /** The checks and rebuilds of what was built, made (qa-results.ts, rebuild-results.ts). In the lane. */
  private async planAfterBuilds(): Promise<void> {
    await this.qa.plan();
    await this.rebuilds.plan();
  }

  /** A check's result kept; then what its gates let publish (publish_requires) and migrate. In the lane. */
  private async checked(id: string, builder: string, report: QaReport): Promise<void> {
    await this.qa.complete(id, builder, report);
    await this.afterVerdict(id);
  }

  /** What a check's or a rebuild's verdict lets publish (publish_requires) and migrate. In the lane. */
  private async afterVerdict(id: string): Promise<void> {
    const job = this.jobs.get(id)!;
    if (await this.joining.release(job.uploadId)) {
      // As for a build: the upload turns "published" once the publication that holds it is served.
      await this.publish(`${job.source} ${job.version}: its QA gates hold`);
      await this.leasing.save(this.jobs.get(id)!);
    }
    await this.migrations.run();
  }

  /** Uploads publish_requires held back (or failed) that archive.yaml's gates no longer hold back, published. In the lane. */
  private async releaseHeld(): Promise<void> {
    const released: UploadRecord[] = [];
    for (const u of this.uploads.all().filter((x) => !x.inSuite && (x.state === 'held' || x.state === 'failed'))) {
      if (await this.joining.release(u.id)) released.push(u);
    }
    if (released.length === 0) return;
    await this.publish(`released ${released.map((u) => `${u.source} ${u.version}`).join(', ')}: archive.yaml's gates hold them back no more`);
    for (const u of released) await this.leasing.save(this.jobs.get(u.jobs[0])!);
  }

  /** After a crash (or a failure such as a full disk): finish or roll back what was under way. In the serial lane. */
  private async recover(): Promise<void> {
    await pruneGenerations(this.layout, { graceMs: this.config().publish.byHashGraceMinutes * 60_000 });
    await this.intake.recover();
    await this.rebuilds.dropUnrecorded();
    // Accepted sources and finished builds whose joining their suite a crash interrupted (or
    // records from before suites had contents of their own), oldest version first.
    const byVersion = (a: { version: string }, b: { version: string }) => compareVersions(a.version, b.version);
    for (const u of this.uploads.all().filter((u) => !u.inSuite && !['received', 'rejected'].includes(u.state)).sort(byVersion)) {
      await this.joining.source(u);
    }
    for (const j of this.jobs.all().filter((j) => j.kind === 'build' && !j.inSuite && j.state === 'built').sort(byVersion)) await this.joining.build(j);
    // A stop between a build's publication and its upload's state: the state follows its jobs.
    for (const u of this.uploads.all().filter((u) => ['accepted', 'building'].includes(u.state) && u.jobs.length > 0)) {
      const job = this.jobs.get(u.jobs[0]);
      if (job) await this.leasing.save(job);
    }
    await this.publishing.collectGarbage();
    // Checks of builds a failure interrupted before their checks were made.
    await this.planAfterBuilds();
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

  /** A scan at most delayMs from now: a request (delay 0) does not wait for a later scan already set. */
  private scheduleScan(delayMs = 300): void {
    const due = Date.now() + delayMs;
    if (this.scanPending && this.scanDueAt <= due) return;
    this.scanPending = true;
    this.scanDueAt = due;
    clearTimeout(this.scanTimer);
    this.scanTimer = setTimeout(() => {
      this.scanPending = false;
      void this.lane.run(() => this.scan()).catch((err) => this.infrastructureError('while taking uploads or publishing', err));
    }, delayMs);
  }

  /** Requests, then uploads, then one publication for what they accepted. In the lane. */
  private async scan(): Promise<void> {
    if (await this.reloadConfig()) {
      await this.backfill();
      await this.planAfterBuilds();
      await this.releaseHeld();
      await this.migrations.run();
    }
    // After a failure (disk full, ...) what it interrupted is finished, as after a crash,
    // and published again. A publish that still fails does not keep uploads from being
    // taken and checked meanwhile; it is said (and tried again) at the end.
    if (this.recoverPending) {
      await this.recover();
      this.recoverPending = false;
      this.publishing.pending = true;
    }
    let publishFailure: unknown;
    if (this.publishing.pending) await this.publish('again, after a failure').catch((err) => (publishFailure = err));
    // Nor does a request that fails (a full disk; it stays, to be carried out later): its error
    // is thrown at the end too. It once came first and stopped the scan: no upload was taken.
    let requestFailure: unknown;
    await this.requests.handleAll().catch((err) => (requestFailure = err));
    const { waiting, decided } = await this.intake.scan();
    if (this.acceptedUnpublished.length > 0) {
      const names = this.acceptedUnpublished;
      await this.publish(`accepted ${names.length > 3 ? `${names.length} uploads` : names.join(', ')}`);
    }
    if (decided.length > 0) this.statusChanged();
    if (waiting > 0) this.scheduleScan(1000);
    if (this.publishing.garbageLikely || this.requests.garbageLikely) {
      this.requests.garbageLikely = false;
      await this.publishing.collectGarbage();
    }
    if (publishFailure ?? requestFailure) throw publishFailure ?? requestFailure;
  }

  private statusTimer?: NodeJS.Timeout;
  private statusDue?: number;
  /**
   * The status page follows every change: written once changes pause for half a second (a
   * page of 10,000 packages is not rendered between two requests that come one after the
   * other), and at least every 5 seconds while they keep coming.
   */
  statusChanged(): void {
    const now = Date.now();
    this.statusDue ??= now + 5000;
    clearTimeout(this.statusTimer);
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      this.statusDue = undefined;
      void this.lane.run(() => this.writeStatus()).catch((err) => this.log(`status page: ${(err as Error).message}`));
    }, Math.max(0, Math.min(500, this.statusDue - now)));
  }

  private async writeStatus(): Promise<void> {
    const pages = renderStatusPages({
      config: this.settings,
      uploads: this.uploads.all(),
      jobs: this.jobs.all(),
      contents: this.suites.all(),
      now: new Date(),
      incoming: this.o.hostIncoming ?? this.layout.incoming,
      workers: this.workers.present(this.jobs.all()),
      url: this.o.publicUrl || undefined,
      migration: this.migrations.last,
    });
    for (const [path, html] of Object.entries(pages)) await writeFileAtomic(join(this.layout.public, path), html);
  }

  /**
   * archive.yaml is re-read when it changes, so policy edits apply without a restart. Whether it
   * changed. One the queue cannot take (bad YAML, a suite a snapshot is) is thrown, at the start
   * as at a scan, and the one before stays in force.
   */
  private async reloadConfig(): Promise<boolean> {
    const { mtimeMs } = await stat(this.layout.config);
    if (mtimeMs === this.configMtime) return false;
    const next = parseConfig(await readFile(this.layout.config, 'utf8'), this.layout.config);
    this.suites.checkConfig(next, this.layout.config);
    this.settings = next;
    if (this.configMtime !== 0) this.log(`reloaded ${this.layout.config}`);
    this.configMtime = mtimeMs;
    return true;
  }

  /**
   * An architecture added to a suite: a build of each source it publishes that builds there
   * (core/backfill.ts). The upload lists the new jobs before they exist: a stop in between
   * leaves a job to make next time, never one its upload does not know. In the lane.
   */
  private async backfill(): Promise<void> {
    const at = new Date().toISOString();
    const plans = backfillJobs(this.settings, this.suites.all(), (id) => this.uploads.get(id), (id) => this.jobs.get(id), at);
    for (const { upload, jobs } of plans) {
      await this.uploads.save({ ...upload, jobs: [...new Set([...upload.jobs, ...jobs.map((j) => j.id)])], updatedAt: at });
      for (const job of jobs) await this.leasing.save(job);
      this.log(`upload ${upload.id}: back-fill of ${upload.source} ${upload.version} in ${upload.suite}: builds on ${jobs.map((j) => `${j.arch} (${j.buildArg})`).join(', ')}`);
    }
  }
}
