import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerStatus, refused, startJobApi, type JobApiHandlers } from './job-api.js';
import { JobTransitionError } from '../core/jobs.js';
import { JobApiClient, QueueUnreachable, reportAfterHandInError } from './job-api-client.js';
import { MAX_LOG_BODY, MAX_SMALL_BODY } from '../core/job-protocol.js';
import { builderKey, sha256Hex, signRequest } from '../core/request-signature.js';

// The job API over real HTTP on loopback, with handlers that record what they were asked.
const calls: string[] = [];
const handlers: JobApiHandlers = {
  lease: async (request) => (calls.push(`lease ${request.builder}${request.architectures ? ` ${request.architectures.join(',')} emulated:${(request.emulated ?? []).join(',')}` : ''}${request.only ? ` only:${request.only.join(',')}` : ''}`), undefined),
  start: async (name) => (calls.push(`started ${name}`), { concurrency: 1 }),
  heartbeat: async (id, builder) => void calls.push(`heartbeat ${id} ${builder}`),
  sourceFile: async (_id, name) => (name === 'gone.deb' ? '/nonexistent/gone.deb' : import.meta.filename),
  log: async (id, builder, body) => {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk);
    calls.push(`log ${id} ${builder} ${Buffer.concat(chunks).toString()}`);
  },
  artifact: async (id, builder, name, body) => {
    let size = 0;
    for await (const chunk of body) size += chunk.length;
    calls.push(`artifact ${id} ${builder} ${name} ${size}`);
  },
  complete: async (id, builder, r) => void calls.push(`complete ${id} ${builder} ${r.report.outcome}`),
};
let base: string;
const secret = 's3cret';

/** A request as builder `as` signs it (with `key`, its own unless given; `sha256` of the body unless given). */
const signed = (method: string, path: string, body = '', o: { as?: string; key?: Buffer; sha256?: string; at?: number } = {}) =>
  fetch(`${base}${path}`, {
    method,
    body: method === 'GET' ? undefined : body,
    headers: { authorization: signRequest(o.key ?? builderKey(secret, o.as ?? 'b1'), o.as ?? 'b1', { method, path, bodySha256: o.sha256 ?? sha256Hex(body) }, o.at) },
  });

/** A port free on loopback now. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

beforeAll(async () => {
  const port = await freePort();
  await startJobApi(port, (name) => builderKey(secret, name), handlers);
  base = `http://127.0.0.1:${port}`;
});

afterEach(() => {
  calls.length = 0;
  vi.restoreAllMocks();
});


/** Opens a connection to the job API on `port`, lets `talk` write into it, and gives what came back once it is closed. */
function rawExchange(port: number, talk: (socket: Socket) => void): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    socket.on('close', () => resolve(got));
    socket.on('error', () => undefined); // a write after the server closed it
    talk(socket);
  });
}

/** Writes `parts` into the socket one after another, `everyMs` apart, until they are all sent or it is closed. */
function dribble(socket: Socket, parts: string[], everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (at === parts.length || socket.destroyed) return clearInterval(timer);
    socket.write(parts[at++]);
  }, everyMs);
}
describe('the job API', () => {
  it('answers the healthcheck without a token', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it('refuses every job request unsigned, with the bare token, or signed with a wrong key', async () => {
    expect((await fetch(`${base}/api/v1/lease`, { method: 'POST', body: '{"builder":"b"}' })).status).toBe(401);
    const bare = await fetch(`${base}/api/v1/lease`, { method: 'POST', body: '{"builder":"b"}', headers: { authorization: `Bearer ${secret}` } });
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: string }).error).toMatch(/scheme "Bearer" is not accepted; expected AIB-HMAC-SHA256/);
    expect((await signed('POST', '/api/v1/lease', '{"builder":"b1"}', { key: builderKey('s3creT', 'b1') })).status).toBe(401);
    expect(calls).toEqual([]);
  });

  it("passes a worker's offer on: the architectures it builds and those it emulates; refuses a malformed one", async () => {
    const offer = '{"builder":"b1","waitSeconds":0,"kinds":["build"],"architectures":["amd64","arm64"],"emulated":["arm64"]}';
    expect((await signed('POST', '/api/v1/lease', offer)).status).toBe(204);
    expect(calls).toEqual(['lease b1 amd64,arm64 emulated:arm64']);
    for (const emulated of ['"arm64"', '["ARM 64"]', '[7]']) {
      const bad = await signed('POST', '/api/v1/lease', `{"builder":"b1","architectures":["arm64"],"emulated":${emulated}}`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/emulated must list architecture names/);
    }
  });

  it("passes a slot's own kinds on (a worker's slot for QA checks), and refuses what is not a kind of work", async () => {
    expect((await signed('POST', '/api/v1/lease', '{"builder":"b1/2","only":["lintian","piuparts"]}')).status).toBe(204);
    expect(calls).toEqual(['lease b1/2 only:lintian,piuparts']);
    for (const only of ['"lintian"', '["build; rm"]', '["reprotest"]']) {
      const bad = await signed('POST', '/api/v1/lease', `{"builder":"b1/2","only":${only}}`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/\(only\): kinds must list kinds of work/);
    }
  });

  it('answers 404 for an input file gone from the pool, and keeps serving', async () => {
    const gone = await signed('GET', '/api/v1/jobs/j1/files/gone.deb', '');
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: string }).error).toBe('job j1: gone.deb is no longer in the pool');
    expect((await signed('GET', '/api/v1/jobs/j1/files/x.dsc', '')).status).toBe(200);
  });

  it('says when there is no job (204)', async () => {
    const res = await signed('POST', '/api/v1/lease', '{"builder":"b1"}');
    expect(res.status).toBe(204);
    expect(calls).toEqual(['lease b1']);
  });

  it('serves a job\'s source file to a signed GET', async () => {
    const res = await signed('GET', '/api/v1/jobs/j1/files/x.dsc');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('the job API over real HTTP');
  });

  it('decodes percent-encoded names, as a "+" in a Debian version arrives', async () => {
    const name = 'foo_1.0+dfsg-1_amd64.deb';
    const res = await signed('PUT', `/api/v1/jobs/job%2B1/artifacts/${encodeURIComponent(name)}?builder=b1`, 'abc');
    expect(res.status).toBe(200);
    expect(calls).toEqual([`artifact job+1 b1 ${name} 3`]);
  });

  it('refuses a name that decodes to a path', async () => {
    const res = await signed('PUT', '/api/v1/jobs/j1/artifacts/..%2Fpool%2Fx.deb?builder=b1', 'x');
    expect(res.status).toBe(400);
  });

  it('refuses a name that is not percent-encoded UTF-8 as unsafe (400), not with an internal error', async () => {
    const res = await signed('PUT', '/api/v1/jobs/j1/artifacts/x%E0.deb?builder=b1', 'x');
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('unsafe name');
  });

  it('refuses an unknown build outcome', async () => {
    const res = await signed('POST', '/api/v1/jobs/j1/complete', '{"builder":"b1","outcome":"maybe"}');
    expect(res.status).toBe(400);
  });

  it('takes a QA check\'s report as its kind, and refuses a malformed one', async () => {
    const report = { builder: 'b1', kind: 'blhc', outcome: 'checked', verdict: 'fail', tool: 'blhc 0.14', seconds: 1, counts: { 'missing flags': 1 }, findings: [{ severity: 'W', tag: 'CFLAGS missing (-x)' }], summary: 's' };
    expect((await signed('POST', '/api/v1/jobs/j1/complete', JSON.stringify(report))).status).toBe(200);
    expect(calls).toContain('complete j1 b1 checked');
    const bad = await signed('POST', '/api/v1/jobs/j1/complete', JSON.stringify({ ...report, verdict: 'excellent' }));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('verdict must be pass, fail, neutral or tmpfail');
  });

  it('refuses a builder acting under another builder\'s name, in a body, a query or a path', async () => {
    for (const [method, path, body] of [
      ['POST', '/api/v1/lease', '{"builder":"other/1"}'],
      ['POST', '/api/v1/builders/other/start', ''],
      ['POST', '/api/v1/jobs/j1/heartbeat', '{"builder":"other/1"}'],
      ['POST', '/api/v1/jobs/j1/log?builder=other%2F1', 'forged'],
      ['PUT', '/api/v1/jobs/j1/artifacts/x.deb?builder=other%2F1', 'forged'],
      ['POST', '/api/v1/jobs/j1/complete', '{"builder":"other/1","outcome":"failed"}'],
    ]) {
      const res = await signed(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(((await res.json()) as { error: string }).error).toMatch(/signed by builder b1, which cannot act as other/);
    }
    expect(calls).toEqual([]);
    expect((await signed('POST', '/api/v1/jobs/j1/heartbeat', '{"builder":"b1/2"}')).status).toBe(200);
  });

  it("has a worker stream a job's file from disk, signed for its sha256 (not read whole: a build may make gigabytes)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-artifact-'));
    try {
      writeFileSync(join(dir, 'big.deb'), Buffer.alloc(24 * 1024 * 1024, 'x'));
      await new JobApiClient(base, builderKey(secret, 'b1'), 'b1').artifact('j1', 'b1/1', 'big.deb', join(dir, 'big.deb'));
      expect(calls).toEqual([`artifact j1 b1/1 big.deb ${24 * 1024 * 1024}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("has a worker write a job's input file to disk as it arrives, cut and removed once it passes the size its lease lists", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-input-'));
    const client = new JobApiClient(base, builderKey(secret, 'b1'), 'b1');
    const served = readFileSync(import.meta.filename);
    try {
      const to = join(dir, 'x.dsc');
      expect(await client.sourceFileTo('j1', 'x.dsc', to, served.length)).toEqual({ size: served.length, sha256: sha256Hex(served) });
      expect(readFileSync(to).equals(served)).toBe(true);
      // Never over a file that is there (left as it was).
      await expect(client.sourceFileTo('j1', 'x.dsc', to, served.length)).rejects.toThrow(/EEXIST/);
      expect(readFileSync(to).equals(served)).toBe(true);
      // A queue sending more than it listed (a broken or hostile one) fills no disk.
      const cut = join(dir, 'cut.dsc');
      await expect(client.sourceFileTo('j1', 'x.dsc', cut, 100)).rejects.toThrow('x.dsc: the queue sent more than the 100 bytes its lease lists');
      expect(existsSync(cut)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a body that is not the signed one, also a streamed artifact, which its handler never sees whole', async () => {
    const res = await signed('POST', '/api/v1/jobs/j1/complete', '{"builder":"b1","outcome":"failed"}', { sha256: sha256Hex('{"builder":"b1","outcome":"built"}') });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/the body's sha256 \w+ is not the signed \w+/);
    const artifact = await signed('PUT', '/api/v1/jobs/j1/artifacts/x.deb?builder=b1', 'tampered', { sha256: sha256Hex('original') });
    expect(artifact.status).toBe(400);
    expect(calls).toEqual([]);
  });

  it('answers a flood of forged requests without any reaching a handler (nothing of the queue runs for them), and still serves a signed one', async () => {
    const forged = Array.from({ length: 500 }, (_, i) =>
      signed('POST', '/api/v1/jobs/j1/complete', '{"builder":"b1","outcome":"built"}', { key: builderKey('guess', 'b1'), as: 'b1', at: Date.now() + (i % 2) }));
    const honest = signed('POST', '/api/v1/lease', '{"builder":"b1"}');
    const answers = await Promise.all(forged);
    expect(new Set(answers.map((r) => r.status))).toEqual(new Set([401]));
    expect((await honest).status).toBe(204);
    expect(calls).toEqual(['lease b1']);
  });

  it('refuses a request signed more than 60 s ago, saying the window', async () => {
    const res = await signed('POST', '/api/v1/lease', '{"builder":"b1"}', { at: Date.now() - 70_000 });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(/s old; the queue accepts ±60 s/);
  });

  it("limits no request's whole time (node's 5 minutes cut a slow worker's gigabyte), and closes a connection whose headers do not come in time", async () => {
    const port = await freePort();
    const server = await startJobApi(port, (name) => builderKey(secret, name), handlers, { headersMs: 2000 });
    try {
      expect(server.requestTimeout).toBe(0);
      // Headers sent a byte at a time, within the time, are answered.
      const text = 'GET /health HTTP/1.1\r\nHost: q\r\nConnection: close\r\n\r\n';
      const answer = await rawExchange(port, (socket) => dribble(socket, [...text], 1200 / text.length));
      expect(answer).toMatch(/^HTTP\/1.1 200/);
      // One that sends nothing is closed once the time is over (not after node's 60 s).
      const started = Date.now();
      await new Promise<void>((resolve) => connect(port, '127.0.0.1').on('close', () => resolve()));
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      server.close();
    }
  });

  it("takes a body for as long as it keeps coming, cuts one silent for the headers' time, and closes the connection of a request refused unread", async () => {
    const port = await freePort();
    const server = await startJobApi(port, (name) => builderKey(secret, name), handlers, { headersMs: 3000 });
    /** Sends the headers and then the body's parts `everyMs` apart, or only the first `stopAfter` of them; what came back and when the connection closed. */
    const sendSlowly = (head: string, parts: string[], everyMs: number, stopAfter = parts.length) =>
      new Promise<{ answer: string; ms: number }>((resolve, reject) => {
        const started = Date.now();
        setTimeout(() => reject(new Error('still open after 15 s')), 15_000).unref();
        void rawExchange(port, (socket) => {
          socket.write(head);
          dribble(socket, parts.slice(0, stopAfter), everyMs);
        }).then((answer) => resolve({ answer, ms: Date.now() - started }));
      });
    const parts = Array.from({ length: 8 }, (_, i) => `part ${i};`);
    const body = parts.join('');
    const path = '/api/v1/jobs/j1/artifacts/slow.deb?builder=b1';
    const head = (auth: string) => `PUT ${path} HTTP/1.1\r\nHost: q\r\nConnection: close\r\nAuthorization: ${auth}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const auth = signRequest(builderKey(secret, 'b1'), 'b1', { method: 'PUT', path, bodySha256: sha256Hex(body) });
    try {
      // Eight parts 500 ms apart: 4 s in all, past the 3 s, each within it: taken.
      const slow = await sendSlowly(head(auth), parts, 500);
      expect(slow.answer).toMatch(/^HTTP\/1.1 200/);
      expect(calls).toEqual([`artifact j1 b1 slow.deb ${body.length}`]);
      // Two parts, then silence: cut 3 s after the last byte, not kept for the rest.
      const stalled = await sendSlowly(head(signRequest(builderKey(secret, 'b1'), 'b1', { method: 'PUT', path, bodySha256: sha256Hex(body) })), parts, 100, 2);
      expect(stalled.answer).toBe('');
      expect(stalled.ms).toBeGreaterThanOrEqual(3000);
      expect(stalled.ms).toBeLessThan(6000);
      // The healthcheck answered before any key is looked at: one with a body is closed at once too.
      const health = await sendSlowly(`POST /health HTTP/1.1\r\nHost: q\r\nContent-Length: 1000000\r\n\r\n`, parts, 100, 1);
      expect(health.answer).toMatch(/^HTTP\/1.1 200[^]*connection: close/i);
      expect(health.ms).toBeLessThan(2000);
      // One without, kept alive then silent: closed by node's keep-alive timeout (5 s, about 6 in
      // fact), which the end of its (empty) body does not take back.
      const kept = await sendSlowly(`GET /health HTTP/1.1\r\nHost: q\r\n\r\n`, [], 100, 0);
      expect(kept.answer).toMatch(/^HTTP\/1.1 200[^]*keep-alive/i);
      expect(kept.ms).toBeLessThan(12_000);
      // Without a key: answered 401 and closed at once, though the body it announced never comes.
      const forged = await sendSlowly(head(signRequest(builderKey('not-the-secret', 'b1'), 'b1', { method: 'PUT', path, bodySha256: sha256Hex(body) })), parts, 100, 0);
      expect(forged.answer).toMatch(/^HTTP\/1.1 401[^]*connection: close/i);
      expect(forged.ms).toBeLessThan(2000);
      expect(calls).toHaveLength(1);
    } finally {
      server.close();
    }
  }, 30_000);

  it("refuses (401) a report signed with a key its worker no longer has once its body has come (removed, and enrolled again under its name, meanwhile), and takes the new key's", async () => {
    const port = await freePort();
    const keys = new Map([['w', builderKey('old', 'w')]]);
    // As the queue does: the key checked in its lane, right before the report is acted on.
    const server = await startJobApi(port, (name) => keys.get(name), { ...handlers, complete: async (id, builder, r, checkKey) => (checkKey(), void calls.push(`complete ${id} ${builder} ${r.report.outcome}`)) });
    const path = '/api/v1/jobs/j1/complete';
    const report = '{"builder":"w/1","outcome":"failed","reason":"forged"}';
    const auth = signRequest(keys.get('w')!, 'w', { method: 'POST', path, bodySha256: sha256Hex(report) });
    try {
      const answer = await rawExchange(port, (socket) => {
        socket.write(`POST ${path} HTTP/1.1\r\nHost: q\r\nConnection: close\r\nAuthorization: ${auth}\r\nContent-Length: ${report.length}\r\n\r\n${report.slice(0, 10)}`);
        // Its key was taken when the headers came; meanwhile archive workers rm w, then add w.
        setTimeout(() => {
          keys.set('w', builderKey('new', 'w'));
          socket.write(report.slice(10));
        }, 300);
      });
      expect(answer).toMatch(/^HTTP\/1.1 401/);
      expect(answer).toContain('signed with a key worker w no longer has (archive workers rm removed it while the request was under way); expected its current key');
      expect(calls).toEqual([]);
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: report, headers: { authorization: signRequest(keys.get('w')!, 'w', { method: 'POST', path, bodySha256: sha256Hex(report) }) } });
      expect(res.status).toBe(200);
      expect(calls).toEqual(['complete j1 w/1 failed']);
    } finally {
      server.close();
    }
  });

  it("closes the connection of a lease, heartbeat or report whose body does not come whole within the headers' time, though it never stops coming", async () => {
    const port = await freePort();
    const server = await startJobApi(port, (name) => builderKey(secret, name), handlers, { headersMs: 2000 });
    const path = '/api/v1/jobs/j1/heartbeat';
    const body = '{"builder":"b1/1"}';
    const auth = signRequest(builderKey(secret, 'b1'), 'b1', { method: 'POST', path, bodySha256: sha256Hex(body) });
    try {
      // A byte every 300 ms, each well within the 2 s: 5.4 s in all.
      const started = Date.now();
      const answer = await rawExchange(port, (socket) => {
        socket.write(`POST ${path} HTTP/1.1\r\nHost: q\r\nConnection: close\r\nAuthorization: ${auth}\r\nContent-Length: ${body.length}\r\n\r\n`);
        dribble(socket, [...body], 300);
      });
      expect(answer).toBe('');
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(calls).toEqual([]);
    } finally {
      server.close();
    }
  }, 15_000);

  it("has a worker report a job failed, not give it back, when the queue refuses what it made (it would be run again for the same refusal)", async () => {
    const client = new JobApiClient(base, builderKey(secret, 'b1'), 'b1');
    const refusal = await client.log('j1', 'b1/1', 'x'.repeat(MAX_LOG_BODY + 1)).catch((err: unknown) => err);
    expect(reportAfterHandInError(refusal)).toEqual({ outcome: 'failed', reason: expect.stringMatching(/^the queue refused what the job made: POST \/api\/v1\/jobs\/j1\/log\S* 413 /) });
    const gone = await new JobApiClient('http://127.0.0.1:1', builderKey(secret, 'b1'), 'b1').log('j1', 'b1/1', 'x').catch((err: unknown) => err);
    expect(gone).toBeInstanceOf(QueueUnreachable);
    expect(reportAfterHandInError(gone).outcome).toBe('give-back');
  });

  it("has a worker run as many job slots as the queue's start answer says, up to 64, and refuse an answer of none", async () => {
    const client = new JobApiClient(base, builderKey(secret, 'b1'), 'b1');
    expect(await client.start({ kinds: ['build'] })).toEqual({ concurrency: 1 });
    vi.spyOn(handlers, 'start').mockResolvedValue({ concurrency: 1e9 });
    expect(await client.start({ kinds: ['build'] })).toEqual({ concurrency: 64 });
    vi.spyOn(handlers, 'start').mockResolvedValue({ concurrency: 0 });
    await expect(client.start({ kinds: ['build'] })).rejects.toThrow("the queue's settings: concurrency: expected a whole number of job slots, at least 1, found 0");
  });

  it('refuses a lease, heartbeat or result body over 64 KiB and a log flush over 16 MiB', async () => {
    const padded = (size: number) => JSON.stringify({ builder: 'b1', outcome: 'failed', reason: 'x'.repeat(size) });
    expect((await signed('POST', '/api/v1/jobs/j1/complete', padded(MAX_SMALL_BODY))).status).toBe(413);
    expect((await signed('POST', '/api/v1/jobs/j1/complete', padded(MAX_SMALL_BODY - 100))).status).toBe(200);
    expect((await signed('POST', '/api/v1/jobs/j1/log?builder=b1', 'x'.repeat(MAX_LOG_BODY + 1))).status).toBe(413);
    expect(calls).toEqual(['complete j1 b1 failed']);
  });
});

describe('a job API request captured on the network', () => {
  /** What the builder's own client put on the wire for a heartbeat of job j1. */
  async function sniffHeartbeat(): Promise<{ authorization: string; body: string }> {
    const wire = vi.spyOn(globalThis, 'fetch');
    await new JobApiClient(base, builderKey(secret, 'b1'), 'b1').heartbeat('j1', 'b1/1');
    const init = wire.mock.calls[0][1]!;
    wire.mockRestore();
    expect(calls.splice(0)).toEqual(['heartbeat j1 b1/1']);
    return { authorization: (init.headers as Record<string, string>).authorization, body: Buffer.from(init.body as Uint8Array).toString() };
  }

  const replay = (method: string, path: string, body: string, authorization: string) => fetch(`${base}${path}`, { method, body, headers: { authorization } });

  it('cannot be sent again as it was (a replay)', async () => {
    const { authorization, body } = await sniffHeartbeat();
    expect((await replay('POST', '/api/v1/jobs/j1/heartbeat', body, authorization)).status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('cannot lease, complete the same job, or heartbeat another job', async () => {
    const { authorization } = await sniffHeartbeat();
    for (const [path, body] of [
      ['/api/v1/lease', '{"builder":"b1/1","waitSeconds":0}'],
      ['/api/v1/jobs/j1/complete', '{"builder":"b1/1","outcome":"failed","reason":"forged"}'],
      ['/api/v1/jobs/j2/heartbeat', '{"builder":"b1/1"}'],
    ]) {
      expect((await replay('POST', path, body, authorization)).status, path).toBe(401);
    }
    expect(calls).toEqual([]);
  });
});

describe('the status an error is answered with', () => {
  it('is a refusal\'s own, 409 for a job not in the state asked, and 500 only for the queue\'s own failure (which the queue then recovers from)', () => {
    expect(answerStatus(refused(401, 'no longer its key'))).toBe(401);
    expect(answerStatus(new JobTransitionError('job j is not leased to w/1'))).toBe(409);
    expect(answerStatus(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }))).toBe(500);
  });
});
