// `archive init [DIR]`: the root's folders, archive.yaml, the signing key, the API token and the root's id.
import { randomBytes } from 'node:crypto';
import { basename, relative } from 'node:path';
import type { Command } from 'commander';
import { defaultConfigText } from '../config/config.js';
import { generateArchiveKey } from '../process/gpg.js';
import { AnchoredDir } from '../storage/anchored-dir.js';
import { Layout } from '../storage/layout.js';
import { layoutFor, portOption, progress, type GlobalOptions } from './archive-context.js';

/** Makes whatever of the root is missing; never overwrites. Returns whether anything was made. */
export async function initRoot(layout: Layout, options: { port?: number } = {}): Promise<boolean> {
  // Run by root, the queue runs as an unprivileged user (storage/ownership.ts), who must own all
  // of it, the secret key included: what is made here is made theirs through descriptors of
  // folders held open, never by path, and nothing that exists changes owner
  // (storage/anchored-dir.ts).
  const root = AnchoredDir.openRoot(layout, { init: true });
  const held = new Map<string, AnchoredDir>();
  try {
    for (const dir of layout.directories) held.set(dir, root.dir(relative(layout.root, dir), { create: true }));
    const state = held.get(layout.state)!;
    const pub = held.get(layout.public)!;
    let made = false;
    if (!root.hasFile(basename(layout.config))) {
      progress(`new archive at ${layout.root}`);
      await root.writeFile(basename(layout.config), defaultConfigText({ port: options.port }));
      made = true;
    }
    if (!state.hasFile(basename(layout.secretKey))) {
      progress('making the archive signing key (gpg, RSA 3072, no passphrase)');
      const key = await generateArchiveKey(`archive-in-a-box signing key (${layout.root}) <archive@localhost>`);
      // Made 0600, never readable by others, not even for a moment before a chmod.
      await state.writeFile(basename(layout.secretKey), key.secretArmored, 0o600);
      await pub.writeFile(basename(layout.publicKey), key.publicArmored);
      made = true;
    } else if (!pub.hasFile(basename(layout.publicKey))) {
      throw new Error(`${layout.publicKey} is missing while ${layout.secretKey} exists; restore it from a backup or remove both to make a new key`);
    }
    if (!state.hasFile(basename(layout.apiToken))) {
      await state.writeFile(basename(layout.apiToken), `${randomBytes(32).toString('hex')}\n`, 0o600);
      made = true;
    }
    // Made for a root of before too (up runs this): not news of a new archive, so not counted.
    if (!state.hasFile(basename(layout.rootId))) await state.writeFile(basename(layout.rootId), `${randomBytes(16).toString('hex')}\n`);
    return made;
  } finally {
    for (const dir of held.values()) dir.close();
    root.close();
  }
}

export function register(program: Command): void {
  program
    .command('init [dir]')
    .description('make a new archive root (done by `up` on first use)')
    .addHelpText('after', '\nExamples:\n  archive init /srv/archive --port 8081\n  archive --root /srv/archive up\n')
    .option('--port <n>', 'port the repository is served on', portOption)
    .action(async (dir: string | undefined, options: { port?: number }, cmd: Command) => {
      const layout = dir ? new Layout(dir) : layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const made = await initRoot(layout, options);
      console.log(made ? `initialised ${layout.root}` : `${layout.root} is already initialised`);
    });
}
