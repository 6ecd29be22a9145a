// What archive status says of a project's services on a Swarm, from what the engine answers.
import { describe, expect, it } from 'vitest';
import { LABEL_SERVICE } from './compose-file.js';
import type { EngineReads } from './engine-reads.js';
import { swarmStatus, type ProjectService, type Task } from './project-status.js';

/** An engine answering as a manager's does, its /tasks filtered by service and desired state as the API filters them. */
function engine(services: ProjectService[], tasks: Record<string, Task[]>): EngineReads {
  return {
    get: async <T>(path: string, query?: Record<string, unknown>): Promise<T> => {
      if (path === '/services') return services as T;
      if (path === '/nodes') return [{ ID: 'n1', Description: { Hostname: 'manager-1' } }] as T;
      if (path === '/tasks') {
        const filters = query?.filters as { service: string[]; 'desired-state'?: string[] };
        return (tasks[filters.service[0]] ?? []).filter((t) => !filters['desired-state'] || filters['desired-state'].includes(t.DesiredState ?? '')) as T;
      }
      throw new Error(`unexpected ${path}`);
    },
  };
}
const service = (id: string, name: string): ProjectService => ({ ID: id, Spec: { Name: `p_${name}`, Labels: { [LABEL_SERVICE]: name } } });
const task = (DesiredState: string, State: string, Timestamp: string, Err?: string): Task => ({
  NodeID: 'n1', DesiredState, Status: { State, Timestamp, ...(Err && { Err }) }, Spec: { ContainerSpec: { Image: 'archive/queue:trixie' } },
});

describe('archive status on a Swarm', () => {
  it('shows each task Swarm means to run, with its error, and a service whose tasks all stopped with its newest task and why', async () => {
    const states = await swarmStatus(
      engine([service('s1', 'repo'), service('s2', 'queue'), service('s3', 'builder')], {
        s1: [task('running', 'running', '2026-11-29T10:00:00Z'), task('shutdown', 'failed', '2026-11-29T09:00:00Z', 'task: non-zero exit (1)')],
        // Swarm gave up on it (restart policy: max attempts): no task is to run.
        s2: [
          task('shutdown', 'failed', '2026-11-29T10:01:00.5Z', 'task: non-zero exit (1)'),
          task('shutdown', 'rejected', '2026-11-29T10:02:00.25Z', 'No such image: archive/queue:trixie'),
          task('shutdown', 'failed', '2026-11-29T09:59:00Z', 'task: non-zero exit (2)'),
        ],
        s3: [],
      }),
      'p',
    );
    expect(states).toEqual([
      { service: 'repo', container: 'p_repo on manager-1', state: 'running', image: 'archive/queue:trixie', ports: [] },
      { service: 'queue', container: 'p_queue on manager-1', state: 'rejected', image: 'archive/queue:trixie', ports: [], error: 'No such image: archive/queue:trixie' },
      { service: 'builder', container: 'p_builder', state: 'no tasks', image: '', ports: [] },
    ]);
  });

  it('says the error of a task that is to run but does not', async () => {
    const states = await swarmStatus(engine([service('s1', 'repo')], { s1: [task('running', 'pending', '2026-11-29T10:00:00Z', 'no suitable node (host-mode port already in use on 1 node)')] }), 'p');
    expect(states).toMatchObject([{ service: 'repo', state: 'pending', error: 'no suitable node (host-mode port already in use on 1 node)' }]);
  });
});
