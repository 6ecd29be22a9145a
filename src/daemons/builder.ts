// The builder (a worker): leases jobs from the queue over HTTP, runs each with its kind's task
// (tasks/task.ts) in throwaway containers, streams the log back, hands in what the job made and
// its report. It runs as many jobs at once as the queue's settings say, and a QA check beside.
import { createHash } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { constants, readFileSync } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeLeftoverBuilds } from '../docker/docker-runner.js';
import { UserError } from '../errors.js';
import { connectDocker, type Docker } from '../docker/engine.js';
import { MAX_LOG_BODY, type LeasedJob, type WorkerOffer } from '../core/job-protocol.js';
import { KINDS, WORK_KINDS, kindLabel, type WorkKind } from '../core/work-kinds.js';
import { JobApiClient, QueueUnreachable, checkLease, reportAfterHandInError } from './job-api-client.js';
import { TASKS } from './tasks/task.js';
import { sayPrintable } from '../core/terminal-text.js';
import { blameCeiling, slotsWithin, withinCeilings, type CeilingKey, type WorkerCeilings } from './worker-ceilings.js';

export const ALIVE_FILE = '/tmp/builder-alive';
/**
 * A stopping builder (Builder.stop) waits up to runsMs for its jobs to end once their containers
 * are gone (a job handing in what it made may finish), and exits after deadlineMs whatever is
 * left: within the stop grace period the compose file gives the builder (30 s), after which the
 * engine kills it. Tests shorten them.
 */
export const STOPPING = { runsMs: 10_000, deadlineMs: 25_000 };
/** How the folder of a job's inputs and outputs is named, before mkdtemp's six characters. */
const JOB_FOLDER = 'job-';

/**
 * The folder a worker keeps its jobs' files in (`workDir`, emptied of the job folders a run before
 * left; else the system's temporary folder), checked to be usable. A folder it cannot use stops
 * the worker at start: leasing on, it would give back, one after the other, every job it can
 * take, until each had used up its attempts.
 */
export async function prepareWorkDir(workDir: string | undefined): Promise<{ dir: string; removed: number }> {
  const dir = workDir ?? tmpdir();
  try {
    const removed = workDir ? await removeLeftoverJobFolders(workDir) : 0;
    await access(dir, constants.W_OK | constants.X_OK);
    return { dir, removed };
  } catch (err) {
    const what = workDir ? `ARCHIVE_WORK_DIR ${dir}` : `the temporary folder ${dir} (TMPDIR; or set ARCHIVE_WORK_DIR to a folder of this worker's on disk)`;
    throw new UserError(`${what}: cannot hold the jobs' files (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Removes the job folders (job-XXXXXX) in `dir`, made if missing, and says how many there were; anything else there stays. */
export async function removeLeftoverJobFolders(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const left = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name.startsWith(JOB_FOLDER));
  for (const e of left) await rm(join(dir, e.name), { recursive: true, force: true });
  return left.length;
}

export interface BuilderOptions {
  /** Where the job API is: http://queue:8000 beside the queue, the archive's URL from elsewhere. */
  queueUrl: string;
  /** The key its requests are signed with (core/request-signature.ts). */
  key: Buffer;
  /** A name that stays the same across restarts of this builder (its leftovers carry it). */
  name: string;
  /** A file touched on every answer from the queue, for the container's healthcheck. */
  aliveFile?: string;
  labels: Record<string, string>;
  /** Where build containers reach the archive's repository, and on which network. */
  repoUrl?: string;
  /** The CA (PEM) of the repository's certificate, when no public CA signed it. */
  repoCa?: string;
  network?: string;
  /** On a Swarm node: each build environment (BASE-ARCH) by digest in the archive's registry. */
  buildenvs?: Record<string, string>;
  /** The architectures it builds (it has their build environments; any when not said), and which of them under qemu. */
  architectures?: string[];
  emulated?: string[];
  /** DOCKER_HOST, to name the engine when it cannot be reached. */
  dockerHost?: string;
  /**
   * The most a job may take here, whatever its lease asks (`archive worker`: its owner lent the
   * machine for jobs within these); none beside the queue and on a Swarm node, whose owner is the
   * queue's.
   */
  ceilings?: WorkerCeilings;
  /**
   * A folder of this builder's alone for its jobs' inputs and outputs (a folder for each job in
   * it, job-XXXXXX): those it holds when the builder starts were left by a run before and are
   * removed. The system's temporary folder when not given, shared with others, where nothing is
   * removed at start.
   */
  workDir?: string;
}

export class Builder {
  private docker?: Docker;
  private readonly api: JobApiClient;
  /** What this worker runs: every kind of work, the architectures it was given. */
  private readonly offer: WorkerOffer;
  /** Once it stops (Builder.stop), why: it leases nothing more, and gives back what it holds instead of handing it in. */
  private stopping?: string;
  private stopped?: Promise<void>;
  /**
   * The jobs it runs, by id: their slot and kind, and the run, which ends once the job is handed
   * in or given back; `handingIn` once its task ended and what it made goes to the queue.
   */
  private readonly running = new Map<string, { slot: string; job: LeasedJob; run: Promise<void>; handingIn?: boolean }>();

  constructor(private readonly o: BuilderOptions) {
    this.api = new JobApiClient(o.queueUrl, o.key, o.name);
    this.offer = { kinds: WORK_KINDS, ...(o.architectures?.length ? { architectures: o.architectures, emulated: o.emulated ?? [] } : {}) };
  }

  /**
   * A line on the worker's console. Most of what it says comes from the queue (a job's source
   * and version, an error's text, a report's reason), which may be elsewhere and compromised:
   * its control characters are shown, never sent to the terminal, and a newline cannot start a
   * line of its own.
   */
  private log(message: string) {
    sayPrintable(`${new Date().toISOString()} ${message}`);
  }

  private async alive() {
    const file = this.o.aliveFile;
    if (!file) return;
    const now = new Date();
    await utimes(file, now, now).catch(() => writeFile(file, ''));
  }

  async start(): Promise<void> {
    const jobs = await prepareWorkDir(this.o.workDir);
    if (jobs.removed) this.log(`removed ${jobs.removed} job folder(s) left in ${jobs.dir} from before a restart`);
    this.docker = await connectDocker(this.o.dockerHost);
    // Whatever this builder was doing before it stopped is gone: say so, and clean up.
    const removed = await removeLeftoverBuilds(this.docker, this.o.name);
    if (removed) this.log(`removed ${removed} build container(s) left from before a restart`);
    const settings = await this.until(() => this.api.start(this.offer));
    if (this.stopping) return;
    // The queue answered: healthy now, not only after the first long poll (up to 20 s later).
    await this.alive();
    // No more builds at once than this worker allows (each takes up to the limits).
    const slots = slotsWithin(settings.concurrency, this.o.ceilings);
    if (slots.said) this.log(slots.said);
    settings.concurrency = slots.slots;
    const arches = this.offer.architectures?.map((a) => (this.offer.emulated?.includes(a) ? `${a} (emulated)` : a)).join(', ');
    this.log(`${this.o.name}: pulling jobs from ${this.o.queueUrl}, ${settings.concurrency} at a time and a QA check beside${arches ? `, for ${arches}` : ''}; their files in ${jobs.dir}`);
    const n = settings.concurrency;
    await Promise.all([
      ...Array.from({ length: n }, (_, i) => this.worker(`${this.o.name}/${i + 1}`)),
      // A slot of its own for QA checks: they run beside the builds (lintian, piuparts and
      // autopkgtest mostly wait on one core, on apt or dpkg), never in a build's place.
      this.worker(`${this.o.name}/${n + 1}`, this.offer.kinds.filter((k) => k !== 'build')),
    ]);
  }

  /**
   * Stops the builder (on SIGTERM: docker stop, archive down, a Swarm task ended, a node's label
   * removed; on Ctrl-C): it leases nothing more, kills and removes the containers its jobs
   * started (removeLeftoverBuilds, by the label of its name), and gives back to the queue each
   * job it held, as a restart does (JobLeasing.start), naming why. The limits of a job's
   * containers (time, stall, disk) are kept by this process: left running after it, they ran
   * unbounded (maintainer scripts of uploaded packages among them) until a builder of this name
   * started again on this engine. A job handing in what it made finishes doing so (within the
   * deadline of stopOnSignals); any other not ended within STOPPING.runsMs is given back from here.
   * The containers are looked for again last: a job between two of its containers when they
   * were first removed has started its next by then, or ended. Once only; resolves when done.
   */
  stop(why: string): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = `builder ${this.o.name} stopped (${why}); the job goes to another run`;
      this.log(`${this.o.name}: stopping (${why}): leasing no more, removing the containers of its ${this.running.size} job(s), giving them back`);
      await this.removeBuilds();
      // Their containers gone, the jobs' runs give them back (or finish handing them in).
      const ended = Promise.allSettled([...this.running.values()].map((r) => r.run));
      await Promise.race([ended, new Promise((r) => setTimeout(r, STOPPING.runsMs).unref())]);
      // What has not ended by now is given back from here; but a job handing in what it made
      // goes on (until it is done, or stopOnSignals' deadline ends the process): a finished
      // build given back would be built again.
      const left = [...this.running.values()];
      await Promise.all(left.filter((r) => !r.handingIn).map((r) => this.giveBack(r.slot, r.job)));
      await Promise.allSettled(left.filter((r) => r.handingIn).map((r) => r.run));
      await this.removeBuilds();
      this.log(`${this.o.name}: stopped`);
    })();
    return this.stopped;
  }

  /** Removes the containers of this builder's jobs, saying how many there were; an engine that fails is said, not thrown. */
  private async removeBuilds(): Promise<void> {
    if (!this.docker) return;
    try {
      const removed = await removeLeftoverBuilds(this.docker, this.o.name);
      if (removed) this.log(`${this.o.name}: removed ${removed} container(s) of its jobs`);
    } catch (err) {
      this.log(`${this.o.name}: cannot remove the containers of its jobs: ${(err as Error).message}`);
    }
  }

  /** Gives a job back to the queue as this builder stops; a queue that cannot be reached is said (the job goes back when its lease runs out, or this builder starts again). */
  private async giveBack(slot: string, job: LeasedJob): Promise<void> {
    await this.api.complete(job.id, slot, job.kind, { outcome: 'give-back', reason: this.stopping! }).catch((err: Error) => this.log(`${slot}: job ${job.id}: cannot give it back: ${err.message}`));
  }

  /**
   * A step of handing in a finished build, tried again while the queue cannot be reached (it
   * restarts), for up to 2 minutes: the heartbeats keep the lease meanwhile, so the build is
   * not lost and done again. An answer from the queue, even a refusal, is final.
   */
  private async handIn<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        // Stopping, it waits for no queue to come back: the job goes back when this builder
        // starts again (the queue gives back its leases) or its lease runs out.
        if (!(err instanceof QueueUnreachable) || Date.now() > deadline || this.stopping) throw err;
        this.log(`${err.message}; handing in again in 2 s`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  /** Retries fn until the queue answers (it starts beside the builder); says each new reason once. */
  private async until<T>(fn: () => Promise<T>): Promise<T> {
    let said = '';
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        const why = (err as Error).message;
        if (why !== said) this.log(`waiting for the queue: ${why}`);
        said = why;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private async worker(name: string, only?: WorkKind[]): Promise<void> {
    while (!this.stopping) {
      try {
        // The queue holds the request up to 20 s until there is a job: no polling delay.
        const job = await this.api.lease({ builder: name, waitSeconds: 20, ...this.offer, ...(only && { only }) });
        await this.alive();
        // One leased while the builder stops goes back at once, never run.
        if (job && this.stopping) await this.giveBack(name, job);
        else if (job) await this.tracked(name, job);
      } catch (err) {
        this.log(`${name}: ${(err as Error).message}`);
        if (!this.stopping) await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  /** Runs the job, known as running until its run ends (what stop() waits for, then gives back). */
  private async tracked(name: string, job: LeasedJob): Promise<void> {
    const run = this.run(name, job);
    this.running.set(job.id, { slot: name, job, run });
    try {
      await run;
    } finally {
      this.running.delete(job.id);
    }
  }

  /** Runs a leased job with its kind's task, streaming its log; hands in what it made, then its report. */
  private async run(name: string, job: LeasedJob): Promise<void> {
    this.log(`${name}: job ${job.id}: ${kindLabel(job.kind)} of ${job.source} ${job.version} on ${job.arch}${job.emulated ? ' (emulated)' : ''} (${job.buildArg})`);
    let heartbeat: NodeJS.Timeout | undefined;
    let pending = '';
    // One flush at a time: two appends in flight (a flooding build, a slow queue) could land out of order.
    let flushing: Promise<void> = Promise.resolve();
    const flush = () =>
      (flushing = flushing.then(async () => {
        if (!pending) return;
        const text = pending;
        pending = '';
        // The queue refuses a request over MAX_LOG_BODY bytes (413), and a second's text can be
        // more: a byte of output that is not UTF-8 is three once decoded (U+FFFD). In pieces, in order.
        try {
          for (const piece of utf8Pieces(text, MAX_LOG_BODY)) await this.api.log(job.id, name, piece);
        } catch (err) {
          this.log(`log: ${(err as Error).message}`);
        }
      }));
    const flusher = setInterval(() => void flush(), 1000);
    // Its inputs and outputs as files in a folder of this run's own (in the builder's container,
    // on a volume of its own: compose/compose.yaml), never held in the heap; named here, not
    // after the job's id, which the queue gives. Made in the try: a folder that cannot be made
    // gives the job back, as any trouble of the worker's.
    let work: string | undefined;
    let lowered: CeilingKey[] = [];
    try {
      // Its numbers checked before any is used: one out of bounds gives the job back, naming it.
      const checked = checkLease(job);
      // Within what this worker allows, the log saying what was lowered. Under qemu as the queue
      // reckons it (its time limits scaled), but by this worker's own architectures, not the lease's word.
      if (this.o.ceilings) {
        const emulated = !KINDS[checked.kind]?.anyArchitecture && !!this.o.emulated?.includes(checked.arch);
        const within = withinCeilings(checked.limits, this.o.ceilings, emulated);
        checked.limits = within.limits;
        lowered = within.lowered;
        for (const line of within.said) pending += `archive-in-a-box: ${line}\n`;
      }
      heartbeat = setInterval(() => {
        this.alive().catch(() => undefined);
        this.api.heartbeat(job.id, name).catch((err) => this.log(`heartbeat: ${err.message}`));
        // Three heartbeats per lease: one lost request does not cost the job. Not more than one a
        // second, however short a lease the queue says.
      }, Math.max(1000, Math.min(10_000, (checked.leaseMs ?? 90_000) / 3)));
      work = await mkdtemp(join(this.o.workDir ?? tmpdir(), JOB_FOLDER));
      const inDir = join(work, 'in');
      const outDir = join(work, 'out');
      await mkdir(inDir);
      const task = TASKS[job.kind];
      const result = await task({
        job: checked,
        api: this.api,
        docker: this.docker!,
        worker: {
          name: this.o.name, labels: this.o.labels, repoUrl: this.o.repoUrl, repoCa: this.o.repoCa, network: this.o.network, buildenvs: this.o.buildenvs,
          native: this.o.architectures?.find((a) => !this.o.emulated?.includes(a)),
        },
        log: (text) => {
          pending += text;
        },
        inDir,
        outDir,
      });
      // Stopping, its containers were removed: what the task says of it is not the package's.
      if (this.stopping) throw new Error(this.stopping);
      const tracked = this.running.get(job.id);
      if (tracked) tracked.handingIn = true;
      clearInterval(flusher);
      await flush();
      for (const file of result.outputs) await this.handIn(() => this.api.artifact(job.id, name, file, join(outDir, file)));
      await this.handIn(() => this.api.complete(job.id, name, job.kind, blameCeiling(result.report, lowered, this.o.name)));
      this.log(`${name}: job ${job.id}: ${result.summary}`);
    } catch (err) {
      // Not the package's fault (engine, network, queue): hand the job back to be tried again;
      // unless the queue refused what it made, which another run would make again. Stopping,
      // its containers removed: back, saying so, whatever the task made of that.
      const report = this.stopping ? { outcome: 'give-back' as const, reason: this.stopping } : reportAfterHandInError(err);
      this.log(`${name}: job ${job.id}: ${report.outcome === 'failed' ? 'failed' : 'giving it back'}: ${report.reason}`);
      clearInterval(flusher);
      pending += `\narchive-in-a-box: ${report.outcome === 'failed' ? 'job failed' : 'builder problem, job given back'}: ${report.reason}\n`;
      await flush();
      await this.api.complete(job.id, name, job.kind, report).catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
      clearInterval(flusher);
      if (work) await rm(work, { recursive: true, force: true });
    }
  }
}

/**
 * `text` in pieces of at most `maxBytes` bytes each as UTF-8, in order, each cut between two
 * characters, never inside one (nor between the halves of a surrogate pair): joined, they are
 * the text as it would be sent whole. maxBytes is at least 4, the most a character takes.
 */
export function utf8Pieces(text: string, maxBytes: number): string[] {
  if (!(maxBytes >= 4)) throw new RangeError(`utf8Pieces: maxBytes ${maxBytes} is less than 4, the bytes a character may take`);
  if (Buffer.byteLength(text) <= maxBytes) return text ? [text] : [];
  const bytes = Buffer.from(text);
  const pieces: string[] = [];
  for (let start = 0; start < bytes.length; ) {
    let end = Math.min(start + maxBytes, bytes.length);
    // Back to the first byte of the character the cut falls in (its others are 10xxxxxx).
    while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
    pieces.push(bytes.toString('utf8', start, end));
    start = end;
  }
  return pieces;
}

/** ARCHIVE_BUILDENVS (BASE-ARCH=REF,...; on a Swarm node) as a map from base and architecture to image reference. */
export function parseBuildenvs(text: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq < 1 || !/@sha256:[0-9a-f]{64}$/.test(item)) throw new Error(`ARCHIVE_BUILDENVS: "${item}" is not BASE-ARCH=REGISTRY/archive/buildenv@sha256:DIGEST`);
    map[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return map;
}

/** A comma-separated list of architecture names (ARCHIVE_ARCHITECTURES, ARCHIVE_EMULATED). */
export function parseArchitectureList(text: string, variable: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.find((a) => !/^[a-z0-9][a-z0-9-]{0,31}$/.test(a));
  if (bad !== undefined) throw new Error(`${variable}: "${bad}" is not an architecture name such as arm64`);
  return list;
}

/**
 * The API token the builder's key is made from: ARCHIVE_API_TOKEN, or on a Swarm the file
 * ARCHIVE_API_TOKEN_FILE names (the service's secret, docker/swarm-spec.ts SWARM_SECRETS).
 */
export function apiTokenFromEnv(env: NodeJS.ProcessEnv): string {
  if (env.ARCHIVE_API_TOKEN) return env.ARCHIVE_API_TOKEN;
  const file = env.ARCHIVE_API_TOKEN_FILE;
  if (!file) throw new UserError('neither ARCHIVE_API_TOKEN nor ARCHIVE_API_TOKEN_FILE is set');
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UserError(`ARCHIVE_API_TOKEN_FILE ${file}: cannot read it: ${(err as Error).message}`);
  }
  if (!token) throw new UserError(`ARCHIVE_API_TOKEN_FILE ${file} is empty; expected the archive's API token`);
  return token;
}

/**
 * The builder's name: ARCHIVE_BUILDER_NAME (on a Swarm it ends in the node's host name), made a
 * worker name (core/workers.ts WORKER_NAME: lower case, letters, digits and '-', 63 at most). A
 * name that had to change (Node1, node_1, a long one) ends in a hash of the name as given, so
 * that two nodes stay two workers.
 */
export function builderNameFromEnv(env: NodeJS.ProcessEnv): string {
  const wanted = env.ARCHIVE_BUILDER_NAME || `builder-${hostname()}`;
  const name = wanted.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').replace(/-+$/, '') || 'builder';
  if (name === wanted && name.length <= 63) return name;
  return `${name.slice(0, 54).replace(/-+$/, '')}-${createHash('sha256').update(wanted).digest('hex').slice(0, 8)}`;
}

/**
 * Stops `builder` (Builder.stop) on SIGTERM (docker stop, archive down, Swarm ending its task) or
 * SIGINT (Ctrl-C), then exits: 0 once it stopped, 1 if it had not within STOPPING.deadlineMs. A
 * second signal exits at once, its jobs' containers left to the next start of a builder of
 * this name on this engine.
 */
export function stopOnSignals(builder: Builder, on: Pick<NodeJS.Process, 'on'> = process, exit: (code: number) => void = (code) => process.exit(code)): void {
  let signalled = false;
  const stop = (signal: NodeJS.Signals) => {
    if (signalled) return exit(1);
    signalled = true;
    setTimeout(() => exit(1), STOPPING.deadlineMs).unref();
    builder.stop(signal).then(
      () => exit(0),
      () => exit(1),
    );
  };
  on.on('SIGTERM', stop);
  on.on('SIGINT', stop);
}
