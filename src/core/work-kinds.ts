// The kinds of work a worker leases (today builds; QA checks and rebuilds next). A job record
// carries its kind. Each kind is one module under core/kinds/ that defines its recipe, its
// report and how it is shown; this registry lists them, and the per-kind tables (KINDS here,
// the worker's TASKS, the queue's byKind handlers) make the compiler ask for an entry per kind.
// Pure.
import { BUILD_KIND, type BuildReport } from './kinds/build.js';

/** What the registry knows of a kind. */
export interface KindDefinition<Report> {
  /** How the status page, `archive status` and `--json` name a job of this kind. */
  label: string;
  /** A report as a worker sent it, checked: a worker is not trusted to send a well-formed one. */
  parseReport(value: Record<string, unknown>): Report | { error: string };
}

/** Each kind's report. */
export interface ReportOf {
  build: BuildReport;
}

export type WorkKind = keyof ReportOf;
export type JobReport = ReportOf[WorkKind];
/** A report with the kind it was checked as: which report goes with which kind, for the compiler too. */
export type KindReport = { [K in WorkKind]: { kind: K; report: ReportOf[K] } }[WorkKind];

export const KINDS: { [K in WorkKind]: KindDefinition<ReportOf[K]> } = {
  build: BUILD_KIND,
};

export const WORK_KINDS = Object.keys(KINDS) as WorkKind[];

/** A kind's label; a kind this version does not know (a record from a newer one) by its name. */
export const kindLabel = (kind: WorkKind) => KINDS[kind]?.label ?? String(kind);

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
