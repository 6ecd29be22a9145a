// The queue's job API, for builders only: every /api/ request is signed with a key derived
// from the archive's token and the builder's name (core/request-signature.ts); the token itself
// never goes on the wire, and a builder acts only under its own name (or its slots', "B/N").
//   POST /api/v1/lease                      {builder, waitSeconds} -> 200 job | 204 nothing to do (after waiting)
//   POST /api/v1/jobs/ID/heartbeat          {builder}
//   GET  /api/v1/jobs/ID/files/NAME                            -> a source file of the job
//   POST /api/v1/jobs/ID/log?builder=B      text               (appended to the build log)
//   PUT  /api/v1/jobs/ID/artifacts/NAME?builder=B   bytes
//   POST /api/v1/jobs/ID/complete           {builder, outcome, reason, missing, image, depsKey}
//   POST /api/v1/builders/NAME/start                           -> {concurrency}; gives back NAME's jobs
//   GET  /health                                               (no token; for the healthcheck)
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { JobTransitionError } from '../core/jobs.js';
import { NonceMemory, SignatureError, actsAs, verifyRequest } from '../core/request-signature.js';

/** What a builder reports at the end of a job. */
export interface BuildReport {
  outcome: 'built' | 'failed' | 'dep-wait' | 'give-back';
  reason?: string;
  missing?: string;
  image?: string;
  depsKey?: string;
}

export interface JobApiHandlers {
  /** gone() says whether the asking builder hung up while it waited. */
  lease(builder: string, waitMs: number, gone: () => boolean): Promise<object | undefined>;
  builderStarted(name: string): Promise<object>;
  heartbeat(id: string, builder: string): Promise<void>;
  sourceFile(id: string, name: string): Promise<string>;
  appendLog(id: string, builder: string, text: string): Promise<void>;
  /** body is streamed; it throws at its end when the bytes are not the signed ones (write aside, then move). */
  putArtifact(id: string, builder: string, name: string, body: AsyncIterable<Buffer>): Promise<void>;
  complete(id: string, builder: string, result: BuildReport): Promise<void>;
}

/** Request bodies at most: a lease, heartbeat or result is a few hundred bytes (a reason a few KiB). */
export const MAX_SMALL_BODY = 64 * 1024;
/** A log flush is what a build printed in a second. */
export const MAX_LOG_BODY = 16 * 1024 * 1024;
export const MAX_ARTIFACT_BODY = 2 * 1024 * 1024 * 1024;

const refused = (status: number, message: string) => Object.assign(new Error(message), { status });

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

async function body(req: IncomingMessage, limit: number, sha256: string, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of checkedBody(req, limit, sha256, what)) chunks.push(chunk);
  return Buffer.concat(chunks);
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

function send(res: ServerResponse, status: number, value?: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(value === undefined ? undefined : JSON.stringify(value));
}

export function startJobApi(port: number, token: string, h: JobApiHandlers): Promise<void> {
  const nonces = new NonceMemory();
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://queue');
      const path = url.pathname;
      if (path === '/health') return send(res, 200, { ok: true });
      if (!path.startsWith('/api/')) return send(res, 404, { error: 'not found' });
      let signer: string;
      let signedSha256: string;
      try {
        ({ builder: signer, bodySha256: signedSha256 } = verifyRequest(token, req.headers.authorization, { method: req.method ?? 'GET', path: req.url ?? '/' }, nonces));
      } catch (err) {
        if (err instanceof SignatureError) return send(res, 401, { error: err.message });
        throw err;
      }
      const what = `${req.method} ${path}`;
      const small = async () => json(await body(req, MAX_SMALL_BODY, signedSha256, what), what);
      // The name a request acts under is the one it was signed for: no forging another builder's.
      const as = (claimed: unknown): string => {
        if (typeof claimed !== 'string' || !claimed) throw refused(400, `${what}: builder name missing`);
        if (!actsAs(signer, claimed)) throw refused(403, `${what}: signed by builder ${signer}, which cannot act as ${claimed}`);
        return claimed;
      };
      // Names arrive percent-encoded ("+" as %2B, common in Debian versions): decode, then check.
      const m = path.match(/^\/api\/v1\/jobs\/([A-Za-z0-9_.~+%-]+)\/(heartbeat|files|log|artifacts|complete)(?:\/([A-Za-z0-9_.~+%-]+))?$/);
      if (m) {
        const decode = (part: string) => {
          try {
            return decodeURIComponent(part);
          } catch {
            return '%'; // not percent-encoded UTF-8: unsafe below
          }
        };
        m[1] = decode(m[1]);
        if (m[3] !== undefined) m[3] = decode(m[3]);
        if (![m[1], m[3] ?? 'x'].every((part) => /^[A-Za-z0-9_.~+-]+$/.test(part))) return send(res, 400, { error: `unsafe name in ${path}` });
      }
      if (req.method === 'POST' && path === '/api/v1/lease') {
        const { builder: claimed, waitSeconds } = await small();
        const builder = as(claimed);
        let hungUp = false;
        res.on('close', () => {
          hungUp = !res.writableFinished;
        });
        const job = await h.lease(builder, Math.min(60, Math.max(0, Number(waitSeconds) || 0)) * 1000, () => hungUp);
        return job ? send(res, 200, job) : send(res, 204);
      }
      const started = path.match(/^\/api\/v1\/builders\/([A-Za-z0-9_.-]+)\/start$/);
      if (req.method === 'POST' && started) {
        await small();
        return send(res, 200, await h.builderStarted(as(started[1])));
      }
      if (!m) return send(res, 404, { error: `no such endpoint ${req.method} ${path}` });
      const [, id, action, name] = m;
      if (action === 'heartbeat' && req.method === 'POST') {
        await h.heartbeat(id, as((await small()).builder));
        return send(res, 200, { ok: true });
      }
      if (action === 'files' && req.method === 'GET' && name) {
        await body(req, 0, signedSha256, what);
        const file = await h.sourceFile(id, name);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        createReadStream(file).pipe(res);
        return;
      }
      if (action === 'log' && req.method === 'POST') {
        const builder = as(url.searchParams.get('builder'));
        await h.appendLog(id, builder, (await body(req, MAX_LOG_BODY, signedSha256, what)).toString());
        return send(res, 200, { ok: true });
      }
      if (action === 'artifacts' && req.method === 'PUT' && name) {
        await h.putArtifact(id, as(url.searchParams.get('builder')), name, checkedBody(req, MAX_ARTIFACT_BODY, signedSha256, what));
        return send(res, 200, { ok: true });
      }
      if (action === 'complete' && req.method === 'POST') {
        const { builder: by, ...report } = (await small()) as unknown as BuildReport & { builder: string };
        const builder = as(by);
        if (!['built', 'failed', 'dep-wait', 'give-back'].includes(report.outcome)) return send(res, 400, { error: `unknown outcome ${report.outcome}` });
        await h.complete(id, builder, report);
        return send(res, 200, { ok: true });
      }
      return send(res, 405, { error: `${req.method} not allowed on ${path}` });
    } catch (err) {
      const status = (err as { status?: number }).status ?? (err instanceof JobTransitionError ? 409 : 500);
      send(res, status, { error: (err as Error).message });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
}
