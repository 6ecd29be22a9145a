// The queue's job API, for builders only: every /api/ request needs the archive's token.
//   POST /api/v1/lease                      {builder, waitSeconds} -> 200 job | 204 nothing to do (after waiting)
//   POST /api/v1/jobs/ID/heartbeat          {builder}
//   GET  /api/v1/jobs/ID/files/NAME                            -> a source file of the job
//   POST /api/v1/jobs/ID/log?builder=B      text               (appended to the build log)
//   PUT  /api/v1/jobs/ID/artifacts/NAME?builder=B   bytes
//   POST /api/v1/jobs/ID/complete           {builder, outcome, reason, missing, image, depsKey}
//   POST /api/v1/builders/NAME/start                           -> {concurrency}; gives back NAME's jobs
//   GET  /health                                               (no token; for the healthcheck)
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { JobTransitionError } from '../core/jobs.js';

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
  putArtifact(id: string, builder: string, name: string, body: Buffer): Promise<void>;
  complete(id: string, builder: string, result: BuildReport): Promise<void>;
}

const MAX_BODY = 2 * 1024 * 1024 * 1024;

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function authorised(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function send(res: ServerResponse, status: number, value?: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(value === undefined ? undefined : JSON.stringify(value));
}

export function startJobApi(port: number, token: string, h: JobApiHandlers): Promise<void> {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://queue');
      const path = url.pathname;
      if (path === '/health') return send(res, 200, { ok: true });
      if (!path.startsWith('/api/')) return send(res, 404, { error: 'not found' });
      if (!authorised(req, token)) return send(res, 401, { error: 'missing or wrong API token' });
      // Names arrive percent-encoded ("+" as %2B, common in Debian versions): decode, then check.
      const m = path.match(/^\/api\/v1\/jobs\/([A-Za-z0-9_.~+%-]+)\/(heartbeat|files|log|artifacts|complete)(?:\/([A-Za-z0-9_.~+%-]+))?$/);
      if (m) {
        m[1] = decodeURIComponent(m[1]);
        if (m[3] !== undefined) m[3] = decodeURIComponent(m[3]);
        if (![m[1], m[3] ?? 'x'].every((part) => /^[A-Za-z0-9_.~+-]+$/.test(part))) return send(res, 400, { error: `unsafe name in ${path}` });
      }
      if (req.method === 'POST' && path === '/api/v1/lease') {
        const { builder, waitSeconds } = JSON.parse((await body(req)).toString() || '{}');
        if (typeof builder !== 'string' || !builder) return send(res, 400, { error: 'builder name missing' });
        let hungUp = false;
        res.on('close', () => {
          hungUp = !res.writableFinished;
        });
        const job = await h.lease(builder, Math.min(60, Math.max(0, Number(waitSeconds) || 0)) * 1000, () => hungUp);
        return job ? send(res, 200, job) : send(res, 204);
      }
      const started = path.match(/^\/api\/v1\/builders\/([A-Za-z0-9_.-]+)\/start$/);
      if (req.method === 'POST' && started) return send(res, 200, await h.builderStarted(started[1]));
      if (!m) return send(res, 404, { error: `no such endpoint ${req.method} ${path}` });
      const [, id, action, name] = m;
      const builder = url.searchParams.get('builder') ?? '';
      if (action === 'heartbeat' && req.method === 'POST') {
        await h.heartbeat(id, JSON.parse((await body(req)).toString()).builder);
        return send(res, 200, { ok: true });
      }
      if (action === 'files' && req.method === 'GET' && name) {
        const file = await h.sourceFile(id, name);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        createReadStream(file).pipe(res);
        return;
      }
      if (action === 'log' && req.method === 'POST') {
        await h.appendLog(id, builder, (await body(req)).toString());
        return send(res, 200, { ok: true });
      }
      if (action === 'artifacts' && req.method === 'PUT' && name) {
        await h.putArtifact(id, builder, name, await body(req));
        return send(res, 200, { ok: true });
      }
      if (action === 'complete' && req.method === 'POST') {
        const { builder: by, ...report } = JSON.parse((await body(req)).toString()) as BuildReport & { builder: string };
        if (!['built', 'failed', 'dep-wait', 'give-back'].includes(report.outcome)) return send(res, 400, { error: `unknown outcome ${report.outcome}` });
        await h.complete(id, by, report);
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
