// What the queue's leasing remembers between requests, held to what it needs: a worker's heartbeat
// is noted only for a lease it holds, and a long poll that waited in vain leaves nothing behind
// (a hostile worker sending heartbeats for made-up jobs and names, or an idle one polling for
// days, grew the queue's memory without end).
import { mkdirSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../../test/support/scratch.js';
import type { JobRecord } from '../../core/jobs.js';
import { refused, type KeyCheck } from '../job-api.js';
import { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';
import { SerialLane } from './serial-lane.js';
import type { WorkerRegistry } from './worker-registry.js';

function leasing(jobs: Map<string, JobRecord>) {
  const q = {
    jobs: { get: (id: string) => jobs.get(id), all: () => [...jobs.values()] },
    lane: new SerialLane(),
    config: () => ({ builds: { leaseSeconds: 600, depWaitHours: 24, concurrency: 1 } }),
    log: () => undefined,
  } as unknown as QueueContext;
  const workers = { heard: async () => undefined, effective: (_: string, asked: unknown) => asked } as unknown as WorkerRegistry;
  const l = new JobLeasing(q, workers);
  // Saving nowhere; no job to lease.
  l.save = async (job: JobRecord) => void jobs.set(job.id, job);
  (l as unknown as { leaseOne: () => Promise<undefined> }).leaseOne = async () => undefined;
  return l;
}
/** Leasing over `jobs` with the queue's public and artifacts folders under a scratch `dir`; every job's inputs are none. */
function leasingOnDisk(jobs: Map<string, JobRecord>) {
  const dir = scratchDir('aib-leasing-');
  mkdirSync(join(dir, 'public/logs'), { recursive: true });
  const q = {
    jobs: { get: (id: string) => jobs.get(id), all: () => [...jobs.values()] },
    lane: new SerialLane(),
    layout: { public: join(dir, 'public'), artifacts: join(dir, 'artifacts') },
    config: () => ({ builds: { leaseSeconds: 600, depWaitHours: 24 }, suites: ['unstable', 'experimental'].map((name) => ({ name, components: ['main'] })) }),
    log: () => undefined,
  } as unknown as QueueContext;
  const workers = { heard: async () => undefined, effective: (_: string, asked: unknown) => asked, isRevoked: () => false, nativeAvailable: () => false } as unknown as WorkerRegistry;
  const l = new JobLeasing(q, workers);
  l.save = async (j: JobRecord) => void jobs.set(j.id, j);
  l.inputs = () => [];
  return Object.assign(l, { dir });
}
/** The key a request was signed with is still its worker's. */
const keyHeld: KeyCheck = () => undefined;
/** A request's key check (job-api.ts), and remove() as archive workers rm (then add) of its worker does. */
function keyOfWorker() {
  let removed = false;
  const check: KeyCheck = () => {
    if (removed) throw refused(401, 'signed with a key worker w no longer has');
  };
  return { check, remove: () => void (removed = true) };
}
const held = (l: JobLeasing) => (l as unknown as { heardFrom: Map<string, number> }).heardFrom;
const waiting = (l: JobLeasing) => (l as unknown as { waiters: Set<() => void> }).waiters;

const pending = { id: 'u1-amd64', kind: 'build', source: 'hello', version: '1.0-1', arch: 'amd64', suite: 'unstable', state: 'needs-build', attempts: 0, createdAt: '2026-12-06T10:00:00Z', updatedAt: '2026-12-06T10:00:00Z', binaries: [], artifacts: [] } as unknown as JobRecord;
const building = { id: 'u1-amd64', kind: 'build', state: 'building', lease: { builder: 'w/1', expiresAt: new Date(Date.now() + 600_000).toISOString() } } as unknown as JobRecord;

describe('job leasing', () => {
  it("notes a heartbeat only from its lease's holder", async () => {
    const jobs = new Map([[building.id, building]]);
    const l = leasing(jobs);
    for (let i = 0; i < 100; i++) await l.heartbeat(`no-such-job-${i}`, `w/${i}`, keyHeld).catch(() => undefined);
    await l.heartbeat(building.id, 'w/2', keyHeld).catch(() => undefined);
    expect([...held(l).keys()]).toEqual([]);
    await l.heartbeat(building.id, 'w/1', keyHeld).catch(() => undefined);
    expect([...held(l).keys()]).toEqual(['u1-amd64 w/1']);
  });

  it('saves a lease renewed a moment ago no more: a flood of heartbeats is one write, and a non-holder\'s is refused without the lane', async () => {
    const jobs = new Map([[building.id, { ...building, lease: { builder: 'w/1', expiresAt: new Date(Date.now() + 300_000).toISOString() } }]]);
    const l = leasing(jobs);
    let saves = 0;
    const save = l.save;
    l.save = async (job: JobRecord) => (saves++, save(job));
    for (let i = 0; i < 500; i++) await l.heartbeat(building.id, 'w/1', keyHeld);
    expect(saves).toBe(1);
    expect(new Date(jobs.get(building.id)!.lease!.expiresAt).getTime()).toBeGreaterThan(Date.now() + 590_000);
    await expect(l.heartbeat(building.id, 'w/2', keyHeld)).rejects.toThrow();
    expect(saves).toBe(1);
    // Sent while the lane is busy (a publication): they wait in it, and are one write too.
    jobs.set(building.id, { ...building, lease: { builder: 'w/1', expiresAt: new Date(Date.now() + 300_000).toISOString() } });
    let free!: () => void;
    const publication = new Promise<void>((r) => (free = r));
    const busy = (l as unknown as { q: QueueContext }).q.lane.run(() => publication);
    const beats = Array.from({ length: 300 }, () => l.heartbeat(building.id, 'w/1', keyHeld));
    free();
    await busy;
    await Promise.all(beats);
    expect(saves).toBe(2);
  });

  it('forgets what was heard of a lease once it has ended', async () => {
    const jobs = new Map([[building.id, building]]);
    const l = leasing(jobs);
    await l.heartbeat(building.id, 'w/1', keyHeld).catch(() => undefined);
    await l.expire();
    expect(held(l).size).toBe(1);
    jobs.set(building.id, { ...building, state: 'needs-build', lease: undefined } as unknown as JobRecord);
    await l.expire();
    expect(held(l).size).toBe(0);
  });

  it('leaves no waiter behind when a long poll ends with nothing to lease', async () => {
    const l = leasing(new Map());
    for (let i = 0; i < 5; i++) expect(await l.lease({ builder: 'w/1', kinds: ['build'], waitSeconds: 0 }, 5, () => false, keyHeld)).toBeUndefined();
    expect(waiting(l).size).toBe(0);
    // One woken by new work goes as well.
    const polled = l.lease({ builder: 'w/1', kinds: ['build'], waitSeconds: 60 }, 60_000, () => false, keyHeld);
    await new Promise((r) => setTimeout(r, 20));
    expect(waiting(l).size).toBe(1);
    l.wakeWorkers();
    expect(await polled).toBeUndefined();
    expect(waiting(l).size).toBe(0);
  });

  it('leases nothing to a worker that hung up while its request waited for the lane (a lease nobody received would count as a lost builder)', async () => {
    const jobs = new Map([[pending.id, pending]]);
    const l = leasingOnDisk(jobs);
    let free!: () => void;
    const publication = new Promise<void>((r) => (free = r));
    const busy = (l as unknown as { q: QueueContext }).q.lane.run(() => publication);
    let hungUp = false;
    const asked = l.lease({ builder: 'w/1', kinds: ['build'], waitSeconds: 20 }, 0, () => hungUp, keyHeld);
    // The lane is busy longer than the worker waits: it gives up and asks again later.
    hungUp = true;
    free();
    await busy;
    expect(await asked).toBeUndefined();
    expect(jobs.get(pending.id)).toBe(pending);
    expect(await readdir(join(l.dir, 'public/logs'))).toEqual([]);
  });

  it('puts a job back as it was, its attempt not counted, when its worker hung up while the lease was saved', async () => {
    const jobs = new Map([[pending.id, pending]]);
    const l = leasingOnDisk(jobs);
    let hungUp = false;
    const save = l.save;
    l.save = async (j: JobRecord) => {
      await save(j);
      hungUp = true;
    };
    expect(await l.lease({ builder: 'w/1', kinds: ['build'], waitSeconds: 0 }, 0, () => hungUp, keyHeld)).toBeUndefined();
    expect(jobs.get(pending.id)).toBe(pending);
    expect(await readdir(join(l.dir, 'public/logs'))).toEqual([]);
  });

  it("names a lease's log so that it is never another job's log", async () => {
    // One version of one source, to two suites (or uploaded again after `archive rm`).
    const job = (suite: string, createdAt: string) =>
      ({ id: `hello_1.0-1.${suite}-amd64`, kind: 'build', source: 'hello', version: '1:1.0-1', arch: 'amd64', suite, state: 'needs-build', attempts: 0, createdAt, updatedAt: createdAt, binaries: [], artifacts: [] }) as unknown as JobRecord;
    const jobs = new Map([['a', job('unstable', '2026-12-06T10:00:00Z')], ['b', job('experimental', '2026-12-06T10:01:00Z')]].map(([k, j]) => [(j as JobRecord).id, j as JobRecord]));
    const l = leasingOnDisk(jobs);
    const { dir } = l;
    const first = await l.lease({ builder: 'w/1', kinds: ['build'], waitSeconds: 0 }, 0, () => false, keyHeld);
    expect(first?.log).toBe('logs/hello_1.0-1_amd64.1.log');
    await writeFile(join(dir, 'public', first!.log!), 'the first build, as its worker sent it\n');
    const second = await l.lease({ builder: 'w/2', kinds: ['build'], waitSeconds: 0 }, 0, () => false, keyHeld);
    expect(second?.id).not.toBe(first?.id);
    expect(second?.log).toBe('logs/hello_1.0-1_amd64.1-2.log');
    expect(await readFile(join(dir, 'public', first!.log!), 'utf8')).toBe('the first build, as its worker sent it\n');
    expect((await readdir(join(dir, 'public/logs'))).sort()).toEqual(['hello_1.0-1_amd64.1-2.log', 'hello_1.0-1_amd64.1.log']);
  });

  it("removes what a rebuild's earlier lease left public before it is leased again: a signed statement of its verdict", async () => {
    const at = '2026-12-06T10:00:00Z';
    const rebuild = { id: 'u1-amd64-rebuild', of: 'u1-amd64', kind: 'rebuild', source: 'hello', version: '1.0-1', arch: 'amd64', suite: 'unstable', state: 'needs-build', attempts: 1, createdAt: at, updatedAt: at, binaries: [], artifacts: [] } as unknown as JobRecord;
    const jobs = new Map([[rebuild.id, rebuild]]);
    const l = leasingOnDisk(jobs);
    const { dir } = l;
    // The completion of its first lease signed "reproducible", then the queue stopped before
    // the record was saved; that lease ran out.
    const kept = join(dir, 'public/reproducible/hello/u1-amd64-rebuild');
    await mkdir(kept, { recursive: true });
    await writeFile(join(kept, 'statement.json.asc'), '-----BEGIN PGP SIGNED MESSAGE-----\n');
    const leased = await l.lease({ builder: 'w/1', kinds: ['rebuild'], waitSeconds: 0 }, 0, () => false, keyHeld);
    expect(leased?.id).toBe(rebuild.id);
    expect((await readdir(join(dir, 'public/reproducible/hello')))).toEqual([]);
  });

  it("renews no lease and gives back no job for a heartbeat or restart signed with the key of a worker removed while it waited for the lane, though a worker enrolled under its name since holds the job as the same slot", async () => {
    // Renewed a while ago: the heartbeat goes to the lane to be saved.
    const renewed = { ...building, lease: { builder: 'w/1', expiresAt: new Date(Date.now() + 300_000).toISOString() } };
    const jobs = new Map([[building.id, renewed]]);
    const l = leasing(jobs);
    // The lane is busy (a publication) while the old key's requests wait in it; meanwhile archive
    // workers rm w (its jobs go back), workers add w, and the new w leases the job as w/1.
    let free!: () => void;
    const publication = new Promise<void>((r) => (free = r));
    const busy = (l as unknown as { q: QueueContext }).q.lane.run(() => publication);
    const key = keyOfWorker();
    const beat = l.heartbeat(building.id, 'w/1', key.check);
    const restart = l.start('w', key.check);
    key.remove();
    free();
    await busy;
    await expect(beat).rejects.toMatchObject({ status: 401 });
    await expect(restart).rejects.toMatchObject({ status: 401 });
    expect(jobs.get(building.id)).toBe(renewed);
  });

  it('refuses (401) a long poll whose worker was removed while it waited, though a new one was enrolled under its name, and leases it nothing', async () => {
    const jobs = new Map<string, JobRecord>();
    const l = leasingOnDisk(jobs);
    const key = keyOfWorker();
    const polled = l.lease({ builder: 'far-box/1', kinds: ['build'], waitSeconds: 60 }, 60_000, () => false, key.check);
    await new Promise((r) => setTimeout(r, 20));
    // archive workers rm far-box, then add far-box: a new token; then a job comes.
    key.remove();
    const at = '2026-12-06T10:00:00Z';
    jobs.set('u1-amd64', { id: 'u1-amd64', kind: 'build', source: 'hello', version: '1.0-1', arch: 'amd64', suite: 'unstable', state: 'needs-build', attempts: 0, createdAt: at, updatedAt: at, binaries: [], artifacts: [] } as unknown as JobRecord);
    l.wakeWorkers();
    await expect(polled).rejects.toMatchObject({ status: 401 });
    expect(jobs.get('u1-amd64')!.state).toBe('needs-build');
    // The new token's own request gets it.
    expect((await l.lease({ builder: 'far-box/1', kinds: ['build'], waitSeconds: 0 }, 0, () => false, keyHeld))?.id).toBe('u1-amd64');
  });
});
