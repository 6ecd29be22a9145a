// One QA check, in throwaway sibling containers, as a build runs. lintian and blhc:
//  1. tools: the build environment with the check's tools installed, made once per build
//     environment and kept in the build-dependency cache under its own key (qa.ts toolsFor);
//     made in a container with the deps network and the capabilities apt needs, like
//     build-dependencies.
//  2. the check: a container from that image with no network, every capability dropped,
//     no-new-privileges, a read-only root, a private /qa volume with the files, the build's
//     limits on memory, pids, time and log; the tool runs as the unprivileged user "builder".
//     What it reads (the packages, the log) came from a build: hostile, so confined alike.
//     Its output is read by the check's parser (lintian.ts, blhc.ts) into a verdict.
// piuparts: a testbed container from the build environment of the build's architecture, as the
// build-dependencies' container is (root with apt's and dpkg's capabilities only, the deps
// network, the local archive as a source); what the steps install is downloaded, the testbed
// taken off its network, then each step is a command of its own, judged by its exit code, and
// the files left behind are the engine's diff (piuparts.ts).
// autopkgtest: the same testbed, from the build environment with autopkgtest installed (step 1),
// running the source's tests against the build's packages with its null server (autopkgtest.ts).
// installability: the same testbed with the migration's target suite as the local archive,
// where apt says whether the packages would install (installability.ts).
import { DockerError } from '../../errors.js';
import type { ContainerRunner, ContainerSpec, PutFile, RunnerContainer } from '../container-runner.js';
import { blhcResult, blhcScript } from './blhc.js';
import { BUILDER_UID, DEFAULT_LIMITS, LABEL_BUILD, depsContainerSpec, localArchiveFiles, localUpdateScript, type BuildLimits, type LocalArchive } from './build.js';
import { lintianResult, lintianScript } from './lintian.js';
import { parseSimulation } from '../apt-output.js';
import { DOWNLOAD_SCRIPT, NAMES_SCRIPT, SIMULATE_SCRIPT, SNAPSHOT_BEFORE, addedPaths, dependenciesOf, leftoversLog, parseNames, piupartsResult, piupartsSteps, unreachable, type PiupartsStep } from './piuparts.js';
import { autopkgtestResult, autopkgtestScript } from './autopkgtest.js';
import { PREVIOUS, qaToolsKey, qaToolsScript, toolsFor, type CheckKind, type QaCheck, type QaReport, type QaResult } from './qa.js';
import { INSTALLABILITY_SCRIPT, installabilityResult } from './installability.js';
import { execWithinLimits, runWithinLimits } from './run-within-limits.js';

export interface CheckRequest {
  jobId: string;
  check: CheckKind;
  /** The build environment of the job's base: the worker's native one; piuparts: the build's architecture's. */
  buildenv: string;
  /** The architecture of the build checked (blhc reads its flags by it). */
  arch: string;
  files: PutFile[];
  labels: Record<string, string>;
  onLog: (text: string) => void;
  /** Where the tools are installed from: the archive's deps network (the mirror), else Docker's bridge. */
  network?: string;
  /** piuparts, autopkgtest: the local archive as its testbed reaches it (the packages' dependencies may be there); installability: the target suite. */
  localArchive?: LocalArchive;
  limits?: Partial<BuildLimits>;
}

/** Step 2's container: no network, no capabilities, unprivileged, read-only root. */
export function checkContainerSpec(image: string, script: string, limits: BuildLimits, labels: Record<string, string>): ContainerSpec {
  return {
    image,
    cmd: ['bash', '-c', script],
    user: 'builder',
    workingDir: '/qa',
    labels,
    env: ['HOME=/tmp', 'LANG=C.UTF-8', 'TMPDIR=/tmp'],
    network: 'none',
    capDrop: ['ALL'],
    noNewPrivileges: true,
    readOnlyRoot: true,
    tmpfs: { '/tmp': 'rw,nosuid,nodev,size=2g' },
    volume: '/qa',
    memoryBytes: limits.memoryBytes,
    pidsLimit: limits.pidsLimit,
    cpus: limits.cpus,
  };
}

/** lintian's or blhc's script for these files, or why it cannot run on them. */
function scriptFor(req: CheckRequest): string | { reason: string } {
  if (req.check === 'blhc') return req.files.some((f) => f.name === 'build.log') ? blhcScript(req.arch) : { reason: 'the build has no log to check' };
  const dsc = req.files.find((f) => f.name.endsWith('.dsc'));
  const changes = req.files.find((f) => f.name.endsWith('.changes'));
  return dsc && changes ? lintianScript(dsc.name, changes.name) : { reason: 'the build has no .dsc or no .changes to check' };
}

/** Step 1: the build environment with these tools, from the cache or made now (a rebuild's diffoscope too). */
export async function toolsImage(
  runner: ContainerRunner,
  req: { buildenv: string; network?: string; onLog: (text: string) => void },
  tools: string[],
  limits: BuildLimits,
  labels: Record<string, string>,
  containers: RunnerContainer[],
): Promise<string | { reason: string }> {
  const buildenvId = await runner.imageId(req.buildenv);
  if (!buildenvId) throw new DockerError(`the build environment image ${req.buildenv} does not exist; archive up (or archive refresh) builds it`);
  const key = qaToolsKey(buildenvId, tools);
  const cached = await runner.depsCache.find(key);
  if (cached) return cached.id;
  req.onLog(`archive-in-a-box: installing the QA tools (${tools.join(', ')}) on ${req.buildenv}\n`);
  // From the id its key holds, not the name a refresh may retag meanwhile (as build-flow.ts).
  const deps = await runner.create({ ...depsContainerSpec(buildenvId, undefined, limits, labels), network: req.network ?? 'bridge' });
  containers.push(deps);
  await deps.start();
  const install = await execWithinLimits(deps, qaToolsScript(tools), req.onLog, { deadline: Date.now() + limits.timeoutMs, limits, what: 'installing the QA tools' });
  if (install.killed) return { reason: install.killed };
  // Not the package's fault (the mirror, the network): the worker gives the job back.
  if (install.exitCode !== 0) throw new Error(`installing the QA tools failed (apt-get exit ${install.exitCode}); see the log`);
  const image = await runner.depsCache.store(deps, key, `QA tools: ${tools.join(' ')}`);
  await runner.depsCache.evict(limits.cacheImages, limits.cacheBytes, req.onLog, image);
  return image;
}

export async function runCheck(runner: ContainerRunner, req: CheckRequest): Promise<QaReport> {
  const limits = { ...DEFAULT_LIMITS, ...req.limits };
  const labels = { ...req.labels, [LABEL_BUILD]: req.jobId };
  const containers: RunnerContainer[] = [];
  try {
    if (req.check === 'piuparts') return await runPiuparts(runner, req, limits, labels, containers);
    if (req.check === 'autopkgtest') return await runAutopkgtest(runner, { ...req, check: req.check }, limits, labels, containers);
    if (req.check === 'installability') return await runInstallability(runner, req, limits, labels, containers);
    const script = scriptFor(req);
    if (typeof script !== 'string') return { outcome: 'failed', reason: script.reason };
    const image = await toolsImage(runner, req, toolsFor(req.check), limits, labels, containers);
    for (const c of containers.splice(0)) await c.remove().catch(() => undefined);
    if (typeof image !== 'string') return { outcome: 'failed', reason: image.reason };

    const check = await runner.create(checkContainerSpec(image, script, limits, labels));
    containers.push(check);
    await check.putFiles('/qa', req.files, BUILDER_UID);
    req.onLog(`archive-in-a-box: running ${req.check} on ${req.files.map((f) => f.name).join(' ')}\n`);
    // The first 8 MiB of the output are read (the tool's version comes first); past them, the
    // exit status still gives the verdict.
    let output = '';
    let truncated = false;
    const started = Date.now();
    const run = await runWithinLimits(check, (text) => {
      if (output.length < 8 * 1024 * 1024) output += text;
      else truncated = true;
      req.onLog(text);
    }, limits, req.check);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    if (run.killed) return { outcome: 'failed', reason: run.killed };
    const result: QaResult | undefined = req.check === 'lintian' ? lintianResult(output, run.exitCode, seconds, truncated) : blhcResult(output, run.exitCode, seconds);
    if (!result) return { outcome: 'failed', reason: `${req.check} itself failed (exit ${run.exitCode}); see the log` };
    return { outcome: 'checked', ...result };
  } catch (err) {
    throw new DockerError(`${req.check} of ${req.jobId}: ${(err as { message?: string })?.message ?? String(err)}`);
  } finally {
    for (const c of containers) await c.remove().catch(() => undefined);
  }
}

/** piuparts' steps in a testbed; a step that fails ends them. */
async function runPiuparts(runner: ContainerRunner, req: CheckRequest, limits: BuildLimits, labels: Record<string, string>, containers: RunnerContainer[]): Promise<QaReport> {
  const debs = req.files.filter((f) => f.name.endsWith('.deb'));
  const fresh = debs.filter((f) => !f.name.startsWith(PREVIOUS));
  const old = debs.filter((f) => f.name.startsWith(PREVIOUS)).map((f) => ({ ...f, name: f.name.slice(PREVIOUS.length) }));
  if (fresh.length === 0) return { outcome: 'checked', verdict: 'neutral', tool: 'piuparts steps (archive-in-a-box)', seconds: 0, counts: {}, findings: [], summary: 'the build made no .deb to install' };
  if (!(await runner.imageId(req.buildenv))) throw new DockerError(`the build environment image ${req.buildenv} does not exist; archive up (or archive refresh) builds it`);
  const bed = await runner.create(depsContainerSpec(req.buildenv, req.localArchive, limits, labels));
  containers.push(bed);
  const under = (dir: string, files: PutFile[]) => files.map((f) => ({ ...f, name: `${dir}/${f.name}` }));
  await bed.putFiles('/', [...localArchiveFiles(req.localArchive), ...under('qa/new', fresh), ...under('qa/old', old)], 0);
  await bed.start();
  const limit = { deadline: Date.now() + limits.timeoutMs, limits, what: 'piuparts' };
  const log = req.onLog;
  const update = await execWithinLimits(bed, localUpdateScript(req.localArchive), log, limit);
  // The local archive out of reach is the worker's trouble: the job goes back.
  if (update.exitCode !== 0 || update.killed) throw new Error(`fetching the local archive's lists failed (exit ${update.exitCode}); see the log`);
  // The names are read before anything of the packages has run.
  const names = parseNames((await execWithinLimits(bed, NAMES_SCRIPT, () => undefined, limit)).output);
  if ('bad' in names) return { outcome: 'failed', reason: `the build's packages could not be read: ${names.bad}` };
  const started = Date.now();
  const simulation = await execWithinLimits(bed, SIMULATE_SCRIPT, log, limit);
  let failed: { step: PiupartsStep; exitCode: number; output: string } | undefined;
  let deps: { name: string; version: string }[] = [];
  if (simulation.killed || simulation.exitCode !== 0) failed = { step: 'dependencies', exitCode: simulation.exitCode, output: simulation.killed ?? simulation.output };
  else {
    const resolved = dependenciesOf(parseSimulation(simulation.output), names);
    if ('bad' in resolved) return { outcome: 'failed', reason: `apt named a dependency that is not a package: ${resolved.bad}` };
    deps = resolved;
    const download = await execWithinLimits(bed, DOWNLOAD_SCRIPT, log, limit);
    if (download.killed || download.exitCode !== 0) failed = { step: 'dependencies', exitCode: download.exitCode, output: download.killed ?? download.output };
  }
  // Their maintainer scripts run as root, and they are packages this archive built from uploads:
  // they run with no network, reaching neither the repository, the mirror, nor anything else.
  await bed.disconnect();
  if (!failed) log('archive-in-a-box: piuparts: the packages are installed with no network\n');
  let before: Set<string> | undefined;
  let leftovers: string[] = [];
  for (const { step, script } of failed ? [] : piupartsSteps(names, deps)) {
    if (step === SNAPSHOT_BEFORE) before = addedPaths(await bed.changes());
    log(`\narchive-in-a-box: piuparts: ${step}\n`);
    const run = await execWithinLimits(bed, script, log, limit);
    if (run.killed || run.exitCode !== 0) {
      failed = { step, exitCode: run.exitCode, output: run.killed ?? run.output };
      break;
    }
    if (step === 'purge') leftovers = [...addedPaths(await bed.changes())].filter((p) => !before!.has(p)).sort();
  }
  if (failed && unreachable(failed.output)) log('archive-in-a-box: piuparts: the mirror could not be reached (tmpfail)\n');
  log(leftoversLog(leftovers));
  const from = old[0]?.name.split('_')[1];
  const result = piupartsResult(failed, leftovers, from ? { from } : undefined, Math.round((Date.now() - started) / 100) / 10);
  log(`archive-in-a-box: piuparts: ${result.verdict}: ${result.summary}\n`);
  return { outcome: 'checked', ...result };
}

/** The testbed of piuparts with the target suite as its local archive, and apt's answer on the packages. */
async function runInstallability(runner: ContainerRunner, req: CheckRequest, limits: BuildLimits, labels: Record<string, string>, containers: RunnerContainer[]): Promise<QaReport> {
  const debs = req.files.filter((f) => f.name.endsWith('.deb') && !f.name.startsWith(PREVIOUS));
  if (debs.length === 0) return { outcome: 'checked', verdict: 'neutral', tool: 'apt-get install --simulate', seconds: 0, counts: {}, findings: [], summary: 'the build made no .deb to install' };
  if (!(await runner.imageId(req.buildenv))) throw new DockerError(`the build environment image ${req.buildenv} does not exist; archive up (or archive refresh) builds it`);
  const bed = await runner.create(depsContainerSpec(req.buildenv, req.localArchive, limits, labels));
  containers.push(bed);
  await bed.putFiles('/', [...localArchiveFiles(req.localArchive), ...debs.map((f) => ({ ...f, name: `qa/new/${f.name}` }))], 0);
  await bed.start();
  const limit = { deadline: Date.now() + limits.timeoutMs, limits, what: 'the installability check' };
  const update = await execWithinLimits(bed, localUpdateScript(req.localArchive), req.onLog, limit);
  if (update.exitCode !== 0 || update.killed) throw new Error(`fetching the local archive's lists failed (exit ${update.exitCode}); see the log`);
  req.onLog(`\narchive-in-a-box: would ${debs.map((f) => f.name).join(' ')} install in ${req.localArchive?.suite ?? 'the suite'}?\n`);
  const started = Date.now();
  const run = await execWithinLimits(bed, INSTALLABILITY_SCRIPT, req.onLog, limit);
  if (run.killed) return { outcome: 'failed', reason: run.killed };
  const result = installabilityResult(run.output, run.exitCode, req.localArchive?.suite ?? 'the suite', Math.round((Date.now() - started) / 100) / 10);
  if (!result) return { outcome: 'failed', reason: `apt-get failed (exit ${run.exitCode}) without naming an unmet dependency; see the log` };
  req.onLog(`archive-in-a-box: installability: ${result.verdict}: ${result.summary}\n`);
  return { outcome: 'checked', ...result };
}

/** autopkgtest with the null server in a testbed from the build environment with autopkgtest installed. */
async function runAutopkgtest(runner: ContainerRunner, req: CheckRequest & { check: QaCheck }, limits: BuildLimits, labels: Record<string, string>, containers: RunnerContainer[]): Promise<QaReport> {
  const dsc = req.files.find((f) => f.name.endsWith('.dsc'));
  if (!dsc) return { outcome: 'failed', reason: 'the upload has no .dsc to test' };
  const image = await toolsImage(runner, req, toolsFor(req.check), limits, labels, containers);
  for (const c of containers.splice(0)) await c.remove().catch(() => undefined);
  if (typeof image !== 'string') return { outcome: 'failed', reason: image.reason };
  const bed = await runner.create(depsContainerSpec(image, req.localArchive, limits, labels));
  containers.push(bed);
  const files = req.files.filter((f) => !f.name.startsWith(PREVIOUS)).map((f) => ({ ...f, name: `qa/${f.name}` }));
  await bed.putFiles('/', [...localArchiveFiles(req.localArchive), ...files], 0);
  await bed.start();
  const limit = { deadline: Date.now() + limits.timeoutMs, limits, what: 'autopkgtest' };
  const update = await execWithinLimits(bed, localUpdateScript(req.localArchive), req.onLog, limit);
  if (update.exitCode !== 0 || update.killed) throw new Error(`fetching the local archive's lists failed (exit ${update.exitCode}); see the log`);
  const started = Date.now();
  // Its summary comes last: the end of a long output is kept.
  const run = await execWithinLimits(bed, autopkgtestScript(dsc.name), req.onLog, limit, 'tail');
  if (run.killed) return { outcome: 'failed', reason: run.killed };
  const result = autopkgtestResult(run.output, run.exitCode, Math.round((Date.now() - started) / 100) / 10);
  if (!result) return { outcome: 'failed', reason: `autopkgtest itself failed (exit ${run.exitCode}); see the log` };
  return { outcome: 'checked', ...result };
}
