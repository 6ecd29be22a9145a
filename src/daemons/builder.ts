// The builder: leases jobs from the queue over HTTP, builds each in throwaway containers
// (core/kinds/build-flow.ts), streams the log back, hands in the artifacts. It runs as many
// jobs at once as the queue's settings say, and keeps its build environments current.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runBuild } from '../core/kinds/build-flow.js';
import { DEFAULT_LIMITS, LABEL_BUILDER, type LocalArchive } from '../core/kinds/build.js';
import { buildenvImageName, imageAgeMs, refreshBuildenv } from '../docker/buildenv.js';
import { DockerRunner, removeLeftoverBuilds } from '../docker/docker-runner.js';
import { connectDocker, type Docker } from '../docker/engine.js';
import type { LeasedJob } from '../core/job-protocol.js';
import type { BuildReport, WorkKind } from '../core/work-kinds.js';
import { JobApiClient, QueueUnreachable } from './job-api-client.js';

export const ALIVE_FILE = '/tmp/builder-alive';

export interface BuilderOptions {
  queueUrl: string;
  token: string;
  /** A name that stays the same across restarts of this builder (its leftovers carry it). */
  name: string;
  labels: Record<string, string>;
  /** Where build containers reach the archive's repository, and on which network. */
  repoUrl?: string;
  network?: string;
}

export class Builder {
  private docker!: Docker;
  private refreshing?: Promise<unknown>;
  private readonly api: JobApiClient;
  /** The kinds of work this worker runs. */
  private readonly kinds: WorkKind[] = ['build'];

  constructor(private readonly o: BuilderOptions) {
    this.api = new JobApiClient(o.queueUrl, o.token, o.name);
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
    // Whatever this builder was doing before it stopped is gone: say so, and clean up.
    const removed = await removeLeftoverBuilds(this.docker, this.o.name);
    if (removed) this.log(`removed ${removed} build container(s) left from before a restart`);
    const settings = await this.until(() => this.api.start({ kinds: this.kinds }));
    // The queue answered: healthy now, not only after the first long poll (up to 20 s later).
    await this.alive();
    this.log(`${this.o.name}: pulling jobs from ${this.o.queueUrl}, ${settings.concurrency} at a time`);
    await Promise.all(Array.from({ length: settings.concurrency }, (_, i) => this.worker(`${this.o.name}/${i + 1}`)));
  }

  /**
   * A step of handing in a finished build, tried again while the queue cannot be reached (it
   * restarts), for up to 2 minutes: the heartbeats keep the lease meanwhile, so the build is
   * not lost and done again. An answer from the queue, even a refusal, is final.
   */
  private async handIn<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof QueueUnreachable) || Date.now() > deadline) throw err;
        this.log(`${err.message}; handing in again in 2 s`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  /** Retries fn until the queue answers (it may still be starting). */
  private async until<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        this.log(`waiting for the queue: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  private async worker(name: string): Promise<never> {
    for (;;) {
      try {
        // The queue holds the request up to 20 s until there is a job: no polling delay.
        const job = await this.api.lease({ builder: name, waitSeconds: 20, kinds: this.kinds });
        await this.alive();
        if (job) await this.build(name, job);
      } catch (err) {
        this.log(`${name}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  /** Upgrades the build environment first when it is older than allowed (one refresh at a time). */
  private async freshBuildenv(job: LeasedJob, log: (t: string) => void): Promise<string> {
    const image = buildenvImageName(job.base);
    const age = await imageAgeMs(this.docker, image);
    if (age !== undefined && age > job.buildenvMaxAgeMs) {
      this.refreshing ??= refreshBuildenv(this.docker, job.base, (line) => log(`archive-in-a-box: ${line}\n`)).finally(() => {
        this.refreshing = undefined;
      });
      await this.refreshing;
    }
    return image;
  }

  private async localArchive(job: LeasedJob): Promise<LocalArchive | undefined> {
    if (!job.localArchive || !this.o.repoUrl || !this.o.network) return undefined;
    const res = await fetch(`${this.o.repoUrl}archive-key.asc`);
    if (!res.ok) throw new Error(`cannot fetch the archive key from ${this.o.repoUrl}: ${res.status}`);
    return { ...job.localArchive, key: await res.text(), url: this.o.repoUrl, network: this.o.network };
  }

  private async build(name: string, job: LeasedJob): Promise<void> {
    this.log(`${name}: job ${job.id}: ${job.source} ${job.version} on ${job.arch} (${job.buildArg})`);
    const heartbeat = setInterval(() => {
      this.alive().catch(() => undefined);
      this.api.heartbeat(job.id, name).catch((err) => this.log(`heartbeat: ${err.message}`));
      // Three heartbeats per lease: one lost request does not cost the job.
    }, Math.min(10_000, (job.leaseMs ?? 90_000) / 3));
    let pending = '';
    // One flush at a time: two appends in flight (a flooding build, a slow queue) could land out of order.
    let flushing: Promise<void> = Promise.resolve();
    const flush = () =>
      (flushing = flushing.then(async () => {
        if (!pending) return;
        const text = pending;
        pending = '';
        await this.api.log(job.id, name, text).catch((err) => this.log(`log: ${err.message}`));
      }));
    const flusher = setInterval(() => void flush(), 1000);
    const outDir = join('/tmp', `out-${job.id}`);
    const complete = (report: BuildReport) => this.api.complete(job.id, name, job.kind, report);
    try {
      const files = [];
      for (const f of job.files) {
        const data = await this.api.sourceFile(job.id, f.name);
        const sha256 = createHash('sha256').update(data).digest('hex');
        if (sha256 !== f.sha256) throw new Error(`${f.name} arrived with sha256 ${sha256}, expected ${f.sha256}`);
        files.push({ name: f.name, data });
      }
      const onLog = (text: string) => {
        pending += text;
      };
      const result = await runBuild(new DockerRunner(this.docker), {
        jobId: job.id,
        buildenv: await this.freshBuildenv(job, onLog),
        dsc: job.files.find((f) => f.name.endsWith('.dsc'))!.name,
        arch: job.arch,
        buildArg: job.buildArg,
        files,
        labels: { ...this.o.labels, [LABEL_BUILDER]: this.o.name },
        onLog,
        outDir,
        localArchive: await this.localArchive(job),
        limits: { ...DEFAULT_LIMITS, ...job.limits },
      });
      clearInterval(flusher);
      await flush();
      if (result.outcome === 'built') {
        for (const file of result.outputs) {
          const data = await readFile(join(outDir, file));
          await this.handIn(() => this.api.artifact(job.id, name, file, data));
        }
      }
      await this.handIn(() => complete(result.outcome === 'built' ? { outcome: 'built', image: result.image, depsKey: result.depsKey } : result));
      this.log(`${name}: job ${job.id}: ${result.outcome}${result.outcome === 'built' ? (result.cached ? ' (build-dependencies from the cache)' : '') : `: ${'reason' in result ? result.reason : result.missing}`}`);
    } catch (err) {
      // Not the package's fault (engine, network, queue): hand the job back to be tried again.
      this.log(`${name}: job ${job.id}: giving it back: ${(err as Error).message}`);
      clearInterval(flusher);
      pending += `\narchive-in-a-box: builder problem, job given back: ${(err as Error).message}\n`;
      await flush();
      await complete({ outcome: 'give-back', reason: (err as Error).message }).catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
      clearInterval(flusher);
      await rm(outDir, { recursive: true, force: true });
    }
  }
}

export function builderNameFromEnv(env: NodeJS.ProcessEnv): string {
  return env.ARCHIVE_BUILDER_NAME || `builder-${hostname()}`;
}
