// The builder against a running archive: build-dependencies resolved by apt from Debian and
// from this archive (dep-wait until they exist), the dependency cache, isolation of the build,
// a failing build, a builder killed in the middle of a build, and the status page as a browser
// shows it.
import { copyFile, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildenvImageName, refreshBuildenv } from '../src/docker/buildenv.js';
import { connectDocker } from '../src/docker/engine.js';
import { LABEL_CREATED, LABEL_SOURCE_REVISION } from '../src/docker/images.js';
import { REPO, RUN_ID, TestArchive, cleanupRun, inCleanContainer, until, type JobView, type UpResult } from './support/archive.js';

/** Where the builder keeps its jobs' folders (compose/compose.yaml). */
const JOBS = '/var/lib/archive-jobs';

describe('builds in a running archive', () => {
  let archive: TestArchive;
  let up: UpResult;

  const log = async (job: JobView) => readFile(join(archive.root, 'public', job.log!), 'utf8');

  beforeAll(async () => {
    archive = await TestArchive.create();
    up = await archive.up();
  });

  afterAll(async () => {
    await archive?.destroy();
    await cleanupRun();
  });

  it('waits for a -dev build-dependency uploaded later, then builds and publishes both in order', async () => {
    await archive.send(up, { name: 'aib-prog', version: '1.0-1', buildDepends: ['libaib-dev (>= 1.0)'], print: { includes: ['aib.h'], expression: 'AIB_GREETING' } });
    const waiting = await until('aib-prog in dep-wait', async () => {
      const u = await archive.upload('aib-prog', '1.0-1');
      return u?.jobs[0]?.state === 'dep-wait' ? u : undefined;
    });
    expect(waiting.state).toBe('dep-wait');
    expect(waiting.jobs[0].missing).toMatch(/libaib-dev \(>= 1\.0\) but it is not installable/);
    expect(String((await archive.cli(['status'])).stdout)).toMatch(/dep-wait — build-dependencies not satisfiable yet: libaib-dev/);

    await archive.send(up, { name: 'aib-lib', version: '1.0-1', header: { binary: 'libaib-dev', name: 'aib.h', content: '#define AIB_GREETING "greeting from libaib-dev"\n' } });
    expect((await archive.cli(['wait', 'aib-lib', '1.0-1', '--timeout', '900'])).exitCode).toBe(0);
    const prog = await archive.cli(['wait', 'aib-prog', '1.0-1', '--timeout', '900']);
    expect(prog.exitCode, String(prog.all)).toBe(0);
    const job = (await archive.upload('aib-prog', '1.0-1'))!.jobs[0];
    expect(job.image).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The cached image, which another archive on this engine with the same build-dependencies
    // would build from, keeps nothing of this archive's: its package lists, its source, its key.
    const kept = await execa('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'sh', job.image!, '-c', 'ls -a /var/lib/apt/lists /etc/apt/sources.list.d /etc/apt/keyrings /etc/apt/apt.conf.d; grep -rl "repo:8081" /var/lib/apt /var/cache/apt /etc/apt || true']);
    expect(kept.stdout).toContain('/var/lib/apt/lists:');
    expect(kept.stdout).not.toMatch(/repo:8081|archive-in-a-box(\.sources|\.asc|-ca)/);
    // apt resolved it from this archive (Origin "archive"), reached as a signed apt source.
    expect(await log(job)).toMatch(/^Inst libaib-dev \(1\.0-1 archive:unstable \[all\]\)$/m);
    expect(await log(job)).toMatch(/^Get:\d+ http:\/\/repo:8081 unstable InRelease/m);

    const client = await inCleanContainer(
      up,
      up.aptSourceHttp,
      'apt-get update -q >/dev/null && apt-get install -y -q aib-prog >/dev/null && echo "SAYS: $(aib-prog)" && if apt-cache show aib-prog-dbgsym >/dev/null 2>&1; then echo "DBGSYM IN UNSTABLE"; fi',
    );
    expect(client.all).toContain('SAYS: greeting from libaib-dev');
    // Its debug symbols are in unstable-debug, as Debian's are in debian-debug, not in unstable.
    expect(client.all).not.toContain('DBGSYM IN UNSTABLE');
    const withDebug = up.aptSourceHttp.replace(/^Suites: .*$/m, 'Suites: unstable unstable-debug');
    const debug = await inCleanContainer(up, withDebug, 'apt-get update -q >/dev/null && apt-get install -y -q aib-prog-dbgsym >/dev/null && dpkg -L aib-prog-dbgsym | grep "^/usr/lib/debug/.build-id/.*\\.debug$"');
    expect(debug.exitCode, String(debug.all)).toBe(0);
  });

  it('cancels the build not started yet of a source superseded by a newer upload or removed with archive rm, and says why', async () => {
    const inDepWait = (name: string) =>
      until(`${name} in dep-wait`, async () => (await archive.upload(name, '1.0-1'))?.jobs[0]?.state === 'dep-wait');
    // 1.0-1 waits for a build-dependency nothing provides; 1.1-1 needs none and supersedes it
    // (a new upstream version: each test package brings a tarball of its own).
    await archive.send(up, { name: 'aib-stale', version: '1.0-1', buildDepends: ['libaib-missing-dev'] });
    await inDepWait('aib-stale');
    await archive.send(up, { name: 'aib-stale', version: '1.1-1' });
    const newer = await archive.cli(['wait', 'aib-stale', '1.1-1', '--timeout', '900']);
    expect(newer.exitCode, String(newer.all)).toBe(0);
    const stale = await archive.cli(['wait', 'aib-stale', '1.0-1', '--timeout', '60']);
    expect(stale.exitCode).toBe(1);
    expect(stale.all).toContain('aib-stale 1.0-1 was cancelled');
    expect(stale.all).toContain('build on amd64 cancelled: superseded by aib-stale 1.1-1');
    expect((await archive.upload('aib-stale', '1.0-1'))!.jobs[0].state).toBe('cancelled');

    // A source removed while its build waits: the build goes with it.
    await archive.send(up, { name: 'aib-dropped', version: '1.0-1', buildDepends: ['libaib-missing-dev'] });
    await inDepWait('aib-dropped');
    const rm = await archive.cli(['rm', 'aib-dropped']);
    expect(rm.exitCode, String(rm.all)).toBe(0);
    expect(rm.stdout).toContain('removed aib-dropped from unstable: 1 source package(s), 0 binary package(s); 1 job(s) not started yet cancelled');
    const dropped = (await archive.upload('aib-dropped', '1.0-1'))!;
    expect(dropped.state).toBe('cancelled');
    expect(dropped.jobs[0]).toMatchObject({ state: 'cancelled', reason: 'aib-dropped was removed from unstable (archive rm)' });
    expect(String((await archive.cli(['status'])).stdout)).toMatch(/aib-dropped 1\.0-1 -> unstable: cancelled\n.*cancelled — aib-dropped was removed from unstable/);
    // Later publications do not bring it back to dep-wait.
    await archive.send(up, { name: 'aib-after', version: '1.0-1' });
    expect((await archive.cli(['wait', 'aib-after', '1.0-1', '--timeout', '900'])).exitCode).toBe(0);
    expect((await archive.upload('aib-dropped', '1.0-1'))!.jobs[0].state).toBe('cancelled');
  });

  it('runs the build step unprivileged, without network, capabilities, Docker socket or a writable root; so does one started while apt resolves', async () => {
    const probe = [
      'echo "PROBE uid=$(id -u) user=$(id -un)"',
      'echo "PROBE interfaces=$(ls /sys/class/net | tr "\\n" " ")"',
      'if timeout 5 bash -c "exec 3<>/dev/tcp/repo/8080" 2>/dev/null; then echo "PROBE connect=ok"; else echo "PROBE connect=failed"; fi',
      'if getent hosts repo >/dev/null; then echo "PROBE dns=ok"; else echo "PROBE dns=failed"; fi',
      'if [ -e /var/run/docker.sock ]; then echo "PROBE docker-socket=present"; else echo "PROBE docker-socket=absent"; fi',
      'echo "PROBE $(grep CapEff /proc/self/status | tr -d "\\t")"',
      'grep -q "NoNewPrivs:.*1" /proc/self/status && echo "PROBE no-new-privileges=1"',
      'if touch /usr/probe-write 2>/dev/null; then echo "PROBE root-write=allowed"; else echo "PROBE root-write=denied"; fi',
      'if ls /archive /srv/archive 2>/dev/null; then echo "PROBE archive-files=visible"; else echo "PROBE archive-files=absent"; fi',
    ].join('\n');
    const probes = async (version: string) => {
      await archive.send(up, { name: 'aib-probe', version, buildScript: 'bash debian/probe.sh', debianFiles: { 'probe.sh': `${probe}\n` } });
      const waited = await archive.cli(['wait', 'aib-probe', version, '--timeout', '900']);
      expect(waited.exitCode, String(waited.all)).toBe(0);
      const text = await log((await archive.upload('aib-probe', version))!.jobs[0]);
      return { text, probed: text.split('\n').filter((l) => l.startsWith('PROBE ')) };
    };
    const { text, probed } = await probes('1.0-1');
    expect(probed).toEqual([
      'PROBE uid=2000 user=builder',
      'PROBE interfaces=lo ',
      'PROBE connect=failed',
      'PROBE dns=failed',
      'PROBE docker-socket=absent',
      'PROBE CapEff:0000000000000000',
      'PROBE no-new-privileges=1',
      'PROBE root-write=denied',
      'PROBE archive-files=absent',
    ]);
    // Same build-dependency set as earlier builds: the cached image was used.
    expect(text).toMatch(/build-dependencies \(\d+ packages\) from the cache: archive\/deps:[0-9a-f]{32}/);
    expect(text).not.toContain('while apt resolved');
    // The next version starts from the image of this one's build-dependencies before apt has
    // answered, in the same confinement; apt then names that image, and the build is kept.
    const next = await probes('1.1-1');
    expect(next.text).toContain('archive-in-a-box: the build started from that image while apt resolved');
    expect(next.probed).toEqual(probed);
  });

  it('keeps the log of a build that fails, shows its end in status, and builds it again on retry', async () => {
    await archive.send(up, { name: 'aib-ftbfs', version: '1.0-1', buildScript: 'echo FTBFS-MARKER-42 && false' });
    const failed = await archive.cli(['wait', 'aib-ftbfs', '1.0-1', '--timeout', '900']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/build on amd64 failed: dpkg-buildpackage failed \(exit \d+\); see the log/);
    const job = (await archive.upload('aib-ftbfs', '1.0-1'))!.jobs[0];
    expect(await log(job)).toContain('FTBFS-MARKER-42');
    expect(String((await archive.cli(['status'])).stdout)).toContain('| FTBFS-MARKER-42');
    const logs = await archive.cli(['logs', 'aib-ftbfs']);
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toContain('FTBFS-MARKER-42');

    const retried = await archive.cli(['retry', 'aib-ftbfs', '1.0-1']);
    expect(retried.exitCode, String(retried.all)).toBe(0);
    expect(retried.stdout).toContain('aib-ftbfs 1.0-1: amd64 queued again');
    await until('the retried build to fail again', async () => ((await archive.upload('aib-ftbfs', '1.0-1'))!.jobs[0].attempts === 2 && (await archive.upload('aib-ftbfs', '1.0-1'))!.state === 'failed') || undefined);
    const nothing = await archive.cli(['retry', 'aib-unknown']);
    expect(nothing.exitCode).toBe(2);
    expect(nothing.stderr).toContain('no accepted upload of aib-unknown');
  });

  it('gives the job of a builder killed mid-build back; the restarted builder completes it, two jobs at once', async () => {
    const config = join(archive.root, 'archive.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace('concurrency: 1', 'concurrency: 2'));
    const slow2 = { name: 'aib-slow2', version: '1.0-1', buildScript: 'echo SLOW-BUILD-STARTED && sleep 20' };
    const slow2Package = await archive.make(slow2); // made now: sent within the first build's 20 s
    await archive.send(up, { name: 'aib-slow', version: '1.0-1', buildScript: 'echo SLOW-BUILD-STARTED && sleep 20' });
    await until('the slow build to start', async () => {
      const job = (await archive.upload('aib-slow', '1.0-1'))?.jobs[0];
      return job?.state === 'building' && job.log && (await log(job)).includes('SLOW-BUILD-STARTED') ? job : undefined;
    }, 600_000, 500, 1000);
    // Sent once the first is building (two taken in one scan may be leased in either order).
    await archive.send(up, slow2, slow2Package);
    const second = await until('the second slow upload to be accepted', async () => (await archive.upload('aib-slow2', '1.0-1'))?.jobs[0]);
    // The builder started with concurrency 1: the second job waits.
    expect(second.state).toBe('needs-build');
    const builder = `${up.project}-builder`;
    const pid = (await execa('docker', ['inspect', '--format', '{{.State.Pid}}', builder])).stdout.trim();
    await execa('kill', ['-9', pid]);
    // Restarted, it reads concurrency 2 from the queue and builds both at once.
    await until('both slow builds running at once', async () => {
      const states = await Promise.all(['aib-slow', 'aib-slow2'].map(async (s) => (await archive.upload(s, '1.0-1'))!.jobs[0].state));
      return states.every((st) => st === 'building') || undefined;
    }, 600_000, 500, 1000);
    // archive logs --follow prints the build live and returns when it ends.
    const follow = archive.cli(['logs', 'aib-slow2', '--follow']);
    for (const source of ['aib-slow', 'aib-slow2']) {
      const waited = await archive.cli(['wait', source, '1.0-1', '--timeout', '900']);
      expect(waited.exitCode, String(waited.all)).toBe(0);
    }
    expect((await archive.upload('aib-slow', '1.0-1'))!.jobs[0].attempts).toBe(2);
    const followed = await follow;
    expect(followed.exitCode, String(followed.all)).toBe(0);
    expect(followed.stdout).toContain('SLOW-BUILD-STARTED');
    expect(followed.stdout).toContain('archive-in-a-box: build successful');
    const listed = JSON.parse(String((await archive.cli(['ls', '--json'])).stdout));
    expect(listed[0].sources.find((s: { source: string }) => s.source === 'aib-prog').binaries).toEqual([
      { package: 'aib-prog', version: '1.0-1', architecture: 'amd64', component: 'main', origin: 'built' },
      { package: 'aib-prog-dbgsym', version: '1.0-1', architecture: 'amd64', component: 'main', origin: 'built' },
    ]);
    const restarts = (await execa('docker', ['inspect', '--format', '{{.RestartCount}}', builder])).stdout.trim();
    expect(Number(restarts)).toBeGreaterThanOrEqual(1);
    // The job folder the killed builder left on its volume was removed when it started again (the
    // two jobs since removed theirs as they ended).
    // (A job's folder goes once its report is in, as its publication starts: looked at until then.)
    await until('the job folders to be gone', async () => (await execa('docker', ['exec', builder, 'find', JOBS, '-mindepth', '1'])).stdout.trim() === '' || undefined, 30_000);
    expect((await execa('docker', ['logs', builder])).stdout).toMatch(new RegExp(`removed [1-9]\\d* job folder\\(s\\) left in ${JOBS} from before a restart`));
    const leftovers = await execa('docker', ['ps', '-aq', '--filter', `label=archive-in-a-box.builder=${builder}`]);
    expect(leftovers.stdout.trim()).toBe('');
  });

  it("keeps a job's inputs and outputs on a volume of the builder's own, not in its memory: a package larger than its /tmp is published", async () => {
    const builder = `${up.project}-builder`;
    const [inspected] = JSON.parse((await execa('docker', ['inspect', builder])).stdout) as { Mounts: { Type: string; Destination: string }[]; HostConfig: { Tmpfs: Record<string, string> } }[];
    expect(inspected.Mounts).toContainEqual(expect.objectContaining({ Type: 'volume', Destination: JOBS }));
    const tmpBytes = 1024 ** 2 * Number(/size=(\d+)m/.exec(inspected.HostConfig.Tmpfs['/tmp'])![1]);
    // Random bytes, packed uncompressed: the .deb is as large as its payload, half again /tmp.
    const payload = Math.ceil((tmpBytes * 1.5) / 1024 ** 2);
    await archive.send(up, { name: 'aib-large', version: '1.0-1', data: { binary: 'aib-large-data', file: 'payload.bin', content: '' }, buildScript: `head -c ${payload}M /dev/urandom > payload.bin`, uncompressed: true });
    const waited = await archive.cli(['wait', 'aib-large', '1.0-1', '--timeout', '900']);
    expect(waited.exitCode, String(waited.all)).toBe(0);
    const published = await stat(join(archive.root, 'public', 'pool', 'main', 'a', 'aib-large', 'aib-large-data_1.0-1_all.deb'));
    expect(published.size).toBeGreaterThan(tmpBytes);
  });

  it('shows, in headless Chromium, a published package, a failed build with its log and a rejection; screenshots kept', async () => {
    // dput itself refuses the distribution (the stanza's allowed_distributions): copied by hand.
    const misdirected = await archive.make({ name: 'aib-misdirected', version: '1.0-1', distribution: 'nowhere' });
    for (const f of [...misdirected.files, misdirected.changes]) await copyFile(join(misdirected.dir, f), join(up.incoming, f));
    expect((await archive.cli(['wait', 'aib-misdirected', '1.0-1', '--timeout', '120'])).exitCode).toBe(1);
    await new Promise((r) => setTimeout(r, 1500)); // the page follows changes within half a second
    const profile = await mkdtemp(join(archive.work, 'chromium-'));
    // --no-sandbox: Chromium's sandbox needs user namespaces a root test run does not get.
    const chromium = (args: string[]) =>
      execa('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args], { reject: false, all: true, timeout: 120_000 });
    const dom = await chromium(['--dump-dom', up.url]);
    expect(dom.exitCode, String(dom.all)).toBe(0);
    const page = String(dom.stdout);
    expect(page).toContain('<a href="packages/aib-prog.html">aib-prog</a></td><td>1.0-1</td><td><span class="built">amd64</span></td><td class="state published">published</td>');
    expect(page).toMatch(/<td><a href="packages\/aib-ftbfs\.html">aib-ftbfs<\/a><\/td><td>1\.0-1<\/td><td>build<\/td><td>amd64<\/td><td class="state failed">failed<\/td><td class="num">[^<]+<\/td><td class="wide"><a href="logs\/aib-ftbfs_1\.0-1_amd64\.2\.log">log<\/a> dpkg-buildpackage failed/);
    expect(page).toMatch(/aib-misdirected_1\.0-1_source\.changes<\/td>.*nowhere/s);
    // The failed build's log, followed from the page, is served.
    expect(await (await fetch(`${up.url}logs/aib-ftbfs_1.0-1_amd64.2.log`)).text()).toContain('FTBFS-MARKER-42');
    const artifacts = join(REPO, 'test-artifacts');
    await mkdir(artifacts, { recursive: true });
    for (const [name, size] of [['status-page-desktop.png', '1280,1600'], ['status-page-phone.png', '412,915']]) {
      const shot = await chromium([`--window-size=${size}`, `--screenshot=${join(artifacts, name)}`, up.url]);
      expect(shot.exitCode, String(shot.all)).toBe(0);
      expect((await stat(join(artifacts, name))).size).toBeGreaterThan(10_000);
    }
  });

  it('refreshes a build environment into one layer with its settings, however often; the image before goes', async () => {
    const docker = await connectDocker(undefined);
    // A build environment of this test's own (the archive's stays as it is), made from the
    // archive's, with a label whose value ENV and LABEL would expand or cut if not quoted.
    const base = `aibtest${RUN_ID.replace(/[^a-z0-9]/g, '')}`;
    const name = buildenvImageName(base, 'amd64');
    const odd = 'a "quoted" $HOME \\ value';
    const made = await execa('docker', ['run', '--name', `${base}-make`, '--label', `archive-in-a-box.run-id=${RUN_ID}`, 'archive/buildenv:trixie-amd64', 'true']);
    expect(made.exitCode).toBe(0);
    await execa('docker', ['commit', '--change', `LABEL aibtest.odd=${JSON.stringify(odd).replaceAll('$', '\\$')}`, `${base}-make`, name]);
    await execa('docker', ['rm', `${base}-make`]);
    const inspect = async (ref: string) => JSON.parse(String((await execa('docker', ['image', 'inspect', ref])).stdout))[0];
    const original = await inspect(name);
    expect(original.Config.Labels['aibtest.odd']).toBe(odd);
    try {
      let before = original;
      for (let i = 0; i < 2; i++) {
        const id = await refreshBuildenv(docker, base, 'amd64', () => undefined);
        const after = await inspect(name);
        expect(after.Id).toBe(id);
        // One layer each time (a commit added one each time: Docker allows 125).
        expect(after.RootFS.Layers).toHaveLength(1);
        for (const key of ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User'] as const) expect(after.Config[key], key).toEqual(original.Config[key]);
        expect(after.Config.Labels['aibtest.odd']).toBe(odd);
        expect(after.Config.Labels[LABEL_SOURCE_REVISION]).toBe(original.Config.Labels[LABEL_SOURCE_REVISION]);
        expect(new Date(after.Config.Labels[LABEL_CREATED]).getTime()).toBeGreaterThan(new Date(before.Config.Labels[LABEL_CREATED]).getTime());
        expect(after.Architecture).toBe(original.Architecture);
        // The image before is gone (nothing held it).
        expect((await execa('docker', ['image', 'inspect', before.Id], { reject: false })).exitCode).not.toBe(0);
        before = after;
      }
      const run = await execa('docker', ['run', '--rm', '--label', `archive-in-a-box.run-id=${RUN_ID}`, name, 'bash', '-c', 'pwd; dpkg-buildpackage --version | head -1'], { reject: false });
      expect(run.exitCode, String(run.stderr)).toBe(0);
      expect(String(run.stdout)).toMatch(/^\/build\nDebian dpkg-buildpackage version/);
    } finally {
      await execa('docker', ['rmi', '-f', name], { reject: false });
    }
  });
});
