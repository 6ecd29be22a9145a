// Back-fill: an architecture added to a suite gets a build of every source the suite publishes
// that builds on it, automatically and once (a job that exists, whatever its state, is not made
// again), as wanna-build does for a new port. Pure.
import type { ArchiveConfig } from '../config/config.js';
import { Paragraph } from '../debian/deb822.js';
import { planBuilds, type PlannedBuild } from './build-plan.js';
import { newBuildJob, type JobRecord } from './jobs.js';
import type { SuiteContents } from './suite-contents.js';
import type { UploadRecord } from './uploads.js';

export interface Backfill {
  upload: UploadRecord;
  jobs: JobRecord[];
}

/**
 * The jobs missing for the suites' architectures of what they publish. Only a source published
 * in the suite it was uploaded to: a copy's builds are its origin's (archive copy). Its
 * Architecture: all packages are built once: not again when one of its jobs built them (-b or
 * -A), even on another architecture than arch_all says now.
 */
export function backfillJobs(config: ArchiveConfig, contents: SuiteContents[], uploads: (id: string) => UploadRecord | undefined, job: (id: string) => JobRecord | undefined, at: string): Backfill[] {
  const out: Backfill[] = [];
  for (const suite of config.suites) {
    const held = contents.find((c) => c.kind === 'suite' && c.id === suite.name);
    for (const s of held?.sources ?? []) {
      const upload = s.uploadId ? uploads(s.uploadId) : undefined;
      if (!upload || upload.suite !== suite.name || upload.version !== s.version) continue;
      const architectures = (new Paragraph(s.stanza).first('Architecture') ?? '').split(/\s+/).filter(Boolean);
      const indepBuilt = upload.jobs.some((id) => ['-b', '-A'].includes(job(id)?.buildArg ?? ''));
      const jobs = planBuilds(architectures, suite.architectures, config.builds.archAll)
        .flatMap((p): PlannedBuild[] => (!indepBuilt ? [p] : p.buildArg === '-A' ? [] : [{ ...p, buildArg: '-B' }]))
        .map((p) => newBuildJob(upload, suite, p, at))
        .filter((j) => !job(j.id));
      if (jobs.length > 0) out.push({ upload, jobs });
    }
  }
  return out;
}
