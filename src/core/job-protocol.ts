// The job API between workers and the queue, typed once for both sides: each route's method,
// path, body and answer in one table. The server (daemons/job-api.ts) routes by it and the
// client (daemons/job-api-client.ts) builds its URLs from it, so a mismatch is a compile
// error, not a 404. Every /api/ request is signed (core/request-signature.ts). Pure.
import type { BuildLimits } from './kinds/build.js';
import type { JobRecord } from './jobs.js';
import type { JobReport, WorkKind } from './work-kinds.js';

/**
 * What a worker can run: the kinds of work, and the architectures (any when not said), of
 * which `emulated` run under qemu there (slower: their limits scale, and a native worker is
 * preferred while one is present).
 */
export interface WorkerOffer {
  kinds: WorkKind[];
  architectures?: string[];
  emulated?: string[];
}

export interface LeaseRequest extends Partial<WorkerOffer> {
  /** The worker slot asking ("builder-x/2"). */
  builder: string;
  /** Only these kinds, for this slot (a worker's slot of its own for QA checks); its offer stays `kinds`. */
  only?: WorkKind[];
  /** How long the queue may hold the request open while there is nothing to do (at most 60). */
  waitSeconds: number;
}

/** The local archive as build containers reach it: where, and which suite and components. */
export interface LeasedArchive {
  suite: string;
  components: string[];
}

/** What the queue sends with a lease: the job, its input files, and how to run it. */
export interface LeasedJob extends JobRecord {
  files: { name: string; size: number; sha256: string }[];
  limits: BuildLimits;
  buildenvMaxAgeMs: number;
  /** How long the lease lasts without a heartbeat (archive.yaml builds.lease_seconds). */
  leaseMs?: number;
  localArchive?: LeasedArchive;
}

/** What the queue tells a worker that (re)started. */
export interface WorkerSettings {
  concurrency: number;
}

export interface Done {
  ok: true;
}

/** How a route's body travels: a JSON object, text, bytes streamed, or none. */
type BodyKind = 'json' | 'text' | 'bytes' | 'none';

/** The routes: method, path with :parameters, the body's kind and its cap in bytes. */
export const JOB_ROUTES = {
  lease: { method: 'POST', path: '/api/v1/lease', body: 'json' },
  start: { method: 'POST', path: '/api/v1/builders/:builder/start', body: 'json' },
  heartbeat: { method: 'POST', path: '/api/v1/jobs/:id/heartbeat', body: 'json' },
  sourceFile: { method: 'GET', path: '/api/v1/jobs/:id/files/:name', body: 'none' },
  /** Appended to the job's log; `builder` in the query (the body is the text). */
  log: { method: 'POST', path: '/api/v1/jobs/:id/log', body: 'text' },
  /** One output file; `builder` in the query (the body is the file). */
  artifact: { method: 'PUT', path: '/api/v1/jobs/:id/artifacts/:name', body: 'bytes' },
  complete: { method: 'POST', path: '/api/v1/jobs/:id/complete', body: 'json' },
} as const satisfies Record<string, { method: 'GET' | 'POST' | 'PUT'; path: string; body: BodyKind }>;

export type JobRoute = keyof typeof JOB_ROUTES;

/** Each route's parameters (path and query), body and answer, as they travel. */
export interface JobApi {
  lease: { params: Record<never, string>; body: LeaseRequest; answer: LeasedJob | undefined };
  start: { params: { builder: string }; body: Partial<WorkerOffer>; answer: WorkerSettings };
  heartbeat: { params: { id: string }; body: { builder: string }; answer: Done };
  sourceFile: { params: { id: string; name: string }; body: undefined; answer: Buffer };
  log: { params: { id: string; builder: string }; body: string; answer: Done };
  artifact: { params: { id: string; name: string; builder: string }; body: Buffer; answer: Done };
  complete: { params: { id: string }; body: JobReport & { builder: string; kind: WorkKind }; answer: Done };
}

/** Request bodies at most: a lease, heartbeat or result is a few hundred bytes (a reason a few KiB). */
export const MAX_SMALL_BODY = 64 * 1024;
/** A log flush is what a build printed in a second. */
export const MAX_LOG_BODY = 16 * 1024 * 1024;
export const MAX_ARTIFACT_BODY = 2 * 1024 * 1024 * 1024;

export const BODY_CAP: Record<BodyKind, number> = { json: MAX_SMALL_BODY, text: MAX_LOG_BODY, bytes: MAX_ARTIFACT_BODY, none: 0 };

/**
 * Answers a worker reads at most (held whole, and a queue elsewhere may be compromised): a
 * start's settings, a few bytes; a lease, the job and its input files' names, sizes and hashes
 * (a check of a source of hundreds of packages lists each, at some 150 bytes).
 */
export const MAX_SMALL_ANSWER = MAX_SMALL_BODY;
export const MAX_LEASE_ANSWER = 4 * 1024 * 1024;

/** A job id, file or worker name in a path: no separators, nothing to interpret. */
export const SAFE_PATH_PART = /^[A-Za-z0-9_.~+-]+$/;

/** The path (and query) of a route with its parameters, percent-encoded. */
export function routePath<R extends JobRoute>(route: R, params: JobApi[R]['params']): string {
  const values = params as Record<string, string>;
  const used = new Set<string>();
  const path = JOB_ROUTES[route].path.replace(/:([a-z]+)/g, (_, key: string) => {
    used.add(key);
    return encodeURIComponent(values[key]);
  });
  const query = Object.keys(values).filter((k) => !used.has(k));
  return query.length === 0 ? path : `${path}?${query.map((k) => `${k}=${encodeURIComponent(values[k])}`).join('&')}`;
}

export type RouteMatch = { route: JobRoute; params: Record<string, string> } | { status: 400 | 404 | 405; error: string };

/**
 * The route a request is for, with its path parameters decoded and checked (names arrive
 * percent-encoded, "+" as %2B, common in Debian versions) and its query parameters.
 */
export function matchRoute(method: string, url: URL): RouteMatch {
  const parts = url.pathname.split('/');
  let methodMismatch = false;
  for (const [route, spec] of Object.entries(JOB_ROUTES) as [JobRoute, (typeof JOB_ROUTES)[JobRoute]][]) {
    const pattern = spec.path.split('/');
    if (pattern.length !== parts.length || !pattern.every((p, i) => p.startsWith(':') || p === parts[i])) continue;
    if (spec.method !== method) {
      methodMismatch = true;
      continue;
    }
    const params: Record<string, string> = {};
    for (const [i, p] of pattern.entries()) {
      if (!p.startsWith(':')) continue;
      let value: string;
      try {
        value = decodeURIComponent(parts[i]);
      } catch {
        value = '%'; // not percent-encoded UTF-8: unsafe below
      }
      if (!SAFE_PATH_PART.test(value)) return { status: 400, error: `unsafe name in ${url.pathname}` };
      params[p.slice(1)] = value;
    }
    for (const [key, value] of url.searchParams) params[key] ??= value;
    return { route, params };
  }
  return methodMismatch ? { status: 405, error: `${method} not allowed on ${url.pathname}` } : { status: 404, error: `no such endpoint ${method} ${url.pathname}` };
}
