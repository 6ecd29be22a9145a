// The builder: leases jobs from the queue over HTTP, builds each in throwaway containers
// (docker/build-container.ts), streams the log back, hands in the artifacts.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectDocker, type Docker } from '../docker/engine.js';
import { removeLeftoverBuilds, runBuild } from '../docker/build-container.js';
import type { JobRecord } from '../core/jobs.js';

export const ALIVE_FILE = '/tmp/builder-alive';

interface LeasedJob extends JobRecord {
  files: { name: string; size: number; sha256: string }[];
}

export class Builder {
  private readonly name = `builder-${hostname()}`;
  private docker!: Docker;

  constructor(
    private readonly queueUrl: string,
    private readonly token: string,
    private readonly labels: Record<string, string>,
  ) {}

  private async api(method: string, path: string, body?: unknown): Promise<Response> {
    const res = await fetch(`${this.queueUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined && !(body instanceof Buffer) ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : body instanceof Buffer || typeof body === 'string' ? body : JSON.stringify(body),
    });
    if (!res.ok && res.status !== 204) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  }

  private log(message: string) {
    console.log(`${new Date().toISOString()} ${message}`);
  }

  private async alive() {
    const now = new Date();
    await utimes(ALIVE_FILE, now, now).catch(() => writeFile(ALIVE_FILE, ''));
  }

  async start(): Promise<void> {
    this.docker = await connectDocker();
    const project = this.labels['archive-in-a-box.project'];
    const removed = await removeLeftoverBuilds(this.docker, `archive-in-a-box.project=${project}`);
    if (removed) this.log(`removed ${removed} build container(s) left from an earlier run`);
    this.log(`${this.name} pulling jobs from ${this.queueUrl}`);
    for (;;) {
      try {
        const res = await this.api('POST', '/api/v1/lease', { builder: this.name });
        await this.alive();
        if (res.status === 204) {
          await new Promise((r) => setTimeout(r, 2000));
          continue;
        }
        await this.build((await res.json()) as LeasedJob);
      } catch (err) {
        this.log(`error: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  private async build(job: LeasedJob): Promise<void> {
    this.log(`job ${job.id}: building ${job.source} ${job.version} on ${job.arch} (${job.buildArg})`);
    const heartbeat = setInterval(() => {
      this.alive().catch(() => undefined);
      this.api('POST', `/api/v1/jobs/${job.id}/heartbeat`, { builder: this.name }).catch((err) => this.log(`heartbeat: ${err.message}`));
    }, 15_000);
    let pending = '';
    const flush = async () => {
      if (!pending) return;
      const text = pending;
      pending = '';
      await this.api('POST', `/api/v1/jobs/${job.id}/log?builder=${encodeURIComponent(this.name)}`, text).catch((err) => this.log(`log: ${err.message}`));
    };
    const flusher = setInterval(() => void flush(), 2000);
    const outDir = join('/tmp', `out-${job.id}`);
    try {
      const files = [];
      for (const f of job.files) {
        const res = await this.api('GET', `/api/v1/jobs/${job.id}/files/${encodeURIComponent(f.name)}`);
        const data = Buffer.from(await res.arrayBuffer());
        const sha256 = createHash('sha256').update(data).digest('hex');
        if (sha256 !== f.sha256) throw new Error(`${f.name} arrived with sha256 ${sha256}, expected ${f.sha256}`);
        files.push({ name: f.name, data });
      }
      const result = await runBuild(this.docker, {
        jobId: job.id,
        image: `archive/buildenv:${job.base}`,
        dsc: job.files.find((f) => f.name.endsWith('.dsc'))!.name,
        buildArg: job.buildArg,
        files,
        labels: this.labels,
        onLog: (text) => {
          pending += text;
        },
        outDir,
      });
      clearInterval(flusher);
      await flush();
      if (result.ok) {
        for (const name of result.outputs) {
          await this.api('PUT', `/api/v1/jobs/${job.id}/artifacts/${encodeURIComponent(name)}?builder=${encodeURIComponent(this.name)}`, await readFile(join(outDir, name)));
        }
      }
      await this.api('POST', `/api/v1/jobs/${job.id}/complete`, { builder: this.name, ok: result.ok, reason: result.reason });
      this.log(`job ${job.id}: ${result.ok ? 'built' : `failed: ${result.reason}`}`);
    } finally {
      clearInterval(heartbeat);
      clearInterval(flusher);
      await rm(outDir, { recursive: true, force: true });
    }
  }
}
