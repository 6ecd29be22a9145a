import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, BUILD_SCRIPT, DEPS_CAPABILITIES, buildContainerSpec, depsContainerSpec } from '../core/kinds/build.js';
import { createOptions } from './docker-runner.js';

const LABELS = { 'archive-in-a-box.build': 'job-1', 'archive-in-a-box.builder': 'b' };
const limits = { ...DEFAULT_LIMITS, memoryBytes: 3 * 1024 ** 3, pidsLimit: 512, cpus: 3 };

// The engine's options of the two containers of a build, exactly as they were written out
// before the specs (core/kinds/build.ts) came between: every setting that confines them.
describe('the Docker runner: create options of a build\'s containers', () => {
  it('the dependencies container: on the deps network, only the capabilities apt and dpkg need, no-new-privileges, an init', () => {
    expect(createOptions(depsContainerSpec('archive/buildenv:trixie', { network: 'deps-net', url: 'http://repo', suite: 's', components: ['main'], key: 'K' }, limits, LABELS))).toStrictEqual({
      Image: 'archive/buildenv:trixie',
      Cmd: ['sleep', 'infinity'],
      Labels: LABELS,
      Env: ['DEBIAN_FRONTEND=noninteractive'],
      HostConfig: {
        NetworkMode: 'deps-net',
        CapDrop: ['ALL'],
        CapAdd: DEPS_CAPABILITIES,
        SecurityOpt: ['no-new-privileges'],
        Memory: 3 * 1024 ** 3,
        PidsLimit: 512,
        NanoCpus: 3e9,
        Init: true,
      },
    });
    expect(createOptions(depsContainerSpec('archive/buildenv:trixie', undefined, limits, LABELS)).HostConfig?.NetworkMode).toBe('bridge');
    // A CPU weight only when one is given (resolving behind a build already started).
    expect(createOptions({ ...depsContainerSpec('archive/buildenv:trixie', undefined, limits, LABELS), cpuShares: 128 }).HostConfig).toMatchObject({ CpuShares: 128, NanoCpus: 3e9 });
  });

  it('the build container: no network, no capabilities, read-only root, a private /build, unprivileged', () => {
    expect(createOptions(buildContainerSpec('sha256:deps', 'hello_1.0-1.dsc', '-B', limits, LABELS))).toStrictEqual({
      Image: 'sha256:deps',
      Cmd: ['bash', '-c', BUILD_SCRIPT('hello_1.0-1.dsc', '-B')],
      User: 'builder',
      WorkingDir: '/build',
      Labels: LABELS,
      Env: ['HOME=/build', 'DPKG_COLORS=never', 'DEB_BUILD_OPTIONS=parallel=3', 'LANG=C.UTF-8'],
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,exec,nosuid,size=2g' },
        Mounts: [{ Type: 'volume', Source: '', Target: '/build' }],
        Memory: 3 * 1024 ** 3,
        PidsLimit: 512,
        NanoCpus: 3e9,
      },
    });
  });
});
