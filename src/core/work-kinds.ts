// The kinds of work a worker leases (today builds; QA checks and rebuilds next). A job record
// carries its kind; each kind has its report type here, and the compiler asks for an entry per
// kind wherever one is needed (`Record<WorkKind, …>`: the worker's tasks, the queue's
// completions, the status page's labels). Pure.

export const WORK_KINDS = ['build'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];

/** What a worker reports at the end of a build. */
export type BuildReport =
  | { outcome: 'built'; image?: string; depsKey?: string }
  | { outcome: 'failed'; reason: string; image?: string; depsKey?: string }
  | { outcome: 'dep-wait'; missing: string }
  /** Not the package's fault (engine, network, queue): to be tried again. */
  | { outcome: 'give-back'; reason: string };

/** Each kind's report. */
export interface ReportOf {
  build: BuildReport;
}

export type JobReport = ReportOf[WorkKind];

/** How the status page, `archive status` and `--json` name a job of each kind. */
export const KIND_LABEL: Record<WorkKind, string> = {
  build: 'build',
};

const OUTCOMES: Record<WorkKind, readonly string[]> = {
  build: ['built', 'failed', 'dep-wait', 'give-back'],
};

const optionalText = (v: unknown) => v === undefined || typeof v === 'string';

/**
 * A report as a worker sent it, checked against its job's kind: a worker is not trusted to
 * send a well-formed one. Returns the report, or what is wrong with it.
 */
export function parseJobReport(kind: WorkKind, value: Record<string, unknown>): JobReport | { error: string } {
  const { outcome, reason, missing, image, depsKey } = value;
  if (typeof outcome !== 'string' || !OUTCOMES[kind].includes(outcome)) return { error: `unknown outcome ${String(outcome)}` };
  if (![reason, missing, image, depsKey].every(optionalText)) return { error: `${outcome}: reason, missing, image and depsKey must be text` };
  const s = (v: unknown) => v as string;
  switch (outcome) {
    case 'built':
      return { outcome, image: s(image), depsKey: s(depsKey) };
    case 'failed':
      return { outcome, reason: s(reason) ?? 'build failed', image: s(image), depsKey: s(depsKey) };
    case 'dep-wait':
      return { outcome, missing: s(missing) ?? 'unknown relation' };
    default:
      return { outcome: 'give-back', reason: s(reason) ?? 'builder problem' };
  }
}
