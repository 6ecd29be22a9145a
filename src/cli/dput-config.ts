// `archive dput-config [--install]`: the dput.cf stanza for this archive.
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { dputStanza } from '../core/client-config.js';
import { UserError } from '../errors.js';
import { layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';

export function register(program: Command): void {
  program
    .command('dput-config')
    .description('print the dput.cf stanza (method = local) for this archive')
    .option('--install', 'add it to ~/.dput.cf, leaving other stanzas alone; refuses to replace a different stanza of the same name')
    .addHelpText('after', '\nExamples:\n  archive dput-config --install && dput archive hello_1.0-1_source.changes\n')
    .action(async (options: { install?: boolean }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      const stanza = dputStanza(config, layout.incoming);
      if (!options.install) {
        process.stdout.write(stanza);
        return;
      }
      const file = join(homedir(), '.dput.cf');
      const current = await readFile(file, 'utf8').catch(() => '');
      const header = `[${config.name}]`;
      const start = current.split('\n').findIndex((l) => l.trim() === header);
      if (start >= 0) {
        const lines = current.split('\n');
        let end = lines.findIndex((l, i) => i > start && /^\[.*\]\s*$/.test(l.trim()));
        if (end < 0) end = lines.length;
        const existing = lines.slice(start, end).join('\n').trim();
        if (existing === stanza.trim()) {
          console.log(`${file} already has the stanza ${header}`);
          return;
        }
        throw new UserError(`${file} already has a different stanza ${header}; remove it or set another name in ${layout.config}`);
      }
      await writeFile(file, `${current}${current && !current.endsWith('\n\n') ? (current.endsWith('\n') ? '\n' : '\n\n') : ''}${stanza}`);
      console.log(`added ${header} to ${file}; upload with: dput ${config.name} PACKAGE_VERSION_source.changes`);
    });
}
