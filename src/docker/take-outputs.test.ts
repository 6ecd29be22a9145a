import { mkdir, readdir, readFile, readlink, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { NAMED_ODD_ENTRIES, NAME_CHARS, takeOutputs } from './take-outputs.js';

const LIMITS = { outputFileBytes: 1024 ** 3, outputBytes: 2 * 1024 ** 3, outputFiles: 1000 };

/** A tar as Docker's archive API sends a folder: "./" first, then its entries in name order. */
function tarOf(entries: (Partial<Header> & { name: string; data?: string })[], { end = true } = {}): Readable {
  const tar = pack();
  tar.entry({ name: './', type: 'directory' });
  for (const { data, ...header } of entries) {
    if (data !== undefined) tar.entry(header, data);
    // A header whose data never follows: the reader must decide at the header.
    else tar.entry(header);
  }
  if (end) tar.finalize();
  return tar as unknown as Readable;
}

describe('taking the outputs of a build', () => {
  const out = async () => join(scratchDir('aib-take-outputs-'), 'out');

  it('takes regular files with plain names, as they were', async () => {
    const outDir = await out();
    const taken = await takeOutputs(tarOf([{ name: './a_1.0-1_amd64.deb', data: 'deb' }, { name: './a_1.0-1_amd64.changes', data: 'changes' }]), outDir, LIMITS);
    expect(taken).toEqual({ outputs: ['a_1.0-1_amd64.deb', 'a_1.0-1_amd64.changes'] });
    expect((await readdir(outDir)).sort()).toEqual(['a_1.0-1_amd64.changes', 'a_1.0-1_amd64.deb']);
    expect(await readFile(join(outDir, 'a_1.0-1_amd64.deb'), 'utf8')).toBe('deb');
  });

  it('refuses links, devices, FIFOs, folders and names that are not plain, naming each', async () => {
    const taken = await takeOutputs(
      tarOf([
        { name: './a.deb', type: 'symlink', linkname: '/etc/passwd' },
        { name: './b.deb', type: 'link', linkname: './ok.deb' },
        { name: './c.deb', type: 'character-device', devmajor: 1, devminor: 3 },
        { name: './d.deb', type: 'fifo' },
        { name: './e/', type: 'directory' },
        { name: './e/f.deb', data: 'x' },
        { name: './.hidden.deb', data: 'x' },
        { name: './ok.deb', data: 'x' },
      ]),
      await out(),
      LIMITS,
    );
    expect(taken).toEqual({
      refused:
        "the build's output was refused: a.deb is a symbolic link (to /etc/passwd), b.deb is a hard link (to ./ok.deb), c.deb is a character device, " +
        'd.deb is a FIFO, e is a folder, e/f.deb is not a plain file name, .hidden.deb is not a plain file name: only regular files with plain names are taken',
    });
  });

  it('names the first odd entries, each name cut short, and counts the rest: the reason stays within the queue\'s 64 KiB report', async () => {
    const long = (i: number) => `./${String(i).padStart(3, '0')}${'x'.repeat(4000)}`;
    const links = Array.from({ length: 300 }, (_, i) => ({ name: long(i), type: 'symlink' as const, linkname: `/${'y'.repeat(4000)}` }));
    const taken = await takeOutputs(tarOf(links), await out(), LIMITS);
    if (!('refused' in taken)) throw new Error('taken');
    expect(taken.refused.length).toBeLessThan(20_000);
    const shortName = `${long(0).slice(2, 2 + NAME_CHARS)}…`;
    expect(taken.refused).toMatch(new RegExp(`^the build's output was refused: ${shortName} is a symbolic link \\(to /y{${NAME_CHARS - 1}}…\\), `));
    expect(taken.refused).toContain(`${'019'}${'x'.repeat(NAME_CHARS - 3)}… is a symbolic link`);
    expect(taken.refused).not.toContain('020x');
    expect(taken.refused).toMatch(new RegExp(`, and ${300 - NAMED_ODD_ENTRIES} more: only regular files with plain names are taken$`));
  });

  it('refuses a file over the per-file cap at its header, without reading its data', async () => {
    // 100 GiB announced, not one byte sent: only stopping at the header finishes.
    const taken = await takeOutputs(tarOf([{ name: './huge.deb', size: 100 * 1024 ** 3 }], { end: false }), await out(), LIMITS);
    expect(taken).toEqual({ refused: "the build's output was refused: huge.deb is 100 GiB, over the cap of 1 GiB per file (builds.output_file_gib)" });
  });

  it('takes a file of exactly the per-file cap, and refuses one byte more', async () => {
    const limits = { ...LIMITS, outputFileBytes: 4, outputBytes: 10 };
    expect(await takeOutputs(tarOf([{ name: './a.deb', data: 'four' }]), await out(), limits)).toEqual({ outputs: ['a.deb'] });
    expect(await takeOutputs(tarOf([{ name: './a.deb', data: 'five!' }]), await out(), limits)).toEqual({
      refused: "the build's output was refused: a.deb is 5 bytes, over the cap of 4 bytes per file (builds.output_file_gib)",
    });
  });

  it('refuses outputs that pass the cap in all, naming the file that passed it', async () => {
    const limits = { ...LIMITS, outputFileBytes: 3 * 1024 ** 2, outputBytes: 5 * 1024 ** 2 };
    const data = 'x'.repeat(2 * 1024 ** 2);
    const taken = await takeOutputs(tarOf([{ name: './a.deb', data }, { name: './b.deb', data }, { name: './c.deb', data }]), await out(), limits);
    expect(taken).toEqual({ refused: "the build's output was refused: its files pass the cap of 5 MiB in all at c.deb (builds.output_gib)" });
  });

  it('refuses more files than the cap, and takes as many as it allows', async () => {
    const files = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `./f${String(i).padStart(4, '0')}.deb`, data: '' }));
    expect(await takeOutputs(tarOf(files(1000)), await out(), LIMITS)).toMatchObject({ outputs: expect.any(Array) });
    expect(await takeOutputs(tarOf(files(3000)), await out(), LIMITS)).toEqual({ refused: "the build's output was refused: it holds more than 1000 files (builds.output_files)" });
    // A thousand files written: 1.9 s alone, 4.1 s in a CI run beside the engine's tests.
  }, 30_000);

  // The engine's tar is a Node stream (an HTTP response), which a pipe that ends does not destroy.
  const engineTar = (entries: Parameters<typeof tarOf>[0]) => Readable.from(tarOf(entries));

  it('closes the tar when a file cannot be written (a full disk), naming it: the engine keeps the container locked until then', async () => {
    const outDir = await out();
    await mkdir(outDir);
    // Writes to /dev/full fail as on a full disk.
    await symlink('/dev/full', join(outDir, 'a.deb'));
    const tar = engineTar([{ name: './a.deb', data: 'x'.repeat(64 * 1024) }, { name: './b.deb', data: 'y' }]);
    await expect(takeOutputs(tar, outDir, LIMITS)).rejects.toThrow(`${join(outDir, 'a.deb')}: cannot be written (ENOSPC), taking the build's outputs`);
    expect(tar.destroyed).toBe(true);
  });

  it('closes the tar when the output folder cannot be made', async () => {
    const file = join(await out(), '..', 'a-file');
    await writeFile(file, '');
    const tar = engineTar([{ name: './a.deb', data: 'x' }]);
    await expect(takeOutputs(tar, join(file, 'out'), LIMITS)).rejects.toThrow('ENOTDIR');
    expect(tar.destroyed).toBe(true);
  });

  it('takes no file larger than the free space left, and says so: the job goes back, the disk is not filled', async () => {
    const outDir = await out();
    const tar = engineTar([{ name: './a.deb', data: 'x' }, { name: './b.deb', data: 'x'.repeat(64 * 1024) }]);
    const room = async () => ({ free: 10 * 1024 });
    await expect(takeOutputs(tar, outDir, LIMITS, room)).rejects.toThrow(`the build's output b.deb holds 65536 bytes; this worker has 10240 bytes free for it (${outDir})`);
    expect(await readdir(outDir)).toEqual(['a.deb']);
    expect(tar.destroyed).toBe(true);
  });

  it("closes the file being written when the engine's answer breaks off in the middle of it", async () => {
    // (The real path: /proc/self/fd names files by theirs.)
    const outDir = join(await realpath(join(await out(), '..')), 'out');
    // A header and half of its data, then the connection is cut.
    const whole = await new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      const t = tarOf([{ name: './a.deb', data: 'x'.repeat(64 * 1024) }]);
      t.on('data', (d: Buffer) => parts.push(d)).on('end', () => resolve(Buffer.concat(parts)));
    });
    const tar = new PassThrough();
    tar.write(whole.subarray(0, 512 + 32 * 1024));
    const taking = takeOutputs(tar, outDir, LIMITS);
    await until(async () => (await openPaths()).includes(join(outDir, 'a.deb')));
    tar.destroy(new Error('aborted'));
    await expect(taking).rejects.toThrow('aborted');
    // No descriptor of this process is left on it.
    await until(async () => !(await openPaths()).includes(join(outDir, 'a.deb')));
  });
});

/** The paths this process holds open. */
async function openPaths(): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  return (await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')))).filter(Boolean);
}

/** Waits until `ok` says so, for at most 3 s. */
async function until(ok: () => Promise<boolean>): Promise<void> {
  for (const started = Date.now(); !(await ok()); ) {
    if (Date.now() - started > 3000) throw new Error('not within 3 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}
