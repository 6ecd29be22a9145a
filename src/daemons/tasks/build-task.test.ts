// The worker's memory of each source's last build-dependency key (what an early build starts from).
import { describe, expect, it } from 'vitest';
import type { LeasedJob } from '../../core/job-protocol.js';
import { likelyDepsKey, noteDepsKey } from './build-task.js';

const job = (source: string, arch = 'amd64') => ({ source, base: 'trixie', arch, buildArg: '-B' }) as LeasedJob;

describe('the key of each source\'s last build', () => {
  it('is kept per source, base, architecture and build argument', () => {
    noteDepsKey(job('hello'), 'k1');
    noteDepsKey(job('hello', 'arm64'), 'k2');
    expect(likelyDepsKey(job('hello'))).toBe('k1');
    expect(likelyDepsKey(job('hello', 'arm64'))).toBe('k2');
    expect(likelyDepsKey({ ...job('hello'), buildArg: '-b' } as LeasedJob)).toBeUndefined();
    noteDepsKey(job('hello'), undefined); // a build that never resolved leaves the last key
    expect(likelyDepsKey(job('hello'))).toBe('k1');
  });

  it('is kept for the 1,000 sources built most recently, no more', () => {
    noteDepsKey(job('first'), 'f');
    noteDepsKey(job('again'), 'a');
    for (let i = 0; i < 998; i++) noteDepsKey(job(`s${i}`), `k${i}`);
    noteDepsKey(job('again'), 'a'); // built again: now the most recent
    expect(likelyDepsKey(job('first'))).toBe('f'); // 1,000 sources: all kept
    noteDepsKey(job('one-more'), 'o');
    expect(likelyDepsKey(job('first'))).toBeUndefined(); // the 1,001st pushed out the oldest
    noteDepsKey(job('two-more'), 't');
    expect(likelyDepsKey(job('s0'))).toBeUndefined(); // then the next oldest: not the one built again
    expect(likelyDepsKey(job('again'))).toBe('a');
    expect(likelyDepsKey(job('two-more'))).toBe('t');
  });
});
