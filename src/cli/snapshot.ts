// `archive snapshot NAME [--suite S]`: a frozen, signed copy of a suite, published as
// dists/NAME beside it. Cheap: it names the same pool files.
import type { Command } from 'commander';
import { requireArchive, type GlobalOptions } from './archive-root.js';
import { askQueue } from './request.js';

export function register(program: Command): void {
  program
    .command('snapshot <name>')
    .description('freeze a suite as it is now, published as dists/NAME (apt: Suites: NAME)')
    .option('--suite <suite>', 'the suite to freeze (default: the first in archive.yaml)')
    .option('--delete', 'delete the snapshot NAME instead')
    .option('--json', 'print the answer as JSON')
    .option('--timeout <seconds>', 'how long to wait for the queue', (v) => Number(v), 60)
    .addHelpText('after', '\nExamples:\n  archive snapshot release-2026-11\n  archive snapshot release-2026-11 --delete\n')
    .action(async (name: string, options: { suite?: string; delete?: boolean; json?: boolean; timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      await askQueue(layout, { action: 'snapshot', name, suite: options.suite, delete: !!options.delete }, { timeoutS: options.timeout, json: options.json });
    });
}
