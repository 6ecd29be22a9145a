// A worker's side of the rebuild kind: the source and the first build's packages fetched and
// checked, the build environment of the job's architecture kept current, the rebuild run and
// compared (core/kinds/rebuild-flow.ts through the Docker runner); diffoscope's reports and the
// rebuild's .buildinfo handed in before the report.
import { runRebuild } from '../../core/kinds/rebuild-flow.js';
import { DEFAULT_LIMITS } from '../../core/kinds/build.js';
import type { RebuildReport } from '../../core/kinds/rebuild.js';
import { hostArchitecture } from '../../process/debian-tools.js';
import { DockerRunner } from '../../docker/docker-runner.js';
import { fetchJobFiles, freshBuildenv, likelyDepsKey, localArchive, noteDepsKey, workerLabels } from './build-task.js';
import type { TaskContext, TaskResult } from './task.js';

export async function runRebuildTask(t: TaskContext): Promise<TaskResult<RebuildReport>> {
  const { job } = t;
  const files = await fetchJobFiles(t);
  const isPackage = (name: string) => /\.u?deb$/.test(name);
  const native = t.worker.native ?? (await hostArchitecture());
  const { report, outputs } = await runRebuild(new DockerRunner(t.docker), {
    jobId: job.id,
    source: job.source,
    version: job.version,
    buildenv: await freshBuildenv(t, job.arch),
    toolsBuildenv: await freshBuildenv(t, native),
    dsc: job.files.find((f) => f.name.endsWith('.dsc'))!.name,
    arch: job.arch,
    buildArg: job.buildArg,
    files: files.filter((f) => !isPackage(f.name)),
    first: files.filter((f) => isPackage(f.name)),
    labels: workerLabels(t),
    onLog: t.log,
    outDir: t.outDir,
    network: t.worker.network,
    localArchive: await localArchive(t),
    limits: { ...DEFAULT_LIMITS, ...job.limits },
    likelyDepsKey: likelyDepsKey(job),
  });
  if (report.outcome === 'rebuilt') noteDepsKey(job, report.depsKey);
  const summary = report.outcome === 'rebuilt' ? `rebuilt: ${report.differences.length ? `${report.differences.length} package(s) differ` : 'compared'}` : `${report.outcome}: ${report.reason}`;
  return { report, outputs, summary };
}
