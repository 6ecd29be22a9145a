// Images are made here, never pulled: the base by debootstrap + import, the rest by
// `docker build` of a context whose content hash is kept as a label, so a changed source
// (or a new base underneath) rebuilds and an unchanged one is reused.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, appendFile, mkdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { DockerError } from '../errors.js';
import { DOCKER_PLATFORMS } from '../debian/architectures.js';
import { debootstrap } from '../process/debian-tools.js';
import { listBuildContext, packBuildContext, type BuildContext } from './build-context.js';
import type { BuildSpec } from './compose-file.js';
import { dockerMessage, followProgress, isNotFound, type Docker } from './engine.js';

export const LABEL_SOURCE_REVISION = 'archive-in-a-box.source-revision';
/** The build context's content hash and file stamps when the image was built (build-context.ts). */
const LABEL_CONTEXT_HASH = 'archive-in-a-box.context-hash';
const LABEL_CONTEXT_STAMPS = 'archive-in-a-box.context-stamps';
export const LABEL_SUITE = 'archive-in-a-box.suite';
export const LABEL_CREATED = 'archive-in-a-box.created';

export type Progress = (line: string) => void;

export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
  created: string;
}

export async function imageInfo(docker: Docker, name: string): Promise<ImageInfo | undefined> {
  try {
    const info = await docker.getImage(name).inspect();
    return { id: info.Id, labels: info.Config?.Labels ?? {}, created: info.Created };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new DockerError(`cannot inspect image ${name}: ${dockerMessage(err)}`);
  }
}

/**
 * The base image of a Debian release: `archive/base:trixie` is the engine's own architecture
 * (the archive's services are built on it); `archive/base:trixie-arm64` one architecture's, for
 * its build environment (the engine's own is the same image under a second tag).
 */
export function baseImageName(suite: string, arch?: string): string {
  return `archive/base:${suite}${arch ? `-${arch}` : ''}`;
}

/** What ensureBaseImage makes: the engine's own architecture, or another one's with its Docker platform. */
export interface BaseArch {
  arch: string;
  /** The engine's own architecture: the plain base image, tagged once more. */
  native: boolean;
}

/**
 * The base image of a Debian release: debootstrap --variant=minbase into a folder, then
 * `docker import`. Debootstrap needs root (or fakechroot); the error says so. Another
 * architecture's is debootstrapped for it (its second stage runs under qemu, through
 * binfmt_misc) and imported with its platform.
 */
export async function ensureBaseImage(docker: Docker, suite: string, progress: Progress, of?: BaseArch, workDir = '/var/tmp'): Promise<string> {
  if (of?.native) {
    const id = await ensureBaseImage(docker, suite, progress, undefined, workDir);
    await docker.getImage(id).tag({ repo: 'archive/base', tag: `${suite}-${of.arch}` });
    return id;
  }
  const arch = of?.arch;
  const name = baseImageName(suite, arch);
  const existing = await imageInfo(docker, name);
  if (existing) return existing.id;
  const platform = arch ? DOCKER_PLATFORMS[arch] : undefined;
  if (arch && !platform) throw new DockerError(`${arch}: no Docker platform is known for this architecture (known: ${Object.keys(DOCKER_PLATFORMS).join(', ')})`);
  progress(`base image ${name}: debootstrap --variant=minbase${arch ? ` --arch=${arch}` : ''} ${suite} (${arch ? 'minutes under emulation' : 'about a minute'})`);
  await mkdir(workDir, { recursive: true });
  const dir = await mkdtemp(join(workDir, `aib-debootstrap-${suite}-`));
  try {
    let packages = 0;
    await debootstrap(suite, dir, arch, (line) => {
      // Show the phases and a count, not hundreds of "I: Retrieving" lines.
      if (/^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) /.test(line)) {
        packages++;
        if (packages % 50 === 0) progress(`base image ${name}: ${line.replace(/^I: /, '')} (${packages} steps)`);
      } else if (/^(I: (Retrieving Release|Resolving|Checking|Found|Installing|Base system installed)|W: |E: )/.test(line)) {
        progress(`base image ${name}: ${line}`);
      }
    });
    progress(`base image ${name}: importing into Docker`);
    const tar = spawn('tar', ['--numeric-owner', '-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const tarDone = new Promise<void>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar of ${dir} exited with ${code}`))));
    });
    const stream = await docker.importImage(tar.stdout as unknown as string, {
      repo: 'archive/base',
      tag: name.slice('archive/base:'.length),
      ...(platform ? { platform } : {}),
      changes: [
        `LABEL ${LABEL_SUITE}=${suite}`,
        `LABEL ${LABEL_CREATED}=${new Date().toISOString()}`,
        'ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8',
        'CMD ["bash"]',
      ],
    } as Record<string, unknown>);
    await followProgress(docker, stream, () => undefined);
    await tarDone;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const made = await imageInfo(docker, name);
  if (!made) throw new DockerError(`importing ${name} reported success but the image is not there`);
  progress(`base image ${name}: ready`);
  return made.id;
}

/** How large the image builds' log may grow before the next build's output starts it anew. */
export const BUILD_LOG_LIMIT = 8 * 1024 * 1024;

/**
 * Appends an image build's output to the builds' log (a path, or /proc/self/fd/N of one held
 * open), under a line naming the image and the time; a log past BUILD_LOG_LIMIT is emptied
 * first (each rebuild added its whole output, for as long as the archive lived).
 */
export async function appendBuildLog(logFile: string, name: string, lines: string[]): Promise<void> {
  const size = (await stat(logFile).catch(() => undefined))?.size ?? 0;
  const earlier = size > BUILD_LOG_LIMIT ? `(earlier builds' output removed: the log had passed ${BUILD_LOG_LIMIT / 1024 / 1024} MiB)\n` : '';
  if (earlier) await truncate(logFile, 0);
  await appendFile(logFile, `${earlier}=== image ${name}, ${new Date().toISOString()}\n${lines.join('\n')}\n`);
}

/**
 * Builds `name` from a context when it is missing or stale. Stale means: the context's files,
 * the Dockerfile, the build arguments or an image named by an argument changed.
 */
export async function ensureBuiltImage(
  docker: Docker,
  name: string,
  build: BuildSpec,
  progress: Progress,
  logFile?: string,
): Promise<{ id: string; rebuilt: boolean }> {
  const files = await listBuildContext(build.context);
  const existing = await imageInfo(docker, name);
  // Nothing in the context written since the image was built: its contents are the ones hashed
  // then, and are not read again (3,000 files and 50 MiB for the tool image: 1.5 s of every up).
  let context: BuildContext | undefined;
  const unchanged = existing?.labels[LABEL_CONTEXT_STAMPS] === files.stamps ? existing.labels[LABEL_CONTEXT_HASH] : undefined;
  const contextHash = unchanged ?? (context = await packBuildContext(files)).hash;
  const key = createHash('sha256').update(contextHash).update(build.dockerfile).update(JSON.stringify(build.args));
  for (const value of Object.values(build.args)) {
    const image = await imageInfo(docker, value).catch(() => undefined);
    if (image) key.update(image.id);
  }
  const revision = key.digest('hex');
  if (existing && existing.labels[LABEL_SOURCE_REVISION] === revision) return { id: existing.id, rebuilt: false };
  context ??= await packBuildContext(files);
  progress(`image ${name}: ${existing ? 'sources changed, rebuilding' : 'building'} (${context.files} files in context)`);
  const log: string[] = [];
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(context.tar as unknown as string, {
      t: name,
      dockerfile: build.dockerfile,
      buildargs: build.args,
      labels: { [LABEL_SOURCE_REVISION]: revision, [LABEL_CONTEXT_HASH]: context.hash, [LABEL_CONTEXT_STAMPS]: files.stamps, [LABEL_CREATED]: new Date().toISOString() },
      rm: true,
      forcerm: true,
      ...(build.platform ? { platform: build.platform } : {}),
    });
  } catch (err) {
    throw new DockerError(`building image ${name} from ${build.context}: ${dockerMessage(err)}`);
  }
  try {
    await followProgress(docker, stream, (m) => {
      const text = (m.stream ?? m.status ?? '').replace(/\n$/, '');
      if (!text) return;
      log.push(text);
      if (/^Step \d+\/\d+ :/.test(text)) progress(`image ${name}: ${text.length > 110 ? `${text.slice(0, 107)}...` : text}`);
    });
  } catch (err) {
    throw new DockerError(`building image ${name} failed: ${(err as Error).message}\n${log.slice(-20).join('\n')}`);
  } finally {
    if (logFile) await appendBuildLog(logFile, name, log).catch(() => undefined);
  }
  const built = await imageInfo(docker, name);
  if (!built) throw new DockerError(`building image ${name} reported success but the image is not there`);
  // The image it replaced, its name taken, was kept (a few hundred MiB at every change of the
  // sources) for ever. Removed when no name is left it (the engine would take a last other name,
  // a user's docker tag, away with it) and nothing refuses: a container made from it (a running
  // archive's, until up replaces it: that one stays), an image made from it.
  if (existing && existing.id !== built.id) {
    const old = (await docker.getImage(existing.id).inspect().catch(() => undefined)) as { RepoTags?: string[] } | undefined;
    if (old && (old.RepoTags ?? []).length === 0) await docker.getImage(existing.id).remove({ force: false }).catch(() => undefined);
  }
  progress(`image ${name}: ready`);
  return { id: built.id, rebuilt: true };
}
