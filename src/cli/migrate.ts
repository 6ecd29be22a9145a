// `archive migrate [--dry-run]`: what migrates between suites now (suites with migrate_from in
// archive.yaml), and why the rest does not yet; the queue decides and copies (core/migration.ts).
import type { Command } from 'commander';
import { requireArchive, type GlobalOptions } from './archive-root.js';
import { askQueue } from './request.js';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('migrate every source whose gates hold to the suites that migrate from its suite (it also happens by itself), and say why the others wait')
    .option('--dry-run', 'only show what would migrate and why the others wait')
    .option('--json', 'print the answer as JSON')
    .option('--timeout <seconds>', 'how long to wait for the queue', (v) => Number(v), 60)
    .addHelpText('after', '\nExamples:\n  archive migrate --dry-run\n  archive migrate --json | jq \'.migration[] | select(.migrates | not)\'\n')
    .action(async (options: { dryRun?: boolean; json?: boolean; timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      await askQueue(layout, { action: 'migrate', dryRun: !!options.dryRun }, { timeoutS: options.timeout, json: options.json });
    });
}
