// QA checks as kinds of work (core/work-kinds.ts), as debile ran them on every upload: each
// check of a build is one job, leased after the builds, run with Debian's own tool in a
// throwaway container (qa-flow.ts), its verdict recorded and compared with the previous
// version's. What is common to the checks is here; each check's script and how its output
// reads are lintian.ts, blhc.ts, piuparts.ts and autopkgtest.ts. Pure.
import { createHash } from 'node:crypto';
import type { SuiteConfig } from '../../config/config.js';
import { Paragraph } from '../../debian/deb822.js';
import { compareVersions } from '../../debian/version.js';
import type { JobRecord } from '../jobs.js';
import type { KindDefinition, WorkKind } from '../work-kinds.js';
import { reproducibility, type Reproducibility } from './rebuild.js';
import { inOrder } from '../../debian/indices.js';
import { shellQuote } from '../shell-quote.js';

/** The checks there are, in the order they are shown. */
export const QA_CHECKS = ['lintian', 'blhc', 'piuparts', 'autopkgtest'] as const;
export type QaCheck = (typeof QA_CHECKS)[number];

export const isQaCheck = (kind: string): kind is QaCheck => (QA_CHECKS as readonly string[]).includes(kind);
/** A check job's kind: one a suite lists, or the installability check a migration plans (installability.ts). */
export const CHECK_KINDS = [...QA_CHECKS, 'installability'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

/**
 * A check's verdict: pass; fail (the package's fault); neutral (the check does not apply, with
 * why: no compiler commands in an arch:all build); tmpfail (the testbed died: tried again).
 */
export type QaVerdict = 'pass' | 'fail' | 'neutral' | 'tmpfail';

/** One finding: a lintian tag, a blhc line, a piuparts step or file left, an autopkgtest test; with its severity letter (lintian's E, W, I, P, O, X, C, M; the others E, W or I). */
export interface QaFinding {
  severity: string;
  package?: string;
  tag: string;
  context?: string;
}

/** How a version's verdict compares with the previous version's in the suite. */
export type QaTrend = 'regression' | 'fixed' | 'still-failing' | 'never-passed';

/** What a check found, as the worker reports it and the job keeps it. */
export interface QaResult {
  verdict: QaVerdict;
  /** The tool and its version ("lintian 2.122.0"). */
  tool: string;
  seconds: number;
  /** Findings by severity ("error": 1, "warning": 3, ...). */
  counts: Record<string, number>;
  /** At most MAX_FINDINGS of them. */
  findings: QaFinding[];
  /** Why it is neutral, or what failed, in a line. */
  summary: string;
  /**
   * Set by the queue: against the previous version's result in the suite, as shown. That version
   * may never have been published or migrated, so a no-regression gate does not read this: it
   * compares with the gated suite's version (core/qa-gates.ts).
   */
  trend?: QaTrend;
  comparedWith?: string;
  /** Findings (severity and tag) the previous version did not have. */
  newFindings?: string[];
}

/** What a worker reports at the end of a check. */
export type QaReport =
  | ({ outcome: 'checked' } & QaResult)
  /** The check could not run (its tool failed): the job fails, the package is not judged. */
  | { outcome: 'failed'; reason: string }
  /** Not the check's fault (engine, network, queue): to be tried again. */
  | { outcome: 'give-back'; reason: string };

export const MAX_FINDINGS = 500;
const MAX_TEXT = 400;

/**
 * The Debian packages a check needs on its build environment, installed once into an image of
 * the build-dependency cache (none for piuparts' steps: dpkg and apt are there).
 */
export function toolsFor(check: QaCheck): string[] {
  return check === 'piuparts' ? [] : check === 'autopkgtest' ? ['autopkgtest'] : ['lintian', 'blhc'];
}

/** The key of the image with these tools installed on a build environment (in the build-dependency cache). */
export function qaToolsKey(buildenvImageId: string, tools: string[]): string {
  return createHash('sha256').update(`qa-tools\n${buildenvImageId}\n${tools.join(' ')}\n`).digest('hex').slice(0, 32);
}

export const qaToolsScript = (tools: string[]) => `set -e\napt-get install -y -q --no-install-recommends ${tools.map(shellQuote).join(' ')}\napt-get clean`;

const text = (v: unknown, max = MAX_TEXT) => (typeof v === 'string' ? v.slice(0, max) : undefined);

/** A QA report as a worker sent it, checked: a worker is not trusted to send a well-formed one. */
export function parseQaReport(value: Record<string, unknown>): QaReport | { error: string } {
  const { outcome } = value;
  if (outcome === 'failed' || outcome === 'give-back') {
    return { outcome, reason: text(value.reason, 4000) ?? (outcome === 'failed' ? 'the check failed' : 'worker problem') };
  }
  if (outcome !== 'checked') return { error: `unknown outcome ${String(outcome)}` };
  const { verdict, tool, seconds, counts, findings, summary } = value;
  if (!['pass', 'fail', 'neutral', 'tmpfail'].includes(verdict as string)) return { error: `checked: verdict must be pass, fail, neutral or tmpfail, not ${JSON.stringify(verdict)}` };
  if (typeof tool !== 'string' || typeof summary !== 'string' || typeof seconds !== 'number' || !(seconds >= 0)) return { error: 'checked: tool and summary must be text, seconds a number' };
  if (typeof counts !== 'object' || counts === null || Array.isArray(counts) || !Object.values(counts).every((n) => Number.isInteger(n) && (n as number) >= 0)) {
    return { error: 'checked: counts must map severities to whole numbers' };
  }
  if (Object.keys(counts).length > 20) return { error: 'checked: more than 20 severities in counts' };
  if (!Array.isArray(findings) || findings.length > MAX_FINDINGS) return { error: `checked: findings must be a list of at most ${MAX_FINDINGS}` };
  const parsed: QaFinding[] = [];
  for (const f of findings as Record<string, unknown>[]) {
    if (typeof f !== 'object' || f === null || typeof f.severity !== 'string' || typeof f.tag !== 'string') return { error: 'checked: each finding needs a severity and a tag' };
    parsed.push({ severity: f.severity.slice(0, 1), tag: f.tag.slice(0, 200), ...(text(f.package, 200) && { package: text(f.package, 200) }), ...(text(f.context) && { context: text(f.context) }) });
  }
  return {
    outcome,
    verdict: verdict as QaVerdict,
    tool: tool.slice(0, 200),
    seconds,
    counts: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k.slice(0, 40), v as number])),
    findings: parsed,
    summary: summary.slice(0, 4000),
  };
}

/**
 * A QA kind's definition: one per check, all checked alike. lintian and blhc read files and run
 * nothing of the build's architecture; piuparts and autopkgtest install the packages, so they
 * run on theirs.
 */
export function qaKind(check: CheckKind): KindDefinition<QaReport> {
  return { label: check, anyArchitecture: check === 'lintian' || check === 'blhc', parseReport: parseQaReport };
}

/**
 * A finding as compared across versions: its severity and tag (a context changes with line
 * numbers), and the package file it is about without its version (a rebuild's "differs" of
 * hello-doc_1.0-2_all.deb is not the one of hello_1.0-1_amd64.deb the version before had).
 */
const findingKey = (f: QaFinding) => {
  const file = f.package?.match(/^([^_]+)_[^_]+_([^_]+\.u?deb)$/);
  return `${f.severity}: ${f.tag}${file ? ` ${file[1]}_${file[2]}` : ''}`;
};

/**
 * The trend of `now` against earlier results, newest first (the suite's earlier versions' for the
 * trend kept; the gated suite's version's alone for a no-regression gate, core/qa-gates.ts):
 * a failure after a pass is a regression, and so is a failure with an error finding (E) the
 * previous version did not have (a new lintian error tag, another test failing, another step
 * failing or file left); a failure where no version passed never passed; a pass after a
 * failure is fixed. Passes otherwise, neutral and tmpfail verdicts have no trend.
 */
export function qaTrend(now: QaResult, earlier: { version: string; result: QaResult }[]): Pick<QaResult, 'trend' | 'comparedWith' | 'newFindings'> {
  const judged = earlier.filter((e) => e.result.verdict === 'pass' || e.result.verdict === 'fail');
  const previous = judged[0];
  const before = new Set((previous?.result.findings ?? []).map(findingKey));
  const fresh = [...new Set(now.findings.filter((f) => f.severity === 'E' || f.severity === 'W').map(findingKey))].filter((k) => !before.has(k));
  const facts = previous ? { comparedWith: previous.version, ...(fresh.length ? { newFindings: fresh.slice(0, 50) } : {}) } : {};
  if (now.verdict === 'pass') return previous?.result.verdict === 'fail' ? { trend: 'fixed', ...facts } : facts;
  if (now.verdict !== 'fail') return facts;
  if (!previous) return { trend: 'never-passed' };
  if (previous.result.verdict === 'pass' || fresh.some((k) => k.startsWith('E:'))) return { trend: 'regression', ...facts };
  return { trend: judged.some((e) => e.result.verdict === 'pass') ? 'still-failing' : 'never-passed', ...facts };
}

/** The earlier results of a check of `job` in its suite and on its architecture, newest version first. */
export function earlierResults(job: JobRecord, jobs: JobRecord[]): { version: string; result: QaResult }[] {
  return jobs
    .filter((j) => j.kind === job.kind && j.suite === job.suite && j.source === job.source && j.arch === job.arch && j.qa && compareVersions(j.version, job.version) < 0)
    .sort((a, b) => compareVersions(b.version, a.version))
    .map((j) => ({ version: j.version, result: j.qa! }));
}

/**
 * Whether a check applies to a build: blhc reads compiler lines, which an arch:all-only build
 * (-A) has none of; autopkgtest runs a test suite the source declares (Testsuite:), once per
 * architecture (on an arch:all-only build only when the source builds nothing else).
 */
/** Whether an upload's source declares a test suite (Testsuite:, from debian/tests/control). */
export const declaresTests = (upload: { sourceStanza?: [string, string][] } | undefined) => !!new Paragraph(upload?.sourceStanza ?? []).first('Testsuite');

export function applies(check: QaCheck, build: JobRecord, jobs: JobRecord[], declaresTests: (uploadId: string) => boolean): boolean {
  if (check === 'blhc') return build.buildArg !== '-A';
  if (check === 'autopkgtest') return declaresTests(build.uploadId) && (build.buildArg !== '-A' || !jobs.some((j) => j.kind === 'build' && j.uploadId === build.uploadId && j.id !== build.id));
  return true;
}

/**
 * The checks a suite asks for (archive.yaml `qa:`) of its built builds, missing so far: a job
 * each, after the build it checks (its id with the check's name). Only a source's newest built
 * version on each architecture: checks switched on later do not run on what was superseded.
 */
export function plannedChecks(suites: SuiteConfig[], jobs: JobRecord[], declaresTests: (uploadId: string) => boolean, at: string): JobRecord[] {
  const known = new Set(jobs.map((j) => j.id));
  const out: JobRecord[] = [];
  for (const build of newestBuilt(jobs)) {
    const suite = suites.find((s) => s.name === build.suite);
    for (const check of suite?.qa ?? []) {
      const id = `${build.id}-${check}`;
      if (!known.has(id) && applies(check, build, jobs, declaresTests)) out.push(newCheckJob(build, check, id, at));
    }
  }
  return out;
}

/** The built builds of each source's newest built version in its suite, on each architecture. */
export function newestBuilt(jobs: JobRecord[]): JobRecord[] {
  const built = jobs.filter((j) => j.kind === 'build' && j.state === 'built');
  const key = (j: JobRecord) => `${j.suite} ${j.source} ${j.arch}`;
  const newest = new Map<string, string>();
  for (const j of built) if (!newest.has(key(j)) || compareVersions(j.version, newest.get(key(j))!) > 0) newest.set(key(j), j.version);
  return built.filter((j) => newest.get(key(j)) === j.version);
}

/** A new job of `kind` after `build` (a check, a rebuild), waiting for a worker. */
export function newCheckJob(build: JobRecord, kind: WorkKind, id: string, at: string): JobRecord {
  const { uploadId, source, version, suite, base, arch, buildArg } = build;
  return { id, kind, of: build.id, uploadId, source, version, suite, base, arch, buildArg, state: 'needs-build', attempts: 0, createdAt: at, updatedAt: at, binaries: [], artifacts: [] };
}

/** The name a check's container finds the build's log under. */
export const BUILD_LOG = 'build.log';

/** A previous version's package among a piuparts check's files: "~" is in no package name. */
export const PREVIOUS = 'prev~';

/** The .deb packages of these builds that install on `arch`: its own and Architecture: all ones. */
function packagesFor(arch: string, builds: JobRecord[]): JobRecord['binaries'] {
  const installs = (b: JobRecord['binaries'][number]) => {
    const a = b.control.find(([k]) => k === 'Architecture')?.[1];
    return b.path.endsWith('.deb') && (a === arch || a === 'all');
  };
  const seen = new Set<string>();
  return builds.flatMap((j) => j.binaries).filter((b) => installs(b) && !seen.has(b.path) && !!seen.add(b.path));
}

/**
 * The files a check reads, relative to public/: the upload's source files; the build's
 * packages, .buildinfo and .changes, and its log (as BUILD_LOG); the arch:all packages its
 * upload's other builds made (`siblings`: a -B build's packages may depend on them); and for
 * piuparts the previous version's packages for this architecture (`previous`: that upload's
 * builds), named PREVIOUS + their name.
 */
export function checkInputs(
  upload: { sourceFiles: { name: string; path: string; size?: number; sha256?: string }[] },
  build: JobRecord,
  siblings: JobRecord[] = [],
  previous: JobRecord[] = [],
): { name: string; path: string; size?: number; sha256?: string }[] {
  const named = (path: string) => ({ name: path.slice(path.lastIndexOf('/') + 1), path });
  return [
    ...upload.sourceFiles.map(({ name, path, size, sha256 }) => ({ name, path, size, sha256 })),
    ...build.binaries.map((b) => ({ ...named(b.path), size: b.size, sha256: b.sha256 })),
    ...build.artifacts.map(named),
    ...(build.log ? [{ name: BUILD_LOG, path: build.log }] : []),
    ...packagesFor(build.arch, siblings).filter((b) => !build.binaries.some((x) => x.path === b.path)).map((b) => ({ ...named(b.path), size: b.size, sha256: b.sha256 })),
    ...packagesFor(build.arch, previous).map((b) => ({ name: `${PREVIOUS}${named(b.path).name}`, path: b.path, size: b.size, sha256: b.sha256 })),
  ];
}

/** The other built builds of the upload `build` belongs to. */
export function siblingBuilds(build: JobRecord, jobs: JobRecord[]): JobRecord[] {
  return jobs.filter((j) => j.kind === 'build' && j.state === 'built' && j.uploadId === build.uploadId && j.id !== build.id);
}

/** The builds of the version a piuparts check of `build` upgrades from: the newest older version built in the suite on its architecture. */
export function previousBuilds(build: JobRecord, jobs: JobRecord[]): JobRecord[] {
  const built = jobs.filter((j) => j.kind === 'build' && j.state === 'built' && j.suite === build.suite && j.source === build.source && compareVersions(j.version, build.version) < 0);
  const newest = built.filter((j) => j.arch === build.arch).sort((a, b) => compareVersions(b.version, a.version))[0];
  return newest ? built.filter((j) => j.uploadId === newest.uploadId) : [];
}

/** A check as `archive qa`, `archive status --json` and the status page show it. */
export interface QaView {
  id: string;
  check: string;
  arch: string;
  /** The job's state until the check ran ("needs-build", "building", "failed" when its tool failed), then "done". */
  state: string;
  verdict?: QaVerdict;
  trend?: QaTrend;
  comparedWith?: string;
  summary?: string;
  tool?: string;
  seconds?: number;
  counts?: Record<string, number>;
  newFindings?: string[];
  findings?: QaFinding[];
  reason?: string;
  log?: string;
  /** A rebuild's verdict (rebuild.ts), and its reports and signed statement, relative to public/. */
  reproducibility?: Reproducibility;
  reports?: string[];
}

/** The checks and rebuilds of an upload's builds, by architecture then in CHECK_KINDS order, rebuilds last. */
export function checksOf(jobs: JobRecord[], uploadId: string): JobRecord[] {
  const rank = (j: JobRecord) => ([...CHECK_KINDS, 'rebuild'] as string[]).indexOf(j.kind);
  return jobs.filter((j) => j.of && j.uploadId === uploadId).sort((a, b) => inOrder(a.arch, b.arch) || rank(a) - rank(b));
}

export function qaView(job: JobRecord, withFindings = false): QaView {
  const qa = job.qa;
  return {
    id: job.id,
    check: job.kind,
    arch: job.arch,
    state: qa ? 'done' : job.state,
    ...(qa && {
      verdict: qa.verdict, trend: qa.trend, comparedWith: qa.comparedWith, summary: qa.summary, tool: qa.tool, seconds: qa.seconds, counts: qa.counts, newFindings: qa.newFindings,
      ...(withFindings && { findings: qa.findings }),
    }),
    ...(job.reason && { reason: job.reason }),
    ...(job.log && { log: job.log }),
    ...(job.kind === 'rebuild' && { reproducibility: reproducibility(job), reports: job.artifacts }),
  };
}

/** A check in a line: "lintian amd64: fail, regression (against 1.0-1): 1 error tag(s): dir-or-file-in-opt". */
export function qaLine(v: QaView): string {
  if (!v.verdict) return `${v.check} ${v.arch}: ${v.state}${v.reason ? ` — ${v.reason}` : ''}`;
  const trend = v.trend ? `, ${v.trend}${v.comparedWith ? ` (against ${v.comparedWith})` : ''}` : '';
  // A rebuild's summary starts with its verdict ("reproducible: ...").
  if (v.check === 'rebuild') return `${v.check} ${v.arch}${trend}: ${v.summary ?? ''}`;
  return `${v.check} ${v.arch}: ${v.verdict}${trend}: ${v.summary ?? ''}${v.newFindings?.length ? `; new: ${v.newFindings.join(', ')}` : ''}`;
}
