// `archive down`: stop and remove the containers (or the Swarm services); everything on the host stays.
import type { Command } from 'commander';
import { composeDown } from '../docker/compose.js';
import { connectDocker } from '../docker/engine.js';
import { swarmDown } from '../docker/swarm.js';
import { archiveLabels, layoutFor, loadConfig, progress, projectName, type GlobalOptions } from './archive-context.js';

export function register(program: Command): void {
  program
    .command('down')
    .description('stop the archive\'s containers (state under the root is kept; `up` brings it back)')
    .addHelpText('after', '\nExamples:\n  archive down\n  archive --root /srv/archive down\n')
    .action(async (_options: object, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      const docker = await connectDocker(process.env.DOCKER_HOST);
      const project = projectName(layout, config);
      // On a Swarm manager, the services archive up --swarm made (`docker stack rm`), unless
      // another root's (one of the same name at the same path on another manager): refused
      // first, before anything stops.
      const services = await swarmDown(docker, project, archiveLabels(layout, project), progress);
      const removed = await composeDown(docker, project, progress);
      console.log(`stopped ${removed} container(s)${services ? ` and ${services} Swarm service(s)` : ''}; state kept in ${layout.root}`);
    });
}
