import { describe, expect, it } from 'vitest';
import { diagnose, runMode, type DoctorFacts } from './doctor.js';

const now = new Date('2026-11-29T12:00:00Z');
const healthy: DoctorFacts = {
  now,
  engine: { reachable: true, version: '20.10.24', driver: 'overlay2', dataRoot: '/var/lib/docker' },
  disks: [{ what: 'root', path: '/srv/a', freeBytes: 50 * 1024 ** 3 }],
  debootstrap: true,
  baseImage: true,
  port: { port: 8080, address: '127.0.0.1', state: 'free' },
  clock: { source: 'mirror', remote: new Date(now.getTime() - 2000) },
  key: { fingerprint: 'F'.repeat(40), expires: new Date('2029-01-01T00:00:00Z') },
  validUntil: { days: 7, suites: [{ suite: 'unstable', file: '/srv/a/public/dists/unstable/Release', served: new Date('2026-12-05T12:00:00Z') }] },
};
const validUntil = (served: Date) => ({ days: 7, suites: [{ suite: 'unstable', file: '/srv/a/public/dists/unstable/Release', served }] });
const status = (f: Partial<DoctorFacts>, check: string) => diagnose({ ...healthy, ...f }).find((x) => x.check === check);

describe('archive doctor', () => {
  it('finds nothing wrong on a healthy machine', () => {
    expect(diagnose(healthy).filter((f) => f.status !== 'ok')).toEqual([]);
  });

  it.each<[string, Partial<DoctorFacts>, string, RegExp]>([
    ['an unreachable engine', { engine: { reachable: false, error: 'connect ENOENT /var/run/docker.sock' } }, 'docker', /apt-get install docker\.io/],
    ['a used port', { port: { port: 8080, address: '127.0.0.1', state: 'taken' } }, 'port', /archive up --port N/],
    ['a full disk', { disks: [{ what: 'root', path: '/srv/a', freeBytes: 1024 ** 3 }] }, 'disk-root', /archive cache prune/],
    ['a clock 10 minutes fast', { clock: { source: 'mirror', remote: new Date(now.getTime() - 600_000) } }, 'clock', /set-ntp/],
    ['an expired signing key', { key: { fingerprint: 'F'.repeat(40), expires: new Date('2026-01-01T00:00:00Z') } }, 'signing-key', /--quick-set-expire/],
    ['an expired Valid-Until', { validUntil: validUntil(new Date('2026-11-28T00:00:00Z')) }, 'valid-until-unstable', /re-signs/],
    ['no debootstrap and no base image', { debootstrap: false, baseImage: false }, 'debootstrap', /apt-get install debootstrap/],
  ])('fails %s, with the fix', (_, facts, check, fix) => {
    const finding = status(facts, check)!;
    expect(finding.status).toBe('fail');
    expect(finding.fix).toMatch(fix);
  });

  it.each<[string, Partial<DoctorFacts>, string]>([
    ['a vfs storage driver', { engine: { reachable: true, version: '1', driver: 'vfs', dataRoot: '/x' } }, 'storage-driver'],
    ['a key expiring within 30 days', { key: { fingerprint: 'F'.repeat(40), expires: new Date('2026-12-20T00:00:00Z') } }, 'signing-key'],
    ['a Valid-Until the queue did not renew', { validUntil: validUntil(new Date('2026-11-30T00:00:00Z')) }, 'valid-until-unstable'],
    ['no debootstrap while the base image exists', { debootstrap: false }, 'debootstrap'],
  ])('warns of %s', (_, facts, check) => {
    expect(status(facts, check)!.status).toBe('warn');
  });

  it('says when it cannot tell the time, and when the port is the archive itself', () => {
    expect(status({ clock: undefined }, 'clock')!.status).toBe('unknown');
    expect(status({ port: { port: 8080, address: '127.0.0.1', state: 'ours' } }, 'port')).toMatchObject({ status: 'ok', detail: '127.0.0.1:8080 is served by this archive' });
  });

  it('looks at the port on the address the archive listens on', () => {
    expect(status({ port: { port: 8080, address: '0.0.0.0', state: 'taken' } }, 'port')).toMatchObject({ status: 'fail', detail: '0.0.0.0:8080 is used by another program' });
    expect(status({ port: { port: 8080, address: '192.168.1.5', state: 'free' } }, 'port')).toMatchObject({ status: 'ok', detail: '192.168.1.5:8080 is free' });
    // An address the machine does not have (a listen: of another machine, or one not up yet) is not a used port.
    expect(status({ port: { port: 8080, address: '192.0.2.1', state: 'unavailable', error: 'EADDRNOTAVAIL' } }, 'port')).toMatchObject({
      status: 'fail',
      detail: '192.0.2.1:8080 cannot be listened on: this machine has no such address',
      fix: expect.stringContaining('give an address of this machine as listen:'),
    });
  });

  it('cannot tell the time from a mirror whose Date header is no time, and says so', () => {
    const finding = status({ clock: { source: 'the mirror', remote: new Date('yesterday'), header: 'yesterday\u001b[2J' } }, 'clock')!;
    expect(finding).toMatchObject({ status: 'unknown', detail: 'the mirror sent a Date header that is not a time ("yesterday\\u001b[2J"): the clock is not compared' });
  });

  it('fails a revoked archive key, and a public key that is not the one the archive signs with', () => {
    const key = { fingerprint: 'F'.repeat(40), expires: new Date('2029-01-01T00:00:00Z') };
    expect(status({ key: { ...key, revoked: true } }, 'signing-key')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/: revoked, apt refuses the archive$/), fix: expect.stringContaining('make a new key') });
    expect(status({ key, signingKey: 'A'.repeat(40) }, 'signing-key')).toMatchObject({
      status: 'fail',
      detail: `public/archive-key.asc holds ${'F'.repeat(40)}, but the archive signs with ${'A'.repeat(40)} (state/archive-key.sec): apt refuses its Release files`,
      fix: expect.stringContaining(`gpg --armor --export ${'A'.repeat(40)} > public/archive-key.asc`),
    });
    expect(status({ key, signingKey: 'F'.repeat(40) }, 'signing-key')!.status).toBe('ok');
    expect(status({ key: { ...key, revoked: false }, signingKey: undefined }, 'signing-key')!.status).toBe('ok');
  });

  it("judges every suite's Valid-Until, and fails one that is no date, naming the file and the value", () => {
    const findings = diagnose({
      ...healthy,
      validUntil: {
        days: 7,
        suites: [
          { suite: 'unstable', file: '/srv/a/public/dists/unstable/Release', value: 'Sat, 05 Dec 2026 12:00:00 UTC', served: new Date('2026-12-05T12:00:00Z') },
          { suite: 'testing', file: '/srv/a/public/dists/testing/Release', value: 'Sat, 99 Dec 2026', served: new Date('Sat, 99 Dec 2026') },
          { suite: 'stable', file: '/srv/a/public/dists/stable/Release' },
        ],
      },
    }).filter((f) => f.check.startsWith('valid-until'));
    expect(findings.map((f) => [f.check, f.status])).toEqual([['valid-until-unstable', 'ok'], ['valid-until-testing', 'fail'], ['valid-until-stable', 'warn']]);
    expect(findings[1].detail).toBe('/srv/a/public/dists/testing/Release: Valid-Until "Sat, 99 Dec 2026" is not a date (expected one as "Sat, 05 Dec 2026 12:00:00 UTC"); apt refuses it');
    expect(findings[2].detail).toBe('valid_until_days is 7, but /srv/a/public/dists/stable/Release has no Valid-Until yet');
  });
});

describe("archive doctor on each architecture the suites build for", () => {
  const arch = (a: Omit<import('./doctor.js').ArchitectureFacts, 'hostArch'>) => diagnose({ ...healthy, architectures: [{ hostArch: 'amd64', ...a }] }).find((x) => x.check === `arch-${a.arch}`)!;
  const F = { name: 'qemu-aarch64', enabled: true, flags: 'OCF' };

  it("takes the machine's own, an architecture its kernel ran a probe of, and one with a qemu handler flagged F", () => {
    expect(arch({ arch: 'amd64' })).toMatchObject({ status: 'ok', detail: "this machine's own" });
    expect(arch({ arch: 'i386', runsNatively: true })).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^runs natively: this amd64 kernel runs i386 binaries itself/) });
    expect(arch({ arch: 'arm64', handler: F })).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^emulated, through binfmt_misc qemu-aarch64 \(flags OCF: works inside containers\)/) });
  });

  it('fails a handler without F (no interpreter inside containers), or disabled, with the fix', () => {
    expect(arch({ arch: 'arm64', handler: { ...F, flags: 'OC' } })).toMatchObject({ status: 'fail', fix: expect.stringMatching(/apt-get install qemu-user-static binfmt-support/) });
    expect(arch({ arch: 'arm64', handler: { ...F, enabled: false } })).toMatchObject({ status: 'fail', fix: 'echo 1 > /proc/sys/fs/binfmt_misc/qemu-aarch64' });
  });

  it('fails an architecture nothing runs, saying what to install, and for i386 on amd64 what to register by hand', () => {
    expect(arch({ arch: 'armhf' })).toMatchObject({ status: 'fail', detail: 'no binfmt_misc handler qemu-arm: armhf binaries cannot run here', fix: expect.stringContaining('qemu-user-static binfmt-support (it registers qemu-arm with the F flag)') });
    const i386 = arch({ arch: 'i386', runsNatively: false });
    expect(i386.status).toBe('fail');
    expect(i386.fix).toContain("Debian registers none for i386 on amd64: echo ':qemu-i386:M::\\x7fELF\\x01\\x01\\x01");
    expect(i386.fix).toContain(":/usr/bin/qemu-i386-static:F' > /proc/sys/fs/binfmt_misc/register");
    expect(arch({ arch: 'sparc64' }).status).toBe('unknown');
  });
});

describe('how builds for an architecture run here (what archive up and a worker offer)', () => {
  const F = { name: 'qemu-aarch64', enabled: true, flags: 'PF' };
  it('natively on the machine\'s own and on a compat architecture the kernel ran; emulated through a handler with F; else not at all', () => {
    expect(runMode({ arch: 'amd64', hostArch: 'amd64' })).toBe('native');
    expect(runMode({ arch: 'i386', hostArch: 'amd64', runsNatively: true })).toBe('native');
    expect(runMode({ arch: 'arm64', hostArch: 'amd64', handler: F })).toBe('emulated');
    expect(runMode({ arch: 'arm64', hostArch: 'amd64', handler: { ...F, flags: 'P' } })).toBeUndefined();
    expect(runMode({ arch: 'arm64', hostArch: 'amd64', handler: { ...F, enabled: false } })).toBeUndefined();
    expect(runMode({ arch: 'i386', hostArch: 'amd64', runsNatively: false })).toBeUndefined();
  });
  it('counts a registered qemu-i386 as emulation even on a kernel that runs i386: binfmt_misc goes first', () => {
    expect(runMode({ arch: 'i386', hostArch: 'amd64', handler: { name: 'qemu-i386', enabled: true, flags: 'F' }, runsNatively: true })).toBe('emulated');
  });
});
