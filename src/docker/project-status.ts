// What runs of a project: its containers on one engine (archive up) and its services' tasks on
// a Swarm (archive up --swarm), one line each, read through engine-reads.ts.
import { DockerError } from '../errors.js';
import { LABEL_PROJECT, LABEL_SERVICE } from './compose-file.js';
import { dockerMessage, type EngineReads } from './engine-reads.js';
import { LABEL_STACK } from './swarm-spec.js';

export interface ServiceState {
  service: string;
  container: string;
  state: string;
  health?: string;
  image: string;
  ports: string[];
  /** What the engine says went wrong (a Swarm task's error: "No such image", a non-zero exit). */
  error?: string;
}

export interface ProjectService {
  ID: string;
  Spec?: { Name?: string; Labels?: Record<string, string> };
}

interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  Labels: Record<string, string>;
  Ports?: { IP?: string; PublicPort?: number; PrivatePort: number }[];
}

export interface Task {
  ServiceID?: string;
  NodeID?: string;
  Status?: { State?: string; Err?: string; Message?: string; Timestamp?: string };
  DesiredState?: string;
  Spec?: { ContainerSpec?: { Image?: string } };
}

/** The project's containers on this engine. */
export async function composeStatus(engine: EngineReads, project: string): Promise<ServiceState[]> {
  const containers = await engine.get<ContainerSummary[]>('/containers/json', { all: true, filters: { label: [`${LABEL_PROJECT}=${project}`] } });
  return Promise.all(
    containers.map(async (c) => {
      const info = await engine.get<{ State: { Status: string; Health?: { Status: string } } }>(`/containers/${c.Id}/json`);
      return {
        service: c.Labels[LABEL_SERVICE] ?? '',
        container: c.Names[0]?.replace(/^\//, '') ?? c.Id,
        state: info.State.Status,
        health: info.State.Health?.Status,
        image: c.Image,
        ports: (c.Ports ?? []).filter((p) => p.PublicPort).map((p) => `${p.IP}:${p.PublicPort}->${p.PrivatePort}`),
      };
    }),
  );
}

/** The project's services on the Swarm (labelled as docker stack labels them); none where the engine is no manager. */
export async function projectServices(engine: EngineReads, project: string): Promise<ProjectService[]> {
  try {
    return await engine.get<ProjectService[]>('/services', { filters: { label: [`${LABEL_STACK}=${project}`] } });
  } catch (err) {
    // 503: this node is not a swarm manager.
    if ((err as { statusCode?: number })?.statusCode === 503) return [];
    throw new DockerError(`cannot list the Swarm's services: ${dockerMessage(err)}`);
  }
}

/**
 * The project's services on the Swarm, one line per task Swarm means to run, as composeStatus
 * gives containers, each with its task's error; a service with no such task (its tasks all
 * ended: failed past its restart policy, or completed) in one line with its newest task's state
 * and error, so that it is seen, and why it stopped.
 */
export async function swarmStatus(engine: EngineReads, project: string): Promise<ServiceState[]> {
  const services = await projectServices(engine, project);
  if (services.length === 0) return [];
  const nodes = new Map((await engine.get<{ ID: string; Description?: { Hostname?: string } }[]>('/nodes')).map((n) => [n.ID, n.Description?.Hostname ?? n.ID]));
  const states: ServiceState[] = [];
  const when = (t: Task) => Date.parse(t.Status?.Timestamp ?? '') || 0;
  for (const s of services) {
    const service = s.Spec?.Labels?.[LABEL_SERVICE] ?? s.Spec?.Name ?? s.ID;
    const tasks = await engine.get<Task[]>('/tasks', { filters: { service: [s.ID] } });
    const meant = tasks.filter((t) => t.DesiredState === 'running');
    const newest = tasks.reduce<Task | undefined>((a, t) => (!a || when(t) > when(a) ? t : a), undefined);
    const shown = meant.length > 0 ? meant : newest ? [newest] : [];
    if (shown.length === 0) states.push({ service, container: s.Spec?.Name ?? s.ID, state: 'no tasks', image: '', ports: [] });
    for (const t of shown) {
      states.push({
        service,
        container: `${s.Spec?.Name ?? s.ID} on ${nodes.get(t.NodeID ?? '') ?? t.NodeID ?? '?'}`,
        state: t.Status?.State ?? '?',
        image: t.Spec?.ContainerSpec?.Image ?? '',
        ports: [],
        ...(t.Status?.Err && { error: t.Status.Err }),
      });
    }
  }
  return states;
}
