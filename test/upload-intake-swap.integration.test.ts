// An uploader swapping an entry in incoming/ between the queue's steps: between the scan's lstat
// of an entry and its copy, between the intake's lstat of an original and its reading of it,
// when the intake clears incoming/ of what it copied, and right after the scan has read a
// .changes. The swap is made exactly there by wrapping lstat and open (the race, made
// deterministic): the entry is replaced right after an lstat of it returned "a regular file", or
// right after it was opened.
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/config/config.js';
import type { JobRecord } from '../src/core/jobs.js';
import type { UploadRecord } from '../src/core/uploads.js';
import { UploadIntake } from '../src/daemons/queue/upload-intake.js';
import { Layout } from '../src/storage/layout.js';
import { RecordStore } from '../src/storage/record-store.js';

/** The swap to make after the next lstat of `path`: an async step that replaces the entry. */
const swap: { path?: string; replace?: () => Promise<void> } = {};
/** An entry whose next open fails with this error code (as a file of mode 000 fails it for a user other than root). */
const failOpen: { path?: string; code?: string } = {};
/** The swap to make right after the next open of `path` (what was opened is read; the path leads elsewhere after). */
const swapAfterOpen: { path?: string; replace?: () => Promise<void> } = {};

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const wrapped = async (...args: Parameters<typeof real.lstat>) => {
    const result = await real.lstat(...args);
    if (swap.path && String(args[0]) === swap.path && swap.replace) {
      const replace = swap.replace;
      swap.path = undefined;
      await replace();
    }
    return result;
  };
  const opened = async (...args: Parameters<typeof real.open>) => {
    if (failOpen.path && String(args[0]) === failOpen.path) {
      failOpen.path = undefined;
      throw Object.assign(new Error(`${failOpen.code}: cannot open '${String(args[0])}'`), { code: failOpen.code });
    }
    const handle = await real.open(...args);
    if (swapAfterOpen.path && String(args[0]) === swapAfterOpen.path && swapAfterOpen.replace) {
      const replace = swapAfterOpen.replace;
      swapAfterOpen.path = undefined;
      await replace();
    }
    return handle;
  };
  return { ...real, lstat: wrapped, open: opened, default: { ...real, lstat: wrapped, open: opened } };
});

const FIXTURES = join(import.meta.dirname, '..', 'src', 'debian', 'fixtures');
const FILES = ['aib-hello_1.0-1_source.changes', 'aib-hello_1.0-1.dsc', 'aib-hello_1.0.orig.tar.gz', 'aib-hello_1.0-1.debian.tar.xz', 'aib-hello_1.0-1_source.buildinfo'];
const ORIG = 'aib-hello_1.0.orig.tar.gz';
const roots: string[] = [];

afterAll(async () => {
  for (const dir of roots) await rm(dir, { recursive: true, force: true });
});

async function archiveWithUpload(stableMs = 0, configText = ''): Promise<{ layout: Layout; intake: (arrival: () => void) => Promise<UploadIntake> }> {
  const layout = new Layout(await mkdtemp(join(tmpdir(), 'aib-swap-')));
  roots.push(layout.root);
  for (const dir of [...layout.directories, layout.uploads, layout.jobs]) await mkdir(dir, { recursive: true });
  await writeFile(layout.config, configText);
  const config = parseConfig(configText, layout.config);
  for (const f of FILES) await copyFile(join(FIXTURES, f), join(layout.incoming, f));
  const intake = async (arrival: () => void) =>
    new UploadIntake(
      layout,
      { uploads: await new RecordStore<UploadRecord>(layout.uploads).load(), jobs: await new RecordStore<JobRecord>(layout.jobs).load(), published: () => undefined },
      () => config,
      async () => undefined,
      { stableMs, wrongSizeGraceMs: 0, failPoint: (point) => point === 'arrival' && arrival() },
    );
  return { layout, intake };
}

describe('the upload intake, with entries swapped between its steps', () => {
  it('copies a listed file only at the size the scan saw: one extended after it (sparse, by a gigabyte) is refused unread', async () => {
    const { layout, intake } = await archiveWithUpload();
    const original = join(layout.incoming, ORIG);
    const listed = (await lstat(original)).size;
    const queue = await intake(() => undefined);
    swap.path = original;
    swap.replace = () => truncate(original, 1024 ** 3);
    const { decided } = await queue.scan();
    expect(decided.map((u) => u.state)).toEqual(['rejected']);
    expect(decided[0].reasons).toContain(`${ORIG}: ${1024 ** 3} bytes when it was to be copied, ${listed} when incoming/ was read; not read (kept unopened)`);
    // Moved with the rejection as it is (a sparse file of a few blocks), never copied.
    const kept = await stat(join(layout.rejected, decided[0].id, ORIG));
    expect(kept.size).toBe(1024 ** 3);
    expect(kept.blocks * 512).toBeLessThan(1024 ** 2);
  });

  it('takes an upload before it settles only when each file is as large as the scan saw it: one still being written then is not refused, it waits to settle', async () => {
    // Files settle after a minute here: only a whole upload is taken before (dput's).
    const { layout, intake } = await archiveWithUpload(60_000);
    const original = join(layout.incoming, ORIG);
    const whole = await readFile(original);
    await writeFile(original, whole.subarray(0, 100));
    const queue = await intake(() => undefined);
    // Whole right after the scan's look at it, before its hash is taken.
    swap.path = original;
    swap.replace = () => writeFile(original, whole);
    expect((await queue.scan()).decided).toEqual([]);
    expect(await readdir(layout.incoming)).toHaveLength(FILES.length);
    expect((await queue.scan()).decided).toEqual([]);
  });

  it('removes the copies of an upload whose copying failed midway, before it rejects it: nothing is left in quarantine', async () => {
    const { layout, intake } = await archiveWithUpload();
    const queue = await intake(() => undefined);
    // The .changes and the .dsc are copied first; then the tarball cannot be opened.
    failOpen.path = join(layout.incoming, ORIG);
    failOpen.code = 'EACCES';
    const { decided } = await queue.scan();
    expect(decided.map((u) => u.state)).toEqual(['rejected']);
    expect(decided[0].checks).toEqual(['internal-error']);
    expect(await readdir(layout.quarantine)).toEqual([]);
    expect(await readdir(join(layout.rejected, decided[0].id))).toEqual(expect.arrayContaining([FILES[0]]));
  });

  it('never copies a .changes that was not a regular file when the scan looked, whatever it is by the copy', async () => {
    const { layout, intake } = await archiveWithUpload();
    const changes = join(layout.incoming, FILES[0]);
    await rm(changes);
    await execa('mkfifo', [changes]);
    const queue = await intake(() => undefined);
    swap.path = changes;
    swap.replace = async () => {
      await rm(changes);
      await writeFile(changes, '');
      await truncate(changes, 1024 ** 3);
    };
    const { decided } = await queue.scan();
    expect(decided.map((u) => u.state)).toEqual(['rejected']);
    expect(decided[0].reasons).toContain(`${FILES[0]}: not a regular file when incoming/ was read, a regular file of ${1024 ** 3} bytes when it was to be copied; not read (kept unopened)`);
    const kept = await stat(join(layout.rejected, decided[0].id, FILES[0]));
    expect(kept.blocks * 512).toBeLessThan(1024 ** 2);
  });


  it('checks the signature of the very .changes it read the file list of: an unsigned one swapped for a signed text right after it was read takes none of the files it lists', async () => {
    // Signatures required, and a key of the keyring that signed a .changes listing the same files.
    const { layout, intake } = await archiveWithUpload(0, 'uploads:\n  allow_unsigned: false\n');
    const gnupg = await mkdtemp(join(tmpdir(), 'aib-swap-gpg-'));
    roots.push(gnupg);
    const gpg = (...args: string[]) => execa('gpg', ['--homedir', gnupg, '--batch', '--quiet', '--passphrase', '', ...args]);
    try {
      await gpg('--quick-gen-key', 'Uploader <uploader@example.org>', 'ed25519', 'sign', '1y');
      await writeFile(join(layout.root, 'state', 'uploaders.gpg'), (await gpg('--export')).stdout);
      const changes = join(layout.incoming, FILES[0]);
      const unsigned = await readFile(changes);
      const signed = join(layout.root, 'signed.changes');
      await gpg('--clearsign', '--output', signed, changes);
      const queue = await intake(() => undefined);
      // The scan has the unsigned text open (and reads it): the signed one takes its name.
      swapAfterOpen.path = changes;
      swapAfterOpen.replace = () => rename(signed, changes);
      const { decided } = await queue.scan();
      expect((await readdir(layout.incoming)).sort(), 'the files the unsigned .changes lists were taken').toEqual([...FILES].sort());
      expect(decided.map((u) => [u.state, u.checks])).toEqual([['rejected', ['signature']]]);
      expect(decided[0].reasons[0]).toBe(`${FILES[0]}: not signed, and this archive requires signed uploads; sign with debsign (or dpkg-buildpackage without -us -uc); the files it lists were left in incoming/`);
      // The rejection keeps the .changes that was read, and nothing else; the signed one is in incoming/, to be taken as its own.
      expect((await readdir(join(layout.rejected, decided[0].id))).sort()).toEqual([FILES[0], `${FILES[0]}.reason`]);
      expect(await readFile(join(layout.rejected, decided[0].id, FILES[0]))).toEqual(unsigned);
      expect((await readFile(changes, 'utf8')).startsWith('-----BEGIN PGP SIGNED MESSAGE-----')).toBe(true);
    } finally {
      await execa('gpgconf', ['--homedir', gnupg, '--kill', 'all'], { reject: false });
    }
  });

  it('clearing incoming/, neither hangs on nor reads a FIFO swapped in for a copied file', async () => {
    const { layout, intake } = await archiveWithUpload();
    const original = join(layout.incoming, ORIG);
    const fifo = join(layout.root, 'fifo');
    await execa('mkfifo', [fifo]);
    const queue = await intake(() => {
      // The upload is copied and recorded: the uploader swaps the original for a FIFO
      // right after the intake's lstat of it.
      swap.path = original;
      swap.replace = () => rename(fifo, original);
    });
    const hung = Symbol('hung');
    const outcome = await Promise.race([queue.scan(), new Promise((resolve) => setTimeout(() => resolve(hung), 5000))]);
    if (outcome === hung) {
      // Release the blocked read (a writer that closes at once gives it end-of-file).
      await (await open(original, constants.O_WRONLY | constants.O_NONBLOCK)).close();
    }
    expect(outcome, 'the intake blocked on a FIFO in incoming/').not.toBe(hung);
    expect((outcome as { decided: UploadRecord[] }).decided.map((u) => u.state)).toEqual(['accepted']);
    // Left in incoming/ unread (the stray rule takes it later).
    expect((await lstat(original)).isFIFO()).toBe(true);
  });

  it('clearing incoming/, never reads through a link swapped in for a copied file', async () => {
    const { layout, intake } = await archiveWithUpload();
    const original = join(layout.incoming, ORIG);
    // A file outside incoming/ with the very content of the copy: read through the link, it
    // would hash the same, and the link be taken for the copied file.
    const outside = join(layout.root, 'outside.tar.gz');
    await copyFile(join(FIXTURES, ORIG), outside);
    const queue = await intake(() => {
      swap.path = original;
      swap.replace = async () => {
        await rm(original);
        await symlink(outside, original);
      };
    });
    const { decided } = await queue.scan();
    expect(decided.map((u) => u.state)).toEqual(['accepted']);
    expect((await lstat(original).catch(() => undefined))?.isSymbolicLink(), 'the link was read through: it hashed like the copy and was removed as one').toBe(true);
    expect(await readdir(layout.root)).toContain('outside.tar.gz');
  });
});
