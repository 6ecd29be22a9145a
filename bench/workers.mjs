// The workers bench (bench/workers.sh runs it): the load bench's burst of uploads on a real
// Docker Swarm of 1, 2, then 3 worker nodes (Docker-in-Docker nodes on this machine, the e2e
// test's own harness, test/support/swarm-nodes.ts), `archive up --swarm` on a manager node.
// For each: uploads a minute and the speed-up against one node; each node's build slot busy
// fraction; and where an upload's time goes (intake by the queue, waiting for a worker,
// building, publishing), so that the queue and the publisher are seen not to be the bottleneck.
//
//   node bench/workers.mjs COUNT NODES...     e.g. node bench/workers.mjs 12 1 2 3
import { execFileSync, execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runnerImport } from 'vite';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '..');
const cli = join(repo, 'bin', 'archive.js');
const [countArg, ...nodeArgs] = process.argv.slice(2);
const count = Number(countArg);
const nodeCounts = (nodeArgs.length ? nodeArgs : ['1', '2', '3']).map(Number);
if (!Number.isInteger(count) || count < 1 || nodeCounts.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error('usage: node bench/workers.mjs COUNT [NODES...] (whole numbers; default nodes 1 2 3)');
  process.exit(2);
}
const say = (line) => process.stderr.write(`==> ${line}\n`);
const load = async (file) => (await runnerImport(join(repo, 'test', 'support', file), { configFile: false, logLevel: 'error' })).module;
const { startSwarm } = await load('swarm-nodes.ts');
const { freePort } = await load('archive.ts');

const IMAGES = ['archive/base:trixie', 'archive/tool:latest', 'archive/repo:trixie', 'archive/buildenv:trixie-amd64', 'archive/registry:trixie'];
const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] : 0);
const secs = (a, b) => (new Date(b).getTime() - new Date(a).getTime()) / 1000;
const readAll = async (dir) => Promise.all((await readdir(dir)).filter((f) => f.endsWith('.json')).map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8'))));

async function waitDecided(root, names, timeoutS) {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const uploads = await readAll(join(root, 'state', 'uploads'));
    const mine = uploads.filter((u) => names.includes(u.source));
    const decided = mine.filter((u) => ['published', 'failed', 'rejected'].includes(u.state));
    if (decided.length === names.length) return mine;
    if (Date.now() > deadline) throw new Error(`${names.length - decided.length} upload(s) not decided after ${timeoutS} s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function dput(dputCf, changes) {
  await run('dput', ['-c', dputCf, 'archive', ...changes], { maxBuffer: 64 << 20 });
}

/** The load bench's packages (bench/make-load.mjs), their names starting with `prefix`. */
function makePackages(dir, n, prefix) {
  const out = execFileSync('node', [join(repo, 'bench', 'make-load.mjs'), dir, String(n), prefix], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((path) => ({ path, source: path.replace(/.*\/([^/_]+)_[^/]+$/, '$1') }));
}

async function oneRun(nodes) {
  const runId = `bench-workers-${process.pid}-${nodes}`;
  const root = await mkdtemp(join(tmpdir(), 'aib-bench-workers-'));
  const work = await mkdtemp(join(tmpdir(), 'aib-bench-workers-src-'));
  const port = await freePort();
  const env = { ...process.env, ARCHIVE_RUN_ID: runId };
  let swarm;
  try {
    say(`${nodes} worker node(s): starting the Swarm`);
    swarm = await startSwarm({ runId, workers: nodes, mounts: [root], workerLabel: 'archive.worker=true' });
    const present = IMAGES.filter((i) => {
      try { execFileSync('docker', ['image', 'inspect', i], { stdio: 'ignore' }); return true; } catch { return false; }
    });
    await swarm.loadImages(swarm.manager, present);
    execFileSync('node', [cli, '--root', root, 'init', '--port', String(port)], { env, stdio: 'ignore' });
    const config = join(root, 'archive.yaml');
    // One build at a time per node, its build environment never refreshed during the bench, no QA checks, no rebuilds.
    await writeFile(config, (await readFile(config, 'utf8')).replace(/^ {2}concurrency: \d+$/m, '  concurrency: 1').replace(/^ {2}buildenv_max_age_hours: \d+$/m, '  buildenv_max_age_hours: 8760').replace(/^ {4}qa:\n( {6}- .*\n)*/m, '    qa: []\n').replace(/^ {4}rebuilds: on$/m, '    rebuilds: off'));
    say(`${nodes} worker node(s): archive up --swarm`);
    const up = JSON.parse(execFileSync('node', [cli, '--root', root, 'up', '--swarm', '--json'], { env: { ...env, DOCKER_HOST: swarm.manager.dockerHost }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const dputCf = join(work, 'dput.cf');
    await writeFile(dputCf, up.dputConfig);

    // Warm-up: every node pulls its build environment and makes its build-dependency cache on
    // its first job; not part of the timed burst.
    const warm = makePackages(join(work, 'warm'), Math.max(3, 2 * nodes), 'warm');
    say(`${nodes} worker node(s): warm-up of ${warm.length} uploads`);
    await dput(dputCf, warm.map((p) => p.path));
    await waitDecided(root, warm.map((p) => p.source), 1800);
    const burst = makePackages(join(work, 'burst'), count, 'burst');
    say(`${nodes} worker node(s): dput of ${burst.length} uploads in one burst`);
    const t0 = new Date().toISOString();
    await dput(dputCf, burst.map((p) => p.path));
    const uploads = await waitDecided(root, burst.map((p) => p.source), 7200);
    const t1 = new Date().toISOString();
    const jobs = (await readAll(join(root, 'state', 'jobs'))).filter((j) => uploads.some((u) => u.jobs.includes(j.id)));
    const total = secs(t0, t1);
    const byWorker = new Map();
    for (const j of jobs) {
      if (!j.worker || !j.startedAt || !j.finishedAt) continue;
      const w = j.worker.replace(/\/\d+$/, '');
      byWorker.set(w, (byWorker.get(w) ?? 0) + secs(j.startedAt, j.finishedAt));
    }
    const phases = { intake: [], waiting: [], building: [], publishing: [] };
    for (const u of uploads.filter((x) => x.state === 'published')) {
      const js = jobs.filter((j) => u.jobs.includes(j.id) && j.startedAt && j.finishedAt);
      if (!js.length) continue;
      const created = js.map((j) => j.createdAt).sort()[0];
      const started = js.map((j) => j.startedAt).sort()[0];
      const finished = js.map((j) => j.finishedAt).sort().at(-1);
      phases.intake.push(secs(u.receivedAt, created));
      phases.waiting.push(secs(created, started));
      phases.building.push(secs(started, finished));
      phases.publishing.push(secs(finished, u.updatedAt));
    }
    return {
      nodes,
      total,
      perMinute: (uploads.length * 60) / total,
      published: uploads.filter((u) => u.state === 'published').length,
      failed: uploads.filter((u) => u.state !== 'published').length,
      busy: [...byWorker].map(([w, s]) => ({ worker: w, fraction: s / total })).sort((a, b) => a.worker.localeCompare(b.worker)),
      phases: Object.fromEntries(Object.entries(phases).map(([k, xs]) => [k, median(xs)])),
    };
  } finally {
    await swarm?.remove();
    await run('docker', ['ps', '-aq', '--filter', `label=archive-in-a-box.run-id=${runId}`]).then(async ({ stdout }) => {
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length) await run('docker', ['rm', '-f', '-v', ...ids]).catch(() => undefined);
    });
    await rm(root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

const results = [];
for (const n of nodeCounts) results.push(await oneRun(n));
const one = results.find((r) => r.nodes === 1);
console.log(`\narchive-in-a-box workers bench (${cpus().length} cores shared by every node; ${new Date().toISOString().slice(0, 10)})`);
console.log(`${count} source uploads in one dput burst, on a Swarm of Docker-in-Docker nodes, builds.concurrency 1 per node`);
console.log('nodes  time (s)  uploads/min  speed-up vs 1 node  published/failed  node build slots busy');
for (const r of results) {
  const speedup = one ? (r.perMinute / one.perMinute).toFixed(2) : 'n/a';
  console.log(`${String(r.nodes).padStart(5)}  ${r.total.toFixed(0).padStart(8)}  ${r.perMinute.toFixed(1).padStart(11)}  ${speedup.padStart(18)}  ${`${r.published}/${r.failed}`.padStart(16)}  ${r.busy.map((b) => `${(b.fraction * 100).toFixed(0)}%`).join(' ')}`);
}
console.log('\nwhere an upload\'s time goes (medians, s): intake by the queue / waiting for a worker / building / publishing');
for (const r of results) console.log(`${String(r.nodes).padStart(5)}  ${['intake', 'waiting', 'building', 'publishing'].map((k) => r.phases[k].toFixed(1)).join(' / ')}`);
