import { chmod, chown, link, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { AnchoredDir, MAX_READ_BYTES } from './anchored-dir.js';
import { Layout } from './layout.js';

// Root's side of these attacks needs root. Elsewhere they are left out, but never in CI (which
// runs as root): there a run without root fails them rather than skipping them.
const asRoot = process.getuid!() === 0 || !!process.env.CI;

describe('folders held open under an archive root', () => {
  let work: string;
  let layout: Layout;
  let outside: string;
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'aib-anchored-'));
    layout = new Layout(join(work, 'root'));
    outside = join(work, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'file'), 'not the archive\n');
  });
  afterEach(() => rm(work, { recursive: true, force: true }));

  it('makes the root and missing folders below it, the queue user\'s, and new files theirs with the mode asked for', async () => {
    const root = AnchoredDir.openRoot(layout, { init: true });
    const state = root.dir('state/requests', { create: true });
    await state.writeFile('secret', 'x', 0o600);
    state.close();
    root.close();
    const owner = [root.owner.uid, root.owner.gid];
    for (const path of ['', 'state', 'state/requests', 'state/requests/secret']) {
      const s = await lstat(join(layout.root, path));
      expect([s.uid, s.gid], path).toEqual(owner);
    }
    expect((await lstat(join(layout.state, 'requests', 'secret'))).mode & 0o777).toBe(0o600);
  });

  it('makes the root, its folders and files with the modes asked for whatever the umask (sudo archive up under umask 077), and leaves those there as they are', async () => {
    // nginx serves public/ as another user: under umask 077 it found the folders 0700 and the key 0600.
    const umask = process.umask(0o077);
    try {
      const root = AnchoredDir.openRoot(layout, { init: true });
      await mkdir(join(layout.root, 'incoming'));
      await chmod(join(layout.root, 'incoming'), 0o750);
      await chown(join(layout.root, 'incoming'), root.owner.uid, root.owner.gid);
      for (const name of ['public', 'state', 'incoming', 'logs']) {
        const dir = root.dir(name, { create: true });
        if (name === 'public') await dir.writeFile('archive-key.asc', 'PUBLIC');
        if (name === 'state') await dir.writeFile('archive-key.sec', 'SECRET', 0o600);
        if (name === 'logs') closeSync(dir.openAppend('image-builds.log'));
        dir.close();
      }
      root.close();
    } finally {
      process.umask(umask);
    }
    const modes: Record<string, number> = {};
    for (const path of ['', 'public', 'public/archive-key.asc', 'state', 'state/archive-key.sec', 'incoming', 'logs', 'logs/image-builds.log']) {
      modes[path] = (await lstat(join(layout.root, path))).mode & 0o777;
    }
    expect(modes).toEqual({
      '': 0o755,
      public: 0o755,
      'public/archive-key.asc': 0o644,
      state: 0o755,
      'state/archive-key.sec': 0o600,
      // Made by someone else before: theirs to choose.
      incoming: 0o750,
      logs: 0o755,
      'logs/image-builds.log': 0o644,
    });
  });

  it('refuses a folder that is a link, naming it, and writes nothing where it points', async () => {
    const root = AnchoredDir.openRoot(layout, { init: true });
    await symlink(outside, join(layout.root, 'state'));
    expect(() => root.dir('state/requests', { create: true })).toThrow(new UserError(`${layout.state}: a symbolic link; expected a folder of the archive (remove it; the archive never makes one)`));
    root.close();
    expect(await readdir(outside)).toEqual(['file']);
  });

  it('refuses a root that is a link when root runs it, and follows it for anyone else (it is theirs)', async () => {
    await symlink(outside, layout.root);
    if (asRoot) expect(() => AnchoredDir.openRoot(layout)).toThrow(`${layout.root}: a symbolic link; expected a folder of the archive (give the folder it points to as --root)`);
    else AnchoredDir.openRoot(layout).close();
  });

  it('reads and checks no file through a link, and replaces one by a new file', async () => {
    const root = AnchoredDir.openRoot(layout, { init: true });
    await symlink(join(outside, 'file'), join(layout.root, 'archive.yaml'));
    const message = `${layout.config}: a symbolic link; expected a regular file of the archive (remove it; the archive never makes one)`;
    expect(() => root.readFile('archive.yaml')).toThrow(message);
    expect(() => root.hasFile('archive.yaml')).toThrow(message);
    expect(root.readFile('missing')).toBeUndefined();
    expect(root.hasFile('missing')).toBe(false);
    await root.writeFile('archive.yaml', 'name: archive\n');
    expect(root.readFile('archive.yaml')!.toString()).toBe('name: archive\n');
    root.close();
    expect(await readFile(join(outside, 'file'), 'utf8')).toBe('not the archive\n');
  });

  it('reads no file past its limit (an answer the queue\'s user made as large as the disk), naming it', async () => {
    const root = AnchoredDir.openRoot(layout, { init: true });
    try {
      await root.writeFile('answer.json', '');
      await truncate(join(layout.root, 'answer.json'), MAX_READ_BYTES + 1);
      expect(() => root.readFile('answer.json')).toThrow(new UserError(`${join(layout.root, 'answer.json')}: ${MAX_READ_BYTES + 1} bytes; expected at most ${MAX_READ_BYTES} (remove it; the archive never makes one that large)`));
      await root.writeFile('small.json', '{"ok": true}');
      expect(root.readFile('small.json', 12)!.toString()).toBe('{"ok": true}');
      expect(() => root.readFile('small.json', 11)).toThrow('small.json: 12 bytes; expected at most 11');
    } finally {
      root.close();
    }
  });

  it('keeps working in the folder it opened after that folder is moved and a link put in its place', async () => {
    const root = AnchoredDir.openRoot(layout, { init: true });
    const staging = root.dir('state/x.files', { create: true });
    await rename(join(layout.state, 'x.files'), join(layout.state, 'moved'));
    await symlink(outside, join(layout.state, 'x.files'));
    await staging.writeFile('a.deb', 'package\n');
    staging.close();
    root.close();
    expect(await readdir(outside)).toEqual(['file']);
    expect(await readFile(join(layout.state, 'moved', 'a.deb'), 'utf8')).toBe('package\n');
  });

  it.runIf(asRoot)('reads and appends to no hard link of another user\'s file, when root runs it', async () => {
    const root = AnchoredDir.openRoot(layout, { init: true });
    await chown(join(outside, 'file'), 4242, 4242);
    await link(join(outside, 'file'), join(layout.root, 'api-token'));
    const message = `${join(layout.root, 'api-token')}: a hard link to a file of uid 4242; expected a file of the archive, the queue's user's (uid ${root.owner.uid}) (remove it; the archive never makes one)`;
    expect(() => root.readFile('api-token')).toThrow(message);
    expect(() => root.openAppend('api-token')).toThrow(message);
    root.close();
    const s = await lstat(join(outside, 'file'));
    expect([s.uid, s.size]).toEqual([4242, 'not the archive\n'.length]);
  });

  it.runIf(asRoot)('reads and appends to no file of another user\'s with one name, when root runs it (a planted hard link whose original name was replaced)', async () => {
    const root = AnchoredDir.openRoot(layout, { init: true });
    // What is left when the queue's user hard-linked /etc/shadow and passwd then renamed a new one over it.
    await writeFile(join(layout.root, 'api-token'), 'root only\n', { mode: 0o600 });
    await writeFile(join(layout.root, 'image-builds.log'), 'older log\n');
    expect((await lstat(join(layout.root, 'api-token'))).nlink).toBe(1);
    const message = `${join(layout.root, 'api-token')}: a file of uid 0; expected a file of the archive, the queue's user's (uid ${root.owner.uid}) (remove it; the archive never makes one)`;
    expect(() => root.readFile('api-token')).toThrow(message);
    expect(() => root.hasFile('api-token')).toThrow(message);
    expect(() => root.openAppend('api-token')).toThrow(message);
    // The one named exception: a log an older version appended to as root, appended to and left root's.
    expect(() => root.openAppend('api-token', { olderRootFile: true })).not.toThrow();
    const log = root.openAppend('image-builds.log', { olderRootFile: true });
    closeSync(log);
    // A new one is made the queue's user's.
    closeSync(root.openAppend('new.log'));
    root.close();
    const [token, older, made] = await Promise.all(['api-token', 'image-builds.log', 'new.log'].map((n) => lstat(join(layout.root, n))));
    expect([token.uid, token.mode & 0o777, older.uid, made.uid]).toEqual([0, 0o600, 0, root.owner.uid]);
  });

  it('opens the folder itself again for an empty path, as a descriptor of its own', async () => {
    const root = AnchoredDir.openRoot(layout, { init: true });
    const same = root.dir('.');
    root.close();
    await same.writeFile('archive.yaml', 'x');
    same.close();
    expect(await readFile(layout.config, 'utf8')).toBe('x');
  });

  it.runIf(asRoot)('refuses, when root runs it, a folder of another user than the queue\'s, with the command that fixes it', async () => {
    const root = AnchoredDir.openRoot(layout, { init: true });
    await mkdir(layout.state);
    await chown(layout.state, 4242, 4242);
    expect(() => root.dir('state')).toThrow(`${layout.state}: belongs to uid 4242, not to the queue's user (uid ${root.owner.uid}), who owns all of ${layout.root}; give it back with: chown -R ${root.owner.uid}:${root.owner.gid} ${layout.root}`);
    root.close();
  });
});
