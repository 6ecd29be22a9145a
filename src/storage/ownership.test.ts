import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Layout } from './layout.js';
import { ownerOf, serviceOwner, SERVICE_UID } from './ownership.js';

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

  it('is, for a root caller, whoever other than root owns the root folder', () => {
    expect(ownerOf({ uid: 4242, gid: 4343 })).toEqual(asRoot ? { uid: 4242, gid: 4343 } : { uid: process.getuid!(), gid: process.getgid!() });
    expect(ownerOf({ uid: 0, gid: 0 }).uid).not.toBe(0);
  });
});
