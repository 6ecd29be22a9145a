// One build, in throwaway sibling containers:
//  1. dependencies: a container from the buildenv image, with network (the archive's deps
//     network: the local repository and the mirror, not the queue), asks apt what the
//     Build-Depends resolve to (apt-get build-dep -s). Unsatisfiable: dep-wait. The exact
//     resolved set keys a cached image; on a miss the set is installed and the container
//     committed as that image. Installing runs maintainer scripts of packages built from
//     uploads as root: only the capabilities apt and dpkg need, no-new-privileges, the
//     build's limits on memory, pids, time and log.
//  2. build: a container from that image (a rebuild's varied: rebuild.ts) with no network, every capability dropped,
//     no-new-privileges, a read-only root, a private /build volume, limits on memory, pids
//     and CPUs, a wall-clock and a stall timeout and a log cap; dpkg-source -x and
//     dpkg-buildpackage run as the unprivileged user "builder".
// Files go in and out through the runner (on Docker, its archive API), so the builder needs no
// host paths; what comes out is capped (takeFiles). The containers are described in build.ts.
import { DockerError } from '../../errors.js';
import { depsKey, isUnsatisfiable, parseShowHashes, parseSimulation, parseUnmet } from '../apt-output.js';
import type { BuildArg } from '../build-plan.js';
import type { ContainerRunner, RunnerContainer } from '../container-runner.js';
import {
  BUILDER_UID,
  DEFAULT_LIMITS,
  LABEL_BUILD,
  buildContainerSpec,
  buildDepOptions,
  depsContainerSpec,
  depsFiles,
  installScript,
  resolveScript,
  showScript,
  type BuildLimits,
  type BuildResult,
  type LocalArchive,
} from './build.js';
import { REBUILD_DIR, REBUILD_UID, rebuildContainerSpec } from './rebuild.js';
import { execWithinLimits, runWithinLimits } from './run-within-limits.js';

export interface BuildRequest {
  jobId: string;
  buildenv: string;
  dsc: string;
  arch: string;
  buildArg: BuildArg;
  files: { name: string; data: Buffer }[];
  labels: Record<string, string>;
  onLog: (text: string) => void;
  outDir: string;
  localArchive?: LocalArchive;
  limits?: Partial<BuildLimits>;
  /** A rebuild (rebuild.ts): the build's container varied, the files in its user's own folder. */
  rebuild?: boolean;
}

type DepsOutcome = { kind: 'ready'; image: string; key: string; cached: boolean } | { kind: 'dep-wait'; missing: string } | { kind: 'failed'; reason: string };

/** Step 1: resolve, then reuse or make the build-dependency image. */
async function prepareDependencies(runner: ContainerRunner, req: BuildRequest, limits: BuildLimits, labels: Record<string, string>, containers: RunnerContainer[]): Promise<DepsOutcome> {
  const buildenvId = await runner.imageId(req.buildenv);
  if (!buildenvId) throw new DockerError(`the build environment image ${req.buildenv} does not exist; archive up (or archive refresh) builds it`);
  const dsc = req.files.find((f) => f.name === req.dsc)!;
  const deps = await runner.create(depsContainerSpec(req.buildenv, req.localArchive, limits, labels));
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
  const show = installs.length === 0 ? { exitCode: 0, output: '' } : await execWithinLimits(deps, showScript(installs), () => undefined, limit);
  if ('killed' in show && show.killed) return { kind: 'failed', reason: show.killed };
  if (show.exitCode !== 0) return { kind: 'failed', reason: `apt-cache show of the resolved build-dependencies failed (exit ${show.exitCode})` };
  const key = depsKey(buildenvId, req.arch, installs, parseShowHashes(show.output));
  const cached = await runner.depsCache.find(key);
  if (cached) {
    log(`archive-in-a-box: build-dependencies (${installs.length} packages) from the cache: ${cached.name}\n`);
    return { kind: 'ready', image: cached.id, key, cached: true };
  }
  log(`archive-in-a-box: installing ${installs.length} build-dependencies\n`);
  const install = await execWithinLimits(deps, installScript(req.dsc, req.buildArg), log, limit);
  if (install.killed) return { kind: 'failed', reason: install.killed };
  if (install.exitCode !== 0) {
    if (isUnsatisfiable(install.output)) return { kind: 'dep-wait', missing: parseUnmet(install.output).join('; ') };
    return { kind: 'failed', reason: `installing build-dependencies failed (apt-get exit ${install.exitCode}); see the log` };
  }
  const image = await runner.depsCache.store(deps, key, `build-dependencies: ${installs.map((p) => `${p.name}=${p.version}`).join(' ')}`.slice(0, 4000));
  await runner.depsCache.evict(limits.cacheImages, limits.cacheBytes, log);
  return { kind: 'ready', image, key, cached: false };
}

export async function runBuild(runner: ContainerRunner, req: BuildRequest): Promise<BuildResult> {
  const limits = { ...DEFAULT_LIMITS, ...req.limits };
  const labels = { ...req.labels, [LABEL_BUILD]: req.jobId };
  if (!req.files.some((f) => f.name === req.dsc)) throw new Error(`job ${req.jobId}: the .dsc ${req.dsc} was not among its files`);
  const containers: RunnerContainer[] = [];
  try {
    req.onLog(`archive-in-a-box: build environment ${req.buildenv}\n`);
    const deps = await prepareDependencies(runner, req, limits, labels, containers);
    for (const c of containers.splice(0)) await c.remove().catch(() => undefined);
    if (deps.kind === 'dep-wait') return { outcome: 'dep-wait', missing: deps.missing };
    if (deps.kind === 'failed') return { outcome: 'failed', reason: deps.reason };

    // 2. The build: no network, no capabilities, unprivileged, read-only root.
    const spec = buildContainerSpec(deps.image, req.dsc, req.buildArg, limits, labels);
    const build = await runner.create(req.rebuild ? rebuildContainerSpec(spec, req.dsc, req.buildArg) : spec);
    containers.push(build);
    if (req.rebuild) await build.putFiles('/build', [{ name: 'rebuild/', data: Buffer.alloc(0) }, ...req.files.map((f) => ({ name: `rebuild/${f.name}`, data: f.data }))], REBUILD_UID);
    else await build.putFiles('/build', req.files, BUILDER_UID);
    const run = await runWithinLimits(build, req.onLog, limits);
    const facts = { image: deps.image, depsKey: deps.key };
    if (run.killed) return { outcome: 'failed', reason: run.killed, ...facts };
    if (run.exitCode !== 0) return { outcome: 'failed', reason: `dpkg-buildpackage failed (exit ${run.exitCode}); see the log`, ...facts };
    const taken = await build.takeFiles(req.rebuild ? `${REBUILD_DIR}/out/.` : '/build/out/.', req.outDir, limits);
    if ('refused' in taken) return { outcome: 'failed', reason: taken.refused, ...facts };
    return { outcome: 'built', outputs: taken.outputs, cached: deps.cached, ...facts };
  } catch (err) {
    throw new DockerError(`build of ${req.jobId}: ${(err as { message?: string })?.message ?? String(err)}`);
  } finally {
    for (const c of containers) await c.remove().catch(() => undefined);
  }
}
