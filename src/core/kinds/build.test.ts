import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/config.js';
import type { PutFile } from '../container-runner.js';
import { buildLimits, depsFiles, installScript, type LocalArchive } from './build.js';

const local: LocalArchive = { network: 'bridge', url: 'https://archive.example:8443/', suite: 'unstable', components: ['main'], key: 'KEY' };
const dsc = { name: 'p_1.dsc', data: Buffer.from('DSC') };
const names = (files: { name: string }[]) => files.map((f) => f.name);
const text = (f: PutFile | undefined) => (f && 'data' in f ? f.data.toString() : `${f?.name} is not written here`);

describe("the dependencies container's files", () => {
  it('give apt the local archive as a signed source', () => {
    const files = depsFiles(dsc, local);
    expect(names(files)).toEqual(['tmp/deps/p_1.dsc', 'etc/apt/keyrings/archive-in-a-box.asc', 'etc/apt/archive-in-a-box.d/archive-in-a-box.sources']);
    expect(text(files[2])).toContain('URIs: https://archive.example:8443/\nSuites: unstable\nComponents: main\nSigned-By: /etc/apt/keyrings/archive-in-a-box.asc\n');
  });

  it('trust the CA of a self-signed archive for its host alone', () => {
    const files = depsFiles(dsc, { ...local, ca: 'CA-PEM' });
    expect(text(files.find((f) => f.name === 'etc/apt/archive-in-a-box-ca.pem'))).toBe('CA-PEM');
    expect(text(files.find((f) => f.name === 'etc/apt/apt.conf.d/90archive-in-a-box-ca'))).toBe('Acquire::https::archive.example::CaInfo "/etc/apt/archive-in-a-box-ca.pem";\n');
  });
});

describe('what installing the build-dependencies leaves in the image every archive shares', () => {
  /** The paths the script's last line removes (rm -rf PATH...). */
  const removed = () => {
    const last = installScript('secret-src_1.0-1.dsc', '-B').split('\n').at(-1)!;
    expect(last).toMatch(/^rm -rf /);
    return last.split(' ').slice(2);
  };
  /** Whether rm -rf of these paths (each a shell pattern, * within one name) removes the file. */
  const covers = (paths: string[], file: string) =>
    paths.some((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`).test(file));

  it('is none of the files put in for the job: the .dsc, the local archive\'s source, key and CA', () => {
    const paths = removed();
    for (const f of depsFiles(dsc, { ...local, ca: 'CA-PEM' })) expect(covers(paths, `/${f.name}`), f.name).toBe(true);
    expect(covers(paths, '/etc/apt/sources.list.d/archive-in-a-box.sources')).toBe(true);
  });

  it("is none of apt's lists and caches, nor apt's and dpkg's logs, which name the source (apt's history: its build-dep command)", () => {
    const paths = removed();
    for (const file of ['/var/lib/apt/lists/archive.example_dists_unstable_InRelease', '/var/cache/apt/pkgcache.bin', '/var/cache/apt/srcpkgcache.bin', '/var/log/apt/history.log', '/var/log/apt/term.log', '/var/log/apt/eipp.log.xz', '/var/log/dpkg.log']) {
      expect(covers(paths, file), file).toBe(true);
    }
  });
});

describe("a build's limits", () => {
  it("are archive.yaml's, with the time and stall limits times builds.emulation_factor under qemu, and nothing else changed", () => {
    const builds = parseConfig('builds:\n  timeout_minutes: 10\n  stall_minutes: 5\n  emulation_factor: 6\n', 'a.yaml').builds;
    const native = buildLimits(builds);
    const emulated = buildLimits(builds, true);
    expect([native.timeoutMs, native.stallMs]).toEqual([600_000, 300_000]);
    expect([emulated.timeoutMs, emulated.stallMs]).toEqual([3_600_000, 1_800_000]);
    expect({ ...emulated, timeoutMs: 0, stallMs: 0 }).toEqual({ ...native, timeoutMs: 0, stallMs: 0 });
  });

  it('are whole bytes where archive.yaml gives MiB or GiB with a fraction, as the engine takes them', () => {
    const limits = buildLimits(parseConfig('builds:\n  memory_gib: 1.1\n  log_mib: 1.3\n  disk_gib: 0.1\n  cache_gib: 1.7\n  output_file_gib: 0.3\n  output_gib: 0.7\n', 'a.yaml').builds);
    // 1.1 GiB is 1181116006.4 bytes: the engine refuses a Memory that is not whole.
    expect(limits.memoryBytes).toBe(1181116006);
    expect([limits.logCapBytes, limits.diskBytes, limits.cacheBytes, limits.outputFileBytes, limits.outputBytes]).toEqual([1363148, 107374182, 1825361100, 322122547, 751619276]);
  });
});
