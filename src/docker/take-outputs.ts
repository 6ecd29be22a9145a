// The outputs of a build, out of its container: the Docker archive API's tar of the output
// folder, taken within caps, for a build may leave anything there.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import type { OutputCaps } from '../core/container-runner.js';
import { SAFE_FILE_NAME } from '../debian/pool-path.js';
import { diskSpace } from '../storage/files.js';

/** "100 GiB", "1.5 GiB", "20 MiB", "4 KiB", "5 bytes". */
function bytes(n: number): string {
  const [unit, size] = ([['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const).find(([, u]) => n >= u) ?? ['bytes', 1];
  return `${Number((n / size).toFixed(1))} ${unit}`;
}

/**
 * How many odd entries the reason names, and how much of each name: the reason goes to the queue
 * in the build's report, within its 64 KiB, and a build can leave thousands of entries with names
 * of 4 KiB; past it the report was refused, and the reason lost with it.
 */
export const NAMED_ODD_ENTRIES = 20;
export const NAME_CHARS = 200;

function shown(name: string): string {
  const chars = [...name];
  return chars.length > NAME_CHARS ? `${chars.slice(0, NAME_CHARS).join('')}…` : name;
}

const ENTRY_KINDS: Record<string, string> = {
  symlink: 'a symbolic link',
  link: 'a hard link',
  fifo: 'a FIFO',
  'character-device': 'a character device',
  'block-device': 'a block device',
  directory: 'a folder',
};

/**
 * Takes a build's output folder out of its container (a tar from the Docker archive API, in
 * name order): regular files with plain names only, streamed to disk one at a time within the
 * caps, each checked at its tar header before any of its data is read, so that a sparse 100 GiB
 * file is refused, not read. Refused: the reason, every odd entry and the cap crossed named.
 * Thrown (the worker's trouble, not the build's): a file there is no room for, or a write that fails.
 */
export async function takeOutputs(
  stream: Readable,
  outDir: string,
  limits: OutputCaps,
  room: (dir: string) => Promise<{ free: number }> = diskSpace,
): Promise<{ outputs: string[] } | { refused: string }> {
  // The tar is closed however this ends: the engine holds the container's lock until it is, and
  // the container could not be removed (a full disk here left the build's job waiting for ever).
  // So is the reader, and with it the file being written (the engine's answer cut half way
  // through one would leave it open, its space held after its folder is removed).
  const ex = extract();
  const taking = { over: false };
  try {
    return await take(stream, ex, taking, outDir, limits, room);
  } finally {
    taking.over = true;
    stream.destroy();
    ex.destroy();
  }
}

async function take(
  stream: Readable,
  ex: ReturnType<typeof extract>,
  taking: { over: boolean },
  outDir: string,
  limits: OutputCaps,
  room: (dir: string) => Promise<{ free: number }>,
): Promise<{ outputs: string[] } | { refused: string }> {
  await mkdir(outDir, { recursive: true });
  const outputs: string[] = [];
  const odd: string[] = [];
  let crossed: string | undefined;
  let entries = 0;
  let total = 0;
  await new Promise<void>((resolve, reject) => {
    const stop = (why: string) => {
      crossed = why;
      stream.destroy();
      ex.destroy();
      resolve();
    };
    ex.on('entry', (header, entry, next) => {
      const skip = () => {
        entry.on('end', () => next());
        entry.resume();
      };
      const name = header.name.replace(/^\.\//, '').replace(/\/$/, '');
      if (name === '' || name === '.') return skip(); // the folder itself
      if (++entries > limits.outputFiles) return stop(`it holds more than ${limits.outputFiles} files (builds.output_files)`);
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        odd.push(`${shown(name)} is ${ENTRY_KINDS[header.type ?? ''] ?? `a ${header.type}`}${header.linkname ? ` (to ${shown(header.linkname)})` : ''}`);
        return skip();
      }
      if (!SAFE_FILE_NAME.test(name)) {
        odd.push(`${shown(name)} is not a plain file name`);
        return skip();
      }
      const size = header.size ?? 0;
      if (size > limits.outputFileBytes) return stop(`${shown(name)} is ${bytes(size)}, over the cap of ${bytes(limits.outputFileBytes)} per file (builds.output_file_gib)`);
      if ((total += size) > limits.outputBytes) return stop(`its files pass the cap of ${bytes(limits.outputBytes)} in all at ${shown(name)} (builds.output_gib)`);
      outputs.push(name);
      const path = join(outDir, name);
      // Said before it is written, not as a write that fails half way and fills the disk the
      // engine and the other jobs use: the job goes back, for a worker with room.
      room(outDir)
        .then(({ free }) => {
          if (taking.over) return; // (taking failed meanwhile: nothing more is written)
          if (size > free) throw new Error(`the build's output ${name} holds ${size} bytes; this worker has ${free} bytes free for it (${outDir})`);
          return pipeline(entry, createWriteStream(path)).catch((err: NodeJS.ErrnoException) => {
            throw new Error(`${path}: cannot be written (${err.code ?? err.message}), taking the build's outputs`);
          });
        })
        .then(() => next(), reject);
    });
    ex.on('finish', resolve);
    ex.on('error', (err) => (crossed ? resolve() : reject(err)));
    stream.on('error', (err) => (crossed ? resolve() : reject(err)));
    stream.pipe(ex);
  });
  const named = odd.length > NAMED_ODD_ENTRIES ? [...odd.slice(0, NAMED_ODD_ENTRIES), `and ${odd.length - NAMED_ODD_ENTRIES} more`] : odd;
  const problems = [...(odd.length ? [`${named.join(', ')}: only regular files with plain names are taken`] : []), ...(crossed ? [crossed] : [])];
  return problems.length ? { refused: `the build's output was refused: ${problems.join('; ')}` } : { outputs };
}
