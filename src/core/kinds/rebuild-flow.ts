// One rebuild, on the worker: the build again (build-flow.ts, its container varied: rebuild.ts)
// from the build-dependency set resolved now (the first build's, cached, while the archive and
// the build environment are the same), its packages hashed and compared with the first build's;
// where they differ, diffoscope in a check container (no network, no capabilities, unprivileged,
// read-only root: both builds' packages are hostile), its reports taken out, capped.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DockerError } from '../../errors.js';
import type { ContainerRunner, JobInput, RunnerContainer } from '../container-runner.js';
import { runBuild, type BuildRequest } from './build-flow.js';
import { BUILDER_UID, DEFAULT_LIMITS, LABEL_BUILD, type BuildLimits } from './build.js';
import { checkContainerSpec, toolsImage } from './qa-flow.js';
import { MAX_ARTIFACT_BYTES, REPORTS, compareRebuild, diffoscopeScript, firstDifferences, rebuildBuildinfo, type RebuildReport } from './rebuild.js';
import { runWithinLimits } from './run-within-limits.js';

/** A file's sha256, read as a stream (a package may be up to the build's output limit). */
async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The most bytes of differing packages (both builds') diffoscope is given. */
export const MAX_DIFFOSCOPE_INPUT = 512 * 1024 ** 2;

/** The tools diffoscope needs, installed once on the build environment (its minimal package: no Recommends). */
export const DIFFOSCOPE_TOOLS = ['diffoscope-minimal'];

export interface RebuildRequest extends Omit<BuildRequest, 'rebuild'> {
  /** The first build's packages (.deb, .udeb), to compare with. */
  first: JobInput[];
  /** The native build environment diffoscope runs on, and where its tools are installed from. */
  toolsBuildenv: string;
  network?: string;
  /** The job's source and version, which its .buildinfo is named after (rebuildBuildinfo). */
  source: string;
  version: string;
}

export async function runRebuild(runner: ContainerRunner, req: RebuildRequest): Promise<{ report: RebuildReport; outputs: string[] }> {
  const limits = { ...DEFAULT_LIMITS, ...req.limits };
  const started = Date.now();
  const built = await runBuild(runner, { ...req, rebuild: true });
  if (built.outcome === 'dep-wait') return { report: { outcome: 'failed', reason: `the build-dependencies cannot be installed now: ${built.missing}` }, outputs: [] };
  if (built.outcome === 'failed') return { report: { outcome: 'failed', reason: `the rebuild failed: ${built.reason}` }, outputs: [] };
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const packages = [];
  for (const name of built.outputs.filter((n) => /\.u?deb$/.test(n))) {
    packages.push({ name, sha256: await sha256Of(join(req.outDir, name)) });
  }
  const first = req.first.map((f) => ({ name: f.name, sha256: f.sha256 }));
  const compared = compareRebuild(first, packages);
  const buildinfo = rebuildBuildinfo(built.outputs, req);
  const rebuilt = { outcome: 'rebuilt' as const, packages, depsKey: built.depsKey, seconds, tool: 'dpkg-buildpackage', differences: [] as { package: string; context: string }[] };
  req.onLog(`archive-in-a-box: ${compared.reproducible ? 'the packages are bit for bit the first build\'s' : `differs from the first build: ${[...compared.differing, ...compared.onlyFirst, ...compared.onlyRebuild].join(', ')}`}\n`);
  if (compared.reproducible || compared.differing.length === 0) return { report: rebuilt, outputs: buildinfo };
  // diffoscope unpacks both builds' differing packages, in its container's memory and time: not past a bound.
  let bytes = req.first.filter((f) => compared.differing.includes(f.name)).reduce((n, f) => n + f.size, 0);
  for (const name of compared.differing) bytes += (await stat(join(req.outDir, name))).size;
  if (bytes > MAX_DIFFOSCOPE_INPUT) return { report: { ...rebuilt, tool: `dpkg-buildpackage; diffoscope not run: the packages that differ hold ${bytes} bytes, over ${MAX_DIFFOSCOPE_INPUT}` }, outputs: buildinfo };
  const diff = await diffoscope(runner, req, compared.differing, limits);
  return { report: { ...rebuilt, tool: `dpkg-buildpackage; ${diff.tool}`, differences: diff.differences }, outputs: [...buildinfo, ...diff.outputs] };
}

/** diffoscope on the packages that differ, in a check container from the build environment with diffoscope installed. */
async function diffoscope(runner: ContainerRunner, req: RebuildRequest, differing: string[], limits: BuildLimits): Promise<{ tool: string; differences: { package: string; context: string }[]; outputs: string[] }> {
  const labels = { ...req.labels, [LABEL_BUILD]: req.jobId };
  const containers: RunnerContainer[] = [];
  try {
    const image = await toolsImage(runner, { buildenv: req.toolsBuildenv, network: req.network, onLog: req.onLog }, DIFFOSCOPE_TOOLS, limits, labels, containers);
    for (const c of containers.splice(0)) await c.remove().catch(() => undefined);
    if (typeof image !== 'string') return { tool: `diffoscope (not run: ${image.reason})`, differences: [], outputs: [] };
    const check = await runner.create(checkContainerSpec(image, diffoscopeScript(), limits, labels));
    containers.push(check);
    const rebuilt = await Promise.all(differing.map(async (name) => ({ name: `rebuild/${name}`, path: join(req.outDir, name), size: (await stat(join(req.outDir, name))).size })));
    const first = req.first.filter((f) => differing.includes(f.name)).map((f) => ({ ...f, name: `first/${f.name}` }));
    await check.putFiles('/qa', [{ name: 'first/', data: Buffer.alloc(0) }, { name: 'rebuild/', data: Buffer.alloc(0) }, { name: 'reports/', data: Buffer.alloc(0) }, ...first, ...rebuilt], BUILDER_UID);
    req.onLog(`archive-in-a-box: diffoscope on ${differing.join(' ')}\n`);
    let version = '';
    const run = await runWithinLimits(check, (text) => {
      if (!version) version = text.split('\n')[0];
      req.onLog(text);
    }, limits, 'diffoscope');
    if (run.killed) return { tool: `diffoscope (${run.killed})`, differences: [], outputs: [] };
    // 1: differences found; anything else but 0 is diffoscope's own failure, said in the log.
    const caps = { outputFileBytes: MAX_ARTIFACT_BYTES, outputBytes: 2 * MAX_ARTIFACT_BYTES, outputFiles: 2 };
    const taken = await check.takeFiles(`${REPORTS}/.`, req.outDir, caps);
    if ('refused' in taken) return { tool: `${version || 'diffoscope'} (its reports were refused: ${taken.refused})`, differences: [], outputs: [] };
    const text = taken.outputs.includes('diffoscope.txt') ? await readFile(join(req.outDir, 'diffoscope.txt'), 'utf8') : '';
    return { tool: version.trim() || 'diffoscope', differences: firstDifferences(text, differing), outputs: taken.outputs.filter((n) => n === 'diffoscope.txt' || n === 'diffoscope.html') };
  } catch (err) {
    throw new DockerError(`diffoscope of ${req.jobId}: ${(err as { message?: string })?.message ?? String(err)}`);
  } finally {
    for (const c of containers) await c.remove().catch(() => undefined);
  }
}
