// What a worker hands back for a build (and a rebuild: rebuild-results.ts keeps those): its log
// as it runs, its files, received aside and moved in once whole and as signed, each held to the
// build caps; then its report, which finishes the job. A build that says it built is checked
// (core/artifact-checks.ts) before any of its files is pooled, beside its source, and published.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { checkReturnedBuild, isBinaryPackage, type ReturnedFile } from '../../core/artifact-checks.js';
import { depWait, finish, giveBack, type BinaryRecord, type JobRecord } from '../../core/jobs.js';
import { GiB, MiB, wholeBytes, type BuildReport } from '../../core/kinds/build.js';
import { MAX_ARTIFACT_BYTES, REBUILD_ARTIFACT } from '../../core/kinds/rebuild.js';
import { parseChanges, parseDsc } from '../../debian/changes-dsc.js';
import { SAFE_FILE_NAME } from '../../debian/pool-path.js';
import type { Paragraph } from '../../debian/deb822.js';
import { ControlTooLarge, debControl } from '../../process/debian-tools.js';
import { exists, fileFacts, placeFile } from '../../storage/files.js';
import { refused, type KeyCheck } from '../job-api.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';
import type { SuiteJoining } from './suite-joining.js';
import { readControlFile } from './upload-decision.js';

export class BuildResults {
  /** Each job's hand-in of a file or of more log, the last begun: the next waits for it (its caps count what came before). */
  private readonly handingIn = new Map<string, Promise<unknown>>();

  constructor(
    private readonly q: QueueContext,
    private readonly leasing: JobLeasing,
    private readonly joining: SuiteJoining,
  ) {}

  /**
   * One file of a build, streamed in; kept only once whole and while the job is still the
   * sender's. A job's files come one after another (a worker sends them so): many at once would
   * each pass the caps on what the job handed in before them.
   */
  artifact(id: string, builder: string, name: string, body: AsyncIterable<Buffer>, checkKey: KeyCheck): Promise<void> {
    return this.inTurn(`${id} file`, () => this.receive(id, builder, name, body, checkKey));
  }

  /** fn once the job's hand-in of that kind before it is done (in turn, not side by side). */
  private async inTurn(key: string, fn: () => Promise<void>): Promise<void> {
    const mine = (this.handingIn.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
    this.handingIn.set(key, mine);
    try {
      await mine;
    } finally {
      if (this.handingIn.get(key) === mine) this.handingIn.delete(key);
    }
  }

  private async receive(id: string, builder: string, name: string, body: AsyncIterable<Buffer>, checkKey: KeyCheck): Promise<void> {
    const job = this.leasing.job(id);
    if (job.state !== 'building' || job.lease?.builder !== builder) throw refused(409, `job ${id} is not leased to ${builder}`);
    const dir = join(this.q.layout.artifacts, id);
    // What the job handed in before (not this name, which a retry sends again).
    const had = async () => (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.') && n !== name);
    // A QA check hands in nothing but its report; a rebuild diffoscope's reports and its .buildinfo, capped.
    if (job.kind === 'rebuild') {
      if (!REBUILD_ARTIFACT.test(name) || (name.endsWith('.buildinfo') && !name.startsWith(`${job.source}_`))) {
        throw refused(400, `a rebuild hands in diffoscope.txt, diffoscope.html and its ${job.source}_*.buildinfo, not ${name}`);
      }
      // Over the cap, which running the rebuild again would cross again: 413, which the worker
      // takes for a refusal of what the job made (the job fails), not for its own trouble (given back).
      if ((await had()).length >= 3) throw refused(413, `rebuild ${id} handed in 3 files already (diffoscope.txt, diffoscope.html and its .buildinfo at most)`);
      body = capped(body, MAX_ARTIFACT_BYTES, `${name} of rebuild ${id}`);
    } else if (job.kind === 'build') {
      // What a builder takes out of a build (builds.output_*), in all: a worker that sends more
      // than any build may make is refused, not given the disk.
      const { outputFiles, outputFileGiB, outputGiB } = this.q.config().builds;
      const before = await had();
      if (before.length >= outputFiles) throw refused(409, `build ${id} handed in ${before.length} files already (builds.output_files)`);
      let used = 0;
      for (const n of before) used += (await stat(join(dir, n))).size;
      body = capped(body, Math.min(wholeBytes(outputFileGiB, GiB), wholeBytes(outputGiB, GiB) - used), `${name} of build ${id} (builds.output_file_gib, output_gib)`);
    } else throw refused(409, `job ${id} is a ${job.kind} check, which hands in no files`);
    if (!SAFE_FILE_NAME.test(name)) throw refused(400, `unsafe artifact name ${name}`);
    this.q.failPoint('hand-in');
    await mkdir(dir, { recursive: true });
    // Aside until the whole body arrived and matched its signed sha256: a cut or tampered
    // upload leaves nothing behind. A name of its own, so two uploads of one file do not mix.
    const part = join(dir, `.${name}.${randomBytes(6).toString('hex')}.part`);
    try {
      await writeFile(part, body);
      // The body may take minutes: a lease that ran out meanwhile (and went to another
      // worker), or a worker removed meanwhile (and another enrolled under its name, perhaps
      // holding the job as the same slot), hands in nothing over the new holder's files.
      checkKey();
      const now = this.leasing.job(id);
      if (now.state !== 'building' || now.lease?.builder !== builder) throw refused(409, `job ${id} is no longer leased to ${builder}`);
      await rename(part, join(dir, name));
    } finally {
      await rm(part, { force: true });
    }
  }

  /**
   * More of a job's log, from the worker that holds it: up to three times builds.log_mib in all
   * (the worker cuts a build's output there; a byte of it that is not UTF-8 is three in the log,
   * as U+FFFD), with room for the line that says so; past that, refused.
   */
  log(id: string, builder: string, body: AsyncIterable<Buffer>, checkKey: KeyCheck): Promise<void> {
    return this.inTurn(`${id} log`, () => this.appendLog(id, builder, body, checkKey));
  }

  /**
   * Its body is read only once the job is found to be the worker's, and aside, as it comes, never
   * held in memory (16 MiB a request, on as many connections as a worker opens), until it has all
   * come as signed; then added to the log.
   */
  private async appendLog(id: string, builder: string, body: AsyncIterable<Buffer>, checkKey: KeyCheck): Promise<void> {
    const job = this.leasing.job(id);
    if (job.state !== 'building' || job.lease?.builder !== builder || !job.log) throw refused(409, `job ${id} is not leased to ${builder}`);
    const path = join(this.q.layout.public, job.log);
    const cap = 3 * wholeBytes(this.q.config().builds.logMiB, MiB) + 64 * 1024;
    const had = (await stat(path).catch(() => undefined))?.size ?? 0;
    // Not in the job's folder of files, which its completion takes aside; a temporary file's name
    // (json-files.ts), which the queue's start removes when a crash left one.
    const part = join(this.q.layout.artifacts, `${id}.log.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(this.q.layout.artifacts, { recursive: true });
    try {
      await writeFile(part, capped(body, cap - had, `the log of job ${id} (builds.log_mib: at most ${cap} bytes in all)`));
      // Still the worker's once it has all come: a lease that ran out meanwhile, or a worker
      // archive workers rm revoked (even one enrolled again under its name since, which may hold
      // the job as the same slot), writes no more into the log of that attempt.
      checkKey();
      const now = this.leasing.job(id);
      if (now.state !== 'building' || now.lease?.builder !== builder || now.log !== job.log) throw refused(409, `job ${id} is no longer leased to ${builder}`);
      await pipeline(createReadStream(part), createWriteStream(path, { flags: 'a' }));
    } finally {
      await rm(part, { force: true });
    }
  }

  /** A worker's report: the job finishes (its artifacts checked, pooled and published when built). In the lane. */
  async complete(id: string, builder: string, report: BuildReport): Promise<void> {
    const job = this.leasing.reported(id, builder);
    const dir = join(this.q.layout.artifacts, id);
    const checking = `${dir}.checking`;
    const now = new Date();
    let next: JobRecord;
    if (report.outcome === 'dep-wait') next = depWait(job, builder, report.missing, now);
    else if (report.outcome === 'give-back') next = giveBack(job, builder, report.reason, now);
    else if (report.outcome === 'failed') next = finish(job, builder, report, now);
    else {
      try {
        // Taken aside before it is checked: a file the worker still sends (a second upload of one
        // name) lands in a folder no one checks, not over one between its check and the pool. A
        // completion a restart cut short took them aside already: the worker's retry finds them there.
        if (await exists(dir)) {
          await rm(checking, { recursive: true, force: true });
          await rename(dir, checking);
        }
        const { binaries, artifacts } = await this.poolArtifacts(job, checking);
        next = finish(job, builder, { ...report, binaries, artifacts, log: job.log! }, now);
      } catch (err) {
        next = finish(job, builder, { outcome: 'failed', reason: (err as Error).message, image: report.image, depsKey: report.depsKey }, now);
      }
    }
    if (next.state === 'built') {
      // The upload turns "published" (what archive wait waits for) only once the publication
      // that holds the build is served: job, suite, publication, then the upload's state.
      await this.q.jobs.save(next);
      await this.joining.build(next);
      this.q.log(`job ${id}: built`);
      await this.q.publish(`built ${job.source} ${job.version} on ${job.arch}`);
      await this.leasing.save(this.leasing.job(id));
    } else {
      await this.leasing.save(next);
      this.q.log(`job ${id}: ${next.state}${next.reason ? ` (${next.reason})` : ''}`);
    }
    // (A file the worker still sends may be landing in the job's folder: its hand-in, refused now, removes its part.)
    for (const d of [dir, checking]) await rm(d, { recursive: true, force: true }).catch((err: Error) => this.q.log(`job ${id}: ${err.message}`));
  }

  /** Reads what came back, checks it all, then pools it: a refusal leaves nothing behind. */
  private async poolArtifacts(job: JobRecord, dir: string): Promise<{ binaries: BinaryRecord[]; artifacts: string[] }> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const changesName = names.find((n) => n.endsWith('.changes'));
    if (!changesName) throw new Error(`the build returned no .changes file (got: ${names.join(', ') || 'nothing'})`);
    // Capped as an upload's (a worker, or a build through one, may return a .changes of a gigabyte).
    const changes = parseChanges(await readControlFile(join(dir, changesName), changesName), changesName);
    const suite = this.q.config().suites.find((s) => s.name === job.suite)!;
    // The packages the build may publish: those its .dsc, as accepted into the pool, declares.
    const dscFile = this.q.uploads.get(job.uploadId)?.sourceFiles.find((f) => f.name.endsWith('.dsc'));
    if (!dscFile) throw new Error(`job ${job.id}: its upload's .dsc is not known, so the packages it may build are not`);
    const declared = parseDsc(await readFile(join(this.q.layout.public, dscFile.path), 'utf8'), dscFile.name).binaries;
    const files: ReturnedFile[] = [];
    for (const f of changes.files) {
      const file: ReturnedFile = { name: f.name, size: f.size, sha256: f.sha256 };
      files.push(file);
      const path = join(dir, f.name);
      if (!SAFE_FILE_NAME.test(f.name) || !(await exists(path))) continue;
      file.digest = await fileFacts(path);
      const intact = file.digest.size === f.size && (!f.sha256 || file.digest.sha256 === f.sha256);
      if (intact && isBinaryPackage(f.name)) file.control = await debControl(path).catch((err: Error) => (err instanceof ControlTooLarge ? new Error(`${f.name}: ${err.message}`) : err));
    }
    const contents = this.q.suites.all().find((c) => c.id === suite.name)!;
    const refusal = checkReturnedBuild({ job, changesName, changes, files, declared, contents, allowTakeover: !!suite.allowBinaryTakeover });
    if (refusal) throw new Error(refusal.message);
    // Beside their source, in the component its Section chose (pool/contrib/... for contrib/net).
    const poolDir = dirname(dscFile.path);
    const binaries: BinaryRecord[] = [];
    const artifacts: string[] = [];
    const placements: { from: string; to: string; sha256: string }[] = [];
    for (const f of files) {
      const to = `${poolDir}/${f.name}`;
      if (isBinaryPackage(f.name)) {
        binaries.push({ control: (f.control as Paragraph).entries(), path: to, ...f.digest! });
      } else if (f.name.endsWith('.buildinfo')) {
        artifacts.push(to);
      } else continue;
      placements.push({ from: join(dir, f.name), to, sha256: f.digest!.sha256 });
    }
    const changesTarget = `${poolDir}/${changesName}`;
    placements.push({ from: join(dir, changesName), to: changesTarget, sha256: (await fileFacts(join(dir, changesName))).sha256 });
    artifacts.push(changesTarget);
    for (const p of placements) await placeFile(p.from, join(this.q.layout.public, p.to), p.sha256);
    return { binaries, artifacts };
  }
}

/** The body, refused (413) as soon as it is over `limit` bytes. */
async function* capped(body: AsyncIterable<Buffer>, limit: number, what: string): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw refused(413, `${what}: over ${limit} bytes`);
    yield chunk;
  }
}
