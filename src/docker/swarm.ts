// Realises the compose project as Docker Swarm services through the Engine API, as `docker stack
// deploy -c` does: overlay networks (internal, attachable, as the file says), each service
// created or updated when its spec changed, then waited for until its tasks run (healthy). Images
// reach the other nodes through a registry the manager's engine pushes to.
import { DockerError, UserError } from '../errors.js';
import { LABEL_SERVICE, type ComposeProject, type ServiceSpec } from './compose-file.js';
import { demuxLogs } from './compose.js';
import { dockerMessage, followProgress, isNotFound, type Docker } from './engine.js';
import type { Progress } from './images.js';
import { LABEL_SPEC_HASH, LABEL_STACK, otherRoot, serviceName, serviceSecrets, swarmNetworkSpec, swarmServiceSpec, type SwarmSecret } from './swarm-spec.js';
import { readsThrough } from './engine-reads.js';
import { projectServices, type Task } from './project-status.js';

/** Refuses, before anything changes, when a service of the project is another root's (otherRoot). */
export async function checkProjectOwner(docker: Docker, project: string, ours: Record<string, string>): Promise<void> {
  for (const s of await projectServices(readsThrough(docker), project)) {
    const why = otherRoot(s, ours);
    if (why) throw new UserError(why);
  }
}

export interface SwarmManager {
  /** This engine's node: where the archive root is, so where the queue and repository run. */
  nodeId: string;
  /** The address the other nodes reach it at. */
  address: string;
}

/** The engine as a Swarm manager, or an error saying how to make it one. */
export async function swarmManager(docker: Docker): Promise<SwarmManager> {
  const info = (await docker.info()) as { Swarm?: { NodeID?: string; NodeAddr?: string; LocalNodeState?: string; ControlAvailable?: boolean } };
  const swarm = info.Swarm ?? {};
  if (swarm.LocalNodeState !== 'active' || !swarm.ControlAvailable || !swarm.NodeID || !swarm.NodeAddr) {
    throw new UserError(
      `--swarm: this Docker engine is not a Swarm manager (swarm state: ${swarm.LocalNodeState ?? 'unknown'}${swarm.LocalNodeState === 'active' ? ', a worker node' : ''}). ` +
        'Run archive up --swarm on a manager node (docker swarm init --advertise-addr ADDRESS makes this one the first).',
    );
  }
  return { nodeId: swarm.NodeID, address: swarm.NodeAddr };
}

/** The ready, active (not drained) nodes labelled K=V (a worker's placement: node.labels.K == V), by host name, sorted. */
export async function labelledNodes(docker: Docker, label: string, value: string): Promise<string[]> {
  const nodes = (await docker.listNodes()) as { Description?: { Hostname?: string }; Spec?: { Labels?: Record<string, string>; Availability?: string }; Status?: { State?: string } }[];
  return nodes
    .filter((n) => n.Spec?.Labels?.[label] === value && n.Spec?.Availability === 'active' && n.Status?.State === 'ready')
    .map((n) => n.Description?.Hostname ?? '?')
    .sort();
}

export async function ensureSwarmNetworks(docker: Docker, project: ComposeProject, labels: Record<string, string>): Promise<void> {
  for (const network of project.networks) {
    const spec = swarmNetworkSpec(project, network, labels);
    try {
      const current = (await docker.getNetwork(spec.Name as string).inspect()) as { Driver: string; Scope: string; Internal?: boolean };
      if (current.Driver !== 'overlay' || current.Scope !== 'swarm') {
        throw new UserError(`network ${spec.Name} exists as a ${current.Scope} ${current.Driver} network (archive up without --swarm made it): run archive down first`);
      }
      // A network's settings cannot change, nor can it go while services use it.
      if ((current.Internal ?? false) !== spec.Internal) {
        throw new UserError(`network ${spec.Name} was made ${current.Internal ? '' : 'not '}internal, and the compose file makes it ${spec.Internal ? '' : 'not '}internal, which a network cannot change: run archive down, then archive up --swarm again`);
      }
    } catch (err) {
      if (!isNotFound(err)) throw err instanceof UserError ? err : new DockerError(`cannot inspect network ${spec.Name}: ${dockerMessage(err)}`);
      await docker.createNetwork(spec as never);
    }
  }
}

/**
 * Creates the service, or updates it when its spec (or the image behind its local tag, `imageIds`)
 * changed; refuses one that is another root's (otherRoot).
 */
export async function deployService(docker: Docker, project: ComposeProject, service: ServiceSpec, labels: Record<string, string>, imageIds: Record<string, string>, progress: Progress): Promise<void> {
  const secretIds = await ensureSecrets(docker, project.name, serviceSecrets(project, service), labels);
  const spec = swarmServiceSpec(project, service, labels, imageIds[service.image], secretIds);
  const name = spec.Name as string;
  const hash = (spec.Labels as Record<string, string>)[LABEL_SPEC_HASH];
  let current: { Version?: { Index?: number }; Spec?: { Labels?: Record<string, string> } } | undefined;
  try {
    current = (await docker.getService(name).inspect()) as typeof current;
  } catch (err) {
    if (!isNotFound(err)) throw new DockerError(`cannot inspect service ${name}: ${dockerMessage(err)}`);
  }
  const other = current && otherRoot({ Spec: { Name: name, Labels: current.Spec?.Labels } }, labels);
  if (other) throw new UserError(other);
  try {
    if (!current) {
      progress(`${service.name}: creating service ${name}`);
      await docker.createService(spec as never);
    } else if (current.Spec?.Labels?.[LABEL_SPEC_HASH] !== hash) {
      progress(`${service.name}: configuration or image changed, updating service ${name}`);
      // The version in the query, the spec (the API token among its variables) in the body alone.
      await docker.getService(name).update({ _query: { version: current.Version?.Index }, _body: spec } as never);
    } else progress(`${service.name}: service ${name} unchanged`);
  } catch (err) {
    throw new DockerError(`cannot deploy service ${name}: ${dockerMessage(err)}`);
  }
}

interface SecretFacts {
  ID: string;
  Spec?: { Name?: string; Labels?: Record<string, string> };
}

/** Makes those of a service's secrets the Swarm does not hold yet (labelled as its services are); their ids by name. */
async function ensureSecrets(docker: Docker, project: string, secrets: SwarmSecret[], labels: Record<string, string>): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const x of secrets) {
    try {
      const found = ((await docker.listSecrets({ filters: { name: [x.name] } })) as SecretFacts[]).find((f) => f.Spec?.Name === x.name);
      ids[x.name] = found?.ID ?? ((await docker.createSecret({ Name: x.name, Data: Buffer.from(x.data).toString('base64'), Labels: { ...labels, [LABEL_STACK]: project } } as never)) as { id: string }).id;
    } catch (err) {
      throw new DockerError(`cannot make the Swarm secret ${x.name} (${x.variable}): ${dockerMessage(err)}`);
    }
  }
  return ids;
}

/**
 * Removes the project's secrets, this root's, that none of its services names (`keep`): after a
 * new API token (archive workers rotate-key), or all of them once the services are gone. One a
 * service still uses is refused by the manager, and said.
 */
export async function removeUnusedSecrets(docker: Docker, project: string, ours: Record<string, string>, keep: Set<string>, progress: Progress): Promise<void> {
  let secrets: SecretFacts[];
  try {
    secrets = (await docker.listSecrets({ filters: { label: [`${LABEL_STACK}=${project}`] } })) as SecretFacts[];
  } catch (err) {
    // 503: this engine is no Swarm manager, and holds no secrets.
    if ((err as { statusCode?: number }).statusCode === 503) return;
    throw new DockerError(`cannot list the Swarm's secrets: ${dockerMessage(err)}`);
  }
  for (const x of secrets) {
    const name = x.Spec?.Name ?? x.ID;
    if (keep.has(name) || otherRoot({ Spec: { Name: name, Labels: x.Spec?.Labels } }, ours)) continue;
    progress(`removing secret ${name}`);
    await docker
      .getSecret(x.ID)
      .remove()
      .catch((err: unknown) => progress(`secret ${name} not removed: ${dockerMessage(err)}`));
  }
}

interface ServiceFacts {
  Spec?: { Name?: string };
  ServiceStatus?: { RunningTasks?: number; DesiredTasks?: number };
  UpdateStatus?: { State?: string; Message?: string };
}

/**
 * What a service's tasks say that keeps it from running, for the wait's progress and its error:
 * first the tasks Swarm still means to run that are not running and carry an error (pending on
 * no node: "no suitable node (host-mode port already in use on 1 node)", which Swarm retries for
 * ever), then those that failed or were rejected; each state and error once, three at most.
 * Empty when they say nothing.
 */
export function tasksTrouble(tasks: Task[]): string {
  const current = tasks.filter((t) => t.DesiredState === 'running' && t.Status?.State !== 'running' && t.Status?.Err);
  const failed = tasks.filter((t) => ['failed', 'rejected'].includes(t.Status?.State ?? ''));
  const said = [...current, ...failed].map((t) => `a task ${t.Status?.State ?? '?'}: ${t.Status?.Err || t.Status?.Message || 'no reason given'}`);
  return [...new Set(said)].slice(0, 3).join('; ');
}

/**
 * Waits until the service runs as many tasks as it should (Swarm counts a task with a
 * healthcheck as running once it is healthy) and its update, if any, completed; what its tasks
 * say keeps them from running (tasksTrouble: a port in use, no node that fits, a task that
 * failed) is said as it changes and in the error at the deadline; an update paused or rolled
 * back is named; once FAILED_TASKS of its tasks failed, what they wrote last is said at once.
 */
export async function waitServiceRunning(docker: Docker, project: string, service: string, timeoutMs: number, progress: Progress): Promise<number> {
  const name = serviceName(project, service);
  const deadline = Date.now() + timeoutMs;
  let said = '';
  for (;;) {
    const facts = ((await docker.listServices({ filters: { name: [name] }, status: true } as never)) as unknown as ServiceFacts[]).find((s) => s.Spec?.Name === name);
    const running = facts?.ServiceStatus?.RunningTasks ?? 0;
    const desired = facts?.ServiceStatus?.DesiredTasks ?? 0;
    const update = facts?.UpdateStatus?.State;
    if (update && ['paused', 'rollback_started', 'rollback_paused', 'rollback_completed'].includes(update)) {
      throw new DockerError(`service ${name}: its update ${update.replace('_', ' ')}: ${facts?.UpdateStatus?.Message ?? ''}; docker service ps ${name} --no-trunc says more`);
    }
    if (desired > 0 && running === desired && (!update || update === 'completed')) return running;
    const tasks = (await docker.listTasks({ filters: { service: [name] } })) as Task[];
    const trouble = tasksTrouble(tasks);
    // Its program ended in error three times (the queue refusing its root): what it said, now,
    // rather than "non-zero exit" after minutes of restarts.
    if (tasks.filter((t) => t.Status?.State === 'failed').length >= FAILED_TASKS) {
      const said = await serviceLogTail(docker, name);
      throw new DockerError(`service ${name}: ${FAILED_TASKS} of its tasks failed (${trouble})${said ? `; its last words:\n${said}` : ''}\ndocker service logs ${name} says more`);
    }
    const summary = `${running} of ${desired} task(s) running${update ? `, update ${update}` : ''}`;
    // Said again when what the tasks say changes, not only their count.
    const line = `${summary}${trouble ? ` (${trouble})` : ''}`;
    if (line !== said) progress(`${service}: ${line}`);
    said = line;
    if (Date.now() > deadline) {
      throw new DockerError(`service ${name} is not running after ${timeoutMs / 1000} s (tasks: ${summary})${trouble ? `; ${trouble}` : ''}; docker service ps ${name} --no-trunc says more`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** How many failed tasks of a service `archive up --swarm` takes as its program failing, not starting. */
export const FAILED_TASKS = 3;

/** The last lines a service's tasks wrote (docker service logs --tail), or '' when the engine gives none. */
async function serviceLogTail(docker: Docker, name: string, lines = 10): Promise<string> {
  try {
    const logs = (await docker.getService(name).logs({ stdout: true, stderr: true, tail: lines } as never)) as unknown as Buffer;
    return demuxLogs(Buffer.isBuffer(logs) ? logs : Buffer.from(String(logs))).trim();
  } catch {
    return '';
  }
}

/**
 * Tags a local image for the registry and pushes it from this engine; returns the reference by
 * digest (REGISTRY/NAME@sha256:…), so that a changed image changes the services that use it.
 * Tried again for a minute while the registry is starting.
 */
export async function pushImage(docker: Docker, local: string, registry: string, progress: Progress): Promise<string> {
  const [repo, tag = 'latest'] = local.split(':');
  const remoteRepo = `${registry}/${repo}`;
  await docker.getImage(local).tag({ repo: remoteRepo, tag });
  const deadline = Date.now() + 60_000;
  for (;;) {
    let digest: string | undefined;
    try {
      const stream = await docker.getImage(`${remoteRepo}:${tag}`).push({ authconfig: {} } as never);
      await followProgress(docker, stream as unknown as NodeJS.ReadableStream, (m) => {
        const found = /digest: (sha256:[0-9a-f]{64})/.exec(m.status ?? '');
        if (found) digest = found[1];
      });
      if (!digest) throw new DockerError('the registry named no digest');
      progress(`image ${local}: in ${registry} as ${digest.slice(0, 19)}`);
      return `${remoteRepo}@${digest}`;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new DockerError(
          `cannot push ${local} to ${registry}: ${dockerMessage(err)}. Every engine of the Swarm needs ${registry} among its insecure-registries (/etc/docker/daemon.json), or give a registry with TLS: archive up --swarm --registry HOST:PORT`,
        );
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** How long `down` waits for the workers' tasks to end: their stop_grace_period (30 s), and some. */
export const BUILDERS_STOP_MS = 45_000;

/**
 * The tasks of `services` still to end on a node that can end them: Swarm has them starting or
 * running on a node that is up (`ready`). One on a node that is down ends when the node is back.
 */
export function tasksNotEnded(tasks: Task[], services: Set<string>, readyNodes: Set<string>): Task[] {
  const ended = new Set(['complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove']);
  return tasks.filter((t) => services.has(t.ServiceID ?? '') && readyNodes.has(t.NodeID ?? '') && !ended.has(t.Status?.State ?? ''));
}

/**
 * Waits until the removed services' tasks have ended on their nodes, or says which nodes still run
 * one after `timeoutMs` (cut off from the manager): the jobs of such a worker go back when their
 * leases run out.
 */
async function waitTasksEnded(docker: Docker, services: Set<string>, timeoutMs: number, progress: Progress): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const nodes = (await docker.listNodes()) as { ID: string; Description?: { Hostname?: string }; Status?: { State?: string } }[];
    const ready = new Set(nodes.filter((n) => n.Status?.State === 'ready').map((n) => n.ID));
    const left = tasksNotEnded((await docker.listTasks()) as Task[], services, ready);
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      const names = [...new Set(left.map((t) => nodes.find((n) => n.ID === t.NodeID)?.Description?.Hostname ?? t.NodeID))].join(', ');
      progress(`the worker on ${names} has not stopped after ${timeoutMs / 1000} s: removing the rest; its jobs go back to the queue when their leases run out`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Removes the project's services, networks and secrets (`docker stack rm`), the workers first; state on the host is untouched.
 * Refuses, removing nothing, when one is another root's (otherRoot; `ours`: this root's labels).
 */
export async function swarmDown(docker: Docker, project: string, ours: Record<string, string>, progress: Progress): Promise<number> {
  const services = await projectServices(readsThrough(docker), project);
  for (const s of services) {
    const why = otherRoot(s, ours);
    if (why) throw new UserError(why);
  }
  const remove = async (list: typeof services) => {
    for (const s of list) {
      progress(`removing service ${s.Spec?.Name ?? s.ID}`);
      await docker.getService(s.ID).remove();
    }
  };
  // The workers first, as on one engine (composeDown): each stops its jobs' containers and gives
  // the jobs back to the queue, which must still be there to take them.
  const builders = services.filter((s) => s.Spec?.Labels?.[LABEL_SERVICE] === 'builder');
  await remove(builders);
  if (builders.length) await waitTasksEnded(docker, new Set(builders.map((s) => s.ID)), BUILDERS_STOP_MS, progress);
  await remove(services.filter((s) => !builders.includes(s)));
  if (services.length) {
    // Networks go once their tasks have stopped.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && ((await docker.listContainers({ filters: { label: [`${LABEL_STACK}=${project}`] } })) as unknown[]).length > 0) {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL_STACK}=${project}`] } });
  for (const n of networks) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  await removeUnusedSecrets(docker, project, ours, new Set(), progress);
  return services.length;
}
