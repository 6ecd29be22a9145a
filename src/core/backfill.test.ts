import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.js';
import { backfillJobs } from './backfill.js';
import { newBuildJob, type JobRecord } from './jobs.js';
import { emptyContents, withSource, type SuiteContents } from './suite-contents.js';
import type { UploadRecord } from './uploads.js';

const at = '2026-12-01T12:00:00.000Z';
const upload = (id: string, source: string, version: string, suite = 'unstable'): UploadRecord => ({
  id, changes: `${source}_${version}_source.changes`, source, version, distribution: suite, suite, state: 'published', receivedAt: at, updatedAt: at, reasons: [], sourceFiles: [], jobs: [`${id}-amd64`],
});
/** The upload's jobs as they exist: amd64, built -b (any and all) unless told. */
const existing = (u: UploadRecord, buildArg: '-b' | '-B' | '-A' = '-b') => (id: string): JobRecord | undefined =>
  id === `${u.id}-amd64` ? newBuildJob(u, { name: 'unstable', base: 'trixie' }, { arch: 'amd64', buildArg }, at) : undefined;
const published = (u: UploadRecord, architecture: string, suite = 'unstable'): SuiteContents =>
  withSource(emptyContents(suite), { source: u.source, version: u.version, component: 'main', stanza: [['Package', u.source], ['Architecture', architecture]], files: [], uploadId: u.id });

describe('back-fill of an architecture added to a suite', () => {
  const config = parseConfig('suites:\n  unstable:\n    architectures: [amd64, armhf]\n', 'archive.yaml');
  const hello = upload('u1', 'hello', '1.0-1');

  it('makes a build on the new architecture of each published source that builds there', () => {
    const plans = backfillJobs(config, [published(hello, 'any all')], () => hello, existing(hello), at);
    expect(plans).toHaveLength(1);
    expect(plans[0].jobs).toEqual([expect.objectContaining({ id: 'u1-armhf', arch: 'armhf', buildArg: '-B', state: 'needs-build', source: 'hello', version: '1.0-1', suite: 'unstable', base: 'trixie' })]);
  });

  it('makes nothing twice: a job that exists, in whatever state, is not made again', () => {
    const all = (id: string) => newBuildJob(hello, { name: 'unstable', base: 'trixie' }, { arch: id.slice(3), buildArg: '-B' }, at);
    expect(backfillJobs(config, [published(hello, 'any')], () => hello, all, at)).toEqual([]);
  });

  it('makes nothing for a source that does not build there, nor for arch:all (built once, on arch_all)', () => {
    expect(backfillJobs(config, [published(hello, 'any-amd64')], () => hello, existing(hello), at)).toEqual([]);
    expect(backfillJobs(config, [published(hello, 'all')], () => hello, existing(hello, '-A'), at)).toEqual([]);
  });

  it('leaves a copy to its origin suite, and a source whose upload is not the published version', () => {
    const copied = { ...hello, suite: 'experimental' };
    const none = () => undefined;
    expect(backfillJobs(config, [published(hello, 'any')], () => copied, none, at)).toEqual([]);
    expect(backfillJobs(config, [published(hello, 'any')], () => ({ ...hello, version: '0.9-1' }), none, at)).toEqual([]);
    expect(backfillJobs(config, [published(hello, 'any')], () => undefined, none, at)).toEqual([]);
  });

  it('builds arch:all packages once: not again when arch_all changed since they were built elsewhere', () => {
    const moved = parseConfig('suites:\n  unstable:\n    architectures: [amd64, armhf]\nbuilds:\n  arch_all: armhf\n', 'archive.yaml');
    const plans = backfillJobs(moved, [published(hello, 'any all')], () => hello, existing(hello), at);
    expect(plans[0].jobs.map((j) => [j.arch, j.buildArg])).toEqual([['armhf', '-B']]);
  });
});
