// A real multi-node Docker Swarm on this one machine: each node a Docker-in-Docker container
// (images/dind) on a bridge network of its own, so the nodes' addresses are known. Everything
// is labelled with the run id, so cleanupRun() in archive.ts removes what a test left.
//
// What this kernel allows, and so what tests on this Swarm must keep to: no --privileged (the
// nodes get every capability but SYS_RESOURCE instead); no IPVS, so no routing mesh and no
// VIPs: services use endpoint_mode dnsrr and host-mode published ports. Overlay networks work.
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO, until } from './archive.js';

export const DIND_IMAGE = 'archive/dind:trixie';
const BASE_IMAGE = 'archive/base:trixie';
const RUN_LABEL = 'archive-in-a-box.run-id';

export interface SwarmNode {
  /** The node's container name, also its host name and its name in `docker node ls`. */
  name: string;
  /** Its address on the Swarm's bridge network. */
  ip: string;
  /** tcp://IP:2375, the node's own engine (no TLS). */
  dockerHost: string;
  /** Its Swarm node id. */
  nodeId: string;
}

export interface Swarm {
  /** The host's bridge network the nodes are on. */
  network: string;
  /** Its CIDR, e.g. 198.18.7.0/24; every node's engine takes registries in it as insecure. */
  subnet: string;
  manager: SwarmNode;
  workers: SwarmNode[];
  /** The manager, then the workers. */
  nodes: SwarmNode[];
  /** docker kill of the node's container: the node dies as a machine would, its tasks with it. */
  kill(node: SwarmNode): Promise<void>;
  /** docker save on the host, streamed into docker load on the node. */
  loadImages(node: SwarmNode, images: string[]): Promise<void>;
  /** The docker CLI against the node's engine; its stdout, trimmed. Throws on failure. */
  docker(node: SwarmNode, args: string[], o?: { timeoutMs?: number }): Promise<string>;
  /** Removes the nodes, their /var/lib/docker volumes, the network and the nodes' leftover cgroups. */
  remove(): Promise<void>;
}

/** The dind image, built from the local base (images/dind) when missing. */
export async function ensureDindImage(): Promise<string> {
  const found = await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', DIND_IMAGE], { reject: false });
  if (found.exitCode === 0) return DIND_IMAGE;
  const built = await execa('docker', ['build', '--build-arg', `BASE=${BASE_IMAGE}`, '-t', DIND_IMAGE, join(REPO, 'images', 'dind')], {
    reject: false,
    all: true,
    timeout: 20 * 60_000,
  });
  if (built.exitCode !== 0) throw new Error(`building ${DIND_IMAGE} failed (${built.exitCode}):\n${built.all}`);
  return DIND_IMAGE;
}

async function host(args: string[], o: { timeoutMs?: number } = {}): Promise<string> {
  const r = await execa('docker', args, { reject: false, timeout: o.timeoutMs ?? 5 * 60_000 });
  if (r.exitCode !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.exitCode}):\n${r.stderr}`);
  return String(r.stdout).trim();
}

/**
 * A bridge network on the first free 198.18.X.0/24, X starting at a place the run id picks:
 * outside the engine's own pools (172.17-31.0.0/16, 192.168.0.0/16), which the archives' networks
 * take in turn, so that one of them never holds the whole range (a run found 172.31 taken).
 */
async function createNetwork(name: string, runId: string): Promise<string> {
  let start = 0;
  for (const c of runId) start = (start * 31 + c.charCodeAt(0)) % 256;
  let last = '';
  for (let i = 0; i < 256; i++) {
    const subnet = `198.18.${(start + i) % 256}.0/24`;
    const r = await execa('docker', ['network', 'create', '--driver', 'bridge', '--subnet', subnet, '--label', `${RUN_LABEL}=${runId}`, name], { reject: false });
    if (r.exitCode === 0) return subnet;
    last = String(r.stderr);
    if (!/overlap|in use|conflict/i.test(last)) break;
  }
  throw new Error(`no free 198.18.X.0/24 for the network ${name}:\n${last}`);
}

/**
 * The nodes share the host's cgroup tree, and the cgroups of their containers outlive a node
 * that is killed or removed (empty, but never cleaned up). Each node's engine puts them under
 * /NODE-NAME; this removes those folders, bottom up (where the test may: as root).
 */
async function removeCgroups(parents: string[]): Promise<void> {
  const rmTree = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await rmTree(join(dir, e.name));
    await rmdir(dir).catch(() => undefined);
  };
  const roots = ['/sys/fs/cgroup', ...(await readdir('/sys/fs/cgroup', { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => join('/sys/fs/cgroup', e.name))];
  for (const root of roots) for (const parent of parents) await rmTree(join(root, parent));
}

/**
 * Starts a manager and `workers` worker nodes and forms a Swarm of them. mounts: host paths
 * bind-mounted into the manager at the same path (so its services can bind-mount them too), or
 * HOST:PATH, a host folder seen at another path.
 * workerLabel (KEY=VALUE): a node label set on every worker, not the manager. log: told each
 * step and how long it took.
 */
export async function startSwarm(o: { runId: string; workers: number; mounts?: string[]; workerLabel?: string; log?: (line: string) => void }): Promise<Swarm> {
  let t = Date.now();
  const step = (what: string): void => {
    o.log?.(`swarm ${o.runId}: ${what} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
  };
  const image = await ensureDindImage();
  step(`image ${image}`);
  const prefix = `aib-swarm-${o.runId}`;
  const network = `${prefix}-net`;
  const names = [`${prefix}-manager`, ...Array.from({ length: o.workers }, (_, i) => `${prefix}-worker${i + 1}`)];
  const subnet = await createNetwork(network, o.runId);
  const net = subnet.replace(/\.0\/24$/, '');

  const remove = async (): Promise<void> => {
    await execa('docker', ['rm', '-f', '-v', ...names], { reject: false });
    await execa('docker', ['network', 'rm', network], { reject: false });
    await removeCgroups(names);
  };

  try {
    const nodes: SwarmNode[] = names.map((name, i) => {
      const ip = `${net}.${10 + i}`;
      return { name, ip, dockerHost: `tcp://${ip}:2375`, nodeId: '' };
    });
    await Promise.all(
      nodes.map((node, i) =>
        host([
          'run', '-d', '--name', node.name, '--hostname', node.name,
          '--label', `${RUN_LABEL}=${o.runId}`,
          '--label', `archive-in-a-box.swarm-node=${i === 0 ? 'manager' : 'worker'}`,
          '--network', network, '--ip', node.ip,
          '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE',
          '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined',
          '--tmpfs', '/run', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
          ...(i === 0 ? (o.mounts ?? []).flatMap((m) => ['-v', m.includes(':') ? m : `${m}:${m}`]) : []),
          image,
          '--tls=false', '-H', 'unix:///var/run/docker.sock', '-H', 'tcp://0.0.0.0:2375', '--insecure-registry', subnet,
          '--cgroup-parent', `/${node.name}`,
        ]),
      ),
    );
    step(`${nodes.length} node containers started`);
    const docker = (node: SwarmNode, args: string[], opts?: { timeoutMs?: number }): Promise<string> => host(['-H', node.dockerHost, ...args], opts);

    await Promise.all(
      nodes.map((node) =>
        until(`the engine of ${node.name}`, async () => {
          const r = await execa('docker', ['-H', node.dockerHost, 'info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 10_000 });
          if (r.exitCode === 0) return true;
          const state = await execa('docker', ['inspect', '--format', '{{.State.Running}}', node.name], { reject: false });
          if (String(state.stdout).trim() !== 'true') {
            const logs = await execa('docker', ['logs', '--tail', '30', node.name], { reject: false, all: true });
            throw new Error(`the node ${node.name} stopped:\n${logs.all}`);
          }
          return false;
        }, 60_000),
      ),
    );

    step('their engines answering');
    const [manager, ...workers] = nodes;
    await docker(manager, ['swarm', 'init', '--advertise-addr', manager.ip]);
    const token = await docker(manager, ['swarm', 'join-token', '-q', 'worker']);
    step('swarm init');
    await Promise.all(workers.map((w) => docker(w, ['swarm', 'join', '--token', token, '--advertise-addr', w.ip, `${manager.ip}:2377`])));
    for (const node of nodes) node.nodeId = await docker(node, ['info', '--format', '{{.Swarm.NodeID}}']);

    await until('every node of the Swarm Ready', async () => {
      const ls = await execa('docker', ['-H', manager.dockerHost, 'node', 'ls', '--format', '{{.ID}} {{.Status}}'], { reject: false });
      const ready = new Set(String(ls.stdout).split('\n').filter((l) => l.endsWith(' Ready')).map((l) => l.split(' ')[0]));
      return nodes.every((n) => ready.has(n.nodeId));
    }, 60_000);
    step(`${workers.length} workers joined, all Ready`);
    if (o.workerLabel) for (const w of workers) await docker(manager, ['node', 'update', '--label-add', o.workerLabel, w.nodeId]);

    return {
      network,
      subnet,
      manager,
      workers,
      nodes,
      docker,
      async kill(node) {
        await host(['kill', node.name]);
      },
      async loadImages(node, images) {
        // buffer: false, or execa keeps a copy of the stream and kills docker save at maxBuffer.
        await execa('docker', ['save', ...images], { buffer: false, timeout: 20 * 60_000 }).pipe('docker', ['-H', node.dockerHost, 'load'], { timeout: 20 * 60_000 });
      },
      remove,
    };
  } catch (err) {
    await remove();
    throw err;
  }
}
