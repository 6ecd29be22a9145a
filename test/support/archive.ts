// A test archive: its own root and free port, everything it creates labelled with a run id
// and removed afterwards, so tests pass beside other archives on the same engine.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type Result } from 'execa';
import { parseDocument } from 'yaml';
import { dput, makeSourcePackage, type PackageSpec, type SourcePackage } from './packages.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'bin', 'archive.js');
export const RUN_ID = process.env.ARCHIVE_RUN_ID ?? `test-${process.pid}-${Date.now().toString(36)}`;

/**
 * Polls fn until it returns something; throws, naming what, after timeoutMs. First after
 * `everyMs`, then each pause half as long again as the last, up to `upToMs`: most waits are for builds
 * and checks that take minutes, and a look that runs the CLI costs a node process (on a loaded
 * machine, looking every half second took a tenth of its CPU). A wait for a state that lasts
 * only seconds (a build that sleeps) gives a shorter `upToMs`.
 */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 600_000, everyMs = 500, upToMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let pause = everyMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(Math.max(everyMs, upToMs), pause * 1.5);
  }
}

/** A build as `archive status --json` shows it. */
export interface JobView {
  id: string;
  arch: string;
  state: string;
  reason?: string;
  missing?: string;
  log?: string;
  attempts: number;
  image?: string;
  depsKey?: string;
}

/** An upload as `archive status --json` shows it. */
export interface UploadView {
  source: string;
  version: string;
  state: string;
  reasons: string[];
  jobs: JobView[];
}

/** GET of a raw request path from 127.0.0.1:port (fetch() would normalise dot segments away). */
export function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

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

  /**
   * under: where the root is made (a test's own file system), else the temporary folder. qa and
   * rebuilds: the QA checks and the rebuilds a new root runs on every build stay on; off unless
   * asked, so that the suites that test something else do not spend the two cores on them.
   */
  static async create(o: { under?: string; qa?: boolean; rebuilds?: boolean } = {}): Promise<TestArchive> {
    const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false });
    if (info.exitCode !== 0) throw new Error(`the Docker engine is not reachable; run scripts/setup.sh first:\n${info.stderr}`);
    const root = await mkdtemp(join(o.under ?? tmpdir(), 'aib-test-'));
    const archive = new TestArchive(root, await freePort(), await mkdtemp(join(tmpdir(), 'aib-work-')));
    if (!o.qa || !o.rebuilds) await archive.initWithout({ qa: !o.qa, rebuilds: !o.rebuilds });
    return archive;
  }

  /** A new root, its archive.yaml as `archive init` writes it but with no QA check or no rebuilds in any suite. */
  private async initWithout(off: { qa: boolean; rebuilds: boolean }): Promise<void> {
    const init = await this.cli(['init', '--port', String(this.port)]);
    if (init.exitCode !== 0) throw new Error(`archive init failed (${init.exitCode}):\n${init.all}`);
    const file = join(this.root, 'archive.yaml');
    const doc = parseDocument(await readFile(file, 'utf8'));
    for (const suite of Object.keys((doc.toJS() as { suites: Record<string, unknown> }).suites)) {
      if (off.qa) doc.setIn(['suites', suite, 'qa'], []);
      if (off.rebuilds) doc.setIn(['suites', suite, 'rebuilds'], 'off');
    }
    await writeFile(file, doc.toString());
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

  /** The uploads `archive status --json` shows. */
  async uploads(): Promise<UploadView[]> {
    return (JSON.parse(String((await this.cli(['status', '--json'])).stdout)) as { uploads: UploadView[] }).uploads;
  }

  /** The latest upload of SOURCE VERSION in the status, if any. */
  async upload(source: string, version: string): Promise<UploadView | undefined> {
    return (await this.uploads()).filter((u) => u.source === source && u.version === version).pop();
  }

  /** A source package made in a folder of its own under the scratch folder. */
  async make(spec: PackageSpec): Promise<SourcePackage> {
    return makeSourcePackage(await mkdtemp(join(this.work, `${spec.name}-`)), spec);
  }

  /** A source package made (or given) and uploaded with dput to the archive `up` started. */
  async send(up: UpResult, spec: PackageSpec, pkg?: SourcePackage): Promise<SourcePackage> {
    pkg ??= await this.make(spec);
    await dput(up.dputConfig, 'archive', pkg.changesPath, pkg.dir);
    return pkg;
  }

  private project?: string;

  /** env: for the containers too (ARCHIVE_FAILPOINTS). */
  async up(env?: Record<string, string>): Promise<UpResult> {
    const result = await this.cli(['up', '--port', String(this.port), '--json'], { env });
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
 * A clean container of the suite (the locally made base image; another architecture's, such as
 * archive/base:trixie-arm64, runs under qemu), on the host network so that
 * http://127.0.0.1:PORT/ is the archive as the user sees it. Adds the printed apt source and
 * the exported key, then runs the script.
 */
export async function inCleanContainer(up: UpResult, aptSource: string, script: string, mounts: string[] = [], image = 'archive/base:trixie'): Promise<Result> {
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
      image, 'bash', '-c', setup,
    ],
    { reject: false, all: true, timeout: 10 * 60_000 },
  );
}

/**
 * apt-get update in a clean container, again and again until stop(): counts the runs and the
 * failed ones (any error, a hash or size mismatch, a mirror-sync message), with their output.
 */
export function aptUpdateLoop(up: UpResult, aptSource: string): { stop(): Promise<{ updates: number; failed: number; output: string }> } {
  const stopDir = mkdtemp(join(tmpdir(), 'aib-stop-'));
  const loop = [
    'n=0; failed=0',
    'while [ ! -e /stop/now ]; do',
    '  if apt-get update -q --error-on=any -o Acquire::http::No-Cache=true >/tmp/out 2>&1 && ! grep -Eq "Hash Sum mismatch|unexpected size|Mirror sync|^E:" /tmp/out; then :; else failed=$((failed+1)); cat /tmp/out; fi',
    '  n=$((n+1))',
    'done',
    'echo "UPDATES $n FAILED $failed"',
  ].join('\n');
  const client = stopDir.then((dir) => inCleanContainer(up, aptSource, loop, [`${dir}:/stop`]));
  return {
    async stop() {
      const dir = await stopDir;
      await writeFile(join(dir, 'now'), '');
      const result = await client;
      await rm(dir, { recursive: true, force: true });
      const m = String(result.all).match(/UPDATES (\d+) FAILED (\d+)/);
      if (!m) throw new Error(`the apt-get update loop did not finish (exit ${result.exitCode}):\n${result.all}`);
      return { updates: Number(m[1]), failed: Number(m[2]), output: String(result.all) };
    },
  };
}

/** The archive's public key as a binary keyring gpgv reads, in dir. */
export async function archiveKeyring(up: UpResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const keyring = join(dir, 'archive.gpg');
  await execa('gpg', ['--batch', '--yes', '--dearmor', '--output', keyring, up.publicKey]);
  return keyring;
}

export interface ServedFile {
  path: string;
  size: number;
  sha256: string;
}

/**
 * A suite as apt checks it, over HTTP: InRelease signed by the archive key (gpgv against that
 * key alone), and every file its SHA256 list names served with that size and hash (byHash: at
 * by-hash/SHA256/HASH, as apt fetches them). Throws, saying what is wrong; returns the list.
 */
export async function verifyServedSuite(up: UpResult, suite: string, keyring: string, o: { byHash?: boolean } = {}): Promise<{ inRelease: string; files: ServedFile[] }> {
  const res = await fetch(`${up.url}dists/${suite}/InRelease`);
  if (!res.ok) throw new Error(`dists/${suite}/InRelease: HTTP ${res.status}`);
  const inRelease = Buffer.from(await res.arrayBuffer());
  const file = join(await mkdtemp(join(tmpdir(), 'aib-inrelease-')), 'InRelease');
  await writeFile(file, inRelease);
  const verify = await execa('gpgv', ['--keyring', keyring, file], { reject: false, all: true });
  await rm(join(file, '..'), { recursive: true, force: true });
  if (verify.exitCode !== 0) throw new Error(`dists/${suite}/InRelease: not signed by the archive key:\n${verify.all}\n${inRelease}`);
  const text = inRelease.toString();
  const files = [...(text.split('SHA256:')[1] ?? '').matchAll(/^ ([0-9a-f]{64}) +(\d+) (\S+)$/gm)].map(([, sha256, size, path]) => ({ path, size: Number(size), sha256 }));
  if (files.length === 0) throw new Error(`dists/${suite}/InRelease lists no SHA256 files:\n${text}`);
  for (const f of files.filter((f) => !(o.byHash && f.path.endsWith('/Release')))) {
    const at = o.byHash ? `${f.path.slice(0, f.path.lastIndexOf('/'))}/by-hash/SHA256/${f.sha256}` : f.path;
    const got = await fetch(`${up.url}dists/${suite}/${at}`);
    if (!got.ok) throw new Error(`dists/${suite}/${at} (${f.path} in InRelease): HTTP ${got.status}`);
    const body = Buffer.from(await got.arrayBuffer());
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (body.length !== f.size || sha256 !== f.sha256) {
      throw new Error(`dists/${suite}/${at}: ${body.length} bytes, sha256 ${sha256}; InRelease says ${f.size} bytes, sha256 ${f.sha256}`);
    }
  }
  return { inRelease: text, files };
}
