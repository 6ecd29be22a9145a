// `archive workers add|ls|rm`: enrolled workers (core/workers.ts), each with its own token, for
// machines other than this one; and every worker the queue has heard from.
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { jobFromDisk, type JobRecord } from '../core/jobs.js';
import { parseWorkerToken, workerOf, type WorkerRecord, type WorkerSeen } from '../core/workers.js';
import { UserError } from '../errors.js';
import { AnchoredDir } from '../storage/anchored-dir.js';
import { readAll } from '../storage/json-files.js';
import { clientUrl, loadConfig, type GlobalOptions } from './archive-context.js';
import { requireArchive } from './archive-root.js';
import { askQueue } from './request.js';
import { printable, printableJson, sayPrintable } from '../core/terminal-text.js';

export function register(program: Command): void {
  const workers = program.command('workers').description('workers on other machines: enroll, list, remove');
  workers
    .command('add <name>')
    .description('enroll a worker: prints its token and the command to run on its machine')
    .option('--arch <list>', 'the architectures it may build (comma-separated; all when left out)')
    .option('--url <url>', "the archive's URL as that machine reaches it (default: from listen: and port:)")
    .option('--json', 'print the result as JSON')
    .option('--timeout <seconds>', 'how long to wait for the queue to take the request', (v) => Number(v), 60)
    .addHelpText('after', '\nExamples:\n  archive up --listen 0.0.0.0 && archive workers add arm-box --arch arm64,armhf\n')
    .action(async (name: string, options: { arch?: string; url?: string; json?: boolean; timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      const architectures = (options.arch ?? '').split(',').map((a) => a.trim()).filter(Boolean);
      // With HTTPS the certificate's name; else this machine's address as listen: allows.
      const url = options.url ?? (config.tls ? await clientUrl(layout, config) : `http://${reachableAddress(config.listen)}:${config.port}/`);
      // Pasted into a shell: a URL of plain characters only (with HTTPS its host comes from the
      // certificate archive.yaml names, the queue user's to choose). Checked before the worker
      // is enrolled, whose token would then be shown nowhere.
      if (!options.json && !/^https?:\/\/[A-Za-z0-9._~:%@[\]/-]+$/.test(url)) throw new UserError(`the archive's URL ${printable(JSON.stringify(url))} holds characters a shell line cannot carry as they are; give one with --url`);
      const answer = await askQueue(layout, { action: 'workers-add', name, architectures }, { timeoutS: options.timeout, json: options.json });
      if (options.json || !answer.worker) return;
      // Plain HTTP: the worker refuses it for another machine unless told (cli/worker.ts).
      const where = url.startsWith('http:') ? `${url} --insecure-http` : url;
      // Pasted into a shell on the worker's machine, often as root: only a token the queue makes
      // (the answer file is the queue's user's to write), for the worker named.
      const { token } = answer.worker;
      if (typeof token !== 'string' || parseWorkerToken(token)?.name !== name || token !== token.trim()) throw new UserError(`the queue answered a token that is not one it makes for worker ${name}; nothing printed to run`);
      console.log(`
Its token (shown once; archive workers rm ${name} revokes it):
  ${token}

On the worker's machine, with this tool and a Docker engine:
  ARCHIVE_WORKER_TOKEN=${token} archive worker --url ${where}

Or on any machine with a Docker engine, as a container of the tool image (from this machine:
docker save archive/tool:latest | ssh HOST docker load):
  ${dockerRunLine(name, token, where)}
${config.tls ? '\nA certificate no public CA signed: give the worker its CA (NODE_EXTRA_CA_CERTS=FILE; in a container, mount it too).\n' : ''}${url.startsWith('http:') ? '\nPlain HTTP: anyone on the network between could change what the worker builds (and the archive\nwould sign it). On a network you do not trust, serve HTTPS (tls_cert and tls_key in archive.yaml).\n' : ''}${config.listen === '127.0.0.1' ? `\nThis archive listens on 127.0.0.1 only: other machines reach it once it listens on an address of theirs\n(archive up --listen 0.0.0.0, or listen: in ${layout.config}).\n` : ''}`);
    });
  workers
    .command('ls')
    .description('list the workers: enrolled ones and those beside the queue, with what each offers and does')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      const enrolled = await readAll<WorkerRecord>(layout.workers);
      const seen = new Map((await readAll<WorkerSeen>(layout.workersSeen)).map((w) => [w.id, w]));
      const jobs = (await readAll<JobRecord>(layout.jobs)).map(jobFromDisk);
      const of = (name: string) => (j: JobRecord) => !!j.worker && workerOf(j.worker) === name;
      const names = [...new Set([...enrolled.map((w) => w.id), ...seen.keys()])].sort();
      const list = names.map((name) => {
        const e = enrolled.find((w) => w.id === name);
        const s = seen.get(name);
        const mine = jobs.filter(of(name));
        return {
          name,
          enrolled: !!e,
          architectures: e?.architectures.length ? e.architectures : (s?.architectures ?? 'any'),
          emulated: s?.emulated ?? [],
          kinds: s?.kinds ?? 'any',
          lastSeen: s?.lastSeen ?? null,
          current: mine.filter((j) => j.state === 'building').map((j) => j.id),
          done: mine.filter((j) => ['built', 'failed'].includes(j.state)).length,
        };
      });
      if (options.json) {
        console.log(printableJson(list));
        return;
      }
      if (list.length === 0) sayPrintable('no workers yet (archive up starts one beside the queue; archive workers add enrolls others)');
      for (const w of list) {
        const archs = Array.isArray(w.architectures) ? w.architectures.map((a) => (w.emulated.includes(a) ? `${a} (emulated)` : a)).join(',') : w.architectures;
        sayPrintable(`${w.name}${w.enrolled ? '' : ' (beside the queue)'}: ${archs}; ${Array.isArray(w.kinds) ? w.kinds.join(',') : w.kinds}; last seen ${w.lastSeen ?? 'never'}; ${w.current.length ? `building ${w.current.join(', ')}` : 'idle'}; ${w.done} job(s) done`);
      }
    });
  workers
    .command('rm <name>')
    .description('remove an enrolled worker: its token is refused from now on, its jobs go back to the queue')
    .option('--timeout <seconds>', 'how long to wait for the queue to take the request', (v) => Number(v), 60)
    .action(async (name: string, options: { timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      await askQueue(layout, { action: 'workers-rm', name }, { timeoutS: options.timeout });
    });
  workers
    .command('rotate-key')
    .description("give the archive a new API token: the key of the worker beside the queue and of every Swarm node's worker; the old one is refused once archive up restarted them")
    .addHelpText('after', '\nExamples:\n  archive workers rotate-key && archive up --swarm   # after a node left, or its label was removed\n')
    .action(async (_options: unknown, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      // Written new through the folders held open (never through a link), 0600 from the start.
      const root = AnchoredDir.openRoot(layout);
      const state = root.dir(basename(layout.state));
      try {
        await state.writeFile(basename(layout.apiToken), `${randomBytes(32).toString('hex')}\n`, 0o600);
      } finally {
        state.close();
        root.close();
      }
      console.log(`a new API token in ${layout.apiToken}: the queue and the workers beside it or on Swarm nodes take it at the next archive up (--swarm), which restarts them; until then the old one works. Enrolled workers keep their own tokens (archive workers rm revokes one).`);
    });
}

/** An address other machines may reach the archive at: the listen address, or for 0.0.0.0 one of this machine's. */
function reachableAddress(listen: string): string {
  if (listen !== '0.0.0.0') return listen;
  const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
  return external?.address ?? 'HOST';
}

/**
 * `archive worker` as a container: the tool image, the engine's socket (its build containers
 * are that engine's), a volume of its own for its jobs' files (ARCHIVE_WORK_DIR: the job
 * folders a restart left are removed), the token passed through from the environment (in neither process list),
 * restarted with the engine, given the time to stop (its jobs' containers removed, the jobs given back). It makes its build images on that engine at start (debootstrap, as
 * archive up does). `where`: what follows --url (the URL, and --insecure-http for a plain one).
 */
export function dockerRunLine(name: string, token: string, where: string): string {
  return `ARCHIVE_WORKER_TOKEN=${token} docker run -d --name archive-worker-${name} --restart unless-stopped --stop-timeout ${WORKER_STOP_SECONDS} -v /var/run/docker.sock:/var/run/docker.sock -v ${WORKER_JOBS} -e ARCHIVE_WORK_DIR=${WORKER_JOBS} -e ARCHIVE_WORKER_TOKEN archive/tool:latest node /opt/archive-in-a-box/dist/cli/main.js worker --url ${where}`;
}

/**
 * How long docker stop gives a worker's container (the engine's 10 s, else): as the compose file's
 * stop_grace_period gives the builder, past the time it takes to stop (daemons/builder.ts STOPPING).
 */
export const WORKER_STOP_SECONDS = 30;

/** Where a worker's container keeps its jobs' folders (as the builder beside the queue: compose/compose.yaml). */
const WORKER_JOBS = '/var/lib/archive-jobs';
