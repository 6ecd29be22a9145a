// Enrolled workers: identities of their own, each with its own credential, that lease jobs over
// the job API from any Docker host (as gitlab-runner registers with a URL and a token). A
// worker's token is its name and a random key; the queue keeps the key (state/workers/, 0600)
// and checks each request's signature with it (core/request-signature.ts). Removing a worker
// revokes it: the key is gone, its next request is refused and its leases go back. Workers
// beside the queue are not enrolled: they sign with a key derived from the archive's own token.
// Pure.
import { KINDS, canRun, type WorkKind } from './work-kinds.js';

/** What the queue keeps of an enrolled worker. */
export interface WorkerRecord {
  id: string;
  /** The worker's own key, hex (what its token carries). */
  key: string;
  /** The architectures it may build (all when empty). */
  architectures: string[];
  createdAt: string;
}

/** What the queue last heard from a worker, enrolled or not (state/workers-seen/NAME.json; no secrets). */
export interface WorkerSeen {
  id: string;
  enrolled: boolean;
  kinds?: string[];
  architectures?: string[];
  /** Of its architectures, those it runs under qemu. */
  emulated?: string[];
  lastSeen: string;
}

/** A worker name: a DNS-label-like name, also a file name and a path part of the job API. */
export const WORKER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

const TOKEN_PREFIX = 'aibw1';

/** The token a worker is given: its name and key in one string. */
export function workerToken(w: Pick<WorkerRecord, 'id' | 'key'>): string {
  return `${TOKEN_PREFIX}.${w.id}.${w.key}`;
}

/** A token's name and key, or undefined when it is not a worker token. */
export function parseWorkerToken(token: string): { name: string; key: Buffer } | undefined {
  const [prefix, name, key, ...rest] = token.trim().split('.');
  if (prefix !== TOKEN_PREFIX || rest.length > 0 || !WORKER_NAME.test(name ?? '') || !/^[0-9a-f]{64}$/.test(key ?? '')) return undefined;
  return { name, key: Buffer.from(key, 'hex') };
}

/** The worker a slot belongs to ("b/2" -> "b"). */
export const workerOf = (slot: string) => slot.split('/')[0];

/** A worker counts as present when heard from this recently (or while it holds a job). */
export const PRESENT_WITHIN_MS = 10 * 60_000;

/**
 * What a job waiting for a worker waits for, when no present worker offers its kind and
 * architecture ("waiting for a worker that can build arm64"); undefined when one does.
 */
export function missingWorker(job: { kind: WorkKind; arch: string }, present: Pick<WorkerSeen, 'kinds' | 'architectures' | 'emulated'>[]): string | undefined {
  if (present.some((w) => canRun(w, job))) return undefined;
  const what = job.kind === 'build' ? `build ${job.arch}` : KINDS[job.kind]?.anyArchitecture ? `run ${job.kind}` : `run ${job.kind} on ${job.arch}`;
  return `waiting for a worker that can ${what}${present.length === 0 ? ' (no worker has asked for work lately)' : ''}`;
}

/** The workers present at `now`: heard from within PRESENT_WITHIN_MS, or holding one of `jobs`. */
export function presentWorkers(seen: WorkerSeen[], jobs: { lease?: { builder: string } }[], now: number): WorkerSeen[] {
  const holding = new Set(jobs.flatMap((j) => (j.lease ? [workerOf(j.lease.builder)] : [])));
  return seen.filter((w) => holding.has(w.id) || now - new Date(w.lastSeen).getTime() < PRESENT_WITHIN_MS);
}

/** A worker heard from this recently is waiting for work: an emulating worker leaves it its architecture's jobs. */
export const AVAILABLE_WITHIN_MS = 90_000;

/**
 * Whether a worker other than `asking` that builds `arch` natively is available at `now`: then
 * a worker that would emulate `arch` does not take its jobs (a native build is several times
 * faster). One busy with a build for longer than AVAILABLE_WITHIN_MS no longer counts.
 */
export function nativeWorkerAvailable(arch: string, asking: string, seen: WorkerSeen[], now: number): boolean {
  return seen.some(
    (w) => w.id !== asking && w.architectures?.includes(arch) && !w.emulated?.includes(arch) && now - new Date(w.lastSeen).getTime() < AVAILABLE_WITHIN_MS,
  );
}
