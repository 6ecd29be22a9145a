// `archive cache ls|prune`: the build-dependency image cache.
import type { Command } from 'commander';
import { evictDepsImages, listDepsImages } from '../docker/deps-cache.js';
import { connectDocker } from '../docker/engine.js';
import { printableJson } from '../core/terminal-text.js';
import { UserError } from '../errors.js';

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

/**
 * --keep's number of images: digits only. Number() gave NaN for "5x", and a negative count or
 * NaN kept nothing: a typo removed the whole cache.
 */
export function keepCount(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UserError(`--keep: "${text}" is not a number of images to keep (a whole number, 0 or more)`);
  return Number(text);
}

export function register(program: Command): void {
  const cache = program.command('cache').description('the build-dependency image cache (shared by the archives on this engine)');
  cache
    .command('ls')
    .description('list cached build-dependency images, most recently used first')
    .addHelpText('after', '\nExamples:\n  archive cache ls\n  archive cache ls --json\n')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const entries = await listDepsImages(await connectDocker(process.env.DOCKER_HOST));
      if (options.json) {
        console.log(printableJson(entries));
        return;
      }
      console.log(`${entries.length} cached build-dependency image(s), ${gib(entries.reduce((s, e) => s + e.size, 0))} of their own`);
      for (const e of entries) console.log(`  ${e.key}  ${gib(e.size).padStart(10)}  last used ${e.lastUsed.slice(0, 19)}`);
    });
  cache
    .command('prune')
    .description('remove cached images: all, or down to --keep N most recently used')
    .addHelpText('after', '\nExamples:\n  archive cache prune --keep 5\n  archive cache prune\n')
    .option('--keep <n>', 'keep this many', keepCount, 0)
    .action(async (options: { keep: number }) => {
      const removed = await evictDepsImages(await connectDocker(process.env.DOCKER_HOST), options.keep, Number.MAX_SAFE_INTEGER);
      console.log(`removed ${removed.length} cached image(s)`);
    });
}
