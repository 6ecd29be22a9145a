// `archive include FILE.deb|FOLDER... [--suite S]`: prebuilt binary packages from elsewhere, as
// reprepro includedeb and aptly repo add take them. Each is checked like a build's artifact
// and marked as imported; a bad one is reported and the others go in.
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { isPackageFileName } from '../debian/pool-path.js';
import { UserError } from '../errors.js';
import { requireArchive, type GlobalOptions } from './archive-root.js';
import { askQueue } from './request.js';

export function register(program: Command): void {
  program
    .command('include <files...>')
    .description('publish prebuilt .deb/.udeb files (or those in a folder) in a suite (marked as imported)')
    .option('--suite <suite>', 'the suite (default: the first in archive.yaml)')
    .option('--component <component>', "the component (default: from each package's Section, else the suite's first)")
    .option('--json', 'print the answer as JSON')
    .option('--timeout <seconds>', 'how long to wait for the queue', (v) => Number(v), 600)
    .addHelpText('after', '\nExamples:\n  archive include ../tool_1.2-1_amd64.deb\n  archive include dist/*.deb --suite testing --component contrib\n  archive include dist/   (every .deb and .udeb in it: more than a command line holds)\n')
    .action(async (files: string[], options: { suite?: string; component?: string; json?: boolean; timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      // Node's old generation grown by half between full collections (the queue's by a fifth,
      // compose/compose.yaml), not to four times what it holds: copying 100,000 files, the CLI
      // peaked at 181-185 MiB for about 20 MiB live, above the queue. And its young generation
      // kept at the 2 MiB it starts with, not grown to 32 (--max-semi-space-size cannot be changed
      // once node runs; this can): 126-131 MiB, against 156-164 with the answer's list gone too.
      // Set here, once the modules are loaded: on node's command line, they cost every command
      // 10-15 ms of its start.
      setFlagsFromString('--heap-growing-percent=50');
      setFlagsFromString('--semi-space-growth-factor=1');
      const found = await packageFiles(files);
      const request = { action: 'include' as const, files: found, suite: options.suite, component: options.component, ...(options.json ? { listed: true } : {}) };
      await askQueue(layout, request, { timeoutS: options.timeout, json: options.json });
    });
}

/**
 * The files named, a folder standing for the .deb and .udeb files in it (as aptly repo add takes
 * one), in name order. A file named otherwise is refused before anything is copied: a copy is
 * readable by all (`archive include out/*` run by root would give away a key beside the .debs).
 */
async function packageFiles(args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const arg of args) {
    if (!(await stat(arg).then((s) => s.isDirectory(), () => false))) {
      if (!isPackageFileName(basename(arg))) throw new UserError(`${arg}: not a .deb or .udeb file name (NAME_VERSION_ARCH.deb, no leading dot or dash); nothing was copied`);
      files.push(arg);
      continue;
    }
    const found = (await readdir(arg)).filter(isPackageFileName).sort();
    if (found.length === 0) throw new UserError(`${arg}: a folder without .deb or .udeb files in it`);
    files.push(...found.map((n) => join(arg, n)));
  }
  return files;
}
