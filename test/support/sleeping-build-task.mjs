// Preloaded (node --import) into `archive daemon builder` by test/builder-stop.integration.test.ts:
// the builder's build task becomes one that starts a container on the engine as a build does
// (the worker's labels, by which a builder finds its jobs' containers), one that sleeps, and
// reports what a build reports of a container that ended. Everything else is the real builder.
import { TASKS } from '../../dist/daemons/tasks/task.js';
import { workerLabels } from '../../dist/daemons/tasks/build-task.js';
import { DockerRunner } from '../../dist/docker/docker-runner.js';

TASKS.build = async (t) => {
  const container = await new DockerRunner(t.docker).create({
    image: 'archive/base:trixie',
    cmd: ['sleep', '600'],
    env: [],
    labels: workerLabels(t),
    network: 'none',
    capDrop: ['ALL'],
    noNewPrivileges: true,
    memoryBytes: 64 * 1024 ** 2,
    pidsLimit: 16,
    cpus: 0.5,
    init: true,
  });
  await container.start();
  t.log('SLEEPING BUILD STARTED\n');
  const status = await container.wait();
  return { report: { outcome: 'failed', reason: `the build failed (exit status ${status})` }, outputs: [], summary: 'failed' };
};
