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
  Status?: { State?: string; Err?: string; Message?: string };
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

/** The project's services on the Swarm, one line per task, as composeStatus gives containers. */
export async function swarmStatus(engine: EngineReads, project: string): Promise<ServiceState[]> {
  const services = await projectServices(engine, project);
  if (services.length === 0) return [];
  const nodes = new Map((await engine.get<{ ID: string; Description?: { Hostname?: string } }[]>('/nodes')).map((n) => [n.ID, n.Description?.Hostname ?? n.ID]));
  const states: ServiceState[] = [];
  for (const s of services) {
    const tasks = await engine.get<Task[]>('/tasks', { filters: { service: [s.ID], 'desired-state': ['running'] } });
    for (const t of tasks) {
      states.push({
        service: s.Spec?.Labels?.[LABEL_SERVICE] ?? s.Spec?.Name ?? s.ID,
        container: `${s.Spec?.Name ?? s.ID} on ${nodes.get(t.NodeID ?? '') ?? t.NodeID ?? '?'}`,
        state: t.Status?.State ?? '?',
        image: t.Spec?.ContainerSpec?.Image ?? '',
        ports: [],
      });
    }
  }
  return states;
}
