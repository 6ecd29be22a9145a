// A builder stopped as docker stop, archive down or Swarm stop it (SIGTERM) while a job's
// container runs: the real `archive daemon builder` process on the real engine, against a queue
// of the test's over HTTP, its build task one that starts a container and sleeps
// (support/sleeping-build-task.mjs). Its limits live in the builder: the container must not
// outlive it, and the job goes back to the queue.
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ALIVE_FILE } from '../src/daemons/builder.js';
import { LABEL_BUILDER } from '../src/core/kinds/build.js';
import { REPO, RUN_ID, cleanupRun, until } from './support/archive.js';
import { scratchDir } from './support/scratch.js';

const NAME = `aib-stop-${RUN_ID}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 63);

/** The containers of the builder's jobs, running or not. */
async function containers(): Promise<string[]> {
  const { stdout } = await execa('docker', ['ps', '-aq', '--filter', `label=${LABEL_BUILDER}=${NAME}`]);
  return stdout.split('\n').filter(Boolean);
}

describe('a builder stopped while a job runs', () => {
  let server: Server | undefined;
  let child: ResultPromise | undefined;
  const aliveBefore = existsSync(ALIVE_FILE);

  afterAll(async () => {
    child?.kill('SIGKILL');
    server?.closeAllConnections();
    server?.close();
    if (!aliveBefore) rmSync(ALIVE_FILE, { force: true });
    await cleanupRun();
  });

  it('removes the containers it started, gives the job back, and exits 0', async () => {
    const completed: Record<string, unknown>[] = [];
    let leased = false;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const path = req.url ?? '';
        if (path.endsWith('/start')) return res.writeHead(200, { 'content-type': 'application/json' }).end('{"concurrency":1}');
        if (path === '/api/v1/lease') {
          const asked = JSON.parse(body) as { builder: string };
          if (!leased && asked.builder === `${NAME}/1`) {
            leased = true;
            const job = { id: 'j1', kind: 'build', source: 'hello', version: '1.0-1', base: 'trixie', arch: 'amd64', buildArg: '-B', files: [], limits: {}, buildenvMaxAgeMs: 86_400_000 };
            return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(job));
          }
          return void setTimeout(() => res.writeHead(204).end(), 1000);
        }
        if (path.endsWith('/complete')) completed.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;

    child = execa('node', ['--import', join(REPO, 'test', 'support', 'sleeping-build-task.mjs'), join(REPO, 'bin', 'archive.js'), 'daemon', 'builder'], {
      // This test's settings alone: the test run's own (ARCHIVE_ARCHITECTURES="i386 arm64 armhf"
      // from scripts/test.sh, for the multi-arch suites) mean other things to a builder.
      extendEnv: false,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
        ARCHIVE_QUEUE_URL: `http://127.0.0.1:${port}`,
        ARCHIVE_API_TOKEN: 'token-of-the-test',
        ARCHIVE_BUILDER_NAME: NAME,
        ARCHIVE_PROJECT: NAME,
        ARCHIVE_RUN_ID: RUN_ID,
        ARCHIVE_WORK_DIR: scratchDir('aib-stop-jobs-'),
      },
      reject: false,
      all: true,
    });
    await until("the job's container running", async () => {
      if (child!.exitCode !== null) throw new Error(`the builder ended: ${(await child!).all}`);
      return (await containers()).length === 1;
    }, 60_000, 200, 1000);

    const stoppedAt = Date.now();
    child.kill('SIGTERM');
    const ended = await child;
    expect(ended.exitCode, String(ended.all)).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(25_000);
    expect(ended.all).toMatch(/stopping \(SIGTERM\): leasing no more, removing the containers of its 1 job\(s\), giving them back/);
    expect(await containers()).toEqual([]);
    expect(completed).toEqual([{ builder: `${NAME}/1`, kind: 'build', outcome: 'give-back', reason: `builder ${NAME} stopped (SIGTERM); the job goes to another run` }]);
  });
});
