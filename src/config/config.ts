// archive.yaml -> validated, typed configuration. Pure apart from the YAML text it is given.
import { isIP } from 'node:net';
import { parse, stringify } from 'yaml';

import { MAX_ARTIFACT_BODY } from '../core/job-protocol.js';
import { QA_CHECKS, isQaCheck, type QaCheck } from '../core/kinds/qa.js';
import type { MigrationPolicy } from '../core/migration.js';
import { QA_GATES, type GateCheck, type QaGate, type QaGates } from '../core/qa-gates.js';
import { UserError } from '../errors.js';

/** dists/NAME-debug holds the debug symbols of suite or snapshot NAME, as Debian's debian-debug archive does. */
export const DEBUG_SUFFIX = '-debug';

/**
 * The most characters of a suite's or snapshot's name: it becomes a file name with more after it
 * (state/suites/NAME.json.tmp-PID-RANDOM as it is saved, dists/NAME-debug), which takes at most
 * 255 bytes. A snapshot of 230 letters failed to save there, and its request stopped the queue.
 */
export const MAX_SUITE_NAME = 100;

/** Names a snapshot may take: a suite's, with . and + besides (it becomes dists/NAME). */
const SNAPSHOT_NAME = new RegExp(`^[a-z0-9][a-z0-9.+-]{0,${MAX_SUITE_NAME - 1}}$`);

/** What is wrong with a new snapshot's name, or undefined when it may take it (the CLI asks before it sends the request; the queue again). */
export function snapshotNameError(name: string): string | undefined {
  if (SNAPSHOT_NAME.test(name) && !name.endsWith(DEBUG_SUFFIX)) return undefined;
  const shown = name.length > 40 ? `"${name.slice(0, 40)}…" (${name.length} characters)` : `"${name}"`;
  return `snapshot name ${shown}: expected at most ${MAX_SUITE_NAME} lower-case letters, digits and . + -, starting with a letter or digit, not ending in ${DEBUG_SUFFIX} (it becomes dists/NAME, and dists/NAME${DEBUG_SUFFIX} its debug symbols)`;
}

export class ConfigError extends UserError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface SuiteConfig {
  name: string;
  /** The Debian release the suite is built on and its build environments come from. */
  base: string;
  components: string[];
  architectures: string[];
  /** Other Distribution values that map to this suite (e.g. "sid"). */
  aliases: string[];
  /** A source may publish a binary package name another source in the suite publishes (core/suite-contents.ts binaryRefusal). */
  allowBinaryTakeover?: boolean;
  /**
   * A new version is published only once every architecture it builds for has built (source and
   * binaries together); by default each architecture's binaries are published as they build, as Debian does.
   */
  waitForAllArchitectures?: boolean;
  /** The QA checks run on each build (core/kinds/qa.ts); none when archive.yaml says none. */
  qa: QaCheck[];
  /** Sources migrate here from another suite once old enough and their gates hold (core/migration.ts). */
  migration?: MigrationPolicy;
  /** A new version is published only once these gates on its own QA checks hold (core/qa-gates.ts). */
  publishRequires?: QaGates;
  /** Each build is rebuilt under variation and compared (core/kinds/rebuild.ts): `rebuilds: on`, as a new root's archive.yaml says. */
  rebuilds: boolean;
}

export interface ArchiveConfig {
  /** Short name: container names, dput host name, Release Label. */
  name: string;
  port: number;
  /** The address the repository and the job API listen on (127.0.0.1: this machine only). */
  listen: string;
  /** HTTPS on that port with the user's certificate and key (absolute paths on this machine); absent: HTTP. */
  tls?: { cert: string; key: string };
  suites: SuiteConfig[];
  uploads: {
    allowUnsigned: boolean;
    /** OpenPGP public keys of the people allowed to upload; relative to the root. */
    keyring: string;
    /** An upload still missing files this long after its .changes arrived is rejected. */
    incompleteAfterMinutes: number;
    /** A file in incoming/ that no .changes names is moved out after this long. */
    strayAfterHours: number;
    /** A rejected upload's files are removed this many days after its rejection (its record stays); 0: kept for ever. */
    keepRejectedDays: number;
  };
  builds: BuildSettings;
  publish: {
    /** by-hash files (and generations) of earlier publications stay this long. */
    byHashGraceMinutes: number;
    /** Release files carry Valid-Until this many days after their Date, re-signed at half-time; 0: none. */
    validUntilDays: number;
    /** Pool files of each source's newest this-many versions stay after they leave every suite. */
    keepVersions: number;
    /** Patches kept beside each Packages and Sources (INDEX.diff/) for apt's pdiff updates; 0: none. */
    pdiffs: number;
  };
}

/** How builds run; the builders receive these from the queue with every job. */
export interface BuildSettings {
  /** Jobs one builder runs at once. */
  concurrency: number;
  /** Workers archive up runs beside the queue: 1, or 0 for workers elsewhere only. */
  localWorkers: number;
  /** The architecture Architecture: all packages are built on. */
  archAll: string;
  timeoutMinutes: number;
  /** A build that prints nothing this long is stopped. */
  stallMinutes: number;
  /** A lease not renewed by a heartbeat this long runs out: the job goes back to the queue. */
  leaseSeconds: number;
  logMiB: number;
  memoryGiB: number;
  cpus: number;
  pids: number;
  /** Bounds of the build-dependency image cache. */
  cacheImages: number;
  cacheGiB: number;
  /** A job waiting for build-dependencies fails after this long. */
  depWaitHours: number;
  /** Build environments older than this are upgraded before the next build. */
  buildenvMaxAgeHours: number;
  /** What the builder takes out of a build: per file, in all, and how many files. */
  outputFileGiB: number;
  outputGiB: number;
  outputFiles: number;
  /** What a job's containers may write to disk (the build's /build, a container's own layer) before it is stopped. */
  diskGiB: number;
  /** Builds under qemu get this many times the time and stall limits. */
  emulationFactor: number;
}

const BUILD_KEYS = {
  concurrency: 'concurrency',
  timeout_minutes: 'timeoutMinutes',
  stall_minutes: 'stallMinutes',
  lease_seconds: 'leaseSeconds',
  log_mib: 'logMiB',
  memory_gib: 'memoryGiB',
  cpus: 'cpus',
  pids: 'pids',
  cache_images: 'cacheImages',
  cache_gib: 'cacheGiB',
  dep_wait_hours: 'depWaitHours',
  buildenv_max_age_hours: 'buildenvMaxAgeHours',
  output_file_gib: 'outputFileGiB',
  output_gib: 'outputGiB',
  output_files: 'outputFiles',
  disk_gib: 'diskGiB',
  emulation_factor: 'emulationFactor',
} as const satisfies Record<string, keyof BuildSettings>;

/**
 * What a number archive.yaml takes must be: finite (YAML's .inf and .nan, and 1e309, are numbers
 * too) and within `min` to `max`; `above`: more than min, not min itself; `zero`: 0 too, meaning
 * that; `whole`: a count. `unit` and `note` are for the error, which names the range.
 */
export interface NumberRange {
  min: number;
  max: number;
  above?: boolean;
  whole?: boolean;
  unit?: string;
  zero?: string;
  note?: string;
}

/**
 * The range of each number archive.yaml takes (archive worker's --limit takes the builds: ones in
 * the same ranges): what an archive's operator would set, and what the code holds: a lease's
 * expiry is a date (lease_seconds: 1e13 made every lease throw), a time limit a timer, which
 * holds 2^31-1 ms (24.8 days; timeout_minutes and stall_minutes, times emulation_factor, at
 * most 16 days: MAX_JOB_TIME_MS).
 */
export const NUMBER_RANGES = {
  uploads: {
    incomplete_after_minutes: { min: 1, max: 10_080, unit: 'minutes', note: 'a week' },
    // Sooner than an upload takes to arrive would move its files out while it does.
    stray_after_hours: { min: 1, max: 720, unit: 'hours', note: '30 days' },
    keep_rejected_days: { min: 0, max: 3650, unit: 'days', zero: "keep a rejected upload's files for ever" },
  },
  publish: {
    by_hash_grace_minutes: { min: 0, above: true, max: 10_080, unit: 'minutes', note: 'a week' },
    // Re-signed at half-time (looked at every 10 minutes): under a day, a client whose clock is off or whose mirror lags finds it expired.
    valid_until_days: { min: 1, max: 3650, unit: 'days', zero: 'no Valid-Until' },
    keep_versions: { min: 1, max: 1000, whole: true, unit: 'versions' },
    pdiffs: { min: 0, max: 1000, whole: true, unit: 'patches to keep', zero: 'no index diffs' },
  },
  builds: {
    // Counts are whole: a worker refuses a concurrency of 1.5 (and would ask again and again).
    concurrency: { min: 1, max: 64, whole: true, unit: 'jobs at once', note: "a worker's most" },
    timeout_minutes: { min: 0.1, max: 1440, unit: 'minutes', note: 'a day' },
    stall_minutes: { min: 0.1, max: 1440, unit: 'minutes', note: 'a day' },
    // A worker heartbeats every third of it but once a second at most, and the queue looks every 2 s: 0.5 s ran out before the first.
    lease_seconds: { min: 10, max: 86_400, unit: 'seconds', note: 'a day' },
    log_mib: { min: 1, max: 10_240, unit: 'MiB', note: '10 GiB' },
    memory_gib: { min: 0.25, max: 4096, unit: 'GiB' },
    // The engine's least is 0.01.
    cpus: { min: 0.01, max: 1024, unit: 'CPUs' },
    pids: { min: 64, max: 4_194_304, whole: true, unit: 'processes', note: "Linux's most" },
    cache_images: { min: 1, max: 10_000, whole: true, unit: 'images' },
    cache_gib: { min: 1, max: 100_000, unit: 'GiB' },
    dep_wait_hours: { min: 0, above: true, max: 8760, unit: 'hours', note: 'a year' },
    // A worker refreshes one an hour old at the soonest, whatever the queue says.
    buildenv_max_age_hours: { min: 1, max: 8760, unit: 'hours', note: 'a year' },
    // Each output file is handed in as one request of the job API, which takes MAX_ARTIFACT_BODY.
    output_file_gib: { min: 0.01, max: MAX_ARTIFACT_BODY / 1024 ** 3, unit: 'GiB', note: 'the most the job API takes in one file' },
    output_gib: { min: 0.01, max: 1024, unit: 'GiB' },
    output_files: { min: 1, max: 100_000, whole: true, unit: 'files' },
    disk_gib: { min: 0.1, max: 100_000, unit: 'GiB' },
    // timeout_minutes and stall_minutes times it at most MAX_JOB_TIME_MS besides (checked after).
    emulation_factor: { min: 1, max: 50 },
  } satisfies Record<keyof typeof BUILD_KEYS, NumberRange>,
  suite: {
    after_days: { min: 0, max: 3650, unit: 'days', zero: 'as soon as the gates hold' },
  },
} satisfies Record<string, Record<string, NumberRange>>;

/** The longest time limit a job can have: timeout_minutes (or stall_minutes) times emulation_factor, 16 days at most. */
export const MAX_JOB_TIME_MS = 16 * 86_400_000;

/** A number within `r`, as an error says it: "a number of seconds from 10 to 86400 (a day)". */
export function numberExpected(r: NumberRange): string {
  const kind = `${r.whole ? 'a whole number' : 'a number'}${r.unit ? ` of ${r.unit}` : ''}`;
  const range = r.above ? `greater than ${r.min} and at most ${r.max}` : r.zero && r.min === 0 ? `up to ${r.max}` : `from ${r.min} to ${r.max}`;
  return `${r.zero ? `0 (${r.zero}) or ` : ''}${kind} ${range}${r.note ? ` (${r.note})` : ''}`;
}

/** Whether `v` is a finite number within `r`. */
export function withinRange(v: unknown, r: NumberRange): v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (r.whole && !Number.isInteger(v))) return false;
  return (!!r.zero && v === 0) || ((r.above ? v > r.min : v >= r.min) && v <= r.max);
}

/** The number at `at` (as "builds.lease_seconds"), within `r`; else refused, naming the key, the range and what was found. */
function numberAt(file: string, at: string, v: unknown, r: NumberRange): number {
  if (!withinRange(v, r)) throw new ConfigError(file, `${at}: expected ${numberExpected(r)}, found ${found(v)}`);
  return v;
}

export const DEFAULT_CONFIG = {
  name: 'archive',
  port: 8080,
  suites: {
    unstable: { base: 'trixie', components: ['main'], architectures: ['amd64'], aliases: [] as string[], allow_binary_takeover: false, wait_for_all_architectures: false, qa: [...QA_CHECKS] as string[], rebuilds: 'on' },
  },
  uploads: { allow_unsigned: true, keyring: 'state/uploaders.gpg', incomplete_after_minutes: 30, stray_after_hours: 24, keep_rejected_days: 30 },
  publish: { by_hash_grace_minutes: 60, valid_until_days: 0, keep_versions: 3, pdiffs: 30 },
  builds: {
    concurrency: 1,
    arch_all: 'amd64',
    timeout_minutes: 180,
    stall_minutes: 150,
    lease_seconds: 90,
    log_mib: 200,
    memory_gib: 4,
    cpus: 2,
    pids: 4096,
    cache_images: 20,
    cache_gib: 20,
    dep_wait_hours: 24,
    buildenv_max_age_hours: 24,
    // A build's outputs are held by its worker until handed in: on the builder's volume beside the queue (compose/compose.yaml).
    output_file_gib: 1,
    output_gib: 2,
    output_files: 1000,
    // Counted by the engine every 10 s (a watchdog: the engine here gives no quota); the largest packages need more.
    disk_gib: 20,
    // Builds under qemu-user took 4 to 9 times the native time here (README, "Every architecture").
    emulation_factor: 6,
  },
};

/** Whether `n` is a TCP port number (1-65535): archive.yaml's port, and --port of archive init and up (cli/archive-context.ts portOption). */
export const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;

export function defaultConfigText(overrides: { port?: number } = {}): string {
  const config = { ...DEFAULT_CONFIG, port: overrides.port ?? DEFAULT_CONFIG.port };
  return `# archive-in-a-box configuration; see README.md.\n${stringify(config)}`;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;

/** The keys a suite takes. */
const SUITE_KEYS = [
  'base', 'components', 'architectures', 'aliases', 'allow_binary_takeover', 'wait_for_all_architectures', 'qa', 'rebuilds', 'publish_requires', 'migrate_from', 'after_days', 'require',
];

/** A value as an error shows it: JSON, but a number as it is (JSON writes .inf and .nan as null). */
const found = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v));

/**
 * A section of archive.yaml (`at`: its key, as "builds" or "suites.unstable"; none: the top
 * level) as a mapping, {} when absent or empty; its own keys, when `known` is given, among them.
 * Anything else (a number, a list, a text) is refused, naming the section and what was found.
 */
function mapping(file: string, at: string | undefined, value: unknown, what: string, known?: readonly string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(file, `${at === undefined ? 'expected a mapping at the top level' : `${at}: expected a mapping of ${what}`}, found ${found(value)}`);
  }
  for (const key of known ? Object.keys(value) : []) {
    if (!known!.includes(key)) throw new ConfigError(file, `${at === undefined ? '' : `${at}: `}unknown key "${key}"; expected one of ${known!.join(', ')}`);
  }
  return value as Record<string, unknown>;
}

export function parseConfig(text: string, file: string): ArchiveConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(file, `not valid YAML: ${(err as Error).message}`);
  }
  // An empty file: every default.
  const doc = mapping(file, undefined, raw, 'settings', ['name', 'port', 'listen', 'tls_cert', 'tls_key', 'suites', 'uploads', 'builds', 'publish']);
  const name = doc.name ?? DEFAULT_CONFIG.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ConfigError(file, `name: "${String(name)}" is not a lower-case name (letters, digits, -)`);
  }
  const port = doc.port ?? DEFAULT_CONFIG.port;
  if (!isPort(port)) {
    throw new ConfigError(file, `port: "${String(port)}" is not a TCP port number (1-65535)`);
  }
  const listen = doc.listen ?? '127.0.0.1';
  if (typeof listen !== 'string' || isIP(listen) !== 4) {
    throw new ConfigError(file, `listen: "${String(listen)}" is not an IPv4 address (127.0.0.1 for this machine only, 0.0.0.0 for every interface, or one of its addresses)`);
  }
  if ((doc.tls_cert === undefined) !== (doc.tls_key === undefined)) {
    throw new ConfigError(file, `${doc.tls_cert === undefined ? 'tls_key' : 'tls_cert'} is set without ${doc.tls_cert === undefined ? 'tls_cert' : 'tls_key'}: HTTPS needs both the certificate and its private key`);
  }
  for (const key of ['tls_cert', 'tls_key']) {
    const value = doc[key];
    if (value !== undefined && (typeof value !== 'string' || !value.startsWith('/'))) {
      throw new ConfigError(file, `${key}: "${String(value)}" is not an absolute path to a PEM file`);
    }
  }
  const tls = typeof doc.tls_cert === 'string' && typeof doc.tls_key === 'string' ? { cert: doc.tls_cert, key: doc.tls_key } : undefined;
  const suitesRaw = mapping(file, 'suites', doc.suites ?? DEFAULT_CONFIG.suites, 'suite name to settings');
  const suites: SuiteConfig[] = Object.entries(suitesRaw).map(([suite, value]) => {
    const at = `suites.${suite}`;
    if (!NAME.test(suite)) throw new ConfigError(file, `${at}: suite name must be lower-case letters, digits and -`);
    if (suite.length > MAX_SUITE_NAME) throw new ConfigError(file, `suites.${suite.slice(0, 40)}…: a suite name of ${suite.length} characters; at most ${MAX_SUITE_NAME} (it becomes a file name, state/suites/NAME.json)`);
    if (suite.endsWith(DEBUG_SUFFIX)) throw new ConfigError(file, `${at}: a suite name cannot end in ${DEBUG_SUFFIX} (NAME${DEBUG_SUFFIX} holds the debug symbols of suite NAME)`);
    // Empty (`unstable:`): every default.
    const s = mapping(file, at, value, `the suite's settings (or nothing, for every default)`, SUITE_KEYS);
    const list = (key: string, fallback: string[], rule: RegExp) => {
      const v = s[key] ?? fallback;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && rule.test(x))) {
        throw new ConfigError(file, `${at}.${key}: expected a list of names, found ${JSON.stringify(v)}`);
      }
      return v as string[];
    };
    const base = s.base ?? 'trixie';
    if (typeof base !== 'string' || !NAME.test(base)) {
      throw new ConfigError(file, `${at}.base: expected a Debian release name such as trixie, found ${JSON.stringify(base)}`);
    }
    const architectures = list('architectures', ['amd64'], ARCH);
    if (architectures.length === 0) throw new ConfigError(file, `${at}.architectures: at least one architecture is needed`);
    const flag = (key: string) => {
      const v = s[key] ?? false;
      if (typeof v !== 'boolean') throw new ConfigError(file, `${at}.${key}: expected true or false, found ${JSON.stringify(v)}`);
      return v;
    };
    const takeover = flag('allow_binary_takeover');
    const waitForAll = flag('wait_for_all_architectures');
    // Absent: none, as in roots made before there were checks; a new root's archive.yaml lists them all.
    const qa = s.qa ?? [];
    if (!Array.isArray(qa) || !qa.every((c) => typeof c === 'string' && isQaCheck(c))) {
      throw new ConfigError(file, `${at}.qa: expected a list of QA checks among ${QA_CHECKS.join(', ')}, found ${JSON.stringify(qa)}`);
    }
    const migration = migrationPolicy(s, at, file);
    const publishRequires = s.publish_requires === undefined ? undefined : qaGates(s.publish_requires, `${at}.publish_requires`, file);
    // Absent: off, as in roots made before there were rebuilds; a new root's archive.yaml says on.
    const rebuilds = s.rebuilds ?? 'off';
    if (rebuilds !== 'on' && rebuilds !== 'off') throw new ConfigError(file, `${at}.rebuilds: expected on or off, found ${JSON.stringify(rebuilds)}`);
    return {
      name: suite,
      base,
      components: list('components', ['main'], NAME),
      architectures,
      aliases: list('aliases', [], NAME),
      ...(takeover ? { allowBinaryTakeover: true } : {}),
      ...(waitForAll ? { waitForAllArchitectures: true } : {}),
      qa: [...new Set(qa as QaCheck[])],
      ...(migration ? { migration } : {}),
      ...(publishRequires ? { publishRequires } : {}),
      rebuilds: rebuilds === 'on',
    };
  });
  if (suites.length === 0) throw new ConfigError(file, 'suites: at least one suite is needed');
  // What an upload's Distribution names: each name one suite (suiteFor takes the first that matches).
  const named = new Map(suites.map((s) => [s.name, `the name of suite ${s.name}`]));
  for (const s of suites) {
    for (const alias of s.aliases) {
      if (alias.endsWith(DEBUG_SUFFIX)) throw new ConfigError(file, `suites.${s.name}.aliases: "${alias}": an alias cannot end in ${DEBUG_SUFFIX} (NAME${DEBUG_SUFFIX} holds the debug symbols of suite NAME)`);
      const taken = named.get(alias);
      if (taken) throw new ConfigError(file, `suites.${s.name}.aliases: "${alias}" is already ${taken}; each suite name and alias must name one suite`);
      named.set(alias, `an alias of suite ${s.name}`);
    }
  }
  for (const s of suites) {
    for (const check of Object.keys(s.publishRequires ?? {}) as GateCheck[]) {
      if (!runs(s, check)) {
        throw new ConfigError(file, `suites.${s.name}.publish_requires.${check}: ${s.name} does not run ${check} (${runsWhat(s, check)}), so nothing would ever be published; ${check === 'rebuild' ? 'set rebuilds: on' : 'add it there'} or drop the gate`);
      }
    }
  }
  for (const s of suites.filter((x) => x.migration)) {
    const from = suites.find((x) => x.name === s.migration!.from);
    if (!from || from === s) {
      throw new ConfigError(file, `suites.${s.name}.migrate_from: "${s.migration!.from}" is not another suite here (suites: ${suites.map((x) => x.name).join(', ')})`);
    }
    for (const check of Object.keys(s.migration!.require) as GateCheck[]) {
      if (!runs(from, check)) {
        throw new ConfigError(file, `suites.${s.name}.require.${check}: ${from.name} does not run ${check} (${runsWhat(from, check)}), so the gate could never hold; ${check === 'rebuild' ? `set suites.${from.name}.rebuilds: on` : 'add it there'} or drop the gate`);
      }
    }
  }
  const uploads = mapping(file, 'uploads', doc.uploads, 'upload settings', Object.keys(DEFAULT_CONFIG.uploads));
  const allowUnsigned = uploads.allow_unsigned ?? true;
  if (typeof allowUnsigned !== 'boolean') throw new ConfigError(file, `uploads.allow_unsigned: expected true or false, found ${found(allowUnsigned)}`);
  // A file: each name on its path a plain one ("", "." or "state/" named the root or a folder).
  const keyring = uploads.keyring ?? DEFAULT_CONFIG.uploads.keyring;
  if (typeof keyring !== 'string' || keyring.split('/').some((n) => n === '' || n === '.' || n === '..')) {
    throw new ConfigError(file, `uploads.keyring: expected a path inside the archive root such as state/uploaders.gpg (file names separated by /, none empty, . or ..), found ${JSON.stringify(keyring)}`);
  }
  const uploadNumber = (key: keyof typeof NUMBER_RANGES.uploads) => numberAt(file, `uploads.${key}`, uploads[key] ?? DEFAULT_CONFIG.uploads[key], NUMBER_RANGES.uploads[key]);
  const buildsRaw = mapping(file, 'builds', doc.builds, 'build settings', ['arch_all', 'local_workers', ...Object.keys(BUILD_KEYS)]);
  const builds = {} as BuildSettings;
  for (const [key, field] of Object.entries(BUILD_KEYS) as [keyof typeof BUILD_KEYS, (typeof BUILD_KEYS)[keyof typeof BUILD_KEYS]][]) {
    builds[field] = numberAt(file, `builds.${key}`, buildsRaw[key] ?? DEFAULT_CONFIG.builds[key], NUMBER_RANGES.builds[key]);
  }
  const archAll = buildsRaw.arch_all ?? DEFAULT_CONFIG.builds.arch_all;
  if (typeof archAll !== 'string' || !ARCH.test(archAll)) throw new ConfigError(file, `builds.arch_all: expected an architecture name such as amd64, found ${found(archAll)}`);
  builds.archAll = archAll;
  // More than one beside the queue would share the machine's engine and cores: concurrency is the knob for that.
  const localWorkers = buildsRaw.local_workers ?? 1;
  if (localWorkers !== 0 && localWorkers !== 1) {
    throw new ConfigError(file, `builds.local_workers: expected 1 (a worker beside the queue) or 0 (workers elsewhere only, archive workers add), found ${JSON.stringify(localWorkers)}; for more builds at once here, raise builds.concurrency`);
  }
  builds.localWorkers = localWorkers;
  for (const [key, minutes] of [['timeout_minutes', builds.timeoutMinutes], ['stall_minutes', builds.stallMinutes]] as const) {
    if (minutes * builds.emulationFactor * 60_000 > MAX_JOB_TIME_MS) {
      throw new ConfigError(file, `builds.${key} ${minutes} times builds.emulation_factor ${builds.emulationFactor} is ${Number((minutes * builds.emulationFactor).toFixed(2))} minutes, a job under qemu; at most ${MAX_JOB_TIME_MS / 60_000} (16 days): lower either`);
    }
  }
  if (builds.outputFileGiB > builds.outputGiB) {
    throw new ConfigError(file, `builds.output_file_gib: ${builds.outputFileGiB} is more than builds.output_gib (${builds.outputGiB}), the cap on a build's outputs in all`);
  }
  const publishRaw = mapping(file, 'publish', doc.publish, 'publication settings', Object.keys(DEFAULT_CONFIG.publish));
  const publishNumber = (key: keyof typeof NUMBER_RANGES.publish) => numberAt(file, `publish.${key}`, publishRaw[key] ?? DEFAULT_CONFIG.publish[key], NUMBER_RANGES.publish[key]);
  const publish = { byHashGraceMinutes: publishNumber('by_hash_grace_minutes'), validUntilDays: publishNumber('valid_until_days'), keepVersions: publishNumber('keep_versions'), pdiffs: publishNumber('pdiffs') };
  return {
    name,
    port,
    listen,
    ...(tls ? { tls } : {}),
    suites,
    builds,
    publish,
    uploads: {
      allowUnsigned,
      keyring,
      incompleteAfterMinutes: uploadNumber('incomplete_after_minutes'),
      strayAfterHours: uploadNumber('stray_after_hours'),
      keepRejectedDays: uploadNumber('keep_rejected_days'),
    },
  };
}

/** A suite's `migrate_from`, `after_days` and `require`, checked; undefined without migrate_from. */
function migrationPolicy(s: Record<string, unknown>, at: string, file: string): MigrationPolicy | undefined {
  if (s.migrate_from === undefined) {
    for (const key of ['after_days', 'require']) {
      if (s[key] !== undefined) throw new ConfigError(file, `${at}.${key}: only a suite with migrate_from (the suite its sources migrate from) takes ${key}`);
    }
    return undefined;
  }
  if (typeof s.migrate_from !== 'string' || !NAME.test(s.migrate_from)) throw new ConfigError(file, `${at}.migrate_from: expected a suite name such as unstable, found ${JSON.stringify(s.migrate_from)}`);
  const afterDays = numberAt(file, `${at}.after_days`, s.after_days ?? 0, NUMBER_RANGES.suite.after_days);
  return { from: s.migrate_from, afterDays, require: qaGates(s.require ?? {}, `${at}.require`, file) };
}

/** Whether a suite runs the check a gate names: one of its qa, or its rebuilds. */
const runs = (s: SuiteConfig, check: GateCheck) => (check === 'rebuild' ? s.rebuilds : s.qa.includes(check));
const runsWhat = (s: SuiteConfig, check: GateCheck) => (check === 'rebuild' ? `suites.${s.name}.rebuilds: off` : `suites.${s.name}.qa: [${s.qa.join(', ')}]`);

/** A mapping of QA check (or rebuild) to gate (require, publish_requires), checked. */
function qaGates(raw: unknown, at: string, file: string): QaGates {
  const gates: QaGates = {};
  for (const [check, gate] of Object.entries(mapping(file, at, raw, 'QA check to gate, such as {lintian: no-errors, piuparts: pass, autopkgtest: no-regression}'))) {
    if (!isQaCheck(check) && check !== 'rebuild') throw new ConfigError(file, `${at}: unknown check "${check}"; expected one of ${[...QA_CHECKS, 'rebuild'].join(', ')}`);
    if (typeof gate !== 'string' || !(QA_GATES as readonly string[]).includes(gate)) {
      throw new ConfigError(file, `${at}.${check}: expected one of ${QA_GATES.join(', ')}, found ${JSON.stringify(gate)}`);
    }
    if (gate === 'no-errors' && check !== 'lintian') throw new ConfigError(file, `${at}.${check}: no-errors is lintian's gate (no error tag); expected pass or no-regression`);
    gates[check as GateCheck] = gate as QaGate;
  }
  return gates;
}

/** The suite an upload's Distribution names, by name or alias. */
export function suiteFor(config: ArchiveConfig, distribution: string): SuiteConfig | undefined {
  return config.suites.find((s) => s.name === distribution || s.aliases.includes(distribution));
}

/** Every build environment the suites need: each suite's base for each of its architectures and for arch_all. */
export function buildTargets(config: ArchiveConfig): { base: string; arch: string }[] {
  const seen = new Map<string, { base: string; arch: string }>();
  for (const s of config.suites) {
    for (const arch of [...s.architectures, config.builds.archAll]) seen.set(`${s.base}-${arch}`, { base: s.base, arch });
  }
  return [...seen.values()];
}
