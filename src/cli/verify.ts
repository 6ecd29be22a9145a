// `archive verify SOURCE [VERSION]`: rebuild a source's builds again and compare them with the
// first ones (after a change of the build environment, say); the verdict shows in archive qa.
import type { Command } from 'commander';
import { requireArchive, type GlobalOptions } from './archive-root.js';
import { askQueue } from './request.js';

export function register(program: Command): void {
  program
    .command('verify <source> [version]')
    .description('rebuild the builds of a source (its newest built version when none is named) and compare them with the first ones')
    .option('--timeout <seconds>', 'how long to wait for the queue to take the request', (v) => Number(v), 60)
    .addHelpText('after', '\nExamples:\n  archive verify hello && archive qa hello\n')
    .action(async (source: string, version: string | undefined, options: { timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      await askQueue(layout, { action: 'verify', source, version }, { timeoutS: options.timeout });
    });
}
