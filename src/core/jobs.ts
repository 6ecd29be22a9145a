// A job: one unit of work a worker leases (its kind: core/work-kinds.ts). Its states, after
// wanna-build's (a QA check that ran is "built", its verdict beside; finishCheck):
//
//   needs-build --lease--> building --built--> built
//        ^   ^                |  |  \--failed (the package's fault, or refused artifacts)--> failed
//        |   |                |  \--dep-wait (build-dependencies not satisfiable yet)--> dep-wait
//        |   |                \--give-back (the worker's trouble) or lease ran out--> given-back
//        |   \--lease-- given-back                    (MAX_ATTEMPTS give-backs or MAX_LOST lost
//        |                                             leases: failed instead)
//        \--the archive published something new-- dep-wait --waited past depWaitHours--> failed
//   failed, dep-wait --archive retry--> needs-build
//   needs-build, given-back, dep-wait --superseded or archive rm--> cancelled
//
// A lease gives a worker the job until its deadline; heartbeats extend it. Pure.
import type { FileDigest } from '../debian/file-digest.js';
import type { BuildArg, PlannedBuild } from './build-plan.js';
import type { BuildReport } from './kinds/build.js';
import type { QaResult } from './kinds/qa.js';
import type { WorkKind } from './work-kinds.js';

export type JobState = 'needs-build' | 'building' | 'built' | 'failed' | 'dep-wait' | 'given-back' | 'cancelled';

export interface Lease {
  builder: string;
  expiresAt: string;
}

export interface BinaryRecord extends FileDigest {
  /** The .deb's control paragraph, field by field. */
  control: [string, string][];
  /** Relative to public/. */
  path: string;
}

export interface JobRecord {
  id: string;
  kind: WorkKind;
  uploadId: string;
  source: string;
  version: string;
  suite: string;
  /** The Debian release the build environment comes from. */
  base: string;
  arch: string;
  buildArg: BuildArg;
  /** Whether its last lease ran it under qemu (its limits were scaled by builds.emulation_factor). */
  emulated?: boolean;
  state: JobState;
  /** How many times the job was leased. */
  attempts: number;
  /** How many leases ran out (builder lost). */
  lost?: number;
  lease?: Lease;
  /** The worker slot that last leased it ("NAME/2"), kept once it finished: who built it. */
  worker?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  /** The unsatisfiable build-dependency relation, while in dep-wait. */
  missing?: string;
  depWaitSince?: string;
  /** Build log, relative to public/. */
  log?: string;
  /** The image the build ran in (content digest) and the build-dependency image key. */
  image?: string;
  depsKey?: string;
  binaries: BinaryRecord[];
  /** Other artifacts kept beside the .debs (.buildinfo, .changes), relative to public/. */
  artifacts: string[];
  /** Set once the binaries have joined the suite's contents (or were found superseded). */
  inSuite?: boolean;
  /** A QA check's job: the build it checks, and once it ran, what it found (core/kinds/qa.ts). */
  of?: string;
  qa?: QaResult;
  /** An installability check: the target suite's contents it answers for (core/migration.ts targetDigest). */
  against?: string;
}

/** A new build job of an accepted upload, for one architecture of its build plan (core/build-plan.ts). */
export function newBuildJob(upload: { id: string; source: string; version: string }, suite: { name: string; base: string }, plan: PlannedBuild, at: string): JobRecord {
  return {
    id: `${upload.id}-${plan.arch}`,
    kind: 'build',
    uploadId: upload.id,
    source: upload.source,
    version: upload.version,
    suite: suite.name,
    base: suite.base,
    arch: plan.arch,
    buildArg: plan.buildArg,
    state: 'needs-build',
    attempts: 0,
    createdAt: at,
    updatedAt: at,
    binaries: [],
    artifacts: [],
  };
}

/** A record as stored: those written before jobs had kinds are builds. */
/**
 * A job's log as the queue names it (daemons/queue/job-leasing.ts newLog): one file in public/logs/.
 * Anything else in a record (../../etc/shadow) was not written by the queue, and is not opened.
 */
export const isLogName = (log: string): boolean => /^logs\/[A-Za-z0-9][A-Za-z0-9.+~_-]*\.log$/.test(log);

export function jobFromDisk(raw: Omit<JobRecord, 'kind'> & { kind?: WorkKind }): JobRecord {
  return { ...raw, kind: raw.kind ?? 'build' };
}

export const MAX_LOST = 3;
/** A job handed back this many times (builder-side trouble) fails instead of looping. */
export const MAX_ATTEMPTS = 6;
export const LEASE_MS = 90_000;
export const DEP_WAIT_MS = 24 * 3600_000;

export class JobTransitionError extends Error {}

export function isLeasable(job: JobRecord): boolean {
  return job.state === 'needs-build' || job.state === 'given-back';
}

export function lease(job: JobRecord, builder: string, now: Date, leaseMs = LEASE_MS): JobRecord {
  if (!isLeasable(job)) throw new JobTransitionError(`job ${job.id} is ${job.state}, not waiting for a builder`);
  return {
    ...job,
    state: 'building',
    attempts: job.attempts + 1,
    lease: { builder, expiresAt: new Date(now.getTime() + leaseMs).toISOString() },
    worker: builder,
    startedAt: now.toISOString(),
    updatedAt: now.toISOString(),
    reason: undefined,
  };
}

/** Throws unless `builder` holds the job's lease: only the holder of a job ends it, or hands anything in for it. */
export function assertHolder(job: JobRecord, builder: string): void {
  if (job.state !== 'building' || job.lease?.builder !== builder) {
    throw new JobTransitionError(`job ${job.id} is not leased to ${builder} (it is ${job.state}${job.lease ? `, leased to ${job.lease.builder}` : ''})`);
  }
}

export function heartbeat(job: JobRecord, builder: string, now: Date, leaseMs = LEASE_MS): JobRecord {
  assertHolder(job, builder);
  return { ...job, lease: { builder, expiresAt: new Date(now.getTime() + leaseMs).toISOString() }, updatedAt: now.toISOString() };
}

/** A lease that ran out: the job is given back, or fails after MAX_LOST lost builders. */
export function expireLease(job: JobRecord, now: Date): JobRecord {
  if (job.state !== 'building' || !job.lease || new Date(job.lease.expiresAt) > now) return job;
  const lost = (job.lost ?? 0) + 1;
  const base = { ...job, lease: undefined, lost, updatedAt: now.toISOString() };
  if (lost >= MAX_LOST) {
    return { ...base, state: 'failed', reason: `builder lost: the lease ran out ${lost} times`, finishedAt: now.toISOString() };
  }
  return { ...base, state: 'given-back', reason: `builder ${job.lease.builder} stopped answering` };
}

/** The builder hands the job back (shutting down, or an infrastructure failure on its side). */
export function giveBack(job: JobRecord, builder: string, reason: string, now: Date): JobRecord {
  assertHolder(job, builder);
  if (job.attempts >= MAX_ATTEMPTS) {
    return { ...job, state: 'failed', lease: undefined, reason: `given back ${job.attempts} times; last: ${reason}`, finishedAt: now.toISOString(), updatedAt: now.toISOString() };
  }
  return { ...job, state: 'given-back', lease: undefined, reason, updatedAt: now.toISOString() };
}

export function depWait(job: JobRecord, builder: string, missing: string, now: Date): JobRecord {
  assertHolder(job, builder);
  return {
    ...job,
    state: 'dep-wait',
    lease: undefined,
    missing,
    depWaitSince: job.depWaitSince ?? now.toISOString(),
    reason: `build-dependencies not satisfiable yet: ${missing}`,
    updatedAt: now.toISOString(),
  };
}

/** When the archive publishes something new, jobs in dep-wait try again (or give up). */
export function retryDepWait(job: JobRecord, now: Date, maxWaitMs = DEP_WAIT_MS): JobRecord {
  if (job.state !== 'dep-wait') return job;
  if (now.getTime() - new Date(job.depWaitSince ?? job.updatedAt).getTime() > maxWaitMs) {
    return expireDepWait(job, now, maxWaitMs);
  }
  return { ...job, state: 'needs-build', updatedAt: now.toISOString() };
}

export function expireDepWait(job: JobRecord, now: Date, maxWaitMs = DEP_WAIT_MS): JobRecord {
  if (job.state !== 'dep-wait' || now.getTime() - new Date(job.depWaitSince ?? job.updatedAt).getTime() <= maxWaitMs) return job;
  const hours = Math.round(maxWaitMs / 3600_000);
  return {
    ...job,
    state: 'failed',
    reason: `build-dependencies still not satisfiable after ${hours} h: ${job.missing}`,
    finishedAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}

export function finish(
  job: JobRecord,
  builder: string,
  /** The worker's report, with what the queue took from a build's artifacts when it built. */
  result:
    | (Extract<BuildReport, { outcome: 'built' }> & { binaries: BinaryRecord[]; artifacts: string[]; log: string })
    | (Extract<BuildReport, { outcome: 'failed' }> & { log?: string }),
  now: Date,
): JobRecord {
  assertHolder(job, builder);
  const base = {
    ...job,
    lease: undefined,
    missing: undefined,
    depWaitSince: undefined,
    updatedAt: now.toISOString(),
    finishedAt: now.toISOString(),
    log: result.log ?? job.log,
    image: result.image ?? job.image,
    depsKey: result.depsKey ?? job.depsKey,
  };
  return result.outcome === 'built'
    ? { ...base, state: 'built', binaries: result.binaries, artifacts: result.artifacts, reason: undefined }
    : { ...base, state: 'failed', reason: result.reason };
}

/**
 * A QA check's end: it ran (what it found is kept; a testbed that died, tmpfail, is tried once
 * more first), or its tool could not run (the job fails; the package is not judged).
 */
export function finishCheck(job: JobRecord, builder: string, outcome: { result: QaResult } | { reason: string }, now: Date): JobRecord {
  assertHolder(job, builder);
  const at = now.toISOString();
  if ('result' in outcome && outcome.result.verdict === 'tmpfail' && job.attempts < 2) {
    return { ...job, state: 'given-back', lease: undefined, reason: `the testbed failed (${outcome.result.summary}); trying once more`, updatedAt: at };
  }
  const base = { ...job, lease: undefined, updatedAt: at, finishedAt: at };
  return 'result' in outcome ? { ...base, state: 'built', qa: outcome.result, reason: undefined } : { ...base, state: 'failed', reason: outcome.reason };
}

/** A check or a rebuild that came to no result: handed back (the worker's trouble), or failed, with why. */
export function endWithoutResult(job: JobRecord, builder: string, report: { outcome: 'give-back' | 'failed'; reason: string }, now: Date): JobRecord {
  return report.outcome === 'give-back' ? giveBack(job, builder, report.reason, now) : finishCheck(job, builder, { reason: report.reason }, now);
}

/**
 * A build not started yet whose source left its suite (archive rm) or was superseded by a newer
 * version: not done at all, as wanna-build drops out-of-date jobs. A build under way runs on
 * (its binaries then stay in the pool only); anything else is returned unchanged.
 */
export function cancel(job: JobRecord, reason: string, now: Date): JobRecord {
  if (!isLeasable(job) && job.state !== 'dep-wait') return job;
  return { ...job, state: 'cancelled', missing: undefined, depWaitSince: undefined, reason, finishedAt: now.toISOString(), updatedAt: now.toISOString() };
}

/** archive retry: a failed job goes back to the queue, with a clean slate. */
export function retry(job: JobRecord, now: Date): JobRecord {
  if (job.state !== 'failed' && job.state !== 'dep-wait') throw new JobTransitionError(`job ${job.id} is ${job.state}; only failed or dep-wait jobs can be retried`);
  return { ...job, state: 'needs-build', lost: 0, reason: undefined, missing: undefined, depWaitSince: undefined, updatedAt: now.toISOString() };
}
