// `archive snapshot NAME [--suite S]`: a frozen, signed copy of a suite, published as
// dists/NAME beside it. Cheap: it names the same pool files.
import type { Command } from 'commander';
import { layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';
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
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      await askQueue(layout, { action: 'snapshot', name, suite: options.suite ?? config.suites[0].name, delete: !!options.delete }, { timeoutS: options.timeout, json: options.json });
    });
}
