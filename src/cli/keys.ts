// `archive keys add|ls|rm`: the uploaders keyring, checked by the queue when
// uploads.allow_unsigned is false (archive.yaml).
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { addKeysToKeyring, listKeys, removeKeyFromKeyring, type KeyInfo } from '../process/gpg.js';
import { AnchoredDir } from '../storage/anchored-dir.js';
import { layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';
import { printableJson, sayPrintable } from '../core/terminal-text.js';

function describeKey(k: KeyInfo): string {
  const flags = [k.revoked ? 'REVOKED' : '', k.expired ? 'EXPIRED' : '', k.expires ? `expires ${k.expires.slice(0, 10)}` : 'no expiry'].filter(Boolean).join(', ');
  return `${k.fingerprint}  ${k.uids[0] ?? '(no user id)'}  (${flags})`;
}

/** The most of a key file `archive keys add` reads (into memory, once). */
export const MAX_KEY_FILE_BYTES = 256 * 1024 * 1024;

/**
 * A key file's bytes, read once, whatever gpg then does with them (lists them, imports them): a
 * file read by path at each step, swapped in between or a FIFO given something else at each
 * open, had a key imported that was never listed. The path the user gave, a link or a pipe
 * (<(gpg --export --armor KEY)) as well, at most MAX_KEY_FILE_BYTES of it.
 */
export async function readKeyFile(file: string): Promise<Buffer> {
  const expected = 'expected a file of OpenPGP public keys (gpg --export --armor KEY > FILE)';
  const refused = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new UserError(`${file}: no such file`);
    if (code === 'EISDIR') return new UserError(`${file}: a folder; ${expected}`);
    return err;
  };
  const handle = await open(file, 'r').catch((err: unknown) => Promise.reject(refused(err)));
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(1024 * 1024);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks);
      total += bytesRead;
      if (total > MAX_KEY_FILE_BYTES) throw new UserError(`${file}: more than the ${MAX_KEY_FILE_BYTES} bytes read of a key file; ${expected}`);
      chunks.push(chunk.subarray(0, bytesRead));
    }
  } catch (err) {
    throw refused(err);
  } finally {
    await handle.close();
  }
}

export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('manage the keyring of people allowed to upload')
    .addHelpText('after', '\nExamples:\n  gpg --export --armor you@example.org > me.asc && archive keys add me.asc\n  archive keys ls --json\n');
  /**
   * The keyring's folder, held open, and its name there: run by root, the keyring is read and
   * replaced only through that folder, never by a path the queue's user (its owner) could turn
   * into a link (storage/anchored-dir.ts). Close `dir` after use.
   */
  const keyringOf = async (cmd: Command) => {
    const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
    const config = await loadConfig(layout);
    const root = AnchoredDir.openRoot(layout);
    try {
      const dir = root.dir(dirname(config.uploads.keyring), { create: true });
      const name = basename(config.uploads.keyring);
      // Its bytes read here, through the folder, and handed to gpg: a link, a FIFO or another
      // user's file there is refused, naming it (run by root), and nothing hangs.
      const current = () => {
        try {
          return dir.readFile(name);
        } catch (err) {
          dir.close();
          throw err;
        }
      };
      current();
      // The new keyring, as a new file of the queue's user's, through the folder held open.
      const save = (bytes: Buffer) => dir.writeFile(name, bytes);
      return { dir, current, save, config, layout };
    } finally {
      root.close();
    }
  };
  keys
    .command('add <files...>')
    .description('add the OpenPGP public keys in FILE (armored or binary)')
    .addHelpText('after', '\nExamples:\n  gpg --export --armor me@example.org > me.asc && archive keys add me.asc\n')
    .action(async (files: string[], _o: object, cmd: Command) => {
      const { dir, current, save, config, layout } = await keyringOf(cmd);
      for (const file of files) {
        for (const k of await addKeysToKeyring(current(), file, await readKeyFile(file), save)) sayPrintable(`added ${describeKey(k)}`);
      }
      dir.close();
      if (config.uploads.allowUnsigned) {
        console.log(`note: ${layout.config} allows unsigned uploads; set uploads.allow_unsigned: false to require signatures`);
      }
    });
  keys
    .command('ls')
    .description('list the keys in the uploaders keyring')
    .addHelpText('after', '\nExamples:\n  archive keys ls\n  archive keys ls --json\n')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, cmd: Command) => {
      const { dir, current, config } = await keyringOf(cmd);
      const bytes = current();
      dir.close();
      const list = bytes ? await listKeys(bytes) : [];
      if (options.json) {
        console.log(printableJson({ keyring: config.uploads.keyring, signaturesRequired: !config.uploads.allowUnsigned, keys: list }));
        return;
      }
      console.log(`uploaders keyring ${config.uploads.keyring}: ${list.length} key(s); signed uploads ${config.uploads.allowUnsigned ? 'optional' : 'required'}`);
      for (const k of list) sayPrintable(`  ${describeKey(k)}`);
    });
  keys
    .command('rm <fingerprint>')
    .description('remove a key from the uploaders keyring')
    .addHelpText('after', '\nExamples:\n  archive keys rm 0123456789ABCDEF0123456789ABCDEF01234567\n')
    .action(async (fingerprint: string, _o: object, cmd: Command) => {
      const { dir, current, save } = await keyringOf(cmd);
      const removed = await removeKeyFromKeyring(current(), fingerprint, save);
      dir.close();
      if (!removed) throw new UserError(`no key ${fingerprint} in the uploaders keyring; see archive keys ls`);
      console.log(`removed ${fingerprint}`);
    });
}
