// One error class per kind (DESIGN.md); only cli/main.ts turns them into exit codes.

/** Something the user can fix: bad arguments, bad config, a port in use. Exit 2. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** An upload failed one or more checks; each reason names the file, what and why. */
export class UploadRejected extends Error {
  constructor(readonly reasons: string[]) {
    super(reasons.join('\n'));
    this.name = 'UploadRejected';
  }
}

/** An external program (gpg, dpkg-deb, debootstrap, ...) failed. Exit 3. */
export class CommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly output: string,
  ) {
    const tail = output.trim().split('\n').slice(-15).join('\n');
    super(`${command} failed${exitCode === undefined ? '' : ` with exit code ${exitCode}`}${tail ? `:\n${tail}` : ''}`);
    this.name = 'CommandFailed';
  }
}

/** A program killed (SIGKILL) because it ran longer than its caller allows (run's timeoutMs). */
export class CommandTimedOut extends CommandFailed {
  constructor(
    command: string,
    readonly afterMs: number,
    output: string,
  ) {
    super(`${command} (killed: still running after ${afterMs / 1000} s, the most it is given)`, undefined, output);
    this.name = 'CommandTimedOut';
  }
}

/** The Docker engine is unreachable or refused an operation. Exit 4. */
export class DockerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DockerError';
  }
}

/** A command that ran but whose answer is "no" (wait: rejected or timed out; doctor: a check failed). */
export class Unsuccessful extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'Unsuccessful';
  }
}

/** An error's message (or whatever was thrown, as text), its first line only: for an answer or a reason, the stack left to the log. */
export const firstLine = (err: unknown): string => ((err as Error)?.message ?? String(err)).split('\n')[0];

/**
 * `err` naming `path` when it names no file, as a failed write's ("ENOSPC: no space left on
 * device, write") does not; its code, errno and syscall kept, by which the queue tells a full disk
 * that passes from an error of what it was handed (daemons/queue/passing-errors.ts).
 */
export function namingFile(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || !e.code || e.path) return err;
  return Object.assign(new Error(`${e.message} '${path}'`, { cause: err }), { code: e.code, errno: e.errno, syscall: e.syscall, path });
}
