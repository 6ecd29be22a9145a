import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_INCLUDE_FILES } from '../../core/queue-requests.js';
import { ContentsError, NothingToRemove } from '../../core/suite-contents.js';
import type { JobRecord } from '../../core/jobs.js';
import type { UploadRecord } from '../../core/uploads.js';
import { RecordStore } from '../../storage/record-store.js';
import { Layout } from '../../storage/layout.js';
import { CliRequests } from './cli-requests.js';
import type { JobLeasing } from './job-leasing.js';
import type { Migrations } from './migrations.js';
import { asFailedPublication } from './publishing.js';
import type { RebuildResults } from './rebuild-results.js';
import type { QueueContext } from './queue-context.js';
import type { WorkerRegistry } from './worker-registry.js';

// Request files are written by whoever can write state/requests (the queue's user; root through
// the CLI): what is wrong with one is its answer, and the queue goes on. On a real folder.
let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));
/** A new archive root with its requests folder. */
function freshRoot(): { layout: Layout; dir: string } {
  root = mkdtempSync(join(tmpdir(), 'aib-requests-'));
  const layout = new Layout(root);
  mkdirSync(layout.requests, { recursive: true });
  return { layout, dir: layout.requests };
}

describe('requests the queue cannot carry out', () => {
  it('are answered with what is wrong and removed: not JSON, a FIFO (never opened), a folder, an unknown action, one over the size cap', async () => {
    const { layout, dir } = freshRoot();
    writeFileSync(join(dir, '1-a.request.json'), '{"action": "rm", "sou');
    execFileSync('mkfifo', [join(dir, '2-b.request.json')]);
    mkdirSync(join(dir, '3-c.request.json'));
    writeFileSync(join(dir, '4-d.request.json'), JSON.stringify({ action: 'format-disk' }));
    // Over the cap (16 MiB; 10,000 file names take about 1 MB): refused unread.
    writeFileSync(join(dir, '5-e.request.json'), '');
    truncateSync(join(dir, '5-e.request.json'), 16 * 1024 * 1024 + 1);
    // An include of more files than one brings (one-letter names: well under the size cap), or of one file twice.
    writeFileSync(join(dir, '6-f.request.json'), JSON.stringify({ action: 'include', files: Array.from({ length: MAX_INCLUDE_FILES + 1 }, (_, i) => `${i}`) }));
    writeFileSync(join(dir, '7-g.request.json'), JSON.stringify({ action: 'include', files: ['a_1_all.deb', 'b_1_all.deb', 'a_1_all.deb'] }));
    const logged: string[] = [];
    const q = { layout, log: (m: string) => logged.push(m) } as unknown as QueueContext;
    // Nothing of the queue is needed to refuse them: a request that reached the queue's parts would fail here.
    await new CliRequests(q, {} as JobLeasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults).handleAll();
    const answer = (id: string) => JSON.parse(readFileSync(join(dir, `${id}.answer.json`), 'utf8')) as { ok: boolean; message: string };
    expect(answer('1-a')).toMatchObject({ ok: false, message: expect.stringMatching(/^state\/requests\/1-a\.request\.json: not JSON/) });
    expect(answer('2-b')).toMatchObject({ ok: false, message: expect.stringMatching(/2-b\.request\.json: not a regular file \(a FIFO\)/) });
    expect(answer('3-c')).toMatchObject({ ok: false, message: expect.stringMatching(/3-c\.request\.json: not a regular file \(a directory\)/) });
    expect(answer('4-d')).toMatchObject({ ok: false, message: expect.stringMatching(/unknown action "format-disk"/) });
    expect(answer('5-e')).toMatchObject({ ok: false, message: expect.stringMatching(/5-e\.request\.json: 16777217 bytes; a request has at most 16777216/) });
    expect(answer('6-f')).toMatchObject({ ok: false, message: expect.stringMatching(/6-f\.request\.json: include: 200001 files; one include brings at most 200000$/) });
    expect(answer('7-g')).toMatchObject({ ok: false, message: expect.stringMatching(/7-g\.request\.json: include: "a_1_all\.deb" named twice$/) });
    expect(readdirSync(dir).filter((n) => n.endsWith('.request.json'))).toEqual([]);
    // Answers are their reader's alone (one may carry a new worker's token).
    expect(statSync(join(dir, '4-d.answer.json')).mode & 0o777).toBe(0o600);
    expect(logged).toHaveLength(7);
  });
});

describe('the files a request staged', () => {
  // A few are removed by the queue itself, many (or a tree) by rm(1): both ways, all of them and nothing a link leads to.
  it.each([
    ['a few', 3, false],
    ['many, in a tree', 100, true],
  ])('are removed once it is answered (%s), without following a link out of them', async (_, files, tree) => {
    const { layout, dir } = freshRoot();
    const staged = join(dir, '7-g.files');
    mkdirSync(tree ? join(staged, 'sub') : staged, { recursive: true });
    for (let i = 0; i < files; i++) writeFileSync(join(staged, `f${i}.deb`), 'x');
    const outside = join(root, 'keep-me');
    mkdirSync(outside);
    writeFileSync(join(outside, 'file'), 'kept');
    symlinkSync(outside, join(staged, tree ? 'sub' : '', 'link'));
    writeFileSync(join(dir, '7-g.request.json'), JSON.stringify({ action: 'format-disk' }));
    const q = { layout, log: () => undefined } as unknown as QueueContext;
    await new CliRequests(q, {} as JobLeasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults).handleAll();
    for (let i = 0; i < 100 && readdirSync(dir).some((n) => n.startsWith('7-g.files')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(dir).sort()).toEqual(['7-g.answer.json']);
    expect(readFileSync(join(outside, 'file'), 'utf8')).toBe('kept');
  });
});

describe('a request carried out again after a crash', () => {
  it('is answered what its change answered once saved, when the crash came during its publication: rm finds nothing left then; rm keeps an upload held back from joining later', async () => {
    const { layout, dir } = freshRoot();
    writeFileSync(join(dir, '1-rm.request.json'), JSON.stringify({ action: 'rm', source: 'foo', suite: 'unstable' }));
    let removed = false;
    const cancelled: string[] = [];
    const suites = {
      remove: async (source: string, suite: string) => {
        if (removed) throw new ContentsError(`${suite} has no source package or binaries from ${source}; see archive ls --suite ${suite}`);
        removed = true;
        return { ok: true, message: `removed ${source} from ${suite}: 1 source package(s), 2 binary package(s)` };
      },
    };
    // One build of foo not started yet: cancelled by the first call.
    let pending = 1;
    const leasing = { cancel: async (_: string, source: string) => { cancelled.push(source); const n = pending; pending = 0; return n; } } as unknown as JobLeasing;
    // Uploads of foo: one in the suite, one held back (publish_requires) that has not joined it; one of bar, held too.
    const uploads = await new RecordStore<UploadRecord>(layout.uploads).load();
    const upload = (id: string, source: string, version: string, inSuite: boolean) =>
      ({ id, changes: `${id}.changes`, source, version, distribution: 'unstable', suite: 'unstable', state: inSuite ? 'published' : 'held', receivedAt: '', updatedAt: '', reasons: [], sourceFiles: [], jobs: [], inSuite }) as UploadRecord;
    for (const u of [upload('u1', 'foo', '1.0-1', true), { ...upload('u2', 'foo', '2.0-1', false), jobs: ['j2'] }, upload('u3', 'bar', '1.0-1', false)]) await uploads.save(u);
    // u2's build, done and waiting for the gates.
    const jobs = await new RecordStore<JobRecord>(layout.jobs).load();
    await jobs.save({ id: 'j2', kind: 'build', source: 'foo', version: '2.0-1', arch: 'amd64', suite: 'unstable', uploadId: 'u2', state: 'built', attempts: 1 } as unknown as JobRecord);
    const queue = (publish: () => Promise<void>) =>
      new CliRequests({ layout, log: () => undefined, config: () => ({ suites: [{ name: 'unstable' }] }), suites, uploads, jobs, publish, statusChanged: () => undefined } as unknown as QueueContext, leasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults);
    // Killed while it publishes (a queue that never comes back from its publication: an error
    // thrown there would be answered): no answer, the request stays.
    let publishing = false;
    void queue(() => ((publishing = true), new Promise<void>(() => undefined))).handleAll();
    while (!publishing) await new Promise((r) => setTimeout(r, 5));
    expect(readdirSync(dir).sort()).toEqual(['1-rm.attempt', '1-rm.made.json', '1-rm.request.json']);
    // The next start carries it out again: published, answered as the first time, not "nothing to remove".
    let published = 0;
    await queue(async () => void published++).handleAll();
    expect(JSON.parse(readFileSync(join(dir, '1-rm.answer.json'), 'utf8'))).toEqual({ ok: true, message: 'removed foo from unstable: 1 source package(s), 2 binary package(s)' });
    // Its builds cancelled (again: a crash may have come before they were), published once.
    expect([published, cancelled, pending]).toEqual([1, ['foo', 'foo'], 0]);
    // Its upload held back is done with joining the suite (its builds' end, a verdict, a restart bring it no more); bar's is not.
    expect(['u1', 'u2', 'u3'].map((id) => uploads.get(id)!.inSuite)).toEqual([true, true, false]);
    // And cancelled, saying why, whatever its builds do next (core/uploads.ts); the published one stays so.
    expect(['u1', 'u2', 'u3'].map((id) => uploads.get(id)!.state)).toEqual(['published', 'cancelled', 'held']);
    expect(uploads.get('u2')!.reasons).toEqual(['foo was removed from unstable (archive rm)']);
    expect(jobs.get('j2')!.inSuite).toBe(true);
    expect(readdirSync(dir)).toEqual(['1-rm.answer.json']);
  });
});

describe('archive rm of a source its suite holds nothing of yet', () => {
  it('cancels its upload on its way there (builds not all in: wait_for_all_architectures) and says so; with nothing on its way either, it is refused', async () => {
    const { layout, dir } = freshRoot();
    const nothing = (source: string) => new NothingToRemove(`unstable has no source package or binaries from ${source}; see archive ls --suite unstable`);
    const suites = { remove: async (source: string) => Promise.reject(nothing(source)) };
    let pending = 1;
    const leasing = { cancel: async (_: string, source: string) => (source === 'foo' ? ((pending = 0), 1) : 0) } as unknown as JobLeasing;
    const uploads = await new RecordStore<UploadRecord>(layout.uploads).load();
    await uploads.save({ id: 'u2', changes: 'u2.changes', source: 'foo', version: '2.0-1', distribution: 'unstable', suite: 'unstable', state: 'building', receivedAt: '', updatedAt: '', reasons: [], sourceFiles: [], jobs: ['j2'], inSuite: false } as UploadRecord);
    const jobs = await new RecordStore<JobRecord>(layout.jobs).load();
    const q = { layout, log: () => undefined, config: () => ({ suites: [{ name: 'unstable' }] }), suites, uploads, jobs, publish: async () => undefined, statusChanged: () => undefined };
    writeFileSync(join(dir, '1-rm.request.json'), JSON.stringify({ action: 'rm', source: 'foo' }));
    writeFileSync(join(dir, '2-rm.request.json'), JSON.stringify({ action: 'rm', source: 'bar' }));
    await new CliRequests(q as unknown as QueueContext, leasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults).handleAll();
    const answer = (id: string) => JSON.parse(readFileSync(join(dir, `${id}.answer.json`), 'utf8')) as { ok: boolean; message: string };
    expect(answer('1-rm')).toEqual({ ok: true, message: 'unstable holds nothing of foo yet; 1 job(s) not started yet cancelled; foo 2.0-1, held back, will not join it' });
    expect([pending, uploads.get('u2')!.state, uploads.get('u2')!.inSuite]).toEqual([0, 'cancelled', true]);
    expect(answer('2-rm')).toEqual({ ok: false, message: 'unstable has no source package or binaries from bar; see archive ls --suite unstable' });
  });
});

describe('a worker enrolled before a restart', () => {
  it('is answered again with its token (shown once), not "enrolled already", when the crash came before the answer', async () => {
    const { layout, dir } = freshRoot();
    writeFileSync(join(dir, '1-add.request.json'), JSON.stringify({ action: 'workers-add', name: 'far-box', architectures: [] }));
    let enrolled = 0;
    const token = `aibw1.far-box.${'a'.repeat(64)}`;
    const workers = {
      add: async () => (enrolled++ ? { ok: false, message: 'a worker far-box is enrolled already' } : { ok: true, message: 'worker far-box enrolled', worker: { name: 'far-box', architectures: [], token } }),
    } as unknown as WorkerRegistry;
    const uploads = await new RecordStore<UploadRecord>(layout.uploads).load();
    const jobs = await new RecordStore<JobRecord>(layout.jobs).load();
    const context = { layout, log: () => undefined, config: () => ({ suites: [] }), uploads, jobs, statusChanged: () => undefined } as unknown as QueueContext;
    const queue = () => new CliRequests(context, {} as JobLeasing, workers, {} as Migrations, {} as RebuildResults);
    // The answer cannot be written (a folder in its place, not empty): the queue stops after the enrolment, before answering.
    mkdirSync(join(dir, '1-add.answer.json', 'x'), { recursive: true });
    await expect(queue().handleAll()).rejects.toThrow();
    expect(statSync(join(dir, '1-add.made.json')).mode & 0o777).toBe(0o600);
    rmSync(join(dir, '1-add.answer.json'), { recursive: true, force: true });
    await queue().handleAll();
    expect(enrolled).toBe(1);
    expect(JSON.parse(readFileSync(join(dir, '1-add.answer.json'), 'utf8'))).toMatchObject({ ok: true, worker: { token } });
    // (With the temporary file of the answer that could not be put in place: swept an hour on.)
    expect(readdirSync(dir).filter((n) => !n.includes('.tmp-'))).toEqual(['1-add.answer.json']);
  });
});

describe('a request the queue stops during', () => {
  const setUp = async (remove: () => Promise<unknown>) => {
    const { layout, dir } = freshRoot();
    writeFileSync(join(dir, '1-rm.request.json'), JSON.stringify({ action: 'rm', source: 'foo', suite: 'unstable' }));
    const leasing = { cancel: async () => 0 } as unknown as JobLeasing;
    const uploads = await new RecordStore<UploadRecord>(layout.uploads).load();
    const jobs = await new RecordStore<JobRecord>(layout.jobs).load();
    const suites = { remove };
    const queue = () => new CliRequests({ layout, log: () => undefined, config: () => ({ suites: [{ name: 'unstable' }] }), suites, uploads, jobs, publish: async () => undefined, statusChanged: () => undefined } as unknown as QueueContext, leasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults);
    return { dir, queue };
  };

  it('is begun twice, then answered that it stopped the queue, not tried at every start for ever', async () => {
    let tries = 0;
    // As a .deb that takes all the queue's memory would: the process ends mid-request (here, a
    // queue that never comes back from it, and another one started beside it).
    const { dir, queue } = await setUp(() => {
      tries++;
      return new Promise(() => undefined);
    });
    for (let start = 1; start <= 2; start++) {
      void queue().handleAll();
      while (tries < start) await new Promise((r) => setTimeout(r, 5));
    }
    await queue().handleAll();
    expect(tries).toBe(2);
    expect(JSON.parse(readFileSync(join(dir, '1-rm.answer.json'), 'utf8'))).toEqual({
      ok: false,
      message: 'the queue stopped 2 times while carrying out this request (a crash, or a file in it that stops the queue; queue.log says where); not tried again: see archive status for what it did',
    });
    expect(readdirSync(dir)).toEqual(['1-rm.answer.json']);
  });

  it('is tried again as often as an error the queue goes on after ends it (a full disk), and carried out once it passes', async () => {
    let tries = 0;
    const { dir, queue } = await setUp(async () => {
      if (++tries <= 3) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      return { ok: true, message: 'removed foo from unstable: 1 source package(s), 0 binary package(s)' };
    });
    for (let scan = 1; scan <= 3; scan++) await expect(queue().handleAll()).rejects.toThrow('ENOSPC');
    await queue().handleAll();
    expect(tries).toBe(4);
    expect(JSON.parse(readFileSync(join(dir, '1-rm.answer.json'), 'utf8'))).toMatchObject({ ok: true });
  });
});

describe('a request that fails with an error of its own', () => {
  const setUp = async (suites: Record<string, unknown>, publish: () => Promise<void> = async () => undefined) => {
    const { layout, dir } = freshRoot();
    const uploads = await new RecordStore<UploadRecord>(layout.uploads).load();
    const jobs = await new RecordStore<JobRecord>(layout.jobs).load();
    const leasing = { cancel: async () => 0 } as unknown as JobLeasing;
    const q = { layout, log: () => undefined, config: () => ({ suites: [{ name: 'unstable' }] }), suites, uploads, jobs, publish, statusChanged: () => undefined };
    return { dir, queue: () => new CliRequests(q as unknown as QueueContext, leasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults) };
  };
  const answer = (dir: string, id: string) => JSON.parse(readFileSync(join(dir, `${id}.answer.json`), 'utf8')) as { ok: boolean; message: string };

  it('is answered so and removed, not tried at every scan for ever, and the request after it is carried out in the same scan', async () => {
    // A snapshot whose record the file system refuses (as one of 230 letters was, past NAME_MAX).
    const tooLong = Object.assign(new Error("ENAMETOOLONG: name too long, open 'state/suites/aaa.json.tmp-1-x'"), { code: 'ENAMETOOLONG' });
    const { dir, queue } = await setUp({
      snapshot: async () => Promise.reject(tooLong),
      remove: async (source: string) => ({ ok: true, message: `removed ${source} from unstable` }),
    });
    writeFileSync(join(dir, '1-snap.request.json'), JSON.stringify({ action: 'snapshot', name: 'frozen' }));
    writeFileSync(join(dir, '2-rm.request.json'), JSON.stringify({ action: 'rm', source: 'foo' }));
    await queue().handleAll();
    expect(answer(dir, '1-snap')).toEqual({
      ok: false,
      message: "the queue failed while carrying out this request: ENAMETOOLONG: name too long, open 'state/suites/aaa.json.tmp-1-x'; not tried again (queue.log has the details)",
    });
    expect(answer(dir, '2-rm')).toEqual({ ok: true, message: 'removed foo from unstable' });
    expect(readdirSync(dir).sort()).toEqual(['1-snap.answer.json', '2-rm.answer.json']);
  });

  it('is answered with what its change saved before the error', async () => {
    const { dir, queue } = await setUp({ remove: async (source: string) => ({ ok: true, message: `removed ${source} from unstable` }) });
    const q = queue();
    // The removal saved, then a fault in what it does beside (its uploads cancelled).
    Object.assign(q, { cancelRemoved: async () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'id')")) });
    writeFileSync(join(dir, '1-rm.request.json'), JSON.stringify({ action: 'rm', source: 'foo' }));
    await q.handleAll();
    expect(answer(dir, '1-rm').message).toBe(
      "the queue failed while carrying out this request: Cannot read properties of undefined (reading 'id'); not tried again (queue.log has the details); before that it had: removed foo from unstable",
    );
    expect(readdirSync(dir)).toEqual(['1-rm.answer.json']);
  });

  it('is not one when only the publication of its saved change failed: answered done, not published yet, which the next scan does', async () => {
    const included = { ok: true, message: 'included 1 package(s) into unstable', included: ['foo_1.0_amd64.deb'] };
    const { dir, queue } = await setUp(
      { copy: async () => ({ ok: true, message: 'copied foo 1.0-1 from unstable to testing with 1 binary package(s), no rebuild' }), include: async () => included },
      async () => Promise.reject(asFailedPublication(new Error('gpg: signing failed: Timeout\nmore'))),
    );
    writeFileSync(join(dir, '1-copy.request.json'), JSON.stringify({ action: 'copy', source: 'foo', from: 'unstable', to: 'testing' }));
    writeFileSync(join(dir, '2-include.request.json'), JSON.stringify({ action: 'include', files: [] }));
    await queue().handleAll();
    const later = '; not published yet (gpg: signing failed: Timeout): the queue publishes it again at its next scan';
    expect(answer(dir, '1-copy')).toEqual({ ok: true, message: `copied foo 1.0-1 from unstable to testing with 1 binary package(s), no rebuild${later}` });
    expect(answer(dir, '2-include')).toMatchObject({ ok: true, message: `included 1 package(s) into unstable${later}` });
    expect(readdirSync(dir).sort()).toEqual(['1-copy.answer.json', '2-include.answer.json']);
  });

  it('is one of the queue when what failed was not the publication (a full disk after it was served): thrown, and the request stays to be carried out again', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const { dir, queue } = await setUp({ copy: async () => ({ ok: true, message: 'copied foo' }) }, async () => Promise.reject(full));
    writeFileSync(join(dir, '1-copy.request.json'), JSON.stringify({ action: 'copy', source: 'foo', from: 'unstable', to: 'testing' }));
    await expect(queue().handleAll()).rejects.toThrow('ENOSPC');
    expect(readdirSync(dir).sort()).toEqual(['1-copy.attempt', '1-copy.made.json', '1-copy.request.json']);
  });

  it('is told apart from a failure that passes (a full disk): that one stays, and the request after it is still carried out', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const { dir, queue } = await setUp({
      snapshot: async () => Promise.reject(full),
      remove: async (source: string) => ({ ok: true, message: `removed ${source} from unstable` }),
    });
    writeFileSync(join(dir, '1-snap.request.json'), JSON.stringify({ action: 'snapshot', name: 'frozen' }));
    writeFileSync(join(dir, '2-rm.request.json'), JSON.stringify({ action: 'rm', source: 'foo' }));
    await expect(queue().handleAll()).rejects.toThrow('ENOSPC');
    expect(answer(dir, '2-rm')).toMatchObject({ ok: true });
    // Its try taken back: the full disk is no fault of the request's.
    expect(readdirSync(dir).sort()).toEqual(['1-snap.attempt', '1-snap.request.json', '2-rm.answer.json']);
    expect(readFileSync(join(dir, '1-snap.attempt'), 'utf8').trim()).toBe('0');
  });
});

describe('a request answered already', () => {
  it('is not carried out again when the queue stopped before removing it: its answer stays, and it is removed', async () => {
    const { layout, dir } = freshRoot();
    writeFileSync(join(dir, '1-retry.request.json'), JSON.stringify({ action: 'retry', source: 'foo' }));
    const first = { ok: true, message: 'foo 1.0-1: amd64 queued again', jobs: ['foo_1.0-1-amd64'] };
    writeFileSync(join(dir, '1-retry.answer.json'), JSON.stringify(first));
    // Carried out again, it would find no failed build left (the first time queued it) and answer so.
    const uploads = await new RecordStore<UploadRecord>(layout.uploads).load();
    const jobs = await new RecordStore<JobRecord>(layout.jobs).load();
    const leasing = { save: async () => expect.unreachable('queued again') } as unknown as JobLeasing;
    const q = { layout, log: () => undefined, config: () => ({ suites: [{ name: 'unstable' }] }), uploads, jobs, publish: async () => undefined, statusChanged: () => undefined };
    await new CliRequests(q as unknown as QueueContext, leasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults).handleAll();
    expect(JSON.parse(readFileSync(join(dir, '1-retry.answer.json'), 'utf8'))).toEqual(first);
    expect(readdirSync(dir)).toEqual(['1-retry.answer.json']);
  });
});

describe('a change\'s note someone else put under its name', () => {
  it('is not taken as what the change answered, nor opened to wait on: a FIFO, one over 1 MiB, one not an answer', async () => {
    const { layout, dir } = freshRoot();
    const notes: [string, () => void][] = [
      ['1-fifo', () => execFileSync('mkfifo', [join(dir, '1-fifo.made.json')])],
      ['2-large', () => writeFileSync(join(dir, '2-large.made.json'), JSON.stringify({ ok: true, message: 'x'.repeat(1024 * 1024) }))],
      ['3-other', () => writeFileSync(join(dir, '3-other.made.json'), '{"ok": "yes"}')],
    ];
    for (const [id, plant] of notes) {
      writeFileSync(join(dir, `${id}.request.json`), JSON.stringify({ action: 'rm', source: 'foo', suite: 'unstable' }));
      plant();
    }
    const removed: string[] = [];
    const suites = { remove: async (source: string) => (removed.push(source), { ok: true, message: `removed ${source}` }) };
    const uploads = await new RecordStore<UploadRecord>(layout.uploads).load();
    const jobs = await new RecordStore<JobRecord>(layout.jobs).load();
    const leasing = { cancel: async () => 0 } as unknown as JobLeasing;
    const q = { layout, log: () => undefined, config: () => ({ suites: [{ name: 'unstable' }] }), suites, uploads, jobs, publish: async () => undefined, statusChanged: () => undefined };
    await new CliRequests(q as unknown as QueueContext, leasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults).handleAll();
    // Each carried out as a request never seen before.
    expect(removed).toEqual(['foo', 'foo', 'foo']);
    for (const [id] of notes) expect(JSON.parse(readFileSync(join(dir, `${id}.answer.json`), 'utf8'))).toEqual({ ok: true, message: 'removed foo' });
  });
});

describe('the sweep of what requests left', () => {
  it('removes a staging folder without its request an hour on (a crash between the request\'s removal and the folder\'s), not sooner, nor one whose request waits; a change\'s note once its request is gone; temporary files an hour on', async () => {
    const { layout, dir } = freshRoot();
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);
    for (const id of ['1-old', '2-new', '3-waits']) {
      mkdirSync(join(dir, `${id}.files`));
      writeFileSync(join(dir, `${id}.files`, 'a_1_all.deb'), 'x');
    }
    writeFileSync(join(dir, '3-waits.request.json'), '{}');
    // What a change answered, noted for a request carried out again: kept while its request waits.
    for (const id of ['3-waits', '4-gone']) writeFileSync(join(dir, `${id}.made.json`), '{}');
    // Temporary files of records a crash left: removed an hour on.
    for (const name of ['5-old.answer.json.tmp-77-k3', '6-new.request.json.tmp-78-x9']) writeFileSync(join(dir, name), '{}');
    utimesSync(join(dir, '5-old.answer.json.tmp-77-k3'), hoursAgo(2), hoursAgo(2));
    for (const id of ['1-old', '3-waits']) utimesSync(join(dir, `${id}.files`), hoursAgo(2), hoursAgo(2));
    const q = { layout, log: () => undefined } as unknown as QueueContext;
    await new CliRequests(q, {} as JobLeasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults).sweep();
    expect(readdirSync(dir).sort()).toEqual(['2-new.files', '3-waits.files', '3-waits.made.json', '3-waits.request.json', '6-new.request.json.tmp-78-x9']);
  });
});

describe('the answer to an include', () => {
  it('lists each package that went in only when the request asks (archive include --json), else says how many', async () => {
    const { layout, dir } = freshRoot();
    writeFileSync(join(dir, '1-a.request.json'), JSON.stringify({ action: 'include', files: ['a_1_amd64.deb'], listed: true }));
    writeFileSync(join(dir, '2-b.request.json'), JSON.stringify({ action: 'include', files: ['a_1_amd64.deb'] }));
    const included = [{ package: 'a', version: '1', architecture: 'amd64', path: 'pool/main/a/a/a_1_amd64.deb' }];
    const published: string[] = [];
    // The suite's part answers as SuiteChanges.include does (its own tests are in
    // test/suite-changes.integration.test.ts).
    const suites = { include: async () => ({ ok: true, message: 'included 1 of 1 package(s) into unstable', included, replaced: 0, errors: [] }) };
    const q = {
      layout,
      log: () => undefined,
      suites,
      config: () => ({ suites: [{ name: 'unstable' }] }),
      publish: async (why: string) => void published.push(why),
      statusChanged: () => undefined,
    } as unknown as QueueContext;
    await new CliRequests(q, {} as JobLeasing, {} as WorkerRegistry, {} as Migrations, {} as RebuildResults).handleAll();
    const answer = (id: string) => JSON.parse(readFileSync(join(dir, `${id}.answer.json`), 'utf8')) as Record<string, unknown>;
    expect(answer('1-a')).toEqual({ ok: true, message: 'included 1 of 1 package(s) into unstable', included, replaced: 0, errors: [] });
    expect(answer('2-b')).toEqual({ ok: true, message: 'included 1 of 1 package(s) into unstable', replaced: 0, errors: [] });
    expect(published).toEqual(['include', 'include']);
  });
});
