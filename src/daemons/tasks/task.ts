// What a worker gives the task of a leased job, whatever its kind, and what the task returns.
// One task per kind (build-task.ts, qa-task.ts, rebuild-task.ts), listed in TASKS below.
import type { LeasedJob } from '../../core/job-protocol.js';
import type { Docker } from '../../docker/engine.js';
import type { ReportOf, WorkKind } from '../../core/work-kinds.js';
import type { JobApiClient } from '../job-api-client.js';
import { runBuildTask } from './build-task.js';
import { qaTask } from './qa-task.js';
import { runRebuildTask } from './rebuild-task.js';

export interface TaskContext {
  job: LeasedJob;
  api: JobApiClient;
  docker: Docker;
  /**
   * The worker: its name (build containers carry it, to be found after a restart), its labels,
   * where containers reach the repository (and the CA of its certificate, when no public one
   * signed it), on a Swarm each base's build environment by digest in the archive's registry,
   * and the architecture it runs natively (its host's when it was given none).
   */
  worker: { name: string; labels: Record<string, string>; repoUrl?: string; repoCa?: string; network?: string; buildenvs?: Record<string, string>; native?: string };
  /** Appends to the job's log (sent to the queue every second). */
  log: (text: string) => void;
  /** An empty folder of this job's, for its input files (fetchJobFiles); removed afterwards. */
  inDir: string;
  /** An empty folder of this job's, for its output files; removed afterwards. */
  outDir: string;
}

export interface TaskResult<Report> {
  report: Report;
  /** Files in outDir to hand in before the report. */
  outputs: string[];
  /** For the worker's own log. */
  summary: string;
}

/** The task that runs each kind of work. */
export const TASKS: { [K in WorkKind]: (t: TaskContext) => Promise<TaskResult<ReportOf[K]>> } = {
  build: runBuildTask,
  lintian: qaTask('lintian'),
  blhc: qaTask('blhc'),
  piuparts: qaTask('piuparts'),
  autopkgtest: qaTask('autopkgtest'),
  installability: qaTask('installability'),
  rebuild: runRebuildTask,
};
