// Images are made here, never pulled: the base by debootstrap + import, the rest by
// `docker build` of a context whose content hash is kept as a label, so a changed source
// (or a new base underneath) rebuilds and an unchanged one is reused.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { DockerError } from '../errors.js';
import { debootstrap } from '../process/debian-tools.js';
import { packBuildContext } from './build-context.js';
import type { BuildSpec } from './compose-file.js';
import { dockerMessage, followProgress, isNotFound, type Docker } from './engine.js';

export const LABEL_SOURCE_REVISION = 'archive-in-a-box.source-revision';
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

export function baseImageName(suite: string): string {
  return `archive/base:${suite}`;
}

/**
 * The base image of a Debian release: debootstrap --variant=minbase into a folder, then
 * `docker import`. Debootstrap needs root (or fakechroot); the error says so.
 */
export async function ensureBaseImage(docker: Docker, suite: string, progress: Progress, workDir = '/var/tmp'): Promise<string> {
  const name = baseImageName(suite);
  const existing = await imageInfo(docker, name);
  if (existing) return existing.id;
  progress(`base image ${name}: debootstrap --variant=minbase ${suite} (about a minute)`);
  await mkdir(workDir, { recursive: true });
  const dir = await mkdtemp(join(workDir, `aib-debootstrap-${suite}-`));
  try {
    let packages = 0;
    await debootstrap(suite, dir, (line) => {
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
      tag: suite,
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
  const context = await packBuildContext(build.context);
  const key = createHash('sha256').update(context.hash).update(build.dockerfile).update(JSON.stringify(build.args));
  for (const value of Object.values(build.args)) {
    const image = await imageInfo(docker, value).catch(() => undefined);
    if (image) key.update(image.id);
  }
  const revision = key.digest('hex');
  const existing = await imageInfo(docker, name);
  if (existing && existing.labels[LABEL_SOURCE_REVISION] === revision) return { id: existing.id, rebuilt: false };
  progress(`image ${name}: ${existing ? 'sources changed, rebuilding' : 'building'} (${context.files} files in context)`);
  const log: string[] = [];
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(context.tar as unknown as string, {
      t: name,
      dockerfile: build.dockerfile,
      buildargs: build.args,
      labels: { [LABEL_SOURCE_REVISION]: revision, [LABEL_CREATED]: new Date().toISOString() },
      rm: true,
      forcerm: true,
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
    if (logFile) await appendFile(logFile, `${log.join('\n')}\n`).catch(() => undefined);
  }
  const built = await imageInfo(docker, name);
  if (!built) throw new DockerError(`building image ${name} reported success but the image is not there`);
  progress(`image ${name}: ready`);
  return { id: built.id, rebuilt: true };
}
