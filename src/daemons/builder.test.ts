import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { MAX_LOG_BODY, type LeasedJob } from '../core/job-protocol.js';
import { DEFAULT_LIMITS } from '../core/kinds/build.js';
import { WORKER_NAME } from '../core/workers.js';
import { SWARM_WORKER_SUFFIX } from '../docker/swarm-spec.js';
import { parseCompose } from '../docker/compose-file.js';
import { FILE, VARS } from '../docker/fixtures/compose-vars.js';
import { Builder, STOPPING, apiTokenFromEnv, builderNameFromEnv, type BuilderOptions, parseBuildenvs, prepareWorkDir, removeLeftoverJobFolders, stopOnSignals, utf8Pieces } from './builder.js';
import { TASKS } from './tasks/task.js';
import { parseCeilings, type WorkerCeilings } from './worker-ceilings.js';

/** archive worker's (cli/worker.ts WORKER_DEFAULT_CEILINGS). */
const WORKER_DEFAULT_CEILINGS: WorkerCeilings = { limits: DEFAULT_LIMITS, emulationFactor: 6, concurrency: 1 };

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * A builder whose queue is a fake that records what it is sent, and that runs `job` with a
 * task of the test's in place of its kind's: no engine, no network.
 */
function fakeRun(job: Partial<LeasedJob>, task: (typeof TASKS)['build'], options: Partial<BuilderOptions> = {}) {
  const sent = { log: [] as string[], heartbeats: 0, complete: [] as unknown[] };
  const api = {
    log: async (_id: string, _builder: string, text: string) => void sent.log.push(text),
    heartbeat: async () => void sent.heartbeats++,
    complete: async (_id: string, _builder: string, _kind: string, report: unknown) => void sent.complete.push(report),
    artifact: async () => undefined,
  };
  const builder = new Builder({ queueUrl: 'http://127.0.0.1:9', key: Buffer.alloc(32), name: 'w', labels: {}, workDir: scratchDir('aib-jobs-'), ...options });
  Object.assign(builder, { api });
  vi.spyOn(TASKS, 'build').mockImplementation(task);
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const leased = { id: 'j1', kind: 'build', source: 'hello', version: '1.0-1', base: 'trixie', arch: 'amd64', buildArg: '-B', files: [], limits: {}, buildenvMaxAgeMs: 86_400_000, ...job } as LeasedJob;
  const run = (builder as unknown as { run(name: string, job: LeasedJob): Promise<void> }).run('w/1', leased);
  return { sent, run };
}

describe("a builder's API token", () => {
  it('is ARCHIVE_API_TOKEN, or on a Swarm the secret file ARCHIVE_API_TOKEN_FILE names, its line end dropped', () => {
    expect(apiTokenFromEnv({ ARCHIVE_API_TOKEN: 't0ken' })).toBe('t0ken');
    const dir = scratchDir('aib-token-');
    writeFileSync(join(dir, 'ARCHIVE_API_TOKEN'), 'fr0m-file\n');
    expect(apiTokenFromEnv({ ARCHIVE_API_TOKEN_FILE: join(dir, 'ARCHIVE_API_TOKEN') })).toBe('fr0m-file');
  });

  it('is refused, naming the file, when neither is set, the file cannot be read or is empty', () => {
    const dir = scratchDir('aib-token-');
    expect(() => apiTokenFromEnv({})).toThrow('neither ARCHIVE_API_TOKEN nor ARCHIVE_API_TOKEN_FILE is set');
    expect(() => apiTokenFromEnv({ ARCHIVE_API_TOKEN_FILE: join(dir, 'none') })).toThrow(`ARCHIVE_API_TOKEN_FILE ${join(dir, 'none')}: cannot read it: ENOENT`);
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => apiTokenFromEnv({ ARCHIVE_API_TOKEN_FILE: join(dir, 'empty') })).toThrow(`ARCHIVE_API_TOKEN_FILE ${join(dir, 'empty')} is empty; expected the archive's API token`);
  });
});

describe("a builder's name", () => {
  it('is ARCHIVE_BUILDER_NAME, made a worker name whatever the node is called', () => {
    expect(builderNameFromEnv({ ARCHIVE_BUILDER_NAME: 'archive-1234abcd-builder' })).toBe('archive-1234abcd-builder');
    // On a Swarm it ends in the node's host name, which may be a dotted, upper-case one: then a
    // hash of the name as given keeps Node1 and node1, node_1 and node.1 apart.
    expect(builderNameFromEnv({ ARCHIVE_BUILDER_NAME: 'archive-1234abcd-builder-Build01.example.org' })).toMatch(/^archive-1234abcd-builder-build01-example-org-[0-9a-f]{8}$/);
    const names = ['b-Node1', 'b-node1', 'b-node_1', 'b-node.1', 'b-node-1'].map((n) => builderNameFromEnv({ ARCHIVE_BUILDER_NAME: n }));
    expect(new Set(names).size).toBe(5);
    expect(names[1]).toBe('b-node1');
    // Cut, but two long names that differ only at the end stay two names.
    const long = builderNameFromEnv({ ARCHIVE_BUILDER_NAME: `archive-1234abcd-builder-aib-swarm-test-1764567890-12345-worker1` });
    const other = builderNameFromEnv({ ARCHIVE_BUILDER_NAME: `archive-1234abcd-builder-aib-swarm-test-1764567890-12345-worker2` });
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^archive-1234abcd-builder-aib-swarm-test-1764567890-[0-9-]*-[0-9a-f]{8}$/);
    expect(other).not.toBe(long);
    for (const name of [long, builderNameFromEnv({ ARCHIVE_BUILDER_NAME: '--..--' }), builderNameFromEnv({ ARCHIVE_BUILDER_NAME: `${'a'.repeat(62)}.b` })]) {
      expect(name, name).toMatch(WORKER_NAME);
    }
  });

  it("is on a Swarm node its host name and its node id: two nodes of one host name (cloned machines) are two workers, within 63 characters", () => {
    // The suffix as a node's task expands it (Go's text/template, in swarmkit): the placeholders it
    // uses, and nothing this does not know left unexpanded.
    const onNode = (hostname: string, id: string) => {
      const suffix = SWARM_WORKER_SUFFIX.replaceAll('{{.Node.Hostname}}', hostname).replaceAll('{{.Node.ID}}', id);
      expect(suffix).not.toContain('{{');
      return builderNameFromEnv({ ARCHIVE_BUILDER_NAME: `archive-1234abcd-builder${suffix}` });
    };
    // Swarm node ids: 25 lower-case letters and digits.
    const a = onNode('build01', 'x2k9vq7m3n0c1e5r8t4y6u2i0');
    const b = onNode('build01', '9hq3t0zxw1b5d7f2g4j6k8l0m');
    expect(a).toBe('archive-1234abcd-builder-build01-x2k9vq7m3n0c1e5r8t4y6u2i0');
    expect(b).not.toBe(a);
    // The same node is the same worker after a restart.
    expect(onNode('build01', 'x2k9vq7m3n0c1e5r8t4y6u2i0')).toBe(a);
    // A host name of 63 characters (the most one has): cut and hashed, still two workers.
    const host = `n${'o'.repeat(61)}1`;
    const longA = onNode(host, 'x2k9vq7m3n0c1e5r8t4y6u2i0');
    const longB = onNode(host, '9hq3t0zxw1b5d7f2g4j6k8l0m');
    expect(longB).not.toBe(longA);
    for (const name of [a, b, longA, longB]) expect(name, name).toMatch(WORKER_NAME);
  });
});

describe('the build environments a Swarm worker is given (ARCHIVE_BUILDENVS)', () => {
  const ref = `10.0.0.2:5000/archive/buildenv@sha256:${'a'.repeat(64)}`;
  it('maps each base and architecture to its image by digest, and nothing when empty', () => {
    expect(parseBuildenvs(`trixie-amd64=${ref}, trixie-arm64=${ref}`)).toEqual({ 'trixie-amd64': ref, 'trixie-arm64': ref });
    expect(parseBuildenvs('')).toEqual({});
  });
  it('refuses a build environment by tag: only a digest names what the manager made', () => {
    expect(() => parseBuildenvs('trixie-amd64=10.0.0.2:5000/archive/buildenv:trixie-amd64')).toThrow('ARCHIVE_BUILDENVS: "trixie-amd64=10.0.0.2:5000/archive/buildenv:trixie-amd64" is not BASE-ARCH=REGISTRY/archive/buildenv@sha256:DIGEST');
    expect(() => parseBuildenvs(`=${ref}`)).toThrow(/is not BASE-ARCH=/);
  });
});

describe("a builder's job folders", () => {
  it('left in its work folder by a run before are removed when it starts, with what they hold; nothing else there is', async () => {
    const dir = scratchDir('aib-jobs-');
    for (const job of ['job-a1B2c3', 'job-Zz9Yy8']) {
      mkdirSync(join(dir, job, 'in'), { recursive: true });
      writeFileSync(join(dir, job, 'in', 'hello_1.0-1.dsc'), 'x');
    }
    mkdirSync(join(dir, 'lost+found'));
    writeFileSync(join(dir, 'job-note'), 'a file, not a job folder');
    expect(await removeLeftoverJobFolders(dir)).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['job-note', 'lost+found']);
    expect(await removeLeftoverJobFolders(dir)).toBe(0);
    // A folder not there yet (a path given to a new worker) is made.
    expect(await removeLeftoverJobFolders(join(dir, 'new', 'jobs'))).toBe(0);
    expect(readdirSync(join(dir, 'new'))).toEqual(['jobs']);
  });

  it('that cannot be made stop the builder at its start, naming the folder, before it leases anything', async () => {
    const file = join(scratchDir('aib-jobs-'), 'a-file');
    writeFileSync(file, '');
    const builder = new Builder({ queueUrl: 'http://127.0.0.1:9', key: Buffer.alloc(32), name: 'w', labels: {}, workDir: join(file, 'jobs') });
    await expect(builder.start()).rejects.toThrow(`ARCHIVE_WORK_DIR ${join(file, 'jobs')}: cannot hold the jobs' files (ENOTDIR)`);
  });

  it('are kept in the temporary folder without a work folder, which must be writable too, naming TMPDIR', async () => {
    const was = process.env.TMPDIR;
    process.env.TMPDIR = join(scratchDir('aib-jobs-'), 'missing');
    try {
      await expect(prepareWorkDir(undefined)).rejects.toThrow(`the temporary folder ${process.env.TMPDIR} (TMPDIR; or set ARCHIVE_WORK_DIR to a folder of this worker's on disk): cannot hold the jobs' files (ENOENT)`);
    } finally {
      if (was === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = was;
    }
    expect(await prepareWorkDir(undefined)).toEqual({ dir: tmpdir(), removed: 0 });
  });
});

describe("a job's log", () => {
  it('is cut in pieces of at most the cap in bytes, in order, never inside a character', () => {
    // One, two, three and four bytes a character; a character cut at every possible byte.
    const text = 'a\u00e9\u20ac\u{1F600}'.repeat(50) + 'end';
    for (const cap of [4, 5, 6, 7, 8, 13, 100]) {
      const pieces = utf8Pieces(text, cap);
      expect(pieces.join(''), `cap ${cap}`).toBe(text);
      for (const piece of pieces) {
        expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(cap);
        expect(piece).not.toContain('\ufffd'); // a character cut in two would decode as U+FFFD
        expect(Buffer.from(piece).toString()).toBe(piece);
      }
      // Each piece as full as the next character lets it be.
      for (const [i, piece] of pieces.slice(0, -1).entries()) expect(Buffer.byteLength(piece) + Buffer.byteLength([...pieces[i + 1]][0])).toBeGreaterThan(cap);
    }
    expect(utf8Pieces('four', 4)).toEqual(['four']);
    expect(utf8Pieces('', 4)).toEqual([]);
    expect(() => utf8Pieces('x', 3)).toThrow(RangeError);
  });

  it('over what the queue takes in one request is sent in two, in order, none over the cap', async () => {
    // More than the cap in bytes, fewer in characters: the cut falls inside an é, and is moved before it.
    const text = `x${'\u00e9'.repeat(MAX_LOG_BODY / 2)}`;
    const { sent, run } = fakeRun({}, async (t) => {
      t.log(text);
      return { report: { outcome: 'failed', reason: 'test' }, outputs: [], summary: 'failed' };
    });
    await run;
    expect(sent.log.map((piece) => Buffer.byteLength(piece))).toEqual([MAX_LOG_BODY - 1, 2]);
    expect(sent.log.join('')).toBe(text);
    expect(sent.complete).toEqual([{ outcome: 'failed', reason: 'test' }]);
  });
});

describe('a lease', () => {
  const failed = { report: { outcome: 'failed' as const, reason: 'test' }, outputs: [], summary: 'failed' };

  it('is given back, naming what is wrong, when a number in it is out of bounds; nothing of it is run', async () => {
    let ran = false;
    const { sent, run } = fakeRun({ limits: { ...DEFAULT_LIMITS, memoryBytes: 0 } }, async () => ((ran = true), failed));
    await run;
    expect(ran).toBe(false);
    expect(sent.complete).toEqual([{ outcome: 'give-back', reason: "the lease's limits.memoryBytes: expected a positive number, found 0" }]);
    expect(sent.log.join('')).toContain("builder problem, job given back: the lease's limits.memoryBytes");
  });

  it("is run as checked: each limit it leaves out the default's, its build environment kept an hour at least", async () => {
    let got: LeasedJob | undefined;
    const { run } = fakeRun({ limits: { cpus: 1 } as LeasedJob['limits'], buildenvMaxAgeMs: 0 }, async (t) => ((got = t.job), failed));
    await run;
    expect(got?.limits).toEqual({ ...DEFAULT_LIMITS, cpus: 1 });
    expect(got?.buildenvMaxAgeMs).toBe(3600_000);
  });

  it("asking more than an enrolled worker's ceilings runs within them, its log saying what was lowered once; the worker beside the queue has none", async () => {
    const asked = { ...DEFAULT_LIMITS, memoryBytes: 16 * 1024 ** 3, cpus: 64, timeoutMs: 6 * DEFAULT_LIMITS.timeoutMs };
    let got: LeasedJob | undefined;
    const enrolled = fakeRun({ limits: asked }, async (t) => ((got = t.job), failed), { ceilings: WORKER_DEFAULT_CEILINGS });
    await enrolled.run;
    expect(got?.limits).toEqual(DEFAULT_LIMITS);
    const log = enrolled.sent.log.join('');
    expect(log).toContain('archive-in-a-box: the archive asks for memory_gib 16; this worker allows 4 (archive worker --limit memory_gib=N)\n');
    expect(log).toContain('archive-in-a-box: the archive asks for cpus 64; this worker allows 2 (archive worker --limit cpus=N)\n');
    expect(log.match(/memory_gib/g)).toHaveLength(2); // one line, naming the key and the option
    vi.restoreAllMocks();
    // Under qemu by the worker's own architectures (--arch): its time ceilings scaled as the archive's limits are.
    const emulated = fakeRun({ limits: asked, arch: 'arm64', emulated: false }, async (t) => ((got = t.job), failed), { ceilings: parseCeilings(['memory_gib=16'], WORKER_DEFAULT_CEILINGS), architectures: ['amd64', 'arm64'], emulated: ['arm64'] });
    await emulated.run;
    expect(got?.limits).toEqual({ ...asked, cpus: 2 });
    vi.restoreAllMocks();
    const local = fakeRun({ limits: asked }, async (t) => ((got = t.job), failed));
    await local.run;
    expect(got?.limits).toEqual(asked);
    expect(local.sent.log.join('')).not.toContain('this worker allows');
  });

  it("that then fails past a limit its worker lowered is reported naming the worker's ceiling; past one it did not, as the task said", async () => {
    const asked = { ...DEFAULT_LIMITS, timeoutMs: 6 * DEFAULT_LIMITS.timeoutMs };
    const pastTime = { outputs: [], summary: 'failed', report: { outcome: 'failed' as const, reason: 'the build ran past its time limit of 3 h (builds.timeout_minutes)' } };
    const enrolled = fakeRun({ limits: asked }, async () => pastTime, { ceilings: WORKER_DEFAULT_CEILINGS });
    await enrolled.run;
    expect(enrolled.sent.complete).toEqual([{ outcome: 'failed', reason: "the build ran past its time limit of 3 h (builds.timeout_minutes), lowered to worker w's ceiling (archive worker --limit timeout_minutes=N there, then archive retry)" }]);
    vi.restoreAllMocks();
    const within = fakeRun({ limits: DEFAULT_LIMITS }, async () => pastTime, { ceilings: WORKER_DEFAULT_CEILINGS });
    await within.run;
    expect(within.sent.complete).toEqual([pastTime.report]);
  });

  it("has what the queue says printed on the worker's console with its control characters shown, each line one line", async () => {
    const { run } = fakeRun({ source: 'hello\u001b]0;owned\u0007', version: '1.0-1\n2026-01-01T00:00:00.000Z w/1: job j2: built' }, async () => ({ ...failed, summary: 'failed: \u001b[2Kreason' }));
    await run;
    const printed = vi.mocked(console.log).mock.calls.map((c) => String(c[0]));
    expect(printed.find((l) => l.includes('job j1: build of'))).toMatch(/ w\/1: job j1: build of hello\\x1b\]0;owned\\x07 1\.0-1\\x0a2026-01-01T00:00:00\.000Z w\/1: job j2: built on amd64 \(-B\)$/);
    expect(printed.find((l) => l.includes('failed: '))).toMatch(/ w\/1: job j1: failed: \\x1b\[2Kreason$/);
    for (const line of printed) expect(line).not.toMatch(/[\u0000-\u001f]/);
  });

  it('of a few milliseconds is kept with a heartbeat a second at most, not one every few milliseconds', async () => {
    const { sent, run } = fakeRun({ leaseMs: 30 }, async () => (await new Promise((r) => setTimeout(r, 300)), failed));
    await run;
    expect(sent.heartbeats).toBe(0);
  });
});

describe('a builder stopped (SIGTERM from docker stop, archive down or Swarm; Ctrl-C)', () => {
  const job = { id: 'j1', kind: 'build', source: 'hello', version: '1.0-1', base: 'trixie', arch: 'amd64', buildArg: '-B', files: [], limits: {}, buildenvMaxAgeMs: 86_400_000 } as unknown as LeasedJob;
  const reason = 'builder w stopped (SIGTERM); the job goes to another run';

  /**
   * A builder's slot w/1 against a fake queue that leases `job` once, when `leaseGate` lets it,
   * and records what it is sent; the task the test's. No engine: the containers' removal is the
   * integration test's (test/builder-stop.integration.test.ts).
   */
  function slot(task: (typeof TASKS)['build'], leaseGate: Promise<unknown> = Promise.resolve()) {
    const sent = { complete: [] as unknown[], log: [] as string[], leases: 0 };
    let leased = false;
    const api = {
      lease: async () => {
        sent.leases++;
        await leaseGate;
        if (leased) return new Promise((r) => setTimeout(() => r(undefined), 20));
        leased = true;
        return job;
      },
      log: async (_id: string, _builder: string, text: string) => void sent.log.push(text),
      heartbeat: async () => undefined,
      complete: async (id: string, builder: string, _kind: string, report: unknown) => void sent.complete.push({ id, builder, report }),
      artifact: async () => undefined,
    };
    const builder = new Builder({ queueUrl: 'http://127.0.0.1:9', key: Buffer.alloc(32), name: 'w', labels: {}, workDir: scratchDir('aib-jobs-') });
    Object.assign(builder, { api });
    vi.spyOn(TASKS, 'build').mockImplementation(task);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const loop = (builder as unknown as { worker(name: string): Promise<void> }).worker('w/1');
    return { builder, sent, loop };
  }

  it("gives back the job it runs, not what its task made of its containers' end, and leases no more", async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let killed!: () => void;
    const gone = new Promise<void>((r) => (killed = r));
    const { builder, sent, loop } = slot(async () => {
      started();
      await gone;
      // What a build says of its container killed: not the package's fault here.
      return { report: { outcome: 'failed', reason: 'the build failed (exit status 137)' }, outputs: ['hello_1.0-1_amd64.deb'], summary: 'failed' };
    });
    await running;
    const stopped = builder.stop('SIGTERM');
    killed();
    await stopped;
    await loop; // its slot ended
    expect(sent.complete).toEqual([{ id: 'j1', builder: 'w/1', report: { outcome: 'give-back', reason } }]);
    expect(sent.leases).toBe(1);
    expect(sent.log.join('')).toContain(`archive-in-a-box: builder problem, job given back: ${reason}\n`);
  });

  it('gives back from itself a job whose run has not ended within STOPPING.runsMs', async () => {
    const saved = { ...STOPPING };
    STOPPING.runsMs = 50;
    try {
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      const { builder, sent } = slot(async () => (started(), new Promise(() => undefined)));
      await running;
      const at = Date.now();
      await builder.stop('SIGTERM');
      expect(Date.now() - at).toBeGreaterThanOrEqual(45);
      expect(sent.complete).toEqual([{ id: 'j1', builder: 'w/1', report: { outcome: 'give-back', reason } }]);
    } finally {
      Object.assign(STOPPING, saved);
    }
  });

  it('lets a job that is handing in what it made finish doing so, past STOPPING.runsMs: a finished build is not given back to be built again', async () => {
    const saved = { ...STOPPING };
    STOPPING.runsMs = 50;
    try {
      let handing!: () => void;
      const handingIn = new Promise<void>((r) => (handing = r));
      const { builder, sent } = slot(async () => ({ report: { outcome: 'built' }, outputs: ['hello_1.0-1_amd64.deb'], summary: 'built' }) as never);
      // The file takes 200 ms to send: longer than STOPPING.runsMs.
      Object.assign((builder as unknown as { api: object }).api, { artifact: async () => (handing(), new Promise((r) => setTimeout(r, 200))) });
      await handingIn;
      await builder.stop('SIGTERM');
      expect(sent.complete).toEqual([{ id: 'j1', builder: 'w/1', report: { outcome: 'built' } }]);
    } finally {
      Object.assign(STOPPING, saved);
    }
  });

  it('gives back at once a job the queue leases it as it stops, never running it', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let ran = false;
    const { builder, sent, loop } = slot(async () => ((ran = true), { report: { outcome: 'built' }, outputs: [], summary: 'built' }) as never, gate);
    await builder.stop('SIGTERM');
    open();
    await loop;
    expect(ran).toBe(false);
    expect(sent.complete).toEqual([{ id: 'j1', builder: 'w/1', report: { outcome: 'give-back', reason } }]);
  });

  it('is stopped on SIGTERM or SIGINT, then exits 0; a second signal, or a stop past STOPPING.deadlineMs, exits 1 at once', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const signals = new EventEmitter();
      const exits: number[] = [];
      const stops: string[] = [];
      const builder = { stop: async (why: string) => void stops.push(why) } as unknown as Builder;
      stopOnSignals(builder, signals as unknown as NodeJS.Process, (code) => void exits.push(code));
      signals.emit(signal, signal);
      await new Promise((r) => setImmediate(r));
      expect(stops).toEqual([signal]);
      expect(exits).toEqual([0]);
    }
    const saved = { ...STOPPING };
    STOPPING.deadlineMs = 50;
    try {
      const signals = new EventEmitter();
      const exits: number[] = [];
      stopOnSignals({ stop: () => new Promise(() => undefined) } as unknown as Builder, signals as unknown as NodeJS.Process, (code) => void exits.push(code));
      signals.emit('SIGTERM', 'SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      expect(exits).toEqual([1]);
      signals.emit('SIGINT', 'SIGINT');
      expect(exits).toEqual([1, 1]);
    } finally {
      Object.assign(STOPPING, saved);
    }
  });

  it('has the time it takes to stop from the engine: the compose file gives the builder a stop grace period past STOPPING.deadlineMs', () => {
    const builder = parseCompose(readFileSync(FILE, 'utf8'), FILE, VARS).services.find((s) => s.name === 'builder')!;
    expect(builder.stopGracePeriodNs).toBeGreaterThan(STOPPING.deadlineMs * 1e6);
  });
});
