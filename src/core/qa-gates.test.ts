// publish_requires: what holds an upload back from its suite, and the state it shows meanwhile.
// (Each gate's verdicts are tested through migration.test.ts, which shares them.)
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.js';
import type { JobRecord } from './jobs.js';
import type { QaResult } from './kinds/qa.js';
import { publicationHold } from './qa-gates.js';
import { emptyContents, type SuiteContents } from './suite-contents.js';
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
/** What publicationHold is told a suite holds: nothing. */
const nothing = () => undefined;
/** A job of upload u1 (1.0-1) as upload `id`'s of `version`. */
const as = (id: string, version: string) => (j: JobRecord): JobRecord => ({ ...j, id: j.id.replace('u1', id), uploadId: id, version, ...(j.of ? { of: j.of.replace('u1', id) } : {}) });
/** The suite holding hello `version` from upload `uploadId`. */
const holding = (name: string, version: string, uploadId?: string): SuiteContents => ({ ...emptyContents(name), sources: [{ source: 'hello', version, component: 'main', stanza: [], files: [], uploadId }] });

describe('publish_requires', () => {
  it('holds nothing in a suite without it, nor an upload once in its suite', () => {
    expect(publicationHold(config.suites, upload({ suite: 'free' }), [build('amd64')], nothing)).toBeUndefined();
    expect(publicationHold(config.suites, upload({ inSuite: true }), [build('amd64')], nothing)).toBeUndefined();
  });

  it('holds a built upload while a check of any build has not run, and lets it go once every gate holds', () => {
    const jobs = [build('amd64'), build('arm64'), ...passed('amd64'), check('arm64', 'lintian', {})];
    expect(publicationHold(config.suites, upload(), jobs, nothing)).toEqual([{ reason: 'piuparts on arm64 has not run yet', waiting: true }]);
    expect(uploadStateFromJobs(upload(), jobs, publicationHold(config.suites, upload(), jobs, nothing))).toEqual({ state: 'held', reasons: ['piuparts on arm64 has not run yet'] });
    const all = [build('amd64'), build('arm64'), ...passed('amd64'), ...passed('arm64')];
    expect(publicationHold(config.suites, upload(), all, nothing)).toEqual([]);
    // Joining comes next; until the upload is in its suite it is held, not published.
    expect(uploadStateFromJobs(upload(), all, [])).toEqual({ state: 'held', reasons: ['its QA gates hold; being published'] });
    expect(uploadStateFromJobs(upload({ inSuite: true }), all, publicationHold(config.suites, upload({ inSuite: true }), all, nothing))).toEqual({ state: 'published', reasons: [] });
  });

  it('fails the upload once a gate cannot hold, saying which', () => {
    const jobs = [build('amd64'), build('arm64'), ...passed('amd64'), check('arm64', 'lintian', { verdict: 'fail', counts: { error: 2 }, summary: '2 error tag(s): a, b' })];
    const hold = publicationHold(config.suites, upload(), jobs, nothing)!;
    expect(uploadStateFromJobs(upload(), jobs, hold)).toEqual({ state: 'failed', reasons: ['not published (publish_requires): lintian on arm64: 2 error(s): 2 error tag(s): a, b'] });
  });

  it('still says building while a build runs', () => {
    const jobs = [build('amd64'), build('arm64', 'building')];
    expect(uploadStateFromJobs(upload(), jobs, publicationHold(config.suites, upload(), jobs, nothing)).state).toBe('building');
  });
});

describe('no-regression on publication', () => {
  const gated = parseConfig('suites:\n  unstable:\n    qa: [piuparts]\n    publish_requires: {piuparts: no-regression}\n', 'archive.yaml');
  const left: Partial<QaResult> = { verdict: 'fail', summary: '1 file(s) left after purge: /etc/hello', findings: [{ severity: 'E', tag: 'left after purge', context: '/etc/hello' }] };
  // unstable publishes 0.9-1 (u0), whose piuparts passed; 1.0-1 (u1) fails as 1.0-0 (uh) did, held back then as a regression.
  // The trends are as the queue keeps them: against the version checked before, held back or not.
  const u1 = upload({ jobs: ['u1-amd64'] });
  const jobs = [
    ...[build('amd64'), check('amd64', 'piuparts', {})].map(as('u0', '0.9-1')),
    ...[build('amd64'), check('amd64', 'piuparts', { ...left, trend: 'regression', comparedWith: '0.9-1' })].map(as('uh', '1.0-0')),
    build('amd64'), check('amd64', 'piuparts', { ...left, trend: 'still-failing', comparedWith: '1.0-0' }),
  ];

  it('compares with the version the suite publishes, not with the one held back before', () => {
    expect(publicationHold(gated.suites, u1, jobs, () => holding('unstable', '0.9-1', 'u0'))).toEqual([{ reason: 'piuparts regressed on amd64 (against 0.9-1): 1 file(s) left after purge: /etc/hello', waiting: false }]);
  });

  it('has nothing to regress from in a suite without the source, or with a version of no known result', () => {
    expect(publicationHold(gated.suites, u1, jobs, () => emptyContents('unstable'))).toEqual([]);
    expect(publicationHold(gated.suites, u1, jobs, nothing)).toEqual([]);
    expect(publicationHold(gated.suites, u1, jobs, () => holding('unstable', '0.9-1'))).toEqual([]);
  });
});

describe('a gate on the rebuild', () => {
  const gated = parseConfig('suites:\n  unstable:\n    qa: []\n    rebuilds: on\n    publish_requires: {rebuild: pass}\n', 'archive.yaml');
  const made = (arch: string): JobRecord => ({ ...build(arch), binaries: [{ path: `pool/main/h/hello/hello_1.0-1_${arch}.deb`, sha256: 'a'.repeat(64), size: 1, md5: '', sha1: '', control: [] }] });
  const rebuild = (arch: string, over: Partial<JobRecord> = {}): JobRecord => ({ ...build(arch), id: `u1-${arch}-rebuild`, kind: 'rebuild', of: `u1-${arch}`, state: 'needs-build', createdAt: '2026-12-01T00:00:00Z', ...over });
  const verdict = (v: 'pass' | 'fail', summary: string) => ({ state: 'built' as const, qa: { verdict: v, tool: 'dpkg-buildpackage', seconds: 1, counts: {}, findings: [], summary } });

  it('waits for the newest rebuild, holds when it is reproducible, fails the upload when it is not or when the rebuild failed', () => {
    const up = upload({ jobs: ['u1-amd64'] });
    expect(publicationHold(gated.suites, up, [made('amd64'), rebuild('amd64')], nothing)).toEqual([{ reason: 'rebuild on amd64 has not run yet', waiting: true }]);
    expect(publicationHold(gated.suites, up, [made('amd64'), rebuild('amd64', verdict('pass', 'reproducible: 1 package(s) bit for bit identical'))], nothing)).toEqual([]);
    const differs = [made('amd64'), rebuild('amd64', verdict('fail', 'unreproducible: hello_1.0-1_amd64.deb differs'))];
    expect(uploadStateFromJobs(up, differs, publicationHold(gated.suites, up, differs, nothing))).toEqual({ state: 'failed', reasons: ['not published (publish_requires): not reproducible on amd64: unreproducible: hello_1.0-1_amd64.deb differs'] });
    // archive verify's newer rebuild is the one that counts.
    const again = [...differs, rebuild('amd64', { id: 'u1-amd64-rebuild-2', createdAt: '2026-12-02T00:00:00Z', ...verdict('pass', 'reproducible') })];
    expect(publicationHold(gated.suites, up, again, nothing)).toEqual([]);
    const failed = [made('amd64'), rebuild('amd64', { state: 'failed', reason: 'the rebuild failed: dpkg-buildpackage failed (exit 2); see the log' })];
    expect(publicationHold(gated.suites, up, failed, nothing)).toEqual([{ reason: 'rebuild on amd64 could not run: the rebuild failed: dpkg-buildpackage failed (exit 2); see the log', waiting: false }]);
  });

  it('with no-regression, compares with the rebuild of the version the suite publishes', () => {
    const regressionGated = parseConfig('suites:\n  unstable:\n    qa: []\n    rebuilds: on\n    publish_requires: {rebuild: no-regression}\n', 'archive.yaml');
    const up = upload({ jobs: ['u1-amd64'] });
    // Its trend as kept: against 1.0-0, held back unreproducible too.
    const unreproducible = verdict('fail', 'unreproducible: hello_1.0-1_amd64.deb differs');
    const differs = rebuild('amd64', { ...unreproducible, qa: { ...unreproducible.qa, trend: 'never-passed', comparedWith: '1.0-0' } });
    const published = [made('amd64'), rebuild('amd64', verdict('pass', 'reproducible'))].map(as('u0', '0.9-1'));
    expect(publicationHold(regressionGated.suites, up, [...published, made('amd64'), differs], () => holding('unstable', '0.9-1', 'u0'))).toEqual([
      { reason: 'rebuild regressed on amd64 (against 0.9-1): unreproducible: hello_1.0-1_amd64.deb differs', waiting: false },
    ]);
    expect(publicationHold(regressionGated.suites, up, [made('amd64'), differs], () => emptyContents('unstable'))).toEqual([]);
  });

  it('holds nothing back for a build that made no package', () => {
    expect(publicationHold(gated.suites, upload({ jobs: ['u1-amd64'] }), [build('amd64')], nothing)).toEqual([]);
  });
});
