// The most a worker's owner lets a job take on the machine lent: `archive worker` runs each job
// within the limits its lease sends, lowered to these. The queue sets the limits (archive.yaml
// `builds:`), and a queue elsewhere may be compromised: with no ceiling it could give one job all
// the machine's memory, cores, processes and disk. The worker beside the queue and a Swarm node's
// (archive up: the queue's own owner) have none. Pure.
import { NUMBER_RANGES, numberExpected, withinRange } from '../config/config.js';
import { GiB, MiB, wholeBytes, type BuildLimits } from '../core/kinds/build.js';
import { UserError } from '../errors.js';

/**
 * archive.yaml's `builds:` keys a worker has a ceiling on, as `--limit KEY=VALUE` names them: the
 * limit each sets, its unit there (minutes, MiB, GiB), and whether it is a time limit (times the
 * emulation factor under qemu) or a size (whole bytes). Each takes what archive.yaml takes
 * (config.ts NUMBER_RANGES).
 */
export const CEILING_KEYS = {
  timeout_minutes: { field: 'timeoutMs', unit: 60_000, kind: 'time' },
  stall_minutes: { field: 'stallMs', unit: 60_000, kind: 'time' },
  log_mib: { field: 'logCapBytes', unit: MiB, kind: 'size' },
  memory_gib: { field: 'memoryBytes', unit: GiB, kind: 'size' },
  cpus: { field: 'cpus', unit: 1, kind: 'plain' },
  pids: { field: 'pidsLimit', unit: 1, kind: 'plain' },
  cache_images: { field: 'cacheImages', unit: 1, kind: 'plain' },
  cache_gib: { field: 'cacheBytes', unit: GiB, kind: 'size' },
  output_file_gib: { field: 'outputFileBytes', unit: GiB, kind: 'size' },
  output_gib: { field: 'outputBytes', unit: GiB, kind: 'size' },
  output_files: { field: 'outputFiles', unit: 1, kind: 'plain' },
  disk_gib: { field: 'diskBytes', unit: GiB, kind: 'size' },
} as const satisfies Partial<Record<keyof typeof NUMBER_RANGES.builds, { field: keyof BuildLimits; unit: number; kind: 'time' | 'size' | 'plain' }>>;

export type CeilingKey = keyof typeof CEILING_KEYS;

/**
 * What a worker allows: each limit at most, how many times the time limits a job under qemu may
 * take, and how many builds at once (the queue's `concurrency`, each at the limits: without it a
 * queue could run 64 jobs of 4 GiB each).
 */
export interface WorkerCeilings {
  limits: BuildLimits;
  emulationFactor: number;
  concurrency: number;
}

const KEYS = [...Object.keys(CEILING_KEYS), 'emulation_factor', 'concurrency'];

/**
 * The ceilings `--limit KEY=VALUE` (given any number of times) set, each in place of the
 * default's (`defaults`: `archive worker`'s are the archive's own defaults): KEY one of
 * archive.yaml's `builds:` limits, emulation_factor or concurrency, VALUE a number in its unit
 * and range there (config.ts NUMBER_RANGES: a whole one for counts). A time ceiling times the
 * emulation factor may pass MAX_JOB_TIME_MS: it only lowers a lease's limit, which checkLease
 * holds within it. Refuses anything else, naming it and the range.
 */
export function parseCeilings(options: string[], defaults: WorkerCeilings): WorkerCeilings {
  const limits = { ...defaults.limits };
  let { emulationFactor, concurrency } = defaults;
  for (const option of options) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    if (eq < 0 || !KEYS.includes(key)) {
      throw new UserError(`--limit ${option}: ${eq < 0 ? 'expected KEY=VALUE' : `unknown key "${key}"`}, KEY one of ${KEYS.join(', ')} (archive.yaml's builds: names), as --limit memory_gib=8`);
    }
    const text = option.slice(eq + 1);
    const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
    const spec = Object.hasOwn(CEILING_KEYS, key) ? CEILING_KEYS[key as CeilingKey] : undefined;
    const range = NUMBER_RANGES.builds[key as keyof typeof NUMBER_RANGES.builds];
    if (!withinRange(value, range)) {
      const example = spec ? defaults.limits[spec.field] / spec.unit : key === 'concurrency' ? defaults.concurrency : defaults.emulationFactor;
      throw new UserError(`--limit ${option}: expected ${numberExpected(range)}, as --limit ${key}=${example}`);
    }
    if (spec) limits[spec.field] = spec.kind === 'size' ? wholeBytes(value, spec.unit) : value * spec.unit;
    else if (key === 'concurrency') concurrency = value;
    else emulationFactor = value;
  }
  return { limits, emulationFactor, concurrency };
}

const shown = (n: number) => String(Number(n.toFixed(3)));

/**
 * A lease's limits (checked: checkLease), each lowered to its ceiling; a job this worker runs
 * under qemu (`emulated`) has its time ceilings times the emulation factor, as the archive's
 * are. And for each limit lowered, its key and a line for the job's log saying what was asked
 * and allowed, and how the owner raises it.
 */
export function withinCeilings(asked: BuildLimits, ceilings: WorkerCeilings, emulated: boolean): { limits: BuildLimits; said: string[]; lowered: CeilingKey[] } {
  const limits = { ...asked };
  const said: string[] = [];
  const lowered: CeilingKey[] = [];
  for (const [key, spec] of Object.entries(CEILING_KEYS)) {
    const factor = emulated && spec.kind === 'time' ? ceilings.emulationFactor : 1;
    const most = ceilings.limits[spec.field] * factor;
    if (!(asked[spec.field] > most)) continue;
    limits[spec.field] = most;
    lowered.push(key as CeilingKey);
    const qemu = factor === 1 ? '' : `, ${shown(ceilings.limits[spec.field] / spec.unit)} times emulation_factor ${shown(factor)} under qemu`;
    said.push(`the archive asks for ${key} ${shown(asked[spec.field] / spec.unit)}; this worker allows ${shown(most / spec.unit)}${qemu} (archive worker --limit ${key}=N)`);
  }
  return { limits, said, lowered };
}

/**
 * A job's failure, its reason naming a limit this worker lowered (as "builds.timeout_minutes"):
 * the reason says so, and that raising the archive's limit changes nothing while the worker's
 * ceiling holds (the owner raises it, then `archive retry`). Any other report as it is.
 */
export function blameCeiling<R extends { outcome: string; reason?: string }>(report: R, lowered: CeilingKey[], worker: string): R {
  if (report.outcome !== 'failed' || typeof report.reason !== 'string') return report;
  const key = lowered.find((k) => new RegExp(`\\bbuilds\\.${k}\\b`).test(report.reason!));
  if (!key) return report;
  return { ...report, reason: `${report.reason}, lowered to worker ${worker}'s ceiling (archive worker --limit ${key}=N there, then archive retry)` };
}

/** How many builds this worker runs at once: the queue's concurrency, lowered to its ceiling (saying so). */
export function slotsWithin(asked: number, ceilings: WorkerCeilings | undefined): { slots: number; said?: string } {
  if (!ceilings || asked <= ceilings.concurrency) return { slots: asked };
  return { slots: ceilings.concurrency, said: `the archive asks for concurrency ${asked}; this worker allows ${ceilings.concurrency} (archive worker --limit concurrency=N)` };
}
