// Debian's own tools, run as programs: debootstrap, dpkg-deb, xz.
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Paragraph, parseDeb822 } from '../debian/deb822.js';
import { arMembers, controlMember, DebFormatError, tarFile, xzUncompressedSize } from '../debian/deb-file.js';
import { versionWithoutEpoch } from '../debian/version.js';
import { CommandFailed } from '../errors.js';
import { keepSpare, run, runFilter, runFilterChunks } from './run.js';

const gunzipAsync = promisify(gunzip);

/**
 * debootstrap --variant=minbase [--arch=ARCH] SUITE DIR, with the mirror debootstrap defaults to.
 * Another architecture's second stage runs its binaries through binfmt_misc (qemu-user).
 */
export async function debootstrap(suite: string, dir: string, arch: string | undefined, onLine: (line: string) => void): Promise<void> {
  await run('debootstrap', ['--variant=minbase', ...(arch ? [`--arch=${arch}`] : []), suite, dir], { onLine });
}

/**
 * What a .deb's control member may hold, past which the .deb is refused (ControlTooLarge) and no
 * more of it is read: the member, as stored and decompressed (a few KiB is usual; the largest in
 * Debian, some MiB of md5sums), and its control file, whose paragraph is kept for every package
 * read at once (a few KiB; a long Description, tens).
 */
export const MAX_CONTROL_BYTES = 64 * 1024 * 1024;
export const MAX_CONTROL_FILE_BYTES = 1024 * 1024;

/** A .deb whose control member or control file is past the bounds above: its message says which. */
export class ControlTooLarge extends Error {
  constructor(what: string) {
    super(`not a usable .deb: ${what} (a few KiB is usual)`);
  }
}

const MIB = (bytes: number) => `${bytes / (1024 * 1024)} MiB`;

/**
 * The control paragraph of a .deb, its control member unpacked by dpkg-deb (--ctrl-tarfile: any
 * compression dpkg reads, checked as dpkg checks it) and read here as it comes, up to
 * MAX_CONTROL_BYTES: past them, dpkg-deb is stopped and the .deb refused (ControlTooLarge).
 */
export async function debControl(debPath: string): Promise<Paragraph> {
  const tar: Buffer[] = [];
  let size = 0;
  await runFilterChunks('dpkg-deb', ['--ctrl-tarfile', debPath], undefined, (chunk) => {
    size += chunk.length;
    if (size > MAX_CONTROL_BYTES) return false;
    tar.push(chunk);
  });
  if (size > MAX_CONTROL_BYTES) throw new ControlTooLarge(`its control member holds more than ${MIB(MAX_CONTROL_BYTES)}`);
  return controlParagraph(Buffer.concat(tar), debPath);
}

/**
 * xz compression (Node has none built in); -6 is what dak uses for Packages. The input (a buffer,
 * or parts written one after the other) is cut
 * into one block per entry of `blocks` (byte counts that add up to its length), each
 * compressed on its own, side by side with threads: one stream whose blocks can be taken apart
 * and reused (debian/xz-stream.ts). Any xz reader takes it.
 */
export function xz(data: Buffer | Buffer[], o: { level: number; threads: boolean; blocks: number[] }): Promise<Buffer> {
  // --block-size above every block: xz then cuts where the list says and nowhere else. One
  // block (a publication that changed one chunk) is what xz -T1 writes without being told, so
  // the command line is always the same and a spare xz can be waiting for it (process/run.ts).
  // A publication from scratch makes the spare for the ones after it.
  const one = o.blocks.length === 1 && !o.threads;
  const oneBlock = [`-${o.level}`, '--check=crc64', '-T1', '-c'];
  if (one) return runFilter('xz', oneBlock, data, { spare: true });
  keepSpare('xz', oneBlock);
  const list = o.blocks.length > 0 ? [`--block-list=${o.blocks.join(',')}`, `--block-size=${Math.max(...o.blocks) + 1}`] : [];
  // CRC64 said outright: the blocks are put into streams whose flags say CRC64.
  return runFilter('xz', [`-${o.level}`, '--check=crc64', o.threads ? '-T0' : '-T1', ...list, '-c'], data);
}

/**
 * The control member of a .deb, read from the file without reading the data member, after
 * checking that the ar structure holds together: a data.tar member that ends where the file
 * does (a truncated copy fails here, which dpkg-deb, reading the control member alone, would not notice).
 */
async function readControlMember(path: string, whole?: Buffer): Promise<{ data: Buffer; compression: string }> {
  const handle = whole ? undefined : await open(path, 'r');
  try {
    const size = whole ? whole.length : (await handle!.stat()).size;
    // The control member comes second, after 132 bytes of headers; it is small (a few KiB).
    const head = whole ?? Buffer.allocUnsafe(16384);
    const bytesRead = whole ? whole.length : (await handle!.read(head, 0, head.length, 0)).bytesRead;
    const member = controlMember(arMembers(head.subarray(0, Math.min(bytesRead, 16384))));
    const readAt = async (at: number, length: number) => {
      if (at + length <= bytesRead) return head.subarray(at, at + length);
      const buf = Buffer.alloc(length);
      const got = (await handle!.read(buf, 0, length, at)).bytesRead;
      return buf.subarray(0, got);
    };
    if (member.offset + member.size > size) throw new DebFormatError(`truncated: its ${member.name} member needs ${member.offset + member.size} bytes, the file has ${size}`);
    if (member.size > MAX_CONTROL_BYTES) throw new ControlTooLarge(`its ${member.name} member is ${member.size} bytes, more than ${MIB(MAX_CONTROL_BYTES)}`);
    const dataAt = member.offset + member.size + (member.size % 2);
    const [data] = arMembers(Buffer.concat([Buffer.from('!<arch>\n'), await readAt(dataAt, 60)]));
    if (!data?.name.startsWith('data.tar')) throw new DebFormatError(`no data.tar member after ${member.name}`);
    const end = dataAt + 60 + data.size;
    if (end > size) throw new DebFormatError(`truncated: its ${data.name} member needs ${end} bytes, the file has ${size}`);
    return { data: await readAt(member.offset, member.size), compression: member.compression };
  } finally {
    await handle?.close();
  }
}

function controlParagraph(tar: Buffer, path: string): Paragraph {
  const control = tarFile(tar, './control');
  if (!control) throw new Error(`${path}: the control member has no control file`);
  if (control.length > MAX_CONTROL_FILE_BYTES) throw new ControlTooLarge(`its control file is ${control.length} bytes, more than ${MIB(MAX_CONTROL_FILE_BYTES)}`);
  const paragraphs = parseDeb822(control.toString('utf8'), `${path} (control)`);
  if (paragraphs.length !== 1) throw new Error(`${path}: the control file holds ${paragraphs.length} paragraphs, expected 1`);
  return paragraphs[0];
}

/**
 * A gzip control member's tar, decompressed no further than MAX_CONTROL_BYTES, on the thread
 * pool: a thousand members of zeros, 64 MiB each, held the queue's thread (its job API, its
 * health) for over a minute.
 */
async function gunzipControl(data: Buffer): Promise<Buffer> {
  try {
    return await gunzipAsync(data, { maxOutputLength: MAX_CONTROL_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw err;
    throw new ControlTooLarge(`its control.tar.gz member holds more than ${MIB(MAX_CONTROL_BYTES)}`);
  }
}

/** Bytes of xz members held for one `xz -dc` and of what they say they hold: a batch is run once they reach it. */
const BATCH_BYTES = 64 * 1024 * 1024;
/** A batch of xz members that fails is halved until it is this small; then dpkg-deb reads each. */
const FEW = 4;
/**
 * xz runs of halves one call makes at most, per member read (and at least 32): one broken member
 * among 1,000 takes 16, ten about 110, which cost fewer runs than dpkg-deb on their batches
 * would. Past them a failing batch goes to dpkg-deb whole, as every failing batch did before
 * halving: 1,000 broken members cost 250 xz runs beside dpkg-deb's 1,000, not some 500.
 */
const HALF_RUNS_PER_MEMBER = 1 / 4;

/**
 * The control paragraphs of many .debs, in order (an Error for a file that cannot be read);
 * `contents` holds the bytes of those already read whole.
 * The control members are found in-process and the .xz ones decompressed by one xz run per 1,000;
 * anything unusual (zstd, an xz member that is not one stream as its index says, a broken file)
 * goes to dpkg-deb (debControl), whose message names the problem. A .deb past MAX_CONTROL_BYTES
 * or MAX_CONTROL_FILE_BYTES is refused (ControlTooLarge).
 */
export async function readDebControls(paths: string[], contents: (Buffer | undefined)[] = [], batchBytes = BATCH_BYTES): Promise<(Paragraph | Error)[]> {
  const results: (Paragraph | Error | undefined)[] = new Array(paths.length);
  let xzMembers: { i: number; data: Buffer; size: number }[] = [];
  let xzBytes = 0;
  const slow = new Set<number>();
  let halfRuns = Math.max(32, Math.ceil(paths.length * HALF_RUNS_PER_MEMBER));
  const fast = async (i: number) => {
    try {
      const { data, compression } = await readControlMember(paths[i], contents[i]);
      if (compression === 'xz') {
        // As its index says, the member being one stream (xzUncompressedSize): xz checks the
        // index against what it decompresses, and a batch whose output is not as long as its
        // members say is read again, in halves (decompress, below).
        const size = xzUncompressedSize(data);
        if (size > MAX_CONTROL_BYTES) throw new ControlTooLarge(`its control.tar.xz member says it holds ${size} bytes, more than ${MIB(MAX_CONTROL_BYTES)}`);
        xzMembers.push({ i, data, size });
        xzBytes += data.length + size;
      } else if (compression === 'gz') results[i] = controlParagraph(await gunzipControl(data), paths[i]);
      else if (compression === 'none') results[i] = controlParagraph(data, paths[i]);
      else slow.add(i);
    } catch (err) {
      // A file that does not hold together is said so as is, and one past the bounds; anything
      // else (an xz index this reader does not know) goes to dpkg-deb.
      if (err instanceof DebFormatError) {
        results[i] = new Error(`not a well-formed .deb: ${(err as Error).message}`);
      } else if (err instanceof ControlTooLarge) results[i] = err;
      else slow.add(i);
    }
  };
  // The output is cut into members by their sizes as it streams in.
  const decompress = async (batch: typeof xzMembers) => {
    let k = 0;
    let parts: Buffer[] = [];
    let have = 0;
    let total = 0;
    // A member that says it holds nothing is cut as soon as its turn comes, output or not: the
    // last of a batch, then, once the output has ended (below).
    const take = (chunk: Buffer) => {
      total += chunk.length;
      while (k < batch.length) {
        const need = batch[k].size - have;
        if (chunk.length < need) {
          if (chunk.length > 0) parts.push(chunk);
          have += chunk.length;
          return;
        }
        const tar = parts.length ? Buffer.concat([...parts, chunk.subarray(0, need)]) : chunk.subarray(0, need);
        chunk = chunk.subarray(need);
        parts = [];
        have = 0;
        const m = batch[k++];
        try {
          results[m.i] = controlParagraph(tar, paths[m.i]);
        } catch (err) {
          if (err instanceof ControlTooLarge) results[m.i] = err;
          else if (err instanceof DebFormatError) results[m.i] = new Error(`not a well-formed .deb: ${err.message}`);
          else slow.add(m.i);
        }
      }
    };
    /**
     * xz found a member broken (its exit code 1) or odd (2, a warning: a check it does not know,
     * so it verified nothing), or did not run to its end (not started, killed).
     */
    let failed: 'data' | 'run' | undefined;
    await runFilterChunks('xz', ['-dc'], batch.map((m) => m.data), take, { spare: true }).catch((err) => {
      failed = err instanceof CommandFailed && (err.exitCode === 1 || err.exitCode === 2) ? 'data' : 'run';
    });
    take(Buffer.alloc(0));
    if (failed || k < batch.length || total !== batch.reduce((n, m) => n + m.size, 0)) {
      // Sizes and output disagree, or xz failed: nothing of this batch can be trusted. A broken
      // (or odd) member's batch is read again in halves, down to batches of FEW, which dpkg-deb reads
      // member by member: one broken member among 1,000 costs 17 xz runs and up to 4 of
      // dpkg-deb, not 1,000 of dpkg-deb. An xz that did not run leaves every member to dpkg-deb,
      // and so does a batch that fails once the halves' runs are spent (HALF_RUNS_PER_MEMBER).
      for (const m of batch) {
        results[m.i] = undefined;
        slow.delete(m.i);
      }
      if (failed === 'run' || batch.length <= FEW || halfRuns < 2) {
        for (const m of batch) slow.add(m.i);
        return;
      }
      halfRuns -= 2;
      const half = Math.ceil(batch.length / 2);
      await decompress(batch.slice(0, half));
      await decompress(batch.slice(half));
    }
  };
  // One xz for up to 1,000 members (xz's set-up per stream is what costs: 500 take it 20 ms
  // alone), or for fewer once they and what they hold reach BATCH_BYTES: the members are held
  // until their xz runs, its output passes through here. Read one after the other (those the
  // caller holds whole cost no wait), so that one member at most is read past the bound.
  for (let i = 0; i < paths.length; i++) {
    await fast(i);
    if (xzMembers.length >= 1000 || xzBytes >= batchBytes || i === paths.length - 1) {
      const batch = xzMembers;
      [xzMembers, xzBytes] = [[], 0];
      if (batch.length > 0) await decompress(batch);
    }
  }
  for (const i of slow) {
    // dpkg-deb's own words say what is wrong ("... is not a Debian format archive").
    results[i] = await debControl(paths[i]).catch((err: Error) => {
      if (err instanceof ControlTooLarge) return err;
      if (err instanceof DebFormatError) return new Error(`not a well-formed .deb: ${err.message}`);
      const said = err.message.split('\n').find((l) => /^dpkg-deb( \(subprocess\))?: /.test(l));
      return new Error(said ? `not a readable .deb (${said.replaceAll(paths[i], basename(paths[i]))})` : err.message.replaceAll(paths[i], basename(paths[i])));
    });
  }
  return results as (Paragraph | Error)[];
}

/** This machine's Debian architecture (dpkg --print-architecture). */
export async function hostArchitecture(): Promise<string> {
  return (await run('dpkg', ['--print-architecture'])).stdout.trim();
}

/**
 * The source package of an unpacked tree, made as dpkg-buildpackage -S makes it (dpkg-source
 * -b, run from the directory above, where the orig tarball is and the results go). Returns
 * the .dsc's path.
 */
export async function buildSourcePackage(tree: string): Promise<string> {
  const field = async (name: string) => (await run('dpkg-parsechangelog', ['-l', join(tree, 'debian', 'changelog'), '-S', name])).stdout.trim();
  const [source, version] = [await field('Source'), await field('Version')];
  await run('dpkg-source', ['-b', basename(tree)], { cwd: dirname(tree) });
  return join(dirname(tree), `${source}_${versionWithoutEpoch(version)}.dsc`);
}
