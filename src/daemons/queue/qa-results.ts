// QA checks on the queue's side: the checks a suite asks for, made once each build is built
// (and after a stop, for builds that have none yet), and what a worker found, kept with its
// comparison against the previous version's result in the suite. Checks never hold back a
// publication.
import { endWithoutResult, finishCheck, type JobRecord } from '../../core/jobs.js';
import { declaresTests, earlierResults, plannedChecks, qaTrend, type QaReport } from '../../core/kinds/qa.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';

export class QaResults {
  constructor(
    private readonly q: QueueContext,
    private readonly leasing: JobLeasing,
  ) {}

  /** The checks missing for what was built (core/kinds/qa.ts plannedChecks), made. In the lane. */
  async plan(): Promise<void> {
    const jobs = plannedChecks(this.q.config().suites, this.q.jobs.all(), (id) => declaresTests(this.q.uploads.get(id)), new Date().toISOString());
    for (const job of jobs) await this.leasing.save(job);
    if (jobs.length > 0) this.q.log(`QA: ${jobs.length} check(s) to run: ${jobs.slice(0, 6).map((j) => j.id).join(', ')}${jobs.length > 6 ? ', ...' : ''}`);
  }

  /** A worker's report of a check: what it found, compared with the previous version's. In the lane. */
  async complete(id: string, builder: string, report: QaReport): Promise<void> {
    const job = this.leasing.reported(id, builder);
    const now = new Date();
    let next: JobRecord;
    if (report.outcome !== 'checked') next = endWithoutResult(job, builder, report, now);
    else {
      const { outcome: _, ...result } = report;
      // An installability check answers for the target suite as it is: it has no trend.
      const trend = job.kind === 'installability' ? {} : qaTrend(result, earlierResults(job, this.q.jobs.all()));
      next = finishCheck(job, builder, { result: { ...result, ...trend } }, now);
    }
    await this.leasing.save(next);
    const qa = next.qa;
    this.q.log(`job ${id}: ${qa ? `${qa.verdict}${qa.trend ? ` (${qa.trend})` : ''}: ${qa.summary}` : `${next.state}${next.reason ? ` (${next.reason})` : ''}`}`);
  }
}
