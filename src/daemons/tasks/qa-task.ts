// A worker's side of the QA kinds: the check's files fetched and checked, the build environment
// of the job's base it runs in kept current, the check run in throwaway containers
// (core/kinds/qa-flow.ts through the Docker runner). Nothing is handed in but the report.
import { runCheck } from '../../core/kinds/qa-flow.js';
import { DEFAULT_LIMITS } from '../../core/kinds/build.js';
import type { CheckKind, QaReport } from '../../core/kinds/qa.js';
import { KINDS } from '../../core/work-kinds.js';
import { hostArchitecture } from '../../process/debian-tools.js';
import { DockerRunner } from '../../docker/docker-runner.js';
import { fetchJobFiles, freshBuildenv, localArchive, workerLabels } from './build-task.js';
import type { TaskContext, TaskResult } from './task.js';

export function qaTask(check: CheckKind): (t: TaskContext) => Promise<TaskResult<QaReport>> {
  return async (t) => {
    const { job } = t;
    // lintian and blhc run nothing of the build's architecture: on this worker's own one.
    // piuparts, autopkgtest and installability install the packages: on theirs (under qemu where
    // it is emulated), with the job's suite (a migration's target for installability) as a source.
    const onBuildArch = !KINDS[check].anyArchitecture;
    const arch = onBuildArch ? job.arch : (t.worker.native ?? (await hostArchitecture()));
    const report = await runCheck(new DockerRunner(t.docker), {
      jobId: job.id,
      check,
      buildenv: await freshBuildenv(t, arch),
      arch: job.arch,
      files: await fetchJobFiles(t),
      labels: workerLabels(t),
      onLog: t.log,
      network: t.worker.network,
      ...(onBuildArch && { localArchive: await localArchive(t) }),
      limits: { ...DEFAULT_LIMITS, ...job.limits },
    });
    const summary = report.outcome === 'checked' ? `${report.verdict}: ${report.summary}` : `${report.outcome}: ${report.reason}`;
    return { report, outputs: [], summary };
  };
}
