// `archive status [--json]`: the containers, and every upload with its builds, QA checks or reasons.
import { join } from 'node:path';
import type { Command } from 'commander';
import { isLeasable, isLogName, jobFromDisk, type JobRecord } from '../core/jobs.js';
import { checksOf, qaLine, qaView } from '../core/kinds/qa.js';
import { reproducibleShares, shareLine, type ReproducibleShare } from '../core/kinds/rebuild.js';
import { SuiteStore } from '../storage/suite-store.js';
import type { Layout } from '../storage/layout.js';
import { missingWorker, presentWorkers, type WorkerSeen } from '../core/workers.js';
import { printableJson, sayPrintable } from '../core/terminal-text.js';
import { kindLabel } from '../core/work-kinds.js';
import type { UploadRecord } from '../core/uploads.js';
import { composeStatus, swarmStatus, type ServiceState } from '../docker/project-status.js';
import { engineReads } from '../docker/engine-reads.js';
import { readAll, readJson } from '../storage/json-files.js';
import { openStateFile } from '../storage/open-regular-file.js';
import { migrationLine, type MigrationDecision } from '../core/migration.js';
import { clientUrl, layoutFor, loadConfig, projectName, type GlobalOptions } from './archive-context.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('show the containers and the state of every upload')
    .option('--json', 'print JSON (containers, uploads with their jobs and QA checks, rejections)')
    .addHelpText('after', '\nExamples:\n  archive status\n  archive status --json | jq \'.uploads[] | select(.state == "rejected")\'\n')
    .action(async (options: { json?: boolean }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      let containers: ServiceState[] | { error: string };
      try {
        const engine = await engineReads(process.env.DOCKER_HOST);
        const project = projectName(layout, config);
        // A Swarm's tasks (archive up --swarm), where the engine is a manager, then this engine's containers.
        containers = [...(await swarmStatus(engine, project)), ...(await composeStatus(engine, project))];
      } catch (err) {
        containers = { error: (err as Error).message.split('\n')[0] };
      }
      const jobs = (await readAll<JobRecord>(layout.jobs)).map(jobFromDisk);
      const workers = presentWorkers(await readAll<WorkerSeen>(layout.workersSeen), jobs, Date.now());
      const uploads = uploadViews(await readAll<UploadRecord>(layout.uploads), jobs, workers);
      // The queue's last decisions (daemons/queue/migrations.ts); archive migrate --dry-run decides afresh.
      const migration = (await readJson<{ decisions: MigrationDecision[] }>(layout.migration))?.decisions ?? [];
      const status = {
        root: layout.root,
        project: projectName(layout, config),
        // https:// and the certificate's name with tls_cert, as archive up prints it.
        url: await clientUrl(layout, config).catch(() => `http://127.0.0.1:${config.port}/`),
        unsignedUploads: config.uploads.allowUnsigned ? 'allowed' : 'refused',
        containers,
        uploads,
        rejected: uploads.filter((u) => u.state === 'rejected'),
        migration,
        reproducible: await shares(layout, jobs),
      };
      if (options.json) {
        console.log(printableJson(status));
        return;
      }
      // Uploads' reasons and build logs are their uploaders' words: shown, never obeyed (core/terminal-text.ts).
      console.log(`archive ${config.name} at ${layout.root} — ${status.url}`);
      sayPrintable(`unsigned uploads: ${status.unsignedUploads}`);
      console.log();
      if (Array.isArray(containers)) {
        if (containers.length === 0) sayPrintable('containers: none (run `archive up`)');
        for (const c of containers) sayPrintable(`  ${c.service.padEnd(8)} ${c.state}${c.health ? ` (${c.health})` : ''}  ${c.container} ${c.ports.join(' ')}${c.error ? ` — ${c.error}` : ''}`);
      } else sayPrintable(`containers: unknown — ${containers.error}`);
      console.log();
      sayPrintable(`uploads: ${uploads.length}`);
      for (const u of uploads) {
        sayPrintable(`  ${u.source} ${u.version} -> ${u.suite ?? '?'}: ${u.state}`);
        for (const j of u.jobs) {
          sayPrintable(`      ${kindLabel(j.kind)} ${j.arch}${j.emulated ? ' (emulated)' : ''} ${j.buildArg}: ${j.state}${j.waitingFor ? ` — ${j.waitingFor}` : j.reason ? ` — ${j.reason}` : ''}${j.worker ? ` (on ${j.worker})` : ''}${j.log ? `  (log: ${status.url}${j.log})` : ''}`);
          if (j.state === 'failed' && j.log && isLogName(j.log)) {
            const tail = (await logTail(join(layout.public, j.log))).trimEnd().split('\n').slice(-8);
            for (const line of tail) sayPrintable(`        | ${line}`);
          }
        }
        for (const v of u.qa) sayPrintable(`      qa ${qaLine(v)}`);
        for (const r of ['rejected', 'failed', 'cancelled', 'held'].includes(u.state) ? u.reasons : []) sayPrintable(`      ! ${r}`);
        if (u.rejectedDir) sayPrintable(`      files kept in ${layout.root}/${u.rejectedDir}`);
        else if (u.filesRemovedAt) sayPrintable(`      files removed ${u.filesRemovedAt.slice(0, 10)} (uploads.keep_rejected_days)`);
      }
      if (status.reproducible.length > 0) {
        console.log();
        sayPrintable(`reproducible (each source's newest build, rebuilt under variation):`);
        for (const s of status.reproducible) sayPrintable(`  ${shareLine(s)}`);
      }
      if (migration.length > 0) {
        console.log();
        sayPrintable(`migration:`);
        for (const d of migration) sayPrintable(`  ${migrationLine(d)}`);
      }
    });
}

/**
 * Each upload as status shows it: its jobs (in the order they were read) and its QA checks, each
 * found through an index of the jobs made once (a pass over every job per upload took seconds at
 * 20,000 uploads).
 */
export function uploadViews(records: UploadRecord[], jobs: JobRecord[], workers: WorkerSeen[]) {
  const position = new Map(jobs.map((j, i) => [j.id, i]));
  const checksByUpload = new Map<string, JobRecord[]>();
  for (const j of jobs) {
    if (!j.of) continue;
    const list = checksByUpload.get(j.uploadId);
    if (list) list.push(j);
    else checksByUpload.set(j.uploadId, [j]);
  }
  return records.map((u) => ({
    id: u.id,
    source: u.source,
    version: u.version,
    suite: u.suite,
    state: u.state,
    receivedAt: u.receivedAt,
    updatedAt: u.updatedAt,
    reasons: u.reasons,
    rejectedDir: u.rejectedDir,
    filesRemovedAt: u.filesRemovedAt,
    jobs: [...new Set(u.jobs.map((id) => position.get(id)).filter((i) => i !== undefined))]
      .sort((a, b) => a - b)
      .map((i) => jobs[i])
      .map((j) => ({
        id: j.id, kind: j.kind, worker: j.worker, waitingFor: isLeasable(j) ? missingWorker(j, workers) : undefined, arch: j.arch, emulated: !!j.emulated, buildArg: j.buildArg, state: j.state, attempts: j.attempts, reason: j.reason,
        missing: j.missing, log: j.log, image: j.image, depsKey: j.depsKey, startedAt: j.startedAt, finishedAt: j.finishedAt,
      })),
    qa: checksOf(checksByUpload.get(u.id) ?? [], u.id).map((j) => qaView(j)),
  }));
}

/** Each suite's share of reproducible builds (core/kinds/rebuild.ts), of the sources it holds now. */
async function shares(layout: Layout, jobs: JobRecord[]): Promise<ReproducibleShare[]> {
  if (!jobs.some((j) => j.kind === 'rebuild')) return [];
  const records = (await new SuiteStore(layout.suites, ({ control: _, ...b }) => ({ ...b, debug: false }), { readOnly: true }).load()).all();
  const held = new Set(records.filter((c) => c.kind === 'suite').flatMap((c) => c.sources.map((x) => `${c.id} ${x.source}`)));
  return reproducibleShares(jobs, (suite, source) => held.has(`${suite} ${source}`));
}

/**
 * The last 64 KiB of a log, read through openStateFile (never through a link, never a FIFO, run
 * by root only the queue's user's file); '' when it cannot be read.
 */
async function logTail(path: string): Promise<string> {
  try {
    const { handle, size } = await openStateFile(path);
    try {
      const length = Math.min(size, 64 * 1024);
      const data = Buffer.alloc(length);
      const { bytesRead } = await handle.read(data, 0, length, size - length);
      return data.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}
