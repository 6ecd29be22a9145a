// Gated migration between suites, as britney moves packages from Debian's unstable to testing
// and mini-buildd's auto_migrate_after does: a suite with `migrate_from` takes each source from
// that suite once it is old enough, built everywhere the target builds, its QA gates hold, and
// its packages install in the target as it is now (with Debian's release beside it): an
// installability job per build, which apt answers in a testbed (kinds/installability.ts),
// asked again whenever the target changed. Pure: contents, records and the time in, one
// decision per source out, with the reasons it does not migrate yet and the checks to ask for.
import { createHash } from 'node:crypto';
import type { SuiteConfig } from '../config/config.js';
import { compareVersions } from '../debian/version.js';
import type { JobRecord } from './jobs.js';
import { declaresTests } from './kinds/qa.js';
import { heldVersion, unmetGates, type HeldVersion, type QaGates } from './qa-gates.js';
import { copiedBinaries, takeoverText, takeovers, unbuiltArchitectures, unbuiltText, type SuiteContents } from './suite-contents.js';
import type { UploadRecord } from './uploads.js';
import { inOrder } from '../debian/indices.js';

export interface MigrationPolicy {
  /** The suite sources migrate from. */
  from: string;
  /** Days since the upload before it may migrate; 0: as soon as the rest holds. */
  afterDays: number;
  /** The gates on the source suite's QA checks (core/qa-gates.ts). */
  require: QaGates;
}

export interface MigrationDecision {
  source: string;
  version: string;
  from: string;
  to: string;
  /** The version the target has now, if any. */
  replaces?: string;
  ageDays: number;
  migrates: boolean;
  /** Why it does not migrate yet (empty when it migrates). */
  reasons: string[];
  /** The builds whose installability in the target is to be checked (again) before it can. */
  checkInstallability?: string[];
}

export interface MigrationInput {
  target: SuiteConfig & { migration: MigrationPolicy };
  from: SuiteContents;
  to: SuiteContents;
  upload: (id: string) => UploadRecord | undefined;
  /** The jobs of an upload: its builds and their checks. */
  jobsOf: (uploadId: string) => JobRecord[];
  /** targetDigest(to): what the target holds now, as installability checks record it. */
  targetDigest: string;
  now: Date;
}

const DAY_MS = 86_400_000;

/** Every source `from` has newer than the target: whether it migrates now, and if not why. */
export function migrationDecisions(input: MigrationInput): MigrationDecision[] {
  const { target, from, to } = input;
  const out: MigrationDecision[] = [];
  const versions = new Map(to.sources.map((t) => [t.source, t.version]));
  // The binaries the target will hold, with those of the sources that migrate before each.
  let willHold = to;
  for (const s of [...from.sources].sort((a, b) => inOrder(a.source, b.source))) {
    const held = versions.get(s.source);
    if (held && compareVersions(held, s.version) >= 0) continue;
    const reasons: string[] = [];
    const upload = s.uploadId ? input.upload(s.uploadId) : undefined;
    let ageDays = 0;
    if (!upload) reasons.push(`no upload record (copied or imported into ${from.id}): migrate it with archive copy ${s.source} ${from.id} ${to.id}`);
    else {
      // Since it entered `from` (as britney counts a source's days in unstable), not since its
      // upload: one copied into `from` (a chain unstable, testing, stable; archive copy) would
      // otherwise bring the days it spent elsewhere. A source noted before that was kept: its upload's.
      ageDays = Math.max(0, (input.now.getTime() - Date.parse(s.since ?? upload.receivedAt)) / DAY_MS);
      if (ageDays < target.migration.afterDays) reasons.push(`${Math.floor(ageDays)} of ${target.migration.afterDays} days`);
      // no-regression judges it against what the target holds, not against the versions before it in `from`.
      reasons.push(...gateReasons(target, upload, input.jobsOf(upload.id), heldVersion(to, s.source, input.jobsOf)));
    }
    const copied = copiedBinaries(from, s.source, s.version, target.architectures);
    if (!target.allowBinaryTakeover) {
      const taken = takeovers(willHold, s.source, copied);
      if (taken.length > 0) reasons.push(`${takeoverText(taken, to.id)} (allow_binary_takeover is off)`);
    }
    // What `archive copy` refuses too (a copy's check, core/suite-contents.ts): its builds done,
    // `from` may still lack their binaries (taken over, or an architecture it lacks). Said once
    // the rest holds: while its builds are not all in, their reasons say so.
    const unbuilt = reasons.length === 0 ? unbuiltArchitectures(from, s.source, s.version, target.architectures) : [];
    if (unbuilt.length > 0) reasons.push(unbuiltText(from.id, unbuilt));
    // Asked of apt only once the rest holds: a testbed per build is not spent on what waits anyway.
    const check: string[] = [];
    if (upload && reasons.length === 0) reasons.push(...installability(target, to, input.jobsOf(upload.id), input.targetDigest, check));
    if (reasons.length === 0) willHold = { ...willHold, binaries: [...willHold.binaries.filter((b) => b.source !== s.source), ...copied] };
    out.push({
      source: s.source, version: s.version, from: from.id, to: to.id, ...(held ? { replaces: held } : {}), ageDays: Math.round(ageDays * 10) / 10,
      migrates: reasons.length === 0, reasons, ...(check.length ? { checkInstallability: check } : {}),
    });
  }
  return out;
}

/**
 * Whether the target needs this job built: a build on one of its architectures, or the build
 * that makes the source's arch:all packages, on whatever architecture (-A, or -b on
 * builds.arch_all: core/build-plan.ts), since the copy brings every arch:all package.
 */
const needed = (target: SuiteConfig, j: JobRecord) => j.kind === 'build' && (target.architectures.includes(j.arch) || j.buildArg !== '-B');

/** The builds the target needs and the gates on their checks (no-regression against `held`, the target's version). */
function gateReasons(target: SuiteConfig & { migration: MigrationPolicy }, upload: UploadRecord, jobs: JobRecord[], held: HeldVersion | undefined): string[] {
  const reasons: string[] = [];
  const builds = jobs.filter((j) => needed(target, j));
  if (builds.length === 0) reasons.push(`no build for ${target.architectures.join(', ')}`);
  for (const b of builds) {
    if (b.state === 'failed' || b.state === 'cancelled') reasons.push(`build on ${b.arch} ${b.state}${b.reason ? `: ${b.reason}` : ''}`);
    else if (b.state !== 'built') reasons.push(`not built on ${b.arch} yet (${b.state})`);
  }
  const built = builds.filter((b) => b.state === 'built');
  return [...reasons, ...unmetGates(target.migration.require, built, jobs, declaresTests(upload), held).map((g) => g.reason)];
}

/** What a suite holds, as a digest: an installability check answered for the suite as it was then. */
export function targetDigest(c: SuiteContents): string {
  const lines = c.binaries.map((b) => `${b.package} ${b.version} ${b.arch}`).sort();
  return createHash('sha256').update(`${c.id}\n${lines.join('\n')}`).digest('hex').slice(0, 32);
}

/** The id of the installability check of `build` against suite `to`. */
export const installabilityJobId = (build: string, to: string) => `${build}-installability-${to}`;

/**
 * Whether each build the target needs installs there (its installability job, answered for the
 * target as it is now); the builds to check (again) are added to `check`.
 */
function installability(target: SuiteConfig, to: SuiteContents, jobs: JobRecord[], digest: string, check: string[]): string[] {
  const reasons: string[] = [];
  for (const b of jobs.filter((j) => needed(target, j) && j.state === 'built')) {
    const job = jobs.find((j) => j.id === installabilityJobId(b.id, to.id));
    const on = `installability in ${to.id} on ${b.arch}`;
    if (!job || (job.against !== digest && job.state !== 'building')) {
      check.push(b.id);
      reasons.push(`${on}: to be checked`);
    } else if (!job.qa || job.against !== digest) reasons.push(job.state === 'failed' ? `${on} could not be checked: ${job.reason ?? 'unknown reason'}` : `${on}: being checked`);
    else if (job.qa.verdict === 'tmpfail') reasons.push(`${on}: the testbed failed (tmpfail)`);
    else if (job.qa.verdict === 'fail') reasons.push(`not installable in ${to.id} on ${b.arch}: ${job.qa.summary}`);
  }
  return reasons;
}

/** A decision in a line: "hello 1.0-1 unstable -> testing: migrates" or "... waits: 1 of 2 days; piuparts failed on amd64: ...". */
export function migrationLine(d: MigrationDecision): string {
  return `${d.source} ${d.version} ${d.from} -> ${d.to}: ${d.migrates ? 'migrates' : `waits: ${d.reasons.join('; ')}`}`;
}
