// Build environments kept current: an image older than its maximum age is upgraded
// (apt-get update && apt-get dist-upgrade in a container, its file system made the image of the
// same tag) before the next build; `archive refresh` does it on demand.
import { DockerError } from '../errors.js';
import { dockerMessage, followProgress, isNotFound, type Docker } from './engine.js';
import { imageInfo, LABEL_CREATED, LABEL_SOURCE_REVISION, type Progress } from './images.js';

/** A build environment's tag: its Debian release and architecture (trixie-arm64), also its key in ARCHIVE_BUILDENVS. */
export function buildenvTag(base: string, arch: string): string {
  return `${base}-${arch}`;
}

export function buildenvImageName(base: string, arch: string): string {
  return `archive/buildenv:${buildenvTag(base, arch)}`;
}

/** Age of an image made or refreshed by archive-in-a-box, from its created label. */
export async function imageAgeMs(docker: Docker, name: string, now = Date.now()): Promise<number | undefined> {
  const info = await imageInfo(docker, name);
  if (!info) return undefined;
  const created = info.labels[LABEL_CREATED] ?? info.created;
  return now - new Date(created).getTime();
}

/**
 * A worker on another node of a Swarm: the build environment made on the manager by archive up
 * --swarm, pulled by digest from the archive's registry (`ref`, REGISTRY/archive/buildenv@sha256:…;
 * a no-op when present) and tagged with the name builds use. When the registry cannot be
 * reached and the node has one already, that one is used, and the log says so.
 */
export async function pullBuildenv(docker: Docker, ref: string, base: string, arch: string, progress: Progress): Promise<void> {
  const name = buildenvImageName(base, arch);
  progress(`${name}: pulling ${ref}`);
  try {
    const stream = await docker.pull(ref, { authconfig: {} } as never);
    await followProgress(docker, stream, () => undefined);
    const [repo, tag] = name.split(':');
    await docker.getImage(ref).tag({ repo, tag });
  } catch (err) {
    if (await imageInfo(docker, name)) {
      progress(`${name}: cannot pull ${ref} (${dockerMessage(err)}); building in the one this node has`);
      return;
    }
    throw new DockerError(`cannot pull ${ref} (made by archive up --swarm on the manager): ${dockerMessage(err)}`);
  }
}

/**
 * The longest a refresh may run: an apt that hangs (a mirror that stops answering) would keep
 * every build of that environment waiting on it. An upgrade of a build environment takes
 * minutes, under qemu too.
 */
export const REFRESH_TIMEOUT_MS = 3600_000;

/**
 * Upgrades the build environment `archive/buildenv:BASE-ARCH` in a container (stopped past
 * REFRESH_TIMEOUT_MS) and makes its file system the image of that name, as one layer with the
 * image's settings (environment, labels, command, working folder). Committed over the image, each
 * refresh added a layer: Docker allows 125 (after about four months of daily refreshes every
 * commit failed, and with it every build), and each layer kept the files the upgrade replaced.
 * The image before is removed when nothing holds it (a build-dependency image made from it does,
 * until the cache lets it go). `labels` on its container: a worker's (its name under
 * LABEL_BUILDER, by which removeLeftoverBuilds finds the container after a restart), none for
 * `archive refresh`. Returns the new image's id.
 */
export async function refreshBuildenv(docker: Docker, base: string, arch: string, progress: Progress, labels: Record<string, string> = {}): Promise<string> {
  const name = buildenvImageName(base, arch);
  const before = await docker.getImage(name).inspect().catch((err) => {
    if (isNotFound(err)) return undefined;
    throw new DockerError(`cannot inspect image ${name}: ${dockerMessage(err)}`);
  });
  if (!before) throw new DockerError(`${name} does not exist yet; archive up builds it`);
  progress(`${name}: apt-get update && apt-get dist-upgrade`);
  const container = await docker.createContainer({
    Image: before.Id,
    Cmd: ['bash', '-c', 'set -e; apt-get update -q; apt-get dist-upgrade -y -q; apt-get autoremove -y -q; apt-get clean'],
    Env: ['DEBIAN_FRONTEND=noninteractive'],
    Labels: { ...labels, 'archive-in-a-box.refresh': buildenvTag(base, arch) },
  });
  let made: Awaited<ReturnType<typeof imageInfo>>;
  try {
    await container.start();
    let late = false;
    const deadline = setTimeout(() => {
      late = true;
      container.kill().catch(() => undefined);
    }, REFRESH_TIMEOUT_MS);
    const { StatusCode } = (await container.wait().finally(() => clearTimeout(deadline))) as { StatusCode: number };
    if (late) throw new DockerError(`refreshing ${name} took over ${REFRESH_TIMEOUT_MS / 60_000} minutes: stopped`);
    if (StatusCode !== 0) {
      const logs = (await container.logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
      throw new DockerError(`refreshing ${name} failed (exit ${StatusCode}):\n${logs.toString()}`);
    }
    const [repo, tag] = name.split(':');
    const platform = [before.Os, before.Architecture, (before as { Variant?: string }).Variant].filter(Boolean).join('/');
    const stream = await docker.importImage((await container.export()) as unknown as string, {
      repo,
      tag,
      platform,
      message: `refreshed ${new Date().toISOString()}`,
      changes: imageSettings({ ...before.Config, Labels: { ...before.Config?.Labels, [LABEL_CREATED]: new Date().toISOString() } }),
    } as Record<string, unknown>);
    await followProgress(docker, stream, () => undefined);
    made = await imageInfo(docker, name);
    if (!made || made.id === before.Id) throw new DockerError(`refreshing ${name}: the import reported success but the image is not there`);
  } catch (err) {
    if (err instanceof DockerError) throw err;
    throw new DockerError(`refreshing ${name}: ${dockerMessage(err)}`);
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
  // (Once its container is gone: that held it too.) With it, any an earlier refresh could not
  // remove (a check's container ran from it then), of this same build: untagged, nothing else would.
  const revision = before.Config?.Labels?.[LABEL_SOURCE_REVISION];
  const earlier = revision ? await docker.listImages({ filters: { dangling: ['true'], label: [`${LABEL_SOURCE_REVISION}=${revision}`] } }).catch(() => []) : [];
  for (const id of new Set([before.Id, ...earlier.map((i) => i.Id)])) await docker.getImage(id).remove().catch(() => undefined);
  progress(`${name}: refreshed (${made.id.slice(0, 19)})`);
  return made.id;
}

/**
 * An image's settings as the Dockerfile instructions `docker import` takes (its `changes`). Values
 * are quoted, with backslashes, `"` and `$` escaped: ENV and LABEL would otherwise expand `$NAME`.
 */
export function imageSettings(config: { Env?: string[] | null; Labels?: Record<string, string> | null; Cmd?: string[] | null; Entrypoint?: string[] | string | null; WorkingDir?: string; User?: string } | undefined): string[] {
  const quoted = (v: string) => {
    // Docker reads the changes as lines of a Dockerfile: a newline would end the instruction.
    if (/[\r\n]/.test(v)) throw new DockerError(`an image setting spans more than one line, which docker import cannot take: ${JSON.stringify(v).slice(0, 80)}`);
    return `"${v.replace(/[\\"$]/g, '\\$&')}"`;
  };
  const changes: string[] = [];
  for (const e of config?.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) changes.push(`ENV ${e.slice(0, eq)}=${quoted(e.slice(eq + 1))}`);
  }
  for (const [k, v] of Object.entries(config?.Labels ?? {})) changes.push(`LABEL ${quoted(k)}=${quoted(v)}`);
  if (config?.Entrypoint) changes.push(`ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
  if (config?.Cmd) changes.push(`CMD ${JSON.stringify(config.Cmd)}`);
  if (config?.WorkingDir) changes.push(`WORKDIR ${quoted(config.WorkingDir)}`);
  if (config?.User) changes.push(`USER ${quoted(config.User)}`);
  return changes;
}
