// Faults against a running archive and the real engine: the queue killed (SIGKILL) at each step
// of an upload (fail points) and at random moments of a burst of uploads, the disk full under
// the archive root while an upload is taken and while it is published, and a hard stop of
// everything (every container killed, dockerd restarted). After each: every upload ends
// published or rejected exactly once, nothing stays in quarantine, nothing is lost, and apt
// never sees an inconsistent repository. (A builder killed mid-build: builder.e2e.test.ts.)
// The hard stop disrupts every container on this engine, so it runs once, last.
import { copyFile, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadRecord } from '../src/core/uploads.js';
import { readAll } from '../src/storage/json-files.js';
import { REPO, TestArchive, aptUpdateLoop, archiveKeyring, cleanupRun, inCleanContainer, until, verifyServedSuite, type UpResult } from './support/archive.js';
import { dput, makeBinaryPackage, makeSourcePackage, type PackageSpec, type SourcePackage } from './support/packages.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One archive under test, with what each fault needs. */
class Faulted {
  /** Every upload sent, with how it must end: its .changes name and published or rejected. */
  readonly expected: { changes: string; state: 'published' | 'rejected'; source: string; version: string }[] = [];
  keyring = '';

  constructor(
    readonly archive: TestArchive,
    readonly up: UpResult,
  ) {}

  get queue() {
    return `${this.up.project}-queue`;
  }

  /** A source package, made under dir (default: the archive's scratch folder). */
  async make(spec: PackageSpec, dir = this.archive.work): Promise<SourcePackage> {
    return makeSourcePackage(await mkdtemp(join(dir, `${spec.name}-`)), spec);
  }

  /** Uploads with dput; one for a suite dput refuses is copied into incoming/ by hand (it must be rejected). */
  async send(spec: PackageSpec, pkg?: SourcePackage): Promise<SourcePackage> {
    pkg ??= await this.make(spec);
    const bad = spec.distribution !== undefined && spec.distribution !== 'unstable';
    if (bad) for (const f of [...pkg.files, pkg.changes]) await copyFile(join(pkg.dir, f), join(this.up.incoming, f));
    else await dput(this.up.dputConfig, 'archive', pkg.changesPath, pkg.dir);
    this.expected.push({ changes: pkg.changes, state: bad ? 'rejected' : 'published', source: spec.name, version: spec.version });
    return pkg;
  }

  records(): Promise<UploadRecord[]> {
    return readAll<UploadRecord>(join(this.archive.root, 'state', 'uploads'));
  }

  async queueLog(): Promise<string> {
    return readFile(join(this.archive.root, 'logs', 'queue.log'), 'utf8').catch(() => '');
  }

  /** What the queue printed (docker logs): the error of a full disk cannot go to logs/queue.log. */
  async queueOutput(): Promise<string> {
    return String((await execa('docker', ['logs', this.queue], { all: true, reject: false })).all);
  }

  /** The queue's output, kept in test-artifacts/ for a look after a failure. */
  async keepQueueOutput(name: string): Promise<void> {
    await mkdir(join(REPO, 'test-artifacts'), { recursive: true });
    await writeFile(join(REPO, 'test-artifacts', `faults-${name}-queue.log`), await this.queueOutput());
  }

  async inspect(container: string, format: string): Promise<string> {
    return (await execa('docker', ['inspect', '--format', format, container])).stdout.trim();
  }

  /** kill -9 of the queue's process on the host, as a crash or the OOM killer would; false while it is restarting. */
  async killQueue(): Promise<boolean> {
    const pid = await this.inspect(this.queue, '{{.State.Pid}}');
    if (pid === '0') return false;
    await execa('kill', ['-9', pid], { reject: false });
    return true;
  }

  /**
   * What every fault must leave: each upload recorded exactly once and ended as expected (a
   * rejected one's files kept with a .reason), quarantine and incoming/ empty, each published
   * source in its suite and served, the served suite signed and whole.
   */
  async expectSettled(): Promise<void> {
    for (const e of this.expected) {
      const waited = await this.archive.cli(['wait', e.source, e.version, '--timeout', '900']);
      expect(waited.exitCode, `${e.source} ${e.version}: ${waited.all}`).toBe(e.state === 'published' ? 0 : 1);
    }
    const records = await this.records();
    expect(records.map((r) => `${r.changes} ${r.state}`).sort()).toEqual(this.expected.map((e) => `${e.changes} ${e.state}`).sort());
    for (const r of records.filter((r) => r.state === 'rejected')) {
      const kept = await readdir(join(this.archive.root, r.rejectedDir!));
      expect(kept).toEqual(expect.arrayContaining([r.changes, `${r.changes}.reason`, `${r.source}_${r.version}.dsc`]));
    }
    expect(await readdir(join(this.archive.root, 'state', 'quarantine'))).toEqual([]);
    expect(await readdir(this.up.incoming)).toEqual([]);
    const listed = JSON.parse(String((await this.archive.cli(['ls', '--suite', 'unstable', '--json'])).stdout))[0].sources as { source: string; version: string }[];
    const sources = await (await fetch(`${this.up.url}dists/unstable/main/source/Sources`)).text();
    for (const e of this.expected.filter((e) => e.state === 'published')) {
      expect(listed.filter((s) => s.source === e.source).map((s) => s.version)).toEqual([e.version]);
      expect(sources).toContain(`Package: ${e.source}\n`);
    }
    await verifyServedSuite(this.up, 'unstable', this.keyring);
  }
}

describe('a full disk under the archive root', () => {
  let mount: string;
  let generations: string;
  let f: Faulted;

  // The root on its own small file system, and public/generations/ (what a publish writes) on
  // another: the first is filled while an upload is taken, the second while it is published.
  beforeAll(async () => {
    mount = await mkdtemp(join(tmpdir(), 'aib-disk-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mount]);
    const archive = await TestArchive.create({ under: mount });
    const init = await archive.cli(['init', '--port', String(archive.port)]);
    expect(init.exitCode, String(init.all)).toBe(0);
    generations = join(archive.root, 'public', 'generations');
    await mkdir(generations, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', generations]);
    f = new Faulted(archive, await archive.up());
    f.keyring = await archiveKeyring(f.up, join(mount, 'keyring'));
  });

  afterAll(async () => {
    await f?.keepQueueOutput('disk-full');
    await f?.archive.cli(['down']);
    if (generations) await unmount(generations);
    await f?.archive.destroy();
    await cleanupRun();
    if (mount) {
      await unmount(mount);
      await rm(mount, { recursive: true, force: true });
    }
  });

  /**
   * Unmounts a test's file system (none when beforeAll stopped before mounting it); one still
   * busy (a container or process of the run not yet gone) is detached (`umount -l`), to go once
   * unused, rather than left mounted under /tmp.
   */
  const unmount = async (at: string): Promise<void> => {
    if ((await execa('umount', [at], { reject: false })).exitCode === 0) return;
    if ((await execa('mountpoint', ['-q', at], { reject: false })).exitCode === 0) await execa('umount', ['-l', at]);
  };

  /** Fills the file system holding dir, to the last block, with one file; returns its path. */
  const fill = async (dir: string): Promise<string> => {
    const filler = join(dir, 'filler');
    await execa('sh', ['-c', `dd if=/dev/zero of=${filler} bs=1M 2>/dev/null; dd if=/dev/zero of=${filler} bs=4k oflag=append conv=notrunc 2>/dev/null; true`]);
    expect((await statfs(dir)).bavail).toBe(0);
    return filler;
  };

  it('keeps an upload and the served repository while the disk is full, says where, and finishes once there is space, by itself', async () => {
    const { archive, up } = f;
    // Something published before: the repository that must stay served.
    const included = await archive.cli(['include', await makeBinaryPackage(archive.work, { name: 'synth-before', version: '1.0-1' })]);
    expect(included.exitCode, String(included.all)).toBe(0);
    const servedBefore = (await verifyServedSuite(up, 'unstable', f.keyring)).inRelease;

    // The upload is made beside the root, on the same file system, then moved into incoming/
    // once the disk is full: a rename needs no space, so it arrives whole, as dput would leave it.
    const spec = { name: 'aib-diskfull', version: '1.0-1', buildScript: 'echo SLOW-BUILD-STARTED && sleep 20' };
    const pkg = await f.make(spec, await mkdtemp(join(mount, 'staging-')));
    const rootFiller = await fill(archive.root);
    for (const name of [...pkg.files, pkg.changes]) await rename(join(pkg.dir, name), join(up.incoming, name));
    f.expected.push({ changes: pkg.changes, state: 'published', source: spec.name, version: spec.version });

    // Acceptance: the copy into quarantine cannot fit (or fails); said with the error and the file, tried again.
    await until('the queue to report the full disk while taking the upload', async () =>
      /(ERROR while taking uploads or publishing .*|not taken yet: )ENOSPC: no space left on device, (copy|copyfile|open|mkdir|write) '\/archive\/(incoming|state\/quarantine)\//.test(await f.queueOutput()), 90_000);
    await sleep(6000); // at least one retry, still full
    expect((await readdir(up.incoming)).sort()).toEqual([...pkg.files, pkg.changes].sort());
    expect((await f.records()).filter((r) => r.source === spec.name || r.changes === pkg.changes)).toEqual([]);
    // What is served is what was: the queue may have published it again after the failure (the
    // generations are on a disk of their own, with room; nothing changed, so every suite is
    // carried over, InRelease the same file), but nothing new.
    expect((await verifyServedSuite(up, 'unstable', f.keyring)).inRelease).toBe(servedBefore);

    // Publishing: room for the upload again, none for a new generation. It is accepted and
    // pooled; the publish fails, is said, and is retried; the generation served stays served.
    const generationsFiller = await fill(generations);
    const served = await readlink(join(archive.root, 'public', 'dists'));
    await rm(rootFiller);
    const accepted = await until('the upload to be accepted', async () => (await f.records()).find((r) => r.changes === pkg.changes && r.state !== 'received'), 60_000);
    expect(['accepted', 'building']).toContain(accepted.state);
    await until('the queue to report the full disk while publishing', async () =>
      /ERROR while taking uploads or publishing .*publishing a new generation in \/archive\/public\/generations failed: ENOSPC: no space left on device/.test(await f.queueOutput()), 90_000);
    expect(await readlink(join(archive.root, 'public', 'dists'))).toBe(served);
    expect((await verifyServedSuite(up, 'unstable', f.keyring)).inRelease).toBe(servedBefore);

    // A queue that restarts while the disk is full comes up (job API, health) and says why it
    // cannot publish, rather than crash again and again.
    const restarts = Number(await f.inspect(f.queue, '{{.RestartCount}}'));
    expect(await f.killQueue()).toBe(true);
    await until('the restarted queue to be healthy', async () =>
      Number(await f.inspect(f.queue, '{{.RestartCount}}')) === restarts + 1 && (await f.inspect(f.queue, '{{.State.Health.Status}}')) === 'healthy', 120_000);
    expect(await f.queueOutput()).toMatch(/ERROR at start .*publishing a new generation in \/archive\/public\/generations failed: ENOSPC: no space left on device/);
    await sleep(6000);
    expect(Number(await f.inspect(f.queue, '{{.RestartCount}}'))).toBe(restarts + 1);
    expect(await readlink(join(archive.root, 'public', 'dists'))).toBe(served);

    // Space again: published without any command.
    await rm(generationsFiller);
    await until('the upload to be served', async () => (await (await fetch(`${up.url}dists/unstable/main/source/Sources`)).text()).includes(`Package: ${spec.name}\n`), 60_000);
    expect(await f.queueOutput()).toMatch(/published generation \S+ \(again, after a failure\)/);
    await f.expectSettled();
    expect((await f.records()).find((r) => r.changes === pkg.changes)!.reasons).toEqual([]);
  });
});

describe('the queue killed at every step of an upload, at random, and a hard stop of everything', () => {
  let f: Faulted;

  beforeAll(async () => {
    const archive = await TestArchive.create();
    // Each fires once, in this order (src/core/fail-points.ts).
    f = new Faulted(archive, await archive.up({ ARCHIVE_FAILPOINTS: 'reject,arrival,accept,publish-before-switch,publish-after-switch,hand-in' }));
    f.keyring = await archiveKeyring(f.up, join(archive.work, 'keyring'));
  });

  afterAll(async () => {
    await f?.keepQueueOutput('kills');
    await f?.archive.destroy();
    await cleanupRun();
  });

  it('finishes each upload exactly once when the queue is killed at a rejection, an arrival, an acceptance, before and after a publish switches and as a build is handed in', async () => {
    const apt = aptUpdateLoop(f.up, f.up.aptSourceHttp);
    // A rejection: killed once the files are moved to state/rejected/, before the record says so.
    await f.send({ name: 'aib-misdirected', version: '1.0-1', distribution: 'stable' });
    await until('the rejection', async () => (await f.records()).find((r) => r.state === 'rejected'));
    // A good upload walks through the rest: killed once it is recorded (incoming/ not yet
    // cleared), then, deciding it again after the restart, once it is accepted (quarantine
    // not yet cleared, not in its suite), then while publishing it, before and after the switch,
    // and as the builder hands in its build (it hands in again once the queue is back: no second build).
    await f.send({ name: 'aib-crash', version: '1.0-1' });
    await until('every fail point to fire', async () => (await readdir(join(f.archive.root, 'state', 'failpoints')).catch(() => [])).length === 6 || undefined);
    await f.expectSettled();
    const fired = [...(await f.queueLog()).matchAll(/fail point (\S+): killing the queue/g)].map((m) => m[1]);
    expect(fired).toEqual(['reject', 'arrival', 'accept', 'publish-before-switch', 'publish-after-switch', 'hand-in']);
    expect(Number(await f.inspect(f.queue, '{{.RestartCount}}'))).toBe(6);
    const crashJob = (await readAll<{ source: string; state: string; attempts: number }>(join(f.archive.root, 'state', 'jobs'))).find((j) => j.source === 'aib-crash')!;
    expect(crashJob).toMatchObject({ state: 'built', attempts: 1 });
    const rejected = (await f.records()).find((r) => r.state === 'rejected')!;
    expect(await readFile(join(f.archive.root, rejected.rejectedDir!, `${rejected.changes}.reason`), 'utf8')).toContain('Distribution "stable" is not a suite of this archive');
    const updates = await apt.stop();
    expect(updates.failed, updates.output).toBe(0);
    expect(updates.updates).toBeGreaterThanOrEqual(3);
  });

  it('finishes each of a burst of uploads exactly once while the queue is killed at random moments', async () => {
    const apt = aptUpdateLoop(f.up, f.up.aptSourceHttp);
    const specs: PackageSpec[] = [
      { name: 'aib-burst1', version: '1.0-1' },
      { name: 'aib-burst-bad', version: '1.0-1', distribution: 'experimental' },
      { name: 'aib-burst2', version: '1.0-1' },
    ];
    const pkgs = await Promise.all(specs.map((s) => f.make(s)));
    // The burst arrives; the queue is killed at a random moment of the next three seconds, and
    // again each time it is back: while it waits for files to settle, takes them, checks them,
    // accepts or rejects, publishes, decides again what a kill interrupted, or hands out builds.
    for (const [i, spec] of specs.entries()) await f.send(spec, pkgs[i]);
    let kills = 0;
    for (let k = 0; k < 3; k++) {
      await sleep(Math.random() * 3000);
      const restarts = Number(await f.inspect(f.queue, '{{.RestartCount}}'));
      if (await f.killQueue()) kills++;
      await until('the queue to be up again', async () =>
        Number(await f.inspect(f.queue, '{{.RestartCount}}')) > restarts && (await f.inspect(f.queue, '{{.State.Health.Status}}')) === 'healthy', 180_000);
    }
    expect(kills).toBe(3);
    await f.expectSettled();
    const updates = await apt.stop();
    expect(updates.failed, updates.output).toBe(0);
    expect(updates.updates).toBeGreaterThanOrEqual(3);
  });

  // Last: restarting dockerd disrupts every container on this engine.
  it('comes back by itself after every container is killed and dockerd restarts mid-build with an include unanswered, and finishes the work', async () => {
    const { archive, up } = f;
    const debDir = await mkdtemp(join(archive.work, 'debs-'));
    const debs = [];
    for (let i = 1; i <= 30; i++) debs.push(await makeBinaryPackage(debDir, { name: `synth-hard${i}`, version: '1.0-1' }));
    await f.send({ name: 'aib-hard1', version: '1.0-1', buildScript: 'echo SLOW-BUILD-STARTED && sleep 25' });
    await until('the slow build to run', async () => {
      const job = (await readAll<{ source: string; state: string; log?: string }>(join(archive.root, 'state', 'jobs'))).find((j) => j.source === 'aib-hard1');
      return job?.state === 'building' && job.log && (await readFile(join(archive.root, 'public', job.log), 'utf8')).includes('SLOW-BUILD-STARTED');
    }, 600_000, 500, 1000);
    // An include of 30 packages, its CLI waiting for the queue's answer. The queue carries one
    // out in well under a second, so it is held (SIGSTOP; SIGKILL still ends it) until the
    // request is in: the hard stop must find it unanswered. (Killed mid-publish: the fail points.)
    const queuePids = (await execa('docker', ['top', f.queue, '-o', 'pid'])).stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
    expect(queuePids.length).toBeGreaterThan(0);
    // `docker top` also lists short-lived processes (a health check) that may be gone by now.
    for (const pid of queuePids) {
      const stopped = await execa('kill', ['-STOP', pid], { reject: false });
      if (stopped.exitCode !== 0) expect(stopped.stderr, `kill -STOP ${pid}`).toMatch(/No such process/);
    }
    const including = archive.cli(['include', ...debs]);
    await until('the include request', async () => (await readdir(join(archive.root, 'state', 'requests'))).some((n) => n.endsWith('.request.json')), 60_000);

    const ours = (await execa('docker', ['ps', '-q', '--filter', `label=archive-in-a-box.project=${up.project}`])).stdout.split('\n').filter(Boolean);
    expect(ours.length).toBeGreaterThanOrEqual(4); // queue, builder, repo, the build container
    const pids = await Promise.all(ours.map((id) => f.inspect(id, '{{.State.Pid}}')));
    for (const pid of pids.filter((p) => p !== '0')) await execa('kill', ['-9', pid], { reject: false });
    await restartDockerd();

    // No archive command: the restart policy brings the archive back, the include's CLI gets
    // its answer, the builds are done again and published.
    const answer = await including;
    expect(answer.exitCode, String(answer.all)).toBe(0);
    expect(answer.stdout).toContain('included 30 of 30 package(s) into unstable');
    await f.expectSettled();
    const listed = JSON.parse(String((await archive.cli(['ls', '--suite', 'unstable', '--json'])).stdout))[0].sources as { source: string }[];
    expect(listed.filter((s) => s.source.startsWith('synth-hard')).length).toBe(30);
    for (const role of ['queue', 'builder', 'repo']) {
      await until(`${role} healthy`, async () => (await f.inspect(`${up.project}-${role}`, '{{.State.Health.Status}}')) === 'healthy', 120_000);
    }
    const client = await inCleanContainer(up, up.aptSourceHttp, 'apt-get update -q --error-on=any >/dev/null && apt-get install -y -q aib-hard1 synth-hard30 >/dev/null && aib-hard1');
    expect(client.exitCode, String(client.all)).toBe(0);
    expect(client.stdout).toContain('hello from aib-hard1 1.0-1');
  });
});

/**
 * Stops dockerd (SIGTERM, then SIGKILL after 60 s) and starts it as scripts/setup.sh does;
 * returns once it answers. It is started again whatever happens.
 */
async function restartDockerd(): Promise<void> {
  const pid = (await execa('pidof', ['dockerd'])).stdout.trim().split(/\s+/)[0];
  try {
    await execa('kill', ['-TERM', pid]);
    const gone = async () => (await execa('kill', ['-0', pid], { reject: false })).exitCode !== 0;
    const deadline = Date.now() + 60_000;
    while (!(await gone()) && Date.now() < deadline) await sleep(250);
    if (!(await gone())) await execa('kill', ['-KILL', pid], { reject: false });
    while (!(await gone())) await sleep(250);
  } finally {
    if ((await execa('docker', ['info'], { reject: false })).exitCode !== 0) {
      // Its own session: not in the test runner's process group, so no signal meant for the tests reaches it.
      await execa('sh', ['-c', 'nohup setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &']);
    }
    await until('dockerd to answer', async () => (await execa('docker', ['info'], { reject: false })).exitCode === 0, 120_000);
  }
}
