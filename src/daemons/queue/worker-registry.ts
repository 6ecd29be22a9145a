// The workers the queue knows: enrolled ones (core/workers.ts), each with its own key, added and
// removed by the CLI's requests; and every worker's last word (what it offered, when), for
// `archive workers ls` and for saying when no worker can run a waiting job.
import { randomBytes } from 'node:crypto';
import { builderKey, type KeyFor } from '../../core/request-signature.js';
import type { WorkerOffer } from '../../core/job-protocol.js';
import type { JobRecord } from '../../core/jobs.js';
import { WORKER_NAME, nativeWorkerAvailable, presentWorkers, workerToken, type WorkerRecord, type WorkerSeen } from '../../core/workers.js';
import type { QueueAnswer } from '../../core/queue-requests.js';
import { RecordStore } from '../../storage/record-store.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';

/** A worker's last word is written down at most this often (it asks every few seconds). */
const SEEN_EVERY_MS = 30_000;
const SEEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class WorkerRegistry {
  private readonly enrolled: RecordStore<WorkerRecord>;
  private readonly seen: RecordStore<WorkerSeen>;
  /** Removed since the queue started: a request of theirs signed before is still refused work. */
  private readonly revoked = new Set<string>();

  constructor(
    private readonly q: QueueContext,
    /** The archive's own token: workers beside the queue sign with keys derived from it. */
    private readonly token: string,
  ) {
    this.enrolled = new RecordStore<WorkerRecord>(q.layout.workers, 0o600);
    this.seen = new RecordStore<WorkerSeen>(q.layout.workersSeen);
  }

  async load(): Promise<this> {
    await this.enrolled.load();
    await this.seen.load();
    return this;
  }

  /** Each worker's key: an enrolled one's own; any other name's derived from the archive's token. */
  readonly keyFor: KeyFor = (name) => {
    if (this.revoked.has(name)) return undefined;
    const w = this.enrolled.get(name);
    return w ? Buffer.from(w.key, 'hex') : builderKey(this.token, name);
  };

  /** Whether a worker was removed while one of its requests waited (a long poll): it gets no job. */
  isRevoked(worker: string): boolean {
    return this.revoked.has(worker);
  }

  /** What a worker may run of what it offers: an enrolled one only the architectures it was enrolled for. */
  effective<T extends Partial<WorkerOffer>>(worker: string, offer: T): T {
    const w = this.enrolled.get(worker);
    if (!w || w.architectures.length === 0) return offer;
    return { ...offer, architectures: (offer.architectures ?? w.architectures).filter((a) => w.architectures.includes(a)) };
  }

  /** A worker asked for work (or started): noted, written down at most every 30 s. */
  async heard(worker: string, asked: Partial<WorkerOffer>): Promise<void> {
    // The name becomes a file name: only plain ones (a worker beside the queue may be named after its host).
    if (!SEEN_NAME.test(worker)) return;
    const offer = this.effective(worker, asked);
    const before = this.seen.get(worker);
    const now = new Date();
    const same = before && JSON.stringify([before.kinds, before.architectures, before.emulated]) === JSON.stringify([offer.kinds, offer.architectures, offer.emulated]);
    const since = before ? now.getTime() - new Date(before.lastSeen).getTime() : Infinity;
    // A changed offer is written at once, but never more than once a second (a worker may be hostile).
    if (since < (same ? SEEN_EVERY_MS : 1000)) return;
    await this.seen.save({ id: worker, enrolled: !!this.enrolled.get(worker), kinds: offer.kinds, architectures: offer.architectures, emulated: offer.emulated, lastSeen: now.toISOString() });
  }

  /** Whether a worker other than `worker` builds `arch` natively and is waiting for work now. */
  nativeAvailable(arch: string, worker: string, now = Date.now()): boolean {
    return nativeWorkerAvailable(arch, worker, this.seen.all(), now);
  }

  /** The workers present now (core/workers.ts), with what they offered: heard from lately, or holding one of `jobs`. */
  present(jobs: JobRecord[], now = Date.now()): WorkerSeen[] {
    return presentWorkers(this.seen.all(), jobs, now);
  }

  /** `archive workers add`: a new identity and its token (shown once; the queue keeps the key). In the lane. */
  async add(name: string, architectures: string[]): Promise<QueueAnswer> {
    if (!WORKER_NAME.test(name)) return { ok: false, message: `worker name "${name}": expected lower-case letters, digits and -, at most 63, starting with a letter or digit` };
    if (this.enrolled.get(name)) return { ok: false, message: `a worker ${name} is enrolled already; archive workers rm ${name} first to give it a new token` };
    if (this.seen.get(name)?.enrolled === false) return { ok: false, message: `${name} is the name of a worker beside the queue; choose another` };
    this.revoked.delete(name);
    const record: WorkerRecord = { id: name, key: randomBytes(32).toString('hex'), architectures, createdAt: new Date().toISOString() };
    await this.enrolled.save(record);
    this.q.log(`worker ${name} enrolled${architectures.length ? ` for ${architectures.join(', ')}` : ''}`);
    return { ok: true, message: `worker ${name} enrolled`, worker: { name, architectures, token: workerToken(record) } };
  }

  /** `archive workers rm`: revoked at once; what it held goes back to the queue. In the lane. */
  async remove(name: string, leasing: JobLeasing): Promise<QueueAnswer> {
    if (!this.enrolled.get(name)) return { ok: false, message: `no enrolled worker ${name} (see archive workers ls)` };
    this.revoked.add(name);
    await this.enrolled.remove(name);
    await this.seen.remove(name);
    const back = await leasing.giveBackAll(name, `worker ${name} was removed`);
    this.q.log(`worker ${name} removed; ${back} job(s) given back`);
    return { ok: true, message: `worker ${name} removed: its token is refused from now on${back ? `; ${back} job(s) it held went back to the queue` : ''}` };
  }
}
