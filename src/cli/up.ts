// `archive up`: initialise the root if new, make missing or stale images, start the three
// services from compose/compose.yaml, wait until they are healthy, say how to use them.
import { closeSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { aptSource, dputStanza, fileUri, keyringPath } from '../core/client-config.js';
import { composeUp } from '../docker/compose.js';
import { readsThrough } from '../docker/engine-reads.js';
import { composeStatus, projectServices } from '../docker/project-status.js';
import { swarmManager } from '../docker/swarm.js';
import { checkSwarmSettings, ownRegistry, swarmVariables, upOnSwarm } from './up-swarm.js';
import { connectDocker } from '../docker/engine.js';
import { ensureBaseImage, ensureBuiltImage } from '../docker/images.js';
import { UserError } from '../errors.js';
import { buildTargets } from '../config/config.js';
import { architectureModes, ensureBuildenv, workerArchitectureVariables } from './build-images.js';
import { archiveLabels, layoutFor, loadConfig, loadProject, portTrouble, portOption, progress, projectName, type GlobalOptions } from './archive-context.js';
import { initRoot } from './init.js';
import { basename, relative } from 'node:path';
import { AnchoredDir } from '../storage/anchored-dir.js';
import { printable, printableJson } from '../core/terminal-text.js';
import { listKeys } from '../process/gpg.js';

export function register(program: Command): void {
  program
    .command('up')
    .description('start the archive (queue, builder, repo), making the root and images when needed')
    .option('--port <n>', 'serve the repository on 127.0.0.1:N (saved in archive.yaml)', portOption)
    .option('--listen <address>', 'serve the repository and the job API for remote workers on this IPv4 address, 0.0.0.0 for all (saved in archive.yaml; default 127.0.0.1)')
    .option('--swarm', 'on a Docker Swarm manager: run the archive as Swarm services, the queue and repository on this node, a worker on every node labelled archive.worker=true')
    .option('--registry <host:port>', 'with --swarm: the registry the other nodes pull the worker\'s images from (default: one the archive runs on this node, port 5000)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  archive up\n  archive up --root /srv/my-archive --port 8081\n  archive up --swarm --listen 0.0.0.0\n')
    .action(async (options: { port?: number; listen?: string; swarm?: boolean; registry?: string; json?: boolean }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      if (options.registry !== undefined && !options.swarm) throw new UserError('--registry goes with --swarm');
      if (options.registry !== undefined && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(options.registry)) {
        throw new UserError(`--registry: "${options.registry}" is not HOST:PORT (a registry every node of the Swarm reaches)`);
      }
      const started = Date.now();
      await initRoot(layout, { port: options.port });
      // Run by root, what up writes under the root goes through the root held open (storage/anchored-dir.ts).
      const root = AnchoredDir.openRoot(layout);
      if (options.port !== undefined) await saveSetting(root, basename(layout.config), 'port', options.port);
      if (options.listen !== undefined) {
        if (isIP(options.listen) !== 4) throw new UserError(`--listen: "${options.listen}" is not an IPv4 address (127.0.0.1, 0.0.0.0 or one of this machine's)`);
        await saveSetting(root, basename(layout.config), 'listen', options.listen);
      }
      // Appended to through the descriptor opened here (a link planted there is refused), by its
      // /proc path, which reopens that very file.
      const logs = root.dir(relative(layout.root, layout.logs));
      const buildLog = logs.openAppend('image-builds.log', { olderRootFile: true });
      logs.close();
      root.close();
      const config = await loadConfig(layout);
      const docker = await connectDocker(process.env.DOCKER_HOST);
      const manager = options.swarm ? await swarmManager(docker) : undefined;
      if (manager) checkSwarmSettings(config);
      // Each architecture the suites build for runs here natively or under qemu; refused, with
      // archive doctor's fix, when it cannot (said before minutes of image builds).
      const targets = buildTargets(config);
      const modes = await architectureModes([...new Set(targets.map((t) => t.arch))]);
      const workerVariables = workerArchitectureVariables(modes);
      const project = await loadProject(layout, config, { ...workerVariables, ...(manager ? swarmVariables(manager, config) : {}) });
      const registry = manager && { address: options.registry ?? ownRegistry(project, manager), own: options.registry === undefined };
      // One queue per root: not a second one beside the Swarm's.
      if (!manager && (await projectServices(readsThrough(docker), project.name)).length > 0) {
        throw new UserError(`${project.name} runs on this Swarm (archive up --swarm); archive down first, or archive up --swarm`);
      }
      // Said before minutes of image builds, not by the engine when the repo container starts.
      // (On a Swarm the port is the manager's, which may be another machine than this CLI's.)
      const running = (await composeStatus(readsThrough(docker), project.name)).some((s) => s.service === 'repo' && s.state === 'running');
      const trouble = !manager && !running ? await portTrouble(config.port, config.listen) : undefined;
      if (trouble === 'EADDRINUSE') {
        throw new UserError(`${config.listen}:${config.port} is used by another program; choose another port with archive up --port N (it is kept in ${layout.config}), or stop that program (ss -ltnp 'sport = :${config.port}' names it)`);
      }
      if (trouble) throw new UserError(`cannot listen on ${config.listen}:${config.port} (${trouble}${trouble === 'EADDRNOTAVAIL' ? ': this machine has no such address' : ''}); give an address of this machine as listen: in ${layout.config}, or 127.0.0.1`);
      await ensureBaseImage(docker, config.suites[0].base, progress);
      const built = new Set<string>();
      try {
        for (const service of project.services) {
          if (!service.build || built.has(service.image)) continue;
          // The registry's image only when the archive runs it; build environments below, one per architecture.
          if ((service.profiles.includes('swarm') && !registry?.own) || service.name === 'buildenv') continue;
          built.add(service.image);
          await ensureBuiltImage(docker, service.image, service.build, progress, `/proc/self/fd/${buildLog}`);
        }
        // Side by side: each architecture's debootstrap and image build under qemu keeps a core busy.
        const made = await Promise.allSettled(targets.map(({ base, arch }) => ensureBuildenv(docker, base, arch, modes.find((m) => m.arch === arch)!.own, `/proc/self/fd/${buildLog}`)));
        const failed = made.find((m) => m.status === 'rejected');
        if (failed) throw failed.reason;
      } finally {
        closeSync(buildLog);
      }
      progress(`starting ${project.name}${manager ? ' on the Swarm' : ''}`);
      const labels = archiveLabels(layout, projectName(layout, config));
      let swarmWorkers: string[] | undefined;
      if (manager && registry) swarmWorkers = await upOnSwarm(docker, layout, config, manager, registry, labels, workerVariables);
      else {
        // builds.local_workers: 0 runs no worker here (workers elsewhere build: archive workers add).
        const services = project.services.filter((s) => s.name !== 'builder' || config.builds.localWorkers > 0);
        await composeUp(docker, { ...project, services }, labels, progress);
      }
      // Where clients reach it: the URL the compose file gave the queue for its status page
      // (https with tls_cert; on a Swarm over HTTP, the manager's address).
      const http = project.services.find((s) => s.name === 'queue')?.environment.ARCHIVE_PUBLIC_URL ?? '';
      const result = {
        root: layout.root,
        project: project.name,
        incoming: layout.incoming,
        url: http,
        publicKey: layout.publicKey,
        keyring: keyringPath(config),
        dputConfig: dputStanza(config, layout.incoming),
        aptSourceHttp: aptSource(config, http, 'deb822'),
        aptSourceFile: aptSource(config, fileUri(layout.public), 'deb822'),
        seconds: Math.round((Date.now() - started) / 100) / 10,
        ...(manager && registry ? { swarm: { manager: manager.address, registry: registry.address, workers: swarmWorkers } } : {}),
      };
      if (options.json) {
        console.log(printableJson(result));
        return;
      }
      // What a client that fetched the key over plain HTTP checks it against.
      const fingerprint = (await listKeys(AnchoredDir.readUnderRoot(layout, layout.publicKey) ?? Buffer.alloc(0)).catch(() => []))[0]?.fingerprint;
      console.log(`archive-in-a-box "${config.name}" is up (${result.seconds} s): ${http}
${manager ? `\nOn the Swarm: queue and repository on this node (${manager.address}), workers on ${swarmWorkers?.length ? printable(swarmWorkers.join(', ')).replaceAll('\n', '\\x0a') : 'no node yet (label one archive.worker=true)'}; images through ${registry?.address}\n` : ''}
Incoming directory: ${layout.incoming}

dput: add this stanza to ~/.dput.cf (or run \`archive dput-config --install\`), then
\`dput ${config.name} PACKAGE_VERSION_source.changes\`:

${result.dputConfig}
apt: install the key, then add one of these as /etc/apt/sources.list.d/${config.name}.sources:

  sudo install -D -m 644 ${layout.publicKey} ${keyringPath(config)}
  (or: curl -fsSL ${http}archive-key.asc | sudo tee ${keyringPath(config)}${http.startsWith('http:') ? `
   over plain HTTP: check it is ${fingerprint ?? 'the key above'} with gpg --show-keys ${keyringPath(config)}` : ''})

# over HTTP
${result.aptSourceHttp}
# from the folder, on this machine
${result.aptSourceFile}`);
    });
}

/** Keeps archive.yaml's comments and layout while changing one setting. */
async function saveSetting(root: AnchoredDir, name: string, key: string, value: number | string): Promise<void> {
  const doc = parseDocument(root.readFile(name)?.toString('utf8') ?? '');
  if (doc.errors.length) throw new UserError(`${root.path}/${name}: not valid YAML, so --${key} cannot be saved in it: ${doc.errors[0].message}`);
  if (doc.get(key) === value) return;
  doc.set(key, value);
  await root.writeFile(name, doc.toString());
}
