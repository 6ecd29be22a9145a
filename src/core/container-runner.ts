// Where a task's containers run, as the flows in core/kinds/ see it: make a container from a
// plain description, put files in, run it or commands in it while reading its output, kill
// it, take files out, remove it. The Docker engine's implementation is docker/docker-runner.ts;
// the unit tests of the flows use a double. Types only: no engine here.

/** A container to create: every setting that confines it, said plainly. */
export interface ContainerSpec {
  image: string;
  cmd: string[];
  /** Whom the command runs as; the image's user (root) when left out. */
  user?: string;
  workingDir?: string;
  /** The container's host and domain name (the engine's own when left out). */
  hostname?: string;
  domainname?: string;
  env: string[];
  labels: Record<string, string>;
  /** A network's name, 'bridge', or 'none' for no network at all. */
  network: string;
  capDrop: string[];
  capAdd?: string[];
  /** No process of the container gains privileges (setuid, file capabilities). */
  noNewPrivileges: boolean;
  readOnlyRoot?: boolean;
  /** tmpfs mounts: where, and their mount options. */
  tmpfs?: Record<string, string>;
  /** Where an anonymous volume is mounted; it goes with the container. */
  volume?: string;
  memoryBytes: number;
  pidsLimit: number;
  cpus: number;
  /** Its weight against other containers while the CPUs are all busy (the engine's default: 1024); no limit. */
  cpuShares?: number;
  /** An init process as PID 1, reaping what the command leaves behind. */
  init?: boolean;
}

/** What is taken out of a container: bytes per file, bytes in all, files. */
export interface OutputCaps {
  outputFileBytes: number;
  outputBytes: number;
  outputFiles: number;
}

/**
 * A file put into a container: its bytes (the small ones a flow writes itself), or a file on this
 * worker's disk of that size, streamed in as it is read (a job's inputs: a QA check of a build
 * with two packages of a gigabyte must not hold them in memory, nor a tar of them).
 */
export type PutFile = { name: string; data: Buffer } | { name: string; path: string; size: number };

/** A job's input file as the worker fetched it: on its disk, of this size and sha256 (checked against the lease's). */
export interface JobInput {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

export interface ContainerRunner {
  /** The id of the image of this name; undefined when there is none. */
  imageId(name: string): Promise<string | undefined>;
  create(spec: ContainerSpec): Promise<RunnerContainer>;
  depsCache: DepsImageCache;
}

export interface RunnerContainer {
  /** Puts files into a folder of the container, owned by uid (a name ending in "/": a folder); before or after start(). */
  putFiles(dir: string, files: PutFile[], uid: number): Promise<void>;
  /** Passes the command's output (stdout and stderr, as it comes) on from its start; before start(). */
  attach(onOutput: (chunk: Buffer) => void): Promise<void>;
  start(): Promise<void>;
  /** Waits for the command to end; its exit code. */
  wait(): Promise<number>;
  /** Runs a command in the running container, passing its output on. */
  exec(cmd: string[], onOutput: (chunk: Buffer) => void): Promise<RunningExec>;
  kill(): Promise<void>;
  /**
   * Takes the files of a folder of the container into a folder here, within the caps:
   * regular files with plain names only. Refused: why, naming each odd entry and the cap crossed.
   */
  takeFiles(dir: string, toDir: string, caps: OutputCaps): Promise<{ outputs: string[] } | { refused: string }>;
  /**
   * What changed in the container's file system since it was made, as the engine sees it from
   * outside (docker container diff: Kind 0 changed, 1 added, 2 deleted): nothing inside can fake it.
   */
  changes(): Promise<{ Path: string; Kind: number }[]>;
  /**
   * The bytes the container has written to disk, its writable layer and its volume, as the engine
   * counts them from outside (a count may be a few seconds old; `fresh`: one begun after this call);
   * undefined when the engine does not list it. Rejects when the engine could not count.
   */
  diskUsage(o?: { fresh?: boolean }): Promise<number | undefined>;
  /** Takes the running container off every network it is on: what runs in it from then on reaches nothing. */
  disconnect(): Promise<void>;
  /** Removes the container, running or not, with its anonymous volume. */
  remove(): Promise<void>;
}

export interface RunningExec {
  /** Settles when the command's output ends; rejects when the stream breaks. */
  ended: Promise<void>;
  /** After the output ended: the command's exit code. */
  exitCode(): Promise<number>;
}

/**
 * Images of installed build-dependencies, one per key (the build environment plus the exact
 * set apt resolved), least recently used evicted first.
 */
export interface DepsImageCache {
  /** The image of this key, marked as just used; undefined when there is none. */
  find(key: string): Promise<{ id: string; name: string } | undefined>;
  /** Commits a container (one of this runner's) as the image of this key; the image's id. */
  store(container: RunnerContainer, key: string, comment: string): Promise<string>;
  /** Keeps the most recently used images within both bounds, and `keep` (the one a build starts from); removes the rest, saying so in the log. */
  evict(maxImages: number, maxBytes: number, log: (text: string) => void, keep: string): Promise<void>;
}
