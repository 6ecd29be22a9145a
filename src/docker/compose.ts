// Realises a compose project through the Docker Engine API: network, containers in dependency
// order, recreated only when their configuration or image changed, then waits for health.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { DockerError, UserError } from '../errors.js';
import {
  LABEL_CONFIG_HASH,
  LABEL_PROJECT,
  LABEL_SERVICE,
  containerName,
  createOptions,
  endpoint,
  networkName,
  creationOrder,
  startOrder,
  type ComposeProject,
  type HealthcheckSpec,
  type ServiceSpec,
} from './compose-file.js';
import { dockerMessage, isNotFound, type Docker } from './engine.js';
import { imageInfo, type Progress } from './images.js';

async function ensureNetwork(docker: Docker, project: ComposeProject, network: string, labels: Record<string, string>) {
  const name = networkName(project.name, network);
  try {
    await docker.getNetwork(name).inspect();
  } catch (err) {
    if (!isNotFound(err)) throw new DockerError(`cannot inspect network ${name}: ${dockerMessage(err)}`);
    await docker.createNetwork({ Name: name, Driver: 'bridge', Internal: project.internal.includes(network), Labels: { ...labels, [LABEL_PROJECT]: project.name } });
  }
}

/**
 * The project's networks on the engine made with other settings than the compose file gives
 * (internal:, which a network cannot change): an archive of before, whose queue's network
 * reached the outside.
 */
async function changedNetworks(docker: Docker, project: ComposeProject): Promise<string[]> {
  const changed: string[] = [];
  for (const network of project.networks) {
    const name = networkName(project.name, network);
    try {
      const current = (await docker.getNetwork(name).inspect()) as { Internal?: boolean };
      if ((current.Internal ?? false) !== project.internal.includes(network)) changed.push(name);
    } catch (err) {
      if (!isNotFound(err)) throw new DockerError(`cannot inspect network ${name}: ${dockerMessage(err)}`);
    }
  }
  return changed;
}

/**
 * Waits until the engine sees the container healthy, or its healthcheck, run here while the
 * engine says it is starting, passes: engines before 25 run the first check only an interval
 * after the start (they ignore start_interval).
 */
async function waitHealthy(docker: Docker, name: string, healthcheck: HealthcheckSpec | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await docker.getContainer(name).inspect();
    const health = info.State.Health?.Status;
    if (!info.State.Running && info.State.Status !== 'restarting') {
      throw new DockerError(`container ${name} stopped (exit code ${info.State.ExitCode}):\n${await tailLogs(docker, name)}`);
    }
    if (health === undefined || health === 'healthy') return;
    if (health === 'unhealthy' || Date.now() > deadline) {
      const probe = info.State.Health?.Log?.slice(-1)[0]?.Output?.trim() ?? '';
      throw new DockerError(
        `container ${name} did not become healthy within ${timeoutMs / 1000} s (health: ${health}; last check: ${probe})\n${await tailLogs(docker, name)}`,
      );
    }
    if (info.State.Running && healthcheck && (await passesHealthcheck(docker, name, healthcheck))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs a container's healthcheck once, as the engine runs it (an exec, within its timeout); whether it passed. */
async function passesHealthcheck(docker: Docker, name: string, healthcheck: HealthcheckSpec): Promise<boolean> {
  const [kind, ...args] = healthcheck.test;
  const cmd = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', args.join(' ')] : args;
  let timer: NodeJS.Timeout | undefined;
  let stream: Duplex | undefined;
  try {
    const exec = await docker.getContainer(name).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    stream = await exec.start({ hijack: true, stdin: false });
    const output = stream;
    const ended = new Promise<boolean>((resolve) => {
      output.on('end', () => resolve(true));
      output.on('close', () => resolve(true));
      output.on('error', () => resolve(false));
      output.resume();
    });
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), healthcheck.timeoutNs / 1e6)));
    if (!(await Promise.race([ended, timedOut]))) return false;
    const done = await exec.inspect();
    return !done.Running && done.ExitCode === 0;
  } catch {
    // Not running yet, or going: the engine's own checks decide.
    return false;
  } finally {
    clearTimeout(timer);
    // A check past its timeout is not waited for; its connection goes.
    stream?.destroy();
  }
}

export async function tailLogs(docker: Docker, name: string, lines = 20): Promise<string> {
  try {
    const buf = (await docker.getContainer(name).logs({ stdout: true, stderr: true, tail: lines })) as unknown as Buffer;
    return demuxLogs(buf);
  } catch {
    return '';
  }
}

/** Docker's multiplexed log stream (8-byte frame headers) -> text. */
export function demuxLogs(buf: Buffer): string {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return i === 0 ? buf.toString() : Buffer.concat(out).toString();
}

/** Brings the project up; returns when every service with a healthcheck is healthy. */
export async function composeUp(
  docker: Docker,
  project: ComposeProject,
  labels: Record<string, string>,
  progress: Progress,
  healthTimeoutMs = 180_000,
): Promise<void> {
  const changed = await changedNetworks(docker, project);
  if (changed.length) {
    progress(`network ${changed.join(', ')}: made with other settings than the compose file's (internal:), which a network cannot change; stopping the archive to make it again`);
    await composeDown(docker, project.name, progress);
    // composeDown leaves a network something else still uses (a container not the archive's).
    const left = await changedNetworks(docker, project);
    if (left.length) {
      throw new UserError(`network ${left.join(', ')} has other settings than the compose file's (internal:) and could not be removed to be made again: a container that is not the archive's uses it (docker network inspect ${left[0]} names it); disconnect it, then archive up again`);
    }
  }
  for (const network of project.networks) await ensureNetwork(docker, project, network, labels);
  // Containers of services the project no longer has (a worker beside the queue switched off)
  // go, as `docker compose up --remove-orphans` does.
  const wanted = new Set(project.services.map((s) => s.name));
  for (const c of await docker.listContainers({ all: true, filters: { label: [`${LABEL_PROJECT}=${project.name}`] } })) {
    const service = c.Labels[LABEL_SERVICE];
    if (service && !wanted.has(service)) {
      progress(`${service}: no longer in the project, removing ${c.Names[0]?.replace(/^\//, '')}`);
      await stopAndRemove(docker, c.Id);
    }
  }
  for (const service of creationOrder(project)) {
    for (const dep of service.dependsOn) {
      if (dep.condition === 'service_healthy') await waitHealthy(docker, containerName(project.name, dep.service), project.services.find((s) => s.name === dep.service)?.healthcheck, healthTimeoutMs);
    }
    await ensureContainer(docker, project, service, labels, progress);
  }
  for (const service of startOrder(project)) {
    await waitHealthy(docker, containerName(project.name, service.name), service.healthcheck, healthTimeoutMs);
    progress(`${service.name}: healthy`);
  }
}

async function ensureContainer(docker: Docker, project: ComposeProject, service: ServiceSpec, labels: Record<string, string>, progress: Progress) {
  const image = await imageInfo(docker, service.image);
  if (!image) throw new DockerError(`image ${service.image} for service ${service.name} does not exist; it is built by archive up`);
  const options = createOptions(project, service) as { name: string; Labels: Record<string, string> };
  // The networks after the first are joined after creation, so they are not in the options.
  const hash = createHash('sha256').update(JSON.stringify(options)).update(JSON.stringify(service.networks)).update(image.id).digest('hex').slice(0, 16);
  options.Labels = { ...options.Labels, ...labels, [LABEL_CONFIG_HASH]: hash };
  const name = options.name;
  const container = docker.getContainer(name);
  let current: Awaited<ReturnType<typeof container.inspect>> | undefined;
  try {
    current = await container.inspect();
  } catch (err) {
    if (!isNotFound(err)) throw new DockerError(`cannot inspect container ${name}: ${dockerMessage(err)}`);
  }
  if (current && current.Config.Labels?.[LABEL_CONFIG_HASH] === hash) {
    if (!current.State.Running) {
      progress(`${service.name}: starting existing container ${name}`);
      await container.start();
    } else progress(`${service.name}: running, unchanged`);
    return;
  }
  if (current) {
    progress(`${service.name}: configuration or image changed, recreating ${name}`);
    await stopAndRemove(docker, name);
  } else progress(`${service.name}: creating ${name}`);
  try {
    const created = await docker.createContainer(options as never);
    for (const network of service.networks.slice(1)) {
      await docker.getNetwork(networkName(project.name, network)).connect({ Container: created.id, EndpointConfig: endpoint(service) });
    }
    await created.start();
  } catch (err) {
    const message = dockerMessage(err);
    if (/port is already allocated|address already in use/.test(message)) {
      const ports = service.ports.map((p) => `${p.hostIp}:${p.hostPort}`).join(', ');
      throw new DockerError(`cannot start ${service.name}: port ${ports} is already in use; choose another with --port N`);
    }
    throw new DockerError(`cannot start ${service.name} (${name}): ${message}`);
  }
}

/**
 * Stops a container as docker stop does, SIGTERM and, after its stop grace period (the compose
 * file's stop_grace_period, else 10 s), SIGKILL, then removes it with its own volumes: the
 * builder, stopped, removes its jobs' containers and gives the jobs back (a forced removal killed
 * it at once, and they ran on without their limits).
 */
async function stopAndRemove(docker: Docker, id: string): Promise<void> {
  const container = docker.getContainer(id);
  // (One already stopped answers 304; one gone, 404: the removal says what matters.)
  await container.stop().catch(() => undefined);
  await container.remove({ force: true, v: true });
}

/**
 * Stops and removes the project's containers and its networks; state on the host is untouched.
 * The builder first, while the queue still answers the jobs it gives back; then the others, at once.
 */
export async function composeDown(docker: Docker, project: string, progress: Progress): Promise<number> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL_PROJECT}=${project}`] } });
  const stop = (list: typeof containers) =>
    Promise.all(
      list.map((c) => {
        progress(`stopping ${c.Names[0]?.replace(/^\//, '')}`);
        return stopAndRemove(docker, c.Id);
      }),
    );
  const builder = (c: (typeof containers)[number]) => c.Labels[LABEL_SERVICE] === 'builder';
  await stop(containers.filter(builder));
  await stop(containers.filter((c) => !builder(c)));
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL_PROJECT}=${project}`] } });
  for (const n of networks) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  return containers.length;
}
