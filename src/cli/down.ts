// `archive down`: stop and remove the containers; everything on the host stays.
import type { Command } from 'commander';
import { composeDown } from '../docker/compose.js';
import { connectDocker } from '../docker/engine.js';
import { layoutFor, loadConfig, progress, projectName, type GlobalOptions } from './archive-context.js';

export function register(program: Command): void {
  program
    .command('down')
    .description('stop the archive\'s containers (state under the root is kept; `up` brings it back)')
    .addHelpText('after', '\nExamples:\n  archive down\n  archive --root /srv/archive down\n')
    .action(async (_options: object, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      const removed = await composeDown(await connectDocker(process.env.DOCKER_HOST), projectName(layout, config), progress);
      console.log(`stopped ${removed} container(s); state kept in ${layout.root}`);
    });
}
