// `archive up --swarm`: the archive as Docker Swarm services (docker/swarm.ts) from the same
// compose file: the registry first (unless the user gives one), the worker's images pushed to
// it, then the queue and repository on this node and a worker on every labelled node.
import type { ArchiveConfig } from '../config/config.js';
import { buildenvImageName } from '../docker/buildenv.js';
import { LABEL_SERVICE, startOrder, type ServiceSpec } from '../docker/compose-file.js';
import type { Docker } from '../docker/engine.js';
import { deployService, ensureSwarmNetworks, labelledNodes, pushImage, waitServiceRunning, type SwarmManager } from '../docker/swarm.js';
import { LABEL_STACK } from '../docker/swarm-spec.js';
import { UserError } from '../errors.js';
import type { Layout } from '../storage/layout.js';
import { loadProject, progress } from './archive-context.js';

/** The compose file's variables for a Swarm: the manager's node, the registry, a worker name per node. */
export function swarmVariables(manager: SwarmManager, registry: string): Record<string, string> {
  return { ARCHIVE_NODE_ID: manager.nodeId, ARCHIVE_REGISTRY: registry, ARCHIVE_WORKER_SUFFIX: '-{{.Node.Hostname}}' };
}

/** node.labels.KEY == VALUE, the worker's placement, as a label to look nodes up by. */
function workerLabel(builder: ServiceSpec): { key: string; value: string } | undefined {
  for (const c of builder.deploy?.constraints ?? []) {
    const m = /^node\.labels\.(\S+)\s*==\s*(\S+)$/.exec(c.trim());
    if (m) return { key: m[1], value: m[2] };
  }
  return undefined;
}

/** Deploys every service; returns the host names of the nodes that run a worker. */
export async function upOnSwarm(
  docker: Docker,
  layout: Layout,
  config: ArchiveConfig,
  manager: SwarmManager,
  registry: { address: string; own: boolean },
  labels: Record<string, string>,
): Promise<string[]> {
  const variables = swarmVariables(manager, registry.address);
  const first = await loadProject(layout, config, variables);
  const profiles = registry.own ? ['swarm'] : [];
  await ensureSwarmNetworks(docker, first, labels);
  const own = startOrder(first, profiles).find((s) => s.profiles.includes('swarm'));
  if (own) {
    await deployService(docker, first, own, labels, progress);
    await waitServiceRunning(docker, first.name, own.name, 180_000, progress);
  }
  // What the other nodes run: the worker's image, and the build environments it builds in.
  const builder = first.services.find((s) => s.name === 'builder');
  if (!builder) throw new UserError('compose: no builder service');
  const workerImage = await pushImage(docker, builder.image, registry.address, progress);
  for (const base of new Set(config.suites.map((s) => s.base))) await pushImage(docker, buildenvImageName(base), registry.address, progress);

  const project = await loadProject(layout, config, { ...variables, ARCHIVE_WORKER_IMAGE: workerImage });
  const services = startOrder(project, profiles);
  // Services the project no longer has (the registry, once --registry is given) go.
  const wanted = new Set(services.map((s) => s.name));
  for (const s of (await docker.listServices({ filters: { label: [`${LABEL_STACK}=${project.name}`] } })) as { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }[]) {
    if (!wanted.has(s.Spec?.Labels?.[LABEL_SERVICE] ?? '')) {
      progress(`${s.Spec?.Name}: no longer in the project, removing it`);
      await docker.getService(s.ID).remove();
    }
  }
  for (const service of services) await deployService(docker, project, service, labels, progress);
  for (const service of services.filter((s) => s.name !== 'builder')) {
    await waitServiceRunning(docker, project.name, service.name, 180_000, progress);
    progress(`${service.name}: running`);
  }
  const label = workerLabel(builder);
  const workers = label ? await labelledNodes(docker, label.key, label.value) : [];
  if (workers.length === 0) {
    progress(`no node is labelled ${label?.key}=${label?.value}: jobs wait until one is (docker node update --label-add ${label?.key}=${label?.value} NODE)`);
  } else {
    // Each node pulls the worker's image, then its first job pulls the build environment.
    await waitServiceRunning(docker, project.name, 'builder', 600_000, progress);
    progress(`builder: running on ${workers.join(', ')}`);
  }
  return workers;
}
