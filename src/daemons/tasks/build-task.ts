// A worker's side of the build kind: the job's source files fetched (to disk) and checked, the build
// environment kept current, the build run in throwaway containers (core/kinds/build-flow.ts
// through the Docker runner), and what it made listed for handing in.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobInput } from '../../core/container-runner.js';
import { diskSpace } from '../../storage/files.js';
import { SAFE_FILE_NAME } from '../../debian/pool-path.js';
import { runBuild } from '../../core/kinds/build-flow.js';
import { DEFAULT_LIMITS, LABEL_BUILDER, type BuildReport, type LocalArchive } from '../../core/kinds/build.js';
import { buildenvImageName, buildenvTag, imageAgeMs, pullBuildenv, refreshBuildenv } from '../../docker/buildenv.js';
import { DockerRunner } from '../../docker/docker-runner.js';
import type { LeasedJob } from '../../core/job-protocol.js';
import type { TaskContext, TaskResult } from './task.js';
import { readAnswer, refuseRedirect } from '../job-api-client.js';

/** One refresh (or pull) of a build environment at a time, shared by the worker's slots. */
const refreshing = new Map<string, Promise<unknown>>();
/** The build environments pulled from the registry since this worker started. */
const pulled = new Set<string>();
/**
 * The build-dependency key of each source's last build here (by base, architecture and build
 * argument): its next build (a new version, or a rebuild) starts from that key's image while
 * apt resolves (core/kinds/build-flow.ts). The most recent LAST_KEYS sources.
 */
const lastKeys = new Map<string, string>();
const LAST_KEYS = 1000;
const lineage = (job: LeasedJob) => [job.source, job.base, job.arch, job.buildArg].join(' ');

export function likelyDepsKey(job: LeasedJob): string | undefined {
  return lastKeys.get(lineage(job));
}

export function noteDepsKey(job: LeasedJob, key: string | undefined): void {
  if (!key) return;
  lastKeys.delete(lineage(job));
  lastKeys.set(lineage(job), key);
  if (lastKeys.size > LAST_KEYS) lastKeys.delete(lastKeys.keys().next().value!);
}

/** The labels of every container a worker's job makes: its own, and its name, by which it finds them after a restart (removeLeftoverBuilds). */
export function workerLabels(t: TaskContext): Record<string, string> {
  return { ...t.worker.labels, [LABEL_BUILDER]: t.worker.name };
}

export async function runBuildTask(t: TaskContext): Promise<TaskResult<BuildReport>> {
  const { job } = t;
  const files = await fetchJobFiles(t);
  const result = await runBuild(new DockerRunner(t.docker), {
    jobId: job.id,
    buildenv: await freshBuildenv(t, job.arch),
    dsc: job.files.find((f) => f.name.endsWith('.dsc'))!.name,
    arch: job.arch,
    buildArg: job.buildArg,
    files,
    labels: workerLabels(t),
    onLog: t.log,
    outDir: t.outDir,
    localArchive: await localArchive(t),
    limits: { ...DEFAULT_LIMITS, ...job.limits },
    likelyDepsKey: likelyDepsKey(job),
  });
  if ('depsKey' in result) noteDepsKey(job, result.depsKey);
  if (result.outcome !== 'built') return { report: result, outputs: [], summary: `${result.outcome}: ${'reason' in result ? result.reason : result.missing}` };
  return {
    report: { outcome: 'built', image: result.image, depsKey: result.depsKey },
    outputs: result.outputs,
    summary: `built${result.cached ? ' (build-dependencies from the cache)' : ''}`,
  };
}

/**
 * The job's input files from the queue, each written to the job's input folder as it arrives and
 * checked against the size and sha256 its lease named (a wrong one is removed).
 */
export async function fetchJobFiles(t: TaskContext): Promise<JobInput[]> {
  // Named by the queue: plain file names (checkLease refused any other already), or one could be
  // written elsewhere.
  const unsafe = t.job.files.find((f) => !SAFE_FILE_NAME.test(f.name));
  if (unsafe) throw new Error(`the lease names an input file "${unsafe.name}": expected a plain file name`);
  // Said at once, not as a write that fails half way: the job goes back, for a worker with room.
  const total = t.job.files.reduce((n, f) => n + f.size, 0);
  // Its inputs are what it writes too: no more than its disk limit (on a worker with ceilings, the owner's).
  if (total > t.job.limits.diskBytes) throw new Error(`the job's ${t.job.files.length} input files hold ${total} bytes, past its disk limit of ${t.job.limits.diskBytes} bytes (builds.disk_gib)`);
  const { free } = await diskSpace(t.inDir);
  if (total > free) throw new Error(`the job's ${t.job.files.length} input files hold ${total} bytes; this worker has ${free} bytes free for them (${t.inDir})`);
  const files: JobInput[] = [];
  for (const f of t.job.files) {
    const path = join(t.inDir, f.name);
    const got = await t.api.sourceFileTo(t.job.id, f.name, path, f.size);
    if (got.sha256 !== f.sha256 || got.size !== f.size) {
      await rm(path, { force: true });
      throw new Error(`${f.name} arrived with ${got.size} bytes, sha256 ${got.sha256}; expected ${f.size} bytes, sha256 ${f.sha256}`);
    }
    files.push({ name: f.name, path, ...got });
  }
  return files;
}

/**
 * The build environment of the job's base on `arch`, upgraded first when it is older than allowed (one refresh at a time).
 * A worker of a Swarm pulls it by digest from the archive's registry first, once per start.
 */
export async function freshBuildenv(t: TaskContext, arch: string): Promise<string> {
  const { base } = t.job;
  const image = buildenvImageName(base, arch);
  const ref = t.worker.buildenvs?.[buildenvTag(base, arch)];
  if (ref && !pulled.has(image)) {
    if (!refreshing.has(image)) {
      refreshing.set(image, pullBuildenv(t.docker, ref, base, arch, (line) => t.log(`archive-in-a-box: ${line}\n`)).then(() => pulled.add(image)).finally(() => refreshing.delete(image)));
    }
    await refreshing.get(image);
  }
  const age = await imageAgeMs(t.docker, image);
  if (age !== undefined && age > t.job.buildenvMaxAgeMs) {
    if (!refreshing.has(image)) {
      refreshing.set(image, refreshBuildenv(t.docker, base, arch, (line) => t.log(`archive-in-a-box: ${line}\n`), workerLabels(t)).finally(() => refreshing.delete(image)));
    }
    await refreshing.get(image);
  }
  return image;
}

/** The most of the archive's key the worker reads: one armored public key is a few KiB. */
export const MAX_ARCHIVE_KEY_BYTES = 1024 * 1024;
/** How long the repository has to answer the key, all of it. */
export const ARCHIVE_KEY_WITHIN_MS = 60_000;

/**
 * The local archive as build containers reach it: the suite and components the lease names
 * (checkLease), its URL, network and CA here (never one the lease names), its key from the
 * repository, read up to MAX_ARCHIVE_KEY_BYTES.
 */
export async function localArchive(t: TaskContext): Promise<LocalArchive | undefined> {
  const { repoUrl, repoCa, network } = t.worker;
  const leased = t.job.localArchive;
  if (!leased || !repoUrl || !network) return undefined;
  const what = `the archive key from ${repoUrl}`;
  const res = await fetch(`${repoUrl}archive-key.asc`, { signal: AbortSignal.timeout(ARCHIVE_KEY_WITHIN_MS), redirect: 'manual' }).catch((err: Error) => {
    throw new Error(`cannot fetch ${what}: ${err.name === 'TimeoutError' ? `no answer within ${ARCHIVE_KEY_WITHIN_MS / 1000} s` : ((err.cause as Error | undefined)?.message ?? err.message)}`);
  });
  await refuseRedirect(res, what);
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`cannot fetch ${what}: ${res.status}`);
  }
  const key = (await readAnswer(res, MAX_ARCHIVE_KEY_BYTES, what)).toString();
  return { suite: leased.suite, components: leased.components, key, url: repoUrl, network, ...(repoCa ? { ca: repoCa } : {}) };
}
