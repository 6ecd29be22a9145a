// The kinds of work a worker leases (builds, QA checks, rebuilds). A job record
// carries its kind. Each kind is one module under core/kinds/ that defines its recipe, its
// report and how it is shown; this registry lists them, and the per-kind tables (KINDS here,
// the worker's TASKS, the queue's byKind handlers) make the compiler ask for an entry per kind.
// Pure.
import { BUILD_KIND, type BuildReport } from './kinds/build.js';
import { qaKind, type QaReport } from './kinds/qa.js';
import { REBUILD_KIND, type RebuildReport } from './kinds/rebuild.js';

/** What the registry knows of a kind. */
export interface KindDefinition<Report> {
  /** How the status page, `archive status` and `--json` name a job of this kind. */
  label: string;
  /**
   * Whether a job of this kind runs on any worker with a native build environment, whatever the
   * job's architecture (a QA check reads files; it runs none of the build's binaries).
   */
  anyArchitecture?: boolean;
  /** A report as a worker sent it, checked: a worker is not trusted to send a well-formed one. */
  parseReport(value: Record<string, unknown>): Report | { error: string };
}

/** Each kind's report. */
export interface ReportOf {
  build: BuildReport;
  lintian: QaReport;
  blhc: QaReport;
  piuparts: QaReport;
  autopkgtest: QaReport;
  installability: QaReport;
  rebuild: RebuildReport;
}

export type WorkKind = keyof ReportOf;
export type JobReport = ReportOf[WorkKind];
/** A report with the kind it was checked as: which report goes with which kind, for the compiler too. */
export type KindReport = { [K in WorkKind]: { kind: K; report: ReportOf[K] } }[WorkKind];

export const KINDS: { [K in WorkKind]: KindDefinition<ReportOf[K]> } = {
  build: BUILD_KIND,
  lintian: qaKind('lintian'),
  blhc: qaKind('blhc'),
  piuparts: qaKind('piuparts'),
  autopkgtest: qaKind('autopkgtest'),
  installability: qaKind('installability'),
  rebuild: REBUILD_KIND,
};

export const WORK_KINDS = Object.keys(KINDS) as WorkKind[];

/** A kind's label; a kind this version does not know (a record from a newer one) by its name. */
export const kindLabel = (kind: WorkKind) => KINDS[kind]?.label ?? String(kind);

/**
 * Whether a worker offering these kinds and architectures (any when not said; `emulated` run
 * under qemu there) can run a job of this kind and architecture.
 */
export function canRun(offer: { kinds?: string[]; architectures?: string[]; emulated?: string[] }, job: { kind: WorkKind; arch: string }): boolean {
  if (offer.kinds && !offer.kinds.includes(job.kind)) return false;
  if (!offer.architectures) return true;
  return KINDS[job.kind]?.anyArchitecture ? offer.architectures.some((a) => !offer.emulated?.includes(a)) : offer.architectures.includes(job.arch);
}

/** A report as a worker sent it for a job of `kind` (a name it sent too), checked. */
export function parseKindReport(kind: unknown, value: Record<string, unknown>): KindReport | { error: string } {
  if (!(WORK_KINDS as unknown[]).includes(kind)) return { error: `unknown kind of work ${String(kind)}` };
  const report = KINDS[kind as WorkKind].parseReport(value);
  return 'error' in report ? report : ({ kind, report } as KindReport);
}

/** Calls the handler of the report's kind with its report (`handlers` has one per kind). */
export function byKind<K extends WorkKind, R>(r: { kind: K; report: ReportOf[K] }, handlers: { [P in WorkKind]: (report: ReportOf[P]) => R }): R {
  return handlers[r.kind](r.report);
}
