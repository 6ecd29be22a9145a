// One build, in throwaway sibling containers:
//  1. dependencies: a container from the buildenv image, with network, installs the
//     Build-Depends (apt-get build-dep on the .dsc) as root; it is committed to an image;
//  2. build: a container from that image with no network, every capability dropped,
//     no-new-privileges, a read-only root, a private /build volume, limits on memory, pids and
//     CPUs; dpkg-source -x and dpkg-buildpackage run as the unprivileged user "builder".
// Files go in and out through the Docker archive API, so the builder needs no host paths.
import { PassThrough } from 'node:stream';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extract, pack } from 'tar-stream';
import type { BuildArg } from '../core/build-plan.js';
import { DockerError } from '../errors.js';
import { dockerMessage, type Docker } from './engine.js';

export const BUILDER_UID = 2000;
export const LABEL_BUILD = 'archive-in-a-box.build';

export interface BuildRequest {
  jobId: string;
  image: string;
  dsc: string;
  buildArg: BuildArg;
  files: { name: string; data: Buffer }[];
  labels: Record<string, string>;
  onLog: (text: string) => void;
  outDir: string;
  timeoutMs?: number;
  memoryBytes?: number;
  pidsLimit?: number;
  cpus?: number;
}

export interface BuildResult {
  ok: boolean;
  reason?: string;
  /** Files the build produced (.deb, .udeb, .buildinfo, .changes), written to outDir. */
  outputs: string[];
}

function tarOf(files: { name: string; data: Buffer }[], uid: number): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<Buffer>((resolve, reject) => {
    tar.on('end', () => resolve(Buffer.concat(chunks)));
    tar.on('error', reject);
  });
  for (const f of files) tar.entry({ name: f.name, size: f.data.length, mode: 0o644, uid, gid: uid, mtime: new Date() }, f.data);
  tar.finalize();
  return done;
}

async function untar(stream: NodeJS.ReadableStream, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const names: string[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, entry, next) => {
      const parts: Buffer[] = [];
      entry.on('data', (c) => parts.push(c as Buffer));
      entry.on('end', () => {
        const name = header.name.split('/').pop() ?? '';
        if (header.type === 'file' && /^[a-zA-Z0-9][a-zA-Z0-9_.~+-]*$/.test(name)) {
          names.push(name);
          writeFile(join(outDir, name), Buffer.concat(parts)).then(() => next(), next);
        } else next();
      });
      entry.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  stream.pipe(ex);
  await done;
  return names;
}

/** Runs a created container to its end, streaming its output; kills it at the deadline. */
async function runToEnd(docker: Docker, container: Docker.Container, onLog: (t: string) => void, timeoutMs: number): Promise<{ exitCode: number; timedOut: boolean }> {
  const stream = await container.attach({ stream: true, stdout: true, stderr: true });
  const out = new PassThrough();
  out.on('data', (c: Buffer) => onLog(c.toString()));
  docker.modem.demuxStream(stream, out, out);
  await container.start();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    container.kill().catch(() => undefined);
  }, timeoutMs);
  try {
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await new Promise((r) => setTimeout(r, 100));
    return { exitCode: StatusCode, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

const DEPS_SCRIPT = (dsc: string, buildArg: BuildArg) => `set -e
echo "archive-in-a-box: installing build-dependencies of ${dsc}"
apt-get update -q
apt-get build-dep -y -q --no-install-recommends ${buildArg === '-B' ? '--arch-only ' : buildArg === '-A' ? '--indep-only ' : ''}/tmp/deps/${dsc}
apt-get clean
rm -rf /tmp/deps /var/lib/apt/lists/*
`;

const BUILD_SCRIPT = (dsc: string, buildArg: BuildArg) => `set -e
cd /build
echo "archive-in-a-box: building as $(id -un) (uid $(id -u)), network: $(cat /sys/class/net/*/operstate 2>/dev/null | tr '\\n' ' ')"
dpkg-source -x ${dsc} src
cd src
dpkg-buildpackage -us -uc ${buildArg}
mkdir -p /build/out
find /build -maxdepth 1 -type f \\( -name '*.deb' -o -name '*.udeb' -o -name '*.buildinfo' -o -name '*.changes' \\) -exec mv -t /build/out {} +
echo "archive-in-a-box: build successful"
`;

export async function runBuild(docker: Docker, req: BuildRequest): Promise<BuildResult> {
  const timeoutMs = req.timeoutMs ?? 3 * 3600_000;
  const labels = { ...req.labels, [LABEL_BUILD]: req.jobId };
  const dsc = req.files.find((f) => f.name === req.dsc);
  if (!dsc) throw new Error(`job ${req.jobId}: the .dsc ${req.dsc} was not among its files`);
  let depsImage: string | undefined;
  const containers: Docker.Container[] = [];
  try {
    // 1. Build-dependencies, with network, as root.
    req.onLog(`archive-in-a-box: build environment ${req.image}\n`);
    const deps = await docker.createContainer({
      Image: req.image,
      Cmd: ['bash', '-c', DEPS_SCRIPT(req.dsc, req.buildArg)],
      Labels: labels,
      Env: ['DEBIAN_FRONTEND=noninteractive'],
      HostConfig: { NetworkMode: 'bridge', Memory: req.memoryBytes ?? 4 * 1024 ** 3, PidsLimit: req.pidsLimit ?? 4096 },
    });
    containers.push(deps);
    await deps.putArchive(await tarOf([{ name: `deps/${req.dsc}`, data: dsc.data }], 0), { path: '/tmp' });
    const depsRun = await runToEnd(docker, deps, req.onLog, timeoutMs);
    if (depsRun.exitCode !== 0) {
      return { ok: false, reason: `build-dependencies could not be installed (apt-get build-dep exit ${depsRun.exitCode}); see the log`, outputs: [] };
    }
    depsImage = ((await deps.commit({ comment: `build-dependencies for ${req.jobId}`, changes: 'LABEL archive-in-a-box.deps=1' })) as { Id: string }).Id;

    // 2. The build: no network, no capabilities, unprivileged, read-only root.
    const cpus = req.cpus ?? 2;
    const build: Docker.Container = await docker.createContainer({
      Image: depsImage,
      Cmd: ['bash', '-c', BUILD_SCRIPT(req.dsc, req.buildArg)],
      User: 'builder',
      WorkingDir: '/build',
      Labels: labels,
      Env: ['HOME=/build', 'DPKG_COLORS=never', `DEB_BUILD_OPTIONS=parallel=${cpus}`, 'LANG=C.UTF-8'],
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,exec,nosuid,size=2g' },
        // An anonymous volume (Source empty), removed with the container.
        Mounts: [{ Type: 'volume', Source: '', Target: '/build' }],
        Memory: req.memoryBytes ?? 4 * 1024 ** 3,
        PidsLimit: req.pidsLimit ?? 4096,
        NanoCpus: cpus * 1e9,
      },
    });
    containers.push(build);
    await build.putArchive(await tarOf(req.files, BUILDER_UID), { path: '/build' });
    const run = await runToEnd(docker, build, req.onLog, timeoutMs);
    if (run.timedOut) return { ok: false, reason: `build exceeded its time limit of ${Math.round(timeoutMs / 60000)} min`, outputs: [] };
    if (run.exitCode !== 0) return { ok: false, reason: `dpkg-buildpackage failed (exit ${run.exitCode}); see the log`, outputs: [] };
    const outputs = await untar(await build.getArchive({ path: '/build/out/.' }), req.outDir);
    return { ok: true, outputs };
  } catch (err) {
    throw new DockerError(`build of ${req.jobId}: ${dockerMessage(err)}`);
  } finally {
    for (const c of containers) await c.remove({ force: true, v: true }).catch(() => undefined);
    if (depsImage) await docker.getImage(depsImage).remove({ force: true }).catch(() => undefined);
  }
}

/** Removes build containers a crashed builder left behind. */
export async function removeLeftoverBuilds(docker: Docker, labelFilter: string): Promise<number> {
  const left = await docker.listContainers({ all: true, filters: { label: [LABEL_BUILD, labelFilter] } });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  return left.length;
}

