// One build, in throwaway sibling containers:
//  1. dependencies: a container from the buildenv image, with network (the archive's deps
//     network: the local repository and the mirror, not the queue), asks apt what the
//     Build-Depends resolve to (apt-get build-dep -s). Unsatisfiable: dep-wait. The exact
//     resolved set keys a cached image; on a miss the set is installed and the container
//     committed as that image. Installing runs maintainer scripts of packages built from
//     uploads as root: only the capabilities apt and dpkg need, no-new-privileges, the
//     build's limits on memory, pids, time and log.
//  2. build: a container from that image with no network, every capability dropped,
//     no-new-privileges, a read-only root, a private /build volume, limits on memory, pids
//     and CPUs, a wall-clock and a stall timeout and a log cap; dpkg-source -x and
//     dpkg-buildpackage run as the unprivileged user "builder".
// Files go in and out through the Docker archive API, so the builder needs no host paths;
// what comes out is capped (takeOutputs).
import { PassThrough, type Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { depsKey, isUnsatisfiable, parseShowHashes, parseSimulation, parseUnmet } from '../core/apt-output.js';
import type { BuildArg } from '../core/build-plan.js';
import { DockerError } from '../errors.js';
import { depsImageName, evictDepsImages, touchDepsImage, LABEL_DEPS_KEY } from './deps-cache.js';
import { dockerMessage, type Docker } from './engine.js';
import { imageInfo } from './images.js';
import { takeOutputs } from './take-outputs.js';

export const BUILDER_UID = 2000;
export const LABEL_BUILD = 'archive-in-a-box.build';
export const LABEL_BUILDER = 'archive-in-a-box.builder';

export interface BuildLimits {
  timeoutMs: number;
  stallMs: number;
  logCapBytes: number;
  memoryBytes: number;
  pidsLimit: number;
  cpus: number;
  cacheImages: number;
  cacheBytes: number;
  /** What the builder takes out of a build: bytes per file, bytes in all, files. */
  outputFileBytes: number;
  outputBytes: number;
  outputFiles: number;
}

export const DEFAULT_LIMITS: BuildLimits = {
  timeoutMs: 3 * 3600_000,
  stallMs: 150 * 60_000,
  logCapBytes: 200 * 1024 ** 2,
  memoryBytes: 4 * 1024 ** 3,
  pidsLimit: 4096,
  cpus: 2,
  cacheImages: 20,
  cacheBytes: 20 * 1024 ** 3,
  outputFileBytes: 1024 ** 3,
  outputBytes: 2 * 1024 ** 3,
  outputFiles: 1000,
};

/**
 * The capabilities installing build-dependencies needs as root, found by installing packages
 * whose maintainer scripts add users and chown and chmod g+s their folders (uuid-runtime):
 * CHOWN, FOWNER and FSETID (dpkg and the scripts set owners, modes, setuid and setgid bits;
 * without FSETID a chown clears g+s), DAC_OVERRIDE (apt as root moves the downloads out of
 * _apt's partial/ folder), SETUID and SETGID (apt downloads as _apt; adduser). Docker's others
 * are left out: NET_RAW (sniffing the network), MKNOD, SYS_CHROOT, KILL, SETFCAP, SETPCAP,
 * NET_BIND_SERVICE, AUDIT_WRITE.
 */
export const DEPS_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETGID', 'SETUID'];

export interface LocalArchive {
  /** The Docker network the repository is reachable on, and its URL there. */
  network: string;
  url: string;
  suite: string;
  components: string[];
  /** The archive's public key, armored: apt verifies the local repository like any client. */
  key: string;
}

export interface BuildRequest {
  jobId: string;
  buildenv: string;
  dsc: string;
  arch: string;
  buildArg: BuildArg;
  files: { name: string; data: Buffer }[];
  labels: Record<string, string>;
  onLog: (text: string) => void;
  outDir: string;
  localArchive?: LocalArchive;
  limits?: Partial<BuildLimits>;
}

export type BuildResult =
  | { outcome: 'built'; outputs: string[]; image: string; depsKey: string; cached: boolean }
  | { outcome: 'failed'; reason: string; image?: string; depsKey?: string }
  | { outcome: 'dep-wait'; missing: string };

function tarOf(files: { name: string; data: Buffer; mode?: number }[], uid: number): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<Buffer>((resolve, reject) => {
    tar.on('end', () => resolve(Buffer.concat(chunks)));
    tar.on('error', reject);
  });
  for (const f of files) tar.entry({ name: f.name, size: f.data.length, mode: f.mode ?? 0o644, uid, gid: uid, mtime: new Date() }, f.data);
  tar.finalize();
  return done;
}

/**
 * Passes a container's output on to the log until it passes the log cap; kills the container
 * when it does or when kill() is called (a time limit), saying why in the log.
 */
class Watch {
  killed?: string;
  private bytes = 0;
  lastOutput = Date.now();

  constructor(
    private readonly container: Docker.Container,
    private readonly onLog: (t: string) => void,
    private readonly logCapBytes: number,
  ) {}

  kill(why: string) {
    if (this.killed) return;
    this.killed = why;
    // The log says why it ends here (a capped log is otherwise just cut off).
    this.onLog(`\narchive-in-a-box: build stopped: ${why}\n`);
    this.container.kill().catch(() => undefined);
  }

  output(c: Buffer) {
    this.lastOutput = Date.now();
    this.bytes += c.length;
    if (this.bytes > this.logCapBytes) this.kill(`the build log passed its cap of ${mib(this.logCapBytes)}; the rest of the output was dropped`);
    else if (!this.killed) this.onLog(c.toString());
  }
}

/**
 * Runs a command in a running container, streaming its output within the log cap, until the
 * deadline (then the container is killed, and `killed` says why); returns exit code and output.
 */
async function execIn(
  docker: Docker,
  container: Docker.Container,
  script: string,
  onLog: (t: string) => void,
  limit: { deadline: number; limits: BuildLimits; what: string },
): Promise<{ exitCode: number; output: string; killed?: string }> {
  const exec = await container.exec({ Cmd: ['bash', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const watch = new Watch(container, onLog, limit.limits.logCapBytes);
  let output = '';
  const out = new PassThrough();
  out.on('data', (c: Buffer) => {
    if (output.length < 4 * 1024 * 1024) output += c.toString();
    watch.output(c);
  });
  docker.modem.demuxStream(stream, out, out);
  const timer = setTimeout(
    () => watch.kill(`${limit.what} ran past the time limit of ${duration(limit.limits.timeoutMs)} (builds.timeout_minutes)`),
    Math.max(0, limit.deadline - Date.now()),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      // A container killed for its limits may cut the stream short.
      stream.on('error', (err) => (watch.killed ? resolve() : reject(err)));
    });
  } finally {
    clearTimeout(timer);
  }
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, output, killed: watch.killed };
}

/** "3 min", or "6 s" for the short limits tests configure (rounding those to minutes said "0 min"). */
function duration(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 2 ? `${Math.round(bytes / 1024 ** 2)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

/** Runs a created container to its end, streaming its output, enforcing time, stall and log limits. */
async function runToEnd(
  docker: Docker,
  container: Docker.Container,
  onLog: (t: string) => void,
  limits: BuildLimits,
): Promise<{ exitCode: number; killed?: string }> {
  const stream = await container.attach({ stream: true, stdout: true, stderr: true });
  const out = new PassThrough();
  const watch = new Watch(container, onLog, limits.logCapBytes);
  out.on('data', (c: Buffer) => watch.output(c));
  docker.modem.demuxStream(stream, out, out);
  await container.start();
  const started = Date.now();
  const clock = setInterval(() => {
    if (Date.now() - started > limits.timeoutMs) watch.kill(`the build ran past its time limit of ${duration(limits.timeoutMs)} (builds.timeout_minutes)`);
    else if (Date.now() - watch.lastOutput > limits.stallMs) watch.kill(`the build printed nothing for ${duration(limits.stallMs)} (stalled; builds.stall_minutes)`);
  }, Math.min(1000, limits.stallMs / 4));
  try {
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await new Promise((r) => setTimeout(r, 100));
    return { exitCode: StatusCode, killed: watch.killed };
  } finally {
    clearInterval(clock);
  }
}

function buildDepOptions(buildArg: BuildArg): string {
  return buildArg === '-B' ? '--arch-only ' : buildArg === '-A' ? '--indep-only ' : '';
}

const LOCAL_SOURCES_DIR = '/etc/apt/archive-in-a-box.d';

/** The apt source of the local archive, deb822 with Signed-By, like any client's. */
function localSource(local: LocalArchive): string {
  return `Types: deb\nURIs: ${local.url}\nSuites: ${local.suite}\nComponents: ${local.components.join(' ')}\nSigned-By: /etc/apt/keyrings/archive-in-a-box.asc\n`;
}

const BUILD_SCRIPT = (dsc: string, buildArg: BuildArg) => `set -e
cd /build
echo "archive-in-a-box: building as $(id -un) (uid $(id -u)); network interfaces: $(ls /sys/class/net | tr '\\n' ' ')"
dpkg-source -x ${dsc} src
cd src
dpkg-buildpackage -us -uc ${buildArg}
mkdir -p /build/out
find /build -maxdepth 1 -type f \\( -name '*.deb' -o -name '*.udeb' -o -name '*.buildinfo' -o -name '*.changes' \\) -exec mv -t /build/out {} +
echo "archive-in-a-box: build successful"
`;

type DepsOutcome = { kind: 'ready'; image: string; key: string; cached: boolean } | { kind: 'dep-wait'; missing: string } | { kind: 'failed'; reason: string };

/** Step 1: resolve, then reuse or make the build-dependency image. */
async function prepareDependencies(docker: Docker, req: BuildRequest, limits: BuildLimits, labels: Record<string, string>, containers: Docker.Container[]): Promise<DepsOutcome> {
  const buildenv = await imageInfo(docker, req.buildenv);
  if (!buildenv) throw new DockerError(`the build environment image ${req.buildenv} does not exist; archive up (or archive refresh) builds it`);
  const dsc = req.files.find((f) => f.name === req.dsc)!;
  const deps = await docker.createContainer({
    Image: req.buildenv,
    Cmd: ['sleep', 'infinity'],
    Labels: labels,
    Env: ['DEBIAN_FRONTEND=noninteractive'],
    HostConfig: {
      NetworkMode: req.localArchive?.network ?? 'bridge',
      CapDrop: ['ALL'],
      CapAdd: DEPS_CAPABILITIES,
      SecurityOpt: ['no-new-privileges'],
      Memory: limits.memoryBytes,
      PidsLimit: limits.pidsLimit,
      NanoCpus: limits.cpus * 1e9,
      Init: true,
    },
  });
  containers.push(deps);
  const files = [{ name: `tmp/deps/${req.dsc}`, data: dsc.data }];
  if (req.localArchive) {
    files.push({ name: 'etc/apt/keyrings/archive-in-a-box.asc', data: Buffer.from(req.localArchive.key) });
    files.push({ name: `${LOCAL_SOURCES_DIR.slice(1)}/archive-in-a-box.sources`, data: Buffer.from(localSource(req.localArchive)) });
  }
  await deps.putArchive(await tarOf(files, 0), { path: '/' });
  await deps.start();
  // Resolving and installing together get the build's time limit.
  const limit = { deadline: Date.now() + limits.timeoutMs, limits, what: 'installing the build-dependencies' };
  const log = req.onLog;
  const opts = buildDepOptions(req.buildArg);
  // Debian's lists come with the image (refreshed with it); only the local archive's are fetched.
  const update = req.localArchive
    ? `cp ${LOCAL_SOURCES_DIR}/*.sources /etc/apt/sources.list.d/ && apt-get update -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=${LOCAL_SOURCES_DIR} -o APT::Get::List-Cleanup=false`
    : 'true';
  log(`archive-in-a-box: resolving the build-dependencies of ${req.dsc} (${req.arch}${opts ? `, ${opts.trim()}` : ''})\n`);
  const sim = await execIn(docker, deps, `set -e\n${update}\napt-get build-dep -s ${opts}/tmp/deps/${req.dsc}`, log, limit);
  if (sim.killed) return { kind: 'failed', reason: sim.killed };
  if (sim.exitCode !== 0) {
    if (isUnsatisfiable(sim.output)) {
      const missing = parseUnmet(sim.output).join('; ') || sim.output.trim().split('\n').filter((l) => /^E:|^Error:/.test(l)).join('; ');
      return { kind: 'dep-wait', missing };
    }
    return { kind: 'failed', reason: `resolving build-dependencies failed (apt-get exit ${sim.exitCode}); see the log` };
  }
  const installs = parseSimulation(sim.output);
  const show = installs.length === 0
    ? { exitCode: 0, output: '' }
    : await execIn(docker, deps, `apt-cache show ${installs.map((p) => `'${p.name}=${p.version}'`).join(' ')} 2>/dev/null`, () => undefined, limit);
  if ('killed' in show && show.killed) return { kind: 'failed', reason: show.killed };
  if (show.exitCode !== 0) return { kind: 'failed', reason: `apt-cache show of the resolved build-dependencies failed (exit ${show.exitCode})` };
  const key = depsKey(buildenv.id, req.arch, installs, parseShowHashes(show.output));
  const cachedName = depsImageName(key);
  const cached = await imageInfo(docker, cachedName);
  if (cached) {
    await touchDepsImage(docker, key);
    log(`archive-in-a-box: build-dependencies (${installs.length} packages) from the cache: ${cachedName}\n`);
    return { kind: 'ready', image: cached.id, key, cached: true };
  }
  log(`archive-in-a-box: installing ${installs.length} build-dependencies\n`);
  const install = await execIn(
    docker,
    deps,
    `set -e\napt-get build-dep -y -q --no-install-recommends ${opts}/tmp/deps/${req.dsc}\napt-get clean\nrm -rf /tmp/deps ${LOCAL_SOURCES_DIR} /etc/apt/sources.list.d/archive-in-a-box.sources /etc/apt/keyrings/archive-in-a-box.asc`,
    log,
    limit,
  );
  if (install.killed) return { kind: 'failed', reason: install.killed };
  if (install.exitCode !== 0) {
    if (isUnsatisfiable(install.output)) return { kind: 'dep-wait', missing: parseUnmet(install.output).join('; ') };
    return { kind: 'failed', reason: `installing build-dependencies failed (apt-get exit ${install.exitCode}); see the log` };
  }
  const committed = (await deps.commit({
    repo: 'archive/deps',
    tag: key,
    comment: `build-dependencies: ${installs.map((p) => `${p.name}=${p.version}`).join(' ')}`.slice(0, 4000),
    changes: [`LABEL ${LABEL_DEPS_KEY}=${key}`, 'CMD ["bash"]'],
  } as never)) as unknown as { Id: string };
  await evictDepsImages(docker, limits.cacheImages, limits.cacheBytes, log);
  return { kind: 'ready', image: committed.Id, key, cached: false };
}

export async function runBuild(docker: Docker, req: BuildRequest): Promise<BuildResult> {
  const limits = { ...DEFAULT_LIMITS, ...req.limits };
  const labels = { ...req.labels, [LABEL_BUILD]: req.jobId };
  if (!req.files.some((f) => f.name === req.dsc)) throw new Error(`job ${req.jobId}: the .dsc ${req.dsc} was not among its files`);
  const containers: Docker.Container[] = [];
  try {
    req.onLog(`archive-in-a-box: build environment ${req.buildenv}\n`);
    const deps = await prepareDependencies(docker, req, limits, labels, containers);
    for (const c of containers.splice(0)) await c.remove({ force: true, v: true }).catch(() => undefined);
    if (deps.kind === 'dep-wait') return { outcome: 'dep-wait', missing: deps.missing };
    if (deps.kind === 'failed') return { outcome: 'failed', reason: deps.reason };

    // 2. The build: no network, no capabilities, unprivileged, read-only root.
    const build: Docker.Container = await docker.createContainer({
      Image: deps.image,
      Cmd: ['bash', '-c', BUILD_SCRIPT(req.dsc, req.buildArg)],
      User: 'builder',
      WorkingDir: '/build',
      Labels: labels,
      Env: ['HOME=/build', 'DPKG_COLORS=never', `DEB_BUILD_OPTIONS=parallel=${limits.cpus}`, 'LANG=C.UTF-8'],
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,exec,nosuid,size=2g' },
        // An anonymous volume (Source empty), removed with the container.
        Mounts: [{ Type: 'volume', Source: '', Target: '/build' }],
        Memory: limits.memoryBytes,
        PidsLimit: limits.pidsLimit,
        NanoCpus: limits.cpus * 1e9,
      },
    });
    containers.push(build);
    await build.putArchive(await tarOf(req.files, BUILDER_UID), { path: '/build' });
    const run = await runToEnd(docker, build, req.onLog, limits);
    const facts = { image: deps.image, depsKey: deps.key };
    if (run.killed) return { outcome: 'failed', reason: run.killed, ...facts };
    if (run.exitCode !== 0) return { outcome: 'failed', reason: `dpkg-buildpackage failed (exit ${run.exitCode}); see the log`, ...facts };
    const taken = await takeOutputs((await build.getArchive({ path: '/build/out/.' })) as Readable, req.outDir, limits);
    if ('refused' in taken) return { outcome: 'failed', reason: taken.refused, ...facts };
    return { outcome: 'built', outputs: taken.outputs, cached: deps.cached, ...facts };
  } catch (err) {
    throw new DockerError(`build of ${req.jobId}: ${dockerMessage(err)}`);
  } finally {
    for (const c of containers) await c.remove({ force: true, v: true }).catch(() => undefined);
  }
}

/** Removes build containers a builder of this name left behind when it stopped. */
export async function removeLeftoverBuilds(docker: Docker, builder: string): Promise<number> {
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_BUILDER}=${builder}`] } });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  return left.length;
}
