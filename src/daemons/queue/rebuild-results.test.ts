// A rebuild's report on the queue's side: only the worker that holds the rebuild ends it; a
// report from any other (a worker that echoes the first build's hashes, published in the
// indices, to get a statement signed) keeps nothing and signs nothing.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { scratchDir } from '../../../test/support/scratch.js';
import type { JobRecord } from '../../core/jobs.js';
import { Layout } from '../../storage/layout.js';
import { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';
import { RebuildResults } from './rebuild-results.js';
import type { WorkerRegistry } from './worker-registry.js';

/** A build and its rebuild, leased to w/2, on the queue's side with its own leasing (where the holder is checked), saving nowhere. */
function rebuilding() {
  const layout = new Layout(scratchDir('aib-rebuilds-'));
  const sha = 'a'.repeat(64);
  const build = { id: 'u1-amd64', kind: 'build', source: 'hello', version: '1.0-1', arch: 'amd64', state: 'built', worker: 'w/1', binaries: [{ path: 'pool/main/h/hello/hello_1.0-1_amd64.deb', sha256: sha }], artifacts: [] } as unknown as JobRecord;
  const rebuild = { ...build, id: 'u1-amd64-rebuild', kind: 'rebuild', of: 'u1-amd64', state: 'building', lease: { builder: 'w/2', expiresAt: '' }, binaries: [] } as unknown as JobRecord;
  const jobs = new Map([[build.id, build], [rebuild.id, rebuild]]);
  const saved: JobRecord[] = [];
  const q = { layout, jobs: { get: (id: string) => jobs.get(id), all: () => [...jobs.values()] }, log: () => undefined } as unknown as QueueContext;
  const leasing = new JobLeasing(q, {} as WorkerRegistry);
  leasing.save = async (j: JobRecord) => void saved.push(j);
  const report = { outcome: 'rebuilt' as const, packages: [{ name: 'hello_1.0-1_amd64.deb', sha256: sha }], seconds: 1, tool: 't', differences: [] };
  return { layout, build, rebuild, jobs, saved, q, leasing, report };
}

describe('a rebuild report', () => {
  it('from a worker that does not hold the rebuild is refused before anything is kept or signed', async () => {
    const { layout, build, rebuild, saved, q, leasing, report } = rebuilding();
    await expect(new RebuildResults(q, leasing).complete(rebuild.id, 'w/9', report)).rejects.toThrow('not leased to w/9');
    await expect(new RebuildResults(q, leasing).complete(build.id, 'w/1', report)).rejects.toThrow('job u1-amd64 is not leased to w/1 (it is built)');
    expect(saved).toEqual([]);
    expect(existsSync(layout.reproducible)).toBe(false);
    expect(existsSync(layout.rebuilderSecretKey)).toBe(false);
    expect(readdirSync(layout.root)).toEqual([]);
  });

  it('whose verdict could not be recorded leaves no signed statement public; nor does one a crash cut short, once the queue starts again', async () => {
    const { layout, rebuild, jobs, q, leasing, report } = rebuilding();
    const statement = join(layout.public, 'reproducible/hello/u1-amd64-rebuild/statement.json.asc');
    mkdirSync(layout.state, { recursive: true });
    // The rebuilder key's gpg home (made in the temporary folder) in this test's own, removed with it.
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = scratchDir('aib-rebuilder-home-');
    onTestFinished(() => {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    });
    leasing.save = async () => {
      // The statement is signed by now; the record cannot be written (the disk).
      expect(existsSync(statement)).toBe(true);
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    await expect(new RebuildResults(q, leasing).complete(rebuild.id, 'w/2', report)).rejects.toThrow('ENOSPC');
    expect(existsSync(statement)).toBe(false);
    // A crash between the statement and the record: the rebuild is still building at the start.
    mkdirSync(join(layout.public, 'reproducible/hello/u1-amd64-rebuild'), { recursive: true });
    writeFileSync(statement, 'signed before a crash');
    // Another rebuild's, recorded (built, its statement signed), stays.
    const recorded = { ...rebuild, id: 'u0-amd64-rebuild', of: 'u0-amd64', state: 'built', lease: undefined } as JobRecord;
    jobs.set(recorded.id, recorded);
    mkdirSync(join(layout.public, 'reproducible/hello/u0-amd64-rebuild'), { recursive: true });
    writeFileSync(join(layout.public, 'reproducible/hello/u0-amd64-rebuild/statement.json.asc'), 'signed with its verdict');
    await new RebuildResults(q, leasing).dropUnrecorded();
    expect(existsSync(statement)).toBe(false);
    expect(existsSync(join(layout.public, 'reproducible/hello/u0-amd64-rebuild/statement.json.asc'))).toBe(true);
  }, 60_000);
});
