// QA gates: what a suite asks of a source's QA checks before the source migrates there
// (migrate_from and require, core/migration.ts) or is published there (publish_requires,
// daemons/queue/suite-joining.ts): per check, on every architecture, `pass` (pass or neutral: a
// check that could not apply holds no gate, as britney takes it), `no-errors` (lintian: no
// error tag; warnings may stay) or `no-regression` (anything but a regression against the
// version the suite gated into holds now). A rebuild (core/kinds/rebuild.ts) is gated alike:
// `pass` is reproducible. Pure.
import type { SuiteConfig } from '../config/config.js';
import type { JobRecord } from './jobs.js';
import { applies, declaresTests, qaTrend, type QaCheck, type QaResult } from './kinds/qa.js';
import { rebuildOf, rebuildable } from './kinds/rebuild.js';
import type { SuiteContents } from './suite-contents.js';
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
 * The version of a source a gated suite holds now, and the jobs of the upload it came from (its
 * builds and their checks; none when it has no upload record: imported, or copied in from a
 * suite that had none). A no-regression gate compares with it, as britney compares with
 * testing: the trend a check keeps is against the previous version checked in its own suite,
 * and that version may itself have been held back, so a second failing upload would otherwise
 * look "still failing" and pass.
 */
export interface HeldVersion {
  version: string;
  jobs: JobRecord[];
}

/** What `suite` holds of `source` now (undefined: nothing, or no such suite yet), for unmetGates. */
export function heldVersion(suite: SuiteContents | undefined, source: string, jobsOf: (uploadId: string) => JobRecord[]): HeldVersion | undefined {
  const held = suite?.sources.find((s) => s.source === source);
  return held && { version: held.version, jobs: held.uploadId ? jobsOf(held.uploadId) : [] };
}

/** The job that answers a gate on `check` for a build: its check of that kind, or its newest rebuild (archive verify's). */
const answering = (check: GateCheck, buildId: string, jobs: JobRecord[]) =>
  check === 'rebuild' ? rebuildOf(jobs, buildId) : jobs.find((j) => j.kind === check && j.of === buildId);

/**
 * The held version `qa` regresses from, if it does: by the same rule as the trend a check keeps
 * (core/kinds/qa.ts qaTrend), against that version's result of the same check on the same
 * architecture. With no held version (a new source), or no result of that check there (switched
 * on after it, or it came with no upload), there is nothing to regress from.
 */
function regressedFrom(check: GateCheck, arch: string, qa: QaResult, held: HeldVersion | undefined): string | undefined {
  if (!held) return undefined;
  const build = held.jobs.find((j) => j.kind === 'build' && j.arch === arch && j.state === 'built');
  const before = build && answering(check, build.id, held.jobs)?.qa;
  return before && qaTrend(qa, [{ version: held.version, result: before }]).trend === 'regression' ? held.version : undefined;
}

/**
 * The gates the checks of these built `builds` do not meet. `jobs` are their upload's jobs (its
 * builds and checks); a check that applies to a build but was not made yet, or is running, waits.
 * `held` is what the gated suite holds of the source now, which no-regression compares with.
 */
export function unmetGates(gates: QaGates, builds: JobRecord[], jobs: JobRecord[], declaresTests: boolean, held: HeldVersion | undefined): UnmetGate[] {
  const out: UnmetGate[] = [];
  for (const [check, gate] of Object.entries(gates) as [GateCheck, QaGate][]) {
    const gated = (b: JobRecord) => (check === 'rebuild' ? rebuildable(b) : applies(check, b, jobs, () => declaresTests));
    for (const build of builds.filter(gated)) {
      const job = answering(check, build.id, jobs);
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
      // Not qa.trend: that is against the previous version checked in the source's own suite,
      // which may never have got into the gated one (see HeldVersion).
      else if (gate === 'no-regression') {
        const against = regressedFrom(check, build.arch, qa, held);
        if (against) out.push({ reason: `${check} regressed on ${build.arch} (against ${against}): ${qa.summary}`, waiting: false });
      }
    }
  }
  return out;
}

/**
 * What holds an upload back from a suite with publish_requires, while it is not in the suite:
 * the gates its built builds' checks do not meet so far (empty once they all hold); undefined
 * when nothing gates it (no publish_requires, or it joined). `jobs` are all jobs; `contentsOf`
 * gives what a suite holds now (no-regression compares with the version the upload's holds),
 * asked only when the suite has gates.
 */
export function publicationHold(suites: SuiteConfig[], upload: UploadRecord, jobs: JobRecord[], contentsOf: (suite: string) => SuiteContents | undefined): UnmetGate[] | undefined {
  const gates = suites.find((s) => s.name === upload.suite)?.publishRequires;
  if (!gates || upload.inSuite) return undefined;
  const mine = jobs.filter((j) => j.uploadId === upload.id);
  const held = heldVersion(contentsOf(upload.suite!), upload.source, (id) => jobs.filter((j) => j.uploadId === id));
  return unmetGates(gates, mine.filter((j) => j.kind === 'build' && j.state === 'built' && upload.jobs.includes(j.id)), mine, declaresTests(upload), held);
}
