// The archive on a real Docker Swarm: three Docker-in-Docker nodes on this machine (a manager
// holding the archive root, two workers labelled archive.worker=true). `archive up --swarm`
// deploys it through the manager's Engine API, runs its own registry, pushes the worker's
// images to it; uploads dput on the manager are built on the worker nodes and installed with
// apt. A worker node killed mid-build loses nothing: the lease runs out, the other node builds.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_ID, TestArchive, cleanupRun, inCleanContainer, until, type JobView, type UpResult } from './support/archive.js';
import { LABEL_BUILDER } from '../src/core/kinds/build.js';
import { builderNameFromEnv } from '../src/daemons/builder.js';
import { ensureDindImage, startSwarm, type Swarm, type SwarmNode } from './support/swarm-nodes.js';

describe('the archive on a Docker Swarm', () => {
  let archive: TestArchive;
  /** A root on this machine whose path the manager holds another root at (elsewhere's). */
  let elsewhere: TestArchive;
  let other: TestArchive;
  let swarm: Swarm;
  let up: UpResult & { swarm: { manager: string; registry: string; workers: string[] } };
  let onManager: Record<string, string>;

  const job = async (source: string) => (await archive.upload(source, '1.0-1'))?.jobs[0] as (JobView & { worker?: string }) | undefined;
  /** The node a job's worker runs on: the worker is named after the node's host name and id (SWARM_WORKER_SUFFIX). */
  const workerName = (n: SwarmNode) => builderNameFromEnv({ ARCHIVE_BUILDER_NAME: `${up.project}-builder-${n.name}-${n.nodeId}` });
  const nodeOf = (worker: string | undefined) => swarm.workers.find((n) => worker?.startsWith(`${workerName(n)}/`));

  beforeAll(async () => {
    archive = await TestArchive.create();
    [elsewhere, other] = [await TestArchive.create(), await TestArchive.create()];
    await ensureDindImage();
    // The manager sees the root at the same path: `archive up --swarm` runs on the machine that holds it.
    swarm = await startSwarm({ runId: RUN_ID, workers: 2, mounts: [archive.root, `${other.root}:${elsewhere.root}`], workerLabel: 'archive.worker=true' });
    // The images archive up made on this host (other tests' ups), as a manager that ran up before
    // would have them; what this host lacks, archive up --swarm makes on the manager.
    const images = ['archive/base:trixie', 'archive/tool:latest', 'archive/repo:trixie', 'archive/buildenv:trixie-amd64', 'archive/registry:trixie'];
    const present = (await Promise.all(images.map(async (i) => ((await execa('docker', ['image', 'inspect', i], { reject: false })).exitCode === 0 ? i : undefined)))).filter((i) => i !== undefined);
    if (present.length) await swarm.loadImages(swarm.manager, present);
    onManager = { DOCKER_HOST: swarm.manager.dockerHost };
    expect((await archive.cli(['init'])).exitCode).toBe(0);
    // A lease runs out 20 s after a worker's last heartbeat (default 90 s): the killed node's job comes back sooner.
    const config = join(archive.root, 'archive.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace(/^ {2}lease_seconds: \d+$/m, '  lease_seconds: 20'));
    expect(await readFile(config, 'utf8')).toContain('\n  lease_seconds: 20\n');
    // Its port is the manager's on all its addresses (Swarm's host-mode ports take none): said with --listen.
    const refused = await archive.cli(['up', '--swarm', '--port', String(archive.port)], { env: onManager });
    expect(refused.exitCode, String(refused.all)).toBe(2);
    expect(refused.stderr).toContain('run archive up --swarm --listen 0.0.0.0 to say that is meant');
    const result = await archive.cli(['up', '--swarm', '--listen', '0.0.0.0', '--port', String(archive.port), '--json'], { env: onManager });
    expect(result.exitCode, String(result.all)).toBe(0);
    up = JSON.parse(String(result.stdout));
  });

  afterAll(async () => {
    await swarm?.remove();
    await archive?.destroy();
    await elsewhere?.destroy();
    await other?.destroy();
    await cleanupRun();
  });

  it('runs the queue and repository on the manager, a worker on each labelled node, the images through its own registry', async () => {
    expect(up.swarm).toEqual({ manager: swarm.manager.ip, registry: `${swarm.manager.ip}:5000`, workers: swarm.workers.map((n) => n.name).sort() });
    expect(up.url).toBe(`http://${swarm.manager.ip}:${archive.port}/`);
    const services = (await swarm.docker(swarm.manager, ['service', 'ls', '--format', '{{.Name}} {{.Mode}} {{.Replicas}} {{.Image}}'])).split('\n').sort();
    expect(services).toEqual([
      expect.stringMatching(new RegExp(`^${up.project}_builder global 2/2 ${swarm.manager.ip}:5000/archive/tool@sha256:[0-9a-f]{64}$`)),
      `${up.project}_queue replicated 1/1 archive/tool:latest`,
      `${up.project}_registry replicated 1/1 archive/registry:trixie`,
      `${up.project}_repo replicated 1/1 archive/repo:trixie`,
    ]);
    // Nothing of the archive runs on a worker node but its worker; nothing pulled from outside.
    for (const node of swarm.workers) {
      const names = (await swarm.docker(node, ['ps', '--format', '{{.Names}}'])).split('\n').filter(Boolean);
      expect(names, node.name).toEqual([expect.stringMatching(new RegExp(`^${up.project}_builder\\.`))]);
    }
    // The API token reaches the workers as a Swarm secret, not in a spec any manager reads.
    const token = (await readFile(join(archive.root, 'state', 'api-token'), 'utf8')).trim();
    expect(token.length).toBeGreaterThan(20);
    const inspected = await swarm.docker(swarm.manager, ['service', 'inspect', `${up.project}_builder`]);
    expect(inspected).toContain('ARCHIVE_API_TOKEN_FILE=/run/secrets/ARCHIVE_API_TOKEN');
    expect(inspected).not.toContain(token);
    expect((await swarm.docker(swarm.manager, ['secret', 'ls', '--format', '{{.Name}}'])).trim()).toMatch(/^archive-archive-api-token-[0-9a-f]{24}$/);
    const status = await archive.cli(['status', '--json'], { env: onManager });
    const containers = (JSON.parse(String(status.stdout)) as { containers: { service: string; container: string; state: string }[] }).containers;
    expect(containers.filter((c) => c.service === 'builder').map((c) => c.container).sort()).toEqual(swarm.workers.map((n) => `${up.project}_builder on ${n.name}`).sort());
  });

  it('builds an upload dput on the manager on a worker node, and apt installs it from the manager', async () => {
    await archive.send(up, { name: 'aib-swarm', version: '1.0-1' });
    const waited = await archive.cli(['wait', 'aib-swarm', '1.0-1', '--timeout', '900'], { env: onManager });
    expect(waited.exitCode, String(waited.all)).toBe(0);
    const built = (await job('aib-swarm'))!;
    expect(nodeOf(built.worker), built.worker).toBeDefined();
    // Its build environment by digest from the archive's registry; its build-dependencies from the
    // archive's repository (its unpublished plain port) over the deps overlay network.
    const log = await readFile(join(archive.root, 'public', built.log!), 'utf8');
    expect(log).toMatch(new RegExp(`^archive-in-a-box: archive/buildenv:trixie-amd64: pulling ${swarm.manager.ip.replaceAll('.', '\\.')}:5000/archive/buildenv@sha256:[0-9a-f]{64}$`, 'm'));
    expect(log).toMatch(/^Get:\d+ http:\/\/repo:8081 unstable InRelease/m);
    const installed = await inCleanContainer(up, up.aptSourceHttp, 'apt-get update -q && apt-get install -y -q aib-swarm && aib-swarm');
    expect(installed.exitCode, String(installed.all)).toBe(0);
    expect(installed.stdout).toContain('aib-swarm');
  });

  it('loses nothing when a worker node dies mid-build: its lease runs out and the other node builds the job', async () => {
    await archive.send(up, { name: 'aib-swarm-slow', version: '1.0-1', buildScript: 'echo SLOW-BUILD-STARTED && sleep 45' });
    const first = await until('the slow build to run on a worker node', async () => {
      const j = await job('aib-swarm-slow');
      return j?.state === 'building' && nodeOf(j.worker) ? j : undefined;
    }, 600_000, 500, 1000);
    const dead = nodeOf(first.worker)!;
    await swarm.kill(dead);
    const waited = await archive.cli(['wait', 'aib-swarm-slow', '1.0-1', '--timeout', '900'], { env: onManager });
    expect(waited.exitCode, String(waited.all)).toBe(0);
    const built = (await job('aib-swarm-slow'))!;
    const other = nodeOf(built.worker);
    expect(other, built.worker).toBeDefined();
    expect(other!.name).not.toBe(dead.name);
    const log = await readFile(join(archive.root, 'public', built.log!), 'utf8');
    expect(log).toContain('SLOW-BUILD-STARTED');
  });

  it("refuses, with the queue's own words, to run on a manager whose folder of the root's path is another archive's root", async () => {
    const id = async (a: TestArchive) => (await readFile(join(a.root, 'state', 'root-id'), 'utf8')).trim();
    try {
      const refused = await elsewhere.cli(['up', '--swarm', '--registry', up.swarm.registry, '--listen', '0.0.0.0', '--port', String(elsewhere.port)], { env: onManager });
      expect(refused.exitCode, String(refused.all)).not.toBe(0);
      expect(refused.stderr).toContain('3 of its tasks failed');
      expect(refused.stderr).toContain(`${elsewhere.root} on the node this queue runs on is not the root archive up deployed it for: its root-id is id ${await id(other)}, not id ${await id(elsewhere)}`);
      // Nothing made in that root, the other archive's.
      expect((await readdir(other.root)).sort()).toEqual(['archive.yaml', 'incoming', 'logs', 'public', 'state']);
    } finally {
      expect((await elsewhere.cli(['down'], { env: onManager })).exitCode).toBe(0);
    }
  });

  it('archive down stops the workers first: a job building is given back to the queue and its container removed; the services go, the state stays', async () => {
    await archive.send(up, { name: 'aib-swarm-stop', version: '1.0-1', buildScript: 'echo STOP-BUILD-STARTED && sleep 900' });
    const building = await until('the build to run on the node left', async () => {
      const j = await job('aib-swarm-stop');
      return j?.state === 'building' && nodeOf(j.worker) ? j : undefined;
    }, 600_000, 500, 1000);
    const node = nodeOf(building.worker)!;
    const down = await archive.cli(['down'], { env: onManager });
    expect(down.exitCode, String(down.all)).toBe(0);
    expect(down.stdout).toMatch(/and 4 Swarm service\(s\)/);
    // The builder's service went first, and the queue took the give-back before it went.
    const given = (await job('aib-swarm-stop'))!;
    expect(given.state, JSON.stringify(given)).toBe('given-back');
    expect(given.reason).toMatch(/^builder \S+ stopped \(SIGTERM\); the job goes to another run$/);
    expect((await swarm.docker(node, ['ps', '-aq', '--filter', `label=${LABEL_BUILDER}`])).trim()).toBe('');
    expect((await swarm.docker(swarm.manager, ['service', 'ls', '-q'])).trim()).toBe('');
    expect((await swarm.docker(swarm.manager, ['secret', 'ls', '-q'])).trim()).toBe('');
    expect((await archive.upload('aib-swarm', '1.0-1'))?.state).toBe('published');
  });
});
