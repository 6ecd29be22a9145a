import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.js';
import { backfillJobs } from './backfill.js';
import { emptyContents, withSource, type SuiteContents } from './suite-contents.js';
import type { UploadRecord } from './uploads.js';

const at = '2026-12-01T12:00:00.000Z';
const upload = (id: string, source: string, version: string, suite = 'unstable'): UploadRecord => ({
  id, changes: `${source}_${version}_source.changes`, source, version, distribution: suite, suite, state: 'published', receivedAt: at, updatedAt: at, reasons: [], sourceFiles: [], jobs: [`${id}-amd64`],
});
const published = (u: UploadRecord, architecture: string, suite = 'unstable'): SuiteContents =>
  withSource(emptyContents(suite), { source: u.source, version: u.version, component: 'main', stanza: [['Package', u.source], ['Architecture', architecture]], files: [], uploadId: u.id });

describe('back-fill of an architecture added to a suite', () => {
  const config = parseConfig('suites:\n  unstable:\n    architectures: [amd64, armhf]\n', 'archive.yaml');
  const hello = upload('u1', 'hello', '1.0-1');

  it('makes a build on the new architecture of each published source that builds there', () => {
    const plans = backfillJobs(config, [published(hello, 'any all')], () => hello, (id) => id === 'u1-amd64', at);
    expect(plans).toHaveLength(1);
    expect(plans[0].jobs).toEqual([expect.objectContaining({ id: 'u1-armhf', arch: 'armhf', buildArg: '-B', state: 'needs-build', source: 'hello', version: '1.0-1', suite: 'unstable', base: 'trixie' })]);
  });

  it('makes nothing twice: a job that exists, in whatever state, is not made again', () => {
    expect(backfillJobs(config, [published(hello, 'any')], () => hello, () => true, at)).toEqual([]);
  });

  it('makes nothing for a source that does not build there, nor for arch:all (built once, on arch_all)', () => {
    expect(backfillJobs(config, [published(hello, 'any-amd64')], () => hello, (id) => id === 'u1-amd64', at)).toEqual([]);
    expect(backfillJobs(config, [published(hello, 'all')], () => hello, (id) => id === 'u1-amd64', at)).toEqual([]);
  });

  it('leaves a copy to its origin suite, and a source whose upload is not the published version', () => {
    const copied = { ...hello, suite: 'experimental' };
    expect(backfillJobs(config, [published(hello, 'any')], () => copied, () => false, at)).toEqual([]);
    expect(backfillJobs(config, [published(hello, 'any')], () => ({ ...hello, version: '0.9-1' }), () => false, at)).toEqual([]);
    expect(backfillJobs(config, [published(hello, 'any')], () => undefined, () => false, at)).toEqual([]);
  });
});
