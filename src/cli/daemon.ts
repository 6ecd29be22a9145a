// `archive daemon queue|builder`: what the containers run.
import type { Command } from 'commander';
import { builderKey } from '../core/request-signature.js';
import { UserError } from '../errors.js';
import { Layout } from '../storage/layout.js';

export function register(program: Command): void {
  program
    .command('daemon <role>', { hidden: true })
    .description('run the queue or a builder (inside the tool image)')
    .action(async (role: string) => {
      // Each role loads only its own modules: the queue never loads the Docker client, whose
      // SSH transport alone holds 16 MiB.
      if (role === 'queue') {
        const { Queue } = await import('../daemons/queue/queue.js');
        const env = process.env;
        await new Queue(new Layout(env.ARCHIVE_ROOT ?? '/archive'), { hostIncoming: env.ARCHIVE_HOST_INCOMING, failPoints: env.ARCHIVE_FAILPOINTS, publicUrl: env.ARCHIVE_PUBLIC_URL, rootId: env.ARCHIVE_ROOT_ID }).start(Number(env.ARCHIVE_API_PORT ?? 8000));
      } else if (role === 'builder') {
        const { ALIVE_FILE, Builder, apiTokenFromEnv, builderNameFromEnv, parseArchitectureList, parseBuildenvs, stopOnSignals } = await import('../daemons/builder.js');
        const token = apiTokenFromEnv(process.env);
        // Every label set explicitly: build containers must not inherit stale ones from cached images.
        const labels: Record<string, string> = {
          'archive-in-a-box.project': process.env.ARCHIVE_PROJECT ?? 'archive',
          'archive-in-a-box.run-id': process.env.ARCHIVE_RUN_ID ?? '',
        };
        const name = builderNameFromEnv(process.env);
        const builder = new Builder({
          queueUrl: process.env.ARCHIVE_QUEUE_URL ?? 'http://queue:8000',
          key: builderKey(token, name),
          name,
          aliveFile: ALIVE_FILE,
          labels,
          repoUrl: process.env.ARCHIVE_REPO_URL,
          network: process.env.ARCHIVE_NETWORK,
          buildenvs: parseBuildenvs(process.env.ARCHIVE_BUILDENVS ?? ''),
          architectures: parseArchitectureList(process.env.ARCHIVE_ARCHITECTURES ?? '', 'ARCHIVE_ARCHITECTURES'),
          emulated: parseArchitectureList(process.env.ARCHIVE_EMULATED ?? '', 'ARCHIVE_EMULATED'),
          dockerHost: process.env.DOCKER_HOST,
          workDir: process.env.ARCHIVE_WORK_DIR || undefined,
        });
        // Stopped (docker stop, archive down, its Swarm task ended), it removes its jobs' containers and gives them back.
        stopOnSignals(builder);
        await builder.start();
      } else throw new UserError(`daemon: unknown role "${role}" (queue or builder)`);
      await new Promise(() => undefined); // run until stopped
    });
}
