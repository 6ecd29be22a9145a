// `archive rm SOURCE [--suite S]`: take a source package and the binaries built from it out of
// a suite (reprepro removesrc, aptly repo remove). Its pool files stay as long as retention
// and clients still reading older indices need them.
import type { Command } from 'commander';
import { requireArchive, type GlobalOptions } from './archive-root.js';
import { askQueue } from './request.js';

export function register(program: Command): void {
  program
    .command('rm <source>')
    .description('remove a source package and every binary built from it from a suite')
    .option('--suite <suite>', 'the suite (default: the first in archive.yaml)')
    .option('--json', 'print the answer as JSON')
    .option('--timeout <seconds>', 'how long to wait for the queue', (v) => Number(v), 60)
    .addHelpText('after', '\nExamples:\n  archive rm hello\n  archive rm hello --suite testing\n')
    .action(async (source: string, options: { suite?: string; json?: boolean; timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      await askQueue(layout, { action: 'rm', source, suite: options.suite }, { timeoutS: options.timeout, json: options.json });
    });
}
