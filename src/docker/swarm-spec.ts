// The compose file's services as Docker Swarm services: pure, a service of compose-file.ts in,
// the Engine API's service spec out (what `docker stack deploy -c` sends). Everything a single
// engine's container gets (compose-file.ts createOptions) has its Swarm counterpart here, or is
// refused: no setting of the file is silently dropped.
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import { LABEL_PROJECT, LABEL_SERVICE, endpoint, engineHealthcheck, environmentList, networkName, parseBytes, volumeName, type ComposeProject, type ServiceSpec } from './compose-file.js';

/** The label `docker stack ls` and `docker stack rm` know a stack's services and networks by. */
export const LABEL_STACK = 'com.docker.stack.namespace';
export const LABEL_SPEC_HASH = 'archive-in-a-box.spec-hash';

/**
 * The label of the services (and networks) an archive deploys on a Swarm: the random id of its
 * root (state/root-id). The project's name is the config's name and a hash of the root's path, so
 * two managers with a root at the same path (the default one) name the same project; the id tells
 * their services apart.
 */
export const LABEL_ROOT_ID = 'archive-in-a-box.root-id';
/** The label of what an archive deploys that names its root's path (as the machine that deployed it sees it). */
export const LABEL_ROOT = 'archive-in-a-box.root';

/**
 * Why a service of the project is not this root's to update or remove: it carries another root's
 * id. One without an id was deployed before services carried it, by this root as far as can be
 * told (project names are as they were): it is taken, and labelled at the next up.
 */
export function otherRoot(service: { Spec?: { Name?: string; Labels?: Record<string, string> } }, ours: Record<string, string>): string | undefined {
  const theirs = service.Spec?.Labels?.[LABEL_ROOT_ID];
  if (!theirs || theirs === ours[LABEL_ROOT_ID]) return undefined;
  const where = (labels: Record<string, string> | undefined, id: string | undefined) => `root ${labels?.[LABEL_ROOT] ?? '(unnamed)'}, id ${id ?? '(none yet)'}`;
  return (
    `service ${service.Spec?.Name} is another archive's (${where(service.Spec?.Labels, theirs)}), not this one's (${where(ours, ours[LABEL_ROOT_ID])}): ` +
    'two archives whose name: and root path are the same get one project name on a Swarm. Leave it to that archive (its own archive down removes it), ' +
    'and give this one another root (archive --root DIR) or another name: in its archive.yaml'
  );
}

/**
 * What a Swarm node's worker name ends in (ARCHIVE_WORKER_SUFFIX, after ARCHIVE_PROJECT-builder):
 * a Go template each node's task expands, its host name and its node id. Swarm allows two nodes
 * the same host name (cloned machines), and two workers of one name are one worker: when either
 * restarted, the queue gave back the jobs the other still built. The id keeps them apart; the
 * host name says which node it is. (.Node.ID and .Node.Hostname are among swarmkit's
 * placeholders. Not `slice .Node.ID 0 8`: the manager expands a service's templates once with
 * empty values when it is created, and refused it, "index out of range".) builderNameFromEnv
 * keeps the whole within 63 characters (a longer name is cut and ends in a hash of it).
 */
export const SWARM_WORKER_SUFFIX = '-{{.Node.Hostname}}-{{.Node.ID}}';

export function serviceName(project: string, service: string): string {
  return `${project}_${service}`;
}

/**
 * The variables a Swarm service gets as a Docker secret rather than in its spec's environment,
 * which `docker service inspect` shows to anyone with a manager's socket, and Swarm keeps in its
 * state beside every older version of the spec: the API token each worker signs its requests
 * with. The task reads it from the file VAR_FILE names (/run/secrets/VAR, in a tmpfs of that
 * task alone, readable by the service's user alone). Not the repository's TLS key: nginx, as its
 * user, would have to read such a file, and it serves whatever the dists link points at (the
 * queue's user sets that link); images/repo/start.sh hides the key it is given instead.
 */
export const SWARM_SECRETS = ['ARCHIVE_API_TOKEN'] as const;

export interface SwarmSecret {
  /** The variable it stands for. */
  variable: string;
  /** Its name on the Swarm: a hash of the project and the value (a secret cannot change; a new token is a new secret). */
  name: string;
  data: string;
}

/** The secrets a service's spec refers to: one for each SWARM_SECRETS variable it sets. */
export function serviceSecrets(project: ComposeProject, s: ServiceSpec): SwarmSecret[] {
  return SWARM_SECRETS.filter((v) => s.environment[v]).map((v) => ({
    variable: v,
    name: `archive-${v.toLowerCase().replaceAll('_', '-')}-${createHash('sha256').update(`${project.name}\0${s.environment[v]}`).digest('hex').slice(0, 24)}`,
    data: s.environment[v],
  }));
}

/** The Engine API's secret references of a service (ContainerSpec.Secrets), given the ids of its secrets by name. */
function secretReferences(project: ComposeProject, s: ServiceSpec, ids: Record<string, string>): Record<string, unknown>[] {
  const secrets = serviceSecrets(project, s);
  if (secrets.length === 0) return [];
  // The file is the service's user's alone: a uid and gid (Swarm takes no names here).
  const [uid, gid = uid] = (s.user ?? '0:0').split(':');
  if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) throw new UserError(`compose: services.${s.name}.user: "${s.user}" must be UID:GID in numbers to be given ${secrets.map((x) => x.variable).join(', ')} as a Swarm secret`);
  return secrets.map((x) => {
    const id = ids[x.name];
    if (!id) throw new Error(`swarm: no id for secret ${x.name} of service ${s.name}`);
    return { File: { Name: x.variable, UID: uid, GID: gid, Mode: 0o400 }, SecretID: id, SecretName: x.name };
  });
}

/** A service's environment on a Swarm: each SWARM_SECRETS variable it sets named by VAR_FILE, its file. */
function swarmEnvironment(project: ComposeProject, s: ServiceSpec): string[] {
  const secret = new Set(serviceSecrets(project, s).map((x) => x.variable));
  return [...environmentList(s).filter((e) => !secret.has(e.slice(0, e.indexOf('=')))), ...[...secret].map((v) => `${v}_FILE=/run/secrets/${v}`)];
}

const RESTART: Record<string, string> = { no: 'none', always: 'any', 'unless-stopped': 'any', 'on-failure': 'on-failure' };

/**
 * The Engine API's ServiceSpec for one service (POST /services/create), labelled with a hash of
 * itself and of `imageId`, the image behind a local tag, so that a rebuilt image updates it.
 * `secretIds`: the ids of its secrets (serviceSecrets) on the Swarm, by name.
 */
export function swarmServiceSpec(project: ComposeProject, s: ServiceSpec, labels: Record<string, string>, imageId = '', secretIds: Record<string, string> = {}): Record<string, unknown> {
  const at = `services.${s.name}`;
  if (!s.deploy) throw new UserError(`compose: ${at} has no deploy: section, so it has no place on a Swarm`);
  if (s.deploy.endpointMode !== 'dnsrr') throw new UserError(`compose: ${at}.deploy.endpoint_mode must be dnsrr (Swarm's VIPs need IPVS, which these kernels lack)`);
  const restart = RESTART[s.restart];
  if (!restart) throw new UserError(`compose: ${at}.restart: "${s.restart}" has no Swarm restart condition`);
  const unknownOpt = s.securityOpt.filter((o) => o !== 'no-new-privileges:true');
  if (unknownOpt.length) throw new UserError(`compose: ${at}.security_opt: ${unknownOpt.join(', ')} has no Swarm counterpart`);
  const mounts = [
    ...s.volumes.map((v) =>
      v.anonymous
        ? // Each task's own, on its node's disk; Swarm removes it with the task's container.
          { Type: 'volume', Target: v.target, ReadOnly: false }
        : v.named
          ? { Type: 'volume', Source: volumeName(project.name, v.source), Target: v.target, ReadOnly: v.readOnly, VolumeOptions: { Labels: { [LABEL_STACK]: project.name } } }
          : { Type: 'bind', Source: v.source, Target: v.target, ReadOnly: v.readOnly },
    ),
    ...s.tmpfs.map((t) => {
      const [target, options = ''] = t.split(/:(.*)/s);
      const unknown = options.split(',').filter((o) => o && !o.startsWith('size='));
      if (unknown.length) throw new UserError(`compose: ${at}.tmpfs: ${unknown.join(', ')} has no Swarm counterpart (only size=)`);
      const size = /(?:^|,)size=([^,]+)/.exec(options)?.[1];
      return { Type: 'tmpfs', Target: target, TmpfsOptions: size ? { SizeBytes: parseBytes(size, 'compose', `${at}.tmpfs`) } : {} };
    }),
  ];
  const stackLabels: Record<string, string> = { [LABEL_STACK]: project.name, [LABEL_PROJECT]: project.name, [LABEL_SERVICE]: s.name };
  const spec = {
    Name: serviceName(project.name, s.name),
    Labels: { ...s.labels, ...labels, ...stackLabels } as Record<string, string>,
    TaskTemplate: {
      ContainerSpec: {
        Image: s.image,
        // Compose's command is the arguments to the image's entrypoint, as docker stack deploy sends it.
        Args: s.command,
        User: s.user,
        Dir: s.workingDir,
        Env: swarmEnvironment(project, s),
        Secrets: secretReferences(project, s, secretIds),
        // Not compose's labels: a task's container is the Swarm's, not one archive up (compose.ts) owns.
        Labels: { ...s.labels, ...labels, [LABEL_STACK]: project.name },
        ReadOnly: s.readOnly,
        Mounts: mounts,
        Init: s.init,
        CapabilityDrop: s.capDrop,
        // Engines before API 1.46 do not know it and run the task without it (README says so).
        ...(s.securityOpt.includes('no-new-privileges:true') ? { Privileges: { NoNewPrivileges: true } } : {}),
        Healthcheck: engineHealthcheck(s),
        // Only where said: the spec's hash names the service's configuration.
        ...(s.stopGracePeriodNs === undefined ? {} : { StopGracePeriod: s.stopGracePeriodNs }),
      },
      Resources: { Limits: { MemoryBytes: s.memoryBytes, Pids: s.pidsLimit } },
      RestartPolicy: { Condition: restart, Delay: 2e9 },
      Placement: { Constraints: s.deploy.constraints },
      Networks: s.networks.map((n) => ({ Target: networkName(project.name, n), ...endpoint(s) })),
    },
    Mode: s.deploy.mode === 'global' ? { Global: {} } : { Replicated: { Replicas: 1 } },
    EndpointSpec: {
      Mode: 'dnsrr',
      // Host mode: the node's own port, on all its addresses (Swarm takes no host address).
      Ports: s.ports.map((p) => ({ Protocol: 'tcp', TargetPort: Number(p.containerPort), PublishedPort: Number(p.hostPort), PublishMode: 'host' })),
    },
  };
  const hash = createHash('sha256').update(JSON.stringify(spec)).update(imageId).digest('hex').slice(0, 16);
  spec.Labels = { ...spec.Labels, [LABEL_SPEC_HASH]: hash };
  return spec;
}

/**
 * The Engine API's NetworkCreate for one of the project's networks on a Swarm: an overlay,
 * attachable when the compose file says so (deps: a worker's build-dependency containers are
 * plain containers on its node).
 */
export function swarmNetworkSpec(project: ComposeProject, network: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    Name: networkName(project.name, network),
    Driver: 'overlay',
    Attachable: project.attachable.includes(network),
    Internal: project.internal.includes(network),
    Labels: { ...labels, [LABEL_STACK]: project.name, [LABEL_PROJECT]: project.name },
  };
}
