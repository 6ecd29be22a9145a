// A worker's side of the job API (core/job-protocol.ts): each route a method, its URL made from
// the route table, every request signed with the worker's key (core/request-signature.ts), so
// the token itself never goes on the wire.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MAX_JOB_TIME_MS, NUMBER_RANGES } from '../config/config.js';
import { SIGNED_BEFORE_START, sha256Hex, signRequest } from '../core/request-signature.js';
import { JOB_ROUTES, MAX_LEASE_ANSWER, MAX_SMALL_ANSWER, routePath, type JobApi, type JobRoute, type LeaseRequest, type LeasedArchive, type LeasedJob, type WorkerOffer, type WorkerSettings } from '../core/job-protocol.js';
import { DEFAULT_LIMITS, type BuildLimits } from '../core/kinds/build.js';
import type { JobReport, WorkKind } from '../core/work-kinds.js';
import { SAFE_FILE_NAME } from '../debian/pool-path.js';

/** The queue did not answer at all (it is restarting, or the network is down). */
export class QueueUnreachable extends Error {}

/**
 * The queue refused what was sent as such (400: a name or a report it does not take; 413: over a
 * cap): the job's doing, not the worker's, so sending it again, or running the job again, is no use.
 */
export class QueueRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The report of a job whose hand-in failed with `err`: failed when the queue refused what the job
 * made (a worker that gave it back would have it run again, up to six times, for the same
 * refusal), else given back to be tried again (the engine, the network, the queue).
 */
export function reportAfterHandInError(err: unknown): { outcome: 'failed' | 'give-back'; reason: string } {
  const message = ((err as Error)?.message ?? String(err)).slice(0, 2000);
  return err instanceof QueueRefused ? { outcome: 'failed', reason: `the queue refused what the job made: ${message}` } : { outcome: 'give-back', reason: message };
}

/**
 * The most job slots a worker runs, whatever the queue says. A number, not one from this
 * machine's cores: builds.concurrency is one setting for all of an archive's workers, and one it
 * refused would not run at all. 64 builds at the default 2 CPUs and 4 GiB is 128 cores and
 * 256 GiB, more than a worker has; a number the queue sends past it (1e9) is not a slot each.
 * archive.yaml's builds.concurrency goes no higher.
 */
export const MAX_CONCURRENCY = NUMBER_RANGES.builds.concurrency.max;

/** The youngest a build environment is refreshed at, whatever the queue says: never for each job. */
export const MIN_BUILDENV_AGE_MS = 3600_000;

/**
 * The queue's answer to a start, checked: a queue elsewhere may be compromised. concurrency a
 * whole number of at least 1 (else refused, naming it), and at most MAX_CONCURRENCY.
 */
export function checkSettings(settings: WorkerSettings): WorkerSettings {
  const n = settings?.concurrency;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`the queue's settings: concurrency: expected a whole number of job slots, at least 1, found ${JSON.stringify(n)}`);
  return { ...settings, concurrency: Math.min(n, MAX_CONCURRENCY) };
}

/** An architecture, a Debian release, a suite or a component as a lease names it, as archive.yaml takes them (config.ts ARCH, NAME): lower case, digits and -. */
const LEASED_NAME = /^[a-z0-9][a-z0-9-]*$/;
const BUILD_ARGS = ['-b', '-B', '-A'];

/**
 * A lease checked before any of its numbers or names is used (a queue elsewhere may be
 * compromised: the numbers go to the disk-space check, and to Docker, where a limit of 0 is none;
 * the names go into paths, image names and the scripts run as root in a job's containers): each
 * input file's name a plain file name (SAFE_FILE_NAME) and its size a whole number of bytes, 0 or
 * more; the architecture and base plain names, the build argument -b, -B or -A; the local
 * archive, when sent, its suite and components plain names (they go into an apt sources file,
 * where a newline would add a field), nothing else of it kept; each limit a positive number, one
 * missing the default's, a time limit no more than archive.yaml gives (MAX_JOB_TIME_MS, within
 * what a timer holds), a size in bytes taken whole, a count a whole number; leaseMs, when sent, a positive number; buildenvMaxAgeMs 0 or more, raised
 * to MIN_BUILDENV_AGE_MS. Throws naming the field, and the worker gives the job back.
 */
export function checkLease(job: LeasedJob): LeasedJob {
  const refuse = (field: string, expected: string, found: unknown) => new Error(`the lease's ${field}: expected ${expected}, found ${JSON.stringify(found) ?? String(found)}`);
  if (!Array.isArray(job.files)) throw refuse('files', 'a list of input files', job.files);
  for (const f of job.files) {
    if (typeof f?.name !== 'string' || !SAFE_FILE_NAME.test(f.name)) throw refuse('input file name', 'a plain file name (letters, digits and _.~+-, not first)', f?.name);
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw refuse(`input file ${f.name}: size`, 'a whole number of bytes, 0 or more', f.size);
  }
  if (typeof job.arch !== 'string' || !LEASED_NAME.test(job.arch)) throw refuse('arch', 'an architecture name such as amd64', job.arch);
  if (typeof job.base !== 'string' || !LEASED_NAME.test(job.base)) throw refuse('base', 'a Debian release such as trixie', job.base);
  if (!BUILD_ARGS.includes(job.buildArg)) throw refuse('buildArg', '-b, -B or -A', job.buildArg);
  // Its suite and components alone: where the repository is, and the CA its certificate is
  // checked with, are the worker's own (a CA the worker was not given is not one to trust).
  let localArchive: LeasedArchive | undefined;
  const archive: unknown = job.localArchive;
  if (archive !== undefined) {
    if (typeof archive !== 'object' || archive === null || Array.isArray(archive)) throw refuse('localArchive', 'an object with a suite and components', archive);
    const { suite, components } = archive as Record<string, unknown>;
    if (typeof suite !== 'string' || !LEASED_NAME.test(suite)) throw refuse('localArchive.suite', 'a suite name such as unstable', suite);
    if (!Array.isArray(components) || !components.every((c) => typeof c === 'string' && LEASED_NAME.test(c))) throw refuse('localArchive.components', 'a list of component names such as main', components);
    localArchive = { suite, components: [...components] };
  }
  const sent: unknown = job.limits ?? {};
  if (typeof sent !== 'object' || sent === null || Array.isArray(sent)) throw refuse('limits', 'an object of build limits', sent);
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof BuildLimits)[]) {
    const value = (sent as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw refuse(`limits.${key}`, 'a positive number', value);
    if ((key === 'timeoutMs' || key === 'stallMs') && value > MAX_JOB_TIME_MS) {
      throw refuse(`limits.${key}`, `a number of milliseconds up to ${MAX_JOB_TIME_MS} (archive.yaml's most: 16 days, timeout_minutes times emulation_factor)`, value);
    }
    // Bytes and counts go to the engine, which takes whole numbers: a size in bytes is taken
    // whole (a queue of before sent disk_gib 0.3 as 322122547.2 bytes), a count must be one.
    const bytes = key.endsWith('Bytes');
    if (key !== 'timeoutMs' && key !== 'stallMs' && key !== 'cpus' && !bytes && !Number.isSafeInteger(value)) throw refuse(`limits.${key}`, 'a whole number greater than 0', value);
    if (bytes && !(value >= 1 && value <= Number.MAX_SAFE_INTEGER)) throw refuse(`limits.${key}`, `a number of bytes from 1 to ${Number.MAX_SAFE_INTEGER}`, value);
    limits[key] = bytes ? Math.floor(value) : value;
  }
  if (job.leaseMs !== undefined && (typeof job.leaseMs !== 'number' || !Number.isFinite(job.leaseMs) || job.leaseMs <= 0)) throw refuse('leaseMs', 'a positive number of milliseconds', job.leaseMs);
  const age = job.buildenvMaxAgeMs;
  if (typeof age !== 'number' || !Number.isFinite(age) || age < 0) throw refuse('buildenvMaxAgeMs', 'a number of milliseconds, 0 or more', age);
  return { ...job, limits, buildenvMaxAgeMs: Math.max(age, MIN_BUILDENV_AGE_MS), localArchive };
}

/**
 * A response's body, read up to `cap` bytes and refused past it (a queue elsewhere may be
 * compromised: one answer of gigabytes, held whole, and the worker is out of memory), or with
 * `cut`, its first `cap` bytes and a note that the rest was not read (an error's text). `what`
 * names the answer in the error.
 */
export async function readAnswer(res: Response, cap: number, what: string, o: { cut?: boolean } = {}): Promise<Buffer> {
  const over = () => new Error(`${what}: the answer is over the ${cap} bytes this worker reads of it`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > cap && !o.cut) {
    await res.body?.cancel().catch(() => undefined);
    throw over();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > cap) {
        if (!o.cut) throw over();
        chunks.push(Buffer.from(chunk.subarray(0, chunk.length - (size - cap))), Buffer.from(` … (cut at ${cap} bytes)`));
        break; // (the rest is cancelled)
      }
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    if (size > cap) throw err;
    throw new Error(`${what}: the answer broke off (${(err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError' ? 'too slow' : (err as Error).message})`);
  }
  return Buffer.concat(chunks);
}

/**
 * Refuses an answer that is a redirect (fetch with redirect: 'manual' hands it back): followed,
 * a queue elsewhere would have the worker fetch a URL it names, one on the worker's own host or
 * network, and read the answer back in the error the worker sends it.
 */
export async function refuseRedirect(res: Response, what: string): Promise<void> {
  if (res.status < 300 || res.status > 399) return;
  await res.body?.cancel().catch(() => undefined);
  throw new Error(`${what}: the answer is a redirect (${res.status}), which a worker does not follow`);
}

/** The most of an error's text the worker reads, to say it: a few lines. */
export const MAX_ERROR_TEXT = 4 * 1024;

/**
 * How long the queue has to answer. fetch's own bounds are 5 minutes without a byte: a queue that
 * sent one every few minutes (or a lease's answer a byte at a time) held a slot for ever.
 */
export interface ClientTiming {
  /**
   * Each request, its answer read: a start at once; a heartbeat well within a lease (it is sent
   * every few seconds); a log flush of up to 16 MiB; a completion after the queue checks what the
   * job made (minutes for a big build).
   */
  withinMs: { start: number; heartbeat: number; log: number; complete: number };
  /** A lease is held up to its wait, then its input files' sizes and hashes read: this beyond the wait. */
  leaseMarginMs: number;
  /** A file on its way, either way: the longest less than FILE_PROGRESS_BYTES of it may move in, and the answer may take after its last. */
  fileStallMs: number;
}

export const CLIENT_TIMING: ClientTiming = { withinMs: { start: 60_000, heartbeat: 30_000, log: 120_000, complete: 600_000 }, leaseMarginMs: 120_000, fileStallMs: 120_000 };

/**
 * What a file on its way must move within each `fileStallMs` to be waited for: a queue that sends
 * a byte a minute is given up on as one that sends none (at the defaults, at least 546 bytes a second).
 */
export const FILE_PROGRESS_BYTES = 64 * 1024;

/** A time bound that moves on as long as bytes do, FILE_PROGRESS_BYTES at a time; aborts its signal past `ms` without. */
class Stall {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private bytes = 0;
  readonly signal = this.controller.signal;

  constructor(private readonly ms: number) {
    this.restart();
  }

  /** `n` more bytes moved: the bound starts again once FILE_PROGRESS_BYTES have since it last did. */
  moved(n: number): void {
    this.bytes += n;
    if (this.bytes >= FILE_PROGRESS_BYTES) this.restart();
  }

  private restart(): void {
    this.bytes = 0;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(new DOMException('stalled', 'TimeoutError')), this.ms);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

export class JobApiClient {
  constructor(
    private readonly queueUrl: string,
    /** This worker's signing key: derived from the archive's token beside the queue, its own when enrolled. */
    private readonly key: Buffer,
    /** The name requests are signed under; slots ("NAME/2") act under it. */
    private readonly name: string,
    private readonly timing: ClientTiming = CLIENT_TIMING,
  ) {}

  /** Says the worker (re)started: the queue gives back its leases, and answers its settings (checked). */
  async start(offer: WorkerOffer): Promise<WorkerSettings> {
    const res = await this.send('start', { builder: this.name }, offer, { within: this.timing.withinMs.start });
    return checkSettings((await this.json(res, MAX_SMALL_ANSWER, 'the answer to start')) as WorkerSettings);
  }

  /** A job, or undefined when there was none within the wait. */
  async lease(request: LeaseRequest): Promise<LeasedJob | undefined> {
    const res = await this.send('lease', {}, request, { within: request.waitSeconds * 1000 + this.timing.leaseMarginMs });
    if (res.status === 204) return undefined;
    const job = (await this.json(res, MAX_LEASE_ANSWER, 'the lease')) as LeasedJob;
    // A queue from before jobs had kinds sends none: its jobs are builds.
    return { ...job, kind: job?.kind ?? 'build' };
  }

  /** A JSON answer, read up to `cap` bytes. */
  private async json(res: Response, cap: number, what: string): Promise<unknown> {
    const text = (await readAnswer(res, cap, what)).toString();
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${what}: not JSON: ${JSON.stringify(text.slice(0, 100))}`);
    }
  }

  async heartbeat(id: string, builder: string): Promise<void> {
    await this.send('heartbeat', { id }, { builder }, { within: this.timing.withinMs.heartbeat });
  }

  /**
   * One of the job's input files, written to `path` (a new file) as it arrives, never held whole:
   * its size and sha256. One longer than `maxBytes` (the size its lease lists) is cut there and
   * refused; a refused or broken one is removed.
   */
  async sourceFileTo(id: string, name: string, path: string, maxBytes: number): Promise<{ size: number; sha256: string }> {
    const stall = new Stall(this.timing.fileStallMs);
    try {
      return await this.sourceFileWithin(stall, id, name, path, maxBytes);
    } finally {
      stall.stop();
    }
  }

  private async sourceFileWithin(stall: Stall, id: string, name: string, path: string, maxBytes: number): Promise<{ size: number; sha256: string }> {
    const res = await this.send('sourceFile', { id, name }, undefined, { stall });
    const hash = createHash('sha256');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        stall.moved(chunk.length);
        size += chunk.length;
        if (size > maxBytes) done(new Error(`${name}: the queue sent more than the ${maxBytes} bytes its lease lists`));
        else done(null, (hash.update(chunk), chunk));
      },
    });
    // Made before anything is read (never over a file there), and removed if it does not end whole.
    const file = await open(path, 'wx').catch(async (err: Error) => {
      await res.body?.cancel();
      throw err;
    });
    try {
      await pipeline(Readable.fromWeb(res.body! as import('node:stream/web').ReadableStream), count, file.createWriteStream());
    } catch (err) {
      await file.close().catch(() => undefined);
      await rm(path, { force: true });
      throw stall.signal.aborted ? new QueueUnreachable(`${name}: the queue sent less than ${FILE_PROGRESS_BYTES / 1024} KiB of it in ${this.timing.fileStallMs / 1000} s`) : err;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async log(id: string, builder: string, text: string): Promise<void> {
    await this.send('log', { id, builder }, text, { within: this.timing.withinMs.log });
  }

  /**
   * A file the job made, streamed from disk: hashed first (the signature covers its sha256), then
   * sent, never held whole (a build may make two files of a gigabyte; the builder has 4 GiB).
   */
  async artifact(id: string, builder: string, name: string, path: string): Promise<void> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const { size } = await stat(path);
    // Closed whatever fetch did with it (one that failed before sending never read it).
    const stream = createReadStream(path);
    // Bounded while it moves: a queue that stops reading it (or answering after it) is given up on.
    const stall = new Stall(this.timing.fileStallMs);
    try {
      await this.send('artifact', { id, name, builder }, undefined, { stall, streamed: { sha256: hash.digest('hex'), size, stream } });
    } finally {
      stall.stop();
      stream.destroy();
    }
  }

  async complete(id: string, builder: string, kind: WorkKind, report: JobReport): Promise<void> {
    await this.send('complete', { id }, { builder, kind, ...report }, { within: this.timing.withinMs.complete });
  }

  /**
   * A request, its answer's headers awaited. `within`: how long it may take, its answer read
   * (timed from now); `stall`: bounded while bytes move instead (a file). `streamed`: a body read
   * from a file as it is sent, of that sha256 and size (`body` is then undefined).
   */
  private async send<R extends JobRoute>(
    route: R,
    params: JobApi[R]['params'],
    body: JobApi[R]['body'] | undefined,
    o: { within: number; stall?: undefined; streamed?: undefined } | { stall: Stall; within?: undefined; streamed?: { sha256: string; size: number; stream: Readable } },
  ): Promise<Response> {
    const { streamed } = o;
    const signal = o.stall ? o.stall.signal : AbortSignal.timeout(o.within!);
    const late = o.stall ? `less than ${FILE_PROGRESS_BYTES / 1024} KiB moved in ${this.timing.fileStallMs / 1000} s` : `no answer within ${o.within! / 1000} s`;
    const { method } = JOB_ROUTES[route];
    const path = routePath(route, params);
    const isJson = JOB_ROUTES[route].body === 'json';
    const data = body === undefined ? Buffer.alloc(0) : Buffer.from(isJson ? JSON.stringify(body) : (body as string | Buffer));
    // Signed as the queue will see it: the path and query after URL normalisation.
    const url = new URL(`${this.queueUrl}${path}`);
    const res = await fetch(url, {
      method,
      headers: {
        authorization: signRequest(this.key, this.name, { method, path: `${url.pathname}${url.search}`, bodySha256: streamed?.sha256 ?? sha256Hex(data) }),
        ...(isJson ? { 'content-type': 'application/json' } : {}),
        ...(streamed ? { 'content-length': String(streamed.size) } : {}),
      },
      ...(streamed
        ? { body: (Readable.toWeb(streamed.stream) as ReadableStream<Uint8Array>).pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (chunk, out) => (o.stall!.moved(chunk.length), out.enqueue(chunk)) })), duplex: 'half' }
        : { body: body === undefined ? undefined : new Uint8Array(data.buffer, data.byteOffset, data.length) }),
      signal,
      redirect: 'manual',
    } as RequestInit).catch((err: Error) => {
      throw new QueueUnreachable(`${method} ${path}: the queue cannot be reached (${signal.aborted ? late : ((err.cause as Error | undefined)?.message ?? err.message)})`);
    });
    await refuseRedirect(res, `${method} ${path}`);
    if (!res.ok && res.status !== 204) {
      const text = await readAnswer(res, MAX_ERROR_TEXT, `${method} ${path}: ${res.status}`, { cut: true }).then(String, (err: Error) => `(${err.message})`);
      const message = `${method} ${path}: ${res.status} ${text}`;
      // Signed before the queue restarted, delivered after (a connection opened while it was
      // down): sent again, it is signed again. A hand-in so refused was given back, and built again.
      if (res.status === 401 && text.includes(SIGNED_BEFORE_START)) throw new QueueUnreachable(`${message} (the queue restarted while it was on its way)`);
      throw res.status === 400 || res.status === 413 ? new QueueRefused(res.status, message) : new Error(message);
    }
    return res;
  }
}
