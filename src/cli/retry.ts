// `archive retry SOURCE [VERSION]`: queue a failed (or dep-waiting) build again. The queue
// alone changes records, so the request goes through state/requests/ and the answer comes back.
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { exists } from '../storage/files.js';
import { writeJson } from '../storage/records.js';
import { layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';

export function register(program: Command): void {
  program
    .command('retry <source> [version]')
    .description('build a failed upload again (the latest version when none is named)')
    .option('--timeout <seconds>', 'how long to wait for the queue to take the request', (v) => Number(v), 60)
    .addHelpText('after', '\nExamples:\n  archive retry hello 2.10-3 && archive wait hello 2.10-3\n')
    .action(async (source: string, version: string | undefined, options: { timeout: number }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      await loadConfig(layout);
      const id = `${Date.now()}-${randomBytes(3).toString('hex')}`;
      await writeJson(join(layout.requests, `${id}.request.json`), { action: 'retry', source, version });
      const answerFile = join(layout.requests, `${id}.answer.json`);
      const deadline = Date.now() + options.timeout * 1000;
      while (!(await exists(answerFile))) {
        if (Date.now() > deadline) {
          throw new UserError(`the queue did not take the request within ${options.timeout} s; is the archive up (archive status)? It stays in ${layout.requests} and is carried out when the queue runs`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      const answer = JSON.parse(await readFile(answerFile, 'utf8')) as { ok: boolean; message: string };
      await rm(answerFile, { force: true });
      if (!answer.ok) throw new UserError(answer.message);
      console.log(answer.message);
    });
}
