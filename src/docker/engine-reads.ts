// Reads of the engine's API (GET, answered with JSON) for commands that only look, such as
// `archive status`, which people and tests poll: over the local socket or plain tcp they go
// through node:http, since loading dockerode (with its gRPC and SSH clients) takes half a
// second. An engine reached otherwise (ssh://, TLS) is read through dockerode (engine.ts).
import { access } from 'node:fs/promises';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DockerError } from '../errors.js';
import type { Docker } from './engine.js';

export interface EngineReads {
  /** GET path?query; the query's objects (filters) are sent as JSON, as the API expects. Errors carry the HTTP statusCode. */
  get<T>(path: string, query?: Record<string, unknown>): Promise<T>;
}

/** What the engine said, from an error of either way of asking it. */
export function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return e?.json?.message ?? e?.message ?? String(err);
}

/** Where the engine could not be reached, and how to get one. */
export function unreachable(dockerHost: string | undefined, err: unknown): DockerError {
  return new DockerError(
    `the Docker engine at ${dockerHost ?? '/var/run/docker.sock'} is not reachable (${(err as Error).message}).\n` +
      'Fix: install it with `apt-get install docker.io` and start it (`systemctl start docker`, or `dockerd &` ' +
      'where systemd does not run); as a non-root user, join the docker group. scripts/setup.sh does all of this.',
  );
}

/** The engine at DOCKER_HOST (or the local socket), checked to answer. */
export async function engineReads(dockerHost: string | undefined): Promise<EngineReads> {
  const target = await plainTarget(dockerHost);
  if (!target) {
    const { connectDocker } = await import('./engine.js');
    return readsThrough(await connectDocker(dockerHost));
  }
  const reads: EngineReads = { get: (path, query) => getJson(target, path, query) };
  try {
    await reads.get('/_ping');
  } catch (err) {
    throw unreachable(dockerHost, err);
  }
  return reads;
}

/** Reads through a dockerode connection a caller already holds. */
export function readsThrough(docker: Docker): EngineReads {
  return {
    get: <T>(path: string, query?: Record<string, unknown>) =>
      new Promise<T>((resolve, reject) => {
        docker.modem.dial({ path: `${path}?`, method: 'GET', options: query ?? {}, statusCodes: { 200: true, 404: 'no such object', 500: 'server error', 503: 'node is not part of a swarm' } }, (err: unknown, data: unknown) =>
          err ? reject(err) : resolve(data as T),
        );
      }),
  };
}

type Target = { socketPath: string } | { host: string; port: number };

/** The socket or host:port, when DOCKER_HOST names one reached without TLS or SSH (as docker-modem reads the same variables). */
async function plainTarget(dockerHost: string | undefined): Promise<Target | undefined> {
  if (!dockerHost) {
    const user = join(homedir(), '.docker', 'run', 'docker.sock');
    return { socketPath: (await access(user).then(() => true, () => false)) ? user : '/var/run/docker.sock' };
  }
  if (dockerHost.startsWith('unix://')) return dockerHost.length > 7 ? { socketPath: dockerHost.slice(7) } : plainTarget(undefined);
  if (!dockerHost.startsWith('tcp://') || process.env.DOCKER_TLS_VERIFY === '1' || process.env.DOCKER_CERT_PATH || process.env.DOCKER_PATH_PREFIX) return undefined;
  const url = new URL(dockerHost);
  if (url.port === '2376' || !url.port) return undefined;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}

function getJson<T>(target: Target, path: string, query: Record<string, unknown> = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  const search = params.size > 0 ? `?${params}` : '';
  return new Promise<T>((resolve, reject) => {
    const req = request({ ...target, path: `${path}${search}`, method: 'GET', headers: { Host: 'docker' }, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          let message = text.trim();
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? message;
          } catch {
            // not JSON: the text itself
          }
          reject(Object.assign(new Error(`(HTTP code ${status}) ${message}`), { statusCode: status, json: { message } }));
          return;
        }
        try {
          resolve((/json/.test(res.headers['content-type'] ?? '') ? JSON.parse(text) : text) as T);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from the engine to GET ${path} in 30 s`)));
    req.on('error', reject);
    req.end();
  });
}
