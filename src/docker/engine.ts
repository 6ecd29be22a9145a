// The Docker engine connection through dockerode. Everything else in src/docker/ goes through
// here, but for the reads of commands that only look (engine-reads.ts).
import Docker from 'dockerode';
import { DockerError } from '../errors.js';
import { dockerMessage, unreachable } from './engine-reads.js';

export { dockerMessage };

export type { Docker };

/**
 * Connects to the engine (DOCKER_HOST or the local socket) and checks it answers. dockerode
 * finds the engine through DOCKER_HOST itself; `dockerHost` is that variable as the entry point
 * read it, for the message naming where the engine was looked for.
 */
export async function connectDocker(dockerHost: string | undefined): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (err) {
    throw unreachable(dockerHost, err);
  }
  return docker;
}

/** Docker API errors carry a statusCode; 404 means "no such object". */
export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number })?.statusCode === 404;
}


/** Reads a Docker JSON progress stream (build, import), calling back per message. */
export function followProgress(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onMessage: (message: { stream?: string; status?: string; error?: string; aux?: { ID?: string } }) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (err) reject(new DockerError(dockerMessage(err)));
        else if (failure) reject(new DockerError(failure));
        else resolve();
      },
      (message: { stream?: string; status?: string; error?: string }) => {
        if (message.error) failure = message.error;
        onMessage(message);
      },
    );
  });
}

/** What `archive doctor` reports of the engine. */
export async function engineFacts(docker: Docker): Promise<{ version: string; driver: string; dataRoot: string }> {
  const info = (await docker.info()) as { ServerVersion: string; Driver: string; DockerRootDir: string };
  return { version: info.ServerVersion, driver: info.Driver, dataRoot: info.DockerRootDir };
}
