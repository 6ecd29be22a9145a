// Which job's log `archive logs SOURCE [VERSION] [--arch A] [--check C]` prints.
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../core/jobs.js';
import { logJob } from './logs.js';

const at = (minute: number) => `2026-11-29T10:${String(minute).padStart(2, '0')}:00.000Z`;
const job = (version: string, arch: string, extra: Partial<JobRecord> = {}): JobRecord => ({
  id: `hello-${version}-${arch}-${extra.attempts ?? 1}`, kind: 'build', uploadId: `hello-${version}`, source: 'hello', version, suite: 'unstable', base: 'trixie', arch, buildArg: '-B',
  state: 'built', attempts: 1, createdAt: at(0), updatedAt: at(0), binaries: [], artifacts: [], log: `logs/hello_${version}_${arch}.${extra.attempts ?? 1}.log`, ...extra,
});

describe('archive logs', () => {
  // 1.0-1 built on amd64 only; 2.0-1 dropped amd64 (Architecture: arm64 armhf), its arm64 built twice.
  const jobs = [
    job('2.0-1', 'armhf'),
    job('1.0-1', 'amd64'),
    job('2.0-1', 'arm64', { attempts: 2, createdAt: at(1) }),
    job('2.0-1', 'arm64'),
    job('2.0-1', 'arm64', { kind: 'lintian', id: 'lintian', log: 'logs/lintian.log' }),
    job('3.0-1', 'amd64', { log: undefined, state: 'needs-build' }),
  ];
  const pick = (want: { version?: string; arch?: string; kind?: string }) => logJob(jobs, { kind: 'build', source: 'hello', ...want })?.log;

  it("prints the newest version's log on its first architecture by default, not the oldest version's", () => {
    expect(pick({})).toBe('logs/hello_2.0-1_arm64.2.log');
  });

  it('takes the version, the architecture and the check named, and the newest attempt', () => {
    expect(pick({ arch: 'armhf' })).toBe('logs/hello_2.0-1_armhf.1.log');
    expect(pick({ arch: 'amd64' })).toBe('logs/hello_1.0-1_amd64.1.log');
    expect(pick({ version: '1.0-1' })).toBe('logs/hello_1.0-1_amd64.1.log');
    expect(pick({ kind: 'lintian' })).toBe('logs/lintian.log');
    expect(pick({ version: '2.0-1', arch: 'amd64' })).toBeUndefined();
  });
});
