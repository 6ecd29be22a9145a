// Programs run for their output (gpg, dpkg tools, xz, debootstrap), through node's child_process:
// execa cost every process that loaded it 16 MiB of memory and 0.15 s to load. Failures become
// CommandFailed with their output.
import { spawn } from 'node:child_process';
import { CommandFailed } from '../errors.js';

export interface RunOptions {
  /** Written to the program's standard input; without it, its input is /dev/null. */
  input?: string | Buffer;
  cwd?: string;
  /** Called with each line of combined output, for progress. */
  onLine?: (line: string) => void;
  /** Return a non-zero exit instead of throwing (for programs whose exit code is an answer, like gpgv). */
  allowFailure?: boolean;
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
}

/**
 * Starts a program with standard input from `input` (written part by part: megabytes of an index
 * are never copied into one buffer), calls `onStdout`/`onStderr` with what it writes, and resolves
 * once it has ended and both outputs are read.
 */
function spawnProgram(command: string, args: string[], o: { input?: string | Buffer | Buffer[]; cwd?: string; onStdout: (b: Buffer) => void; onStderr: (b: Buffer) => void }): Promise<Ended> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: o.cwd, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let startError: NodeJS.ErrnoException | undefined;
    child.on('error', (err) => (startError = err));
    child.stdout!.on('data', o.onStdout);
    child.stderr!.on('data', o.onStderr);
    // 'close' comes after 'exit' and after both outputs ended (and after 'error' when it could not start).
    child.on('close', (code, signal) => resolve({ code: code ?? undefined, signal, startError }));
    if (child.stdin) {
      // A program that exits before reading all of it fails below with its own message, not EPIPE.
      child.stdin.on('error', () => {});
      for (const part of Array.isArray(o.input) ? o.input : [o.input!]) child.stdin.write(part);
      child.stdin.end();
    }
  });
}

/** Why a program failed: not installed, not started, or ended with a non-zero code or by a signal (`output` then). */
function failure(command: string, args: string[], ended: Ended, output: string): CommandFailed {
  if (ended.startError?.code === 'ENOENT') return new CommandFailed(command, undefined, `${command}: not found on this machine; install it (see README.md)`);
  if (ended.startError) return new CommandFailed(`${command} ${args.join(' ')}`, undefined, ended.startError.message);
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
    onStdout: (b) => (out.push(b), feed(b)),
    onStderr: (b) => (err.push(b), feed(b)),
  });
  const stdout = Buffer.concat(out).toString();
  const stderr = Buffer.concat(err).toString();
  if (!ended.startError && (ended.code === 0 || (options.allowFailure && ended.code !== undefined))) return { stdout, stderr, exitCode: ended.code };
  throw failure(command, args, ended, `${stderr}\n${stdout}`);
}

/**
 * Runs a filter program on binary input, handing its output over chunk by chunk as it comes
 * (100 MiB of decompressed control members need never be in memory at once).
 */
export async function runFilterChunks(command: string, args: string[], input: Buffer | Buffer[], onChunk: (chunk: Buffer) => void): Promise<void> {
  const err: Buffer[] = [];
  const ended = await spawnProgram(command, args, { input, onStdout: onChunk, onStderr: (b) => err.push(b) });
  if (ended.startError || ended.code !== 0) throw failure(command, args, ended, Buffer.concat(err).toString());
}

/** Runs a filter program on binary input and returns its binary output (xz). */
export async function runFilter(command: string, args: string[], input: Buffer | Buffer[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await runFilterChunks(command, args, input, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks);
}
