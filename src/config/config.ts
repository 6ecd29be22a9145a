// archive.yaml -> validated, typed configuration. Pure apart from the YAML text it is given.
import { isIP } from 'node:net';
import { parse, stringify } from 'yaml';

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

const BUILD_KEYS: Record<string, keyof BuildSettings> = {
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
};

/** The builds settings that count things: whole numbers. */
const WHOLE_BUILD_KEYS = new Set(['concurrency', 'pids', 'cache_images', 'output_files']);

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

export function defaultConfigText(overrides: { port?: number } = {}): string {
  const config = { ...DEFAULT_CONFIG, port: overrides.port ?? DEFAULT_CONFIG.port };
  return `# archive-in-a-box configuration; see README.md.\n${stringify(config)}`;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;

export function parseConfig(text: string, file: string): ArchiveConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(file, `not valid YAML: ${(err as Error).message}`);
  }
  raw ??= {}; // an empty file: every default
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, 'expected a mapping at the top level');
  const doc = raw as Record<string, unknown>;
  const known = ['name', 'port', 'listen', 'tls_cert', 'tls_key', 'suites', 'uploads', 'builds', 'publish'];
  for (const key of Object.keys(doc)) {
    if (!known.includes(key)) throw new ConfigError(file, `unknown key "${key}"; expected one of ${known.join(', ')}`);
  }
  const name = doc.name ?? DEFAULT_CONFIG.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ConfigError(file, `name: "${String(name)}" is not a lower-case name (letters, digits, -)`);
  }
  const port = doc.port ?? DEFAULT_CONFIG.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
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
  const suitesRaw = doc.suites ?? DEFAULT_CONFIG.suites;
  if (typeof suitesRaw !== 'object' || suitesRaw === null || Array.isArray(suitesRaw)) {
    throw new ConfigError(file, 'suites: expected a mapping of suite name to settings');
  }
  const suites: SuiteConfig[] = Object.entries(suitesRaw as Record<string, unknown>).map(([suite, value]) => {
    const at = `suites.${suite}`;
    if (!NAME.test(suite)) throw new ConfigError(file, `${at}: suite name must be lower-case letters, digits and -`);
    if (suite.length > MAX_SUITE_NAME) throw new ConfigError(file, `suites.${suite.slice(0, 40)}…: a suite name of ${suite.length} characters; at most ${MAX_SUITE_NAME} (it becomes a file name, state/suites/NAME.json)`);
    if (suite.endsWith(DEBUG_SUFFIX)) throw new ConfigError(file, `${at}: a suite name cannot end in ${DEBUG_SUFFIX} (NAME${DEBUG_SUFFIX} holds the debug symbols of suite NAME)`);
    const s = (value ?? {}) as Record<string, unknown>;
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
  const uploads = (doc.uploads ?? {}) as Record<string, unknown>;
  const uploadKeys = Object.keys(DEFAULT_CONFIG.uploads);
  for (const key of Object.keys(uploads)) {
    if (!uploadKeys.includes(key)) throw new ConfigError(file, `uploads: unknown key "${key}"; expected one of ${uploadKeys.join(', ')}`);
  }
  const allowUnsigned = uploads.allow_unsigned ?? true;
  if (typeof allowUnsigned !== 'boolean') throw new ConfigError(file, 'uploads.allow_unsigned: expected true or false');
  const keyring = uploads.keyring ?? DEFAULT_CONFIG.uploads.keyring;
  if (typeof keyring !== 'string' || keyring.startsWith('/') || keyring.split('/').includes('..')) {
    throw new ConfigError(file, `uploads.keyring: expected a path inside the archive root such as state/uploaders.gpg, found ${JSON.stringify(keyring)}`);
  }
  const positive = (key: string, fallback: number) => {
    const v = uploads[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) throw new ConfigError(file, `uploads.${key}: expected a positive number, found ${JSON.stringify(v)}`);
    return v;
  };
  const buildsRaw = (doc.builds ?? {}) as Record<string, unknown>;
  const builds = {} as BuildSettings;
  for (const key of Object.keys(buildsRaw)) {
    if (!(key in BUILD_KEYS) && key !== 'arch_all' && key !== 'local_workers') {
      throw new ConfigError(file, `builds: unknown key "${key}"; expected one of arch_all, local_workers, ${Object.keys(BUILD_KEYS).join(', ')}`);
    }
  }
  for (const [key, field] of Object.entries(BUILD_KEYS)) {
    const v = buildsRaw[key] ?? DEFAULT_CONFIG.builds[key as keyof typeof DEFAULT_CONFIG.builds];
    if (typeof v !== 'number' || !(v > 0)) throw new ConfigError(file, `builds.${key}: expected a positive number, found ${JSON.stringify(v)}`);
    // Counts: a worker refuses a concurrency of 1.5 (and would ask again and again).
    if (WHOLE_BUILD_KEYS.has(key) && !Number.isSafeInteger(v)) throw new ConfigError(file, `builds.${key}: expected a whole number, found ${JSON.stringify(v)}`);
    (builds[field] as number) = v;
  }
  const archAll = buildsRaw.arch_all ?? DEFAULT_CONFIG.builds.arch_all;
  if (typeof archAll !== 'string' || !ARCH.test(archAll)) throw new ConfigError(file, `builds.arch_all: expected an architecture name such as amd64`);
  builds.archAll = archAll;
  // More than one beside the queue would share the machine's engine and cores: concurrency is the knob for that.
  const localWorkers = buildsRaw.local_workers ?? 1;
  if (localWorkers !== 0 && localWorkers !== 1) {
    throw new ConfigError(file, `builds.local_workers: expected 1 (a worker beside the queue) or 0 (workers elsewhere only, archive workers add), found ${JSON.stringify(localWorkers)}; for more builds at once here, raise builds.concurrency`);
  }
  builds.localWorkers = localWorkers;
  if (!Number.isInteger(builds.concurrency)) throw new ConfigError(file, 'builds.concurrency: expected a whole number');
  if (!Number.isInteger(builds.outputFiles)) throw new ConfigError(file, `builds.output_files: expected a whole number, found ${builds.outputFiles}`);
  if (builds.outputFileGiB > builds.outputGiB) {
    throw new ConfigError(file, `builds.output_file_gib: ${builds.outputFileGiB} is more than builds.output_gib (${builds.outputGiB}), the cap on a build's outputs in all`);
  }
  const publishRaw = (doc.publish ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(publishRaw)) {
    if (!(key in DEFAULT_CONFIG.publish)) throw new ConfigError(file, `publish: unknown key "${key}"; expected one of ${Object.keys(DEFAULT_CONFIG.publish).join(', ')}`);
  }
  const grace = publishRaw.by_hash_grace_minutes ?? DEFAULT_CONFIG.publish.by_hash_grace_minutes;
  if (typeof grace !== 'number' || !(grace > 0)) throw new ConfigError(file, `publish.by_hash_grace_minutes: expected a positive number, found ${JSON.stringify(grace)}`);
  const validDays = publishRaw.valid_until_days ?? DEFAULT_CONFIG.publish.valid_until_days;
  if (typeof validDays !== 'number' || validDays < 0) throw new ConfigError(file, `publish.valid_until_days: expected 0 (no Valid-Until) or a number of days, found ${JSON.stringify(validDays)}`);
  const keepVersions = publishRaw.keep_versions ?? DEFAULT_CONFIG.publish.keep_versions;
  if (!Number.isInteger(keepVersions) || (keepVersions as number) < 1) throw new ConfigError(file, `publish.keep_versions: expected a whole number of at least 1, found ${JSON.stringify(keepVersions)}`);
  const pdiffs = publishRaw.pdiffs ?? DEFAULT_CONFIG.publish.pdiffs;
  const keepRejectedDays = uploads.keep_rejected_days ?? DEFAULT_CONFIG.uploads.keep_rejected_days;
  if (typeof keepRejectedDays !== 'number' || !(keepRejectedDays >= 0)) throw new ConfigError(file, `uploads.keep_rejected_days: expected 0 (keep a rejected upload's files for ever) or a number of days, found ${JSON.stringify(keepRejectedDays)}`);
  if (!Number.isInteger(pdiffs) || (pdiffs as number) < 0) throw new ConfigError(file, `publish.pdiffs: expected 0 (no index diffs) or a whole number of patches to keep, found ${JSON.stringify(pdiffs)}`);
  return {
    name,
    port,
    listen,
    ...(tls ? { tls } : {}),
    suites,
    builds,
    publish: { byHashGraceMinutes: grace, validUntilDays: validDays, keepVersions: keepVersions as number, pdiffs: pdiffs as number },
    uploads: {
      allowUnsigned,
      keyring,
      incompleteAfterMinutes: positive('incomplete_after_minutes', 30),
      strayAfterHours: positive('stray_after_hours', 24),
      keepRejectedDays: keepRejectedDays as number,
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
  const afterDays = s.after_days ?? 0;
  if (typeof afterDays !== 'number' || !(afterDays >= 0)) throw new ConfigError(file, `${at}.after_days: expected 0 (as soon as the gates hold) or a number of days, found ${JSON.stringify(afterDays)}`);
  return { from: s.migrate_from, afterDays, require: qaGates(s.require ?? {}, `${at}.require`, file) };
}

/** Whether a suite runs the check a gate names: one of its qa, or its rebuilds. */
const runs = (s: SuiteConfig, check: GateCheck) => (check === 'rebuild' ? s.rebuilds : s.qa.includes(check));
const runsWhat = (s: SuiteConfig, check: GateCheck) => (check === 'rebuild' ? `suites.${s.name}.rebuilds: off` : `suites.${s.name}.qa: [${s.qa.join(', ')}]`);

/** A mapping of QA check (or rebuild) to gate (require, publish_requires), checked. */
function qaGates(raw: unknown, at: string, file: string): QaGates {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(file, `${at}: expected a mapping of QA check to gate, such as {lintian: no-errors, piuparts: pass, autopkgtest: no-regression}`);
  }
  const gates: QaGates = {};
  for (const [check, gate] of Object.entries(raw as Record<string, unknown>)) {
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
