import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binfmtHandler, runsNatively } from './architectures.js';
import { qemuName } from '../debian/architectures.js';
import { hostArchitecture } from './debian-tools.js';

describe('how this machine runs an architecture', () => {
  let root: string;
  beforeAll(async () => {
    // A binfmt_misc folder as the kernel shows it.
    root = await mkdtemp(join(tmpdir(), 'aib-binfmt-'));
    await writeFile(join(root, 'qemu-aarch64'), 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\n');
    await writeFile(join(root, 'qemu-arm'), 'disabled\ninterpreter /usr/bin/qemu-arm-static\nflags: \noffset 0\n');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('reads the qemu handler of an architecture from binfmt_misc, by qemu\'s name for it', async () => {
    expect(await binfmtHandler('arm64', root)).toEqual({ name: 'qemu-aarch64', enabled: true, flags: 'POCF' });
    expect(await binfmtHandler('armhf', root)).toEqual({ name: 'qemu-arm', enabled: false, flags: '' });
    expect(await binfmtHandler('riscv64', root)).toBeUndefined();
    expect(await binfmtHandler('no-such-arch', root)).toBeUndefined();
    // A name archive.yaml accepts that an object has of its own: no handler (and no qemu named "function Object()...").
    await writeFile(join(root, 'qemu-function Object() { [native code] }'), 'enabled\nflags: F\n');
    expect(await binfmtHandler('constructor', root)).toBeUndefined();
    expect(qemuName('constructor')).toBeUndefined();
    expect(qemuName('toString')).toBeUndefined();
    expect(qemuName('arm64')).toBe('aarch64');
  });

  it("runs the i386 probe on an amd64 host and says whether the kernel ran it; tries nothing it has no probe for", async () => {
    const host = await hostArchitecture();
    expect(host).toMatch(/^[a-z0-9]+$/);
    const i386 = await runsNatively('i386', host);
    if (host === 'amd64') expect(typeof i386).toBe('boolean');
    else expect(i386).toBeUndefined();
    expect(await runsNatively('arm64', 'amd64')).toBeUndefined();
    expect(await runsNatively('i386', 'arm64')).toBeUndefined();
  });
});
