// The container runner on the Docker engine: the containers of a build are siblings of the
// builder's, made through the engine's API. Files go in and out through its archive API, so
// the builder needs no host paths; what comes out is capped (takeOutputs).
import { open } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';
import type { ContainerRunner, ContainerSpec, DepsImageCache, OutputCaps, PutFile, RunnerContainer, RunningExec } from '../core/container-runner.js';
import { LABEL_BUILD, LABEL_BUILDER } from '../core/kinds/build.js';
import { DockerError } from '../errors.js';
import { DiskUsageCounter } from './disk-usage.js';
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

/**
 * The labels that say whose a job's container is: a worker finds its own by LABEL_BUILDER after a
 * restart and removes them (removeLeftoverBuilds), tests and `archive build` by the others. A
 * container gets its image's labels unless it sets them itself, and a cached build-dependency
 * image is a job's container committed: with its labels, a later job's container (`archive
 * build`'s sets no LABEL_BUILDER) passed for that worker's, and was removed under it.
 */
export const OWNER_LABELS = [LABEL_BUILDER, LABEL_BUILD, 'archive-in-a-box.worker', 'archive-in-a-box.project', 'archive-in-a-box.run-id'];

/** The engine's create options of a container spec: every owner label set, blank where the spec has none (never its image's). */
export function createOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  return {
    Image: spec.image,
    Cmd: spec.cmd,
    ...(spec.user === undefined ? {} : { User: spec.user }),
    ...(spec.workingDir === undefined ? {} : { WorkingDir: spec.workingDir }),
    ...(spec.hostname === undefined ? {} : { Hostname: spec.hostname }),
    ...(spec.domainname === undefined ? {} : { Domainname: spec.domainname }),
    Labels: { ...Object.fromEntries(OWNER_LABELS.map((l) => [l, ''])), ...spec.labels },
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
      // Memory and swap together: no swap beyond the limit (the engine's default lets a
      // container swap as much again, on a host with swap).
      MemorySwap: spec.memoryBytes,
      PidsLimit: spec.pidsLimit,
      // Whole, as the engine takes it (2.01 CPUs is 2009999999.9999998 billionths).
      NanoCpus: Math.round(spec.cpus * 1e9),
      ...(spec.cpuShares === undefined ? {} : { CpuShares: spec.cpuShares }),
      ...(spec.init ? { Init: true } : {}),
    },
  };
}

/**
 * The files as a tar stream, made as the engine reads it: a file on disk is read into its entry
 * then, never whole (tar-stream takes one entry at a time). A file on disk whose size is not the
 * one given fails the stream before any of it goes in.
 */
export function tarOf(files: PutFile[], uid: number): Readable {
  const tar = pack();
  /** An entry of the tar; its failure is the tar's (every entry heard: streamx throws an 'error' no one hears). */
  const entry = (header: Parameters<Pack['entry']>[0], data?: Buffer) => {
    let sink!: ReturnType<Pack['entry']>;
    const written = new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      sink = data ? tar.entry(header, data, done) : tar.entry(header, done);
    });
    written.catch(() => undefined); // awaited where it matters
    sink.on('error', () => undefined);
    return { sink, written };
  };
  /** Until the entry takes more, or is closed (the tar destroyed: the engine gone); false when closed. */
  const drained = (sink: ReturnType<Pack['entry']>) =>
    new Promise<boolean>((resolve) => {
      const done = () => {
        sink.off('drain', done).off('close', done);
        resolve(!sink.destroying);
      };
      if (sink.destroying) return resolve(false);
      sink.on('drain', done).on('close', done);
    });
  const put = async () => {
    for (const f of files) {
      const header = { name: f.name, mode: 0o644, uid, gid: uid, mtime: new Date() };
      // A name ending in "/" is a folder of uid's own (a rebuild's, in a /build its user does not own).
      if (f.name.endsWith('/')) entry({ ...header, type: 'directory', mode: 0o755 });
      else if ('data' in f) entry({ ...header, size: f.data.length }, f.data);
      else {
        const file = await open(f.path);
        try {
          const { size } = await file.stat();
          if (size !== f.size) throw new Error(`${f.path}: ${size} bytes, not the ${f.size} given`);
          const { sink, written } = entry({ ...header, size });
          // Its first `size` bytes only: a file grown since goes in as it was checked.
          for await (const chunk of size === 0 ? [] : file.createReadStream({ autoClose: false, start: 0, end: size - 1 })) {
            if (sink.destroying || (!sink.write(chunk) && !(await drained(sink)))) throw new Error(`${f.name}: the tar was closed while it was read`);
          }
          sink.end(undefined);
          await written;
        } finally {
          await file.close();
        }
      }
    }
    tar.finalize();
  };
  put().catch((err: Error) => tar.destroy(err));
  // As a stream of node's (tar-stream's are streamx's): an error above ends it with that error.
  return Readable.from(tar);
}

/**
 * The settings a build-dependency image is committed with (Dockerfile instructions): its key, and
 * the owner labels of the job's container it is made from blanked: the image is every later job's,
 * of any worker or `archive build`, none of them that job's owner's.
 */
export function depsCommitChanges(key: string): string[] {
  return [`LABEL ${LABEL_DEPS_KEY}=${key}`, ...OWNER_LABELS.map((l) => `LABEL ${l}=""`), 'CMD ["bash"]'];
}

class DockerContainer implements RunnerContainer {
  constructor(
    private readonly docker: Docker,
    private readonly container: Docker.Container,
    private readonly disk: DiskUsageCounter,
  ) {}

  async putFiles(dir: string, files: PutFile[], uid: number): Promise<void> {
    const tar = tarOf(files, uid);
    // A file that cannot be read fails the put with its own error (not only the engine's aborted request).
    const unreadable = new Promise<never>((_, reject) => tar.once('error', reject));
    try {
      await engine(Promise.race([this.container.putArchive(tar, { path: dir }), unreadable]));
    } finally {
      tar.destroy();
    }
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

  async diskUsage(o: { fresh?: boolean } = {}): Promise<number | undefined> {
    return engine(this.disk.of(this.container.id, o));
  }

  async disconnect(): Promise<void> {
    const info = await engine(this.container.inspect());
    for (const name of Object.keys(info.NetworkSettings?.Networks ?? {})) {
      await engine(this.docker.getNetwork(name).disconnect({ Container: info.Id, Force: true }));
    }
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
      changes: depsCommitChanges(key),
    } as never) as unknown as Promise<{ Id: string }>;
    return (await engine(committed)).Id;
  }
}

export class DockerRunner implements ContainerRunner {
  readonly depsCache: DepsImageCache;
  private readonly disk: DiskUsageCounter;

  constructor(private readonly docker: Docker) {
    this.disk = new DiskUsageCounter(docker);
    this.depsCache = {
      find: async (key) => {
        const name = depsImageName(key);
        const cached = await imageInfo(docker, name);
        // Gone before it was marked used (another build's eviction): a miss.
        if (!cached || !(await engine(touchDepsImage(docker, key)))) return undefined;
        return { id: cached.id, name };
      },
      store: async (container, key, comment) => {
        if (!(container instanceof DockerContainer)) throw new Error('only a container of the Docker runner can be committed to its cache');
        return container.commitDeps(key, comment);
      },
      evict: async (maxImages, maxBytes, log, keep) => {
        await engine(evictDepsImages(docker, maxImages, maxBytes, log, keep));
      },
    };
  }

  async imageId(name: string): Promise<string | undefined> {
    return (await imageInfo(this.docker, name))?.id;
  }

  async create(spec: ContainerSpec): Promise<RunnerContainer> {
    return new DockerContainer(this.docker, await engine(this.docker.createContainer(createOptions(spec))), this.disk);
  }
}

/** Removes (a running one killed) every container whose label has this value; how many there were. */
export async function removeLabelledContainers(docker: Pick<Docker, 'listContainers' | 'getContainer'>, label: string, value: string): Promise<number> {
  const left = await docker.listContainers({ all: true, filters: { label: [`${label}=${value}`] } });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  return left.length;
}

/** Removes build containers a builder of this name left behind when it stopped. */
export function removeLeftoverBuilds(docker: Docker, builder: string): Promise<number> {
  return removeLabelledContainers(docker, LABEL_BUILDER, builder);
}
