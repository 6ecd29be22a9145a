// `archive wait SOURCE VERSION`: block until that upload is published (0) or not (1).
import type { Command } from 'commander';
import type { UploadRecord } from '../core/uploads.js';
import { Unsuccessful, UserError } from '../errors.js';
import { readAll } from '../storage/json-files.js';
import { layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';
import { inOrder } from '../debian/indices.js';
import { FolderWatch } from '../storage/folder-watch.js';
import { printable, printableJson } from '../core/terminal-text.js';

/**
 * The upload of this source and version: the newest, leaving out, where uploads must be signed, a
 * rejection of a .changes no uploader's key signed when there is another. Anyone who may write to
 * incoming can send a .changes naming any source and version: it does not stand for a signed
 * upload's outcome (accepted, or rejected for its own reasons, as a second upload of a version
 * already there is). Left: one sent before the signed upload is recorded answers the wait.
 */
function theUpload(uploads: UploadRecord[], source: string, version: string, allowUnsigned: boolean): UploadRecord | undefined {
  const ofIt = uploads.filter((u) => u.source === source && u.version === version).sort((a, b) => inOrder(a.receivedAt, b.receivedAt));
  return ofIt.filter((u) => allowUnsigned || u.state !== 'rejected' || u.signedBy).pop() ?? ofIt.pop();
}

export function register(program: Command): void {
  program
    .command('wait <source> <version>')
    .description('wait until an upload is published (exit 0), or rejected or failed (exit 1, with the reason)')
    .option('--timeout <seconds>', 'give up after this long (exit 124)', (v) => Number(v), 3600)
    .option('--json', 'print the upload record as JSON when done')
    .addHelpText('after', '\nExamples:\n  dput archive hello_1.0-1_source.changes && archive wait hello 1.0-1 --timeout 900\n')
    .action(async (source: string, version: string, options: { timeout: number; json?: boolean }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      if (!Number.isFinite(options.timeout) || options.timeout <= 0) throw new UserError('--timeout: expected a number of seconds');
      const deadline = Date.now() + options.timeout * 1000;
      let last = '';
      // Looked at again as soon as an upload's record changes (the queue renames each new one
      // in), every second besides; not more than ten times a second while records change in a burst.
      const watch = new FolderWatch(layout.uploads);
      try {
        for (;;) {
          const began = Date.now();
          watch.looking();
          const upload = theUpload(await readAll<UploadRecord>(layout.uploads), source, version, config.uploads.allowUnsigned);
          const state = upload?.state ?? 'not received yet';
          if (state !== last) {
            process.stderr.write(`${printable(`==> ${source} ${version}: ${state}`).replaceAll('\n', '\\x0a')}\n`);
            last = state;
          }
          if (upload && ['published', 'rejected', 'failed', 'cancelled'].includes(upload.state)) {
            if (options.json) console.log(printableJson(upload));
            if (upload.state === 'published') return;
            // One line each: a reason quotes file names an uploader chose, which may hold line breaks.
            throw new Unsuccessful(`${source} ${version} was ${upload.state}:\n${upload.reasons.map((r) => `  ${r.replaceAll('\n', '\\x0a')}`).join('\n')}`, 1);
          }
          if (Date.now() > deadline) throw new Unsuccessful(`timed out after ${options.timeout} s waiting for ${source} ${version} (last state: ${state})`, 124);
          await watch.next(1000);
          await new Promise((r) => setTimeout(r, Math.max(0, began + 100 - Date.now())));
        }
      } finally {
        watch.close();
      }
    });
}
