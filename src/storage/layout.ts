// Where everything lives under ARCHIVE_ROOT (DESIGN.md "State on the host").
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { POOL_DIR } from '../debian/pool-path.js';

export class Layout {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }
  get config() { return join(this.root, 'archive.yaml'); }
  get incoming() { return join(this.root, 'incoming'); }
  get public() { return join(this.root, 'public'); }
  get pool() { return join(this.public, POOL_DIR); }
  /** The served dists/: a symbolic link to the current generation, switched atomically. */
  get dists() { return join(this.public, 'dists'); }
  get generations() { return join(this.public, 'generations'); }
  get buildLogs() { return join(this.public, 'logs'); }
  get publicKey() { return join(this.public, 'archive-key.asc'); }
  /** The rebuilder key's public half (its secret half in state/): reproducible verdicts are signed with it, not the archive key. */
  get rebuilderPublicKey() { return join(this.public, 'rebuilder-key.asc'); }
  get rebuilderSecretKey() { return join(this.state, 'rebuilder-key.sec'); }
  /** diffoscope's reports and the signed statements of rebuilds (core/kinds/rebuild.ts). */
  get reproducible() { return join(this.public, 'reproducible'); }
  get state() { return join(this.root, 'state'); }
  get secretKey() { return join(this.state, 'archive-key.sec'); }
  get apiToken() { return join(this.state, 'api-token'); }
  /** A random id of this root, made once: the Swarm services it deploys carry it (docker/swarm-spec.ts LABEL_ROOT_ID). */
  get rootId() { return join(this.state, 'root-id'); }
  get uploads() { return join(this.state, 'uploads'); }
  get jobs() { return join(this.state, 'jobs'); }
  /** Enrolled workers and their keys (0600), and when each worker was last heard from. */
  get workers() { return join(this.state, 'workers'); }
  get workersSeen() { return join(this.state, 'workers-seen'); }
  get quarantine() { return join(this.state, 'quarantine'); }
  get rejected() { return join(this.state, 'rejected'); }
  get artifacts() { return join(this.state, 'artifacts'); }
  /** Requests from the CLI to the queue (retry, ...), which alone changes records. */
  get requests() { return join(this.state, 'requests'); }
  /** What each suite and snapshot holds (core/suite-contents.ts), and the pool's history. */
  get suites() { return join(this.state, 'suites'); }
  /** The queue's last migration decisions (core/migration.ts), for archive status. */
  get migration() { return join(this.state, 'migration.json'); }
  get poolHistory() { return join(this.state, 'pool-history.json'); }
  /** Each Packages and Sources text, kept for the next publication (publish/index-texts.ts). */
  get indexTexts() { return join(this.state, 'index-texts'); }
  /** Each pooled .deb's control paragraph, read once (storage/binary-controls.ts). */
  get controls() { return join(this.state, 'controls.jsonl'); }
  get logs() { return join(this.root, 'logs'); }
  /** Directories made at init; the queue makes the state/ subdirectories it owns. */
  get directories() {
    return [this.incoming, this.public, this.state, this.logs];
  }
}

/**
 * ARCHIVE_ROOT resolution: --root, then $ARCHIVE_ROOT, then $XDG_DATA_HOME/archive-in-a-box.
 * `env` is the environment the entry point (cli/) passes in: only entry points read it.
 */
export function defaultRoot(env: Partial<Record<'ARCHIVE_ROOT' | 'XDG_DATA_HOME', string>>): string {
  if (env.ARCHIVE_ROOT) return env.ARCHIVE_ROOT;
  const data = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'archive-in-a-box');
}
