// publish_requires: what holds an upload back from its suite, and the state it shows meanwhile.
// (Each gate's verdicts are tested through migration.test.ts, which shares them.)
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.js';
import type { JobRecord } from './jobs.js';
import type { QaResult } from './kinds/qa.js';
import { publicationHold } from './qa-gates.js';
import { uploadStateFromJobs, type UploadRecord } from './uploads.js';

const config = parseConfig('suites:\n  unstable:\n    qa: [lintian, piuparts]\n    publish_requires: {lintian: no-errors, piuparts: pass}\n  free:\n    qa: [lintian]\n', 'archive.yaml');
const upload = (over: Partial<UploadRecord> = {}): UploadRecord => ({
  id: 'u1', changes: '', source: 'hello', version: '1.0-1', distribution: 'unstable', suite: 'unstable', state: 'building', receivedAt: '', updatedAt: '', reasons: [], sourceFiles: [], jobs: ['u1-amd64', 'u1-arm64'], ...over,
});
const build = (arch: string, state: JobRecord['state'] = 'built'): JobRecord => ({
  id: `u1-${arch}`, kind: 'build', uploadId: 'u1', source: 'hello', version: '1.0-1', suite: 'unstable', base: 'trixie', arch, buildArg: '-b', state, attempts: 1, createdAt: '', updatedAt: '', binaries: [], artifacts: [],
});
const check = (arch: string, kind: 'lintian' | 'piuparts', qa?: Partial<QaResult>): JobRecord => ({
  ...build(arch), id: `u1-${arch}-${kind}`, kind, of: `u1-${arch}`, state: qa ? 'built' : 'needs-build',
  ...(qa ? { qa: { verdict: 'pass', tool: kind, seconds: 1, counts: {}, findings: [], summary: 'ok', ...qa } } : {}),
});
const passed = (arch: string) => [check(arch, 'lintian', {}), check(arch, 'piuparts', {})];

describe('publish_requires', () => {
  it('holds nothing in a suite without it, nor an upload once in its suite', () => {
    expect(publicationHold(config.suites, upload({ suite: 'free' }), [build('amd64')])).toBeUndefined();
    expect(publicationHold(config.suites, upload({ inSuite: true }), [build('amd64')])).toBeUndefined();
  });

  it('holds a built upload while a check of any build has not run, and lets it go once every gate holds', () => {
    const jobs = [build('amd64'), build('arm64'), ...passed('amd64'), check('arm64', 'lintian', {})];
    expect(publicationHold(config.suites, upload(), jobs)).toEqual([{ reason: 'piuparts on arm64 has not run yet', waiting: true }]);
    expect(uploadStateFromJobs(upload(), jobs, publicationHold(config.suites, upload(), jobs))).toEqual({ state: 'held', reasons: ['piuparts on arm64 has not run yet'] });
    const all = [build('amd64'), build('arm64'), ...passed('amd64'), ...passed('arm64')];
    expect(publicationHold(config.suites, upload(), all)).toEqual([]);
    // Joining comes next; until the upload is in its suite it is held, not published.
    expect(uploadStateFromJobs(upload(), all, [])).toEqual({ state: 'held', reasons: ['its QA gates hold; being published'] });
    expect(uploadStateFromJobs(upload({ inSuite: true }), all, publicationHold(config.suites, upload({ inSuite: true }), all))).toEqual({ state: 'published', reasons: [] });
  });

  it('fails the upload once a gate cannot hold, saying which', () => {
    const jobs = [build('amd64'), build('arm64'), ...passed('amd64'), check('arm64', 'lintian', { verdict: 'fail', counts: { error: 2 }, summary: '2 error tag(s): a, b' })];
    const hold = publicationHold(config.suites, upload(), jobs)!;
    expect(uploadStateFromJobs(upload(), jobs, hold)).toEqual({ state: 'failed', reasons: ['not published (publish_requires): lintian on arm64: 2 error(s): 2 error tag(s): a, b'] });
  });

  it('still says building while a build runs', () => {
    const jobs = [build('amd64'), build('arm64', 'building')];
    expect(uploadStateFromJobs(upload(), jobs, publicationHold(config.suites, upload(), jobs)).state).toBe('building');
  });
});
