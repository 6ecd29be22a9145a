// Root running the CLI on a root the queue's user owns (issue 17): that user plants links where
// root writes (state/, state/requests, a staging folder, its .staged.tmp, archive.yaml) and swaps
// folders for links while root works, each pointing at a folder of root's outside the archive;
// the target stays untouched. The secrets are never readable by others, not even for a moment.
// No Docker: the CLI runs as root (as in CI) and the queue need not run.
import { chmod, link, lstat, lchown, mkdir, mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SERVICE_UID } from '../src/storage/ownership.js';
import { CLI } from './support/archive.js';

// Root's side of these attacks needs root. Elsewhere they are left out, but never in CI (which
// runs as root): there a run without root fails them rather than skipping them.
const asRoot = process.getuid!() === 0 || !!process.env.CI;
const service = { uid: SERVICE_UID, gid: SERVICE_UID };

/** Everything under a folder: names, owners, modes and contents (links as links). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const s = await lstat(join(dir, name));
    const body = s.isFile() ? await readFile(join(dir, name), 'utf8') : s.isDirectory() ? 'dir' : 'other';
    out[name] = `${s.uid}:${s.gid} ${(s.mode & 0o7777).toString(8)} ${body}`;
  }
  return out;
}

/** A node script run as the queue's user, in a loop until killed. */
function asServiceUser(script: string, env: Record<string, string>): ResultPromise {
  return execa('node', ['-e', script], { ...service, env, reject: false });
}

const stop = async (child: ResultPromise) => {
  child.kill();
  await child;
};

describe.runIf(asRoot)('root running the CLI on a root the queue\'s user owns', () => {
  let work: string;
  let template: string;
  let root: string;
  let target: string;
  let before: Record<string, string>;
  let n = 0;
  // No engine: `up` here must stop before Docker (the old code went on and started the queue).
  const cli = (...args: string[]) => execa('node', [CLI, '--root', root, ...args], { reject: false, all: true, env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
  /** Made by the queue's user, as the queue would. */
  const plantAsService = async (path: string, link?: string) => {
    if (link) await symlink(link, path);
    else await mkdir(path);
    await lchown(path, SERVICE_UID, SERVICE_UID);
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'aib-svc-'));
    await chmod(work, 0o755); // the queue's user reaches its root inside
    template = join(work, 'template');
    const init = await execa('node', [CLI, 'init', template], { reject: false, all: true });
    expect(init.exitCode, init.all).toBe(0);
    expect((await lstat(template)).uid).toBe(SERVICE_UID);
    await plantAsService(join(template, 'state', 'requests')).catch(() => undefined);
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  beforeEach(async () => {
    n += 1;
    root = join(work, `root-${n}`);
    await execa('cp', ['-a', template, root]);
    // A folder of root's outside the archive, holding a file, that the attacks aim at.
    target = join(work, `target-${n}`);
    await mkdir(target, { mode: 0o755 });
    await writeFile(join(target, 'canary'), 'root\'s own file\n', { mode: 0o644 });
    before = await snapshot(target);
  });

  it('refuses to write a request into state/requests replaced by a link, and names it', async () => {
    await rm(join(root, 'state', 'requests'), { recursive: true });
    await plantAsService(join(root, 'state', 'requests'), target);
    const r = await cli('retry', 'hello', '--timeout', '1');
    expect(await snapshot(target)).toEqual(before);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain(`${join(root, 'state', 'requests')}: a symbolic link`);
  });

  it('reads no file root names by a path through the queue\'s user\'s folders or links, and names where it passes', async () => {
    const secret = join(target, 'secret');
    await writeFile(secret, 'root only\n', { mode: 0o600 });
    // Planted in incoming/ as a package a packager dropped there, leading to root's file.
    const planted = join(root, 'incoming', 'tool_1.0_amd64.deb');
    await plantAsService(planted, secret);
    // And reached from a folder of root's: a link to it, and a folder that is a link to incoming/.
    const mine = join(work, `mine-${n}`);
    await mkdir(mine);
    await symlink(planted, join(mine, 'tool_1.0_amd64.deb'));
    await symlink(join(root, 'incoming'), join(mine, 'incoming'));
    // A plain file in the root (its owner can swap it for a link once it is looked at), and one
    // reached by '..' after a link (where the kernel goes: the root, not mine/).
    const plain = join(root, 'tool_1.0_amd64.deb');
    await writeFile(plain, 'a package');
    await lchown(plain, SERVICE_UID, SERVICE_UID);
    const up = `${join(mine, 'incoming')}/../tool_1.0_amd64.deb`;
    for (const path of [planted, join(mine, 'tool_1.0_amd64.deb'), join(mine, 'incoming', 'tool_1.0_amd64.deb'), plain, up]) {
      const r = await cli('include', '--timeout', '1', path);
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toBe(`archive: ${path}: reached through ${root}, which the queue's user (uid ${SERVICE_UID}) owns or may write; run by root, include reads no file by a path that user controls (copy it elsewhere first, or run include as that user)`);
    }
    expect(await readdir(join(root, 'state', 'requests'))).toEqual([]);
    expect(await snapshot(target)).toEqual({ ...before, secret: `0:0 600 root only\n` });
  });

  it('reads no file root names in a folder of root\'s that the queue\'s user may write (its group\'s, or everyone\'s without the sticky bit)', async () => {
    const shared = join(work, `shared-${n}`);
    await mkdir(shared);
    await writeFile(join(shared, 'tool_1.0_amd64.deb'), 'a package');
    const path = join(shared, 'tool_1.0_amd64.deb');
    for (const [gid, mode] of [[service.gid, 0o2775], [0, 0o777]]) {
      await lchown(shared, 0, gid);
      await chmod(shared, mode);
      const r = await cli('include', '--timeout', '1', path);
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toBe(`archive: ${path}: reached through ${shared}, which the queue's user (uid ${SERVICE_UID}) owns or may write; run by root, include reads no file by a path that user controls (copy it elsewhere first, or run include as that user)`);
    }
    // Everyone's with the sticky bit (/tmp): only a name's owner may swap it, and this one is root's.
    await chmod(shared, 0o1777);
    const r = await cli('include', '--timeout', '1', path);
    expect(r.all).not.toContain('reached through');
    expect(await snapshot(target)).toEqual(before);
  });

  it('refuses to write a request or a keyring through state/ replaced by a link', async () => {
    await rm(join(root, 'state'), { recursive: true });
    await plantAsService(join(root, 'state'), target);
    const retry = await cli('retry', 'hello', '--timeout', '1');
    const keys = await cli('keys', 'add', join(template, 'public', 'archive-key.asc'));
    const init = await cli('init');
    expect(await snapshot(target)).toEqual(before);
    for (const r of [retry, keys, init]) {
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toContain(`${join(root, 'state')}: a symbolic link`);
    }
  });

  it('neither reads nor writes the uploaders keyring through a link planted in its place, and then writes it as the queue\'s user\'s', async () => {
    const keyring = join(root, 'state', 'uploaders.gpg');
    await plantAsService(keyring, join(target, 'canary'));
    for (const args of [['add', join(template, 'public', 'archive-key.asc')], ['ls'], ['rm', '0123456789ABCDEF0123456789ABCDEF01234567']]) {
      const r = await cli('keys', ...args);
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toContain(`${keyring}: a symbolic link; expected a regular file`);
    }
    expect(await snapshot(target)).toEqual(before);
    await rm(keyring);
    const add = await cli('keys', 'add', join(template, 'public', 'archive-key.asc'));
    expect(add.exitCode, add.all).toBe(0);
    const made = await lstat(keyring);
    expect([made.isFile(), made.uid, made.gid]).toEqual([true, SERVICE_UID, SERVICE_UID]);
    expect((await cli('keys', 'ls')).stdout).toContain('1 key(s)');
  });

  it('reads no uploaders keyring replaced by a FIFO in keys add, ls or rm, and names it, without hanging', async () => {
    const keyring = join(root, 'state', 'uploaders.gpg');
    await rm(keyring, { force: true });
    await execa('mkfifo', [keyring]);
    await lchown(keyring, SERVICE_UID, SERVICE_UID);
    const commands = [['add', join(template, 'public', 'archive-key.asc')], ['ls'], ['rm', '0123456789ABCDEF0123456789ABCDEF01234567']];
    // A FIFO opened by path blocks until a writer comes: killed after 10 s, the command fails the test.
    const keys = (args: string[]) => execa('node', [CLI, '--root', root, 'keys', ...args], { reject: false, all: true, timeout: 10_000 });
    for (const args of commands) {
      const r = await keys(args);
      expect(r.exitCode, `keys ${args[0]}: ${r.all}`).toBe(2);
      expect(r.all).toContain(`${keyring}: not a regular file; expected a regular file`);
    }
    expect((await lstat(keyring)).isFIFO()).toBe(true);
    // Checked once and then opened by path (the old code), a keyring swapped for a FIFO in between
    // hangs the command: the queue's user swaps a regular file and a FIFO in turn, every 2 ms.
    const swapper = asServiceUser(`
      const fs = require('fs');
      const { execFileSync } = require('child_process');
      const { FILE: file } = process.env;
      const hold = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      try { execFileSync('mkfifo', [file + '.fifo']); } catch {}
      for (;;) {
        try { fs.writeFileSync(file + '.new', ''); fs.renameSync(file + '.new', file); } catch {}
        hold();
        try { fs.linkSync(file + '.fifo', file + '.fifo2'); fs.renameSync(file + '.fifo2', file); } catch {}
        hold();
      }`, { FILE: keyring });
    try {
      await rm(keyring);
      for (let i = 0; i < 6; i++) {
        for (const args of commands) {
          const r = await keys(args);
          // Any answer will do (an empty file is no keyring for gpg), as long as there is one.
          expect(r.timedOut, `keys ${args[0]} hung: ${r.all}`).toBe(false);
        }
      }
    } finally {
      await stop(swapper);
    }
  }, 300_000);

  /**
   * `archive include` of 600 small files (time for the race) while the queue's user runs `attack`
   * on each staging folder NAME.files that appears in state/requests (DIR), aiming at TARGET.
   */
  const includeUnder = async (attack: string, aim: string) => {
    const debs = join(work, `debs-${n}`);
    await mkdir(debs);
    const files = Array.from({ length: 600 }, (_, i) => join(debs, `p${i}_1.0_all.deb`));
    await Promise.all(files.map((f) => writeFile(f, 'not really a package\n')));
    const attacker = asServiceUser(`
      const fs = require('fs');
      const { DIR: dir, TARGET: target } = process.env;
      for (;;) for (const name of fs.readdirSync(dir)) if (name.endsWith('.files')) try { ${attack} } catch {}`,
    { DIR: join(root, 'state', 'requests'), TARGET: aim });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await cli('include', '--timeout', '1', ...files);
    } finally {
      await stop(attacker);
    }
  };

  it('copies include files into its own staging folder even when the queue\'s user swaps it for a link meanwhile', async () => {
    await includeUnder("fs.renameSync(dir + '/' + name, dir + '/' + name + '.moved'); fs.symlinkSync(target, dir + '/' + name);", target);
    expect(await snapshot(target)).toEqual(before);
  });

  // The old attack, kept as a regression test: the note's temporary name is random now (see below).
  it('never writes its staging note through a .staged.tmp link planted in the staging folder', async () => {
    await includeUnder("fs.symlinkSync(target, dir + '/' + name + '/.staged.tmp');", join(target, 'canary'));
    expect(await snapshot(target)).toEqual(before);
  });

  it('never writes, chowns or chmods what a staged file or its temporary staging note is swapped for as it appears', async () => {
    // The names the CLI really opens now (random temporary notes, the staged files), each moved
    // away the moment inotify reports it and replaced by a link: a symbolic link to the canary
    // or a hard link to a root-only file (planted by root here: protected_hardlinks stops the
    // queue's user only where it is on). Anything reopened or changed by name afterwards hits them.
    const secret = join(target, 'secret');
    await writeFile(secret, 'root only\n', { mode: 0o600 });
    before = await snapshot(target);
    const debs = join(work, `debs-${n}`);
    await mkdir(debs);
    const files = Array.from({ length: 600 }, (_, i) => join(debs, `p${i}_1.0_all.deb`));
    await Promise.all(files.map((f) => writeFile(f, 'not really a package\n')));
    const racer = execa('node', ['-e', `
      const fs = require('fs');
      const { DIR: dir, CANARY: canary, SECRET: secret } = process.env;
      const watched = new Set();
      let swaps = 0;
      const swap = (folder, name) => {
        if (!name || name.endsWith('.moved') || name === '.staged') return;
        const path = folder + '/' + name;
        try {
          if (fs.lstatSync(path).isSymbolicLink()) return;
          fs.renameSync(path, path + '.moved');
          if (swaps++ % 2) fs.linkSync(secret, path); else fs.symlinkSync(canary, path);
        } catch {}
      };
      const watch = (name) => {
        if (!name || !name.endsWith('.files') || watched.has(name)) return;
        watched.add(name);
        try { fs.watch(dir + '/' + name, (event, entry) => swap(dir + '/' + name, entry)); } catch {}
      };
      fs.watch(dir, (event, name) => watch(name));
      for (const name of fs.readdirSync(dir)) watch(name);
      process.on('SIGTERM', () => { console.log(swaps); process.exit(0); });`],
    { env: { DIR: join(root, 'state', 'requests'), CANARY: join(target, 'canary'), SECRET: secret }, reject: false });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await cli('include', '--timeout', '1', ...files);
    } finally {
      racer.kill();
    }
    // The race was run: entries were swapped while the CLI worked.
    expect(Number((await racer).stdout)).toBeGreaterThan(0);
    expect(await snapshot(target)).toEqual(before);
  });

  /** `archive include` of one file over 1 MiB (streamed, not written in one go), BIG, its bytes. */
  const includeBig = async () => {
    const debs = join(work, `debs-${n}`);
    await mkdir(debs, { recursive: true });
    const bytes = Buffer.alloc(48 * 1024 * 1024, 'big package\n');
    const big = join(debs, 'big_1.0_all.deb');
    await writeFile(big, bytes);
    const r = await cli('include', '--timeout', '1', big);
    return { r, bytes };
  };

  it('stages a file over 1 MiB as a new file of the queue\'s user, readable by all, with its bytes', async () => {
    const { bytes } = await includeBig();
    const requests = join(root, 'state', 'requests');
    const staging = (await readdir(requests)).find((name) => name.endsWith('.files'))!;
    const staged = join(requests, staging, 'big_1.0_all.deb');
    const s = await lstat(staged);
    expect([s.isFile(), s.uid, s.gid, s.mode & 0o777, s.nlink]).toEqual([true, SERVICE_UID, SERVICE_UID, 0o644, 1]);
    expect((await readFile(staged)).equals(bytes)).toBe(true);
  });

  it('gives away no file of root\'s that a staged file over 1 MiB is swapped for a hard link to while it is copied', async () => {
    // Root-only, as /etc/shadow; the link planted by root here: protected_hardlinks (on in CI)
    // stops the queue's user, but not where it is off.
    const secret = join(target, 'secret');
    await writeFile(secret, 'root only\n', { mode: 0o600 });
    before = await snapshot(target);
    // As soon as the staged name appears, it is moved away and the hard link put in its place.
    const racer = execa('node', ['-e', `
      const fs = require('fs');
      const { DIR: dir, TARGET: target } = process.env;
      for (;;) {
        let names = [];
        try { names = fs.readdirSync(dir); } catch {}
        for (const name of names) if (name.endsWith('.files')) {
          const staged = dir + '/' + name + '/big_1.0_all.deb';
          try { fs.renameSync(staged, staged + '.moved'); fs.linkSync(target, staged); } catch {}
        }
      }`], { env: { DIR: join(root, 'state', 'requests'), TARGET: secret }, reject: false });
    try {
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 3; i++) await includeBig();
    } finally {
      await stop(racer);
    }
    expect(await snapshot(target)).toEqual(before);
  }, 120_000);

  it('never chowns what a folder swapped for a link during init points to', async () => {
    // A folder of the queue's user with many entries, and root's folder with the same names.
    const names = Array.from({ length: 400 }, (_, i) => `f${i}`);
    const dir = join(root, 'state', 'quarantine');
    await plantAsService(dir).catch(() => undefined);
    for (const name of names) {
      await writeFile(join(dir, name), '');
      await lchown(join(dir, name), SERVICE_UID, SERVICE_UID);
      await writeFile(join(target, name), '');
    }
    before = await snapshot(target);
    const swapper = asServiceUser(`
      const fs = require('fs');
      const { DIR: dir, TARGET: target } = process.env;
      // Each state held 2 ms: a walker finds the folder, then the link under the same path.
      const hold = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      for (;;) {
        try { fs.renameSync(dir, dir + '.real'); fs.symlinkSync(target, dir); } catch {}
        hold();
        try { fs.unlinkSync(dir); fs.renameSync(dir + '.real', dir); } catch {}
        hold();
      }`, { DIR: dir, TARGET: target });
    try {
      for (let i = 0; i < 8; i++) await cli('init');
    } finally {
      await stop(swapper);
    }
    expect(await snapshot(target)).toEqual(before);
  });

  it('changes the owner of nothing that exists below the root, and says how to fix a folder that is not the queue\'s user\'s', async () => {
    const state = join(root, 'state');
    await lchown(state, 4242, 4242);
    await writeFile(join(state, 'left-by-hand'), '');
    const r = await cli('init');
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain(`${state}: belongs to uid 4242, not to the queue's user (uid ${SERVICE_UID}), who owns all of ${root}; give it back with: chown -R ${SERVICE_UID}:${SERVICE_UID} ${root}`);
    for (const path of [state, join(state, 'left-by-hand')]) expect((await lstat(path)).uid).not.toBe(SERVICE_UID);
  });

  it('does not create a file through a link planted as archive.yaml on a root the queue\'s user prepared', async () => {
    const fresh = join(work, `fresh-${n}`);
    await plantAsService(fresh);
    await plantAsService(join(fresh, 'archive.yaml'), join(target, 'made-by-root'));
    const r = await execa('node', [CLI, 'init', fresh], { reject: false, all: true });
    expect(await snapshot(target)).toEqual(before);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain(`${join(fresh, 'archive.yaml')}: a symbolic link`);
  });

  it('does not rewrite a file of root\'s that archive.yaml was replaced with a link to when saving the port', async () => {
    await rm(join(root, 'archive.yaml'));
    // Not a valid archive.yaml: the old code stopped there, after writing it, before Docker.
    await writeFile(join(target, 'config.yaml'), 'bogus: 1\n');
    before = await snapshot(target);
    await plantAsService(join(root, 'archive.yaml'), join(target, 'config.yaml'));
    const r = await cli('up', '--port', '1');
    expect(await snapshot(target)).toEqual(before);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain(`${join(root, 'archive.yaml')}: a symbolic link`);
  });

  it('reads archive.yaml replaced by a FIFO, a link or a hard link to a root-only file in no command, and names it, without hanging', async () => {
    const config = join(root, 'archive.yaml');
    const secret = join(target, 'secret.yaml');
    await writeFile(secret, 'name: root-only\n', { mode: 0o600 });
    before = await snapshot(target);
    const plants: Record<string, () => Promise<unknown>> = {
      'not a regular file': async () => {
        await execa('mkfifo', [config]);
        await lchown(config, SERVICE_UID, SERVICE_UID);
      },
      'a symbolic link': () => plantAsService(config, secret),
      // Planted by root here: protected_hardlinks may stop the queue's user, not everywhere.
      'a hard link to a file of uid 0': () => link(secret, config),
    };
    for (const [what, plant] of Object.entries(plants)) {
      await rm(config, { force: true });
      await plant();
      for (const args of [['ls'], ['status'], ['keys', 'ls'], ['up']]) {
        // A FIFO read by path blocks until a writer comes: killed after 10 s, the command fails the test.
        const r = await execa('node', [CLI, '--root', root, ...args], { reject: false, all: true, timeout: 10_000, env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
        expect(r.exitCode, `${what}: ${args.join(' ')}: ${r.all}`).toBe(2);
        expect(r.all).toContain(`${config}: ${what}`);
        expect(r.all).not.toContain('root-only');
      }
    }
    expect(await snapshot(target)).toEqual(before);
  }, 120_000);

  it('reads no record or log replaced by a FIFO, a link or a hard link to a root-only file, nor a log a record names outside public/logs, in any command that shows the state; names it, without hanging', async () => {
    const secret = join(target, 'secret.json');
    await writeFile(secret, '{"id":"root-only","source":"hello","version":"1","state":"published","jobs":[]}\n', { mode: 0o600 });
    before = await snapshot(target);
    const run = (...args: string[]) => execa('node', [CLI, '--root', root, ...args], { reject: false, all: true, timeout: 10_000, env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    // The commands that read each folder.
    const readers: Record<string, string[][]> = { jobs: [['status'], ['logs', 'hello'], ['workers', 'ls']], uploads: [['status'], ['wait', 'hello', '1', '--timeout', '1'], ['qa', 'hello']] };
    const plants: Record<string, (path: string) => Promise<unknown>> = {
      'not a regular file (a FIFO)': async (path) => {
        await execa('mkfifo', [path]);
        await lchown(path, SERVICE_UID, SERVICE_UID);
      },
      'not a regular file (a symbolic link)': (path) => plantAsService(path, secret),
      // Planted by root here: protected_hardlinks may stop the queue's user, not everywhere.
      'a file of uid 0': (path) => link(secret, path),
    };
    for (const folder of ['jobs', 'uploads']) {
      for (const [what, plant] of Object.entries(plants)) {
        const path = join(root, 'state', folder, 'planted.json');
        await mkdir(join(root, 'state', folder), { recursive: true }).then(() => lchown(join(root, 'state', folder), SERVICE_UID, SERVICE_UID));
        await plant(path);
        for (const args of readers[folder]) {
          // A FIFO read by path blocks until a writer comes: killed after 10 s, the command fails the test.
          const r = await run(...args);
          expect(r.timedOut, `${folder} ${what}: ${args.join(' ')}`).toBe(false);
          expect(r.exitCode, `${folder} ${what}: ${args.join(' ')}: ${r.all}`).not.toBe(0);
          expect(r.all, `${folder} ${what}: ${args.join(' ')}`).toContain(`${path}: ${what}`);
          expect(r.all, `${folder} ${what}: ${args.join(' ')}`).not.toContain('root-only');
        }
        await rm(path);
      }
    }
    // One of that user's, as large as the disk allows (sparse here): past 512 MiB, not read into root's memory.
    const huge = join(root, 'state', 'jobs', 'huge.json');
    await writeFile(huge, '');
    await truncate(huge, 600 * 1024 ** 2);
    await lchown(huge, SERVICE_UID, SERVICE_UID);
    const big = await run('status');
    expect(big.exitCode, big.all).not.toBe(0);
    expect(big.all).toContain(`${huge}: ${600 * 1024 ** 2} bytes; expected at most ${512 * 1024 ** 2}`);
    // One within it under three names (hard links): past 1 GiB together, none read.
    await truncate(huge, 400 * 1024 ** 2);
    for (const name of ['huge-2.json', 'huge-3.json']) await link(huge, join(root, 'state', 'jobs', name));
    const many = await run('status');
    expect(many.exitCode, many.all).not.toBe(0);
    expect(many.all).toMatch(new RegExp(`${join(root, 'state', 'jobs')}: its records hold more than ${1024 ** 3} bytes together, the most root's CLI reads of one folder \\(at .*huge(-[23])?\\.json\\)`));
    for (const name of ['huge.json', 'huge-2.json', 'huge-3.json']) await rm(join(root, 'state', 'jobs', name));
    // A record of the queue's user's naming root's file as its log: never opened.
    const record = join(root, 'state', 'jobs', 'hello.json');
    const at = new Date().toISOString();
    await writeFile(record, JSON.stringify({ id: 'hello', kind: 'build', source: 'hello', version: '1', arch: 'amd64', state: 'failed', attempts: 1, createdAt: at, updatedAt: at, uploadId: 'u', log: `../../../${join(`target-${n}`, 'secret.json')}` }));
    await lchown(record, SERVICE_UID, SERVICE_UID);
    const logs = await run('logs', 'hello');
    expect(logs.exitCode, logs.all).toBe(2);
    expect(logs.all).toContain('is not one the archive writes (logs/NAME.log); not opened');
    expect(logs.all).not.toContain('root-only');
    expect((await run('status')).all).not.toContain('root-only');
    expect(await snapshot(target)).toEqual(before);
  }, 300_000);

  it('does not append image build logs to a file of root\'s that logs/image-builds.log was replaced with a link to', async () => {
    const log = join(root, 'logs', 'image-builds.log');
    await plantAsService(log, join(target, 'canary'));
    const r = await cli('up');
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain(`${log}: a symbolic link; expected a regular file`);
    expect(await snapshot(target)).toEqual(before);
  });

  it('does not read a file of root\'s that the API token was replaced with a link to, to hand it to the containers', async () => {
    await rm(join(root, 'state', 'api-token'));
    await plantAsService(join(root, 'state', 'api-token'), join(target, 'canary'));
    const r = await cli('up');
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain(`${join(root, 'state', 'api-token')}: a symbolic link; expected a regular file`);
    expect(await snapshot(target)).toEqual(before);
  });

  it('creates the signing key and the API token readable by their owner only, from the first moment on', async () => {
    const fresh = join(work, `fresh-${n}`);
    await mkdir(fresh);
    // Watches state/ as fast as it can while init runs, and says what it saw.
    const watcher = execa('node', ['-e', `
      const fs = require('fs');
      const { DIR: dir, STOP: stop } = process.env;
      const seen = {};
      while (!fs.existsSync(stop)) {
        let names = [];
        try { names = fs.readdirSync(dir); } catch {}
        for (const name of names) {
          if (!name.startsWith('archive-key.sec') && !name.startsWith('api-token')) continue;
          try { seen[(fs.lstatSync(dir + '/' + name).mode & 0o777).toString(8)] = name; } catch {}
        }
        if (!names.length) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
      console.log(JSON.stringify(seen));`], { env: { DIR: join(fresh, 'state'), STOP: join(work, `stop-${n}`) }, reject: false });
    let r;
    try {
      r = await execa('node', [CLI, 'init', fresh], { reject: false, all: true });
    } finally {
      await writeFile(join(work, `stop-${n}`), '');
    }
    expect(r.exitCode, r.all).toBe(0);
    const seen = JSON.parse((await watcher).stdout) as Record<string, string>;
    expect(seen).toHaveProperty('600');
    expect(Object.keys(seen)).toEqual(['600']);
    for (const name of ['archive-key.sec', 'api-token']) {
      const s = await lstat(join(fresh, 'state', name));
      expect([s.uid, s.gid, s.mode & 0o777]).toEqual([SERVICE_UID, SERVICE_UID, 0o600]);
    }
  });
});
