// `archive source-line`: the apt source for this archive.
import type { Command } from 'commander';
import { aptSource, fileUri, type SourceFormat } from '../core/client-config.js';
import { UserError } from '../errors.js';
import { clientUrl, layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';

export function register(program: Command): void {
  program
    .command('source-line')
    .description('print the apt source (deb822 .sources stanza by default)')
    .addHelpText('after', '\nExamples:\n  archive source-line | sudo tee /etc/apt/sources.list.d/archive.sources\n  archive source-line --file --format one-line\n')
    .option('--format <format>', 'deb822 or one-line', 'deb822')
    .option('--http', 'over HTTP (HTTPS with tls_cert) from the repo container (default)')
    .option('--file', 'from the public/ folder on this machine')
    .action(async (options: { format: string; http?: boolean; file?: boolean }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      if (options.format !== 'deb822' && options.format !== 'one-line') throw new UserError(`--format: "${options.format}" is not deb822 or one-line`);
      const uri = options.file ? fileUri(layout.public) : await clientUrl(layout, config);
      process.stdout.write(aptSource(config, uri, options.format as SourceFormat));
    });
}
