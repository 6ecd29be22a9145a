// The one place programs are started (execa). Failures become CommandFailed with their output.
import { execa, type Options } from 'execa';
import { CommandFailed } from '../errors.js';

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called with each line of combined output, for progress. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
  /** Return a non-zero exit instead of throwing (for programs whose exit code is an answer, like gpgv). */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const execaOptions: Options = {
    input: options.input,
    env: options.env,
    cwd: options.cwd,
    reject: false,
    timeout: options.timeoutMs,
    stripFinalNewline: false,
  };
  const child = execa(command, args, execaOptions);
  if (options.onLine) {
    let pending = '';
    const feed = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine!(line);
    };
    child.stdout?.on('data', feed);
    child.stderr?.on('data', feed);
  }
  const result = await child;
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (result.failed && !(options.allowFailure && result.exitCode !== undefined)) {
    const why = result.timedOut ? ' (timed out)' : result.isTerminated ? ` (killed by ${result.signal})` : '';
    if ((result as { code?: string }).code === 'ENOENT') {
      throw new CommandFailed(command, undefined, `${command}: not found on this machine; install it (see README.md)`);
    }
    throw new CommandFailed(`${command} ${args.join(' ')}${why}`, result.exitCode, `${stderr}\n${stdout}`);
  }
  return { stdout, stderr, exitCode: result.exitCode ?? 0 };
}

/**
 * Runs a filter program on binary input, handing its output over chunk by chunk as it comes
 * (100 MiB of decompressed control members need never be in memory at once).
 */
export async function runFilterChunks(command: string, args: string[], input: Buffer | Buffer[], onChunk: (chunk: Buffer) => void): Promise<void> {
  const child = execa(command, args, { stdin: 'pipe', encoding: 'buffer', reject: false, buffer: { stdout: false, stderr: true } });
  child.stdout!.on('data', (chunk: Buffer) => onChunk(chunk));
  // Written as it is, in its parts (execa's `input` would copy it first: megabytes for a large
  // index). A program that exits early fails below with its own message rather than with EPIPE.
  child.stdin!.on('error', () => {});
  for (const part of Array.isArray(input) ? input : [input]) child.stdin!.write(part);
  child.stdin!.end();
  const result = await child;
  if (result.failed) {
    throw new CommandFailed(`${command} ${args.join(' ')}`, result.exitCode, Buffer.from(result.stderr as Uint8Array).toString());
  }
}

/** Runs a filter program on binary input and returns its binary output (xz). */
export async function runFilter(command: string, args: string[], input: Buffer | Buffer[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await runFilterChunks(command, args, input, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks);
}
