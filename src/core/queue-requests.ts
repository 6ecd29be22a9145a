// What the CLI asks of the queue, and what the queue answers: typed once, for both sides. The
// CLI never changes records; it leaves a request in state/requests/ (cli/request.ts), and the
// queue, the only writer, carries it out and answers beside it (daemons/queue/cli-requests.ts).

/** One request per CLI command that changes the archive; `suite` defaults to the first suite. */
export type QueueRequest =
  | { action: 'retry'; source: string; version?: string }
  /** Rebuilds a source's newest built version (or VERSION) again, and compares (core/kinds/rebuild.ts). */
  | { action: 'verify'; source: string; version?: string }
  | { action: 'rm'; source: string; suite?: string }
  | { action: 'copy'; source: string; from: string; to: string }
  /** Migrates what may (core/migration.ts); with dryRun, only says what would. */
  | { action: 'migrate'; dryRun: boolean }
  | { action: 'snapshot'; name: string; suite?: string; delete?: boolean }
  /**
   * The files are staged beside the request (ID.files/), named as listed here. `listed`: the
   * answer lists every package that went in (`archive include --json`), not only how many.
   */
  | { action: 'include'; files: string[]; suite?: string; component?: string; listed?: boolean }
  /** Enrolls a worker (core/workers.ts); the answer carries its token. */
  | { action: 'workers-add'; name: string; architectures: string[] }
  | { action: 'workers-rm'; name: string };

export type QueueAction = QueueRequest['action'];

import type { MigrationDecision } from './migration.js';

/**
 * A list as an answer holds it: an array (read back from its file), or, in the queue, one whose
 * members are made only as it is written (storage/json-files.ts's MadeAsWritten).
 */
export interface Listed<T> extends Iterable<T> {
  readonly length: number;
  slice(start?: number, end?: number): T[];
}

/** A package `archive include` put into the pool. */
export interface IncludedPackage {
  package: string;
  version: string;
  architecture: string;
  path: string;
}

/**
 * The answer to any request: ok and a message for the user; what else each action reports
 * (shown by `--json`).
 */
export interface QueueAnswer {
  ok: boolean;
  message: string;
  /** retry: the jobs queued again; verify: the rebuilds queued. */
  jobs?: string[];
  /** copy: the version copied. */
  version?: string;
  /**
   * include: what went in (when the request asked for the list), how many replaced a file of the
   * same package, what was refused.
   */
  included?: Listed<IncludedPackage>;
  replaced?: number;
  errors?: string[];
  /** migrate: each source's decision, migrated or not and why. */
  migration?: MigrationDecision[];
  /** workers-add: the new worker and its token (shown once). */
  worker?: { name: string; architectures: string[]; token: string };
}

const ACTIONS: readonly QueueAction[] = ['retry', 'verify', 'rm', 'copy', 'migrate', 'snapshot', 'include', 'workers-add', 'workers-rm'];
const text = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 1000;

/**
 * The most files one include brings: twice the 100,000 the publisher bench takes (Debian's main
 * has some 65,000 per architecture). Four million one-letter names fit the request's 16 MiB, and
 * cost the queue 870 MiB to refuse one by one.
 */
export const MAX_INCLUDE_FILES = 200_000;
const optionalText = (v: unknown) => v === undefined || text(v);

/**
 * A request file's content, checked: it is written by whoever can write state/requests (the
 * queue's user, or root through the CLI), so its shape is not taken on trust. Returns the
 * request, or what is wrong with it.
 */
export function parseQueueRequest(value: unknown): QueueRequest | { error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'expected a JSON object' };
  const r = value as Record<string, unknown>;
  const action = r.action as QueueAction;
  if (!ACTIONS.includes(action)) return { error: `unknown action ${JSON.stringify(r.action)} (known: ${ACTIONS.join(', ')})` };
  const bad = (field: string) => ({ error: `${action}: ${field} missing or not a name` });
  if (!optionalText(r.suite)) return bad('suite');
  switch (action) {
    case 'retry':
    case 'verify':
      return !text(r.source) ? bad('source') : !optionalText(r.version) ? bad('version') : { action, source: r.source as string, version: r.version as string | undefined };
    case 'rm':
      return !text(r.source) ? bad('source') : { action, source: r.source as string, suite: r.suite as string | undefined };
    case 'copy':
      return !text(r.source) ? bad('source') : !text(r.from) ? bad('from') : !text(r.to) ? bad('to') : { action, source: r.source as string, from: r.from as string, to: r.to as string };
    case 'migrate':
      return r.dryRun !== undefined && typeof r.dryRun !== 'boolean' ? { error: 'migrate: dryRun is not true or false' } : { action, dryRun: r.dryRun === true };
    case 'snapshot':
      return !text(r.name) ? bad('name') : { action, name: r.name as string, suite: r.suite as string | undefined, delete: r.delete === true };
    case 'include':
      if (!Array.isArray(r.files) || !r.files.every(text)) return bad('files');
      if (r.files.length > MAX_INCLUDE_FILES) return { error: `include: ${r.files.length} files; one include brings at most ${MAX_INCLUDE_FILES}` };
      {
        // Staged under their names: one named twice would be read, checked and placed twice (the CLI sends none).
        const names = new Set<string>();
        for (const name of r.files as string[]) {
          if (names.has(name)) return { error: `include: ${JSON.stringify(name)} named twice` };
          names.add(name);
        }
      }
      if (!optionalText(r.component)) return bad('component');
      if (r.listed !== undefined && typeof r.listed !== 'boolean') return { error: 'include: listed is not true or false' };
      return { action, files: r.files as string[], suite: r.suite as string | undefined, component: r.component as string | undefined, listed: r.listed as boolean | undefined };
    case 'workers-add':
      if (!text(r.name)) return bad('name');
      if (!Array.isArray(r.architectures) || !r.architectures.every(text)) return bad('architectures');
      return { action, name: r.name as string, architectures: r.architectures as string[] };
    case 'workers-rm':
      return !text(r.name) ? bad('name') : { action, name: r.name as string };
  }
}
