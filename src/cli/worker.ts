// `archive worker --url URL --token TOKEN`: a worker on any machine with this tool and a Docker
// engine, for an archive elsewhere: it makes its build images here as `archive up` does, then
// leases jobs over the archive's URL (the job API beside the repository), fetches
// build-dependencies from that repository as any apt client, and sends back what it builds.
import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseWorkerToken } from '../core/workers.js';
import { Builder, prepareWorkDir, stopOnSignals } from '../daemons/builder.js';
import { CEILING_KEYS, parseCeilings, type WorkerCeilings } from '../daemons/worker-ceilings.js';
import { DEFAULT_CONFIG } from '../config/config.js';
import { DEFAULT_LIMITS } from '../core/kinds/build.js';
import { connectDocker } from '../docker/engine.js';
import { UserError } from '../errors.js';
import { progress } from './archive-context.js';
import { hostArchitecture } from '../process/debian-tools.js';
import { architectureModes, ensureBuildenv } from './build-images.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('lease and build jobs of an archive on another machine (enroll it there with archive workers add)')
    .requiredOption('--url <url>', "the archive's URL, as archive workers add printed it (http://HOST:PORT/)")
    .option('--token <token>', 'the token archive workers add printed, seen in the process list by every user of the machine (ARCHIVE_WORKER_TOKEN keeps it out)')
    .option('--base <releases>', 'the Debian releases to make build images of now (the archive\'s suites\' bases)', 'trixie')
    .option('--arch <architectures>', "the architectures to build for, comma-separated (default: this machine's own); others run under qemu, as archive doctor checks")
    .option('--limit <key=value>', `the most a job may take here, whatever the archive asks, in archive.yaml's builds: names and units, repeatable (${Object.keys(CEILING_KEYS).join(', ')}, emulation_factor, concurrency); default: the archive's own defaults`, (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--insecure-http', 'allow an http:// URL of another machine, on a network you trust: anyone on the network between could change what this worker builds')
    .addHelpText('after', '\nExamples:\n  ARCHIVE_WORKER_TOKEN=aibw1.w1.… archive worker --url http://archive.example:8080/\n  ARCHIVE_WORKER_TOKEN=… archive worker --url https://archive.example:8443/ --limit memory_gib=16 --limit cpus=8   # bigger jobs than the defaults\n  NODE_EXTRA_CA_CERTS=archive-ca.pem ARCHIVE_WORKER_TOKEN=… archive worker --url https://archive.example:8443/   # a certificate no public CA signed\n')
    .action(async (options: { url: string; token?: string; base: string; arch?: string; limit: string[]; insecureHttp?: boolean }) => {
      const token = options.token ?? process.env.ARCHIVE_WORKER_TOKEN ?? '';
      const credential = parseWorkerToken(token);
      if (!credential) throw new UserError(`${options.token ? '--token' : 'ARCHIVE_WORKER_TOKEN'}: not a worker token (aibw1.NAME.KEY, as archive workers add prints it)`);
      if (options.token) progress("--token: every user of this machine can read it in the process list (ps); ARCHIVE_WORKER_TOKEN keeps it out");
      let url: URL;
      try {
        url = new URL(options.url);
      } catch {
        throw new UserError(`--url: "${options.url}" is not a URL; expected http://HOST:PORT/ as archive workers add printed it`);
      }
      if (!['http:', 'https:'].includes(url.protocol)) throw new UserError(`--url: ${url.protocol} is not http: or https:`);
      // The worker signs its requests, but nothing authenticates the answers but TLS: over plain
      // HTTP, whoever is on the way could hand it another source (and the hashes to match), and
      // the key it checks build-dependencies with, and the archive would sign what it built.
      if (url.protocol === 'http:' && !isLoopback(url.hostname) && !options.insecureHttp) {
        throw new UserError(
          `--url ${url.href}: plain HTTP to another machine: anyone on the network between could change the sources this worker builds and the key it checks build-dependencies with, and the archive would sign what it made. Serve HTTPS (tls_cert and tls_key in archive.yaml: README, "HTTPS") and use https://, or pass --insecure-http on a network you trust`,
        );
      }
      const ceilings = parseCeilings(options.limit, WORKER_DEFAULT_CEILINGS);
      const root = url.href.endsWith('/') ? url.href : `${url.href}/`;
      // Node reads NODE_EXTRA_CA_CERTS when it starts: the job API's requests trust it already.
      const caFile = url.protocol === 'https:' ? process.env.NODE_EXTRA_CA_CERTS : undefined;
      // Where its jobs' files go, checked before its images are made (minutes): a folder it cannot use is said at once.
      const workDir = process.env.ARCHIVE_WORK_DIR || defaultWorkDir(credential.name, process.env);
      await prepareWorkDir(workDir);
      const modes = await architectureModes(options.arch ? options.arch.split(',').filter(Boolean) : [await hostArchitecture()]);
      const docker = await connectDocker(process.env.DOCKER_HOST);
      for (const base of options.base.split(',').filter(Boolean)) {
        for (const m of modes) await ensureBuildenv(docker, base, m.arch, m.own, join(workDir, 'image-builds.log'));
      }
      progress(`worker ${credential.name} on ${hostname()}: leasing jobs from ${root}`);
      const builder = new Builder({
        queueUrl: root.replace(/\/$/, ''),
        key: credential.key,
        name: credential.name,
        labels: { 'archive-in-a-box.worker': credential.name, 'archive-in-a-box.run-id': process.env.ARCHIVE_RUN_ID ?? '' },
        // Build-dependency containers reach the repository at the same URL, on the default network,
        // trusting what this process trusts beyond the system's CAs (a self-signed archive's).
        repoUrl: root,
        repoCa: caFile ? readFileSync(caFile, 'utf8') : undefined,
        network: 'bridge',
        architectures: modes.map((m) => m.arch),
        emulated: modes.filter((m) => m.emulated).map((m) => m.arch),
        dockerHost: process.env.DOCKER_HOST,
        // The queue is another owner's: a job takes no more here than this machine's owner allows.
        ceilings,
        // A folder of this worker's alone, on disk (/tmp may be a tmpfs, in memory): the job folders it holds at start are removed.
        workDir,
      });
      // Ctrl-C or docker stop: its jobs' containers removed, the jobs given back, then it exits.
      stopOnSignals(builder);
      await builder.start();
      await new Promise(() => undefined); // run until stopped
    });
}

/**
 * What a job may take on a worker its owner did not say more for (--limit): the archive's own
 * defaults (archive.yaml `builds:`, README), which a lease may lower, never raise.
 */
export const WORKER_DEFAULT_CEILINGS: WorkerCeilings = { limits: DEFAULT_LIMITS, emulationFactor: DEFAULT_CONFIG.builds.emulation_factor, concurrency: DEFAULT_CONFIG.builds.concurrency };

/** A host name or address of this machine alone (127.0.0.0/8, ::1, localhost). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Where `archive worker` keeps its jobs' files without ARCHIVE_WORK_DIR: a folder of that worker's
 * alone, on disk, under the user's cache (XDG_CACHE_HOME, else ~/.cache), whose job folders a crash
 * left are removed when it starts. Not the system's temporary folder: on Debian 13 a tmpfs in
 * memory, shared with every other program, where what a crash left stayed.
 */
export function defaultWorkDir(name: string, env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'archive-in-a-box', `jobs-${name}`);
}
