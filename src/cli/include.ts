// `archive include FILE.deb... [--suite S]`: prebuilt binary packages from elsewhere, as
// reprepro includedeb and aptly repo add take them. Each is checked like a build's artifact
// and marked as imported; a bad one is reported and the others go in.
import type { Command } from 'commander';
import { requireArchive, type GlobalOptions } from './archive-root.js';
import { askQueue } from './request.js';

export function register(program: Command): void {
  program
    .command('include <files...>')
    .description('publish prebuilt .deb/.udeb files in a suite (marked as imported)')
    .option('--suite <suite>', 'the suite (default: the first in archive.yaml)')
    .option('--component <component>', "the component (default: from each package's Section, else the suite's first)")
    .option('--json', 'print the answer as JSON')
    .option('--timeout <seconds>', 'how long to wait for the queue', (v) => Number(v), 600)
    .addHelpText('after', '\nExamples:\n  archive include ../tool_1.2-1_amd64.deb\n  archive include dist/*.deb --suite testing --component contrib\n')
    .action(async (files: string[], options: { suite?: string; component?: string; json?: boolean; timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      await askQueue(layout, { action: 'include', files, suite: options.suite, component: options.component }, { timeoutS: options.timeout, json: options.json });
    });
}
