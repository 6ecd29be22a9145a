// A test archive: its own root and free port, everything it creates labelled with a run id
// and removed afterwards, so tests pass beside other archives on the same engine.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type Result } from 'execa';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'bin', 'archive.js');
export const RUN_ID = process.env.ARCHIVE_RUN_ID ?? `test-${process.pid}-${Date.now().toString(36)}`;

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolvePort(port));
    });
  });
}

export interface UpResult {
  root: string;
  project: string;
  incoming: string;
  url: string;
  publicKey: string;
  keyring: string;
  dputConfig: string;
  aptSourceHttp: string;
  aptSourceFile: string;
  seconds: number;
}

export class TestArchive {
  private constructor(
    readonly root: string,
    readonly port: number,
  ) {}

  static async create(): Promise<TestArchive> {
    const root = await mkdtemp(join(tmpdir(), 'aib-test-'));
    return new TestArchive(root, await freePort());
  }

  /** Runs the CLI as a user would; never throws, so tests can assert on failures. */
  cli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Result> {
    return execa('node', [CLI, '--root', this.root, ...args], {
      reject: false,
      env: { ARCHIVE_RUN_ID: RUN_ID, ...options.env },
      timeout: options.timeoutMs ?? 20 * 60_000,
      all: true,
    });
  }

  async up(): Promise<UpResult> {
    const result = await this.cli(['up', '--port', String(this.port), '--json']);
    if (result.exitCode !== 0) throw new Error(`archive up failed (${result.exitCode}):\n${result.all}`);
    return JSON.parse(String(result.stdout)) as UpResult;
  }

  async destroy(): Promise<void> {
    await this.cli(['down']);
    // Files the queue wrote belong to us; build logs etc. are removed with the root.
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Removes every container and network this test run labelled, whatever the tests left. */
export async function cleanupRun(): Promise<void> {
  const { stdout } = await execa('docker', ['ps', '-aq', '--filter', `label=archive-in-a-box.run-id=${RUN_ID}`], { reject: false });
  const ids = String(stdout).split('\n').filter(Boolean);
  if (ids.length) await execa('docker', ['rm', '-f', '-v', ...ids], { reject: false });
  const nets = await execa('docker', ['network', 'ls', '-q', '--filter', `label=archive-in-a-box.run-id=${RUN_ID}`], { reject: false });
  const netIds = String(nets.stdout).split('\n').filter(Boolean);
  if (netIds.length) await execa('docker', ['network', 'rm', ...netIds], { reject: false });
}

/**
 * A clean container of the suite (the locally made base image), on the host network so that
 * http://127.0.0.1:PORT/ is the archive as the user sees it. Adds the printed apt source and
 * the exported key, then runs the script.
 */
export async function inCleanContainer(up: UpResult, aptSource: string, script: string, mounts: string[] = []): Promise<Result> {
  const setup = [
    'set -e',
    `cat > /etc/apt/sources.list.d/test-archive.sources <<'EOF'\n${aptSource}EOF`,
    script,
  ].join('\n');
  return execa(
    'docker',
    [
      'run', '--rm', '--network', 'host',
      '--label', `archive-in-a-box.run-id=${RUN_ID}`,
      '-v', `${up.publicKey}:${up.keyring}:ro`,
      ...mounts.flatMap((m) => ['-v', m]),
      'archive/base:trixie', 'bash', '-c', setup,
    ],
    { reject: false, all: true, timeout: 10 * 60_000 },
  );
}
