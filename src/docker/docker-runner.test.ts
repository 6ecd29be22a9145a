import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { DEFAULT_LIMITS, BUILD_SCRIPT, DEPS_CAPABILITIES, buildContainerSpec, depsContainerSpec } from '../core/kinds/build.js';
import { DockerRunner, OWNER_LABELS, createOptions, depsCommitChanges, tarOf } from './docker-runner.js';

const LABELS = { 'archive-in-a-box.build': 'job-1', 'archive-in-a-box.builder': 'b' };
/** LABELS as the container gets them: every other owner label blank, none taken from its image. */
const OWNED = { 'archive-in-a-box.build': 'job-1', 'archive-in-a-box.builder': 'b', 'archive-in-a-box.worker': '', 'archive-in-a-box.project': '', 'archive-in-a-box.run-id': '' };
const limits = { ...DEFAULT_LIMITS, memoryBytes: 3 * 1024 ** 3, pidsLimit: 512, cpus: 3 };

// The engine's options of the two containers of a build, exactly as they were written out
// before the specs (core/kinds/build.ts) came between: every setting that confines them.
describe('the Docker runner: create options of a build\'s containers', () => {
  it('the dependencies container: on the deps network, only the capabilities apt and dpkg need, no-new-privileges, an init', () => {
    expect(createOptions(depsContainerSpec('archive/buildenv:trixie', { network: 'deps-net', url: 'http://repo', suite: 's', components: ['main'], key: 'K' }, limits, LABELS))).toStrictEqual({
      Image: 'archive/buildenv:trixie',
      Cmd: ['sleep', 'infinity'],
      Labels: OWNED,
      Env: ['DEBIAN_FRONTEND=noninteractive'],
      HostConfig: {
        NetworkMode: 'deps-net',
        CapDrop: ['ALL'],
        CapAdd: DEPS_CAPABILITIES,
        SecurityOpt: ['no-new-privileges'],
        Memory: 3 * 1024 ** 3,
        MemorySwap: 3 * 1024 ** 3,
        PidsLimit: 512,
        NanoCpus: 3e9,
        Init: true,
      },
    });
    expect(createOptions(depsContainerSpec('archive/buildenv:trixie', undefined, limits, LABELS)).HostConfig?.NetworkMode).toBe('bridge');
    // A CPU weight only when one is given (resolving behind a build already started).
    expect(createOptions({ ...depsContainerSpec('archive/buildenv:trixie', undefined, limits, LABELS), cpuShares: 128 }).HostConfig).toMatchObject({ CpuShares: 128, NanoCpus: 3e9 });
  });

  it('gives the engine a whole number of billionths of a CPU, whatever the fraction (2.01 times 1e9 is 2009999999.9999998)', () => {
    expect(createOptions(depsContainerSpec('archive/buildenv:trixie', undefined, { ...limits, cpus: 2.01 }, LABELS)).HostConfig?.NanoCpus).toBe(2_010_000_000);
    expect(createOptions(depsContainerSpec('archive/buildenv:trixie', undefined, { ...limits, cpus: 1.07 }, LABELS)).HostConfig?.NanoCpus).toBe(1_070_000_000);
  });

  it('the build container: no network, no capabilities, read-only root, a private /build, unprivileged', () => {
    expect(createOptions(buildContainerSpec('sha256:deps', 'hello_1.0-1.dsc', '-B', limits, LABELS))).toStrictEqual({
      Image: 'sha256:deps',
      Cmd: ['bash', '-c', BUILD_SCRIPT('hello_1.0-1.dsc', '-B')],
      User: 'builder',
      WorkingDir: '/build',
      Labels: OWNED,
      Env: ['HOME=/build', 'DPKG_COLORS=never', 'DEB_BUILD_OPTIONS=parallel=3', 'LANG=C.UTF-8'],
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,exec,nosuid,size=2g' },
        Mounts: [{ Type: 'volume', Source: '', Target: '/build' }],
        Memory: 3 * 1024 ** 3,
        MemorySwap: 3 * 1024 ** 3,
        PidsLimit: 512,
        NanoCpus: 3e9,
      },
    });
  });
});

describe('the Docker runner: whose a container is', () => {
  it('every owner label set on each container, blank where the job has none: none is taken from its image (a committed job\'s)', () => {
    // `archive build`'s labels: no builder, whose would otherwise come from the cached image.
    const labels = { 'archive-in-a-box.project': 'archive-build', 'archive-in-a-box.run-id': 'r1', 'archive-in-a-box.build': 'oneshot-1' };
    expect(createOptions(buildContainerSpec('sha256:deps', 'a.dsc', '-B', limits, labels)).Labels).toStrictEqual({ ...labels, 'archive-in-a-box.builder': '', 'archive-in-a-box.worker': '' });
    expect(Object.keys(createOptions(depsContainerSpec('sha256:env', undefined, limits, {})).Labels!).sort()).toEqual([...OWNER_LABELS].sort());
  });

  it('a build-dependency image committed with its key and every owner label blank, for whichever job uses it next', () => {
    expect(depsCommitChanges('k1')).toEqual([
      'LABEL archive-in-a-box.deps-key=k1',
      'LABEL archive-in-a-box.builder=""',
      'LABEL archive-in-a-box.build=""',
      'LABEL archive-in-a-box.worker=""',
      'LABEL archive-in-a-box.project=""',
      'LABEL archive-in-a-box.run-id=""',
      'CMD ["bash"]',
    ]);
  });
});

describe('the Docker runner: the build-dependency cache', () => {
  it('takes an image removed between finding it and marking it used (another build\'s eviction) for a miss', async () => {
    const docker = {
      getImage: (name: string) => ({
        inspect: async () => ({ Id: 'sha256:cached', Config: { Labels: {} }, Created: '2026-12-06T00:00:00Z' }),
        tag: async () => Promise.reject(Object.assign(new Error(`(HTTP code 404) no such image - No such image: ${name}`), { statusCode: 404 })),
      }),
    };
    expect(await new DockerRunner(docker as never).depsCache.find('k')).toBeUndefined();
  });
});

describe('the Docker runner: the tar of files put into a container', () => {
  /** Each entry of the tar as "name type uid size: text". */
  const entries = async (tar: NodeJS.ReadableStream) => {
    const out: string[] = [];
    const x = extract();
    x.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push(`${h.name} ${h.type} ${h.uid} ${h.size}: ${Buffer.concat(chunks).toString()}`);
        next();
      });
    });
    await new Promise<void>((resolve, reject) => {
      x.on('finish', resolve);
      x.on('error', reject);
      tar.on('error', reject);
      tar.pipe(x as unknown as NodeJS.WritableStream);
    });
    return out;
  };

  it('holds folders, bytes given, and files on disk read as it is made (a 3 MiB one in many chunks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-tar-'));
    try {
      const big = 'y'.repeat(3 * 1024 * 1024);
      writeFileSync(join(dir, 'big.deb'), big);
      writeFileSync(join(dir, 'small.dsc'), 'DSC');
      const got = await entries(tarOf([{ name: 'first/', data: Buffer.alloc(0) }, { name: 'first/a.txt', data: Buffer.from('A') }, { name: 'first/big.deb', path: join(dir, 'big.deb'), size: big.length }, { name: 'x.dsc', path: join(dir, 'small.dsc'), size: 3 }], 1234));
      expect(got.map((e) => (e.length > 80 ? `${e.slice(0, 60)}...${e.length}` : e))).toEqual([
        'first/ directory 1234 0: ',
        'first/a.txt file 1234 1: A',
        `first/big.deb file 1234 ${big.length}: ${big.slice(0, 60 - `first/big.deb file 1234 ${big.length}: `.length)}...${`first/big.deb file 1234 ${big.length}: `.length + big.length}`,
        'x.dsc file 1234 3: DSC',
      ]);
      expect(got[2].endsWith(big)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes the file it reads when the tar is closed half read (the engine gone)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-tar-'));
    /** How many of this process's descriptors are open on the file. */
    const opened = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === join(dir, 'big.deb');
        } catch {
          return false; // the listing's own descriptor, gone
        }
      }).length;
    try {
      writeFileSync(join(dir, 'big.deb'), Buffer.alloc(8 * 1024 * 1024, 'z'));
      const tar = tarOf([{ name: 'big.deb', path: join(dir, 'big.deb'), size: 8 * 1024 * 1024 }], 0);
      await new Promise<void>((resolve) => tar.once('data', () => resolve()));
      tar.pause();
      expect(opened()).toBe(1);
      tar.destroy();
      await vi.waitFor(() => expect(opened()).toBe(0), { timeout: 5000 });
      // Closed while flowing (the next chunk still to come from the disk, no drain awaited).
      const flowing = tarOf([{ name: 'big.deb', path: join(dir, 'big.deb'), size: 8 * 1024 * 1024 }], 0);
      await new Promise<void>((resolve) => flowing.once('data', () => (flowing.destroy(), resolve())));
      await vi.waitFor(() => expect(opened()).toBe(0), { timeout: 5000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails, naming the cause, when a file on disk is gone or not of the size given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-tar-'));
    try {
      writeFileSync(join(dir, 'a.deb'), 'ABCDE');
      await expect(entries(tarOf([{ name: 'gone.deb', path: join(dir, 'gone.deb'), size: 1 }], 0))).rejects.toThrow(/ENOENT/);
      await expect(entries(tarOf([{ name: 'a.deb', path: join(dir, 'a.deb'), size: 9 }], 0))).rejects.toThrow(`${join(dir, 'a.deb')}: 5 bytes, not the 9 given`);
      await expect(entries(tarOf([{ name: 'a.deb', path: join(dir, 'a.deb'), size: 2 }], 0))).rejects.toThrow(`${join(dir, 'a.deb')}: 5 bytes, not the 2 given`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
