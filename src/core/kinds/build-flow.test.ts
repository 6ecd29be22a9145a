// The flow of a build against a runner double: what it asks of the containers, and what it
// makes of their answers. The real engine's side is test/build.e2e.test.ts and its neighbours.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerError } from '../../errors.js';
import { depsKey, parseShowHashes } from '../apt-output.js';
import type { ContainerRunner, ContainerSpec, OutputCaps, PutFile, RunnerContainer, RunningExec } from '../container-runner.js';
import { DEFAULT_LIMITS, DEPS_CAPABILITIES, LABEL_BUILD, type BuildLimits, type LocalArchive } from './build.js';
import { BEHIND_BUILD_CPU_SHARES, runBuild, type BuildRequest } from './build-flow.js';
import { DISK_CHECK, KILLING } from './run-within-limits.js';

/** What a program in a fake container gets: a way to print, and whether it was killed. */
interface Io {
  say(text: string): void;
  killed: Promise<void>;
  sleep(ms: number): Promise<void>;
}
type Program = (io: Io) => Promise<number>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const SIMULATION = 'NOTE: This is only a simulation!\nInst libfoo-dev (1.2-1 Debian:unstable [amd64])\nInst debhelper (13.1 Debian:unstable [all])\nConf libfoo-dev (1.2-1 Debian:unstable [amd64])\n';
const SHOW = 'Package: debhelper\nVersion: 13.1\nSHA256: aaaa\n\nPackage: libfoo-dev\nVersion: 1.2-1\nSHA256: bbbb\n';
const INSTALLS = [{ name: 'debhelper', version: '13.1' }, { name: 'libfoo-dev', version: '1.2-1' }];
const BUILDENV_ID = 'sha256:buildenv';
const KEY = depsKey(BUILDENV_ID, 'amd64', INSTALLS, parseShowHashes(SHOW), []);

const ok = (output: string): Program => async (io) => {
  io.say(output);
  return 0;
};

class FakeContainer implements RunnerContainer {
  readonly execs: string[] = [];
  readonly puts: { dir: string; names: string[]; uid: number }[] = [];
  taken?: { dir: string; toDir: string; caps: OutputCaps };
  kills = 0;
  removed = false;
  private onOutput?: (c: Buffer) => void;
  private exit?: Promise<number>;
  private killedNow!: () => void;
  private readonly killed = new Promise<void>((r) => (this.killedNow = r));

  constructor(
    readonly spec: ContainerSpec,
    private readonly runner: FakeRunner,
  ) {}

  private io(onOutput: ((c: Buffer) => void) | undefined): Io {
    return { say: (text) => onOutput?.(Buffer.from(text)), killed: this.killed, sleep };
  }

  async changes() {
    return [];
  }

  async diskUsage(o?: { fresh?: boolean }) {
    return this.runner.written(this, o);
  }

  /** Each exec's script, and "disconnect" where the container was taken off its network. */
  async disconnect() {
    this.execs.push('disconnect');
  }

  async putFiles(dir: string, files: PutFile[], uid: number) {
    if (this.runner.failPut) throw new Error('putArchive: boom');
    this.puts.push({ dir, names: files.map((f) => f.name), uid });
  }

  async attach(onOutput: (c: Buffer) => void) {
    this.onOutput = onOutput;
  }

  async start() {
    if (this.spec.cmd[0] === 'bash') this.exit = this.runner.build(this.io(this.onOutput));
  }

  async wait() {
    return this.exit!;
  }

  async exec(cmd: string[], onOutput: (c: Buffer) => void): Promise<RunningExec> {
    expect(cmd.slice(0, 2)).toEqual(['bash', '-c']);
    const script = cmd[2];
    this.execs.push(script);
    const program = /apt-get build-dep -s /.test(script) ? this.runner.resolve : /^apt-cache show /.test(script) ? this.runner.show : /--download-only/.test(script) ? this.runner.download : this.runner.install;
    const code = program(this.io(onOutput));
    // The output's stream breaks: when the kill cuts it short (a hang killed for the time
    // limit), or always (the engine's connection fails).
    const broken = () => this.runner.breakStream === 'always' || (this.runner.breakStream === 'on-kill' && this.kills > 0);
    const ended = code.then(() => (broken() ? Promise.reject(new Error('socket hang up')) : undefined));
    ended.catch(() => undefined);
    return { ended, exitCode: () => code };
  }

  async kill() {
    this.kills++;
    const build = this.spec.cmd[0] === 'bash';
    if (build ? this.runner.unansweredKills : this.runner.unansweredDepsKill) return new Promise<void>(() => undefined);
    if (build && this.kills <= this.runner.failedKills) throw new Error('cannot kill container: tried to kill container, but did not receive an exit event');
    this.killedNow();
  }

  async takeFiles(dir: string, toDir: string, caps: OutputCaps) {
    this.taken = { dir, toDir, caps };
    return this.runner.outputs;
  }

  async remove() {
    this.removed = true;
    if (this.runner.failRemove) throw new Error('remove: boom');
    // As the engine's: a running container is killed first.
    this.killedNow();
  }
}

/** Answers like apt and dpkg-buildpackage would, each part replaceable by a test. */
class FakeRunner implements ContainerRunner {
  readonly containers: FakeContainer[] = [];
  images: Record<string, string> = { 'archive/buildenv:trixie': BUILDENV_ID };
  cached: Record<string, string> = {};
  stored: { container: RunnerContainer; key: string; comment: string }[] = [];
  evicted: [number, number, string][] = [];
  found: string[] = [];
  failPut = false;
  failRemove = false;
  /** How many kills of a build's container the engine fails first; or whether it never answers them. */
  failedKills = 0;
  unansweredKills = false;
  /** Whether the engine never answers the kill of the dependencies' container (before its commit). */
  unansweredDepsKill = false;
  breakStream?: 'on-kill' | 'always';
  /** What a container has written to disk, as the engine would count it (or its failure to). */
  written: (c: FakeContainer, o?: { fresh?: boolean }) => Promise<number | undefined> = async () => 0;
  resolve: Program = ok(SIMULATION);
  show: Program = ok(SHOW);
  download: Program = ok('Get:1 http://repo:8081 unstable/main amd64 libfoo-dev amd64 1.2-1 [1 kB]\nDownload complete and in download only mode\n');
  install: Program = ok('Setting up libfoo-dev (1.2-1) ...\n');
  build: Program = ok('dpkg-buildpackage: info: binary-only upload\n');
  outputs: { outputs: string[] } | { refused: string } = { outputs: ['hello_1.0-1_amd64.deb', 'hello_1.0-1_amd64.changes'] };

  depsCache = {
    find: async (key: string) => {
      this.found.push(key);
      return this.cached[key] ? { id: this.cached[key], name: `archive/deps:${key}` } : undefined;
    },
    store: async (container: RunnerContainer, key: string, comment: string) => {
      this.stored.push({ container, key, comment });
      return 'sha256:committed';
    },
    evict: async (maxImages: number, maxBytes: number, _log: unknown, keep: string) => {
      this.evicted.push([maxImages, maxBytes, keep]);
    },
  };

  async imageId(name: string) {
    return this.images[name];
  }

  async create(spec: ContainerSpec) {
    const c = new FakeContainer(spec, this);
    this.containers.push(c);
    return c;
  }

  get deps() {
    return this.containers.find((c) => c.spec.cmd[0] !== 'bash')!;
  }

  get builds() {
    return this.containers.filter((c) => c.spec.cmd[0] === 'bash');
  }
}

function request(limits: Partial<BuildLimits> = {}, localArchive?: LocalArchive): BuildRequest & { log: () => string } {
  let log = '';
  return {
    jobId: 'job-1',
    buildenv: 'archive/buildenv:trixie',
    dsc: 'hello_1.0-1.dsc',
    arch: 'amd64',
    buildArg: '-B',
    files: [
      { name: 'hello_1.0-1.dsc', data: Buffer.from('Format: 3.0 (quilt)\n') },
      { name: 'hello_1.0.orig.tar.gz', data: Buffer.from('tar') },
    ],
    labels: { 'archive-in-a-box.builder': 'b1' },
    onLog: (t) => (log += t),
    outDir: '/tmp/out-job-1',
    localArchive,
    limits,
    log: () => log,
  };
}

const UNMET = `Reading package lists...
Some packages could not be installed. This may mean that you have
requested an impossible situation.

The following packages have unmet dependencies:
 builddeps:hello : Depends: libbar-dev (>= 2) but it is not installable
                   Depends: libbaz-dev but it is not going to be installed
E: Unable to correct problems, you have held broken packages.
`;

describe('a build, against a container runner', () => {
  it('is built: the outputs taken from /build/out within the caps, the image and key said', async () => {
    const runner = new FakeRunner();
    const req = request({ outputFiles: 7 });
    const result = await runBuild(runner, req);
    expect(result).toEqual({ outcome: 'built', outputs: ['hello_1.0-1_amd64.deb', 'hello_1.0-1_amd64.changes'], image: 'sha256:committed', depsKey: KEY, cached: false });
    const [build] = runner.builds;
    expect(build.taken).toEqual({ dir: '/build/out/.', toDir: '/tmp/out-job-1', caps: expect.objectContaining({ outputFiles: 7, outputBytes: DEFAULT_LIMITS.outputBytes, outputFileBytes: DEFAULT_LIMITS.outputFileBytes }) });
    // The sources go in as the builder's user; the dependencies container gets the .dsc only.
    expect(build.puts).toEqual([{ dir: '/build', names: ['hello_1.0-1.dsc', 'hello_1.0.orig.tar.gz'], uid: 2000 }]);
    expect(runner.deps.puts).toEqual([{ dir: '/', names: ['tmp/deps/hello_1.0-1.dsc'], uid: 0 }]);
    expect(req.log()).toContain('dpkg-buildpackage: info: binary-only upload');
  });

  it('is dep-wait when apt says the build-dependencies are unmet', async () => {
    const runner = new FakeRunner();
    runner.resolve = async (io) => (io.say(UNMET), 100);
    expect(await runBuild(runner, request())).toEqual({ outcome: 'dep-wait', missing: 'libbar-dev (>= 2) but it is not installable; libbaz-dev but it is not going to be installed' });
    expect(runner.containers).toHaveLength(1);
    expect(runner.deps.execs).toHaveLength(1);
  });

  it('is dep-wait naming apt\'s errors when a package is not there at all', async () => {
    const runner = new FakeRunner();
    runner.resolve = async (io) => (io.say('Reading package lists...\nE: Unable to locate package libnone-dev\n'), 100);
    expect(await runBuild(runner, request())).toEqual({ outcome: 'dep-wait', missing: 'E: Unable to locate package libnone-dev' });
  });

  it('is dep-wait when installing finds them unmet after all', async () => {
    const runner = new FakeRunner();
    runner.install = async (io) => (io.say(UNMET), 100);
    expect(await runBuild(runner, request())).toMatchObject({ outcome: 'dep-wait', missing: expect.stringContaining('libbar-dev (>= 2)') });
    expect(runner.stored).toEqual([]);
  });

  it('fails when resolving fails for another reason', async () => {
    const runner = new FakeRunner();
    runner.resolve = async (io) => (io.say('E: Failed to fetch http://repo/dists/s/InRelease  503\n'), 100);
    expect(await runBuild(runner, request())).toEqual({ outcome: 'failed', reason: 'resolving build-dependencies failed (apt-get exit 100); see the log' });
    expect(runner.builds).toEqual([]);
  });

  it('fails when installing fails for another reason, and commits nothing', async () => {
    const runner = new FakeRunner();
    runner.install = async (io) => (io.say('dpkg: error processing package libfoo-dev (--configure)\n'), 1);
    expect(await runBuild(runner, request())).toEqual({ outcome: 'failed', reason: 'installing build-dependencies failed (apt-get exit 1); see the log' });
    expect(runner.stored).toEqual([]);
  });

  it('reuses the cached image of the resolved set: nothing installed, nothing committed', async () => {
    const runner = new FakeRunner();
    runner.cached[KEY] = 'sha256:cached';
    const req = request();
    expect(await runBuild(runner, req)).toMatchObject({ outcome: 'built', image: 'sha256:cached', depsKey: KEY, cached: true });
    expect(runner.deps.execs).toHaveLength(2);
    expect(runner.deps.execs.some((s) => /build-dep -y/.test(s))).toBe(false);
    expect(runner.stored).toEqual([]);
    expect(runner.evicted).toEqual([]);
    expect(runner.builds[0].spec.image).toBe('sha256:cached');
    expect(req.log()).toContain(`archive-in-a-box: build-dependencies (2 packages) from the cache: archive/deps:${KEY}\n`);
  });

  it('on a miss installs the set, commits the container under its key and evicts within the cache limits', async () => {
    const runner = new FakeRunner();
    const req = request({ cacheImages: 3, cacheBytes: 5000 });
    await runBuild(runner, req);
    expect(runner.found).toEqual([KEY]);
    expect(runner.deps.execs[0]).toMatch(/apt-get build-dep -s --arch-only \/tmp\/deps\/'hello_1\.0-1\.dsc'$/);
    expect(runner.deps.execs[1]).toBe("apt-cache show 'debhelper=13.1' 'libfoo-dev=1.2-1' 2>/dev/null");
    // Downloaded, then installed off the network: maintainer scripts of uploads' packages reach nothing.
    expect(runner.deps.execs[2]).toBe('set -e\napt-get build-dep -y -q --no-install-recommends --download-only --arch-only /tmp/deps/\'hello_1.0-1.dsc\'');
    expect(runner.deps.execs[3]).toBe('disconnect');
    expect(runner.deps.execs[4]).toMatch(/^set -e\napt-get build-dep -y -q --no-install-recommends --arch-only \/tmp\/deps\/'hello_1\.0-1\.dsc'\n/);
    expect(runner.deps.execs).toHaveLength(5);
    expect(runner.stored).toEqual([{ container: runner.deps, key: KEY, comment: 'build-dependencies: debhelper=13.1 libfoo-dev=1.2-1' }]);
    expect(runner.evicted).toEqual([[3, 5000, 'sha256:committed']]);
    expect(runner.builds[0].spec.image).toBe('sha256:committed');
    expect(req.log()).toContain('archive-in-a-box: installing 2 build-dependencies, with no network\n');
  });

  it('keys an install that removes packages (Build-Conflicts) by them too: the image of the same installs with them there is not used, nor replaced', async () => {
    const runner = new FakeRunner();
    runner.cached[KEY] = 'sha256:cached';
    runner.resolve = ok(`${SIMULATION}Remv g++ [4:14.2.0-1]\nRemv fakeroot [1.37.1.1-1]\n`);
    const req = request();
    const withRemovals = depsKey(BUILDENV_ID, 'amd64', INSTALLS, parseShowHashes(SHOW), ['fakeroot', 'g++']);
    expect(await runBuild(runner, req)).toMatchObject({ outcome: 'built', image: 'sha256:committed', depsKey: withRemovals, cached: false });
    expect(withRemovals).not.toBe(KEY);
    expect(runner.found).toEqual([withRemovals]);
    expect(runner.stored).toEqual([{ container: runner.deps, key: withRemovals, comment: 'build-dependencies: debhelper=13.1 libfoo-dev=1.2-1 -fakeroot -g++' }]);
    expect(req.log()).toContain('archive-in-a-box: installing 2 build-dependencies (removing fakeroot g++), with no network\n');
  });

  it('fails when dpkg-buildpackage fails, saying its exit code', async () => {
    const runner = new FakeRunner();
    runner.build = async (io) => (io.say('make: *** [all] Error 2\n'), 2);
    expect(await runBuild(runner, request())).toEqual({ outcome: 'failed', reason: 'dpkg-buildpackage failed (exit 2); see the log', image: 'sha256:committed', depsKey: KEY });
    expect(runner.builds[0].taken).toBeUndefined();
  });

  it('fails when the outputs are refused', async () => {
    const runner = new FakeRunner();
    runner.outputs = { refused: "the build's output was refused: it holds more than 1000 files (builds.output_files)" };
    expect(await runBuild(runner, request())).toEqual({ outcome: 'failed', reason: "the build's output was refused: it holds more than 1000 files (builds.output_files)", image: 'sha256:committed', depsKey: KEY });
  });

  it('kills a build whose log passes the cap, and drops the rest', async () => {
    const runner = new FakeRunner();
    runner.build = async (io) => {
      io.say(`first ${'a'.repeat(600)}\n`);
      io.say(`second ${'b'.repeat(600)}\n`);
      await io.killed;
      return 137;
    };
    const req = request({ logCapBytes: 1024 });
    const why = 'the build log passed its cap of 1 KiB; the rest of the output was dropped';
    expect(await runBuild(runner, req)).toMatchObject({ outcome: 'failed', reason: why });
    expect(runner.builds[0].kills).toBe(1);
    expect(req.log()).toContain('first aaa');
    expect(req.log()).not.toContain('second');
    expect(req.log()).toContain(`\narchive-in-a-box: build stopped: ${why}\n`);
  });

  it('kills a build that runs past its time limit, though it prints', async () => {
    const runner = new FakeRunner();
    let killed = false;
    runner.build = async (io) => {
      void io.killed.then(() => (killed = true));
      while (!killed) {
        io.say('still going\n');
        await io.sleep(50);
      }
      return 137;
    };
    const req = request({ timeoutMs: 1000, stallMs: 400 });
    const started = Date.now();
    expect(await runBuild(runner, req)).toMatchObject({ outcome: 'failed', reason: 'the build ran past its time limit of 1 s (builds.timeout_minutes)' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(req.log()).toContain('archive-in-a-box: build stopped: the build ran past its time limit of 1 s');
  });

  it('kills a build that prints nothing for the stall timeout', async () => {
    const runner = new FakeRunner();
    runner.build = async (io) => {
      io.say('starting\n');
      await io.killed;
      return 137;
    };
    const started = Date.now();
    expect(await runBuild(runner, request({ stallMs: 1000 }))).toMatchObject({ outcome: 'failed', reason: 'the build printed nothing for 1 s (stalled; builds.stall_minutes)' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(runner.builds[0].kills).toBe(1);
  });

  describe('what its containers write to disk', () => {
    const was = { ...DISK_CHECK };
    beforeEach(() => Object.assign(DISK_CHECK, { intervalMs: 20 }));
    afterEach(() => Object.assign(DISK_CHECK, was));

    it('kills a build whose container has written past builds.disk_gib, as the engine counts it', async () => {
      const runner = new FakeRunner();
      let written = 0;
      runner.written = async (c) => (c === runner.builds[0] ? written : 0);
      runner.build = async (io) => {
        let killed = false;
        void io.killed.then(() => (killed = true));
        io.say('writing\n');
        while (!killed) {
          written += 256 * 1024;
          await io.sleep(10);
        }
        return 137;
      };
      const why = 'the build wrote past the disk limit of 1 MiB (builds.disk_gib)';
      const req = request({ diskBytes: 1024 ** 2 });
      expect(await runBuild(runner, req)).toMatchObject({ outcome: 'failed', reason: why });
      expect(runner.builds[0].kills).toBe(1);
      expect(written).toBeGreaterThan(1024 ** 2);
      expect(req.log()).toContain(`\narchive-in-a-box: build stopped: ${why}\n`);
    });

    it('kills the installation of build-dependencies whose scripts write past it into the container\'s layer', async () => {
      const runner = new FakeRunner();
      runner.written = async (c) => (c === runner.deps ? 5 * 1024 ** 2 : 0);
      runner.install = async (io) => {
        io.say('Setting up hostile-dep (1.0) ...\n');
        await io.killed;
        return 137;
      };
      const why = 'installing the build-dependencies wrote past the disk limit of 1 MiB (builds.disk_gib)';
      expect(await runBuild(runner, request({ diskBytes: 1024 ** 2 }))).toMatchObject({ outcome: 'failed', reason: why });
      expect(runner.builds).toHaveLength(0);
    });

    it('keeps no build-dependency image whose installation passed the limit after the last count: the container is stopped, counted afresh, and the job fails', async () => {
      const runner = new FakeRunner();
      const counted: { kills: number; fresh?: boolean }[] = [];
      runner.written = async (c, o) => {
        if (c !== runner.deps) return 0;
        counted.push({ kills: c.kills, fresh: o?.fresh });
        return 5 * 1024 ** 2; // a postinst's sparse file, made between two counts (or by what it left running)
      };
      const why = 'installing the build-dependencies wrote past the disk limit of 1 MiB (builds.disk_gib)';
      const req = request({ diskBytes: 1024 ** 2 });
      expect(await runBuild(runner, req)).toMatchObject({ outcome: 'failed', reason: why });
      expect(counted).toEqual([{ kills: 1, fresh: true }]);
      expect(runner.stored).toEqual([]);
      expect(runner.builds).toHaveLength(0);
      expect(req.log()).toContain(`\narchive-in-a-box: build stopped: ${why}\n`);
    });

    it('keeps none when the engine cannot count then: the job goes back', async () => {
      const runner = new FakeRunner();
      runner.written = async (c, o) => {
        if (o?.fresh) throw new DockerError('the engine did not answer its disk usage within 60 s');
        return 0;
      };
      await expect(runBuild(runner, request())).rejects.toThrow('the engine did not answer its disk usage within 60 s');
      expect(runner.stored).toEqual([]);
    });

    it('builds on when the engine cannot count, saying so once in the log', async () => {
      const runner = new FakeRunner();
      runner.written = async (c) => {
        if (c === runner.deps) return 0;
        throw new DockerError('a disk usage operation is already running');
      };
      runner.build = async (io) => {
        await io.sleep(200);
        io.say('built\n');
        return 0;
      };
      const req = request({ diskBytes: 1 });
      expect(await runBuild(runner, req)).toMatchObject({ outcome: 'built' });
      expect(req.log().match(/the engine could not count what the build wrote to disk \(a disk usage operation is already running\); counted again in 0 s/g)).toHaveLength(1);
    });
  });

  describe('when the engine cannot kill', () => {
    const was = { ...KILLING };
    beforeEach(() => Object.assign(KILLING, { retryMs: 100, answerMs: 200, tries: 4 }));
    afterEach(() => Object.assign(KILLING, was));
    /** A runner whose build runs until killed, and whose engine fails kills as `o` says. */
    const stuck = (o: Partial<Pick<FakeRunner, 'failedKills' | 'unansweredKills'>>) =>
      Object.assign(new FakeRunner(), {
        build: (async (io) => {
          io.say('starting\n');
          await io.killed;
          return 137;
        }) as Program,
        ...o,
      });

    it('tries the kill again until the build ends, and the log says so', async () => {
      const runner = stuck({ failedKills: 2 });
      const req = request({ stallMs: 1000 });
      expect(await runBuild(runner, req)).toMatchObject({ outcome: 'failed', reason: 'the build printed nothing for 1 s (stalled; builds.stall_minutes)' });
      expect(runner.builds[0].kills).toBe(3);
      expect(req.log()).toContain('archive-in-a-box: the engine could not stop it (cannot kill container: tried to kill container, but did not receive an exit event); trying again\n');
    });

    it('gives the run up after its tries, a builder problem (the job goes back), and tries no more once it ended', async () => {
      const runner = stuck({ failedKills: Infinity });
      await expect(runBuild(runner, request({ stallMs: 1000 }))).rejects.toThrow("the engine could not stop the build's container after 4 tries: cannot kill container");
      expect(runner.builds[0].kills).toBe(4);
      // A build that ends by itself after a failed kill: no kill tried after its end.
      const second = new FakeRunner();
      second.failedKills = Infinity;
      second.build = async (io) => {
        io.say('starting\n');
        await io.sleep(650); // past the stall limit, before the tries run out
        return 0;
      };
      await runBuild(second, request({ stallMs: 400 }));
      const kills = second.builds[0].kills;
      expect(kills).toBeGreaterThanOrEqual(1);
      await sleep(300);
      expect(second.builds[0].kills).toBe(kills);
    });

    it('keeps no build-dependency image when the engine does not stop their container before the commit: the job goes back', async () => {
      const runner = new FakeRunner();
      runner.unansweredDepsKill = true;
      await expect(runBuild(runner, request())).rejects.toThrow('the engine did not stop the container of installing the build-dependencies within 0 s');
      expect(runner.stored).toEqual([]);
      expect(runner.deps.removed).toBe(true);
    });

    it('counts a kill the engine does not answer as one it could not make', async () => {
      const runner = stuck({ unansweredKills: true });
      await expect(runBuild(runner, request({ stallMs: 1000 }))).rejects.toThrow("the engine could not stop the build's container after 4 tries: the engine did not answer the kill within 0 s");
      expect(runner.builds[0].kills).toBe(4);
    });
  });

  it('kills the dependencies container past the time limit; the stream the kill cuts is no builder problem', async () => {
    const runner = new FakeRunner();
    runner.breakStream = 'on-kill';
    runner.install = async (io) => {
      await io.killed;
      return 137;
    };
    expect(await runBuild(runner, request({ timeoutMs: 1000 }))).toEqual({ outcome: 'failed', reason: 'installing the build-dependencies ran past the time limit of 1 s (builds.timeout_minutes)' });
    expect(runner.deps.kills).toBe(1);
    expect(runner.stored).toEqual([]);
    expect(runner.builds).toEqual([]);
  });

  it('gives a broken stream, not killed, back as an engine problem', async () => {
    const runner = new FakeRunner();
    runner.breakStream = 'always';
    await expect(runBuild(runner, request())).rejects.toThrow(new DockerError('build of job-1: socket hang up'));
  });

  it('removes every container it made: after each step, and when the engine fails', async () => {
    const built = new FakeRunner();
    let depsGoneBeforeBuild = false;
    built.build = async () => {
      depsGoneBeforeBuild = built.deps.removed;
      return 0;
    };
    await runBuild(built, request());
    expect(depsGoneBeforeBuild).toBe(true);
    expect(built.containers.map((c) => c.removed)).toEqual([true, true]);

    const depWait = new FakeRunner();
    depWait.resolve = async (io) => (io.say(UNMET), 100);
    depWait.failRemove = true;
    await runBuild(depWait, request());
    expect(depWait.containers.map((c) => c.removed)).toEqual([true]);

    const broken = new FakeRunner();
    let puts = 0;
    broken.build = ok('');
    const create = broken.create.bind(broken);
    broken.create = async (spec) => {
      const c = await create(spec);
      // The build container's files do not go in.
      if (++puts === 2) broken.failPut = true;
      return c;
    };
    await expect(runBuild(broken, request())).rejects.toThrow(new DockerError('build of job-1: putArchive: boom'));
    expect(broken.containers.map((c) => c.removed)).toEqual([true, true]);
  });

  it('makes the dependencies container from the build environment\'s image id its key holds, not its name (a refresh may retag the name meanwhile)', async () => {
    const runner = new FakeRunner();
    const imageId = runner.imageId.bind(runner);
    runner.imageId = async (name) => {
      const id = await imageId(name);
      runner.images[name] = 'sha256:refreshed'; // archive refresh, just after the id was read
      return id;
    };
    expect(await runBuild(runner, request())).toMatchObject({ outcome: 'built', depsKey: KEY });
    expect(runner.deps.spec.image).toBe(BUILDENV_ID);
  });

  it('says so when the build environment image is not there', async () => {
    const runner = new FakeRunner();
    runner.images = {};
    await expect(runBuild(runner, request())).rejects.toThrow(
      new DockerError('build of job-1: the build environment image archive/buildenv:trixie does not exist; archive up (or archive refresh) builds it'),
    );
    expect(runner.containers).toEqual([]);
  });

  it('runs the build with no network, every capability dropped, a read-only root, as the builder user', async () => {
    const runner = new FakeRunner();
    await runBuild(runner, request({ memoryBytes: 1e9, pidsLimit: 99, cpus: 3 }));
    expect(runner.builds[0].spec).toMatchObject({
      user: 'builder',
      network: 'none',
      capDrop: ['ALL'],
      noNewPrivileges: true,
      readOnlyRoot: true,
      tmpfs: { '/tmp': 'rw,exec,nosuid,size=2g' },
      volume: '/build',
      memoryBytes: 1e9,
      pidsLimit: 99,
      cpus: 3,
      labels: { 'archive-in-a-box.builder': 'b1', [LABEL_BUILD]: 'job-1' },
    });
    expect(runner.builds[0].spec.capAdd).toBeUndefined();
  });

  it('installs the build-dependencies with only the capabilities apt and dpkg need, no-new-privileges, on the local archive\'s network', async () => {
    const runner = new FakeRunner();
    const local = { network: 'aib-deps', url: 'http://repo:80', suite: 'unstable', components: ['main', 'contrib'], key: '-----BEGIN PGP PUBLIC KEY BLOCK-----' };
    await runBuild(runner, request({ memoryBytes: 1e9, pidsLimit: 99, cpus: 3 }, local));
    expect(runner.deps.spec).toMatchObject({
      image: BUILDENV_ID,
      network: 'aib-deps',
      capDrop: ['ALL'],
      capAdd: DEPS_CAPABILITIES,
      noNewPrivileges: true,
      init: true,
      memoryBytes: 1e9,
      pidsLimit: 99,
      cpus: 3,
      labels: { 'archive-in-a-box.builder': 'b1', [LABEL_BUILD]: 'job-1' },
    });
    expect(runner.deps.spec.user).toBeUndefined();
    // The local archive's source and key go in; its lists are fetched before resolving.
    expect(runner.deps.puts[0].names).toEqual(['tmp/deps/hello_1.0-1.dsc', 'etc/apt/keyrings/archive-in-a-box.asc', 'etc/apt/archive-in-a-box.d/archive-in-a-box.sources']);
    expect(runner.deps.execs[0]).toMatch(/apt-get update -q -o Dir::Etc::SourceList=\/dev\/null -o Dir::Etc::SourceParts=\/etc\/apt\/archive-in-a-box.d/);
  });
});

describe('a build started from the image of its source\'s last build while apt resolves', () => {
  /** A resolution that answers (as apt would, by default) only once `ready()` holds: the build has had its chance to start and print. */
  const resolveWhen = (ready: () => boolean, answer: Program = ok(SIMULATION)): Program => async (io) => {
    while (!ready()) await io.sleep(1);
    return answer(io);
  };

  /** Builds that run until they are killed; whether one has started. */
  const untilKilled = (runner: FakeRunner): (() => boolean) => {
    let running = false;
    runner.build = async (io) => {
      running = true;
      await io.killed;
      return 137;
    };
    return () => running;
  };

  it('is kept when apt resolves to that image: one build, its output logged after the resolution', async () => {
    const runner = new FakeRunner();
    runner.cached[KEY] = 'sha256:cached';
    let printed = false;
    runner.build = async (io) => {
      io.say('dpkg-buildpackage: early\n');
      printed = true;
      return 0;
    };
    runner.resolve = resolveWhen(() => printed);
    const req = { ...request(), likelyDepsKey: KEY };
    expect(await runBuild(runner, req)).toMatchObject({ outcome: 'built', image: 'sha256:cached', depsKey: KEY, cached: true });
    expect(runner.builds.map((b) => b.spec.image)).toEqual(['sha256:cached']);
    const log = req.log();
    const [cache, kept, output] = ['from the cache: archive/deps:', 'the build started from that image while apt resolved', 'dpkg-buildpackage: early'].map((t) => log.indexOf(t));
    expect(cache).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(cache);
    expect(output).toBeGreaterThan(kept);
    expect(runner.containers.every((c) => c.removed)).toBe(true);
    // Resolving yields the CPUs to the build; the build keeps the engine's default weight.
    expect(runner.deps.spec.cpuShares).toBe(BEHIND_BUILD_CPU_SHARES);
    expect(runner.builds[0].spec.cpuShares).toBeUndefined();
  });

  it('is stopped unseen when apt resolves to other packages, and the build runs from the resolved image', async () => {
    const runner = new FakeRunner();
    runner.cached.lastkey = 'sha256:last';
    let builds = 0;
    let earlyRunning = false;
    runner.build = async (io) => {
      const n = ++builds;
      io.say(`build ${n} printed this\n`);
      if (n > 1) return 0;
      earlyRunning = true;
      await io.killed;
      return 137;
    };
    runner.resolve = resolveWhen(() => earlyRunning);
    const req = { ...request(), likelyDepsKey: 'lastkey' };
    expect(await runBuild(runner, req)).toMatchObject({ outcome: 'built', image: 'sha256:committed', depsKey: KEY, cached: false });
    expect(runner.builds.map((b) => b.spec.image)).toEqual(['sha256:last', 'sha256:committed']);
    expect(runner.builds[0].removed).toBe(true);
    expect(runner.builds[0].taken).toBeUndefined();
    const log = req.log();
    expect(log).not.toContain('build 1 printed this');
    expect(log).toContain('build 2 printed this');
    expect(log).toContain('a build started early from the image of this source\'s last build was stopped: the build-dependencies resolve to other packages now');
    expect(runner.containers.every((c) => c.removed)).toBe(true);
  });

  it('holds back no more than the log cap: one that passes it while apt resolves is killed, and says so once kept', async () => {
    const runner = new FakeRunner();
    runner.cached[KEY] = 'sha256:cached';
    runner.build = async (io) => {
      for (let i = 0; i < 100; i++) io.say(`line ${i} ${'x'.repeat(600)}\n`);
      await io.killed;
      return 137;
    };
    runner.resolve = resolveWhen(() => runner.builds[0]?.kills > 0);
    const req = { ...request({ logCapBytes: 1024 }), likelyDepsKey: KEY };
    const why = 'the build log passed its cap of 1 KiB; the rest of the output was dropped';
    expect(await runBuild(runner, req)).toMatchObject({ outcome: 'failed', reason: why, image: 'sha256:cached' });
    const log = req.log();
    expect(log).toContain('line 0 ');
    expect(log).not.toContain('line 1 ');
    expect(log.trimEnd().split('\n').pop()).toBe(`archive-in-a-box: build stopped: ${why}`);
  });

  it('is stopped when the build-dependencies turn out unmet', async () => {
    const runner = new FakeRunner();
    runner.cached[KEY] = 'sha256:cached';
    runner.resolve = resolveWhen(untilKilled(runner), async (io) => (io.say(UNMET), 100));
    expect(await runBuild(runner, { ...request(), likelyDepsKey: KEY })).toMatchObject({ outcome: 'dep-wait' });
    expect(runner.builds).toHaveLength(1);
    expect(runner.containers.every((c) => c.removed)).toBe(true);
  });

  it('is not tried when the last build\'s image is no longer cached', async () => {
    const runner = new FakeRunner();
    const req = { ...request(), likelyDepsKey: 'evicted' };
    expect(await runBuild(runner, req)).toMatchObject({ outcome: 'built', image: 'sha256:committed' });
    expect(runner.found).toEqual(['evicted', KEY]);
    expect(runner.builds.map((b) => b.spec.image)).toEqual(['sha256:committed']);
    expect(req.log()).not.toContain('started');
    // With no build beside it, resolving has the engine's default CPU weight.
    expect(runner.deps.spec.cpuShares).toBeUndefined();
  });

  it('is stopped and removed when the engine fails while it runs', async () => {
    const runner = new FakeRunner();
    runner.cached[KEY] = 'sha256:cached';
    runner.resolve = resolveWhen(untilKilled(runner), async () => {
      throw new Error('exec: socket hang up');
    });
    await expect(runBuild(runner, { ...request(), likelyDepsKey: KEY })).rejects.toThrow('build of job-1: exec: socket hang up');
    expect(runner.builds).toHaveLength(1);
    expect(runner.containers.every((c) => c.removed)).toBe(true);
  });
});
