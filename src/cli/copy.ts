// `archive copy SOURCE FROM TO`: promote a source and the binaries built from it from one suite
// (or snapshot) to another without rebuilding, as a migration does.
import type { Command } from 'commander';
import { requireArchive, type GlobalOptions } from './archive-root.js';
import { askQueue } from './request.js';

export function register(program: Command): void {
  program
    .command('copy <source> <from> <to>')
    .description('copy a source package and its binaries from one suite or snapshot to another, without rebuilding')
    .option('--json', 'print the answer as JSON')
    .option('--timeout <seconds>', 'how long to wait for the queue', (v) => Number(v), 60)
    // A suite holds one version of a source: going back to a snapshot's takes the newer one out first.
    .addHelpText('after', '\nExamples:\n  archive copy hello unstable testing\n  archive rm hello --suite unstable && archive copy hello before-upgrade unstable   # roll back to a snapshot\'s version\n')
    .action(async (source: string, from: string, to: string, options: { json?: boolean; timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      await askQueue(layout, { action: 'copy', source, from, to }, { timeoutS: options.timeout, json: options.json });
    });
}
