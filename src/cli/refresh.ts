// `archive refresh`: upgrade the build environments now, rather than when they turn a day old.
import type { Command } from 'commander';
import { buildTargets } from '../config/config.js';
import { buildenvImageName, refreshBuildenv } from '../docker/buildenv.js';
import { connectDocker } from '../docker/engine.js';
import { layoutFor, loadConfig, progress, type GlobalOptions } from './archive-context.js';

export function register(program: Command): void {
  program
    .command('refresh')
    .description("upgrade each suite's build environment (apt-get dist-upgrade) now")
    .addHelpText('after', '\nExamples:\n  archive refresh   # after a Debian point release, before the daily upgrade\n')
    .action(async (_o: object, cmd: Command) => {
      const config = await loadConfig(layoutFor(cmd.optsWithGlobals<GlobalOptions>()));
      const docker = await connectDocker(process.env.DOCKER_HOST);
      for (const { base, arch } of buildTargets(config)) {
        const id = await refreshBuildenv(docker, base, arch, progress);
        console.log(`${buildenvImageName(base, arch)} refreshed: ${id}`);
      }
    });
}
