import { describe, expect, it } from 'vitest';
import type { Task } from './project-status.js';
import { tasksNotEnded, tasksTrouble } from './swarm.js';

const task = (DesiredState: string, State: string, Err?: string, Message?: string): Task => ({ DesiredState, Status: { State, ...(Err && { Err }), ...(Message && { Message }) } });

describe("what a service's tasks say keeps them from running", () => {
  it('says a pending task that no node takes, as Swarm says why: a host-mode port in use, no node that fits', () => {
    // What Swarm says of the repository's task when another process holds its port on the manager.
    const tasks = [task('running', 'pending', 'no suitable node (host-mode port already in use on 1 node)', 'pending task scheduling')];
    expect(tasksTrouble(tasks)).toBe('a task pending: no suitable node (host-mode port already in use on 1 node)');
    expect(tasksTrouble([task('running', 'pending', 'no suitable node (scheduling constraints not satisfied on 3 nodes)')])).toBe(
      'a task pending: no suitable node (scheduling constraints not satisfied on 3 nodes)',
    );
  });

  it('says nothing of a task on its way (pending or starting without an error) nor of one running', () => {
    expect(tasksTrouble([task('running', 'pending', undefined, 'pending task scheduling'), task('running', 'starting'), task('running', 'running')])).toBe('');
    expect(tasksTrouble([])).toBe('');
  });

  it('says a task that is to run but has an error first, then those that failed or were rejected, each once, three at most', () => {
    const tasks = [
      task('shutdown', 'failed', 'task: non-zero exit (1)'),
      task('shutdown', 'failed', 'task: non-zero exit (1)'),
      task('running', 'preparing', 'No such image: archive/repo:trixie'),
      task('shutdown', 'rejected', undefined, 'preparing'),
      task('shutdown', 'shutdown', undefined, 'shutdown'),
      task('shutdown', 'failed', 'starting container failed: oci runtime error'),
    ];
    expect(tasksTrouble(tasks)).toBe('a task preparing: No such image: archive/repo:trixie; a task failed: task: non-zero exit (1); a task rejected: preparing');
    expect(tasksTrouble([task('shutdown', 'rejected')])).toBe('a task rejected: no reason given');
  });
});

describe("the workers' tasks archive down waits for", () => {
  const on = (ServiceID: string, NodeID: string, State: string): Task => ({ ServiceID, NodeID, DesiredState: 'shutdown', Status: { State } });

  it('waits for a removed service\'s tasks that still start or run on a node that is up, not for ended ones nor other services\'', () => {
    const tasks = [on('b', 'n1', 'running'), on('b', 'n2', 'starting'), on('b', 'n1', 'complete'), on('b', 'n2', 'shutdown'), on('b', 'n1', 'failed'), on('q', 'n1', 'running')];
    expect(tasksNotEnded(tasks, new Set(['b']), new Set(['n1', 'n2']))).toEqual([tasks[0], tasks[1]]);
    expect(tasksNotEnded(tasks.slice(2), new Set(['b']), new Set(['n1', 'n2']))).toEqual([]);
  });

  it('does not wait for a task on a node that is down: it cannot end until the node is back', () => {
    expect(tasksNotEnded([on('b', 'dead', 'running'), on('b', 'n1', 'running')], new Set(['b']), new Set(['n1']))).toEqual([on('b', 'n1', 'running')]);
  });
});
