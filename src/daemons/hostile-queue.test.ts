// A worker against a queue (and its repository) that answers as it likes, over real HTTP on
// loopback: what it reads of an answer is bounded, and so is how long it waits for one.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { MAX_LEASE_ANSWER, MAX_SMALL_ANSWER, type LeasedJob } from '../core/job-protocol.js';
import { CLIENT_TIMING, FILE_PROGRESS_BYTES, JobApiClient, MAX_ERROR_TEXT, QueueUnreachable, checkLease } from './job-api-client.js';
import { MAX_ARCHIVE_KEY_BYTES, localArchive } from './tasks/build-task.js';
import type { TaskContext } from './tasks/task.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => (s.closeAllConnections(), s.close(r)));
});

/** A server on loopback answering every request with `answer`; its URL. */
async function queue(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(answer);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const client = (url: string, timing = CLIENT_TIMING) => new JobApiClient(url, Buffer.alloc(32), 'w', timing);
const quick = { withinMs: { start: 200, heartbeat: 200, log: 200, complete: 200 }, leaseMarginMs: 200, fileStallMs: 200 };
const job = (o: Record<string, unknown> = {}) =>
  ({ id: 'j1', kind: 'build', source: 'hello', version: '1.0-1', base: 'trixie', arch: 'amd64', buildArg: '-B', files: [], limits: {}, buildenvMaxAgeMs: 0, ...o }) as unknown as LeasedJob;

describe("a queue's answer", () => {
  it('of a lease over MAX_LEASE_ANSWER is refused, said or not in its length, never held whole', async () => {
    const big = JSON.stringify({ ...job(), padding: 'x'.repeat(MAX_LEASE_ANSWER) });
    const said = await queue((_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) }).end(big));
    await expect(client(said).lease({ builder: 'w/1', waitSeconds: 0 })).rejects.toThrow(`the lease: the answer is over the ${MAX_LEASE_ANSWER} bytes this worker reads of it`);
    // Sent in pieces without a length: read up to the cap, then cut off.
    let written = 0;
    const unsaid = await queue((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const more = () => {
        while (written < 64 * MAX_LEASE_ANSWER && res.write('x'.repeat(65536))) written += 65536;
        if (written < 64 * MAX_LEASE_ANSWER) res.once('drain', more);
      };
      more();
    });
    await expect(client(unsaid).lease({ builder: 'w/1', waitSeconds: 0 })).rejects.toThrow(`the lease: the answer is over the ${MAX_LEASE_ANSWER} bytes this worker reads of it`);
    expect(written).toBeLessThan(64 * MAX_LEASE_ANSWER);
  });

  it("of a start over MAX_SMALL_ANSWER is refused; one within is read", async () => {
    const url = await queue((_req, res) => res.end(JSON.stringify({ concurrency: 2, padding: 'x'.repeat(MAX_SMALL_ANSWER) })));
    await expect(client(url).start({ kinds: ['build'] })).rejects.toThrow(`the answer to start: the answer is over the ${MAX_SMALL_ANSWER} bytes this worker reads of it`);
    const fine = await queue((_req, res) => res.end(JSON.stringify({ concurrency: 2 })));
    expect(await client(fine).start({ kinds: ['build'] })).toEqual({ concurrency: 2 });
  });

  it('refusing a request signed before it restarted is taken as a queue not reached yet (sent again, it is signed again), any other refusal as it is', async () => {
    // As the queue says it (request-signature.ts) of a hand-in whose connection waited while it was down.
    const before = await queue((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'request time 2026-12-07T01:32:16.000Z is before the queue started (2026-12-07T01:32:23.512Z); sign it again' })));
    const err = await client(before).complete('j1', 'w/1', 'build', { outcome: 'built', binaries: [], artifacts: [] } as never).catch((e: Error) => e);
    expect(err).toBeInstanceOf(QueueUnreachable);
    expect((err as Error).message).toMatch(/^POST \/api\/v1\/jobs\/j1\/complete: 401 .*is before the queue started.* \(the queue restarted while it was on its way\)$/);
    const wrong = await queue((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'wrong signature for builder w on POST /api/v1/jobs/j1/complete' })));
    const refused = await client(wrong).complete('j1', 'w/1', 'build', { outcome: 'built', binaries: [], artifacts: [] } as never).catch((e: Error) => e);
    expect(refused).not.toBeInstanceOf(QueueUnreachable);
    expect((refused as Error).message).toContain('401');
  });

  it("that is an error has its first MAX_ERROR_TEXT bytes said, not the megabytes after", async () => {
    const url = await queue((_req, res) => res.writeHead(500).end('E'.repeat(8 * 1024 * 1024)));
    const err = (await client(url).heartbeat('j1', 'w/1').catch((e: Error) => e)) as Error;
    expect(err.message).toBe(`POST /api/v1/jobs/j1/heartbeat: 500 ${'E'.repeat(MAX_ERROR_TEXT)} … (cut at ${MAX_ERROR_TEXT} bytes)`);
  });
});

describe('a queue that says nothing', () => {
  it('is given up on: a lease after its wait and a margin, a heartbeat, a start, a log and a completion each after its own time', async () => {
    const url = await queue(() => undefined); // headers never come
    const c = client(url, quick);
    const started = Date.now();
    await expect(c.lease({ builder: 'w/1', waitSeconds: 0 })).rejects.toThrow(new QueueUnreachable('POST /api/v1/lease: the queue cannot be reached (no answer within 0.2 s)'));
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(c.heartbeat('j1', 'w/1')).rejects.toThrow('POST /api/v1/jobs/j1/heartbeat: the queue cannot be reached (no answer within 0.2 s)');
    await expect(c.start({ kinds: ['build'] })).rejects.toThrow('no answer within 0.2 s');
    await expect(c.log('j1', 'w/1', 'x')).rejects.toThrow('no answer within 0.2 s');
    await expect(c.complete('j1', 'w/1', 'build', { outcome: 'give-back', reason: 'x' })).rejects.toThrow('no answer within 0.2 s');
    // The wait the queue may hold a lease for comes first: 1 s here, not 0.2.
    const waited = Date.now();
    await expect(c.lease({ builder: 'w/1', waitSeconds: 1 })).rejects.toThrow('no answer within 1.2 s');
    expect(Date.now() - waited).toBeGreaterThanOrEqual(1100);
    // By default: minutes, not for ever.
    expect(CLIENT_TIMING).toEqual({ withinMs: { start: 60_000, heartbeat: 30_000, log: 120_000, complete: 600_000 }, leaseMarginMs: 120_000, fileStallMs: 120_000 });
  });

  it('is given up on in the middle of an input file, which is removed', async () => {
    const url = await queue((_req, res) => res.writeHead(200).write('half of it'));
    const dir = scratchDir('aib-stall-');
    await expect(client(url, quick).sourceFileTo('j1', 'a.dsc', join(dir, 'a.dsc'), 100)).rejects.toThrow(new QueueUnreachable('a.dsc: the queue sent less than 64 KiB of it in 0.2 s'));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('but a byte now and then is given up on too: a file must move FILE_PROGRESS_BYTES within each stall time', async () => {
    // A byte every 20 ms, each within the 0.2 s a stall is allowed: never still, never done.
    const timers: NodeJS.Timeout[] = [];
    let sent = 0;
    const url = await queue((_req, res) => {
      res.writeHead(200);
      timers.push(setInterval(() => (res.write('x'), sent++), 20));
    });
    const dir = scratchDir('aib-stall-');
    const started = Date.now();
    try {
      await expect(client(url, quick).sourceFileTo('j1', 'a.dsc', join(dir, 'a.dsc'), 10 * FILE_PROGRESS_BYTES)).rejects.toThrow(
        new QueueUnreachable('a.dsc: the queue sent less than 64 KiB of it in 0.2 s'),
      );
    } finally {
      timers.forEach(clearInterval);
    }
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sent).toBeGreaterThan(2);
    expect(readdirSync(dir)).toEqual([]);
    // FILE_PROGRESS_BYTES within the time, in small pieces, is waited for: the bound moves on.
    const big = Buffer.alloc(3 * FILE_PROGRESS_BYTES, 'y');
    const steady = await queue((_req, res) => {
      res.writeHead(200);
      let at = 0;
      const t = setInterval(() => {
        res.write(big.subarray(at, at + FILE_PROGRESS_BYTES / 4));
        at += FILE_PROGRESS_BYTES / 4;
        if (at >= big.length) (clearInterval(t), res.end());
      }, 25);
      timers.push(t);
    });
    const steadyStarted = Date.now();
    expect(await client(steady, quick).sourceFileTo('j1', 'b.dsc', join(dir, 'b.dsc'), big.length)).toMatchObject({ size: big.length });
    // 12 pieces 25 ms apart: longer than one stall time, so the bound did move on.
    expect(Date.now() - steadyStarted).toBeGreaterThan(250);
  });

  it('is given up on after a file the job made was sent, when no answer comes', async () => {
    let received = 0;
    const url = await queue((req) => req.on('data', (chunk: Buffer) => (received += chunk.length)));
    const file = join(scratchDir('aib-stall-'), 'a.deb');
    writeFileSync(file, Buffer.alloc(1024 * 1024));
    await expect(client(url, quick).artifact('j1', 'w/1', 'a.deb', file)).rejects.toThrow('PUT /api/v1/jobs/j1/artifacts/a.deb?builder=w%2F1: the queue cannot be reached (less than 64 KiB moved in 0.2 s)');
    expect(received).toBe(1024 * 1024);
  });
});

describe("the local archive a lease names", () => {
  const task = (repoUrl: string, leased: LeasedJob) => ({ job: checkLease(leased), worker: { name: 'w', labels: {}, repoUrl: `${repoUrl}/`, network: 'bridge' } }) as unknown as TaskContext;

  it("is its suite and components alone: a CA (or anything else) it names is not taken, whatever its type", async () => {
    const url = await queue((_req, res) => res.end('-----BEGIN PGP PUBLIC KEY BLOCK-----\n'));
    // Buffer.from({ length: 4294967295 }) allocates 4 GiB: the worker had no CA of its own.
    const got = await localArchive(task(url, job({ localArchive: { suite: 'unstable', components: ['main'], ca: { length: 4294967295 }, url: 'http://elsewhere/', network: 'host', key: 'K' } })));
    expect(got).toEqual({ suite: 'unstable', components: ['main'], key: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n', url: `${url}/`, network: 'bridge' });
  });

  it('is refused when its suite or components are not plain names (they go into an apt sources file, where a newline adds a field)', () => {
    const refused = (localArchive: unknown) => () => checkLease(job({ localArchive }));
    expect(refused({ suite: 'unstable\nTrusted: yes', components: ['main'] })).toThrow(`the lease's localArchive.suite: expected a suite name such as unstable, found "unstable\\nTrusted: yes"`);
    expect(refused({ suite: { length: 1 }, components: ['main'] })).toThrow(`the lease's localArchive.suite: expected a suite name such as unstable, found {"length":1}`);
    expect(refused({ suite: 'unstable', components: ['main\nTrusted: yes'] })).toThrow(`the lease's localArchive.components: expected a list of component names such as main, found ["main\\nTrusted: yes"]`);
    expect(refused({ suite: 'unstable', components: { length: 1e9 } })).toThrow(`the lease's localArchive.components: expected a list of component names such as main`);
    expect(refused('unstable')).toThrow(`the lease's localArchive: expected an object with a suite and components, found "unstable"`);
  });

  it("has its key read up to MAX_ARCHIVE_KEY_BYTES, a bigger one refused", async () => {
    const url = await queue((_req, res) => res.end('K'.repeat(MAX_ARCHIVE_KEY_BYTES + 1)));
    await expect(localArchive(task(url, job({ localArchive: { suite: 'unstable', components: ['main'] } })))).rejects.toThrow(
      `the archive key from ${url}/: the answer is over the ${MAX_ARCHIVE_KEY_BYTES} bytes this worker reads of it`,
    );
  });
});

describe('a redirect from the queue or its repository', () => {
  it('is not followed, for any request: the worker fetches no URL the queue names, on its own host or elsewhere', async () => {
    const hits: string[] = [];
    const inside = await queue((req, res) => (hits.push(req.url ?? ''), res.end('{"concurrency":1} the secret of a service on the worker\'s host')));
    const url = await queue((req, res) => res.writeHead(req.url?.includes('heartbeat') ? 307 : 302, { location: `${inside}/private` }).end());
    const c = client(url);
    await expect(c.start({ kinds: ['build'] })).rejects.toThrow('POST /api/v1/builders/w/start: the answer is a redirect (302), which a worker does not follow');
    await expect(c.lease({ builder: 'w/1', waitSeconds: 0 })).rejects.toThrow('POST /api/v1/lease: the answer is a redirect (302)');
    await expect(c.heartbeat('j1', 'w/1')).rejects.toThrow('POST /api/v1/jobs/j1/heartbeat: the answer is a redirect (307)');
    await expect(c.sourceFileTo('j1', 'a.dsc', join(scratchDir('aib-redirect-'), 'a.dsc'), 100)).rejects.toThrow('GET /api/v1/jobs/j1/files/a.dsc: the answer is a redirect (302)');
    const task = { job: checkLease(job({ localArchive: { suite: 'unstable', components: ['main'] } })), worker: { name: 'w', labels: {}, repoUrl: `${url}/`, network: 'bridge' } } as unknown as TaskContext;
    await expect(localArchive(task)).rejects.toThrow(`the archive key from ${url}/: the answer is a redirect (302), which a worker does not follow`);
    expect(hits).toEqual([]);
  });
});
