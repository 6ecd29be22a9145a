// `archive logs SOURCE [VERSION] [--arch A] [--check C] [--follow]`: a build's log (or a QA
// check's, or a rebuild's), live while it runs.
import { join } from 'node:path';
import type { Command } from 'commander';
import { isLogName, jobFromDisk, type JobRecord } from '../core/jobs.js';
import { CHECK_KINDS } from '../core/kinds/qa.js';
import { compareVersions } from '../debian/version.js';
import { UserError } from '../errors.js';
import { readAll, readJson } from '../storage/json-files.js';
import { layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';
import { inOrder } from '../debian/indices.js';
import { printable, printableLog } from '../core/terminal-text.js';
import { openStateFile } from '../storage/open-regular-file.js';

/** What --check names: a QA check (installability too: the check a migration asks for), or the rebuild. */
const CHECKS = [...CHECK_KINDS, 'rebuild'];

export function register(program: Command): void {
  program
    .command('logs <source> [version]')
    .description('print the build log of a source (the newest version and attempt unless named)')
    .option('--arch <arch>', "the architecture (default: the version's first, by name)")
    .option('--check <check>', `a QA check's or the rebuild's log instead (${CHECKS.join(', ')})`)
    .option('-f, --follow', 'keep printing while the build runs')
    .addHelpText('after', '\nExamples:\n  archive logs hello\n  archive logs hello 2.10-3 --arch amd64 --follow\n  archive logs hello --check piuparts\n')
    .action(async (source: string, version: string | undefined, options: { arch?: string; check?: string; follow?: boolean }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      await loadConfig(layout);
      if (options.check !== undefined && !CHECKS.includes(options.check)) {
        throw new UserError(`--check: "${options.check}" is not a QA check or the rebuild (${CHECKS.join(', ')})`);
      }
      const job = logJob((await readAll<JobRecord>(layout.jobs)).map(jobFromDisk), { kind: options.check ?? 'build', source, version, arch: options.arch });
      if (!job?.log) {
        throw new UserError(`no ${options.check ?? 'build'} log for ${source}${version ? ` ${version}` : ''}${options.arch ? ` on ${options.arch}` : ''}; see archive status`);
      }
      if (!isLogName(job.log)) throw new UserError(`job ${printable(job.id.slice(0, 200))}: its log ${printable(JSON.stringify(job.log.slice(0, 200)))} is not one the archive writes (logs/NAME.log); not opened`);
      const path = join(layout.public, job.log);
      // What the build printed, shown, never obeyed: its colours that show text kept, its other control characters
      // written as \xNN (an ESC sequence in a build's output would set the window's title, write
      // the clipboard, or erase a line and print a false "built" over it). A character or a colour
      // cut between two reads is shown whole with the next.
      const decoder = new TextDecoder('utf-8');
      let held = '';
      const show = (bytes: Uint8Array, last = false) => {
        const text = held + decoder.decode(bytes, { stream: !last });
        const cut = last ? -1 : text.search(/\u001b(\[[0-9;]{0,32})?$/);
        held = cut < 0 ? '' : text.slice(cut);
        process.stdout.write(printableLog(cut < 0 ? text : text.slice(0, cut)));
      };
      // Read a piece at a time (a log may be 3 x log_mib): what there is, then, with --follow,
      // what is appended, until the job is no longer building.
      // Never through a link, never a FIFO, run by root only a file of the queue's user's.
      const { handle } = await openStateFile(path);
      let position = 0;
      const buffer = Buffer.alloc(64 * 1024);
      const drain = async () => {
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
          if (bytesRead === 0) return;
          show(buffer.subarray(0, bytesRead));
          position += bytesRead;
        }
      };
      for (;;) {
        await drain();
        if (!options.follow) break;
        const now = await readJson<JobRecord>(join(layout.jobs, `${job.id}.json`));
        if (now?.state !== 'building' || now.log !== job.log) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      if (options.follow) await drain(); // what was written just before the build ended
      show(new Uint8Array(), true);
      await handle.close();
    });
}

/**
 * The job whose log `archive logs` prints: of the source's jobs of that kind with a log, the
 * version named or the newest; of its jobs, the architecture named or its first; of those, the
 * newest attempt. (The newest version's own architectures: the oldest version may have built
 * for others.)
 */
export function logJob(all: JobRecord[], want: { kind: string; source: string; version?: string; arch?: string }): JobRecord | undefined {
  const jobs = all
    .filter((j) => j.kind === want.kind && j.source === want.source && (!want.version || j.version === want.version) && (!want.arch || j.arch === want.arch) && j.log)
    .sort((a, b) => compareVersions(a.version, b.version) || inOrder(a.arch, b.arch) || inOrder(a.createdAt, b.createdAt) || a.attempts - b.attempts);
  const ofVersion = jobs.filter((j) => j.version === jobs[jobs.length - 1]?.version);
  return ofVersion.filter((j) => j.arch === (want.arch ?? ofVersion[0]?.arch)).pop();
}
