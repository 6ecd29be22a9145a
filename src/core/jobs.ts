// The build job state machine (as wanna-build's): needs-build -> building -> built | failed.
// A lease gives a builder the job until its deadline; heartbeats extend it; an expired lease
// returns the job to needs-build until the attempt limit, then it fails as "builder lost".
import type { BuildArg } from './build-plan.js';

export type JobState = 'needs-build' | 'building' | 'built' | 'failed';

export interface Lease {
  builder: string;
  expiresAt: string;
}

export interface BinaryRecord {
  /** The .deb's control paragraph, field by field. */
  control: [string, string][];
  path: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

export interface JobRecord {
  id: string;
  uploadId: string;
  source: string;
  version: string;
  suite: string;
  /** The Debian release the build environment comes from. */
  base: string;
  arch: string;
  buildArg: BuildArg;
  state: JobState;
  attempts: number;
  lease?: Lease;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  /** Build log, relative to public/. */
  log?: string;
  binaries: BinaryRecord[];
  /** Other artifacts kept beside the .debs (.buildinfo, .changes), relative to public/. */
  artifacts: string[];
}

export const MAX_ATTEMPTS = 3;
export const LEASE_MS = 90_000;

export class JobTransitionError extends Error {}

export function lease(job: JobRecord, builder: string, now: Date, leaseMs = LEASE_MS): JobRecord {
  if (job.state !== 'needs-build') throw new JobTransitionError(`job ${job.id} is ${job.state}, not needs-build`);
  return {
    ...job,
    state: 'building',
    attempts: job.attempts + 1,
    lease: { builder, expiresAt: new Date(now.getTime() + leaseMs).toISOString() },
    startedAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}

export function heartbeat(job: JobRecord, builder: string, now: Date, leaseMs = LEASE_MS): JobRecord {
  if (job.state !== 'building' || job.lease?.builder !== builder) {
    throw new JobTransitionError(`job ${job.id} is not leased to ${builder}`);
  }
  return { ...job, lease: { builder, expiresAt: new Date(now.getTime() + leaseMs).toISOString() }, updatedAt: now.toISOString() };
}

/** Returns jobs whose lease ran out to the queue, or fails them after MAX_ATTEMPTS. */
export function expireLease(job: JobRecord, now: Date): JobRecord {
  if (job.state !== 'building' || !job.lease || new Date(job.lease.expiresAt) > now) return job;
  const base = { ...job, lease: undefined, updatedAt: now.toISOString() };
  if (job.attempts >= MAX_ATTEMPTS) {
    return { ...base, state: 'failed', reason: `builder lost: lease expired ${MAX_ATTEMPTS} times`, finishedAt: now.toISOString() };
  }
  return { ...base, state: 'needs-build' };
}

export function finish(
  job: JobRecord,
  builder: string,
  result: { ok: true; binaries: BinaryRecord[]; artifacts: string[]; log: string } | { ok: false; reason: string; log?: string },
  now: Date,
): JobRecord {
  if (job.state !== 'building' || job.lease?.builder !== builder) {
    throw new JobTransitionError(`job ${job.id} is not leased to ${builder}`);
  }
  const base = { ...job, lease: undefined, updatedAt: now.toISOString(), finishedAt: now.toISOString(), log: result.log ?? job.log };
  return result.ok
    ? { ...base, state: 'built', binaries: result.binaries, artifacts: result.artifacts, reason: undefined }
    : { ...base, state: 'failed', reason: result.reason };
}
