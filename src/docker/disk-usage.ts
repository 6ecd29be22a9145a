// How much a job's containers have written to disk, as the engine counts it from outside
// (GET /system/df: each container's writable layer, each volume's size): nothing in the
// container can hide it. The engine walks every container's layer and every volume for it, and
// an engine before API 1.42 refuses a second count while one runs: one count at a time for all
// of a worker's containers, kept for a few seconds.
import type { Docker } from './engine.js';

/** What /system/df answers that is read here. */
export interface EngineDiskUsage {
  Containers?: { Id: string; SizeRw?: number; Mounts?: { Type?: string; Name?: string }[] }[] | null;
  Volumes?: { Name: string; UsageData?: { Size?: number } | null }[] | null;
}

/**
 * The bytes a container has written: its writable layer and the volumes mounted in it (a job's
 * container has its own anonymous one at most); undefined when the answer does not list it. A
 * size the engine did not count (-1) counts nothing.
 */
export function containerDiskUsage(df: EngineDiskUsage, id: string): number | undefined {
  const container = (df.Containers ?? []).find((c) => c.Id === id);
  if (!container) return undefined;
  const counted = (n: number | undefined) => (typeof n === 'number' && n > 0 ? n : 0);
  let bytes = counted(container.SizeRw);
  for (const mount of container.Mounts ?? []) {
    if (mount.Type !== 'volume' || !mount.Name) continue;
    bytes += counted((df.Volumes ?? []).find((v) => v.Name === mount.Name)?.UsageData?.Size);
  }
  return bytes;
}

/**
 * How long one count of the engine's answers for (a check of every container of the worker
 * within it shares it), and how long a count may take: one the engine does not answer by then is
 * a count that failed (said in the job's log), and the next check asks again. A fresh count
 * (DiskUsageCounter.of) is tried freshTries times, freshRetryMs apart.
 */
export const DISK_COUNT = { freshMs: 5000, timeoutMs: 60_000, freshTries: 3, freshRetryMs: 2000 };

/** The engine's count of what containers have written, one count in flight at a time. */
export class DiskUsageCounter {
  private last?: { at: number; df: EngineDiskUsage };
  private counting?: Promise<EngineDiskUsage>;

  constructor(private readonly docker: Docker) {}

  /**
   * The bytes the container of this id has written (containerDiskUsage); rejects with the
   * engine's error. `fresh`: from a count begun after this call, not one kept or in flight here
   * or at the engine, which answers a count asked while another runs with that one's (moby's
   * disk usage is one computation at a time, shared; an engine before API 1.42 refuses the second
   * with 409): a count asked once one asked after this call has ended; tried FRESH_TRIES times.
   */
  async of(id: string, o: { fresh?: boolean } = {}): Promise<number | undefined> {
    if (!o.fresh) return containerDiskUsage(await this.count(), id);
    await this.counting?.catch(() => undefined);
    this.last = undefined;
    await this.count().catch(() => undefined);
    for (let tries = 1; ; tries++) {
      this.last = undefined;
      try {
        return containerDiskUsage(await this.count(), id);
      } catch (err) {
        if (tries >= DISK_COUNT.freshTries) throw err;
        await new Promise((r) => setTimeout(r, DISK_COUNT.freshRetryMs));
      }
    }
  }

  private async count(): Promise<EngineDiskUsage> {
    if (this.last && Date.now() - this.last.at < DISK_COUNT.freshMs) return this.last.df;
    this.counting ??= this.ask()
      .then((df) => {
        this.last = { at: Date.now(), df };
        return df;
      })
      .finally(() => (this.counting = undefined));
    return this.counting;
  }

  /** Containers and volumes only (engines before API 1.42 ignore the type and count images too), within DISK_COUNT.timeoutMs. */
  private ask(): Promise<EngineDiskUsage> {
    const abort = new AbortController();
    return new Promise<EngineDiskUsage>((resolve, reject) => {
      const timer = setTimeout(() => {
        abort.abort();
        reject(new Error(`the engine did not answer its disk usage within ${Math.round(DISK_COUNT.timeoutMs / 1000)} s`));
      }, DISK_COUNT.timeoutMs);
      this.docker.modem.dial(
        { path: '/system/df?', method: 'GET', options: { type: ['container', 'volume'] }, abortSignal: abort.signal, statusCodes: { 200: true, 400: 'bad request', 409: 'conflict', 500: 'server error' } },
        (err: Error | null, data: unknown) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve(data as EngineDiskUsage);
        },
      );
    });
  }
}
