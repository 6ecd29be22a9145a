// The .debs `archive include` brings, read: each file read once, hashed, and its control member
// found from the same bytes (large files are streamed and their control read apart); each
// checked as a package this suite can hold (core/artifact-checks.ts) and given its pool place.
import { join } from 'node:path';
import type { SuiteConfig } from '../../config/config.js';
import { checkIncludedDeb } from '../../core/artifact-checks.js';
import { binaryMember, suiteBinary, type SuiteBinary } from '../../core/suite-contents.js';
import { binaryFileName, componentFor, poolDirOf } from '../../debian/pool-path.js';
import { readDebControls } from '../../process/debian-tools.js';
import { bufferFacts, fileFacts, inBatches, readIfSmallSync, type PoolDigest } from '../../storage/files.js';
import { NotRegularFile } from '../../storage/open-regular-file.js';

/**
 * Bytes of whole files held at once for the files read together (a thousand at a time): past
 * them, a file is hashed as a stream and its control read from disk again. A thousand real
 * packages can weigh gigabytes.
 */
export const HELD_BYTES = 64 * 1024 * 1024;

/** For each name (a staged file in dir), the binary it would be in the suite, or why not. */
export async function readIncludedDebs(
  dir: string,
  names: string[],
  suite: SuiteConfig,
  component: string | undefined,
  heldBytes = HELD_BYTES,
): Promise<({ binary: SuiteBinary; control: [string, string][]; digest: PoolDigest } | { refused: string })[]> {
  const whole: (Buffer | undefined)[] = [];
  const digests: (PoolDigest | Error)[] = [];
  let held = 0;
  await inBatches(names.map((name, j) => ({ name, j })), 32, async ({ name, j }) => {
    const path = join(dir, name);
    try {
      whole[j] = readIfSmallSync(path, Math.min(8 * 1024 * 1024, heldBytes - held));
      held += whole[j]?.length ?? 0;
      digests[j] = whole[j] ? bufferFacts(whole[j]!, { sha1: false }) : await fileFacts(path, { sha1: false });
    } catch (err) {
      // (Refused under its name: the staging folder's path is no concern of the request's.)
      digests[j] = err instanceof NotRegularFile ? new Error(`not a regular file (${err.kind})`) : (err as Error);
    }
  });
  // Only the files read and hashed: one that could not be (a FIFO planted there) is not opened again.
  const readable = names.flatMap((_, j) => (digests[j] instanceof Error ? [] : [j]));
  const read = await readDebControls(readable.map((j) => join(dir, names[j])), readable.map((j) => whole[j]));
  const controls = new Map(readable.map((j, k) => [j, read[k]]));
  return names.map((name, j) => {
    const digest = digests[j];
    if (digest instanceof Error) return { refused: digest.message };
    const control = controls.get(j)!;
    if (control instanceof Error) return { refused: control.message };
    const refusal = checkIncludedDeb(control, suite);
    if (refusal) return { refused: refusal };
    const comp = component ?? componentFor(control.first('Section'), suite.components);
    const probe = suiteBinary({ control: control.entries(), path: '', ...digest }, comp, 'imported');
    const ext = name.endsWith('.udeb') ? 'udeb' : 'deb';
    return {
      binary: binaryMember({ ...probe, path: `${poolDirOf(comp, probe.source)}/${binaryFileName(control.first('Package'), control.first('Version'), control.first('Architecture'), ext)}` }),
      control: control.entries(),
      digest,
    };
  });
}
