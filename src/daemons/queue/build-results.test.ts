// What a worker hands in for a job: a QA check (installability included) hands in no files,
// whatever its lease says; the refusal comes before anything touches the disk.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../../core/jobs.js';
import { Layout } from '../../storage/layout.js';
import { BuildResults } from './build-results.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';
import type { SuiteJoining } from './suite-joining.js';

describe('artifacts handed in', () => {
  it('are refused for a check, even from the worker that holds its lease', async () => {
    const layout = new Layout(mkdtempSync(join(tmpdir(), 'aib-results-')));
    const check = (kind: JobRecord['kind']) => ({ id: `j-${kind}`, kind, state: 'building', lease: { builder: 'w/1', expiresAt: '' } }) as JobRecord;
    const jobs = new Map(['lintian', 'piuparts', 'installability'].map((k) => [`j-${k}`, check(k as JobRecord['kind'])]));
    const leasing = { job: (id: string) => jobs.get(id)! } as unknown as JobLeasing;
    const hits: string[] = [];
    const q = { layout, failPoint: (p: string) => hits.push(p) } as unknown as QueueContext;
    const results = new BuildResults(q, leasing, {} as SuiteJoining);
    async function* body() {
      yield Buffer.from('!<arch>\n');
    }
    for (const id of jobs.keys()) {
      await expect(results.artifact(id, 'w/1', 'evil_1.0_amd64.deb', body())).rejects.toMatchObject({ status: 409, message: expect.stringContaining('check, which hands in no files') });
    }
    expect(hits).toEqual([]);
    expect(readdirSync(layout.root)).toEqual([]);
  });
});
