// QA gates: what a suite asks of a source's QA checks before the source migrates there
// (migrate_from and require, core/migration.ts) or is published there (publish_requires,
// daemons/queue/suite-joining.ts): per check, on every architecture, `pass` (pass or neutral: a
// check that could not apply holds no gate, as britney takes it), `no-errors` (lintian: no
// error tag; warnings may stay) or `no-regression` (anything but a regression against the
// version before). A rebuild (core/kinds/rebuild.ts) is gated alike: `pass` is reproducible. Pure.
import type { SuiteConfig } from '../config/config.js';
import type { JobRecord } from './jobs.js';
import { applies, declaresTests, type QaCheck } from './kinds/qa.js';
import { rebuildOf, rebuildable } from './kinds/rebuild.js';
import type { UploadRecord } from './uploads.js';

export const QA_GATES = ['pass', 'no-errors', 'no-regression'] as const;
export type QaGate = (typeof QA_GATES)[number];
/** What a gate is on: a QA check, or the rebuild. */
export type GateCheck = QaCheck | 'rebuild';
export type QaGates = Partial<Record<GateCheck, QaGate>>;

export interface UnmetGate {
  reason: string;
  /** The check has not answered yet: the gate may still hold. */
  waiting: boolean;
}

/**
 * The gates the checks of these built `builds` do not meet. `jobs` are their upload's jobs (its
 * builds and checks); a check that applies to a build but was not made yet, or is running, waits.
 */
export function unmetGates(gates: QaGates, builds: JobRecord[], jobs: JobRecord[], declaresTests: boolean): UnmetGate[] {
  const out: UnmetGate[] = [];
  for (const [check, gate] of Object.entries(gates) as [GateCheck, QaGate][]) {
    const gated = (b: JobRecord) => (check === 'rebuild' ? rebuildable(b) : applies(check, b, jobs, () => declaresTests));
    for (const build of builds.filter(gated)) {
      const job = check === 'rebuild' ? rebuildOf(jobs, build.id) : jobs.find((j) => j.kind === check && j.of === build.id);
      const on = `${check} on ${build.arch}`;
      const qa = job?.qa;
      if (!job || !qa) {
        if (job?.state === 'failed') out.push({ reason: `${on} could not run: ${job.reason ?? 'unknown reason'}`, waiting: false });
        else out.push({ reason: `${on} has not run yet`, waiting: true });
      } else if (qa.verdict === 'tmpfail') out.push({ reason: `${on}: the testbed failed (tmpfail)`, waiting: false });
      else if (gate === 'pass' && qa.verdict === 'fail') out.push({ reason: check === 'rebuild' ? `not reproducible on ${build.arch}: ${qa.summary}` : `${check} failed on ${build.arch}: ${qa.summary}`, waiting: false });
      // A fail is an error tag even when none was counted: lintian's exit said so of a tag in
      // output past what was read (core/kinds/lintian.ts). Warnings alone are a pass.
      else if (gate === 'no-errors' && (qa.verdict === 'fail' || (qa.counts.error ?? 0) > 0)) out.push({ reason: `${on}: ${qa.counts.error ? `${qa.counts.error} error(s): ` : ''}${qa.summary}`, waiting: false });
      else if (gate === 'no-regression' && qa.trend === 'regression') {
        out.push({ reason: `${check} regressed on ${build.arch}${qa.comparedWith ? ` (against ${qa.comparedWith})` : ''}: ${qa.summary}`, waiting: false });
      }
    }
  }
  return out;
}

/**
 * What holds an upload back from a suite with publish_requires, while it is not in the suite:
 * the gates its built builds' checks do not meet so far (empty once they all hold); undefined
 * when nothing gates it (no publish_requires, or it joined).
 */
export function publicationHold(suites: SuiteConfig[], upload: UploadRecord, jobs: JobRecord[]): UnmetGate[] | undefined {
  const gates = suites.find((s) => s.name === upload.suite)?.publishRequires;
  if (!gates || upload.inSuite) return undefined;
  const mine = jobs.filter((j) => j.uploadId === upload.id);
  return unmetGates(gates, mine.filter((j) => j.kind === 'build' && j.state === 'built' && upload.jobs.includes(j.id)), mine, declaresTests(upload));
}
