import { describe, expect, it } from 'vitest';
import {
  cancel, depWait, endWithoutResult, expireDepWait, expireLease, finish, finishCheck, giveBack, heartbeat, JobTransitionError, lease, MAX_LOST, retry, retryDepWait, type JobRecord,
} from './jobs.js';
import { uploadStateFromJobs, type UploadRecord } from './uploads.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(t0.getTime() + ms);
const job: JobRecord = {
  id: 'j1', kind: 'build', uploadId: 'u1', source: 'hello', version: '1.0-1', suite: 'unstable', base: 'trixie', arch: 'amd64',
  buildArg: '-B', state: 'needs-build', attempts: 0, createdAt: t0.toISOString(), updatedAt: t0.toISOString(), binaries: [], artifacts: [],
};

describe('the job state machine', () => {
  it('ends a QA check with what it found, tries a testbed that died once more, and fails one whose tool could not run', () => {
    const check: JobRecord = { ...job, id: 'j1-lintian', kind: 'lintian', of: 'j1' };
    const found = { verdict: 'fail' as const, tool: 'lintian 2', seconds: 1, counts: { error: 1 }, findings: [], summary: '1 error tag(s): x' };
    expect(finishCheck(lease(check, 'b1', t0), 'b1', { result: found }, later(5))).toMatchObject({ state: 'built', qa: found, finishedAt: later(5).toISOString() });
    const died = { ...found, verdict: 'tmpfail' as const, summary: 'testbed died' };
    const again = finishCheck(lease(check, 'b1', t0), 'b1', { result: died }, later(5));
    expect(again).toMatchObject({ state: 'given-back', reason: 'the testbed failed (testbed died); trying once more' });
    expect(again.qa).toBeUndefined();
    expect(finishCheck(lease(again, 'b1', t0), 'b1', { result: died }, later(9))).toMatchObject({ state: 'built', qa: { verdict: 'tmpfail' } });
    expect(finishCheck(lease(check, 'b1', t0), 'b1', { reason: 'lintian itself failed (exit 1)' }, later(5))).toMatchObject({ state: 'failed', reason: 'lintian itself failed (exit 1)' });
    expect(() => finishCheck(lease(check, 'b1', t0), 'b2', { result: found }, later(5))).toThrow('not leased to b2');
    // A check or rebuild with no result: the worker's trouble goes back, the tool's failure fails it.
    expect(endWithoutResult(lease(check, 'b1', t0), 'b1', { outcome: 'give-back', reason: 'engine gone' }, later(5))).toMatchObject({ state: 'given-back', reason: 'engine gone' });
    expect(endWithoutResult(lease(check, 'b1', t0), 'b1', { outcome: 'failed', reason: 'the rebuild failed' }, later(5))).toMatchObject({ state: 'failed', reason: 'the rebuild failed' });
  });

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

  it('gives a job whose lease ran out back, and fails it as builder lost the third time', () => {
    let j = job;
    for (let n = 1; n <= MAX_LOST; n++) {
      j = lease(j, `b${n}`, t0, 1000);
      expect(expireLease(j, later(999))).toBe(j);
      j = expireLease(j, later(1001));
      expect(j.state).toBe(n < MAX_LOST ? 'given-back' : 'failed');
    }
    expect(j.reason).toMatch(/^builder lost/);
    expect(j.attempts).toBe(MAX_LOST);
  });

  it('lets a builder give a job back, to be leased again', () => {
    const back = giveBack(lease(job, 'b1', t0), 'b1', 'docker engine restarting', later(5));
    expect(back).toMatchObject({ state: 'given-back', reason: 'docker engine restarting', lease: undefined });
    expect(lease(back, 'b2', later(10)).state).toBe('building');
  });

  it('puts a job in dep-wait with the missing relation, retries it on a new publication, fails it after the limit', () => {
    const waiting = depWait(lease(job, 'b1', t0), 'b1', 'libfoo-dev (>= 2) but it is not installable', later(10));
    expect(waiting).toMatchObject({ state: 'dep-wait', missing: 'libfoo-dev (>= 2) but it is not installable', depWaitSince: later(10).toISOString() });
    expect(() => lease(waiting, 'b1', later(20))).toThrow(JobTransitionError);
    const again = retryDepWait(waiting, later(1000), 3600_000);
    expect(again.state).toBe('needs-build');
    // The wait is measured from the first dep-wait, not the last retry.
    const waitingAgain = depWait(lease(again, 'b1', later(2000)), 'b1', 'libfoo-dev', later(3000));
    expect(waitingAgain.depWaitSince).toBe(later(10).toISOString());
    expect(expireDepWait(waitingAgain, later(3600_000), 3600_000).state).toBe('dep-wait');
    const failed = expireDepWait(waitingAgain, later(3600_011), 3600_000);
    expect(failed).toMatchObject({ state: 'failed', reason: 'build-dependencies still not satisfiable after 1 h: libfoo-dev' });
  });

  it('records a result only from the lease holder, with the image it was built in', () => {
    const leased = lease(job, 'b1', t0);
    expect(() => finish(leased, 'b2', { outcome: 'failed', reason: 'x' }, t0)).toThrow(JobTransitionError);
    expect(finish(leased, 'b1', { outcome: 'failed', reason: 'FTBFS' }, t0)).toMatchObject({ state: 'failed', reason: 'FTBFS', lease: undefined });
    expect(finish(leased, 'b1', { outcome: 'built', binaries: [], artifacts: ['a'], log: 'l', image: 'sha256:ab' }, t0)).toMatchObject({ state: 'built', artifacts: ['a'], image: 'sha256:ab' });
  });

  it('retries a failed job on request, and only a failed or dep-waiting one', () => {
    const failed = finish(lease(job, 'b1', t0), 'b1', { outcome: 'failed', reason: 'FTBFS' }, t0);
    expect(retry(failed, later(1))).toMatchObject({ state: 'needs-build', reason: undefined });
    expect(() => retry(job, t0)).toThrow(/only failed or dep-wait/);
  });

  it('cancels a build not started yet (waiting, given back or in dep-wait), and no other', () => {
    const leased = lease(job, 'b1', t0);
    const waiting = [job, giveBack(leased, 'b1', 'shutting down', t0), depWait(leased, 'b1', 'libx-dev', t0)];
    for (const j of waiting) {
      expect(cancel(j, 'superseded by hello 1.0-2', later(1))).toMatchObject({ state: 'cancelled', reason: 'superseded by hello 1.0-2', missing: undefined, finishedAt: later(1).toISOString() });
    }
    const built = finish(leased, 'b1', { outcome: 'built', binaries: [], artifacts: [], log: 'l' }, t0);
    const failed = finish(leased, 'b1', { outcome: 'failed', reason: 'FTBFS' }, t0);
    for (const j of [leased, built, failed]) expect(cancel(j, 'removed', later(1))).toBe(j);
    expect(() => retry(cancel(job, 'removed', t0), t0)).toThrow(/only failed or dep-wait/);
  });

  it("gives an upload whose builds were cancelled that state, with each build's reason", () => {
    const upload = { id: 'u1', state: 'building', jobs: ['j1', 'j2'], reasons: [] } as unknown as UploadRecord;
    const built = finish(lease(job, 'b1', t0), 'b1', { outcome: 'built', binaries: [], artifacts: [], log: 'l' }, t0);
    const other = { ...job, id: 'j2', arch: 'arm64' };
    expect(uploadStateFromJobs(upload, [built, cancel(other, 'hello was removed from unstable (archive rm)', t0)])).toEqual({
      state: 'cancelled',
      reasons: ['build on arm64 cancelled: hello was removed from unstable (archive rm)'],
    });
    expect(uploadStateFromJobs(upload, [cancel(job, 'x', t0), other]).state).toBe('accepted');
  });

  it('keeps an upload whose source archive rm removed before its builds were in cancelled, whatever they do next (not published)', () => {
    const removed = { id: 'u1', state: 'cancelled', jobs: ['j1'], reasons: [], removed: 'hello was removed from unstable (archive rm)' } as unknown as UploadRecord;
    const built = finish(lease(job, 'b1', t0), 'b1', { outcome: 'built', binaries: [], artifacts: [], log: 'l' }, t0);
    expect(uploadStateFromJobs(removed, [built])).toEqual({ state: 'cancelled', reasons: ['hello was removed from unstable (archive rm)'] });
    expect(uploadStateFromJobs({ ...removed, removed: undefined }, [built]).state).toBe('published');
  });
});
