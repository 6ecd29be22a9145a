// The queue's job API, for workers only, routed by the table in core/job-protocol.ts: every
// /api/ request is signed with the worker's key (core/request-signature.ts: an enrolled worker's
// own, or one derived from the archive's token beside the queue); no token goes on the wire,
// and a worker acts only under its own name (or its slots', "B/N"). GET /health answers without
// a token (the healthcheck). nginx passes /api/ on the repository's port to it.
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { JobTransitionError } from '../core/jobs.js';
import { BODY_CAP, JOB_ROUTES, matchRoute, type LeaseRequest, type LeasedJob, type WorkerOffer, type WorkerSettings } from '../core/job-protocol.js';
import { NonceMemory, SignatureError, actsAs, verifyRequest, type KeyFor } from '../core/request-signature.js';
import { WORK_KINDS, parseKindReport, type KindReport, type WorkKind } from '../core/work-kinds.js';

/**
 * Throws (401) once the key a request was verified with is no longer its worker's: the worker was
 * removed (archive workers rm), and perhaps enrolled again under its name with a new key, while
 * the request was under way. The key is looked at when the headers come, but a body may take
 * long to come after, and an answer wait for the lane: a handler calls this in the lane, right
 * before the request changes anything, or an old token's request would act as the new worker.
 */
export type KeyCheck = () => void;

/** What the queue does for each route of core/job-protocol.ts (one handler per route). */
export interface JobApiHandlers {
  /** gone() says whether the asking worker hung up while it waited. */
  lease(request: LeaseRequest, waitMs: number, gone: () => boolean, checkKey: KeyCheck): Promise<LeasedJob | undefined>;
  start(builder: string, offer: Partial<WorkerOffer>, checkKey: KeyCheck): Promise<WorkerSettings>;
  heartbeat(id: string, builder: string, checkKey: KeyCheck): Promise<void>;
  /** The path of the job's input file to send. */
  sourceFile(id: string, name: string): Promise<string>;
  /** body as artifact's: streamed, throwing at its end when the bytes are not the signed ones. */
  log(id: string, builder: string, body: AsyncIterable<Buffer>, checkKey: KeyCheck): Promise<void>;
  /** body is streamed; it throws at its end when the bytes are not the signed ones (write aside, then move). */
  artifact(id: string, builder: string, name: string, body: AsyncIterable<Buffer>, checkKey: KeyCheck): Promise<void>;
  /** The report was checked as one of its kind (the queue checks that the job is of that kind). */
  complete(id: string, builder: string, report: KindReport, checkKey: KeyCheck): Promise<void>;
}

/** An error the job API answers with `status` and its message (a handler throws it). */
export const refused = (status: number, message: string) => Object.assign(new Error(message), { status });

/** The status the job API answers an error with: a refusal's own, 409 for a job not in the state asked, else 500 (the queue's failure). */
export function answerStatus(err: unknown): number {
  return (err as { status?: number }).status ?? (err instanceof JobTransitionError ? 409 : 500);
}

/**
 * The body as it arrives, at most `limit` bytes, ending in an error when its sha256 is not the
 * signed one: what is read before the end is not to be trusted until the end is reached.
 */
async function* checkedBody(req: IncomingMessage, limit: number, sha256: string, what: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw refused(413, `${what}: request body over ${limit} bytes`);
    hash.update(chunk as Buffer);
    yield chunk as Buffer;
  }
  const got = hash.digest('hex');
  if (got !== sha256) throw refused(400, `${what}: the body's sha256 ${got} is not the signed ${sha256}`);
}

/**
 * A small body (a lease's, heartbeat's or report's, at most 64 KiB), whole within `withinMs` or
 * its connection is closed: one dribbled a byte at a time would keep its request, signed long
 * before, in hand for as long as the sender liked.
 */
async function body(req: IncomingMessage, limit: number, sha256: string, what: string, withinMs: number): Promise<Buffer> {
  const late = setTimeout(() => req.destroy(refused(408, `${what}: the body did not come whole within ${withinMs / 1000} s`)), withinMs);
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of checkedBody(req, limit, sha256, what)) chunks.push(chunk);
    return Buffer.concat(chunks);
  } finally {
    clearTimeout(late);
  }
}

function json(data: Buffer, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(data.toString() || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // said below
  }
  throw refused(400, `${what}: expected a JSON object as the body`);
}

/** close: the connection is closed after the answer (node does not read on what is left of the body, which a client without a key may dribble for ever). */
function send(res: ServerResponse, status: number, value?: unknown, o: { close?: boolean } = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...(o.close ? { connection: 'close' } : {}) });
  res.end(value === undefined ? undefined : JSON.stringify(value));
}

/**
 * keyFor: each worker's key (core/request-signature.ts); a worker without one is refused. No
 * limit on a request's whole time (node's is 5 minutes): a worker on a slow link hands in a
 * build's gigabyte for as long as it keeps sending, and an answer may wait for the lane. A
 * request's headers must come whole within `headersMs` (node's 60 s), and its body may not
 * stop coming for as long, so that a client that opens many connections and dribbles into them
 * holds none for long; a small body (all but a log's or a file's) must come whole within as
 * long; a request refused before its body is read (no key) has its connection closed. Remote
 * workers come through nginx, which also cuts a body silent for 30 s.
 */
export function startJobApi(port: number, keyFor: KeyFor, h: JobApiHandlers, { headersMs = 60_000 } = {}): Promise<Server> {
  const nonces = new NonceMemory();
  const server = createServer({ requestTimeout: 0, headersTimeout: headersMs, connectionsCheckingInterval: Math.min(30_000, headersMs) }, async (req, res) => {
    // Its request came: no limit on its whole time from here (a connection that sends nothing at
    // all is closed below; node's headers timeout counts from the first byte), but its body may
    // not stop coming for headersMs (the socket's timeout counts from its last byte); none
    // once the body is in (a long poll waits in silence).
    req.socket.setTimeout(headersMs);
    // (A body read on after the answer, as node reads what a handler left, ends with node's
    // keep-alive timeout already set: not taken back.)
    req.once('end', () => {
      if (!res.writableEnded) req.socket.setTimeout(0);
    });
    try {
      const url = new URL(req.url ?? '/', 'http://queue');
      const path = url.pathname;
      // Answered before any signature is looked at: a body sent with them is not read on.
      const unsigned = { close: Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined };
      if (path === '/health') return send(res, 200, { ok: true }, unsigned);
      if (!path.startsWith('/api/')) return send(res, 404, { error: 'not found' }, unsigned);
      let signer: string;
      let signedSha256: string;
      try {
        ({ builder: signer, bodySha256: signedSha256 } = verifyRequest(keyFor, req.headers.authorization, { method: req.method ?? 'GET', path: req.url ?? '/' }, nonces));
      } catch (err) {
        if (err instanceof SignatureError) return send(res, 401, { error: err.message }, { close: true });
        throw err;
      }
      const match = matchRoute(req.method ?? 'GET', url);
      if ('error' in match) return send(res, match.status, { error: match.error });
      const { route, params } = match;
      const what = `${req.method} ${path}`;
      // The key it was verified with (looked up again at once: the same one).
      const key = keyFor(signer)!;
      const checkKey: KeyCheck = () => {
        if (!keyFor(signer)?.equals(key)) throw refused(401, `${what}: signed with a key worker ${signer} no longer has (archive workers rm removed it while the request was under way); expected its current key`);
      };
      const cap = BODY_CAP[JOB_ROUTES[route].body];
      const small = async () => json(await body(req, cap, signedSha256, what, headersMs), what);
      // The name a request acts under is the one it was signed for: no forging another worker's.
      const as = (claimed: unknown): string => {
        if (typeof claimed !== 'string' || !claimed) throw refused(400, `${what}: builder name missing`);
        if (!actsAs(signer, claimed)) throw refused(403, `${what}: signed by builder ${signer}, which cannot act as ${claimed}`);
        return claimed;
      };
      const { id, name } = params;
      switch (route) {
        case 'lease': {
          const { builder: claimed, waitSeconds, only, ...offered } = await small();
          const slot = only === undefined ? {} : { only: offer(`${what} (only)`, { kinds: only }).kinds! };
          const request: LeaseRequest = { builder: as(claimed), waitSeconds: Math.min(60, Math.max(0, Number(waitSeconds) || 0)), ...offer(what, offered), ...slot };
          let hungUp = false;
          res.on('close', () => {
            hungUp = !res.writableFinished;
          });
          const job = await h.lease(request, request.waitSeconds * 1000, () => hungUp, checkKey);
          return job ? send(res, 200, job) : send(res, 204);
        }
        case 'start': {
          return send(res, 200, await h.start(as(params.builder), offer(what, await small()), checkKey));
        }
        case 'heartbeat':
          await h.heartbeat(id, as((await small()).builder), checkKey);
          return send(res, 200, { ok: true });
        case 'sourceFile': {
          await body(req, cap, signedSha256, what, headersMs);
          const file = await h.sourceFile(id, name);
          // Opened before the answer starts: a file gone from the pool is a 404, not a crash.
          const stream = createReadStream(file);
          await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject)).catch((err: NodeJS.ErrnoException) => {
            throw err.code === 'ENOENT' ? refused(404, `job ${id}: ${name} is no longer in the pool`) : err;
          });
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          stream.once('error', () => res.destroy()).pipe(res);
          return;
        }
        case 'log': {
          const builder = as(params.builder);
          await h.log(id, builder, checkedBody(req, cap, signedSha256, what), checkKey);
          return send(res, 200, { ok: true });
        }
        case 'artifact':
          await h.artifact(id, as(params.builder), name, checkedBody(req, cap, signedSha256, what), checkKey);
          return send(res, 200, { ok: true });
        case 'complete': {
          const { builder: by, kind = 'build', ...rest } = await small();
          const builder = as(by);
          const report = parseKindReport(kind, rest);
          if ('error' in report) return send(res, 400, { error: report.error });
          await h.complete(id, builder, report, checkKey);
          return send(res, 200, { ok: true });
        }
      }
    } catch (err) {
      send(res, answerStatus(err), { error: (err as Error).message });
    }
  });
  server.on('connection', (socket) => socket.setTimeout(headersMs, () => socket.destroy()));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

/** A worker's offer as sent, checked: lists of names, or left out (any; emulated: none). */
function offer(what: string, sent: { kinds?: unknown; architectures?: unknown; emulated?: unknown }): Partial<WorkerOffer> {
  const { kinds, architectures, emulated } = sent;
  const names = (v: unknown) => Array.isArray(v) && v.length <= 64 && v.every((x) => typeof x === 'string' && /^[a-z0-9-]{1,32}$/.test(x));
  if (kinds !== undefined && (!names(kinds) || !(kinds as string[]).every((k) => (WORK_KINDS as readonly string[]).includes(k)))) {
    throw refused(400, `${what}: kinds must list kinds of work (${WORK_KINDS.join(', ')})`);
  }
  if (architectures !== undefined && !names(architectures)) throw refused(400, `${what}: architectures must list architecture names`);
  if (emulated !== undefined && !names(emulated)) throw refused(400, `${what}: emulated must list architecture names`);
  return {
    ...(kinds !== undefined && { kinds: kinds as WorkKind[] }),
    ...(architectures !== undefined && { architectures: architectures as string[] }),
    ...(emulated !== undefined && { emulated: emulated as string[] }),
  };
}
