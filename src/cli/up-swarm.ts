// `archive up --swarm`: the archive as Docker Swarm services (docker/swarm.ts) from the same
// compose file: the registry first (unless the user gives one), the worker's images pushed to
// it, then the queue and repository on this node and a worker on every labelled node.
import { buildTargets, type ArchiveConfig } from '../config/config.js';
import { buildenvImageName, buildenvTag } from '../docker/buildenv.js';
import { LABEL_SERVICE, startOrder, type ComposeProject, type ServiceSpec } from '../docker/compose-file.js';
import type { Docker } from '../docker/engine.js';
import { imageInfo } from '../docker/images.js';
import { checkProjectOwner, deployService, ensureSwarmNetworks, labelledNodes, pushImage, removeUnusedSecrets, waitServiceRunning, type SwarmManager } from '../docker/swarm.js';
import { SWARM_WORKER_SUFFIX, serviceSecrets } from '../docker/swarm-spec.js';
import { readsThrough } from '../docker/engine-reads.js';
import { projectServices } from '../docker/project-status.js';
import { UserError } from '../errors.js';
import type { Layout } from '../storage/layout.js';
import { loadProject, progress } from './archive-context.js';

/**
 * The compose file's variables for a Swarm: the manager's node, a worker name per node (its host
 * name and node id), and the URL clients use over HTTP, the manager's address (with HTTPS, the
 * certificate's name stays).
 */
export function swarmVariables(manager: SwarmManager, config: ArchiveConfig): Record<string, string> {
  const url: Record<string, string> = config.tls ? {} : { ARCHIVE_URL: `http://${manager.address}:${config.port}/` };
  return { ARCHIVE_NODE_ID: manager.nodeId, ARCHIVE_WORKER_SUFFIX: SWARM_WORKER_SUFFIX, ...url };
}

/**
 * Refuses what a Swarm cannot honour, before any image is made: the repository's port is a
 * host-mode port of the manager, open on all its addresses (Swarm takes none for it), so
 * listen: must say 0.0.0.0 rather than have it assumed.
 */
export function checkSwarmSettings(config: ArchiveConfig): void {
  if (config.listen !== '0.0.0.0') {
    throw new UserError(`--swarm: the repository's port is a host-mode port of the manager, open on all its addresses (Swarm takes no address for it), but listen: is ${config.listen}; run archive up --swarm --listen 0.0.0.0 to say that is meant`);
  }
}

/** Where the registry the archive runs is: the manager's address, its service's published port. */
export function ownRegistry(project: ComposeProject, manager: SwarmManager): string {
  const port = project.services.find((s) => s.name === 'registry')?.ports[0]?.hostPort;
  if (!port) throw new UserError('compose: the registry service publishes no port');
  return `${manager.address}:${port}`;
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
  /** ARCHIVE_ARCHITECTURES and ARCHIVE_EMULATED, as this machine runs them (its nodes are taken to be alike). */
  workerVariables: Record<string, string>,
): Promise<string[]> {
  // Swarm tasks carry no-new-privileges from API 1.46 (Docker 27) on; older engines drop it.
  const api = ((await docker.version()) as { ApiVersion?: string }).ApiVersion ?? '0';
  const [major, minor] = api.split('.').map(Number);
  if (major === 1 && minor < 46) progress(`this engine speaks API ${api}: its Swarm tasks run without no-new-privileges (API 1.46, Docker 27, carries it); every other bound holds`);
  const variables = { ...workerVariables, ...swarmVariables(manager, config) };
  const first = await loadProject(layout, config, variables);
  // Nothing of another root's (the same project name on the same Swarm) is touched, nor anything pushed.
  await checkProjectOwner(docker, first.name, labels);
  const profiles = registry.own ? ['swarm'] : [];
  await ensureSwarmNetworks(docker, first, labels);
  const own = startOrder(first, profiles).find((s) => s.profiles.includes('swarm'));
  if (own) {
    await deployService(docker, first, own, labels, await imageIds(docker, [own]), progress);
    await waitServiceRunning(docker, first.name, own.name, 180_000, progress);
  }
  // What the other nodes run, by digest: the worker's image, and the build environments it builds in.
  const builder = first.services.find((s) => s.name === 'builder');
  if (!builder) throw new UserError('compose: no builder service');
  const workerImage = await pushImage(docker, builder.image, registry.address, progress);
  const buildenvs: string[] = [];
  for (const { base, arch } of buildTargets(config)) buildenvs.push(`${buildenvTag(base, arch)}=${await pushImage(docker, buildenvImageName(base, arch), registry.address, progress)}`);

  const project = await loadProject(layout, config, { ...variables, ARCHIVE_WORKER_IMAGE: workerImage, ARCHIVE_BUILDENVS: buildenvs.join(',') });
  const services = startOrder(project, profiles);
  // Services the project no longer has (the registry, once --registry is given) go (this root's: checked above).
  const wanted = new Set(services.map((s) => s.name));
  for (const s of await projectServices(readsThrough(docker), project.name)) {
    if (!wanted.has(s.Spec?.Labels?.[LABEL_SERVICE] ?? '')) {
      progress(`${s.Spec?.Name}: no longer in the project, removing it`);
      await docker.getService(s.ID).remove();
    }
  }
  const ids = await imageIds(docker, services);
  for (const service of services) await deployService(docker, project, service, labels, ids, progress);
  // A token's secret from before archive workers rotate-key, once no service names it.
  await removeUnusedSecrets(docker, project.name, labels, new Set(services.flatMap((s) => serviceSecrets(project, s).map((x) => x.name))), progress);
  for (const service of services.filter((s) => s.name !== 'builder')) {
    await waitServiceRunning(docker, project.name, service.name, 180_000, progress);
    progress(`${service.name}: running`);
  }
  const label = workerLabel(builder);
  const workers = label ? await labelledNodes(docker, label.key, label.value) : [];
  if (workers.length === 0) {
    progress(`no active node is labelled ${label?.key}=${label?.value}: jobs wait until one is (docker node update --label-add ${label?.key}=${label?.value} NODE)`);
  } else {
    // Each node pulls the worker's image, then its first job pulls the build environment.
    await waitServiceRunning(docker, project.name, 'builder', 600_000, progress);
    progress(`builder: running on ${workers.join(', ')}`);
  }
  return workers;
}

/**
 * The local images' ids, by name: a service that runs a local tag (the queue, the repository)
 * is updated when the image behind the tag is rebuilt. Images by digest name themselves.
 */
async function imageIds(docker: Docker, services: ServiceSpec[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const s of services) {
    if (s.image.includes('@')) continue;
    const info = await imageInfo(docker, s.image);
    if (!info) throw new UserError(`image ${s.image} for service ${s.name} does not exist on this node; archive up builds it`);
    ids[s.image] = info.id;
  }
  return ids;
}
