// Migration on the queue's side: the decisions for every suite that migrates from another
// (core/migration.ts), made after each build and check, each hour (for after_days), and when
// the CLI asks (archive migrate); the installability checks they ask for made as jobs; the
// sources whose gates hold copied as `archive copy` copies them, in one publication. The last
// decisions are kept in state/migration.json for `archive status` and shown on the status page.
// In the lane.
import type { JobRecord } from '../../core/jobs.js';
import { newCheckJob } from '../../core/kinds/qa.js';
import { installabilityJobId, migrationDecisions, targetDigest, type MigrationDecision, type MigrationPolicy } from '../../core/migration.js';
import { ContentsError, emptyContents } from '../../core/suite-contents.js';
import type { SuiteConfig } from '../../config/config.js';
import { writeJson } from '../../storage/json-files.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';
import { publishSaved } from './publishing.js';

export class Migrations {
  /** The decisions of the last evaluation. */
  last: MigrationDecision[] = [];
  /** Of the last run: that what it migrated is not published yet, and why (publishSaved); '' otherwise. */
  publishNote = '';

  constructor(
    private readonly q: QueueContext,
    private readonly leasing: JobLeasing,
  ) {}

  /** What would migrate now, and why the rest does not. */
  decide(now = new Date()): MigrationDecision[] {
    const targets = this.q.config().suites.filter((s): s is SuiteConfig & { migration: MigrationPolicy } => !!s.migration);
    if (targets.length === 0) return [];
    const contents = new Map(this.q.suites.all().map((c) => [c.id, c]));
    const byUpload = new Map<string, JobRecord[]>();
    for (const j of this.q.jobs.all()) byUpload.set(j.uploadId, [...(byUpload.get(j.uploadId) ?? []), j]);
    return targets.flatMap((target) => {
      const to = contents.get(target.name) ?? emptyContents(target.name);
      return migrationDecisions({
        target,
        from: contents.get(target.migration.from) ?? emptyContents(target.migration.from),
        to,
        upload: (id) => this.q.uploads.get(id),
        jobsOf: (id) => byUpload.get(id) ?? [],
        targetDigest: targetDigest(to),
        now,
      });
    });
  }

  /** The installability checks the decisions ask for, made (or made again, for the target as it is now). */
  private async planChecks(decisions: MigrationDecision[]): Promise<void> {
    const contents = new Map(this.q.suites.all().map((c) => [c.id, c]));
    const at = new Date().toISOString();
    for (const d of decisions) {
      const target = this.q.config().suites.find((s) => s.name === d.to)!;
      const against = targetDigest(contents.get(d.to) ?? emptyContents(d.to));
      for (const id of d.checkInstallability ?? []) {
        // In the target's suite and base, against what it holds now.
        const job: JobRecord = { ...newCheckJob(this.q.jobs.get(id)!, 'installability', installabilityJobId(id, d.to), at), suite: d.to, base: target.base, against };
        await this.leasing.save(job);
        this.q.log(`migration: ${job.source} ${job.version}: checking that ${job.arch}'s packages install in ${d.to} (job ${job.id})`);
      }
    }
  }

  /** Decides, and migrates what may (unless `dryRun`): one publication for all of it; then asks for the checks still wanted. */
  async run(dryRun = false): Promise<MigrationDecision[]> {
    this.publishNote = '';
    if (dryRun) return this.decide();
    let decisions = this.decide();
    const ready = decisions.filter((d) => d.migrates);
    const migrated: MigrationDecision[] = [];
    // Each ready decision's installability was answered for its target as decide() found it:
    // once a copy changed what that target holds, the rest of its decisions are not copied
    // (apt was asked of another target); they are decided again below, their checks asked again.
    const digestOf = (suite: string) => targetDigest(this.q.suites.all().find((c) => c.id === suite) ?? emptyContents(suite));
    const decidedAgainst = new Map([...new Set(ready.map((d) => d.to))].map((to) => [to, digestOf(to)]));
    const changed = new Set<string>();
    for (const d of ready) {
      if (changed.has(d.to)) {
        this.q.log(`migration: ${d.source} ${d.version} ${d.from} -> ${d.to}: not copied: ${d.to} changed since its installability was checked; checked again`);
        continue;
      }
      // The copy checks again what decide() did (a takeover, a downgrade): one it refuses waits,
      // and is decided again below.
      try {
        // The version decided on: an earlier copy of this run may have brought `from` a newer
        // one (unstable to testing, then testing to stable), whose checks were not this target's.
        const answer = await this.q.suites.copy(d.source, d.from, d.to, d.version);
        this.q.log(`migration: ${d.source} ${d.version} ${d.from} -> ${d.to}: ${answer.message}`);
        migrated.push(d);
        if (digestOf(d.to) !== decidedAgainst.get(d.to)) changed.add(d.to);
      } catch (err) {
        if (!(err instanceof ContentsError)) throw err;
        this.q.log(`migration: ${d.source} ${d.version} ${d.from} -> ${d.to}: not copied: ${err.message}`);
      }
    }
    // (Copied and saved: a publication that fails is the next scan's to do again, and archive migrate says so.)
    if (migrated.length > 0) this.publishNote = await publishSaved(this.q, `migrated ${migrated.length > 3 ? `${migrated.length} sources` : migrated.map((d) => `${d.source} ${d.version}`).join(', ')}`);
    // The target changed (what waits on its installability there is checked again), or a copy
    // was refused (it no longer migrates): decided again.
    if (ready.length > 0) decisions = this.decide();
    if (decisions.some((d) => d.checkInstallability)) {
      await this.planChecks(decisions);
      decisions = this.decide();
    }
    // Written when a decision changed, not as the sources age by the hour.
    const shape = (ds: MigrationDecision[]) => JSON.stringify(ds.map(({ ageDays: _, ...d }) => d));
    if (shape(decisions) !== shape(this.last)) {
      this.last = decisions;
      await writeJson(this.q.layout.migration, { decidedAt: new Date().toISOString(), decisions });
      this.q.statusChanged();
    }
    return decisions;
  }
}
