// Requests the CLI leaves in state/requests/ (core/queue-requests.ts): carried out in the lane,
// answered beside them, then removed with the files they brought.
import { firstLine } from '../../errors.js';
import { lstat, opendir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { retry } from '../../core/jobs.js';
import { parseQueueRequest, type QueueAnswer, type QueueRequest } from '../../core/queue-requests.js';
import { ContentsError, NothingToRemove } from '../../core/suite-contents.js';
import { compareVersions } from '../../debian/version.js';
import { run, sparesAfter } from '../../process/run.js';
import { isTemporaryName, readJson, writeJson } from '../../storage/json-files.js';
import { NotRegularFile, readRegularFile } from '../../storage/open-regular-file.js';
import { migrationLine } from '../../core/migration.js';
import { collectAfterMany } from './heap.js';
import { isPassingFailure } from './passing-errors.js';
import type { JobLeasing } from './job-leasing.js';
import type { Migrations } from './migrations.js';
import type { RebuildResults } from './rebuild-results.js';
import type { QueueContext } from './queue-context.js';
import { publishSaved } from './publishing.js';
import type { WorkerRegistry } from './worker-registry.js';

/** How many times a request is begun before one the queue stopped during each time is answered as such. */
export const MAX_REQUEST_TRIES = 2;

export class CliRequests {
  /** A pool file may have lost its last reference: worth collecting at the end of the scan. */
  garbageLikely = false;

  constructor(
    private readonly q: QueueContext,
    private readonly leasing: JobLeasing,
    private readonly workers: WorkerRegistry,
    private readonly migrations: Migrations,
    private readonly rebuilds: RebuildResults,
  ) {}

  /**
   * Every request waiting, carried out and answered in turn. In the lane. One that meets a failure
   * of the machine that passes (passing-errors.ts: a full disk) stays, to be carried out at a later
   * scan; the requests after it are taken all the same, and that error is thrown once they have
   * been (the scan takes uploads meanwhile: queue.ts).
   */
  async handleAll(): Promise<void> {
    const dir = this.q.layout.requests;
    let failure: unknown;
    for (const name of (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.request.json'))) {
      await this.handle(dir, name).catch((err: unknown) => void (failure ??= err));
    }
    if (failure) throw failure;
  }

  /** One request carried out, answered and removed; it stays only after a failure that passes. */
  private async handle(dir: string, name: string): Promise<void> {
    const parsed = await readRequest(join(dir, name));
    const staging = join(dir, name.replace('.request.json', '.files'));
    const made = join(dir, name.replace('.request.json', '.made.json'));
    const answerPath = join(dir, name.replace('.request.json', '.answer.json'));
    // Each try noted before it starts, and taken back when it ends in a failure that passes (a
    // full disk: tried again at the next scan): a request the queue stopped during twice (a
    // crash, or a file in it that stops the queue: a .deb that takes all its memory) is answered
    // so, not tried at every start for ever, holding every request behind it.
    const attempt = join(dir, name.replace('.request.json', '.attempt'));
    const tries = (await readJson<number>(attempt).catch(() => undefined)) ?? 0;
    // Not flushed: what it guards against ends the process, not the machine.
    await writeJson(attempt, tries + 1, { sync: false });
    // Answered before a spare filter is started again: the CLI waits for nothing else.
    const answer = await sparesAfter(async () => {
      // Answered once already, the queue stopping before the request was removed: that answer
      // stays, and the request is not carried out again (a verify would queue its rebuilds twice,
      // a retry find nothing left to retry and answer so over the first answer). (A folder or
      // anything else there is no answer: it is replaced, or the answer fails to be.)
      if ((await lstat(answerPath).catch(() => undefined))?.isFile()) return (await readMade(answerPath)) ?? { ok: false, message: 'answered before; that answer kept' };
      let answer: QueueAnswer;
      try {
        if ('error' in parsed) answer = { ok: false, message: `state/requests/${name}: ${parsed.error}` };
        else if (tries < MAX_REQUEST_TRIES) answer = await this.carryOut(parsed, staging, made);
        else {
          // What a change of it saved, if one did, is said with it.
          const done = await readMade(made);
          answer = { ok: false, message: `the queue stopped ${tries} times while carrying out this request (a crash, or a file in it that stops the queue; queue.log says where); not tried again${done ? `; before that it had: ${done.message}` : ': see archive status for what it did'}` };
        }
      } catch (err) {
        if (isPassingFailure(err)) {
          await writeJson(attempt, tries, { sync: false }).catch(() => undefined);
          throw err;
        }
        if (err instanceof ContentsError) answer = { ok: false, message: err.message };
        else {
          // Any other error is the request's own (a name the file system refuses, a fault it
          // meets): tried again, it would fail again at every scan for ever. Answered, with what
          // a change of it saved, if one did.
          this.q.log(`request ${name}: ${(err as Error).stack ?? String(err)}`);
          const done = await readMade(made);
          answer = { ok: false, message: `the queue failed while carrying out this request: ${firstLine(err)}; not tried again (queue.log has the details)${done ? `; before that it had: ${done.message}` : ''}` };
        }
      }
      // 0600: an answer may carry a secret (a new worker's token) until the CLI takes it.
      await writeJson(answerPath, asked(parsed, answer), { mode: 0o600 });
      // What the publication left, collected once the CLI has its answer and before anything
      // else is made, a spare filter's start included (heap.ts).
      collectAfterMany(answer.included?.length ?? 0);
      return answer;
    });
    // (Recursive: a folder under a request's name is refused and removed like a file.)
    await rm(join(dir, name), { recursive: true, force: true });
    await rm(made, { recursive: true, force: true });
    await rm(attempt, { recursive: true, force: true });
    this.q.log(`request ${name}: ${answer.message}`);
    // Out of the lane. A crash meanwhile leaves a *.done folder, removed at the next start.
    if (await rename(staging, `${staging}.done`).then(() => true, () => false)) {
      void removeStaged(`${staging}.done`).catch((err) => this.q.log(`${staging}.done: ${(err as Error).message}`));
    }
    // Only when a pool file may have lost its last reference (an include that only adds
    // leaves nothing behind); collected after the answer, at the end of this scan.
    if (!('error' in parsed) && (['rm', 'copy', 'migrate', 'snapshot'].includes(parsed.action) || Number(answer.replaced) > 0)) this.garbageLikely = true;
  }

  /**
   * What requests leave behind: staged files a crash kept from being removed (renamed *.done, or
   * still under the request's name when the crash came between the request's removal and that
   * rename, or a CLI's that stopped before sending its request), and answers no CLI took within an
   * hour (it gave up waiting), and a record's temporary file a crash left (an answer's, or
   * a CLI's request: left for an hour too, as it may be being written). A CLI makes its staging
   * folder just before its request: one without a request is left for an hour.
   */
  async sweep(): Promise<void> {
    const dir = this.q.layout.requests;
    const names = await readdir(dir).catch(() => [] as string[]);
    const requests = new Set(names.filter((n) => n.endsWith('.request.json')));
    const anHourOld = async (path: string) => Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now()) > 3600_000;
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith('.files.done')) await rm(path, { recursive: true, force: true });
      else if (name.endsWith('.made.json') && !requests.has(name.replace(/\.made\.json$/, '.request.json'))) await rm(path, { recursive: true, force: true });
      else if (name.endsWith('.attempt') && !requests.has(name.replace(/\.attempt$/, '.request.json'))) await rm(path, { recursive: true, force: true });
      else if (name.endsWith('.files') && !requests.has(name.replace(/\.files$/, '.request.json')) && (await anHourOld(path))) await rm(path, { recursive: true, force: true });
      else if ((name.endsWith('.answer.json') || isTemporaryName(name)) && (await anHourOld(path))) await rm(path, { force: true });
    }
  }

  /**
   * A request carried out. A change of the suites is published before it is answered; a crash
   * meanwhile (a publication takes seconds at scale) has the request carried out again at the next
   * start, when `archive rm` would find nothing left to remove and `snapshot` its name taken: so
   * what such a change answered is noted in `made` once it is saved, and carried out again, the
   * request is answered that. (A crash between the change's save and that note, a flush apart,
   * still has the request answered what it finds.)
   */
  private async carryOut(r: QueueRequest, staging: string, made: string): Promise<QueueAnswer> {
    const suites = this.q.suites;
    let answer: QueueAnswer;
    let what: string;
    const before = ['rm', 'copy', 'snapshot', 'workers-add'].includes(r.action) ? await readMade(made) : undefined;
    // A worker enrolled before a restart: its token (shown once) answered again, not "enrolled already".
    if (before && r.action === 'workers-add') return before;
    if (before) {
      if (r.action === 'rm') before.message += await this.cancelRemoved(r.source, r.suite);
      before.message += await publishSaved(this.q, `${r.action} (carried out before a restart)`);
      this.q.statusChanged();
      return before;
    }
    switch (r.action) {
      case 'retry':
        return this.retry(r.source, r.version);
      case 'verify':
        return this.rebuilds.verify(r.source, r.version);
      case 'workers-add': {
        answer = await this.workers.add(r.name, r.architectures);
        // 0600: it holds the token, until the request is answered and the note removed.
        if (answer.ok) await writeJson(made, answer, { mode: 0o600 });
        return answer;
      }
      case 'workers-rm':
        return this.workers.remove(r.name, this.leasing);
      case 'migrate': {
        if (!this.q.config().suites.some((s) => s.migration)) return { ok: false, message: 'no suite migrates from another: give one migrate_from in archive.yaml (README, "Gated migration")', migration: [] };
        const decisions = await this.migrations.run(r.dryRun);
        const lines = decisions.map(migrationLine);
        const moved = r.dryRun ? 'would migrate' : 'migrated';
        return { ok: true, message: `${decisions.filter((d) => d.migrates).length} source(s) ${moved}${this.migrations.publishNote}${lines.length ? `:\n  ${lines.join('\n  ')}` : ''}`, migration: decisions };
      }
      case 'rm': {
        const suite = r.suite ?? this.q.config().suites[0].name;
        try {
          answer = await suites.remove(r.source, suite);
        } catch (err) {
          // Nothing of it in the suite yet: an upload of it on its way there (its builds not all
          // in, or held back) is cancelled all the same, or it would join the suite later.
          if (!(err instanceof NothingToRemove)) throw err;
          const cancelled = await this.cancelRemoved(r.source, suite);
          if (!cancelled) throw err;
          answer = { ok: true, message: `${suite} holds nothing of ${r.source} yet${cancelled}` };
          // (Carried out again after a crash, it is answered this, as a removal is.)
          await writeJson(made, answer);
          this.q.statusChanged();
          return answer;
        }
        await writeJson(made, answer);
        answer.message += await this.cancelRemoved(r.source, suite);
        what = r.source;
        break;
      }
      case 'copy':
        answer = await suites.copy(r.source, r.from, r.to);
        await writeJson(made, answer);
        what = r.source;
        break;
      case 'snapshot':
        answer = r.delete ? await suites.deleteSnapshot(r.name) : await suites.snapshot(r.name, r.suite ?? this.q.config().suites[0].name);
        await writeJson(made, answer);
        what = r.name;
        break;
      case 'include':
        // (r.files is used up: include() lets each name go once its file is placed.)
        answer = await suites.include(staging, r.files, r.suite ?? this.q.config().suites[0].name, r.component);
        if ((answer.included ?? []).length === 0) return answer;
        collectAfterMany(answer.included!.length);
        what = '';
        break;
    }
    // Saved: a publication that fails now is the next scan's to do again, not the request's failure.
    answer.message += await publishSaved(this.q, `${r.action} ${what}`.trim());
    this.q.statusChanged();
    return answer;
  }

  /**
   * What `archive rm` does beside the removal: the source's builds not started yet cancelled, and
   * its uploads whose builds are not all in (or that the suite holds back: publish_requires,
   * wait_for_all_architectures) cancelled and done with joining, so that their builds' end, a QA
   * verdict or a restart neither brings the source back nor calls them published: their builds
   * stay in the pool only. What the answer adds.
   */
  private async cancelRemoved(source: string, suite = this.q.config().suites[0].name): Promise<string> {
    const why = `${source} was removed from ${suite} (archive rm)`;
    const cancelled = await this.leasing.cancel(suite, source, why);
    const open = this.q.uploads.all().filter((u) => u.suite === suite && u.source === source && ['accepted', 'building', 'dep-wait', 'held'].includes(u.state));
    for (const u of open) {
      await this.q.uploads.save({ ...u, inSuite: true, removed: why, state: 'cancelled', reasons: [why] });
      // Its builds done and waiting to join: done with it too (a collection may take their files).
      for (const j of this.q.jobs.all().filter((j) => u.jobs.includes(j.id) && j.state === 'built' && !j.inSuite)) await this.q.jobs.save({ ...j, inSuite: true });
    }
    const held = open.filter((u) => u.state === 'held' || !u.inSuite);
    return `${cancelled > 0 ? `; ${cancelled} job(s) not started yet cancelled` : ''}${held.length > 0 ? `; ${held.map((u) => `${u.source} ${u.version}`).join(', ')}, held back, will not join it` : ''}`;
  }

  /** archive retry: the failed or waiting builds of a source's newest accepted upload (or of VERSION) go back to the queue. */
  private async retry(source: string, version?: string): Promise<QueueAnswer> {
    const uploads = this.q.uploads
      .all()
      .filter((u) => u.source === source && (!version || u.version === version) && !['received', 'rejected'].includes(u.state))
      .sort((a, b) => compareVersions(a.version, b.version));
    const upload = uploads.pop();
    if (!upload) return { ok: false, message: `no accepted upload of ${source}${version ? ` ${version}` : ''}; see archive status` };
    const jobs = this.q.jobs.all().filter((j) => upload.jobs.includes(j.id) && (j.state === 'failed' || j.state === 'dep-wait'));
    if (jobs.length === 0) return { ok: false, message: `${source} ${upload.version} has no failed or waiting build to retry` };
    for (const job of jobs) await this.leasing.save(retry(job, new Date()));
    return { ok: true, message: `${source} ${upload.version}: ${jobs.map((j) => j.arch).join(', ')} queued again`, jobs: jobs.map((j) => j.id) };
  }
}

/**
 * The answer as written: an include's lists each package that went in only when asked (--json).
 * At 100,000 that list is 12 MB, which a CLI that prints one line read and parsed all the same
 * (its peak, 156-164 MiB).
 */
function asked(request: QueueRequest | { error: string }, answer: QueueAnswer): QueueAnswer {
  if ('error' in request || request.action !== 'include' || request.listed) return answer;
  const { included: _, ...counted } = answer;
  return counted;
}

/**
 * What a change a request made answered, noted before its publication (carryOut); undefined
 * when there is no such note, or something else under its name (only the queue writes one).
 */
async function readMade(path: string): Promise<QueueAnswer | undefined> {
  try {
    const { data } = await readRegularFile(path, 1024 * 1024);
    const answer = data && (JSON.parse(data.toString('utf8')) as QueueAnswer);
    return answer && typeof answer.ok === 'boolean' && typeof answer.message === 'string' ? answer : undefined;
  } catch {
    return undefined;
  }
}

/** An error's message as an answer says it: its first line. */

/** A request with 10,000 file names is about 1 MB. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * A request file, read without trusting it: a regular file (a FIFO is never opened to block the
 * lane, a link never followed) of sane size, holding a request (core/queue-requests.ts). What is
 * wrong with it becomes its answer; only a failure of the machine that passes leaves it for later.
 */
async function readRequest(path: string): Promise<QueueRequest | { error: string }> {
  try {
    const { data, size } = await readRegularFile(path, MAX_REQUEST_BYTES);
    if (!data) return { error: `${size} bytes; a request has at most ${MAX_REQUEST_BYTES}` };
    return parseQueueRequest(JSON.parse(data.toString('utf8')));
  } catch (err) {
    if (err instanceof NotRegularFile) return { error: `not a regular file (${err.kind})` };
    if (err instanceof SyntaxError) return { error: `not JSON: ${err.message}` };
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { error: 'it was removed before it could be read' };
    // Read again at the next scan only after a failure that passes; any other is its answer.
    if (isPassingFailure(err)) throw err;
    return { error: `cannot be read: ${firstLine(err)}` };
  }
}

/** Staged files removed here up to this many; more by rm(1). */
const FEW_STAGED = 64;

/**
 * A few staged files (a .deb or two) are removed by node itself: starting rm(1) would hold the
 * queue's thread 10-20 ms while node 20 forks it. Many, out of the process: node's recursive rm
 * walks them in JavaScript, 1.6 s of the queue's time at 100,000; rm(1) takes none.
 */
async function removeStaged(dir: string): Promise<void> {
  // Only as many entries read as decide it: 100,000 names are not listed to be counted.
  let few = true;
  let seen = 0;
  for await (const entry of await opendir(dir)) {
    if (entry.isDirectory() || ++seen > FEW_STAGED) {
      few = false;
      break;
    }
  }
  if (few) await rm(dir, { recursive: true, force: true });
  else await run('rm', ['-rf', '--', dir]);
}
