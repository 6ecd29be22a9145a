// What a worker hands in for a job: a QA check (installability included) hands in no files,
// whatever its lease says; the refusal comes before anything touches the disk. A rebuild hands in
// diffoscope's reports and its .buildinfo, each capped.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../../test/support/scratch.js';
import type { JobRecord } from '../../core/jobs.js';
import { refused, type KeyCheck } from '../job-api.js';
import { MAX_ARTIFACT_BYTES } from '../../core/kinds/rebuild.js';
import { Layout } from '../../storage/layout.js';
import { BuildResults } from './build-results.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';
import type { SuiteJoining } from './suite-joining.js';

/** The queue's side of a job's log, on a scratch root with builds.log_mib 1, the job as `job` has it at each call. */
function logResults(job: () => JobRecord): { layout: Layout; results: BuildResults } {
  const layout = new Layout(scratchDir('aib-results-'));
  mkdirSync(join(layout.public, 'logs'), { recursive: true });
  const q = { layout, config: () => ({ builds: { logMiB: 1 } }) } as unknown as QueueContext;
  return { layout, results: new BuildResults(q, { job } as unknown as JobLeasing, {} as SuiteJoining) };
}

/** The key a request was signed with is still its worker's. */
const keyHeld: KeyCheck = () => undefined;

describe('artifacts handed in', () => {
  it('are refused for a check, even from the worker that holds its lease', async () => {
    const layout = new Layout(scratchDir('aib-results-'));
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
      await expect(results.artifact(id, 'w/1', 'evil_1.0_amd64.deb', body(), keyHeld)).rejects.toMatchObject({ status: 409, message: expect.stringContaining('check, which hands in no files') });
    }
    expect(hits).toEqual([]);
    expect(readdirSync(layout.root)).toEqual([]);
  });

  it("are a rebuild's reports and .buildinfo only, each under the cap; what crosses it leaves nothing", async () => {
    const layout = new Layout(scratchDir('aib-results-'));
    const job = { id: 'j-rebuild', kind: 'rebuild', source: 'hello', state: 'building', lease: { builder: 'w/2', expiresAt: '' } } as JobRecord;
    const leasing = { job: () => job } as unknown as JobLeasing;
    const q = { layout, failPoint: () => undefined } as unknown as QueueContext;
    const results = new BuildResults(q, leasing, {} as SuiteJoining);
    async function* bytes(n: number) {
      for (let sent = 0; sent < n; sent += 1024 * 1024) yield Buffer.alloc(Math.min(1024 * 1024, n - sent), 'x');
    }
    await expect(results.artifact('j-rebuild', 'w/2', 'evil_1.0_amd64.deb', bytes(10), keyHeld)).rejects.toMatchObject({ status: 400, message: expect.stringContaining('not evil_1.0_amd64.deb') });
    await expect(results.artifact('j-rebuild', 'w/2', 'diffoscope.html', bytes(MAX_ARTIFACT_BYTES + 1), keyHeld)).rejects.toMatchObject({ status: 413 });
    expect(readdirSync(join(layout.artifacts, 'j-rebuild'))).toEqual([]);
    await results.artifact('j-rebuild', 'w/2', 'diffoscope.txt', bytes(100), keyHeld);
    await results.artifact('j-rebuild', 'w/2', 'hello_1.0-1_amd64.buildinfo', bytes(100), keyHeld);
    expect(readdirSync(join(layout.artifacts, 'j-rebuild')).sort()).toEqual(['diffoscope.txt', 'hello_1.0-1_amd64.buildinfo']);
    expect(readFileSync(join(layout.artifacts, 'j-rebuild', 'diffoscope.txt'), 'utf8')).toBe('x'.repeat(100));
    // Another source's .buildinfo, and a fourth file: refused, as what the job made (400, 413: the
    // worker fails the job rather than give it back to be run again for the same refusal).
    await expect(results.artifact('j-rebuild', 'w/2', 'other_1.0-1_amd64.buildinfo', bytes(10), keyHeld)).rejects.toMatchObject({ status: 400 });
    await results.artifact('j-rebuild', 'w/2', 'diffoscope.html', bytes(10), keyHeld);
    await expect(results.artifact('j-rebuild', 'w/2', 'hello_1.0-1_all.buildinfo', bytes(10), keyHeld)).rejects.toMatchObject({ status: 413, message: expect.stringContaining('3 files already') });
    // Only the holder of the lease hands anything in.
    await expect(results.artifact('j-rebuild', 'w/9', 'diffoscope.txt', bytes(10), keyHeld)).rejects.toMatchObject({ status: 409 });
  });

  it("are a build's files up to builds.output_files and output_gib in all, even sent side by side", async () => {
    const layout = new Layout(scratchDir('aib-results-'));
    const job = { id: 'j-build', kind: 'build', source: 'hello', state: 'building', lease: { builder: 'w/1', expiresAt: '' } } as JobRecord;
    const leasing = { job: () => job } as unknown as JobLeasing;
    const GIB = 1024 ** 3;
    const builds = { outputFiles: 3, outputFileGiB: 1024 / GIB, outputGiB: 1536 / GIB };
    const q = { layout, failPoint: () => undefined, config: () => ({ builds }) } as unknown as QueueContext;
    const results = new BuildResults(q, leasing, {} as SuiteJoining);
    async function* bytes(n: number) {
      yield Buffer.alloc(n, 'x');
    }
    // Two at once: the second counts the first's 1,000 bytes, and is over the 1,536 in all.
    const [a, b] = await Promise.allSettled([results.artifact('j-build', 'w/1', 'a.deb', bytes(1000), keyHeld), results.artifact('j-build', 'w/1', 'b.deb', bytes(1000), keyHeld)]);
    expect(a.status).toBe('fulfilled');
    expect(b).toMatchObject({ status: 'rejected', reason: { status: 413 } });
    await expect(results.artifact('j-build', 'w/1', 'c.deb', bytes(1025), keyHeld)).rejects.toMatchObject({ status: 413 });
    await results.artifact('j-build', 'w/1', 'c.deb', bytes(500), keyHeld);
    await results.artifact('j-build', 'w/1', 'd.buildinfo', bytes(10), keyHeld);
    await expect(results.artifact('j-build', 'w/1', 'e.changes', bytes(1), keyHeld)).rejects.toMatchObject({ status: 409, message: expect.stringContaining('3 files already (builds.output_files)') });
    expect(readdirSync(join(layout.artifacts, 'j-build')).sort()).toEqual(['a.deb', 'c.deb', 'd.buildinfo']);
  });

  it("keep no file sent with the key of a worker removed while it came, though a worker enrolled under its name since holds the job as the same slot", async () => {
    const layout = new Layout(scratchDir('aib-results-'));
    let job = { id: 'j-build', kind: 'build', source: 'hello', state: 'building', lease: { builder: 'w/1', expiresAt: '' }, attempts: 1 } as JobRecord;
    const leasing = { job: () => job } as unknown as JobLeasing;
    const q = { layout, failPoint: () => undefined, config: () => ({ builds: { outputFiles: 10, outputFileGiB: 1, outputGiB: 1 } }) } as unknown as QueueContext;
    const results = new BuildResults(q, leasing, {} as SuiteJoining);
    let removed = false;
    const oldKey: KeyCheck = () => {
      if (removed) throw refused(401, 'signed with a key worker w no longer has');
    };
    const sent = results.artifact('j-build', 'w/1', 'hello_1.0-1_amd64.deb', (async function* () {
      yield Buffer.from('the start of it');
      // Meanwhile archive workers rm w (the job goes back), workers add w, and the new w leases it as w/1.
      removed = true;
      job = { ...job, attempts: 2 } as JobRecord;
      yield Buffer.from(' and a forged rest');
    })(), oldKey);
    await expect(sent).rejects.toMatchObject({ status: 401 });
    expect(readdirSync(join(layout.artifacts, 'j-build'))).toEqual([]);
  });

  it('take a log up to three times builds.log_mib (output that is not UTF-8 triples), with room for the line that says it was cut, and no more', async () => {
    const job = { id: 'j-build', kind: 'build', state: 'building', lease: { builder: 'w/1', expiresAt: '' }, log: 'logs/j-build.log' } as JobRecord;
    const { layout, results } = logResults(() => job);
    const log = (builder: string, text: string) => results.log('j-build', builder, (async function* () { yield Buffer.from(text); })(), keyHeld);
    await log('w/1', '\ufffd'.repeat(1024 ** 2));
    await log('w/1', '[log cut at 1 MiB]\n');
    await expect(log('w/1', 'x'.repeat(64 * 1024))).rejects.toMatchObject({ status: 413 });
    // Another worker's: refused before a byte of its body is read.
    let read = false;
    await expect(results.log('j-build', 'w/2', (async function* () { read = true; yield Buffer.from('x'); })(), keyHeld)).rejects.toMatchObject({ status: 409 });
    expect(read).toBe(false);
    // Sent side by side, each counts what came before it.
    const sideBySide = await Promise.allSettled([log('w/1', 'y'.repeat(40 * 1024)), log('w/1', 'y'.repeat(40 * 1024))]);
    expect(sideBySide.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(statSync(join(layout.public, 'logs/j-build.log')).size).toBe(3 * 1024 ** 2 + 19 + 40 * 1024);
    // A body that is not the signed one (its end throws) adds nothing, and leaves nothing aside.
    const tampered = (async function* () { yield Buffer.from('z'.repeat(1000)); throw new Error('the body is not the one signed'); })();
    await expect(results.log('j-build', 'w/1', tampered, keyHeld)).rejects.toThrow('not the one signed');
    expect(statSync(join(layout.public, 'logs/j-build.log')).size).toBe(3 * 1024 ** 2 + 19 + 40 * 1024);
    expect(readdirSync(layout.artifacts)).toEqual([]);
  });

  it('add nothing a worker sent to a log once its lease has ended while the body came (it ran out, or the worker was revoked)', async () => {
    let job = { id: 'j-build', kind: 'build', state: 'building', lease: { builder: 'w/1', expiresAt: '' }, log: 'logs/j-build.1.log' } as JobRecord;
    const { layout, results } = logResults(() => job);
    const slow = results.log('j-build', 'w/1', (async function* () {
      yield Buffer.from('the start of it\n');
      // Meanwhile the lease runs out and another worker leases the job.
      job = { ...job, lease: { builder: 'w/2', expiresAt: '' }, log: 'logs/j-build.2.log' } as JobRecord;
      yield Buffer.from('the rest\n');
    })(), keyHeld);
    await expect(slow).rejects.toMatchObject({ status: 409 });
    expect(existsSync(join(layout.public, 'logs/j-build.1.log'))).toBe(false);
    expect(readdirSync(layout.artifacts)).toEqual([]);
  });

  /** A build leased to w/1 and reported built, its queue's parts as `q` gives them (with `layout`); the jobs it saved. */
  const completing = (q: (layout: Layout) => Record<string, unknown>) => {
    const layout = new Layout(scratchDir('aib-results-'));
    const job = { id: 'j-build', kind: 'build', source: 'hello', version: '1.0-1', arch: 'amd64', suite: 'unstable', uploadId: 'u', state: 'building', lease: { builder: 'w/1', expiresAt: '' }, attempts: 1 } as unknown as JobRecord;
    const saved: JobRecord[] = [];
    const leasing = { reported: () => job, job: () => job, save: async (j: JobRecord) => void saved.push(j) } as unknown as JobLeasing;
    const results = new BuildResults({ layout, log: () => undefined, failPoint: () => undefined, ...q(layout) } as unknown as QueueContext, leasing, {} as SuiteJoining);
    return { layout, saved, results, dir: join(layout.artifacts, 'j-build'), complete: () => results.complete('j-build', 'w/1', { outcome: 'built', seconds: 1 } as never) };
  };

  it("fail a build whose .changes is larger than an upload's may be, unread", async () => {
    const { saved, dir, complete } = completing(() => ({}));
    mkdirSync(dir, { recursive: true });
    // A gigabyte that costs the disk nothing (sparse): read whole, the queue's memory.
    writeFileSync(join(dir, 'hello_1.0-1_amd64.changes'), 'Format: 1.8\n');
    truncateSync(join(dir, 'hello_1.0-1_amd64.changes'), 1024 ** 3);
    await complete();
    expect(saved.map((j) => [j.state, j.reason])).toEqual([['failed', expect.stringContaining('hello_1.0-1_amd64.changes: 1073741824 bytes; a .changes or .dsc may have at most 4194304 (it was not read)')]]);
  });

  it('check a build\'s files in a folder of their own, which a file the worker still sends does not land in', async () => {
    let sent: Promise<void> | undefined;
    let seen: string[] = [];
    // While the files are checked (their upload's .dsc is looked up), the worker sends one of them again.
    const { saved, results, dir, complete } = completing((layout) => ({
      config: () => ({ suites: [{ name: 'unstable' }], builds: { outputFiles: 10, outputFileGiB: 1, outputGiB: 1 } }),
      uploads: {
        get: () => {
          seen = readdirSync(join(layout.artifacts, 'j-build.checking'));
          // (Refused in the end, as the job is no longer the worker's, or its folder gone.)
          sent = results.artifact('j-build', 'w/1', 'hello_1.0-1_amd64.deb', (async function* () { yield Buffer.from('not the file checked'); })(), keyHeld).catch(() => undefined);
          return undefined;
        },
      },
    }));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hello_1.0-1_amd64.changes'), 'Format: 1.8\nSource: hello\nBinary: hello\nArchitecture: amd64\nVersion: 1.0-1\nDistribution: unstable\nMaintainer: m <m@e.org>\nChanges:\n x\nFiles:\n d41d8cd98f00b204e9800998ecf8427e 0 misc optional hello_1.0-1_amd64.deb\n');
    writeFileSync(join(dir, 'hello_1.0-1_amd64.deb'), '');
    await complete();
    await sent;
    expect(seen.sort()).toEqual(['hello_1.0-1_amd64.changes', 'hello_1.0-1_amd64.deb']);
    expect(saved.map((j) => j.state)).toEqual(['failed']);
    // The file sent meanwhile went to the job's folder, never into the one checked (now removed).
    expect(existsSync(`${dir}.checking`)).toBe(false);
  });

  it('check, when a restart cut a completion short, the files it took aside: the worker\'s retry completes the job with them', async () => {
    let seen: string[] = [];
    const { saved, dir, complete } = completing((layout) => ({
      config: () => ({ suites: [{ name: 'unstable' }] }),
      uploads: { get: () => void (seen = readdirSync(join(layout.artifacts, 'j-build.checking'))) },
    }));
    // Taken aside by the completion the restart cut short; the job's own folder gone.
    mkdirSync(`${dir}.checking`, { recursive: true });
    writeFileSync(join(`${dir}.checking`, 'hello_1.0-1_amd64.changes'), 'Format: 1.8\n');
    await complete();
    // Read there (the check then fails for this test's want of an upload), not "no .changes file".
    expect(seen).toEqual(['hello_1.0-1_amd64.changes']);
    expect(saved.map((j) => j.reason)).toEqual([expect.stringContaining("its upload's .dsc is not known")]);
  });
});
