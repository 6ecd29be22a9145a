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
 * a count that failed (said in the job's log), and the next check asks again.
 */
export const DISK_COUNT = { freshMs: 5000, timeoutMs: 60_000 };

/** The engine's count of what containers have written, one count in flight at a time. */
export class DiskUsageCounter {
  private last?: { at: number; df: EngineDiskUsage };
  private counting?: Promise<EngineDiskUsage>;

  constructor(private readonly docker: Docker) {}

  /**
   * The bytes the container of this id has written (containerDiskUsage); rejects with the
   * engine's error. `fresh`: from a count begun after this call, not one kept or in flight.
   */
  async of(id: string, o: { fresh?: boolean } = {}): Promise<number | undefined> {
    if (o.fresh) {
      await this.counting?.catch(() => undefined);
      this.last = undefined;
    }
    return containerDiskUsage(await this.count(), id);
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
