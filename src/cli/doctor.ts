// `archive doctor`: checks the Docker engine and its storage driver, free disk space, debootstrap,
// the port, the clock, the signing key (expired, revoked, or not the one the archive signs with),
// each suite's Valid-Until margin and how each architecture the suites build for runs here; each
// problem with its fix. Facts are gathered here, judged in core/doctor.ts.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { diagnose, type DoctorFacts, type Finding } from '../core/doctor.js';
import { architectureFacts } from '../process/architectures.js';
import { readsThrough } from '../docker/engine-reads.js';
import { composeStatus } from '../docker/project-status.js';
import { connectDocker, engineFacts, type Docker } from '../docker/engine.js';
import { baseImageName, imageInfo } from '../docker/images.js';
import { listKeys, secretKeyFingerprint } from '../process/gpg.js';
import { run } from '../process/run.js';
import { AnchoredDir } from '../storage/anchored-dir.js';
import { diskSpace, exists } from '../storage/files.js';
import type { Layout } from '../storage/layout.js';
import { releaseDate, servedReleaseField } from '../publish/generations.js';
import { buildTargets, type ArchiveConfig } from '../config/config.js';
import { layoutFor, loadConfig, portTrouble, projectName, type GlobalOptions } from './archive-context.js';
import { Unsuccessful } from '../errors.js';
import { printableJson } from '../core/terminal-text.js';

/** The repository's port on its address: free, this archive's, another program's, or not to be had (why). */
async function portFacts(port: number, address: string, ours: boolean): Promise<DoctorFacts['port']> {
  const trouble = await portTrouble(port, address);
  if (!trouble) return { port, address, state: 'free' };
  if (ours) return { port, address, state: 'ours' };
  return trouble === 'EADDRINUSE' ? { port, address, state: 'taken' } : { port, address, state: 'unavailable', error: trouble };
}

async function freeBytes(path: string): Promise<number | undefined> {
  return (await diskSpace(path).catch(() => undefined))?.free;
}

/** The first http mirror in the host's apt sources (never written down anywhere else). */
async function aptMirror(): Promise<string | undefined> {
  const files = ['/etc/apt/sources.list', ...(await readdir('/etc/apt/sources.list.d').catch(() => [] as string[])).map((n) => join('/etc/apt/sources.list.d', n))];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const uri = text.match(/^(?:deb\s+(?:\[[^\]]*\]\s+)?|URIs:\s*)(https?:\/\/\S+)/m)?.[1];
    if (uri) return uri;
  }
  return undefined;
}

async function remoteClock(): Promise<DoctorFacts['clock']> {
  const mirror = await aptMirror();
  if (!mirror) return undefined;
  try {
    const res = await fetch(mirror, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    const date = res.headers.get('date');
    return date ? { source: `the Debian mirror in the host's apt sources`, remote: new Date(date), header: date } : undefined;
  } catch {
    return undefined;
  }
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the machine and the archive: Docker, disk, debootstrap, port, clock, signing key, Valid-Until, each architecture')
    .option('--json', 'print the findings as JSON')
    .addHelpText('after', '\nExit status: 0 when nothing failed (warnings allowed), 1 when a check failed.\n\nExamples:\n  archive doctor\n  archive doctor --json | jq \'.[] | select(.status != "ok")\'\n')
    .action(async (options: { json?: boolean }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      let docker: Docker | undefined;
      let engine: DoctorFacts['engine'];
      try {
        docker = await connectDocker(process.env.DOCKER_HOST);
        engine = { reachable: true, ...(await engineFacts(docker)) };
      } catch (err) {
        engine = { reachable: false, error: (err as Error).message.split('\n')[0] };
      }
      const ours = docker
        ? (await composeStatus(readsThrough(docker), projectName(layout, config)).catch(() => [])).some((s) => s.service === 'repo' && s.state === 'running')
        : false;
      const keys = await listKeys(readUnderRoot(layout, layout.publicKey)).catch(() => []);
      // The key the queue signs with, to compare with the public one clients are given (unread
      // where this user may not read it: the comparison is then left out).
      const secret = readUnderRoot(layout, layout.secretKey);
      const signingKey = secret.length > 0 ? await secretKeyFingerprint(secret).catch(() => undefined) : undefined;
      const facts: DoctorFacts = {
        now: new Date(),
        engine,
        disks: [
          { what: 'root', path: layout.root, freeBytes: await freeBytes(layout.root) },
          ...(engine.reachable ? [{ what: 'docker', path: engine.dataRoot, freeBytes: await freeBytes(engine.dataRoot) }] : []),
        ],
        debootstrap: (await run('sh', ['-c', 'command -v debootstrap || test -x /usr/sbin/debootstrap'], { allowFailure: true })).exitCode === 0,
        baseImage: docker ? (await Promise.all(neededBaseImages(config).map((name) => imageInfo(docker, name).catch(() => undefined)))).every(Boolean) : false,
        port: await portFacts(config.port, config.listen, ours),
        clock: await remoteClock(),
        key: keys[0] ? { fingerprint: keys[0].fingerprint, expires: keys[0].expires ? new Date(keys[0].expires) : undefined, revoked: keys[0].revoked } : undefined,
        signingKey,
        architectures: await architectureFacts([...new Set(config.suites.flatMap((s) => s.architectures))]),
        validUntil: config.publish.validUntilDays > 0 && (await exists(layout.dists))
          ? { days: config.publish.validUntilDays, suites: await Promise.all(config.suites.map((s) => validUntilOf(layout, s.name))) }
          : undefined,
      };
      const findings: Finding[] = diagnose(facts);
      if (options.json) console.log(printableJson(findings));
      else {
        for (const f of findings) {
          console.log(`${f.status.padEnd(7)} ${f.check}: ${f.detail}`);
          if (f.fix && f.status !== 'ok') console.log(`        fix: ${f.fix}`);
        }
      }
      const failed = findings.filter((f) => f.status === 'fail');
      if (failed.length > 0) throw new Unsuccessful(`${failed.length} check(s) failed: ${failed.map((f) => f.check).join(', ')}`, 1);
    });
}

/**
 * The base images archive up makes, so debootstrap is needed while one is missing: the one the
 * services are built on (the first suite's base), and each suite's base for each architecture it
 * builds for (and arch: all's).
 */
export function neededBaseImages(config: ArchiveConfig): string[] {
  return [...new Set([baseImageName(config.suites[0].base), ...buildTargets(config).map((t) => baseImageName(t.base, t.arch))])];
}

/**
 * The archive's public or secret key, read through the folders held open: run by root, public/
 * and state/ are the queue's user's, who could put a FIFO or a link to a file of root's there.
 * Empty when missing or refused (doctor then reports no key, or compares none).
 */
function readUnderRoot(layout: Layout, path: string): Buffer {
  try {
    return AnchoredDir.readUnderRoot(layout, path) ?? Buffer.alloc(0);
  } catch {
    return Buffer.alloc(0);
  }
}

/** A suite's served Release's Valid-Until, as written and read. */
async function validUntilOf(layout: Layout, suite: string): Promise<NonNullable<DoctorFacts['validUntil']>['suites'][number]> {
  const value = await servedReleaseField(layout, suite, 'Valid-Until');
  return { suite, file: join(layout.dists, suite, 'Release'), value, served: value ? releaseDate(value) : undefined };
}
