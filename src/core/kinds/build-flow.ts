// One build, in throwaway sibling containers:
//  1. dependencies: a container from the buildenv image, with network (the archive's deps
//     network: the local repository and the mirror, not the queue itself), asks apt what the
//     Build-Depends resolve to (apt-get build-dep -s). Unsatisfiable: dep-wait. The exact
//     resolved set (what it installs and removes) keys a cached image; on a miss the set is downloaded, the container taken
//     off its network, the set installed and the container committed as that image.
//     Installing runs maintainer scripts of packages built from uploads as root: no network,
//     only the capabilities apt and dpkg need, no-new-privileges, the build's limits on
//     memory, pids, time and log.
//  2. build: a container from that image (a rebuild's varied: rebuild.ts) with no network, every capability dropped,
//     no-new-privileges, a read-only root, a private /build volume, limits on memory, pids
//     and CPUs, a wall-clock and a stall timeout and a log cap; dpkg-source -x and
//     dpkg-buildpackage run as the unprivileged user "builder".
// A build whose caller names the key its source's last build used (a new version of the same
// source, most often the same build-dependencies) starts step 2 from that key's cached image
// at once, while step 1 resolves (with a low CPU weight: on what the build leaves): kept when
// step 1 arrives at that same image, its log held back until then; stopped and removed unseen
// when it does not. Apt's answer still decides which image builds; only the wait for it is gone.
// Files go in and out through the runner (on Docker, its archive API), so the builder needs no
// host paths; what comes out is capped (takeFiles). The containers are described in build.ts.
import { DockerError } from '../../errors.js';
import { depsKey, isUnsatisfiable, parseRemovals, parseShowHashes, parseSimulation, parseUnmet } from '../apt-output.js';
import type { BuildArg } from '../build-plan.js';
import type { ContainerRunner, PutFile, RunnerContainer } from '../container-runner.js';
import {
  BUILDER_UID,
  DEFAULT_LIMITS,
  LABEL_BUILD,
  buildContainerSpec,
  buildDepOptions,
  depsContainerSpec,
  depsFiles,
  downloadScript, installScript,
  resolveScript,
  showScript,
  type BuildLimits,
  type BuildResult,
  type LocalArchive,
} from './build.js';
import { REBUILD_DIR, REBUILD_UID, rebuildContainerSpec } from './rebuild.js';
import { execWithinLimits, runWithinLimits, stopWithinDiskLimit } from './run-within-limits.js';

export interface BuildRequest {
  jobId: string;
  buildenv: string;
  dsc: string;
  arch: string;
  buildArg: BuildArg;
  files: PutFile[];
  labels: Record<string, string>;
  onLog: (text: string) => void;
  outDir: string;
  localArchive?: LocalArchive;
  limits?: Partial<BuildLimits>;
  /** A rebuild (rebuild.ts): the build's container varied, the files in its user's own folder. */
  rebuild?: boolean;
  /** The build-dependency key this source's last build used: its image, when cached, starts the build while apt resolves. */
  likelyDepsKey?: string;
}

type DepsOutcome = { kind: 'ready'; image: string; key: string; cached: boolean } | { kind: 'dep-wait'; missing: string } | { kind: 'failed'; reason: string };

/**
 * The CPU weight of resolving behind a build already started (the engine's default is 1024):
 * it takes what the build leaves, and is waited for only at the build's end.
 */
export const BEHIND_BUILD_CPU_SHARES = 128;

/** Step 1: resolve, then reuse or make the build-dependency image. */
async function prepareDependencies(runner: ContainerRunner, req: BuildRequest, limits: BuildLimits, labels: Record<string, string>, containers: RunnerContainer[], behindBuild: boolean): Promise<DepsOutcome> {
  const buildenvId = await runner.imageId(req.buildenv);
  if (!buildenvId) throw new DockerError(`the build environment image ${req.buildenv} does not exist; archive up (or archive refresh) builds it`);
  const dsc = req.files.find((f) => f.name === req.dsc)!;
  // From the id the key is made of, not the name: a refresh retagging the name in between would
  // have the new buildenv's packages committed under the old one's key.
  const spec = depsContainerSpec(buildenvId, req.localArchive, limits, labels);
  const deps = await runner.create(behindBuild ? { ...spec, cpuShares: BEHIND_BUILD_CPU_SHARES } : spec);
  containers.push(deps);
  await deps.putFiles('/', depsFiles(dsc, req.localArchive), 0);
  await deps.start();
  // Resolving and installing together get the build's time limit.
  const limit = { deadline: Date.now() + limits.timeoutMs, limits, what: 'installing the build-dependencies' };
  const log = req.onLog;
  const opts = buildDepOptions(req.buildArg);
  log(`archive-in-a-box: resolving the build-dependencies of ${req.dsc} (${req.arch}${opts ? `, ${opts.trim()}` : ''})\n`);
  const sim = await execWithinLimits(deps, resolveScript(req.dsc, req.buildArg, req.localArchive), log, limit);
  if (sim.killed) return { kind: 'failed', reason: sim.killed };
  if (sim.exitCode !== 0) {
    if (isUnsatisfiable(sim.output)) {
      const missing = parseUnmet(sim.output).join('; ') || sim.output.trim().split('\n').filter((l) => /^E:|^Error:/.test(l)).join('; ');
      return { kind: 'dep-wait', missing };
    }
    return { kind: 'failed', reason: `resolving build-dependencies failed (apt-get exit ${sim.exitCode}); see the log` };
  }
  const installs = parseSimulation(sim.output);
  // What installing removes is done before the commit too: it is part of the image, and of its key.
  const removals = parseRemovals(sim.output);
  const show = installs.length === 0 ? { exitCode: 0, output: '' } : await execWithinLimits(deps, showScript(installs), () => undefined, limit);
  if ('killed' in show && show.killed) return { kind: 'failed', reason: show.killed };
  if (show.exitCode !== 0) return { kind: 'failed', reason: `apt-cache show of the resolved build-dependencies failed (exit ${show.exitCode})` };
  const key = depsKey(buildenvId, req.arch, installs, parseShowHashes(show.output), removals);
  const cached = await runner.depsCache.find(key);
  if (cached) {
    log(`archive-in-a-box: build-dependencies (${installs.length} packages) from the cache: ${cached.name}\n`);
    return { kind: 'ready', image: cached.id, key, cached: true };
  }
  log(`archive-in-a-box: downloading ${installs.length} build-dependencies\n`);
  const download = await execWithinLimits(deps, downloadScript(req.dsc, req.buildArg), log, limit);
  if (download.killed) return { kind: 'failed', reason: download.killed };
  if (download.exitCode !== 0) {
    if (isUnsatisfiable(download.output)) return { kind: 'dep-wait', missing: parseUnmet(download.output).join('; ') };
    return { kind: 'failed', reason: `downloading build-dependencies failed (apt-get exit ${download.exitCode}); see the log` };
  }
  // Their maintainer scripts run as root, and they are packages this archive built from uploads:
  // they run with no network, reaching neither the repository, the mirror, nor anything else.
  await deps.disconnect();
  log(`archive-in-a-box: installing ${installs.length} build-dependencies${removals.length ? ` (removing ${removals.join(' ')})` : ''}, with no network\n`);
  const install = await execWithinLimits(deps, installScript(req.dsc, req.buildArg), log, limit);
  if (install.killed) return { kind: 'failed', reason: install.killed };
  if (install.exitCode !== 0) {
    if (isUnsatisfiable(install.output)) return { kind: 'dep-wait', missing: parseUnmet(install.output).join('; ') };
    return { kind: 'failed', reason: `installing build-dependencies failed (apt-get exit ${install.exitCode}); see the log` };
  }
  const over = await stopWithinDiskLimit(deps, log, limits, limit.what);
  if (over) return { kind: 'failed', reason: over };
  const changed = [...installs.map((p) => `${p.name}=${p.version}`), ...removals.map((name) => `-${name}`)];
  const image = await runner.depsCache.store(deps, key, `build-dependencies: ${changed.join(' ')}`.slice(0, 4000));
  await runner.depsCache.evict(limits.cacheImages, limits.cacheBytes, log, image);
  return { kind: 'ready', image, key, cached: false };
}

/** A build container made, its files in, and running within the limits. */
interface StartedBuild {
  container: RunnerContainer;
  run: Promise<{ exitCode: number; killed?: string }>;
}

async function startBuild(runner: ContainerRunner, req: BuildRequest, image: string, limits: BuildLimits, labels: Record<string, string>, onLog: (t: string) => void, containers: RunnerContainer[]): Promise<StartedBuild> {
  // No network, no capabilities, unprivileged, read-only root.
  const spec = buildContainerSpec(image, req.dsc, req.buildArg, limits, labels);
  const build = await runner.create(req.rebuild ? rebuildContainerSpec(spec, req.dsc, req.buildArg) : spec);
  containers.push(build);
  if (req.rebuild) await build.putFiles('/build', [{ name: 'rebuild/', data: Buffer.alloc(0) }, ...req.files.map((f) => ({ ...f, name: `rebuild/${f.name}` }))], REBUILD_UID);
  else await build.putFiles('/build', req.files, BUILDER_UID);
  const run = runWithinLimits(build, onLog, limits);
  run.catch(() => undefined); // awaited later; its failure is handled there
  return { container: build, run };
}

/** Output kept back until released, then passed on as it comes. */
class HeldLog {
  private held: string[] | undefined = [];
  private to: (t: string) => void = () => undefined;

  readonly write = (t: string): void => {
    if (this.held) this.held.push(t);
    else this.to(t);
  };

  release(to: (t: string) => void): void {
    for (const t of this.held ?? []) to(t);
    this.held = undefined;
    this.to = to;
  }
}

/** A build started from the image of a likely key before apt has resolved; its log held back. */
interface EarlyBuild extends StartedBuild {
  image: string;
  log: HeldLog;
}

/** The build started from a likely image; undefined when it cannot start (the build proper then says why). */
async function startEarly(runner: ContainerRunner, req: BuildRequest, image: string, limits: BuildLimits, labels: Record<string, string>, builds: RunnerContainer[]): Promise<EarlyBuild | undefined> {
  const log = new HeldLog();
  const started = await startBuild(runner, req, image, limits, labels, log.write, builds).catch(() => undefined);
  return started && { ...started, image, log };
}

/** Removes a build (running or not) nobody will read, once its run has settled. */
async function discard(build: StartedBuild, builds: RunnerContainer[]): Promise<void> {
  builds.splice(builds.indexOf(build.container), 1);
  await build.container.remove().catch(() => build.container.kill().catch(() => undefined));
  await build.run.catch(() => undefined);
}

export async function runBuild(runner: ContainerRunner, req: BuildRequest): Promise<BuildResult> {
  const limits = { ...DEFAULT_LIMITS, ...req.limits };
  const labels = { ...req.labels, [LABEL_BUILD]: req.jobId };
  if (!req.files.some((f) => f.name === req.dsc)) throw new Error(`job ${req.jobId}: the .dsc ${req.dsc} was not among its files`);
  const containers: RunnerContainer[] = [];
  const builds: RunnerContainer[] = [];
  let early: Promise<EarlyBuild | undefined> | undefined;
  try {
    req.onLog(`archive-in-a-box: build environment ${req.buildenv}\n`);
    const likely = req.likelyDepsKey ? await runner.depsCache.find(req.likelyDepsKey).catch(() => undefined) : undefined;
    early = likely && startEarly(runner, req, likely.id, limits, labels, builds);
    const deps = await prepareDependencies(runner, req, limits, labels, containers, early !== undefined);
    for (const c of containers.splice(0)) await c.remove().catch(() => undefined);
    const started = await early;
    let build: StartedBuild;
    if (started && deps.kind === 'ready' && deps.image === started.image) {
      req.onLog(`archive-in-a-box: the build started from that image while apt resolved\n`);
      started.log.release(req.onLog);
      build = started;
    } else {
      if (started) {
        await discard(started, builds);
        if (deps.kind === 'ready') req.onLog(`archive-in-a-box: a build started early from the image of this source's last build was stopped: the build-dependencies resolve to other packages now\n`);
      }
      if (deps.kind === 'dep-wait') return { outcome: 'dep-wait', missing: deps.missing };
      if (deps.kind === 'failed') return { outcome: 'failed', reason: deps.reason };
      build = await startBuild(runner, req, deps.image, limits, labels, req.onLog, builds);
    }
    const run = await build.run;
    const facts = { image: deps.image, depsKey: deps.key };
    if (run.killed) return { outcome: 'failed', reason: run.killed, ...facts };
    if (run.exitCode !== 0) return { outcome: 'failed', reason: `dpkg-buildpackage failed (exit ${run.exitCode}); see the log`, ...facts };
    const taken = await build.container.takeFiles(req.rebuild ? `${REBUILD_DIR}/out/.` : '/build/out/.', req.outDir, limits);
    if ('refused' in taken) return { outcome: 'failed', reason: taken.refused, ...facts };
    return { outcome: 'built', outputs: taken.outputs, cached: deps.cached, ...facts };
  } catch (err) {
    throw new DockerError(`build of ${req.jobId}: ${(err as { message?: string })?.message ?? String(err)}`);
  } finally {
    // An early build still starting when something failed is waited for, so that it is removed too.
    const started = await early?.catch(() => undefined);
    if (started && builds.includes(started.container)) await discard(started, builds);
    for (const c of [...containers, ...builds]) await c.remove().catch(() => undefined);
  }
}
