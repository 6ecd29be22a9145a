import { describe, expect, it } from 'vitest';
import { expireLease, finish, heartbeat, JobTransitionError, lease, MAX_ATTEMPTS, type JobRecord } from './jobs.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(t0.getTime() + ms);
const job: JobRecord = {
  id: 'j1', uploadId: 'u1', source: 'hello', version: '1.0-1', suite: 'unstable', base: 'trixie', arch: 'amd64',
  buildArg: '-B', state: 'needs-build', attempts: 0, createdAt: t0.toISOString(), updatedAt: t0.toISOString(), binaries: [], artifacts: [],
};

describe('the job state machine', () => {
  it('leases a waiting job to one builder until a deadline', () => {
    const leased = lease(job, 'b1', t0, 1000);
    expect(leased).toMatchObject({ state: 'building', attempts: 1, lease: { builder: 'b1', expiresAt: later(1000).toISOString() } });
    expect(() => lease(leased, 'b2', t0)).toThrow(JobTransitionError);
  });

  it('extends the lease on a heartbeat from its holder only', () => {
    const leased = lease(job, 'b1', t0, 1000);
    expect(heartbeat(leased, 'b1', later(900), 1000).lease?.expiresAt).toBe(later(1900).toISOString());
    expect(() => heartbeat(leased, 'b2', later(900))).toThrow('not leased to b2');
  });

  it('returns a job whose lease expired to needs-build, and fails it as builder lost after the last attempt', () => {
    let j = job;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      j = lease(j, 'b1', t0, 1000);
      expect(expireLease(j, later(999))).toBe(j);
      j = expireLease(j, later(1001));
      expect(j.state).toBe(attempt < MAX_ATTEMPTS ? 'needs-build' : 'failed');
    }
    expect(j.reason).toMatch(/^builder lost/);
  });

  it('records a result only from the lease holder', () => {
    const leased = lease(job, 'b1', t0);
    expect(() => finish(leased, 'b2', { ok: false, reason: 'x' }, t0)).toThrow(JobTransitionError);
    expect(finish(leased, 'b1', { ok: false, reason: 'FTBFS' }, t0)).toMatchObject({ state: 'failed', reason: 'FTBFS', lease: undefined });
    expect(finish(leased, 'b1', { ok: true, binaries: [], artifacts: ['a'], log: 'l' }, t0)).toMatchObject({ state: 'built', artifacts: ['a'] });
  });
});
