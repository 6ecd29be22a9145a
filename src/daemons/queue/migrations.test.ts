// A migration run on the queue's side: what it copies of the decisions it made.
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../../test/support/scratch.js';
import { parseConfig } from '../../config/config.js';
import type { JobRecord } from '../../core/jobs.js';
import { installabilityJobId, targetDigest } from '../../core/migration.js';
import { emptyContents, withCopy, withSource, type SuiteBinary, type SuiteContents } from '../../core/suite-contents.js';
import type { UploadRecord } from '../../core/uploads.js';
import { Layout } from '../../storage/layout.js';
import type { JobLeasing } from './job-leasing.js';
import { Migrations } from './migrations.js';
import { asFailedPublication } from './publishing.js';
import type { QueueContext } from './queue-context.js';

const config = parseConfig('suites:\n  unstable:\n    qa: []\n  testing:\n    migrate_from: unstable\n', 'archive.yaml');
const binary = (name: string): SuiteBinary => ({
  package: name, version: '1.0-1', arch: 'amd64', source: name, sourceVersion: '1.0-1', component: 'main', origin: 'built', path: `pool/main/${name}_1.0-1_amd64.deb`, size: 1, debug: false,
});
const upload = (name: string): UploadRecord => ({
  id: `${name}_1.0-1`, changes: '', source: name, version: '1.0-1', distribution: 'unstable', suite: 'unstable', state: 'published', receivedAt: '2026-01-01T00:00:00Z', updatedAt: '', reasons: [], sourceFiles: [], jobs: [`${name}-amd64`],
});
const build = (name: string): JobRecord => ({
  id: `${name}-amd64`, kind: 'build', uploadId: `${name}_1.0-1`, source: name, version: '1.0-1', suite: 'unstable', base: 'trixie', arch: 'amd64', buildArg: '-b', state: 'built', attempts: 1, createdAt: '', updatedAt: '', binaries: [], artifacts: [],
});
/** Its build's installability in testing, answered (it installs) for testing as `against` says. */
const installs = (name: string, against: string): JobRecord => ({
  ...build(name), id: installabilityJobId(`${name}-amd64`, 'testing'), kind: 'installability', of: `${name}-amd64`, suite: 'testing', against,
  qa: { verdict: 'pass', tool: 'apt-get install --simulate', seconds: 1, counts: {}, findings: [], summary: 'installs' },
});

describe('a migration run', () => {
  it('copies one ready source, not another whose installability was checked against the target before that copy changed it; that one is checked again', async () => {
    const layout = new Layout(scratchDir('aib-migrations-'));
    mkdirSync(layout.state, { recursive: true });
    const src = (name: string) => ({ source: name, version: '1.0-1', component: 'main', stanza: [], files: [], uploadId: `${name}_1.0-1` });
    const contents = new Map<string, SuiteContents>([
      ['unstable', { ...withSource(withSource(emptyContents('unstable'), src('app')), src('lib')), binaries: [binary('app'), binary('lib')] }],
      ['testing', emptyContents('testing')],
    ]);
    const empty = targetDigest(emptyContents('testing'));
    const uploads = new Map(['app', 'lib'].map((n) => [`${n}_1.0-1`, upload(n)]));
    const jobs = new Map([build('app'), build('lib'), installs('app', empty), installs('lib', empty)].map((j) => [j.id, j]));
    const copied: string[] = [];
    const q = {
      layout,
      config: () => config,
      log: () => undefined,
      statusChanged: () => undefined,
      publish: async () => undefined,
      uploads: { get: (id: string) => uploads.get(id) },
      jobs: { all: () => [...jobs.values()], get: (id: string) => jobs.get(id) },
      suites: {
        all: () => [...contents.values()],
        copy: async (source: string, from: string, to: string, version?: string) => {
          copied.push(`${source} ${version}`);
          contents.set(to, withCopy(contents.get(from)!, contents.get(to)!, source, ['amd64'], false).contents);
          return { ok: true, message: `copied ${source}` };
        },
      },
    } as unknown as QueueContext;
    const leasing = { save: async (j: JobRecord) => void jobs.set(j.id, j) } as unknown as JobLeasing;
    // Its publication fails (a signing that timed out): the copy is saved, the next scan publishes.
    const logged: string[] = [];
    Object.assign(q, { publish: async () => Promise.reject(asFailedPublication(new Error('gpg: signing failed: Timeout'))), log: (line: string) => void logged.push(line) });
    const migrations = new Migrations(q, leasing);
    const decisions = await migrations.run();
    expect(migrations.publishNote).toBe('; not published yet (gpg: signing failed: Timeout): the queue publishes it again at its next scan');
    expect(logged.some((l) => l.startsWith('publishing (migrated app 1.0-1) failed, tried again at the next scan: Error: gpg: signing failed: Timeout'))).toBe(true);
    // The version decided on is what is copied (a copy earlier in the run may have brought `from` another).
    expect(copied).toEqual(['app 1.0-1']);
    // lib's check is asked again, for testing as it is now (app in it).
    const now = targetDigest(contents.get('testing')!);
    expect(now).not.toBe(empty);
    expect(jobs.get(installabilityJobId('lib-amd64', 'testing'))).toMatchObject({ state: 'needs-build', against: now });
    expect(decisions).toMatchObject([{ source: 'lib', migrates: false, reasons: ['installability in testing on amd64: being checked'] }]);
  });
});
