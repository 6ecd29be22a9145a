// `archive init [DIR]`: the root's folders, archive.yaml, the signing key and the API token.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { defaultConfigText } from '../config/config.js';
import { generateArchiveKey } from '../process/gpg.js';
import { exists } from '../storage/files.js';
import { Layout } from '../storage/layout.js';
import { handOver, serviceOwner } from '../storage/ownership.js';
import { writeFileAtomic } from '../storage/records.js';
import { layoutFor, progress, type GlobalOptions } from './archive-context.js';

/** Makes whatever of the root is missing; never overwrites. Returns whether anything was made. */
export async function initRoot(layout: Layout, options: { port?: number } = {}): Promise<boolean> {
  let made = false;
  for (const dir of layout.directories) await mkdir(dir, { recursive: true });
  if (!(await exists(layout.config))) {
    progress(`new archive at ${layout.root}`);
    await writeFile(layout.config, defaultConfigText({ port: options.port }));
    made = true;
  }
  if (!(await exists(layout.secretKey))) {
    progress('making the archive signing key (gpg, RSA 3072, no passphrase)');
    const key = await generateArchiveKey(`archive-in-a-box signing key (${layout.root}) <archive@localhost>`);
    await writeFileAtomic(layout.secretKey, key.secretArmored);
    await chmod(layout.secretKey, 0o600);
    await writeFileAtomic(layout.publicKey, key.publicArmored);
    made = true;
  } else if (!(await exists(layout.publicKey))) {
    throw new Error(`${layout.publicKey} is missing while ${layout.secretKey} exists; restore it from a backup or remove both to make a new key`);
  }
  if (!(await exists(layout.apiToken))) {
    await writeFileAtomic(layout.apiToken, `${randomBytes(32).toString('hex')}\n`);
    await chmod(layout.apiToken, 0o600);
    made = true;
  }
  // Run by root: the queue runs as an unprivileged user (storage/ownership.ts), who must own all
  // of it, the secret key included.
  await handOver(layout.root, await serviceOwner(layout));
  return made;
}

export function register(program: Command): void {
  program
    .command('init [dir]')
    .description('make a new archive root (done by `up` on first use)')
    .addHelpText('after', '\nExamples:\n  archive init /srv/archive --port 8081\n  archive --root /srv/archive up\n')
    .option('--port <n>', 'port the repository is served on', (v) => Number(v))
    .action(async (dir: string | undefined, options: { port?: number }, cmd: Command) => {
      const layout = dir ? new Layout(dir) : layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const made = await initRoot(layout, options);
      console.log(made ? `initialised ${layout.root}` : `${layout.root} is already initialised`);
    });
}
