// Jobs and their leases: a worker asks (and may wait) for a job it can run, keeps it with
// heartbeats, loses it when its lease runs out or it restarts; every change of a job's state
// is saved here, and its upload's state follows.
import { existsSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildLimits } from '../../core/kinds/build.js';
import { checkInputs, previousBuilds, siblingBuilds } from '../../core/kinds/qa.js';
import { rebuildInputs, reproducibleDir } from '../../core/kinds/rebuild.js';
import type { LeaseRequest, LeasedJob, WorkerSettings } from '../../core/job-protocol.js';
import {
  assertHolder, cancel, expireDepWait, expireLease, giveBack, heartbeat, isLeasable, lease, retryDepWait, type JobRecord,
} from '../../core/jobs.js';
import { publicationHold } from '../../core/qa-gates.js';
import { uploadStateFromJobs } from '../../core/uploads.js';
import { compareVersions, versionWithoutEpoch } from '../../debian/version.js';
import { workerOf } from '../../core/workers.js';
import { KINDS, canRun } from '../../core/work-kinds.js';
import { fileFacts } from '../../storage/files.js';
import { refused, type KeyCheck } from '../job-api.js';
import type { QueueContext } from './queue-context.js';
import type { WorkerRegistry } from './worker-registry.js';
import { inOrder } from '../../debian/indices.js';

/** A heartbeat within this long (a tenth of a shorter lease) of the lease's last renewal is not saved again (JobLeasing.heartbeat). */
export const HEARTBEAT_SAVED_WITHIN_MS = 1000;

export class JobLeasing {
  private readonly waiters = new Set<() => void>();
  /** When each job's worker was last heard from ("JOB WORKER" -> ms), before the lane saw it. */
  private readonly heardFrom = new Map<string, number>();

  constructor(
    private readonly q: QueueContext,
    private readonly workers: WorkerRegistry,
  ) {}

  job(id: string): JobRecord {
    const job = this.q.jobs.get(id);
    if (!job) throw refused(404, `no job ${id}`);
    return job;
  }

  /**
   * The files a job reads, relative to public/: a build its upload's source files; a QA check
   * also the packages, .changes, .buildinfo and log of the build it checks, the arch:all
   * packages of its upload's other builds, and piuparts the previous version's packages
   * (core/kinds/qa.ts); a rebuild its upload's source files and the packages of the build it
   * rebuilds (core/kinds/rebuild.ts).
   */
  inputs(job: JobRecord): { name: string; path: string; size?: number; sha256?: string }[] {
    const upload = this.q.uploads.get(job.uploadId);
    if (!upload) return [];
    if (job.kind === 'build') return upload.sourceFiles;
    const build = job.of ? this.q.jobs.get(job.of) : undefined;
    if (!build) return [];
    if (job.kind === 'rebuild') return rebuildInputs(upload, build);
    const jobs = this.q.jobs.all();
    // The version to upgrade from, while its packages are still in the pool (not after archive rm and a collection).
    const previous = job.kind === 'piuparts' ? previousBuilds(build, jobs) : [];
    const present = previous.every((j) => j.binaries.every((b) => existsSync(join(this.q.layout.public, b.path))));
    return checkInputs(upload, build, siblingBuilds(build, jobs), present ? previous : []);
  }

  /** Saves a job's new state; its upload's state follows, waiting workers are woken for a leasable one. */
  async save(job: JobRecord): Promise<void> {
    await this.q.jobs.save(job);
    this.q.statusChanged();
    if (isLeasable(job)) this.wakeWorkers();
    const upload = this.q.uploads.get(job.uploadId);
    if (!upload) return;
    const jobs = this.q.jobs.all();
    const hold = publicationHold(this.q.config().suites, upload, jobs, (name) => this.q.suites.all().find((c) => c.id === name));
    const { state, reasons } = uploadStateFromJobs(upload, jobs, hold);
    if (state !== upload.state) await this.q.uploads.save({ ...upload, state, reasons, updatedAt: new Date().toISOString() });
  }

  /** Workers waiting in a long poll ask again: there may be a job for them. */
  wakeWorkers(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /**
   * Long polling: a worker asking when there is nothing to do waits here until a job becomes
   * leasable (or the wait ends), so a new upload starts building at once.
   */
  async lease(asked: LeaseRequest, waitMs: number, gone: () => boolean, checkKey: KeyCheck): Promise<LeasedJob | undefined> {
    const worker = workerOf(asked.builder);
    // Its key as the request was signed, checked again in the lane: a worker removed since
    // (archive workers rm, even with a new one enrolled under the name) leases nothing (401).
    checkKey();
    // Noting it is not worth a lease: a full disk says so elsewhere. Not from a slot of QA
    // checks alone: it asks while the worker's builds run, and would keep a busy native worker
    // counted as available (an emulating one would leave it every job of its architecture).
    if (!asked.only) await this.workers.heard(worker, asked).catch((err) => this.q.log(`worker ${worker}: ${(err as Error).message}`));
    // An enrolled worker leases only the architectures its credential allows.
    const request = this.workers.effective(worker, asked);
    // Not to a worker that hung up while the lane was busy: a lease nobody received would run
    // out as a lost builder, and three of those fail the job.
    const first = await this.q.lane.run(async () => (checkKey(), gone() ? undefined : this.leaseOne(request, gone)));
    if (first || waitMs <= 0) return first;
    await new Promise<void>((resolve) => {
      // (One that waited in vain goes too: an idle worker asks again every wait, for days.)
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.waiters.add(done);
    });
    return this.q.lane.run(async () => (checkKey(), gone() ? undefined : this.leaseOne(request, gone)));
  }

  /** A worker that restarted holds nothing any more: its jobs go back at once, without waiting for their leases to run out. */
  start(name: string, checkKey: KeyCheck): Promise<WorkerSettings> {
    return this.q.lane.run(async () => {
      // (Not the jobs of a worker enrolled under its name since, for a request of the old one's.)
      checkKey();
      await this.giveBackAll(name, `builder ${name} restarted`);
      return { concurrency: this.q.config().builds.concurrency };
    });
  }

  /** Every job worker `name` (or one of its slots, "NAME/2") holds goes back to the queue. Returns how many. In the lane. */
  async giveBackAll(name: string, reason: string): Promise<number> {
    let given = 0;
    for (const job of this.q.jobs.all()) {
      if (job.state === 'building' && job.lease && workerOf(job.lease.builder) === name) {
        await this.save(giveBack(job, job.lease.builder, reason, new Date()));
        this.q.log(`job ${job.id}: given back: ${reason}`);
        given++;
      }
    }
    return given;
  }

  async heartbeat(id: string, builder: string, checkKey: KeyCheck): Promise<void> {
    checkKey();
    // Only the holder's is noted (any worker may send one for any name of its own, and ids), and
    // only under a key its worker still has: then again in the lane.
    const lease = this.q.jobs.get(id)?.lease;
    // Refused as it would be in the lane (no such job, not the holder), without waiting for it.
    if (lease?.builder !== builder) return assertHolder(this.job(id), builder);
    this.heardFrom.set(`${id} ${builder}`, Date.now());
    // A lease renewed a moment ago is not saved again: a worker's heartbeats (a few a minute)
    // each cost a synced write in the lane, and a hostile worker could send hundreds a second.
    // Looked at before the lane and again in it (those sent while it was busy wait there).
    if (this.renewedJustNow(this.q.jobs.get(id))) return;
    return this.q.lane.run(async () => {
      checkKey();
      const job = this.job(id);
      if (job.lease?.builder === builder && this.renewedJustNow(job)) return;
      await this.save(heartbeat(job, builder, new Date(), this.q.config().builds.leaseSeconds * 1000));
    });
  }

  private renewedJustNow(job: JobRecord | undefined): boolean {
    const leaseMs = this.q.config().builds.leaseSeconds * 1000;
    return !!job?.lease && Date.parse(job.lease.expiresAt) - Date.now() > leaseMs - Math.min(HEARTBEAT_SAVED_WITHIN_MS, leaseMs / 10);
  }

  /**
   * The job a worker reports the end of: only the holder of its lease ends it (nothing is kept,
   * pooled or signed for another); its heartbeats no longer count.
   */
  reported(id: string, builder: string): JobRecord {
    const job = this.job(id);
    assertHolder(job, builder);
    this.heardFrom.delete(`${id} ${builder}`);
    return job;
  }

  /** Leases that ran out go back (or fail); dep-waits that waited too long fail. In the lane. */
  async expire(): Promise<void> {
    const now = new Date();
    const { leaseSeconds, depWaitHours } = this.q.config().builds;
    // What was heard of leases that have since ended (expired, given back, the job removed).
    for (const key of this.heardFrom.keys()) {
      const at = key.indexOf(' ');
      if (this.q.jobs.get(key.slice(0, at))?.lease?.builder !== key.slice(at + 1)) this.heardFrom.delete(key);
    }
    for (const job of this.q.jobs.all()) {
      // A heartbeat still queued behind long work in the lane (publishes for a burst of
      // requests) renews nothing yet, but its worker is alive: its lease does not run out.
      const heard = job.lease ? this.heardFrom.get(`${job.id} ${job.lease.builder}`) : undefined;
      if (heard !== undefined && now.getTime() - heard < leaseSeconds * 1000) continue;
      const next = expireDepWait(expireLease(job, now), now, depWaitHours * 3600_000);
      if (next !== job) {
        await this.save(next);
        this.q.log(`job ${job.id}: lease of ${job.lease?.builder} expired; now ${next.state}`);
      }
    }
  }

  /** Something new is in the archive: jobs waiting for build-dependencies try again (or give up). In the lane. */
  async retryDepWaits(): Promise<void> {
    const now = new Date();
    for (const job of this.q.jobs.all().filter((j) => j.state === 'dep-wait')) {
      const next = retryDepWait(job, now, this.q.config().builds.depWaitHours * 3600_000);
      await this.save(next);
      this.q.log(`job ${job.id}: ${next.state === 'failed' ? next.reason : 'dep-wait over, trying again'}`);
    }
  }

  /**
   * Jobs not started yet of `source` in `suite` (only of versions older than `olderThan` when
   * given): cancelled, with the reason (core/jobs.ts cancel). Returns how many. In the lane.
   */
  async cancel(suite: string, source: string, reason: string, olderThan?: string): Promise<number> {
    const now = new Date();
    let cancelled = 0;
    for (const job of this.q.jobs.all()) {
      if (job.source !== source || job.suite !== suite || (olderThan !== undefined && compareVersions(job.version, olderThan) >= 0)) continue;
      const next = cancel(job, reason, now);
      if (next === job) continue;
      await this.save(next);
      this.q.log(`job ${job.id}: cancelled: ${reason}`);
      cancelled++;
    }
    return cancelled;
  }

  /**
   * The job the asking worker can run, leased to it, with what it needs to run it: builds
   * first, then QA checks (they never hold a build back), then rebuilds, the oldest first.
   * None when the worker hung up meanwhile (gone()): see lease.
   */
  private async leaseOne(request: LeaseRequest, gone: () => boolean): Promise<LeasedJob | undefined> {
    if (this.workers.isRevoked(workerOf(request.builder))) return undefined;
    const config = this.q.config();
    const worker = workerOf(request.builder);
    // A check reads files: it runs natively whatever the architecture of the build it checks.
    const emulates = (j: JobRecord) => !KINDS[j.kind]?.anyArchitecture && !!request.emulated?.includes(j.arch);
    const order = (j: JobRecord) => (j.kind === 'build' ? 0 : j.kind === 'rebuild' ? 2 : 1);
    // A rebuild is another slot's than the build's (two builds, not one twice), and another
    // worker's when one that builds its architecture natively is waiting for work.
    const ownBuild = (j: JobRecord) => {
      const by = j.kind === 'rebuild' && j.of ? this.q.jobs.get(j.of)?.worker : undefined;
      return !!by && (by === request.builder || (workerOf(by) === worker && this.workers.nativeAvailable(j.arch, worker)));
    };
    const job = this.q.jobs
      .all()
      // A job this worker would emulate is left to a native worker that is waiting for work.
      .filter((j) => isLeasable(j) && canRun(request, j) && (!request.only || request.only.includes(j.kind)) && !ownBuild(j) && !(emulates(j) && this.workers.nativeAvailable(j.arch, worker)))
      .sort((a, b) => order(a) - order(b) || inOrder(a.createdAt, b.createdAt))[0];
    if (!job) return undefined;
    let files: { name: string; size: number; sha256: string }[];
    try {
      files = await Promise.all(this.inputs(job).map(async ({ name, path, size, sha256 }) => ({ name, ...(size !== undefined && sha256 ? { size, sha256 } : await fileFacts(join(this.q.layout.public, path))) })));
    } catch (err) {
      // A check of a build whose files the pool let go (superseded long ago): nothing to check.
      const now = new Date().toISOString();
      await this.save({ ...job, state: 'failed', reason: `its input files are gone: ${(err as Error).message}`, finishedAt: now, updatedAt: now });
      return this.leaseOne(request, gone);
    }
    // (Reading the inputs' sizes and hashes may have taken a while.)
    if (gone()) return undefined;
    const emulated = emulates(job);
    const leased = { ...lease(job, request.builder, new Date(), config.builds.leaseSeconds * 1000), emulated };
    // A check's log is named after its kind (".lintian"), a rebuild's after its id past the build's (".rebuild", ".rebuild-2").
    const what = job.kind === 'build' ? '' : job.kind === 'rebuild' && job.of ? `.${job.id.slice(job.of.length + 1)}` : `.${job.kind}`;
    leased.log = await newLog(this.q.layout.public, `${job.source}_${versionWithoutEpoch(job.version)}_${job.arch}${what}`, leased.attempts);
    // What an earlier lease handed in before it was lost is not this one's (nor what a completion
    // cut short took aside to check: build-results.ts).
    for (const dir of [job.id, `${job.id}.checking`]) await rm(join(this.q.layout.artifacts, dir), { recursive: true, force: true });
    // Nor what a rebuild's completion cut short kept public: a statement signed before its record
    // was saved would say "reproducible" beside this lease's verdict.
    if (job.kind === 'rebuild') await rm(join(this.q.layout.public, reproducibleDir(job)), { recursive: true, force: true });
    await this.save(leased);
    if (gone()) {
      // Hung up while the lease was saved: the job goes back as it was, its attempt not counted.
      await this.save(job);
      await rm(join(this.q.layout.public, leased.log), { force: true });
      this.q.log(`job ${job.id}: not leased to ${request.builder}, which hung up`);
      return undefined;
    }
    const suite = config.suites.find((s) => s.name === job.suite)!;
    this.q.log(`job ${job.id}: leased to ${request.builder} (attempt ${leased.attempts}${emulated ? ', emulated' : ''})`);
    return {
      ...leased,
      files: files.map(({ name, size, sha256 }) => ({ name, size, sha256 })),
      limits: buildLimits(config.builds, emulated),
      buildenvMaxAgeMs: config.builds.buildenvMaxAgeHours * 3600_000,
      leaseMs: config.builds.leaseSeconds * 1000,
      localArchive: { suite: suite.name, components: suite.components },
    };
  }
}

/**
 * A lease's new, empty log under public/logs/, named after its job ("hello_1.0-1_amd64.1.log"),
 * and never another job's: one of the same source, version and architecture (in another suite,
 * or of an upload of that version again after `archive rm`) has its attempt's name taken, so
 * this one is "hello_1.0-1_amd64.1-2.log", and so on.
 */
export async function newLog(publicDir: string, stem: string, attempt: number): Promise<string> {
  for (let n = 1; ; n++) {
    const log = `logs/${stem}.${attempt}${n === 1 ? '' : `-${n}`}.log`;
    try {
      await (await open(join(publicDir, log), 'wx')).close();
      return log;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
