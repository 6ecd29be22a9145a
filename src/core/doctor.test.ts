import { describe, expect, it } from 'vitest';
import { diagnose, type DoctorFacts } from './doctor.js';

const now = new Date('2026-11-29T12:00:00Z');
const healthy: DoctorFacts = {
  now,
  engine: { reachable: true, version: '20.10.24', driver: 'overlay2', dataRoot: '/var/lib/docker' },
  disks: [{ what: 'root', path: '/srv/a', freeBytes: 50 * 1024 ** 3 }],
  debootstrap: true,
  baseImage: true,
  port: { port: 8080, state: 'free' },
  clock: { source: 'mirror', remote: new Date(now.getTime() - 2000) },
  key: { fingerprint: 'F'.repeat(40), expires: new Date('2029-01-01T00:00:00Z') },
  validUntil: { days: 7, served: new Date('2026-12-05T12:00:00Z') },
};
const status = (f: Partial<DoctorFacts>, check: string) => diagnose({ ...healthy, ...f }).find((x) => x.check === check);

describe('archive doctor', () => {
  it('finds nothing wrong on a healthy machine', () => {
    expect(diagnose(healthy).filter((f) => f.status !== 'ok')).toEqual([]);
  });

  it.each<[string, Partial<DoctorFacts>, string, RegExp]>([
    ['an unreachable engine', { engine: { reachable: false, error: 'connect ENOENT /var/run/docker.sock' } }, 'docker', /apt-get install docker\.io/],
    ['a used port', { port: { port: 8080, state: 'taken' } }, 'port', /archive up --port N/],
    ['a full disk', { disks: [{ what: 'root', path: '/srv/a', freeBytes: 1024 ** 3 }] }, 'disk-root', /archive cache prune/],
    ['a clock 10 minutes fast', { clock: { source: 'mirror', remote: new Date(now.getTime() - 600_000) } }, 'clock', /set-ntp/],
    ['an expired signing key', { key: { fingerprint: 'F'.repeat(40), expires: new Date('2026-01-01T00:00:00Z') } }, 'signing-key', /--quick-set-expire/],
    ['an expired Valid-Until', { validUntil: { days: 7, served: new Date('2026-11-28T00:00:00Z') } }, 'valid-until', /re-signs/],
    ['no debootstrap and no base image', { debootstrap: false, baseImage: false }, 'debootstrap', /apt-get install debootstrap/],
  ])('fails %s, with the fix', (_, facts, check, fix) => {
    const finding = status(facts, check)!;
    expect(finding.status).toBe('fail');
    expect(finding.fix).toMatch(fix);
  });

  it.each<[string, Partial<DoctorFacts>, string]>([
    ['a vfs storage driver', { engine: { reachable: true, version: '1', driver: 'vfs', dataRoot: '/x' } }, 'storage-driver'],
    ['a key expiring within 30 days', { key: { fingerprint: 'F'.repeat(40), expires: new Date('2026-12-20T00:00:00Z') } }, 'signing-key'],
    ['a Valid-Until the queue did not renew', { validUntil: { days: 7, served: new Date('2026-11-30T00:00:00Z') } }, 'valid-until'],
    ['no debootstrap while the base image exists', { debootstrap: false }, 'debootstrap'],
  ])('warns of %s', (_, facts, check) => {
    expect(status(facts, check)!.status).toBe('warn');
  });

  it('says when it cannot tell the time, and when the port is the archive itself', () => {
    expect(status({ clock: undefined }, 'clock')!.status).toBe('unknown');
    expect(status({ port: { port: 8080, state: 'ours' } }, 'port')).toMatchObject({ status: 'ok', detail: '127.0.0.1:8080 is served by this archive' });
  });
});
