// A build's containers run within its limits: a log cap, a wall-clock limit, a stall timeout
// and what they may write to disk. Past one, the container is killed and the log says why.
import type { RunnerContainer } from '../container-runner.js';
import type { BuildLimits } from './build.js';

/**
 * Passes a container's output on to the log until it passes the log cap; kills the container
 * when it does, when it has written more than its disk limit, or when kill() is called (a time
 * limit), saying why in the log.
 */
class Watch {
  killed?: string;
  private bytes = 0;
  lastOutput = Date.now();
  private retry?: NodeJS.Timeout;
  private over = false;
  private tries = 0;
  private diskClock?: NodeJS.Timeout;
  private diskUnknown = false;
  private giveUp!: (err: Error) => void;
  /** Rejects when the engine could not kill the container, tried KILLING.tries times: the run is then abandoned (the job goes back). */
  readonly failed = new Promise<never>((_, reject) => (this.giveUp = reject));

  constructor(
    private readonly container: RunnerContainer,
    private readonly onLog: (t: string) => void,
    private readonly limits: BuildLimits,
    /** What runs, for the log: "the build", "installing the build-dependencies". */
    private readonly what: string,
  ) {
    this.failed.catch(() => undefined); // (raced by whoever runs the container; never unhandled)
  }

  /** From now until end(), what the container wrote is counted every DISK_CHECK.intervalMs. */
  watchDisk() {
    this.diskClock = setInterval(() => void this.checkDisk(), DISK_CHECK.intervalMs);
  }

  /**
   * The engine's count of what the container wrote (its layer, its /build volume), against
   * builds.disk_gib: a watchdog, not a quota (the engine here has none to give), so a build may
   * pass the limit by what it writes between two counts. A count the engine could not make is
   * said once in the log and made again at the next.
   */
  private async checkDisk() {
    let bytes: number | undefined;
    try {
      bytes = await this.container.diskUsage();
    } catch (err) {
      if (!this.diskUnknown && !this.over) this.onLog(`\narchive-in-a-box: the engine could not count what ${this.what} wrote to disk (${(err as Error).message}); counted again in ${duration(DISK_CHECK.intervalMs)}\n`);
      this.diskUnknown = true;
      return;
    }
    if (bytes !== undefined && bytes > this.limits.diskBytes) this.kill(pastDiskLimit(this.what, this.limits));
  }

  kill(why: string) {
    if (this.killed || this.over) return;
    this.killed = why;
    // The log says why it ends here (a capped log is otherwise just cut off).
    this.onLog(`\narchive-in-a-box: build stopped: ${why}\n`);
    this.tryKill();
  }

  /**
   * A kill the engine could not make (a call that failed, a process it could not stop, a call it
   * did not answer within KILLING.answerMs) is tried again until the container ends,
   * KILLING.tries times in all; then the run is given up.
   */
  private tryKill() {
    answeredWithin(this.container.kill(), 'the engine did not answer the kill').catch((err: Error) => {
      if (this.over) return;
      if (++this.tries === 1) this.onLog(`archive-in-a-box: the engine could not stop it (${err.message}); trying again\n`);
      if (this.tries >= KILLING.tries) this.giveUp(new Error(`the engine could not stop the build's container after ${this.tries} tries: ${err.message}`));
      else this.retry = setTimeout(() => this.tryKill(), KILLING.retryMs);
    });
  }

  /** The container (or command) ended: nothing more to kill. */
  end() {
    this.over = true;
    clearTimeout(this.retry);
    clearInterval(this.diskClock);
  }

  output(c: Buffer) {
    this.lastOutput = Date.now();
    this.bytes += c.length;
    if (this.bytes > this.limits.logCapBytes) this.kill(`the build log passed its cap of ${size(this.limits.logCapBytes)}; the rest of the output was dropped`);
    else if (!this.killed) this.onLog(c.toString());
  }
}

/**
 * How long after a kill that failed it is tried again, how long a kill may go unanswered (the
 * engine's own wait for the end is 10 s), and how many tries before the run is given up: a few
 * minutes in all (tests shorten them).
 */
export const KILLING = { retryMs: 2000, answerMs: 30_000, tries: 15 };

/** What the engine does, or an error "`unanswered` within N s" once KILLING.answerMs pass without its answer. */
function answeredWithin<T>(call: Promise<T>, unanswered: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${unanswered} within ${Math.round(KILLING.answerMs / 1000)} s`)), KILLING.answerMs);
  });
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
}

/** The longest delay a timer holds (about 24.8 days): given more, Node fires it after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `due` once Date.now() reaches `deadline`, however far off: a timer of at most
 * MAX_TIMER_MS, set again until the deadline is reached. Returns what cancels it.
 */
export function atDeadline(deadline: number, due: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = deadline - Date.now();
    timer = setTimeout(() => (deadline - Date.now() > 0 ? arm() : due()), Math.min(Math.max(0, left), MAX_TIMER_MS));
  };
  arm();
  return () => clearTimeout(timer);
}

/** How often what a running container wrote to disk is counted (tests shorten it). */
export const DISK_CHECK = { intervalMs: 10_000 };

/** "3 min", or "6 s" for the short limits tests configure (rounding those to minutes said "0 min"). */
function duration(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

function pastDiskLimit(what: string, limits: BuildLimits): string {
  return `${what} wrote past the disk limit of ${size(limits.diskBytes)} (builds.disk_gib)`;
}

/**
 * Stops a container whose commands have ended (and with it what they left running: a maintainer
 * script's detached process) and counts afresh what it wrote, before its layer is kept as an
 * image: the watch counts only every DISK_CHECK.intervalMs while a command runs, and a postinst
 * that passed the limit quicker (a sparse file of terabytes, made in an instant) would be copied
 * whole by the commit, onto the engine's disk. Why it is past the limit (said in the log), or
 * undefined. Throws when the engine could not stop it or count.
 */
export async function stopWithinDiskLimit(container: RunnerContainer, onLog: (t: string) => void, limits: BuildLimits, what: string): Promise<string | undefined> {
  await answeredWithin(container.kill().catch(() => undefined).then(() => container.wait()), `the engine did not stop the container of ${what}`);
  const bytes = await container.diskUsage({ fresh: true });
  if (bytes === undefined || bytes <= limits.diskBytes) return undefined;
  const why = pastDiskLimit(what, limits);
  onLog(`\narchive-in-a-box: build stopped: ${why}\n`);
  return why;
}

/** "20 GiB", "51 MiB", "512 KiB": a limit as archive.yaml's settings would say it. */
function size(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  return bytes >= 1024 ** 2 ? `${Math.round(bytes / 1024 ** 2)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

/**
 * Runs a command in a running container, streaming its output within the log cap, until the
 * deadline (then the container is killed, and `killed` says why); returns exit code and output.
 */
export async function execWithinLimits(
  container: RunnerContainer,
  script: string,
  onLog: (t: string) => void,
  limit: { deadline: number; limits: BuildLimits; what: string },
  /** Which 4 MiB of the output to return when there is more: the first (apt's answers) or the last (a summary printed at the end). */
  keep: 'head' | 'tail' = 'head',
): Promise<{ exitCode: number; output: string; killed?: string }> {
  const watch = new Watch(container, onLog, limit.limits, limit.what);
  const max = 4 * 1024 * 1024;
  let output = '';
  const exec = await container.exec(['bash', '-c', script], (c) => {
    if (keep === 'tail') output = (output + c.toString()).slice(-max);
    else if (output.length < max) output += c.toString();
    watch.output(c);
  });
  watch.watchDisk();
  const cancel = atDeadline(limit.deadline, () => watch.kill(`${limit.what} ran past the time limit of ${duration(limit.limits.timeoutMs)} (builds.timeout_minutes)`));
  try {
    // A container killed for its limits may cut the stream short.
    await Promise.race([
      exec.ended.catch((err: unknown) => {
        if (!watch.killed) throw err;
      }),
      watch.failed,
    ]);
  } finally {
    cancel();
    watch.end();
  }
  return { exitCode: await exec.exitCode(), output, killed: watch.killed };
}

/**
 * Runs a created container to its end, streaming its output, enforcing time, stall, log and disk
 * limits; `what` runs, for the reasons ("the build", "the lintian check", "diffoscope").
 */
export async function runWithinLimits(container: RunnerContainer, onLog: (t: string) => void, limits: BuildLimits, what = 'the build'): Promise<{ exitCode: number; killed?: string }> {
  const watch = new Watch(container, onLog, limits, what);
  await container.attach((c) => watch.output(c));
  await container.start();
  watch.watchDisk();
  const started = Date.now();
  const clock = setInterval(() => {
    if (Date.now() - started > limits.timeoutMs) watch.kill(`${what} ran past its time limit of ${duration(limits.timeoutMs)} (builds.timeout_minutes)`);
    else if (Date.now() - watch.lastOutput > limits.stallMs) watch.kill(`${what} printed nothing for ${duration(limits.stallMs)} (stalled; builds.stall_minutes)`);
  }, Math.min(1000, limits.stallMs / 4));
  try {
    const exitCode = await Promise.race([container.wait(), watch.failed]);
    // Ended: nothing to kill from here (a limit reached in the moment below would not be its).
    clearInterval(clock);
    watch.end();
    // A moment for output still on its way when the end is reported.
    await new Promise((r) => setTimeout(r, 100));
    return { exitCode, killed: watch.killed };
  } finally {
    clearInterval(clock);
    watch.end();
  }
}
