// `archive daemon queue|builder` (what the containers run) and `archive health queue|builder`
// (their healthchecks).
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { Builder, ALIVE_FILE, builderNameFromEnv } from '../daemons/builder.js';
import { Queue } from '../daemons/queue.js';
import { UserError } from '../errors.js';
import { Layout } from '../storage/layout.js';

export function register(program: Command): void {
  program
    .command('daemon <role>', { hidden: true })
    .description('run the queue or a builder (inside the tool image)')
    .action(async (role: string) => {
      if (role === 'queue') {
        await new Queue(new Layout(process.env.ARCHIVE_ROOT ?? '/archive')).start();
      } else if (role === 'builder') {
        const token = process.env.ARCHIVE_API_TOKEN;
        if (!token) throw new UserError('ARCHIVE_API_TOKEN is not set');
        // Every label set explicitly: build containers must not inherit stale ones from cached images.
        const labels: Record<string, string> = {
          'archive-in-a-box.project': process.env.ARCHIVE_PROJECT ?? 'archive',
          'archive-in-a-box.run-id': process.env.ARCHIVE_RUN_ID ?? '',
        };
        await new Builder({
          queueUrl: process.env.ARCHIVE_QUEUE_URL ?? 'http://queue:8000',
          token,
          name: builderNameFromEnv(process.env),
          labels,
          repoUrl: process.env.ARCHIVE_REPO_URL,
          network: process.env.ARCHIVE_NETWORK,
        }).start();
      } else throw new UserError(`daemon: unknown role "${role}" (queue or builder)`);
      await new Promise(() => undefined); // run until stopped
    });
  program
    .command('health <role>', { hidden: true })
    .description('healthcheck of a daemon (exit 0 when healthy)')
    .action(async (role: string) => {
      if (role === 'queue') {
        const res = await fetch('http://127.0.0.1:8000/health');
        if (!res.ok) throw new Error(`queue answered ${res.status}`);
      } else if (role === 'builder') {
        const age = Date.now() - (await stat(ALIVE_FILE)).mtimeMs;
        if (age > 60_000) throw new Error(`builder last reached the queue ${Math.round(age / 1000)} s ago`);
      } else throw new UserError(`health: unknown role "${role}"`);
    });
}
