import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { startJobApi, type JobApiHandlers } from './job-api.js';

// The job API over real HTTP on loopback, with handlers that record what they were asked.
const calls: string[] = [];
const handlers: JobApiHandlers = {
  lease: async (builder) => (calls.push(`lease ${builder}`), undefined),
  builderStarted: async (name) => (calls.push(`started ${name}`), { concurrency: 1 }),
  heartbeat: async (id, builder) => void calls.push(`heartbeat ${id} ${builder}`),
  sourceFile: async () => import.meta.filename,
  appendLog: async (id, builder, text) => void calls.push(`log ${id} ${builder} ${text}`),
  putArtifact: async (id, builder, name, body) => void calls.push(`artifact ${id} ${builder} ${name} ${body.length}`),
  complete: async (id, builder, report) => void calls.push(`complete ${id} ${builder} ${report.outcome}`),
};
let base: string;
const auth = { authorization: 'Bearer s3cret' };

beforeAll(async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  await startJobApi(port, 's3cret', handlers);
  base = `http://127.0.0.1:${port}`;
});

afterAll(() => undefined);

describe('the job API', () => {
  it('answers the healthcheck without a token', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it('refuses every job request without the archive token, or with a wrong one', async () => {
    expect((await fetch(`${base}/api/v1/lease`, { method: 'POST', body: '{"builder":"b"}' })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/lease`, { method: 'POST', body: '{"builder":"b"}', headers: { authorization: 'Bearer s3creT' } })).status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('says when there is no job (204)', async () => {
    const res = await fetch(`${base}/api/v1/lease`, { method: 'POST', body: '{"builder":"b1"}', headers: auth });
    expect(res.status).toBe(204);
    expect(calls.pop()).toBe('lease b1');
  });

  it('decodes percent-encoded names, as a "+" in a Debian version arrives', async () => {
    const name = 'foo_1.0+dfsg-1_amd64.deb';
    const res = await fetch(`${base}/api/v1/jobs/job%2B1/artifacts/${encodeURIComponent(name)}?builder=b1`, { method: 'PUT', body: 'abc', headers: auth });
    expect(res.status).toBe(200);
    expect(calls.pop()).toBe(`artifact job+1 b1 ${name} 3`);
  });

  it('refuses a name that decodes to a path', async () => {
    const res = await fetch(`${base}/api/v1/jobs/j1/artifacts/..%2Fpool%2Fx.deb?builder=b1`, { method: 'PUT', body: 'x', headers: auth });
    expect(res.status).toBe(400);
  });

  it('refuses an unknown build outcome', async () => {
    const res = await fetch(`${base}/api/v1/jobs/j1/complete`, { method: 'POST', body: '{"builder":"b1","outcome":"maybe"}', headers: auth });
    expect(res.status).toBe(400);
  });
});
