// What the queue's leasing remembers between requests, held to what it needs: a worker's heartbeat
// is noted only for a lease it holds, and a long poll that waited in vain leaves nothing behind
// (a hostile worker sending heartbeats for made-up jobs and names, or an idle one polling for
// days, grew the queue's memory without end).
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../../core/jobs.js';
import { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';
import { SerialLane } from './serial-lane.js';
import type { WorkerRegistry } from './worker-registry.js';

function leasing(jobs: Map<string, JobRecord>) {
  const q = {
    jobs: { get: (id: string) => jobs.get(id), all: () => [...jobs.values()] },
    lane: new SerialLane(),
    config: () => ({ builds: { leaseSeconds: 600, depWaitHours: 24 } }),
    log: () => undefined,
  } as unknown as QueueContext;
  const workers = { heard: async () => undefined, effective: (_: string, asked: unknown) => asked } as unknown as WorkerRegistry;
  const l = new JobLeasing(q, workers);
  // Saving nowhere; no job to lease.
  l.save = async (job: JobRecord) => void jobs.set(job.id, job);
  (l as unknown as { leaseOne: () => Promise<undefined> }).leaseOne = async () => undefined;
  return l;
}
const held = (l: JobLeasing) => (l as unknown as { heardFrom: Map<string, number> }).heardFrom;
const waiting = (l: JobLeasing) => (l as unknown as { waiters: Set<() => void> }).waiters;

const building = { id: 'u1-amd64', kind: 'build', state: 'building', lease: { builder: 'w/1', expiresAt: new Date(Date.now() + 600_000).toISOString() } } as unknown as JobRecord;

describe('job leasing', () => {
  it("notes a heartbeat only from its lease's holder", async () => {
    const jobs = new Map([[building.id, building]]);
    const l = leasing(jobs);
    for (let i = 0; i < 100; i++) await l.heartbeat(`no-such-job-${i}`, `w/${i}`).catch(() => undefined);
    await l.heartbeat(building.id, 'w/2').catch(() => undefined);
    expect([...held(l).keys()]).toEqual([]);
    await l.heartbeat(building.id, 'w/1').catch(() => undefined);
    expect([...held(l).keys()]).toEqual(['u1-amd64 w/1']);
  });

  it('forgets what was heard of a lease once it has ended', async () => {
    const jobs = new Map([[building.id, building]]);
    const l = leasing(jobs);
    await l.heartbeat(building.id, 'w/1').catch(() => undefined);
    await l.expire();
    expect(held(l).size).toBe(1);
    jobs.set(building.id, { ...building, state: 'needs-build', lease: undefined } as unknown as JobRecord);
    await l.expire();
    expect(held(l).size).toBe(0);
  });

  it('leaves no waiter behind when a long poll ends with nothing to lease', async () => {
    const l = leasing(new Map());
    for (let i = 0; i < 5; i++) expect(await l.lease({ builder: 'w/1', kinds: ['build'], waitSeconds: 0 }, 5, () => false)).toBeUndefined();
    expect(waiting(l).size).toBe(0);
    // One woken by new work goes as well.
    const polled = l.lease({ builder: 'w/1', kinds: ['build'], waitSeconds: 60 }, 60_000, () => false);
    await new Promise((r) => setTimeout(r, 20));
    expect(waiting(l).size).toBe(1);
    l.wakeWorkers();
    expect(await polled).toBeUndefined();
    expect(waiting(l).size).toBe(0);
  });
});
