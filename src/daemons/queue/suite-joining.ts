// When accepted sources and finished builds join their suite: the suite's publication policy.
// By default (as Debian does) a source joins once accepted and each architecture's binaries as
// they build; with wait_for_all_architectures a new version joins whole (source and every
// build) once every build of it is in, and until then the suite keeps the version it had; with
// publish_requires, once every build is in and the gates on its QA checks hold.
import type { JobRecord } from '../../core/jobs.js';
import { publicationHold } from '../../core/qa-gates.js';
import { ContentsError } from '../../core/suite-contents.js';
import type { UploadRecord } from '../../core/uploads.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';

export class SuiteJoining {
  constructor(
    private readonly q: QueueContext,
    private readonly leasing: JobLeasing,
  ) {}

  private jobsOf(upload: UploadRecord): JobRecord[] {
    return this.q.jobs.all().filter((j) => upload.jobs.includes(j.id));
  }

  /**
   * Whether the suite holds this upload back: until all its builds are in, and its QA gates hold.
   * One done with joining (in the suite, or removed from it meanwhile by archive rm) is not: its
   * builds' ends are taken (and left in the pool only when its source is not in the suite).
   */
  private heldBack(upload: UploadRecord): boolean {
    if (upload.inSuite) return false;
    const suite = this.q.config().suites.find((s) => s.name === upload.suite);
    if (!suite?.waitForAllArchitectures && !suite?.publishRequires) return false;
    if (!this.jobsOf(upload).every((j) => j.state === 'built')) return true;
    const contentsOf = (name: string) => this.q.suites.all().find((c) => c.id === name);
    return (publicationHold(this.q.config().suites, upload, this.q.jobs.all(), contentsOf)?.length ?? 0) > 0;
  }

  /**
   * An upload built but held back (publish_requires) joins once nothing holds it: after a check
   * came in, or archive.yaml changed its gates. Whether it joined.
   */
  async release(uploadId: string): Promise<boolean> {
    const upload = this.q.uploads.get(uploadId);
    if (!upload || upload.inSuite) return false;
    const built = this.jobsOf(upload).filter((j) => j.state === 'built' && !j.inSuite);
    if (built.length === 0 || this.heldBack(upload)) return false;
    await this.build(built[0]);
    return true;
  }

  /** An accepted source joins its suite (unless held back); older builds of it not started yet are cancelled. */
  async source(upload: UploadRecord): Promise<void> {
    if (this.heldBack(upload)) return;
    await this.q.suites.addSource(upload);
    await this.q.uploads.save({ ...upload, inSuite: true });
    await this.leasing.cancel(upload.suite!, upload.source, `superseded by ${upload.source} ${upload.version}`, upload.version);
  }

  /**
   * A built job's binaries join its suite (superseded ones are said and left in the pool only).
   * Held back, nothing joins until the last build; then the source and every build join at once.
   */
  async build(job: JobRecord): Promise<void> {
    const upload = this.q.uploads.get(job.uploadId);
    if (upload && this.heldBack(upload)) return;
    if (upload && !upload.inSuite) await this.source(upload);
    const waiting = upload ? this.jobsOf(upload).filter((j) => j.state === 'built' && !j.inSuite && j.id !== job.id) : [];
    for (const j of [...waiting, job]) await this.add(j, !!upload && this.jobsOf(upload).every((x) => x.state === 'built'));
  }

  private async add(job: JobRecord, allBuilt: boolean): Promise<void> {
    try {
      await this.q.suites.addBuild(job, allBuilt);
    } catch (err) {
      if (!(err instanceof ContentsError)) throw err;
      this.q.log(`job ${job.id}: not published: ${err.message}`);
    }
    await this.q.jobs.save({ ...this.q.jobs.get(job.id)!, inSuite: true });
  }
}
