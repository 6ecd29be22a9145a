// Programs run for their output (gpg, dpkg tools, xz, debootstrap), through node's child_process:
// execa cost every process that loaded it 16 MiB of memory and 0.15 s to load. Failures become
// CommandFailed with their output.
import { spawn, type ChildProcess } from 'node:child_process';
import { CommandFailed, CommandTimedOut } from '../errors.js';

export interface RunOptions {
  /** Written to the program's standard input; without it, its input is /dev/null. */
  input?: string | Buffer;
  cwd?: string;
  /** Called with each line of combined output, for progress. */
  onLine?: (line: string) => void;
  /** Return a non-zero exit instead of throwing (for programs whose exit code is an answer, like gpgv). */
  allowFailure?: boolean;
  /** Kill it (SIGKILL) when it has run this long: CommandTimedOut, whatever allowFailure says. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

interface Ended {
  /** The exit code, or undefined when a signal ended the program. */
  code: number | undefined;
  signal: NodeJS.Signals | null;
  /** The program could not be started at all (ENOENT: not installed). */
  startError?: NodeJS.ErrnoException;
  /** Stopped by the caller (its output handler said so): its output closed, then killed. */
  stopped?: boolean;
  /** Killed for running longer than the caller's timeoutMs. */
  timedOut?: boolean;
}

/**
 * Filters started ahead of their use, one per command line, each waiting for its input. Starting
 * a program holds the caller's thread while the kernel copies it (node 20's libuv forks the whole
 * process: 10-25 ms for a queue of 100-200 MiB, against 1-2 ms for the program's own work on a
 * chunk of an index). The queue starts the same few filters (`xz -dc`, `xz -0 -c`) for every
 * publication, so one is started again 200 ms after each use (when a publication at 10,000
 * packages is over; a longer one may still run), and the next use finds it running. A spare
 * holds no event loop open, and ends when its input closes: with the process that started it.
 * One due while work given to `sparesAfter` runs is started once that work is over.
 */
const spares = new Map<string, ChildProcess>();
const SPARE_AFTER_MS = 200;
let running = 0;
const due: (() => void)[] = [];

/** Runs `work`; a spare due meanwhile is started after it (its start would hold the thread the work needs). */
export async function sparesAfter<T>(work: () => Promise<T>): Promise<T> {
  running++;
  try {
    return await work();
  } finally {
    if (--running === 0) for (const start of due.splice(0)) start();
  }
}

/** A program with its outputs piped, and its input piped or /dev/null. */
function startChild(command: string, args: string[], withInput: boolean, cwd?: string): ChildProcess {
  return spawn(command, args, { cwd, stdio: [withInput ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
}

/** A spare's pipes and the process itself hold the event loop (or not: an idle spare). */
function holdLoop(child: ChildProcess, hold: boolean): void {
  for (const handle of [child, child.stdin, child.stdout, child.stderr] as ({ ref(): void; unref(): void } | null)[]) {
    if (hold) handle?.ref();
    else handle?.unref();
  }
}

const spareKey = (command: string, args: string[]) => [command, ...args].join('\0');

/** Starts a spare for this command line a moment from now, unless one is waiting already. */
export function keepSpare(command: string, args: string[]): void {
  const key = spareKey(command, args);
  const start = () => {
    if (spares.has(key)) return;
    const next = startChild(command, args, true);
    // Not started (not installed): the use itself starts it again and says why.
    next.on('error', () => spares.get(key) === next && spares.delete(key));
    // Its outputs are only read once it is taken.
    next.stdin!.on('error', () => {});
    holdLoop(next, false);
    spares.set(key, next);
  };
  setTimeout(() => (running > 0 ? due.push(start) : start()), SPARE_AFTER_MS).unref();
}

/** The spare for this command line if one is running, else a new process; another spare follows. */
function takeSpare(command: string, args: string[]): ChildProcess {
  const key = spareKey(command, args);
  const spare = spares.get(key);
  spares.delete(key);
  keepSpare(command, args);
  if (spare && spare.pid !== undefined && spare.exitCode === null && spare.signalCode === null) {
    holdLoop(spare, true);
    return spare;
  }
  spare?.kill();
  return startChild(command, args, true);
}

/**
 * Starts a program with standard input from `input` (written part by part: megabytes of an index
 * are never copied into one buffer), calls `onStdout`/`onStderr` with what it writes, and resolves
 * once it has ended and both outputs are read. With `spare`, a filter started ahead is used.
 * `onStdout` returning false stops it: its output is closed and it is killed; nothing more is
 * handed over.
 */
function spawnProgram(command: string, args: string[], o: { input?: string | Buffer | Buffer[]; cwd?: string; spare?: boolean; timeoutMs?: number; onStdout: (b: Buffer) => boolean | void; onStderr: (b: Buffer) => void }): Promise<Ended> {
  return new Promise((resolve) => {
    const child = o.spare ? takeSpare(command, args) : startChild(command, args, o.input !== undefined, o.cwd);
    let startError: NodeJS.ErrnoException | undefined;
    let stopped = false;
    let timedOut = false;
    // Its outputs closed too, as when stopped: a process it started that holds them would keep 'close' from coming.
    const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('error', (err) => (startError = err));
    child.stdout!.on('data', (b: Buffer) => {
      if (stopped || o.onStdout(b) !== false) return;
      stopped = true;
      // Its output closed too: a process it started that writes there (dpkg-deb's decompressor)
      // ends at its next write, not when it is done.
      child.stdout!.destroy();
      child.kill('SIGKILL');
    });
    child.stderr!.on('data', o.onStderr);
    // 'close' comes after 'exit' and after both outputs ended (and after 'error' when it could not start).
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? undefined, signal, startError, stopped, timedOut });
    });
    if (child.stdin) {
      // A program that exits before reading all of it fails below with its own message, not EPIPE.
      child.stdin.on('error', () => {});
      // Corked: many small parts (a thousand control members) go in a few writev calls, not one write each.
      child.stdin.cork();
      for (const part of o.input === undefined ? [] : Array.isArray(o.input) ? o.input : [o.input]) child.stdin.write(part);
      child.stdin.end();
    }
  });
}

/** Why a program failed: not installed, not started, or ended with a non-zero code or by a signal (`output` then). */
function failure(command: string, args: string[], ended: Ended, output: string, timeoutMs?: number): CommandFailed {
  if (ended.startError?.code === 'ENOENT') return new CommandFailed(command, undefined, `${command}: not found on this machine; install it (see README.md)`);
  if (ended.startError) return new CommandFailed(`${command} ${args.join(' ')}`, undefined, ended.startError.message);
  if (ended.timedOut && timeoutMs !== undefined) return new CommandTimedOut(`${command} ${args.join(' ')}`, timeoutMs, output);
  const why = ended.signal ? ` (killed by ${ended.signal})` : '';
  return new CommandFailed(`${command} ${args.join(' ')}${why}`, ended.code, output);
}

export async function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let pending = '';
  const feed = (chunk: Buffer) => {
    if (!options.onLine) return;
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  };
  const ended = await spawnProgram(command, args, {
    input: options.input,
    cwd: options.cwd,
    timeoutMs: options.timeoutMs,
    onStdout: (b) => (out.push(b), feed(b)),
    onStderr: (b) => (err.push(b), feed(b)),
  });
  const stdout = Buffer.concat(out).toString();
  const stderr = Buffer.concat(err).toString();
  if (!ended.startError && !ended.timedOut && (ended.code === 0 || (options.allowFailure && ended.code !== undefined))) return { stdout, stderr, exitCode: ended.code };
  throw failure(command, args, ended, `${stderr}\n${stdout}`, options.timeoutMs);
}

/**
 * Runs a filter program on binary input (none: /dev/null), handing its output over chunk by chunk
 * as it comes (100 MiB of decompressed control members need never be in memory at once);
 * `onChunk` returning false stops the program, and this returns once it has ended. `spare`: the command
 * line is run often, always alike; keep one started ahead (see spares above).
 */
export async function runFilterChunks(command: string, args: string[], input: Buffer | Buffer[] | undefined, onChunk: (chunk: Buffer) => boolean | void, o: { spare?: boolean } = {}): Promise<void> {
  const err: Buffer[] = [];
  const ended = await spawnProgram(command, args, { input, spare: o.spare, onStdout: onChunk, onStderr: (b) => err.push(b) });
  if (ended.stopped) return;
  if (ended.startError || ended.code !== 0) throw failure(command, args, ended, Buffer.concat(err).toString());
}

/** Runs a filter program on binary input and returns its binary output (xz). */
export async function runFilter(command: string, args: string[], input: Buffer | Buffer[], o: { spare?: boolean } = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await runFilterChunks(command, args, input, (chunk) => void chunks.push(chunk), o);
  return Buffer.concat(chunks);
}
