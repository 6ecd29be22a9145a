// Rebuilds on the queue's side: one made for each new build in a suite with `rebuilds: on`
// (and by archive verify), and what a worker reports: the verdict decided here, on the first
// build's packages and the hashes the rebuild reported (core/kinds/rebuild.ts); diffoscope's
// reports kept under public/reproducible/; a reproducible verdict signed as a statement with the
// rebuilder key, made here at its first use, distinct from the archive key. Rebuilds never hold back a
// publication unless a suite's publish_requires asks for them.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endWithoutResult, finishCheck, type JobRecord } from '../../core/jobs.js';
import { earlierResults, qaTrend } from '../../core/kinds/qa.js';
import {
  REBUILD_ARTIFACT, plannedRebuilds, rebuildResult, reproducibleDir, reproducibleStatement, verifyRebuilds, type RebuildReport,
} from '../../core/kinds/rebuild.js';
import type { QueueAnswer } from '../../core/queue-requests.js';
import { compareVersions } from '../../debian/version.js';
import { Signer, generateArchiveKey } from '../../process/gpg.js';
import { fileFacts } from '../../storage/files.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';

export class RebuildResults {
  private signer?: Signer;

  constructor(
    private readonly q: QueueContext,
    private readonly leasing: JobLeasing,
  ) {}

  /** The rebuilder key, made (and its public half published) at the first statement the archive signs. */
  private async rebuilder(): Promise<Signer> {
    if (this.signer) return this.signer;
    const l = this.q.layout;
    if (!existsSync(l.rebuilderSecretKey)) {
      // No expiry: a statement says what two builds agreed on once; it stays true.
      const key = await generateArchiveKey('archive-in-a-box rebuilder (reproducible-build statements)', 'never');
      await writeFile(l.rebuilderPublicKey, key.publicArmored);
      await writeFile(`${l.rebuilderSecretKey}.tmp`, key.secretArmored, { mode: 0o600 });
      await rename(`${l.rebuilderSecretKey}.tmp`, l.rebuilderSecretKey);
      this.q.log(`rebuilder key ${key.fingerprint} made; its public half is public/rebuilder-key.asc`);
    }
    this.signer = await Signer.load(await readFile(l.rebuilderSecretKey, 'utf8'), await mkdtemp(join(tmpdir(), 'archive-rebuilder-')));
    return this.signer;
  }

  /** The rebuilds missing for what was built (core/kinds/rebuild.ts plannedRebuilds), made. In the lane. */
  async plan(): Promise<void> {
    const jobs = plannedRebuilds(this.q.config().suites, this.q.jobs.all(), new Date().toISOString());
    for (const job of jobs) await this.leasing.save(job);
    if (jobs.length > 0) this.q.log(`rebuilds: ${jobs.length} to run: ${jobs.slice(0, 6).map((j) => j.id).join(', ')}${jobs.length > 6 ? ', ...' : ''}`);
  }

  /** archive verify: the builds of a source's newest built version (or VERSION) in each suite, rebuilt again. In the lane. */
  async verify(source: string, version?: string): Promise<QueueAnswer> {
    const built = this.q.jobs.all().filter((j) => j.kind === 'build' && j.state === 'built' && j.source === source && (!version || j.version === version));
    const newest = built.reduce<string | undefined>((v, j) => (!v || compareVersions(j.version, v) > 0 ? j.version : v), undefined);
    if (!newest) return { ok: false, message: `no built ${source}${version ? ` ${version}` : ''} to rebuild; see archive status` };
    const jobs = verifyRebuilds(built.filter((j) => j.version === newest), this.q.jobs.all(), new Date().toISOString());
    if (jobs.length === 0) return { ok: false, message: `${source} ${newest}: a rebuild of each of its builds is waiting or running already (or it made no package)` };
    for (const job of jobs) await this.leasing.save(job);
    return { ok: true, message: `${source} ${newest}: rebuilding on ${jobs.map((j) => j.arch).join(', ')} (archive qa ${source} shows the verdict)`, jobs: jobs.map((j) => j.id) };
  }

  /** A worker's report of a rebuild: the verdict, its reports kept, a reproducible one signed. In the lane. */
  async complete(id: string, builder: string, report: RebuildReport): Promise<void> {
    const job = this.leasing.reported(id, builder);
    const dir = join(this.q.layout.artifacts, id);
    const now = new Date();
    let next: JobRecord;
    if (report.outcome !== 'rebuilt') next = endWithoutResult(job, builder, report, now);
    else {
      try {
        const first = this.q.jobs.get(job.of!);
        if (!first) throw new Error(`the build it rebuilds (${job.of}) is not known`);
        const result = rebuildResult(first, report);
        const kept = await this.keep(job, dir);
        if (result.verdict === 'pass') kept.push(await this.sign(job, first, builder, now));
        next = { ...finishCheck(job, builder, { result: { ...result, ...qaTrend(result, earlierResults(job, this.q.jobs.all())) } }, now), artifacts: kept, ...(report.depsKey && { depsKey: report.depsKey }) };
      } catch (err) {
        // The queue's own trouble (the key, the disk): the rebuild is not run again for it, and
        // nothing of it stays public.
        await this.dropPublic(job);
        next = finishCheck(job, builder, { reason: `the verdict could not be kept: ${(err as Error).message}` }, now);
      }
    }
    try {
      await this.leasing.save(next);
    } catch (err) {
      // Not recorded: a statement signed "reproducible" must not be served with no verdict behind it.
      await this.dropPublic(job);
      throw err;
    }
    await rm(dir, { recursive: true, force: true });
    this.q.log(`job ${id}: ${next.qa ? next.qa.summary : `${next.state}${next.reason ? ` (${next.reason})` : ''}`}`);
  }

  /**
   * At a start after a crash: what a completion wrote under public/reproducible/ (reports, a
   * signed statement) before its record was saved is removed, for every rebuild still building;
   * else a job given back, cancelled or failed later would leave "reproducible" signed and served.
   */
  async dropUnrecorded(): Promise<void> {
    for (const job of this.q.jobs.all()) if (job.kind === 'rebuild' && job.state === 'building') await this.dropPublic(job);
  }

  private async dropPublic(job: JobRecord): Promise<void> {
    await rm(join(this.q.layout.public, reproducibleDir(job)), { recursive: true, force: true });
  }

  /** What the rebuild handed in (diffoscope's reports, its .buildinfo), moved under public/reproducible/. */
  private async keep(job: JobRecord, dir: string): Promise<string[]> {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => REBUILD_ARTIFACT.test(n)).sort();
    if (names.length === 0) return [];
    const to = reproducibleDir(job);
    await mkdir(join(this.q.layout.public, to), { recursive: true });
    for (const n of names) await rename(join(dir, n), join(this.q.layout.public, to, n));
    return names.map((n) => `${to}/${n}`);
  }

  /** The statement that the first build and its rebuild agree, clear-signed with the rebuilder key. */
  private async sign(job: JobRecord, first: JobRecord, builder: string, now: Date): Promise<string> {
    const buildinfoPath = first.artifacts.find((a) => a.endsWith('.buildinfo'));
    // Signed without it when the pool let it go (a superseded version verified again).
    const facts = buildinfoPath ? await fileFacts(join(this.q.layout.public, buildinfoPath)).catch(() => undefined) : undefined;
    const buildinfo = facts ? { name: buildinfoPath!.slice(buildinfoPath!.lastIndexOf('/') + 1), sha256: facts.sha256 } : undefined;
    const text = reproducibleStatement({
      source: job.source,
      version: job.version,
      arch: job.arch,
      buildinfo,
      packages: first.binaries.map((b) => ({ name: b.path.slice(b.path.lastIndexOf('/') + 1), sha256: b.sha256 })),
      rebuiltAt: now.toISOString(),
      builtBy: first.worker,
      rebuiltBy: builder,
    });
    const path = `${reproducibleDir(job)}/statement.json.asc`;
    await mkdir(join(this.q.layout.public, reproducibleDir(job)), { recursive: true });
    await writeFile(join(this.q.layout.public, path), `${(await (await this.rebuilder()).clearsign(text)).trimEnd()}\n`);
    return path;
  }
}
