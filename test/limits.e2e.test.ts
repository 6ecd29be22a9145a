// The archive at its limits, against a running archive on the real engine: publishing requests
// racing each other and a finishing build, two dputs of one version at once, a builder that
// vanishes holding a lease (paused, so nothing restarts it), a build that outlives its time
// limit, a build that floods its log, a build-dependency whose postinst never ends, a build and
// a build-dependency's postinst that fill the disk, and builds whose outputs are links, FIFOs,
// huge or many. One archive for the file; slow builds kept short.
import { createHash } from 'node:crypto';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../src/core/jobs.js';
import type { UploadRecord } from '../src/core/uploads.js';
import { TestArchive, cleanupRun, until, type UpResult } from './support/archive.js';
import { dput, makeBinaryPackage } from './support/packages.js';

// A short lease, so a lost builder costs the test seconds, not 90 s; a small log cap.
const CONFIG = (timeoutMinutes: number, diskGiB = 20) => `suites:
  unstable:
    architectures: [amd64]
  testing:
    architectures: [amd64]
builds:
  concurrency: 1
  lease_seconds: 15
  timeout_minutes: ${timeoutMinutes}
  log_mib: 1
  disk_gib: ${diskGiB}
`;

describe('the archive at its limits', () => {
  let archive: TestArchive;
  let up: UpResult;

  const records = async <T>(kind: 'uploads' | 'jobs'): Promise<T[]> => {
    const dir = join(archive.root, 'state', kind);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as T));
  };
  const jobsOf = async (source: string) => (await records<JobRecord>('jobs')).filter((j) => j.source === source);
  const ok = async (args: string[]) => {
    const r = await archive.cli(args);
    expect(r.exitCode, `archive ${args.join(' ')}:\n${r.all}`).toBe(0);
    return String(r.stdout);
  };
  const publicText = (path: string) => readFile(join(archive.root, 'public', path), 'utf8');
  const queueLog = () => readFile(join(archive.root, 'logs', 'queue.log'), 'utf8');
  const setConfig = (timeoutMinutes: number, diskGiB?: number) => writeFile(join(archive.root, 'archive.yaml'), CONFIG(timeoutMinutes, diskGiB));
  const container = (role: string) => `${up.project}-${role}`;
  const health = async (role: string) => (await execa('docker', ['inspect', '--format', '{{.State.Status}} {{.State.Health.Status}}', container(role)])).stdout.trim();
  const buildContainers = async (jobId: string) =>
    (await execa('docker', ['ps', '-aq', '--filter', `label=archive-in-a-box.build=${jobId}`])).stdout.trim();
  /** The most memory the container's cgroup ever held (v1 max_usage_in_bytes, v2 memory.peak). */
  const peakMemory = async (role: string) => {
    const id = (await execa('docker', ['inspect', '--format', '{{.Id}}', container(role)])).stdout.trim();
    for (const file of [`/sys/fs/cgroup/memory/docker/${id}/memory.max_usage_in_bytes`, `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.peak`, `/sys/fs/cgroup/docker/${id}/memory.peak`]) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text) return Number(text.trim());
    }
    throw new Error(`no memory peak file in /sys/fs/cgroup for container ${container(role)} (${id}); expected cgroup v1 or v2 with the cgroupfs or systemd driver`);
  };

  /** Every served suite and snapshot: InRelease good from the archive key, every index it lists served with its hash. */
  const checkServedDists = async (dists: string[]) => {
    const keyring = join(archive.work, 'archive.gpg');
    await execa('gpg', ['--batch', '--yes', '--dearmor', '--output', keyring, join(archive.root, 'public', 'archive-key.asc')]);
    const listed: Record<string, string[]> = {};
    for (const dist of dists) {
      const file = join(archive.work, `InRelease-${dist}`);
      const res = await fetch(`${up.url}dists/${dist}/InRelease`);
      expect(res.status, `dists/${dist}/InRelease`).toBe(200);
      await writeFile(file, Buffer.from(await res.arrayBuffer()));
      const verify = await execa('gpgv', ['--keyring', keyring, '--output', '-', file], { reject: false, encoding: 'utf8' });
      expect(verify.exitCode, `gpgv dists/${dist}/InRelease:\n${verify.stderr}`).toBe(0);
      const hashes = [...String(verify.stdout).split('SHA256:')[1].matchAll(/^ ([0-9a-f]{64}) +(\d+) (\S+)$/gm)];
      expect(hashes.length, `dists/${dist}/InRelease lists no SHA256 files`).toBeGreaterThan(3);
      for (const [, sha, size, path] of hashes) {
        const got = await fetch(`${up.url}dists/${dist}/${path}`);
        expect(got.status, `dists/${dist}/${path}`).toBe(200);
        const body = Buffer.from(await got.arrayBuffer());
        expect({ path: `${dist}/${path}`, size: body.length, sha: createHash('sha256').update(body).digest('hex') }).toEqual({ path: `${dist}/${path}`, size: Number(size), sha });
      }
      listed[dist] = hashes.map(([, , , p]) => p);
    }
    return listed;
  };
  const packagesOf = async (dist: string) => {
    const text = await (await fetch(`${up.url}dists/${dist}/main/binary-amd64/Packages`)).text();
    const field = (stanza: string, name: string) => stanza.match(new RegExp(`^${name}: (\\S+)$`, 'm'))?.[1];
    return text.split(/\n\n+/).filter((st) => st.trim()).map((st) => `${field(st, 'Package')} ${field(st, 'Version')}`).sort();
  };

  beforeAll(async () => {
    archive = await TestArchive.create();
    await ok(['init', '--port', String(archive.port)]);
    await setConfig(180);
    up = await archive.up();
  });

  afterAll(async () => {
    await archive?.destroy();
    await cleanupRun();
  });

  it('answers copy, snapshot and include requests sent at the same moment as a build finishes, each once, and serves a consistent signed repository', async () => {
    await ok(['include', await makeBinaryPackage(archive.work, { name: 'race-0', version: '1.0-1' })]);
    await archive.send(up, { name: 'race-built', version: '1.0-1', buildScript: 'echo RACE-BUILD && sleep 3' });
    const before = (await queueLog()).match(/request \S+\.request\.json: /g)?.length ?? 0;
    const built = archive.cli(['wait', 'race-built', '1.0-1', '--timeout', '900']);
    let finished = false;
    void built.finally(() => (finished = true));
    // Rounds of requests, each sent all at once, until the build has been published (and one more).
    let round = 0;
    let sent = 0;
    let last = false;
    while (!last) {
      last = finished;
      round++;
      const debs = await Promise.all([1, 2].map((i) => makeBinaryPackage(archive.work, { name: `race-${round}-${i}`, version: '1.0-1' })));
      // Each request publishes on its own, one after the other: on a loaded machine the last of
      // a round waits longer than the CLI's default 60 s.
      const wait = ['--timeout', '900'];
      const results = await Promise.all([
        archive.cli(['copy', `race-${round - 1}${round === 1 ? '' : '-1'}`, 'unstable', 'testing', ...wait]),
        archive.cli(['snapshot', `round-${round}`, ...wait]),
        archive.cli(['include', debs[0], ...wait]),
        archive.cli(['include', debs[1], ...wait]),
      ]);
      sent += results.length;
      for (const r of results) expect(r.exitCode, `${r.command}:\n${r.all}`).toBe(0);
    }
    const waited = await built;
    expect(waited.exitCode, String(waited.all)).toBe(0);
    expect(round).toBeGreaterThan(1);

    // Each request was answered exactly once, and none is left behind. (The queue logs an answer
    // just after the CLI can read it, so the last one's line may come a moment after the CLI has
    // returned: waited for, briefly; more than one line per request still fails.)
    const answered = async () => ((await queueLog()).match(/request \S+\.request\.json: /g)?.length ?? 0) - before;
    await until('every answer to be logged', async () => (await answered()) >= sent, 30_000).catch(() => undefined);
    expect(await answered()).toBe(sent);
    // (The staged files of the last requests are removed out of the queue's lane, after their
    // answers: waited for, briefly.)
    const left = async () => await readdir(join(archive.root, 'state', 'requests'));
    await until('the last staged files to be removed', async () => (await left()).length === 0, 60_000).catch(() => undefined);
    expect(await left()).toEqual([]);

    const snapshots = Array.from({ length: round }, (_, i) => `round-${i + 1}`);
    await checkServedDists(['unstable', 'testing', ...snapshots]);
    const included = Array.from({ length: round }, (_, i) => [`race-${i + 1}-1 1.0-1`, `race-${i + 1}-2 1.0-1`]).flat();
    expect(await packagesOf('unstable')).toEqual(['race-0 1.0-1', ...included, 'race-built 1.0-1'].sort());
    expect(await packagesOf('unstable-debug')).toEqual(['race-built-dbgsym 1.0-1']);
    const copied = ['race-0 1.0-1', ...Array.from({ length: round - 1 }, (_, i) => `race-${i + 1}-1 1.0-1`)];
    expect(await packagesOf('testing')).toEqual(copied.sort());
    // A snapshot is the suite as it was when it was taken: it holds at least what round N-1 included.
    const lastSnapshot = await packagesOf(`round-${round}`);
    expect(lastSnapshot).toEqual(expect.arrayContaining(included.filter((p) => !p.startsWith(`race-${round}-`))));
  });

  // Both dputs write the same file names into incoming/ (dput's local method runs install(1)),
  // so the one that lands last may replace the other before the queue sees it: the queue can
  // only promise never to publish a mix, and to keep and answer every set it takes. The
  // overwritten one, sent again, is then rejected with its reason and kept.
  it('never mixes two dputs of one version with different contents sent at once; the other one, sent again, is rejected with a reason and kept', async () => {
    const specs = ['first', 'second'].map((which) => ({ name: 'race-dput', version: '1.0-1', line: `the ${which} upload`, architecture: 'all' as const }));
    const pkgs = await Promise.all(specs.map((spec) => archive.make(spec)));
    const dscs = await Promise.all(pkgs.map((p) => readFile(join(p.dir, p.dsc), 'utf8')));
    expect(dscs[0]).not.toBe(dscs[1]);
    const sent = await Promise.allSettled(pkgs.map((p) => dput(up.dputConfig, 'archive', p.changesPath, p.dir)));
    // install(1) removes a file before it creates it, and sets its mode after: one copy may find
    // the other's file made in between, or its own file gone before its mode is set (removed by
    // the other copy, or taken by the queue with the other's set), and that dput fails saying so
    // (dput's race, each seen once in CI; its user is told). Both may fail so (seen once in CI):
    // the first is then sent again, alone, as its user would, over what the two left.
    const raced = /File exists|cannot change permissions of '[^']+': No such file or directory/;
    for (const r of sent) if (r.status === 'rejected') expect(String((r.reason as Error).message)).toMatch(raced);
    if (!sent.some((r) => r.status === 'fulfilled')) {
      // dput refuses to send what its .upload log says it sent already.
      for (const f of (await readdir(pkgs[0].dir)).filter((n) => n.endsWith('.upload'))) await rm(join(pkgs[0].dir, f));
      await dput(up.dputConfig, 'archive', pkgs[0].changesPath, pkgs[0].dir);
    }

    // Settled: nothing left in incoming/ and every upload the queue took decided.
    const uploads = await until('both dputs decided', async () => {
      const mine = (await records<UploadRecord>('uploads')).filter((u) => u.source === 'race-dput' || u.changes.startsWith('race-dput'));
      const left = await readdir(up.incoming);
      return left.length === 0 && mine.length > 0 && mine.every((u) => u.state !== 'received') ? mine : undefined;
    }, 120_000);
    const accepted = uploads.filter((u) => u.state !== 'rejected');
    // Every set the queue took and refused is kept whole with its reason.
    for (const u of uploads.filter((x) => x.state === 'rejected')) {
      const dir = join(archive.root, u.rejectedDir!);
      expect(await readFile(join(dir, `${u.changes}.reason`), 'utf8')).toMatch(/^- \[[a-z-]+\] /m);
      expect((await readdir(dir)).sort()).toEqual(expect.arrayContaining([u.changes, `${u.changes}.reason`]));
    }
    if (accepted.length === 0) {
      // The two copies interleaved so that no whole set was left in incoming/: all refused, none published.
      expect((await (await fetch(`${up.url}dists/unstable/main/source/Sources`)).text())).not.toContain('Package: race-dput');
      return;
    }
    expect(accepted.map((u) => u.version)).toEqual(['1.0-1']);
    // The pool holds one upload whole, never a mix of the two.
    const pooled = await publicText(accepted[0].sourceFiles.find((f) => f.name.endsWith('.dsc'))!.path);
    expect(dscs).toContain(pooled);
    const winner = dscs.indexOf(pooled);
    for (const f of accepted[0].sourceFiles) {
      const data = await readFile(join(archive.root, 'public', f.path));
      expect(data.equals(await readFile(join(pkgs[winner].dir, f.name))), `${f.path} is not the ${specs[winner].line}'s file`).toBe(true);
    }
    const served = await until('race-dput in Sources', async () => {
      const sources = await (await fetch(`${up.url}dists/unstable/main/source/Sources`)).text();
      return sources.includes('Package: race-dput') ? sources : undefined;
    }, 60_000);
    expect(served.match(/^Package: race-dput$/gm)).toHaveLength(1);
    expect(served).toContain(createHash('sha256').update(pooled).digest('hex'));
    const loser = 1 - winner;
    // dput refuses to send what its .upload log says it sent already.
    for (const f of (await readdir(pkgs[loser].dir)).filter((n) => n.endsWith('.upload'))) await rm(join(pkgs[loser].dir, f));
    await dput(up.dputConfig, 'archive', pkgs[loser].changesPath, pkgs[loser].dir);
    const again = await until('the second upload rejected', async () =>
      (await records<UploadRecord>('uploads')).find((u) => u.source === 'race-dput' && u.state === 'rejected' && !uploads.some((x) => x.id === u.id)), 120_000);
    // (Its orig tarball differs from the pool's too: both are said.)
    expect(again.reasons).toContainEqual(expect.stringMatching(/^race-dput_1\.0-1_source\.changes: version 1\.0-1 is not newer than 1\.0-1, which the suite already holds/));
    const kept = join(archive.root, again.rejectedDir!);
    for (const f of [pkgs[loser].changes, pkgs[loser].dsc]) {
      expect((await readFile(join(kept, f))).equals(await readFile(join(pkgs[loser].dir, f))), `${f} kept as sent`).toBe(true);
    }
    expect(await readFile(join(kept, `${pkgs[loser].changes}.reason`), 'utf8')).toContain('[version-not-newer]');
    console.log(`race-dput: ${uploads.length} upload(s) taken: ${uploads.map((u) => `${u.state}${u.reasons.length ? ` (${u.reasons.join('; ')})` : ''}`).join(', ')}; ${specs[winner].line} won`);
  });

  it('gives back the job of a builder that stops answering (paused) when its lease runs out, and builds it once when the builder returns', async () => {
    await archive.send(up, { name: 'race-paused', version: '1.0-1', buildScript: 'echo PAUSED-BUILD-STARTED && sleep 10' });
    const leased = await until('the build to start', async () => {
      const job = (await jobsOf('race-paused'))[0];
      return job?.state === 'building' && job.log && (await publicText(job.log)).includes('PAUSED-BUILD-STARTED') ? job : undefined;
    }, 600_000, 500, 1000);
    const builder = container('builder');
    await execa('docker', ['pause', builder]);
    const pausedAt = Date.now();
    try {
      const back = await until('the lease to run out', async () => {
        const job = (await jobsOf('race-paused'))[0];
        return job.state === 'given-back' ? job : undefined;
      }, 120_000);
      // Lease 15 s from the last heartbeat (every 5 s), checked every 2 s.
      expect(Date.now() - pausedAt).toBeLessThan(40_000);
      expect(back).toMatchObject({ attempts: 1, lost: 1, reason: `builder ${leased.lease!.builder} stopped answering` });
      expect(back.lease).toBeUndefined();
      expect(await queueLog()).toContain(`job ${back.id}: lease of ${leased.lease!.builder} expired; now given-back`);
    } finally {
      await execa('docker', ['unpause', builder]);
    }
    const waited = await archive.cli(['wait', 'race-paused', '1.0-1', '--timeout', '900']);
    expect(waited.exitCode, String(waited.all)).toBe(0);
    const [job] = await jobsOf('race-paused');
    expect(job).toMatchObject({ state: 'built', attempts: 2, lost: 1 });
    // Built once: the stale builder's late result was refused, and one build was published.
    expect((await queueLog()).match(new RegExp(`job ${job.id}: built`, 'g'))).toHaveLength(1);
    expect((await packagesOf('unstable')).filter((p) => p.startsWith('race-paused '))).toEqual(['race-paused 1.0-1']);
    expect(await publicText(job.log!.replace('.2.log', '.1.log'))).toContain('PAUSED-BUILD-STARTED');
    expect(await buildContainers(job.id)).toBe('');
    expect(await health('builder')).toMatch(/^running /);
  });

  it('stops a build that outlives its time limit, fails it naming the limit, removes its container and keeps its log', async () => {
    await setConfig(0.5); // 30 s
    await archive.send(up, { name: 'race-slow', version: '1.0-1', buildScript: 'echo SLOW-BUILD-STARTED && sleep 600' });
    const failed = await archive.cli(['wait', 'race-slow', '1.0-1', '--timeout', '600']);
    await setConfig(180);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('the build ran past its time limit of 30 s (builds.timeout_minutes)');
    const [job] = await jobsOf('race-slow');
    expect(job).toMatchObject({ state: 'failed', attempts: 1, reason: 'the build ran past its time limit of 30 s (builds.timeout_minutes)' });
    expect(new Date(job.finishedAt!).getTime() - new Date(job.startedAt!).getTime()).toBeLessThan(300_000);
    // What the build printed before it was stopped is kept (on a loaded machine it may not
    // have reached the build script's own line yet).
    const log = await publicText(job.log!);
    expect(log).toMatch(/^archive-in-a-box: building as builder \(uid 2000\)/m);
    expect(log).toContain('archive-in-a-box: build stopped: the build ran past its time limit of 30 s');
    expect(await buildContainers(job.id)).toBe('');
  });

  it('cuts a build that floods its log at the cap with a note, fails it, and the queue and builder stay healthy and small', async () => {
    await archive.send(up, { name: 'race-flood', version: '1.0-1', buildScript: 'yes FLOOD-0123456789-0123456789-0123456789-0123456789-0123456789' });
    const failed = await archive.cli(['wait', 'race-flood', '1.0-1', '--timeout', '600']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('the build log passed its cap of 1 MiB; the rest of the output was dropped');
    const [job] = await jobsOf('race-flood');
    expect(job).toMatchObject({ state: 'failed', attempts: 1 });
    const logFile = join(archive.root, 'public', job.log!);
    const size = (await stat(logFile)).size;
    // The build's own output stops at 1 MiB; what resolving the build-dependencies printed comes before it.
    expect(size).toBeGreaterThan(900 * 1024);
    expect(size).toBeLessThan(1024 ** 2 + 256 * 1024);
    const log = await readFile(logFile, 'utf8');
    expect(log.trimEnd().split('\n').pop()).toBe('archive-in-a-box: build stopped: the build log passed its cap of 1 MiB; the rest of the output was dropped');
    expect(await buildContainers(job.id)).toBe('');
    for (const role of ['queue', 'builder']) {
      expect(await health(role)).toBe('running healthy');
      const peak = await peakMemory(role);
      console.log(`${role}: memory peak ${Math.round(peak / 1024 ** 2)} MiB`);
      expect(peak, `${role} memory peak`).toBeLessThan(512 * 1024 ** 2);
    }
    // The builder takes the next job as usual.
    await archive.send(up, { name: 'race-after-flood', version: '1.0-1' });
    const after = await archive.cli(['wait', 'race-after-flood', '1.0-1', '--timeout', '900']);
    expect(after.exitCode, String(after.all)).toBe(0);
  });
  it('fails a build whose build-dependency\'s postinst never ends at the time limit, naming it, and the builder takes the next job', async () => {
    await archive.send(up, { name: 'race-sleepy-dep', version: '1.0-1', debianFiles: { 'race-sleepy-dep.postinst': '#!/bin/sh\nset -e\necho SLEEPY-POSTINST\nsleep 100000\n#DEBHELPER#\n' } });
    const dep = await archive.cli(['wait', 'race-sleepy-dep', '1.0-1', '--timeout', '900']);
    expect(dep.exitCode, String(dep.all)).toBe(0);
    // 1 min: resolving and installing must reach the postinst within it on a busy machine.
    await setConfig(1);
    await archive.send(up, { name: 'race-needs-sleepy', version: '1.0-1', buildDepends: ['race-sleepy-dep'] });
    const failed = await archive.cli(['wait', 'race-needs-sleepy', '1.0-1', '--timeout', '240']);
    await setConfig(180);
    expect(failed.exitCode, String(failed.all)).toBe(1);
    const reason = 'installing the build-dependencies ran past the time limit of 1 min (builds.timeout_minutes)';
    expect(failed.stderr).toContain(reason);
    const [job] = await jobsOf('race-needs-sleepy');
    expect(job).toMatchObject({ state: 'failed', attempts: 1, reason });
    expect(new Date(job.finishedAt!).getTime() - new Date(job.startedAt!).getTime()).toBeLessThan(120_000);
    const log = await publicText(job.log!);
    expect(log).toContain('SLEEPY-POSTINST');
    expect(log).toContain(`archive-in-a-box: build stopped: ${reason}`);
    expect(await buildContainers(job.id)).toBe('');
    await archive.send(up, { name: 'race-after-sleepy', version: '1.0-1' });
    const after = await archive.cli(['wait', 'race-after-sleepy', '1.0-1', '--timeout', '900']);
    expect(after.exitCode, String(after.all)).toBe(0);
  });

  it('stops a build that writes past its disk limit into /build, fails it naming builds.disk_gib, and the builder takes the next job', async () => {
    await setConfig(180, 0.1); // 102 MiB
    await archive.send(up, { name: 'race-filler', version: '1.0-1', buildScript: 'dd if=/dev/zero of=fill bs=1M count=400 status=none && echo FILLED-400-MIB && sleep 600' });
    const failed = await archive.cli(['wait', 'race-filler', '1.0-1', '--timeout', '600']);
    await setConfig(180);
    expect(failed.exitCode, String(failed.all)).toBe(1);
    const reason = 'the build wrote past the disk limit of 102 MiB (builds.disk_gib)';
    expect(failed.stderr).toContain(reason);
    const [job] = await jobsOf('race-filler');
    expect(job).toMatchObject({ state: 'failed', attempts: 1, reason });
    const log = await publicText(job.log!);
    expect(log).toContain('FILLED-400-MIB');
    expect(log).toContain(`archive-in-a-box: build stopped: ${reason}`);
    // Stopped well before its time limit: within a few counts of the engine's (every 10 s).
    expect(new Date(job.finishedAt!).getTime() - new Date(job.startedAt!).getTime()).toBeLessThan(300_000);
    expect(await buildContainers(job.id)).toBe('');
    await archive.send(up, { name: 'race-after-filler', version: '1.0-1' });
    const after = await archive.cli(['wait', 'race-after-filler', '1.0-1', '--timeout', '900']);
    expect(after.exitCode, String(after.all)).toBe(0);
  });

  it('stops the installation of a build-dependency whose postinst fills the container\'s own layer past the disk limit', async () => {
    const postinst = '#!/bin/sh\nset -e\ndd if=/dev/zero of=/var/tmp/fill bs=1M count=400 status=none\necho FILLING-POSTINST\nsleep 100000\n#DEBHELPER#\n';
    await archive.send(up, { name: 'race-filling-dep', version: '1.0-1', debianFiles: { 'race-filling-dep.postinst': postinst } });
    const dep = await archive.cli(['wait', 'race-filling-dep', '1.0-1', '--timeout', '900']);
    expect(dep.exitCode, String(dep.all)).toBe(0);
    await setConfig(180, 0.1);
    await archive.send(up, { name: 'race-needs-filling', version: '1.0-1', buildDepends: ['race-filling-dep'] });
    const failed = await archive.cli(['wait', 'race-needs-filling', '1.0-1', '--timeout', '600']);
    await setConfig(180);
    expect(failed.exitCode, String(failed.all)).toBe(1);
    const reason = 'installing the build-dependencies wrote past the disk limit of 102 MiB (builds.disk_gib)';
    expect(failed.stderr).toContain(reason);
    const [job] = await jobsOf('race-needs-filling');
    expect(job).toMatchObject({ state: 'failed', attempts: 1, reason });
    const log = await publicText(job.log!);
    expect(log).toContain('FILLING-POSTINST');
    expect(log).toContain(`archive-in-a-box: build stopped: ${reason}`);
    expect(await buildContainers(job.id)).toBe('');
  });

  it('keeps no image of build-dependencies whose postinst passed the disk limit between two counts (a sparse file, made in an instant)', async () => {
    // Before, the install ended before the engine's first count, and docker commit copied the
    // file whole (a sparse one of terabytes onto the engine's disk).
    const postinst = '#!/bin/sh\nset -e\ntruncate -s 400M /var/tmp/sparse\necho SPARSE-POSTINST\n#DEBHELPER#\n';
    const cachedImages = async () => String((await execa('docker', ['images', '-q', '--no-trunc', '--filter', 'label=archive-in-a-box.deps-key'])).stdout).split('\n').filter(Boolean);
    const before = new Set(await cachedImages());
    await archive.send(up, { name: 'race-sparse-dep', version: '1.0-1', debianFiles: { 'race-sparse-dep.postinst': postinst } });
    const dep = await archive.cli(['wait', 'race-sparse-dep', '1.0-1', '--timeout', '900']);
    expect(dep.exitCode, String(dep.all)).toBe(0);
    await setConfig(180, 0.1);
    await archive.send(up, { name: 'race-needs-sparse', version: '1.0-1', buildDepends: ['race-sparse-dep'] });
    const failed = await archive.cli(['wait', 'race-needs-sparse', '1.0-1', '--timeout', '600']);
    await setConfig(180);
    expect(failed.exitCode, String(failed.all)).toBe(1);
    const reason = 'installing the build-dependencies wrote past the disk limit of 102 MiB (builds.disk_gib)';
    const [job] = await jobsOf('race-needs-sparse');
    expect(job).toMatchObject({ state: 'failed', attempts: 1, reason });
    expect(await publicText(job.log!)).toContain('SPARSE-POSTINST');
    // (Images an earlier run on this engine made are not this one's.)
    for (const id of (await cachedImages()).filter((i) => !before.has(i))) {
      const comment = (await execa('docker', ['inspect', '--format', '{{.Comment}}', id])).stdout;
      expect(comment).not.toContain('race-sparse-dep');
    }
  });

  it('refuses build outputs that are links, FIFOs, too large or too many, failing the job with the cap it crossed, and the builder stays small and healthy', async () => {
    // Made in the build's output folder, where the builder takes the built files from.
    const odd = `#!/bin/bash
set -e
mkdir -p /build/out
ln -s /etc/passwd /build/out/a-passwd.deb
# A device needs CAP_MKNOD, which builds do not have: a FIFO instead.
mknod /build/out/b-device.deb c 1 3 2>/dev/null || mkfifo /build/out/b-device.deb
truncate -s 100G /build/out/c-huge.deb
`;
    const many = `#!/bin/bash
set -e
mkdir -p /build/out
for i in $(seq 3000); do echo $i > /build/out/many-$i.deb; done
`;
    await archive.send(up, { name: 'race-odd-outputs', version: '1.0-1', buildScript: 'bash debian/odd.sh', debianFiles: { 'odd.sh': odd } });
    await archive.send(up, { name: 'race-many-outputs', version: '1.0-1', buildScript: 'bash debian/many.sh', debianFiles: { 'many.sh': many } });
    const expected: [string, string][] = [
      ['race-odd-outputs', "the build's output was refused: a-passwd.deb is a symbolic link (to /etc/passwd), b-device.deb is a FIFO: only regular files with plain names are taken; c-huge.deb is 100 GiB, over the cap of 1 GiB per file (builds.output_file_gib)"],
      ['race-many-outputs', "the build's output was refused: it holds more than 1000 files (builds.output_files)"],
    ];
    for (const [name, reason] of expected) {
      const failed = await archive.cli(['wait', name, '1.0-1', '--timeout', '600']);
      expect(failed.exitCode, String(failed.all)).toBe(1);
      const [job] = await jobsOf(name);
      expect(job).toMatchObject({ state: 'failed', attempts: 1, reason });
      expect(await buildContainers(job.id)).toBe('');
    }
    expect(await packagesOf('unstable')).not.toContainEqual(expect.stringMatching(/^race-(odd|many)-outputs /));
    expect(await health('builder')).toBe('running healthy');
    const peak = await peakMemory('builder');
    console.log(`builder: memory peak ${Math.round(peak / 1024 ** 2)} MiB`);
    expect(peak, 'builder memory peak').toBeLessThan(512 * 1024 ** 2);
    await archive.send(up, { name: 'race-after-outputs', version: '1.0-1' });
    const after = await archive.cli(['wait', 'race-after-outputs', '1.0-1', '--timeout', '900']);
    expect(after.exitCode, String(after.all)).toBe(0);
  });
});
