// The rebuild kind (core/work-kinds.ts): every build built again by another worker slot, from
// the same build-dependency set, under the variations reprotest applies by default that a
// container allows; its packages compared with the first build's byte for byte, a diffoscope
// report where they differ, and a statement signed with the rebuilder key where they agree.
// The worker's side is rebuild-flow.ts; the queue's daemons/queue/rebuild-results.ts. Pure.
//
// Not varied, and why: fileordering (disorderfs needs FUSE), kernel (setarch's uname change
// needs the personality syscall's flags the default seccomp profile refuses), time (faketime
// would change the build-dependency image; SOURCE_DATE_EPOCH, from debian/changelog, is kept,
// as reprotest keeps it, and the rebuild runs later anyway), locales (the build environment has
// C.UTF-8 only).
import { createHash } from 'node:crypto';
import type { ContainerSpec } from '../container-runner.js';
import { ownNames } from '../artifact-checks.js';
import type { BuildArg } from '../build-plan.js';
import type { JobRecord } from '../jobs.js';
import type { KindDefinition } from '../work-kinds.js';
import { newCheckJob, newestBuilt, type QaFinding, type QaResult } from './qa.js';
import { inOrder } from '../../debian/indices.js';
import { shellQuote } from '../shell-quote.js';

/** One thing that differs between the two builds, as the README and the statement list it. */
export interface Variation {
  name: string;
  first: string;
  rebuild: string;
}

/** Where the rebuild's files go (its user's own folder in the build's /build volume), and where it unpacks the source. */
export const REBUILD_DIR = '/build/rebuild';
const REBUILD_SRC = 'aib-path-varied';
export const REBUILD_PATH = `${REBUILD_DIR}/${REBUILD_SRC}`;
/** The buildenv's user "rebuilder" (images/buildenv/Dockerfile); by number, so that an older image without it works too. */
export const REBUILD_UID = 2001;

export const VARIATIONS: Variation[] = [
  { name: 'build path', first: '/build/src', rebuild: REBUILD_PATH },
  { name: 'hostname and domain name', first: "the engine's (the container id)", rebuild: 'aib-rebuild.example.invalid' },
  { name: 'user and uid', first: 'builder (2000)', rebuild: `rebuilder (${REBUILD_UID})` },
  { name: 'home', first: '/build', rebuild: '/nonexistent/aib-rebuild' },
  { name: 'umask', first: '0022', rebuild: '0002' },
  { name: 'timezone', first: 'UTC', rebuild: 'UTC-14 (14 h ahead)' },
  { name: 'CPUs', first: 'parallel=N (the build limit)', rebuild: 'parallel=1' },
  { name: 'environment', first: '-', rebuild: 'AIB_REBUILD_CAPTURE=the-environment' },
  { name: 'PATH', first: 'the default', rebuild: 'with /nonexistent/aib-bin first' },
];

/** The rebuild's script: the first build's, in the varied path and umask, its packages left in REBUILD_DIR/out. */
export function rebuildScript(dsc: string, buildArg: BuildArg): string {
  return `set -e
umask 0002
cd ${REBUILD_DIR}
echo "archive-in-a-box: rebuilding as $(id -un 2>/dev/null || echo uid) (uid $(id -u)), in ${REBUILD_PATH}, on $(hostname -f 2>/dev/null || hostname)"
dpkg-source -x ${shellQuote(dsc)} ${REBUILD_SRC}
cd ${REBUILD_PATH}
dpkg-buildpackage -us -uc ${shellQuote(buildArg)}
mkdir -p ${REBUILD_DIR}/out
find ${REBUILD_DIR} -maxdepth 1 -type f \\( -name '*.deb' -o -name '*.udeb' -o -name '*.buildinfo' -o -name '*.changes' \\) -exec mv -t ${REBUILD_DIR}/out {} +
echo "archive-in-a-box: rebuild successful"
`;
}

/**
 * The first build's container spec, varied: another user, host and domain name, home,
 * timezone, one CPU, the environment and PATH. The same image (the build-dependency image of
 * the same resolved set), the same confinement, the same private /build volume.
 */
export function rebuildContainerSpec(first: ContainerSpec, dsc: string, buildArg: BuildArg): ContainerSpec {
  const env = first.env.filter((e) => !/^(HOME|DEB_BUILD_OPTIONS|TZ|PATH)=/.test(e));
  return {
    ...first,
    cmd: ['bash', '-c', rebuildScript(dsc, buildArg)],
    user: `${REBUILD_UID}:${REBUILD_UID}`,
    workingDir: REBUILD_DIR,
    hostname: 'aib-rebuild',
    domainname: 'example.invalid',
    env: [
      ...env,
      'HOME=/nonexistent/aib-rebuild',
      'DEB_BUILD_OPTIONS=parallel=1',
      'TZ=UTC-14',
      'PATH=/nonexistent/aib-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'AIB_REBUILD_CAPTURE=the-environment',
    ],
    cpus: 1,
  };
}

const isPackage = (name: string) => /\.u?deb$/.test(name);

export interface RebuildComparison {
  reproducible: boolean;
  /** Packages (by file name) whose bytes differ, and those only one build made. */
  differing: string[];
  onlyFirst: string[];
  onlyRebuild: string[];
}

/**
 * The two builds' packages (.deb and .udeb) compared by name and sha256; .buildinfo and
 * .changes differ by nature (they record the build's environment and time) and are not compared.
 */
export function compareRebuild(first: { name: string; sha256: string }[], rebuild: { name: string; sha256: string }[]): RebuildComparison {
  const debs = (files: { name: string; sha256: string }[]) => new Map(files.filter((f) => isPackage(f.name)).map((f) => [f.name, f.sha256]));
  const a = debs(first);
  const b = debs(rebuild);
  const differing = [...a].filter(([name, sha]) => b.has(name) && b.get(name) !== sha).map(([name]) => name).sort();
  const onlyFirst = [...a.keys()].filter((n) => !b.has(n)).sort();
  const onlyRebuild = [...b.keys()].filter((n) => !a.has(n)).sort();
  return { reproducible: a.size > 0 && differing.length + onlyFirst.length + onlyRebuild.length === 0, differing, onlyFirst, onlyRebuild };
}

/** What a worker reports at the end of a rebuild. */
export type RebuildReport =
  | {
      outcome: 'rebuilt';
      /** Every package the rebuild made, with its sha256: the queue compares them with the first build's. */
      packages: { name: string; sha256: string }[];
      /** The build-dependency image key of the rebuild (the first build's when the resolved set is the same). */
      depsKey?: string;
      seconds: number;
      /** "dpkg-buildpackage; diffoscope 301" */
      tool: string;
      /** Per differing package, the first file diffoscope names in it. */
      differences: { package: string; context: string }[];
    }
  /** The rebuild itself failed (its log says why): the verdict is "failed". */
  | { outcome: 'failed'; reason: string }
  | { outcome: 'give-back'; reason: string };

const NAME = /^[A-Za-z0-9][A-Za-z0-9.+~_-]{0,254}$/;

/** A rebuild report as a worker sent it, checked. */
export function parseRebuildReport(value: Record<string, unknown>): RebuildReport | { error: string } {
  const { outcome } = value;
  if (outcome === 'failed' || outcome === 'give-back') return { outcome, reason: typeof value.reason === 'string' ? value.reason.slice(0, 4000) : 'the rebuild failed' };
  if (outcome !== 'rebuilt') return { error: `unknown outcome ${String(outcome)}` };
  const { packages, depsKey, seconds, tool, differences } = value;
  if (!Array.isArray(packages) || packages.length > 1000) return { error: 'rebuilt: packages must be a list of at most 1000' };
  if (!packages.every((p) => typeof p === 'object' && p !== null && NAME.test(p.name) && /^[0-9a-f]{64}$/.test(p.sha256))) return { error: 'rebuilt: each package needs a plain file name and a sha256' };
  if (typeof seconds !== 'number' || !(seconds >= 0) || typeof tool !== 'string') return { error: 'rebuilt: seconds must be a number, tool text' };
  if (depsKey !== undefined && (typeof depsKey !== 'string' || !/^[0-9a-f]{1,64}$/.test(depsKey))) return { error: 'rebuilt: depsKey must be a hex key' };
  if (!Array.isArray(differences) || differences.length > 1000 || !differences.every((d) => typeof d === 'object' && d !== null && typeof d.package === 'string' && typeof d.context === 'string')) {
    return { error: 'rebuilt: differences must be a list of {package, context}' };
  }
  return {
    outcome,
    packages: packages.map((p: { name: string; sha256: string }) => ({ name: p.name, sha256: p.sha256 })),
    ...(depsKey !== undefined && { depsKey: depsKey as string }),
    seconds,
    tool: tool.slice(0, 200),
    differences: differences.map((d: { package: string; context: string }) => ({ package: d.package.slice(0, 255), context: d.context.slice(0, 400) })),
  };
}

export const REBUILD_KIND: KindDefinition<RebuildReport> = { label: 'rebuild', parseReport: parseRebuildReport };

/**
 * The verdict, as a QA result (a pass is reproducible, a fail unreproducible), on the first
 * build's packages and the rebuild's: what differs is a finding each, with what diffoscope named
 * in it; whether the rebuild had the first build's build-dependency set is said.
 */
export function rebuildResult(first: JobRecord, report: Extract<RebuildReport, { outcome: 'rebuilt' }>): QaResult {
  const named = first.binaries.map((b) => ({ name: b.path.slice(b.path.lastIndexOf('/') + 1), sha256: b.sha256 }));
  const c = compareRebuild(named, report.packages);
  const context = new Map(report.differences.map((d) => [d.package, d.context]));
  const findings: QaFinding[] = [
    ...c.differing.map((p) => ({ severity: 'E', package: p, tag: 'differs', ...(context.get(p) && { context: context.get(p) }) })),
    ...c.onlyFirst.map((p) => ({ severity: 'E', package: p, tag: 'not-rebuilt' })),
    ...c.onlyRebuild.map((p) => ({ severity: 'E', package: p, tag: 'only-in-rebuild' })),
  ];
  const deps = report.depsKey && first.depsKey && report.depsKey !== first.depsKey ? '; its build-dependencies were not the first build\'s (the archive or the build environment changed since)' : '';
  const summary = c.reproducible
    ? `reproducible: ${named.filter((n) => isPackage(n.name)).length} package(s) bit for bit identical${deps}`
    : `unreproducible: ${findings.map((f) => `${f.package} ${f.tag}${f.context ? ` (${f.context})` : ''}`).slice(0, 5).join(', ')}${deps}`;
  return { verdict: c.reproducible ? 'pass' : 'fail', tool: report.tool, seconds: report.seconds, counts: findings.length ? { error: findings.length } : {}, findings, summary };
}

/** A rebuild's verdict as users read it: reproducible, unreproducible, failed (the rebuild itself), or none yet. */
export type Reproducibility = 'reproducible' | 'unreproducible' | 'failed';
export function reproducibility(job: JobRecord): Reproducibility | undefined {
  if (job.kind !== 'rebuild') return undefined;
  if (job.qa) return job.qa.verdict === 'pass' ? 'reproducible' : 'unreproducible';
  return job.state === 'failed' ? 'failed' : undefined;
}

/** The rebuild of a build that counts: the newest one not cancelled (archive verify adds more). */
export function rebuildOf(jobs: JobRecord[], buildId: string): JobRecord | undefined {
  return jobs.filter((j) => j.kind === 'rebuild' && j.of === buildId && j.state !== 'cancelled').sort((a, b) => inOrder(b.createdAt, a.createdAt) || inOrder(b.id, a.id))[0];
}

/** Whether a build made something to rebuild and compare: a package. */
export const rebuildable = (build: JobRecord) => build.binaries.some((b) => isPackage(b.path));

/**
 * The rebuilds missing so far: one per newest built build of a source on each architecture in
 * a suite with `rebuilds: on`, after the build (its id with "-rebuild").
 */
export function plannedRebuilds(suites: { name: string; rebuilds: boolean }[], jobs: JobRecord[], at: string): JobRecord[] {
  const known = new Set(jobs.map((j) => j.id));
  return newestBuilt(jobs)
    .filter((b) => suites.find((s) => s.name === b.suite)?.rebuilds && rebuildable(b) && !known.has(`${b.id}-rebuild`))
    .map((b) => newCheckJob(b, 'rebuild', `${b.id}-rebuild`, at));
}

/**
 * `archive verify`: another rebuild of each of these builds, unless one is waiting or running;
 * its id numbered after the ones before ("-rebuild-2").
 */
export function verifyRebuilds(builds: JobRecord[], jobs: JobRecord[], at: string): JobRecord[] {
  return builds
    .filter((b) => rebuildable(b) && !jobs.some((j) => j.kind === 'rebuild' && j.of === b.id && ['needs-build', 'building', 'given-back'].includes(j.state)))
    .map((b) => {
      let n = 2;
      while (jobs.some((j) => j.id === `${b.id}-rebuild-${n}`)) n++;
      return newCheckJob(b, 'rebuild', `${b.id}-rebuild-${n}`, at);
    });
}

/** The files a rebuild reads, relative to public/: its upload's source files and the first build's packages. */
export function rebuildInputs(upload: { sourceFiles: { name: string; path: string; size?: number; sha256?: string }[] }, build: JobRecord): { name: string; path: string; size?: number; sha256?: string }[] {
  return [
    ...upload.sourceFiles.map(({ name, path, size, sha256 }) => ({ name, path, size, sha256 })),
    ...build.binaries.filter((b) => isPackage(b.path)).map((b) => ({ name: b.path.slice(b.path.lastIndexOf('/') + 1), path: b.path, size: b.size, sha256: b.sha256 })),
  ];
}

/** The files a rebuild hands in: diffoscope's reports and its own .buildinfo. */
export const REBUILD_ARTIFACT = /^(diffoscope\.(txt|html)|[A-Za-z0-9][A-Za-z0-9.+~_-]{0,200}\.buildinfo)$/;

/**
 * The .buildinfo a rebuild hands in, of the files its build left (`outputs`): the one
 * dpkg-buildpackage names after the job (artifact-checks.ts ownNames: SOURCE_VERSION_ARCH, or
 * all for -A), at most one. Any other is the build's doing: the queue takes three files of a
 * rebuild, and refuses the job past them.
 */
export function rebuildBuildinfo(outputs: string[], job: { source: string; version: string; arch: string; buildArg: BuildArg }): string[] {
  const own = ownNames(job, 'buildinfo').find((name) => outputs.includes(name));
  return own ? [own] : [];
}

/** diffoscope's --max-report-size for each report; what the queue takes of one is a little more. */
export const MAX_REPORT_BYTES = 4 * 1024 * 1024;
export const MAX_ARTIFACT_BYTES = MAX_REPORT_BYTES + 1024 * 1024;

/** Where a rebuild's reports and statement are kept, relative to public/. */
export const reproducibleDir = (job: JobRecord) => `reproducible/${job.source}/${job.id}`;

/** What a reproducible verdict signs: the .buildinfo's hash and every package's, in a canonical JSON document. */
export function reproducibleStatement(o: {
  source: string;
  version: string;
  arch: string;
  buildinfo?: { name: string; sha256: string };
  packages: { name: string; sha256: string }[];
  rebuiltAt: string;
  builtBy?: string;
  rebuiltBy?: string;
}): string {
  const doc = {
    statement: 'archive-in-a-box reproducible-build 1',
    source: o.source,
    version: o.version,
    architecture: o.arch,
    buildinfo: o.buildinfo ?? null,
    packages: [...o.packages].sort((x, y) => inOrder(x.name, y.name)),
    variations: VARIATIONS.map((v) => v.name),
    rebuiltAt: o.rebuiltAt,
    builtBy: o.builtBy ?? null,
    rebuiltBy: o.rebuiltBy ?? null,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A short id of a statement's content. */
export const statementId = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Where diffoscope writes its reports in its container. */
export const REPORTS = '/qa/reports';

/**
 * diffoscope (Debian's diffoscope-minimal) on the differing packages, the first build's under
 * first/ against the rebuild's under rebuild/, in a check container (no network, unprivileged,
 * read-only root): a text and an HTML report, each capped. Exit 0: no difference; 1:
 * differences; else its own failure.
 */
export function diffoscopeScript(): string {
  return `set -u
mkdir -p ${REPORTS}
diffoscope --version | sed -n 1p
diffoscope --no-progress --exclude-directory-metadata=yes --max-report-size ${MAX_REPORT_BYTES} --max-text-report-size ${MAX_REPORT_BYTES} --text ${REPORTS}/diffoscope.txt --html ${REPORTS}/diffoscope.html first rebuild
status=$?
echo "archive-in-a-box: diffoscope exited $status"
exit $status
`;
}

/**
 * What diffoscope's text report (of the folders first/ and rebuild/) names first in each
 * package: a package's section starts at its line "├── +++ rebuild/NAME" and ends where the next
 * top-level one starts; the first file of its contents ("./usr/share/...", in data.tar), else of
 * its control files ("./md5sums"), else the first member it names ("data.tar.xz").
 */
export function firstDifferences(report: string, packages: string[]): { package: string; context: string }[] {
  const lines = report.split('\n');
  const out: { package: string; context: string }[] = [];
  for (const p of packages) {
    const start = lines.findIndex((l) => l.endsWith(`+++ rebuild/${p}`));
    if (start < 0) continue;
    const end = lines.findIndex((l, i) => i > start && (l.startsWith('├── ') || / --- first\//.test(l)));
    const section = lines.slice(start + 1, end < 0 ? undefined : end).map((l) => l.match(/^[│ ]*├── (.+)$/)?.[1]).filter((x): x is string => !!x);
    // A file of the package's contents (data.tar) before one of its control files (md5sums follows them).
    const data = section.findIndex((x) => x.startsWith('data.tar'));
    const context = section.slice(Math.max(data, 0)).find((x) => x.startsWith('./')) ?? section.find((x) => x.startsWith('./')) ?? section[0];
    if (context) out.push({ package: p, context: context.slice(0, 400) });
  }
  return out;
}

/**
 * How much of a suite is reproducible on an architecture: the newest builds of the sources
 * uploaded to it (and, when `holds` says, still in it) by their rebuild's verdict.
 */
export interface ReproducibleShare {
  suite: string;
  arch: string;
  reproducible: number;
  unreproducible: number;
  failed: number;
  /** Built, its rebuild not done yet. */
  waiting: number;
  /** reproducible of those with a verdict, in whole percent; undefined with none yet. */
  percent?: number;
}

export function reproducibleShares(jobs: JobRecord[], holds: (suite: string, source: string) => boolean = () => true): ReproducibleShare[] {
  const rebuilds = new Map<string, JobRecord[]>();
  for (const j of jobs.filter((x) => x.kind === 'rebuild' && x.of && x.state !== 'cancelled')) rebuilds.set(j.of!, [...(rebuilds.get(j.of!) ?? []), j]);
  const shares = new Map<string, ReproducibleShare>();
  for (const b of newestBuilt(jobs).filter((x) => rebuilds.has(x.id) && holds(x.suite, x.source))) {
    const key = `${b.suite} ${b.arch}`;
    const share = shares.get(key) ?? { suite: b.suite, arch: b.arch, reproducible: 0, unreproducible: 0, failed: 0, waiting: 0 };
    share[reproducibility(rebuildOf(rebuilds.get(b.id)!, b.id)!) ?? 'waiting']++;
    shares.set(key, share);
  }
  return [...shares.values()]
    .map((s) => {
      const judged = s.reproducible + s.unreproducible + s.failed;
      return judged ? { ...s, percent: Math.round((100 * s.reproducible) / judged) } : s;
    })
    .sort((a, b) => inOrder(a.suite, b.suite) || inOrder(a.arch, b.arch));
}

/** A share in a line: "unstable amd64: 67% reproducible (2 of 3; 1 unreproducible)". */
export function shareLine(s: ReproducibleShare): string {
  const judged = s.reproducible + s.unreproducible + s.failed;
  const rest = [s.unreproducible && `${s.unreproducible} unreproducible`, s.failed && `${s.failed} failed`, s.waiting && `${s.waiting} waiting`].filter(Boolean).join(', ');
  return `${s.suite} ${s.arch}: ${s.percent === undefined ? 'no verdict yet' : `${s.percent}% reproducible (${s.reproducible} of ${judged})`}${rest ? `; ${rest}` : ''}`;
}
