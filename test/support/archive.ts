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
    /** A scratch folder for the test's source packages, removed with the archive. */
    readonly work: string,
  ) {}

  static async create(): Promise<TestArchive> {
    const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false });
    if (info.exitCode !== 0) throw new Error(`the Docker engine is not reachable; run scripts/setup.sh first:\n${info.stderr}`);
    const root = await mkdtemp(join(tmpdir(), 'aib-test-'));
    return new TestArchive(root, await freePort(), await mkdtemp(join(tmpdir(), 'aib-work-')));
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

  private project?: string;

  async up(): Promise<UpResult> {
    const result = await this.cli(['up', '--port', String(this.port), '--json']);
    if (result.exitCode !== 0) throw new Error(`archive up failed (${result.exitCode}):\n${result.all}`);
    const up = JSON.parse(String(result.stdout)) as UpResult;
    this.project = up.project;
    return up;
  }

  /** Stops the archive, removes any build container of its own, its root and scratch folder. */
  async destroy(): Promise<void> {
    await this.cli(['down']);
    if (this.project) await removeLabelled(`archive-in-a-box.project=${this.project}`);
    for (const dir of [this.root, this.work]) await rm(dir, { recursive: true, force: true });
  }
}

async function removeLabelled(label: string): Promise<void> {
  const { stdout } = await execa('docker', ['ps', '-aq', '--filter', `label=${label}`], { reject: false });
  const ids = String(stdout).split('\n').filter(Boolean);
  if (ids.length) await execa('docker', ['rm', '-f', '-v', ...ids], { reject: false });
  const nets = await execa('docker', ['network', 'ls', '-q', '--filter', `label=${label}`], { reject: false });
  const netIds = String(nets.stdout).split('\n').filter(Boolean);
  if (netIds.length) await execa('docker', ['network', 'rm', ...netIds], { reject: false });
}

/** Removes every container and network this test run labelled, whatever the tests left. */
export function cleanupRun(): Promise<void> {
  return removeLabelled(`archive-in-a-box.run-id=${RUN_ID}`);
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
