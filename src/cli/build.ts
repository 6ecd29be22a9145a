// `archive build PATH.dsc|SOURCE-TREE`: a one-shot build with the archive's buildenv, isolation
// and build-dependency cache, without an archive running — what sbuild and pbuilder do, on
// Docker. Results (.debs, .buildinfo, .changes and the log) land in --out, owned by the caller.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseConfig, type BuildSettings } from '../config/config.js';
import { planBuilds } from '../core/build-plan.js';
import { LABEL_BUILD, buildLimits } from '../core/kinds/build.js';
import { runBuild } from '../core/kinds/build-flow.js';
import { parseDsc } from '../debian/changes-dsc.js';
import { versionWithoutEpoch } from '../debian/version.js';
import { DockerRunner, removeLabelledContainers } from '../docker/docker-runner.js';
import { connectDocker } from '../docker/engine.js';
import { Unsuccessful, UserError } from '../errors.js';
import { buildSourcePackage, hostArchitecture } from '../process/debian-tools.js';
import { exists } from '../storage/files.js';
import { layoutFor, loadConfig, progress, type GlobalOptions } from './archive-context.js';
import { architectureModes, ensureBuildenv } from './build-images.js';
import { printableJson, printableLog } from '../core/terminal-text.js';

interface BuildOptions {
  suite?: string;
  out?: string;
  arch?: string;
  json?: boolean;
}

/** The suite's base and architecture: from the root's archive.yaml when there is one. */
async function target(options: BuildOptions, globals: GlobalOptions): Promise<{ base: string; arch: string; suite: string; builds: BuildSettings }> {
  const layout = layoutFor(globals);
  const config = (await exists(layout.config)) ? await loadConfig(layout) : parseConfig('', 'defaults');
  const suite = options.suite ? config.suites.find((s) => s.name === options.suite || s.aliases.includes(options.suite!)) : config.suites[0];
  if (!suite) throw new UserError(`--suite: no suite "${options.suite}" in ${layout.config} (suites: ${config.suites.map((s) => s.name).join(', ')})`);
  return { base: suite.base, arch: options.arch ?? (await hostArchitecture()), suite: suite.name, builds: config.builds };
}

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit code of a command a signal stopped, as a shell gives it: 128 and the signal's number. */
export const SIGNAL_EXIT: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Until the function returned is called: on SIGINT (Ctrl-C) or SIGTERM, `stopped(signal)`, once;
 * on a second signal, an exit at once with its code (whatever is left as it is).
 */
export function onStopSignals(
  stopped: (signal: StopSignal) => void,
  on: Pick<NodeJS.Process, 'on' | 'off'> = process,
  exit: (code: number) => void = (code) => process.exit(code),
): () => void {
  let signalled = false;
  const handle = (signal: StopSignal) => {
    if (signalled) return exit(SIGNAL_EXIT[signal]);
    signalled = true;
    stopped(signal);
  };
  on.on('SIGINT', handle);
  on.on('SIGTERM', handle);
  return () => {
    on.off('SIGINT', handle);
    on.off('SIGTERM', handle);
  };
}

/**
 * A build stopped by a signal. Its containers' limits (time, stall, disk) are kept by this
 * process: left behind, they ran on unbounded (a `sleep infinity` among them), so they go with it:
 * removed, the build's flow given a moment to end (removing what it made), removed again (one it
 * made after the first look); the error to exit with, the signal's code.
 */
export async function stopBuild(signal: StopSignal, jobId: string, remove: () => Promise<number>, running: Promise<unknown>, settleMs = 10_000): Promise<Unsuccessful> {
  progress(`${signal}: removing the containers of build ${jobId}`);
  try {
    await remove();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([running.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, settleMs)))]);
    clearTimeout(timer);
    await remove();
  } catch (err) {
    const how = `docker rm -f $(docker ps -aq --filter label=${LABEL_BUILD}=${jobId})`;
    return new Unsuccessful(`stopped by ${signal}; the containers of build ${jobId} could not be removed (${(err as Error).message}): remove them with ${how}`, SIGNAL_EXIT[signal]);
  }
  return new Unsuccessful(`stopped by ${signal}; the containers of build ${jobId} were removed`, SIGNAL_EXIT[signal]);
}

export function register(program: Command): void {
  program
    .command('build <path>')
    .description('build a .dsc or a source tree once, in a throwaway container (no archive needed)')
    .option('--suite <suite>', "whose Debian base to build on (default: the first suite of the root's archive.yaml, else trixie)")
    .option('--arch <arch>', 'the architecture to build for (default: this machine\'s)')
    .option('--out <dir>', 'where the results go (default: beside the .dsc, or the directory above the tree)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Exit status: 0 when built, 1 when the build failed or a build-dependency cannot be met,
130 (Ctrl-C) or 143 (SIGTERM) when stopped, the build's containers removed.

Examples:
  archive build ../hello_2.10-3.dsc
  archive build . --out /tmp/results        # from inside an unpacked source tree
`)
    .action(async (path: string, options: BuildOptions, cmd: Command) => {
      const started = Date.now();
      const { base, arch, suite, builds } = await target(options, cmd.optsWithGlobals<GlobalOptions>());
      const given = resolve(path);
      const isTree = (await stat(given).catch(() => undefined))?.isDirectory();
      if (!isTree && !given.endsWith('.dsc')) throw new UserError(`${path}: expected a .dsc file or a source tree with debian/changelog`);
      if (isTree && !(await exists(join(given, 'debian', 'changelog')))) throw new UserError(`${path}: no debian/changelog: not a Debian source tree`);
      let dscPath = given;
      if (isTree) {
        progress(`dpkg-source -b ${basename(given)}`);
        dscPath = await buildSourcePackage(given);
      }
      const dir = dirname(dscPath);
      const dsc = parseDsc(await readFile(dscPath, 'utf8').catch(() => {
        throw new UserError(`${dscPath}: cannot be read`);
      }), basename(dscPath));
      const files = [{ name: dsc.fileName, data: await readFile(dscPath) }];
      for (const f of dsc.files) {
        const data = await readFile(join(dir, f.name)).catch(() => {
          throw new UserError(`${f.name}: listed in ${dsc.fileName} but not found in ${dir}`);
        });
        files.push({ name: f.name, data });
      }
      const [plan] = planBuilds(dsc.architectures, [arch], arch);
      if (!plan) throw new UserError(`${dsc.fileName}: Architecture ${dsc.architectures.join(' ')} builds nothing on ${arch}`);
      const out = resolve(options.out ?? (isTree ? dirname(given) : dir));

      // Another architecture runs under qemu (archive doctor): refused here when it cannot run.
      const [mode] = await architectureModes([arch]);
      const docker = await connectDocker(process.env.DOCKER_HOST);
      const buildenv = await ensureBuildenv(docker, base, arch, mode.own);

      const work = await mkdtemp(join(tmpdir(), 'archive-build-'));
      const logName = `${dsc.source}_${versionWithoutEpoch(dsc.version)}_${arch}.build`;
      const jobId = `oneshot-${randomBytes(4).toString('hex')}`;
      let log = '';
      let signalled!: (signal: StopSignal) => void;
      const stopped = new Promise<StopSignal>((r) => (signalled = r));
      const listening = onStopSignals(signalled);
      try {
        progress(`building ${dsc.source} ${dsc.version} on ${arch}${mode.emulated ? ` (emulated: time limits x${builds.emulationFactor})` : ''} (${plan.buildArg}) in ${buildenv}`);
        const running = runBuild(new DockerRunner(docker), {
          jobId,
          buildenv,
          dsc: dsc.fileName,
          arch,
          buildArg: plan.buildArg,
          files,
          labels: { 'archive-in-a-box.project': 'archive-build', 'archive-in-a-box.run-id': process.env.ARCHIVE_RUN_ID ?? '' },
          onLog: (text) => {
            log += text;
            // Shown, never obeyed (core/terminal-text.ts): the build's colours kept, its other control characters as \xNN.
            if (!options.json) process.stdout.write(printableLog(text));
          },
          outDir: work,
          limits: buildLimits(builds, mode.emulated),
        });
        const ended = await Promise.race([running.then((result) => ({ result })), stopped.then((signal) => ({ signal }))]);
        if ('signal' in ended) throw await stopBuild(ended.signal, jobId, () => removeLabelledContainers(docker, LABEL_BUILD, jobId), running);
        // Its containers gone: a signal from here stops it as it would any command.
        listening();
        const { result } = ended;
        await writeFile(join(out, logName), log);
        const seconds = Math.round((Date.now() - started) / 100) / 10;
        if (result.outcome !== 'built') {
          const why = result.outcome === 'dep-wait' ? `a build-dependency cannot be met: ${result.missing}` : result.reason;
          if (options.json) console.log(printableJson({ outcome: result.outcome, reason: why, log: join(out, logName), seconds }));
          throw new Unsuccessful(`${dsc.source} ${dsc.version} did not build on ${arch}: ${why}\nlog: ${join(out, logName)}`, 1);
        }
        for (const f of result.outputs) await copyFile(join(work, f), join(out, f));
        const summary = { outcome: 'built', source: dsc.source, version: dsc.version, arch, emulated: mode.emulated, suite, out, files: result.outputs, log: join(out, logName), cached: result.cached, seconds };
        if (options.json) console.log(printableJson(summary));
        else console.log(`\nbuilt ${dsc.source} ${dsc.version} on ${arch} in ${seconds} s${result.cached ? ' (build-dependencies from the cache)' : ''}; in ${out}:\n${result.outputs.map((f) => `  ${f}`).join('\n')}\n  ${logName}`);
      } finally {
        listening();
        await rm(work, { recursive: true, force: true });
      }
    });
}
