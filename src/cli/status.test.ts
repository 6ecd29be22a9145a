// What archive status says of each upload: its jobs and QA checks, found through one index of
// the jobs (not a pass over every job per upload), in the order the pass gave them.
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../core/jobs.js';
import type { UploadRecord } from '../core/uploads.js';
import { uploadViews } from './status.js';

const at = '2026-11-29T10:00:00.000Z';
const upload = (source: string, jobs: string[]): UploadRecord => ({
  id: `${source}-1.0-1`, changes: `${source}_1.0-1_source.changes`, source, version: '1.0-1', distribution: 'unstable', suite: 'unstable',
  state: 'accepted', receivedAt: at, updatedAt: at, reasons: [], sourceFiles: [], jobs,
});
const job = (id: string, uploadId: string, arch: string, extra: Partial<JobRecord> = {}): JobRecord => ({
  id, kind: 'build', uploadId, source: uploadId.split('-')[0], version: '1.0-1', suite: 'unstable', base: 'trixie', arch, buildArg: '-B',
  state: 'built', attempts: 1, createdAt: at, updatedAt: at, binaries: [], artifacts: [], ...extra,
});

describe('archive status: each upload', () => {
  it('lists its jobs in the order they were read, once each, and its QA checks by architecture and check', () => {
    const a = upload('a', ['a-arm64', 'a-amd64', 'a-amd64']);
    const b = upload('b', ['b-amd64', 'gone']);
    const c = upload('c', []);
    const jobs = [
      job('b-amd64', b.id, 'amd64', { state: 'failed', reason: 'dpkg-buildpackage failed' }),
      job('a-amd64', a.id, 'amd64'),
      job('a-piuparts-arm64', a.id, 'arm64', { kind: 'piuparts', of: 'a-arm64' }),
      job('a-lintian-arm64', a.id, 'arm64', { kind: 'lintian', of: 'a-arm64' }),
      job('a-arm64', a.id, 'arm64', { state: 'building', worker: 'w/1' }),
      job('a-lintian-amd64', a.id, 'amd64', { kind: 'lintian', of: 'a-amd64', state: 'needs-build' }),
      job('b-lintian-amd64', b.id, 'amd64', { kind: 'lintian', of: 'b-amd64' }),
    ];
    const views = uploadViews([a, b, c], jobs, []);
    expect(views.map((u) => u.id)).toEqual([a.id, b.id, c.id]);
    expect(views[0].jobs.map((j) => [j.id, j.state, j.worker])).toEqual([['a-amd64', 'built', undefined], ['a-arm64', 'building', 'w/1']]);
    expect(views[0].qa.map((v) => v.id)).toEqual(['a-lintian-amd64', 'a-lintian-arm64', 'a-piuparts-arm64']);
    expect(views[1].jobs).toEqual([
      {
        id: 'b-amd64', kind: 'build', worker: undefined, waitingFor: undefined, arch: 'amd64', emulated: false, buildArg: '-B', state: 'failed', attempts: 1,
        reason: 'dpkg-buildpackage failed', missing: undefined, log: undefined, image: undefined, depsKey: undefined, startedAt: undefined, finishedAt: undefined,
      },
    ]);
    expect(views[1].qa.map((v) => v.id)).toEqual(['b-lintian-amd64']);
    expect(views[2]).toMatchObject({ jobs: [], qa: [] });
  });
});
