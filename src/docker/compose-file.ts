// The compose file (compose/compose.yaml) is the one description of the services. This part is
// pure: YAML text and variables in, typed services and Docker Engine API create options out.
// It understands the subset of the Compose specification the file uses and refuses the rest,
// so the file never says something `archive up` silently ignores.
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { UserError } from '../errors.js';

export interface BuildSpec {
  context: string;
  dockerfile: string;
  args: Record<string, string>;
  /** The service's platform (linux/arm64): what the image is built for, under qemu when foreign. */
  platform?: string;
}

export interface VolumeSpec {
  /** A host path, or the name of a volume of the project's (named: true); empty for an anonymous volume. */
  source: string;
  target: string;
  readOnly: boolean;
  named?: boolean;
  /** A volume of the container's own (the entry is a path in it alone): removed with the container. */
  anonymous?: boolean;
}

export interface PortSpec {
  hostIp: string;
  hostPort: string;
  containerPort: string;
}

/** Where and how many on Docker Swarm (`deploy:`); a single engine runs one of each service. */
export interface DeploySpec {
  mode: 'replicated' | 'global';
  constraints: string[];
  endpointMode: 'vip' | 'dnsrr';
}

export interface HealthcheckSpec {
  test: string[];
  intervalNs: number;
  timeoutNs: number;
  retries: number;
  startPeriodNs: number;
  /** How often it is run during the start period (Engine 25 and later; older engines ignore it). */
  startIntervalNs?: number;
}

export interface ServiceSpec {
  name: string;
  image: string;
  build?: BuildSpec;
  command?: string[];
  user?: string;
  readOnly: boolean;
  /** init: Docker's init runs as the container's first process and reaps what its program leaves. */
  init: boolean;
  tmpfs: string[];
  volumes: VolumeSpec[];
  ports: PortSpec[];
  environment: Record<string, string>;
  restart: string;
  healthcheck?: HealthcheckSpec;
  labels: Record<string, string>;
  networks: string[];
  capDrop: string[];
  securityOpt: string[];
  dependsOn: { service: string; condition: string }[];
  profiles: string[];
  workingDir?: string;
  /** mem_limit in bytes and pids_limit; undefined: no limit. */
  memoryBytes?: number;
  pidsLimit?: number;
  /** stop_grace_period: how long a stop waits after SIGTERM before it kills; undefined: the engine's 10 s. */
  stopGracePeriodNs?: number;
  deploy?: DeploySpec;
}

export interface ComposeProject {
  name: string;
  services: ServiceSpec[];
  networks: string[];
  /** Networks with attachable: true (on a Swarm, plain containers of any node may join them). */
  attachable: string[];
  /** Networks with internal: true: their containers reach one another, nothing outside. */
  internal: string[];
  volumes: string[];
}

export class ComposeError extends UserError {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ComposeError';
  }
}

/** Compose variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $$ for a literal $. */
export function interpolate(text: string, vars: Record<string, string | undefined>, file: string): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (match, name, op, fallback) => {
    if (match === '$$') return '$';
    const value = vars[name];
    if (op === ':-' && (value === undefined || value === '')) return fallback;
    if (op === '-' && value === undefined) return fallback;
    if (value === undefined) throw new ComposeError(file, `variable ${name} is not set and has no default`);
    return value;
  });
}

function walkStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => walkStrings(v, fn));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walkStrings(v, fn)]));
  }
  return value;
}

/** "30s", "1m30s", "500ms" -> nanoseconds. */
export function parseDuration(text: string, file: string, at: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const parts = [...String(text).matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== String(text)) {
    throw new ComposeError(file, `${at}: "${text}" is not a duration such as 5s or 1m30s`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
}

const SERVICE_KEYS = new Set([
  'image', 'build', 'command', 'user', 'read_only', 'tmpfs', 'volumes', 'ports', 'environment',
  'restart', 'healthcheck', 'labels', 'networks', 'cap_drop', 'security_opt', 'depends_on',
  'profiles', 'working_dir', 'mem_limit', 'pids_limit', 'deploy', 'platform', 'init', 'stop_grace_period',
]);

const DEPLOY_KEYS = new Set(['mode', 'placement', 'endpoint_mode']);

function parseDeploy(value: unknown, file: string, at: string): DeploySpec | undefined {
  if (value === undefined || value === null) return undefined;
  const d = value as Record<string, unknown>;
  for (const key of Object.keys(d)) {
    if (!DEPLOY_KEYS.has(key)) throw new ComposeError(file, `${at}.${key}: not supported by archive up (supported: ${[...DEPLOY_KEYS].join(', ')})`);
  }
  const mode = String(d.mode ?? 'replicated');
  if (mode !== 'replicated' && mode !== 'global') throw new ComposeError(file, `${at}.mode: "${mode}" is not replicated or global`);
  const endpointMode = String(d.endpoint_mode ?? 'vip');
  if (endpointMode !== 'vip' && endpointMode !== 'dnsrr') throw new ComposeError(file, `${at}.endpoint_mode: "${endpointMode}" is not vip or dnsrr`);
  const placement = (d.placement ?? {}) as Record<string, unknown>;
  return { mode, endpointMode, constraints: asList(placement.constraints, file, `${at}.placement.constraints`) };
}

/** A port in the short form (HOST_IP:HOST_PORT:CONTAINER_PORT) or the long one (target, published, host_ip, mode: host). */
function parsePort(p: unknown, file: string, at: string): PortSpec {
  if (p && typeof p === 'object') {
    const o = p as Record<string, unknown>;
    if (o.mode !== 'host') throw new ComposeError(file, `${at}: only mode: host ports (Swarm's ingress mesh needs IPVS, which these kernels lack)`);
    if (o.target === undefined || o.published === undefined) throw new ComposeError(file, `${at}: a port needs target and published`);
    return { hostIp: String(o.host_ip ?? '0.0.0.0'), hostPort: String(o.published), containerPort: String(o.target) };
  }
  const parts = String(p).split(':');
  if (parts.length !== 3) throw new ComposeError(file, `${at}: "${String(p)}" is not HOST_IP:HOST_PORT:CONTAINER_PORT`);
  return { hostIp: parts[0], hostPort: parts[1], containerPort: parts[2] };
}

/** Compose byte values: "512m", "2g", "1gb", "1024" (bytes). */
export function parseBytes(text: string, file: string, at: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(String(text));
  if (!m) throw new ComposeError(file, `${at}: "${text}" is not a size such as 512m or 2g`);
  return Math.round(Number(m[1]) * 1024 ** 'bkmg'.indexOf(m[2].toLowerCase() || 'b'));
}

function asMap(value: unknown, file: string, at: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((item) => {
        const s = String(item);
        const eq = s.indexOf('=');
        return eq < 0 ? [s, ''] : [s.slice(0, eq), s.slice(eq + 1)];
      }),
    );
  }
  if (typeof value !== 'object') throw new ComposeError(file, `${at}: expected a mapping or a list of KEY=VALUE`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function asList(value: unknown, file: string, at: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) throw new ComposeError(file, `${at}: expected a list`);
  return value.map(String);
}

export function parseCompose(text: string, file: string, vars: Record<string, string | undefined>): ComposeProject {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ComposeError(file, `not valid YAML: ${(err as Error).message}`);
  }
  doc = walkStrings(doc, (s) => interpolate(s, vars, file)) as Record<string, unknown>;
  const baseDir = dirname(file);
  const rawServices = (doc.services ?? {}) as Record<string, Record<string, unknown>>;
  const volumeNames = Object.keys((doc.volumes ?? {}) as object);
  const services = Object.entries(rawServices).map(([name, raw]): ServiceSpec => {
    const at = `services.${name}`;
    for (const key of Object.keys(raw)) {
      if (!SERVICE_KEYS.has(key)) throw new ComposeError(file, `${at}.${key}: not supported by archive up (supported: ${[...SERVICE_KEYS].join(', ')})`);
    }
    if (typeof raw.image !== 'string') throw new ComposeError(file, `${at}.image: every service needs an image name`);
    let build: BuildSpec | undefined;
    if (raw.build !== undefined) {
      const b = (typeof raw.build === 'string' ? { context: raw.build } : raw.build) as Record<string, unknown>;
      build = {
        context: resolve(baseDir, String(b.context ?? '.')),
        dockerfile: String(b.dockerfile ?? 'Dockerfile'),
        args: asMap(b.args, file, `${at}.build.args`),
        ...(raw.platform ? { platform: String(raw.platform) } : {}),
      };
    }
    if (raw.platform !== undefined && !build) throw new ComposeError(file, `${at}.platform: only an image built here takes a platform (it is what the build is for)`);
    const volumes = asList(raw.volumes, file, `${at}.volumes`).map((v): VolumeSpec => {
      // A path in the container alone: a volume of its own, as in Compose (on the engine's disk).
      if (v.startsWith('/') && !v.includes(':')) return { source: '', target: v, readOnly: false, anonymous: true };
      const parts = v.split(':');
      if (parts.length < 2 || parts.length > 3 || (parts[2] && !['ro', 'rw'].includes(parts[2]))) {
        throw new ComposeError(file, `${at}.volumes: "${v}" is not SOURCE:TARGET[:ro|rw] nor /PATH (a volume of the container's own)`);
      }
      // A bare name is a volume of the project's (top-level volumes:), as in Compose.
      if (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(parts[0])) {
        if (!volumeNames.includes(parts[0])) throw new ComposeError(file, `${at}.volumes: "${parts[0]}" is not a path nor a volume under the top-level volumes:`);
        return { source: parts[0], target: parts[1], readOnly: parts[2] === 'ro', named: true };
      }
      return { source: resolve(baseDir, parts[0]), target: parts[1], readOnly: parts[2] === 'ro' };
    });
    const rawPorts = raw.ports === undefined || raw.ports === null ? [] : raw.ports;
    if (!Array.isArray(rawPorts)) throw new ComposeError(file, `${at}.ports: expected a list`);
    const ports = rawPorts.map((p, i) => parsePort(p, file, `${at}.ports[${i}]`));
    let healthcheck: HealthcheckSpec | undefined;
    if (raw.healthcheck) {
      const h = raw.healthcheck as Record<string, unknown>;
      const test = asList(h.test, file, `${at}.healthcheck.test`);
      healthcheck = {
        test: test.length === 1 ? ['CMD-SHELL', test[0]] : test,
        intervalNs: parseDuration(String(h.interval ?? '30s'), file, `${at}.healthcheck.interval`),
        timeoutNs: parseDuration(String(h.timeout ?? '30s'), file, `${at}.healthcheck.timeout`),
        retries: Number(h.retries ?? 3),
        startPeriodNs: parseDuration(String(h.start_period ?? '0s'), file, `${at}.healthcheck.start_period`),
        ...(h.start_interval === undefined ? {} : { startIntervalNs: parseDuration(String(h.start_interval), file, `${at}.healthcheck.start_interval`) }),
      };
    }
    const dependsRaw = raw.depends_on ?? [];
    const dependsOn = Array.isArray(dependsRaw)
      ? dependsRaw.map((s) => ({ service: String(s), condition: 'service_started' }))
      : Object.entries(dependsRaw as Record<string, { condition?: string }>).map(([s, v]) => ({
          service: s,
          condition: v?.condition ?? 'service_started',
        }));
    const pidsLimit = raw.pids_limit === undefined ? undefined : Number(raw.pids_limit);
    if (pidsLimit !== undefined && !(Number.isInteger(pidsLimit) && pidsLimit > 0)) {
      throw new ComposeError(file, `${at}.pids_limit: "${String(raw.pids_limit)}" is not a positive whole number`);
    }
    if (raw.init !== undefined && typeof raw.init !== 'boolean') {
      throw new ComposeError(file, `${at}.init: "${String(raw.init)}" is not true or false`);
    }
    const command = raw.command === undefined ? undefined : Array.isArray(raw.command) ? raw.command.map(String) : ['sh', '-c', String(raw.command)];
    return {
      name,
      image: raw.image,
      build,
      command,
      user: raw.user === undefined ? undefined : String(raw.user),
      readOnly: raw.read_only === true,
      init: raw.init === true,
      tmpfs: asList(raw.tmpfs, file, `${at}.tmpfs`),
      volumes,
      ports,
      environment: asMap(raw.environment, file, `${at}.environment`),
      restart: String(raw.restart ?? 'no'),
      healthcheck,
      labels: asMap(raw.labels, file, `${at}.labels`),
      networks: asList(raw.networks, file, `${at}.networks`),
      capDrop: asList(raw.cap_drop, file, `${at}.cap_drop`),
      securityOpt: asList(raw.security_opt, file, `${at}.security_opt`),
      dependsOn,
      profiles: asList(raw.profiles, file, `${at}.profiles`),
      workingDir: raw.working_dir === undefined ? undefined : String(raw.working_dir),
      memoryBytes: raw.mem_limit === undefined ? undefined : parseBytes(String(raw.mem_limit), file, `${at}.mem_limit`),
      pidsLimit,
      ...(raw.stop_grace_period === undefined ? {} : { stopGracePeriodNs: parseDuration(String(raw.stop_grace_period), file, `${at}.stop_grace_period`) }),
      deploy: parseDeploy(raw.deploy, file, `${at}.deploy`),
    };
  });
  for (const s of services) {
    for (const d of s.dependsOn) {
      if (!services.some((o) => o.name === d.service)) throw new ComposeError(file, `services.${s.name}.depends_on: no service "${d.service}"`);
    }
  }
  const networkDefs = (doc.networks ?? {}) as Record<string, Record<string, unknown> | null>;
  const networks = Object.keys(networkDefs);
  for (const [n, def] of Object.entries(networkDefs)) {
    for (const [key, value] of Object.entries(def ?? {})) {
      if (key !== 'attachable' && key !== 'internal') throw new ComposeError(file, `networks.${n}.${key}: not supported by archive up (supported: attachable, internal)`);
      if (typeof value !== 'boolean') throw new ComposeError(file, `networks.${n}.${key}: expected true or false, not ${JSON.stringify(value)}`);
    }
  }
  const attachable = networks.filter((n) => networkDefs[n]?.attachable === true);
  const internal = networks.filter((n) => networkDefs[n]?.internal === true);
  if (typeof doc.name !== 'string' || doc.name === '') throw new ComposeError(file, 'name: the project needs a name');
  return { name: doc.name, services, networks, attachable, internal, volumes: volumeNames };
}

/**
 * Services to run, dependencies first: those without a profile, and those of the profiles
 * given (swarm: the registry `archive up --swarm` runs).
 */
export function startOrder(project: ComposeProject, profiles: string[] = []): ServiceSpec[] {
  const running = project.services.filter((s) => s.profiles.length === 0 || s.profiles.some((p) => profiles.includes(p)));
  const done: ServiceSpec[] = [];
  const visit = (s: ServiceSpec, path: string[]) => {
    if (done.includes(s)) return;
    if (path.includes(s.name)) throw new UserError(`compose: dependency cycle ${[...path, s.name].join(' -> ')}`);
    for (const d of s.dependsOn) visit(running.find((o) => o.name === d.service)!, [...path, s.name]);
    done.push(s);
  };
  for (const s of running) visit(s, []);
  return done;
}

/**
 * The order `up` creates containers in: the services that wait for no other's health first,
 * so that their start-ups and health checks overlap, then those that wait, in dependency order.
 */
export function creationOrder(project: ComposeProject): ServiceSpec[] {
  const order = startOrder(project);
  const waits = (s: ServiceSpec): boolean =>
    s.dependsOn.some((d) => d.condition === 'service_healthy' || waits(order.find((o) => o.name === d.service)!));
  return [...order.filter((s) => !waits(s)), ...order.filter(waits)];
}

export const LABEL_PROJECT = 'com.docker.compose.project';
export const LABEL_SERVICE = 'com.docker.compose.service';
export const LABEL_CONFIG_HASH = 'archive-in-a-box.config-hash';

export function networkName(project: string, network: string): string {
  return `${project}_${network}`;
}

export function volumeName(project: string, volume: string): string {
  return `${project}_${volume}`;
}

export function containerName(project: string, service: string): string {
  return `${project}-${service}`;
}

/**
 * Docker Engine API "create container" options for one service. They join its first network;
 * the engine (API 1.41) takes one network at creation, so compose.ts connects the others.
 */
export function createOptions(project: ComposeProject, s: ServiceSpec): Record<string, unknown> {
  const tmpfs = Object.fromEntries(
    s.tmpfs.map((t) => {
      const colon = t.indexOf(':');
      return colon < 0 ? [t, ''] : [t.slice(0, colon), t.slice(colon + 1)];
    }),
  );
  const firstNetwork = s.networks[0];
  return {
    name: containerName(project.name, s.name),
    Image: s.image,
    Cmd: s.command,
    User: s.user,
    WorkingDir: s.workingDir,
    Env: environmentList(s),
    Labels: { ...s.labels, [LABEL_PROJECT]: project.name, [LABEL_SERVICE]: s.name },
    ExposedPorts: Object.fromEntries(s.ports.map((p) => [`${p.containerPort}/tcp`, {}])),
    Healthcheck: engineHealthcheck(s),
    // In whole seconds, as the engine takes it; only where said (the options' hash names a container's configuration).
    ...(s.stopGracePeriodNs === undefined ? {} : { StopTimeout: Math.ceil(s.stopGracePeriodNs / 1e9) }),
    HostConfig: {
      Binds: s.volumes.filter((v) => !v.anonymous).map((v) => `${v.named ? volumeName(project.name, v.source) : v.source}:${v.target}${v.readOnly ? ':ro' : ''}`),
      // (Removed with the container: compose.ts removes containers with their anonymous volumes.)
      // Only where there are some: the options' hash names a container's configuration.
      ...(s.volumes.some((v) => v.anonymous) ? { Mounts: s.volumes.filter((v) => v.anonymous).map((v) => ({ Type: 'volume', Target: v.target })) } : {}),
      PortBindings: Object.fromEntries(
        s.ports.map((p) => [`${p.containerPort}/tcp`, [{ HostIp: p.hostIp, HostPort: p.hostPort }]]),
      ),
      RestartPolicy: { Name: s.restart },
      ReadonlyRootfs: s.readOnly,
      Tmpfs: tmpfs,
      CapDrop: s.capDrop,
      SecurityOpt: s.securityOpt,
      Memory: s.memoryBytes,
      PidsLimit: s.pidsLimit,
      NetworkMode: firstNetwork ? networkName(project.name, firstNetwork) : undefined,
      Init: s.init,
    },
    NetworkingConfig: firstNetwork ? { EndpointsConfig: { [networkName(project.name, firstNetwork)]: endpoint(s) } } : undefined,
  };
}

/** The Engine API's KEY=VALUE list of a service's environment (containers and Swarm tasks alike). */
export function environmentList(s: ServiceSpec): string[] {
  return Object.entries(s.environment).map(([k, v]) => `${k}=${v}`);
}

/** The Engine API's HealthConfig of a service (containers and Swarm tasks alike). */
export function engineHealthcheck(s: ServiceSpec): Record<string, unknown> | undefined {
  return (
    s.healthcheck && {
      Test: s.healthcheck.test,
      Interval: s.healthcheck.intervalNs,
      Timeout: s.healthcheck.timeoutNs,
      Retries: s.healthcheck.retries,
      StartPeriod: s.healthcheck.startPeriodNs,
      ...(s.healthcheck.startIntervalNs === undefined ? {} : { StartInterval: s.healthcheck.startIntervalNs }),
    }
  );
}

/** How a service is known on each of its networks: by its name, as Compose does. */
export function endpoint(s: ServiceSpec): { Aliases: string[] } {
  return { Aliases: [s.name] };
}
