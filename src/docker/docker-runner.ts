// The container runner on the Docker engine: the containers of a build are siblings of the
// builder's, made through the engine's API. Files go in and out through its archive API, so
// the builder needs no host paths; what comes out is capped (takeOutputs).
import { PassThrough, type Readable } from 'node:stream';
import { pack } from 'tar-stream';
import type { ContainerRunner, ContainerSpec, DepsImageCache, OutputCaps, RunnerContainer, RunningExec } from '../core/container-runner.js';
import { LABEL_BUILDER } from '../core/kinds/build.js';
import { DockerError } from '../errors.js';
import { DEPS_REPO, depsImageName, evictDepsImages, touchDepsImage, LABEL_DEPS_KEY } from './deps-cache.js';
import { dockerMessage, type Docker } from './engine.js';
import { imageInfo } from './images.js';
import { takeOutputs } from './take-outputs.js';

/** What the engine said, as a DockerError (its API errors carry their message in json). */
async function engine<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw new DockerError(dockerMessage(err));
  }
}

/** The engine's create options of a container spec. */
export function createOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  return {
    Image: spec.image,
    Cmd: spec.cmd,
    ...(spec.user === undefined ? {} : { User: spec.user }),
    ...(spec.workingDir === undefined ? {} : { WorkingDir: spec.workingDir }),
    ...(spec.hostname === undefined ? {} : { Hostname: spec.hostname }),
    ...(spec.domainname === undefined ? {} : { Domainname: spec.domainname }),
    Labels: spec.labels,
    Env: spec.env,
    HostConfig: {
      NetworkMode: spec.network,
      CapDrop: spec.capDrop,
      ...(spec.capAdd ? { CapAdd: spec.capAdd } : {}),
      ...(spec.noNewPrivileges ? { SecurityOpt: ['no-new-privileges'] } : {}),
      ...(spec.readOnlyRoot ? { ReadonlyRootfs: true } : {}),
      ...(spec.tmpfs ? { Tmpfs: spec.tmpfs } : {}),
      // An anonymous volume (Source empty), removed with the container.
      ...(spec.volume ? { Mounts: [{ Type: 'volume' as const, Source: '', Target: spec.volume }] } : {}),
      Memory: spec.memoryBytes,
      PidsLimit: spec.pidsLimit,
      NanoCpus: spec.cpus * 1e9,
      ...(spec.cpuShares === undefined ? {} : { CpuShares: spec.cpuShares }),
      ...(spec.init ? { Init: true } : {}),
    },
  };
}

function tarOf(files: { name: string; data: Buffer; mode?: number }[], uid: number): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<Buffer>((resolve, reject) => {
    tar.on('end', () => resolve(Buffer.concat(chunks)));
    tar.on('error', reject);
  });
  for (const f of files) {
    // A name ending in "/" is a folder of uid's own (a rebuild's, in a /build its user does not own).
    if (f.name.endsWith('/')) tar.entry({ name: f.name, type: 'directory', mode: 0o755, uid, gid: uid, mtime: new Date() });
    else tar.entry({ name: f.name, size: f.data.length, mode: f.mode ?? 0o644, uid, gid: uid, mtime: new Date() }, f.data);
  }
  tar.finalize();
  return done;
}

class DockerContainer implements RunnerContainer {
  constructor(
    private readonly docker: Docker,
    private readonly container: Docker.Container,
  ) {}

  async putFiles(dir: string, files: { name: string; data: Buffer }[], uid: number): Promise<void> {
    await engine(this.container.putArchive(await tarOf(files, uid), { path: dir }));
  }

  async attach(onOutput: (chunk: Buffer) => void): Promise<void> {
    const stream = await engine(this.container.attach({ stream: true, stdout: true, stderr: true }));
    const out = new PassThrough();
    out.on('data', onOutput);
    this.docker.modem.demuxStream(stream, out, out);
  }

  async start(): Promise<void> {
    await engine(this.container.start());
  }

  async wait(): Promise<number> {
    const { StatusCode } = (await engine(this.container.wait())) as { StatusCode: number };
    return StatusCode;
  }

  async exec(cmd: string[], onOutput: (chunk: Buffer) => void): Promise<RunningExec> {
    const exec = await engine(this.container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true }));
    const stream = await engine(exec.start({ hijack: true, stdin: false }));
    const out = new PassThrough();
    out.on('data', onOutput);
    this.docker.modem.demuxStream(stream, out, out);
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', (err) => reject(new DockerError(dockerMessage(err))));
    });
    // Whoever runs it decides what a broken stream means; it crashes nothing meanwhile.
    ended.catch(() => undefined);
    return { ended, exitCode: async () => (await engine(exec.inspect())).ExitCode ?? -1 };
  }

  async kill(): Promise<void> {
    await engine(this.container.kill());
  }

  async takeFiles(dir: string, toDir: string, caps: OutputCaps): Promise<{ outputs: string[] } | { refused: string }> {
    return takeOutputs((await engine(this.container.getArchive({ path: dir }))) as Readable, toDir, caps);
  }

  async changes(): Promise<{ Path: string; Kind: number }[]> {
    return ((await engine(this.container.changes())) as { Path: string; Kind: number }[] | null) ?? [];
  }

  async remove(): Promise<void> {
    await engine(this.container.remove({ force: true, v: true }));
  }

  /** Commits it as the cached build-dependency image of this key; the image's id. */
  async commitDeps(key: string, comment: string): Promise<string> {
    const committed = this.container.commit({
      repo: DEPS_REPO,
      tag: key,
      comment,
      changes: [`LABEL ${LABEL_DEPS_KEY}=${key}`, 'CMD ["bash"]'],
    } as never) as unknown as Promise<{ Id: string }>;
    return (await engine(committed)).Id;
  }
}

export class DockerRunner implements ContainerRunner {
  readonly depsCache: DepsImageCache;

  constructor(private readonly docker: Docker) {
    this.depsCache = {
      find: async (key) => {
        const name = depsImageName(key);
        const cached = await imageInfo(docker, name);
        if (!cached) return undefined;
        await engine(touchDepsImage(docker, key));
        return { id: cached.id, name };
      },
      store: async (container, key, comment) => {
        if (!(container instanceof DockerContainer)) throw new Error('only a container of the Docker runner can be committed to its cache');
        return container.commitDeps(key, comment);
      },
      evict: async (maxImages, maxBytes, log) => {
        await engine(evictDepsImages(docker, maxImages, maxBytes, log));
      },
    };
  }

  async imageId(name: string): Promise<string | undefined> {
    return (await imageInfo(this.docker, name))?.id;
  }

  async create(spec: ContainerSpec): Promise<RunnerContainer> {
    return new DockerContainer(this.docker, await engine(this.docker.createContainer(createOptions(spec))));
  }
}

/** Removes build containers a builder of this name left behind when it stopped. */
export async function removeLeftoverBuilds(docker: Docker, builder: string): Promise<number> {
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_BUILDER}=${builder}`] } });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  return left.length;
}
