import { lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Layout } from './layout.js';
import { handOver, serviceOwner, SERVICE_UID } from './ownership.js';

const root = await mkdtemp(join(tmpdir(), 'aib-ownership-'));
const asRoot = process.getuid!() === 0;
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the owner of an archive root', () => {
  it('is the caller, or for a root caller an unprivileged user, never root', async () => {
    const owner = await serviceOwner(new Layout(root));
    expect(owner).toEqual(asRoot ? { uid: SERVICE_UID, gid: SERVICE_UID } : { uid: process.getuid!(), gid: process.getgid!() });
    // Nothing made yet: the same answer.
    expect((await serviceOwner(new Layout(join(root, 'missing')))).uid).not.toBe(0);
  });

  it('gets the whole tree from a root caller, links themselves and not what they point to', async () => {
    const outside = join(root, 'outside');
    await writeFile(outside, 'not the archive\n');
    const tree = join(root, 'archive');
    await mkdir(join(tree, 'state', 'requests', 'x.files'), { recursive: true });
    await writeFile(join(tree, 'state', 'requests', 'x.files', 'a.deb'), 'x');
    await symlink(outside, join(tree, 'link'));
    await handOver(tree, { uid: 4242, gid: 4343 });
    const owners = await Promise.all(['', 'state', 'state/requests/x.files', 'state/requests/x.files/a.deb', 'link'].map(async (p) => {
      const s = await lstat(join(tree, p));
      return [s.uid, s.gid];
    }));
    const expected = asRoot ? [4242, 4343] : [process.getuid!(), process.getgid!()];
    for (const o of owners) expect(o).toEqual(expected);
    expect((await stat(outside)).uid).toBe(process.getuid!());
    // A root folder owned by someone else than root: that user runs the queue.
    if (asRoot) expect(await serviceOwner(new Layout(tree))).toEqual({ uid: 4242, gid: 4343 });
  });
});
