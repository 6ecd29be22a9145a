// `archive retry SOURCE [VERSION]`: queue a failed (or dep-waiting) build again.
import type { Command } from 'commander';
import { requireArchive, type GlobalOptions } from './archive-root.js';
import { askQueue } from './request.js';

export function register(program: Command): void {
  program
    .command('retry <source> [version]')
    .description('build a failed upload again (the latest version when none is named)')
    .option('--timeout <seconds>', 'how long to wait for the queue to take the request', (v) => Number(v), 60)
    .addHelpText('after', '\nExamples:\n  archive retry hello 2.10-3 && archive wait hello 2.10-3\n')
    .action(async (source: string, version: string | undefined, options: { timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      await askQueue(layout, { action: 'retry', source, version }, { timeoutS: options.timeout });
    });
}
