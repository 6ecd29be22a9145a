// The queue's publications: a new generation of dists/ from the suites' contents (publish/),
// signed again before Valid-Until runs out; and the pool's garbage collected when something
// may have lost its last reference.
import { firstLine } from '../../errors.js';
import { planPublication } from '../../core/publish-plan.js';
import type { UploadRecord } from '../../core/uploads.js';
import { compareVersions } from '../../debian/version.js';
import { oldestSignature } from '../../publish/generations.js';
import { TextBuffers, TextHashes } from '../../publish/index-text.js';
import { IndexTexts } from '../../publish/index-texts.js';
import { PoolListLines } from '../../publish/pool-list-lines.js';
import { publish } from '../../publish/publisher.js';
import type { Signer } from '../../process/gpg.js';
import { sparesAfter } from '../../process/run.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';

/** The texts' spare files are made copies this long after a publication (publish/index-texts.ts). */
const PREPARE_AFTER_MS = 100;

export class Publishing {
  /** A publish failed (or was cut short): the next scan publishes again. */
  pending = false;
  /** Something left a suite or an old generation went: the pool may hold unreferenced files. */
  garbageLikely = false;
  /** The hashes' states of the index files, kept from one publication to the next. */
  private readonly textHashes = new TextHashes();
  /** The buffers the indices' texts go through, likewise. */
  private readonly textBuffers = new TextBuffers();
  /** The bytes of the last pool.list written, likewise. */
  private readonly poolLines = new PoolListLines();
  /** The spare files of the indices' texts being made copies of the served texts, after a publication. */
  private preparing: Promise<void> = Promise.resolve();
  private stopPreparing = new AbortController();

  constructor(
    private readonly q: QueueContext,
    private readonly signer: Signer,
    private readonly leasing: JobLeasing,
  ) {}

  /** A new generation, served once complete; then jobs in dep-wait try again. In the lane. */
  async publish(why: string): Promise<void> {
    const config = this.q.config();
    const plans = planPublication(config, this.q.suites.all(), this.q.suites);
    const started = Date.now();
    // A failed publish leaves the previous generation served; the next scan tries again.
    this.pending = true;
    // A copy not finished yet is left: this publication copies what it needs itself.
    this.stopPreparing.abort();
    await this.preparing;
    const result = await sparesAfter(() => publish(this.q.layout, plans, this.signer, {
      failPoint: this.q.failPoint,
      label: config.name,
      byHashGraceMs: config.publish.byHashGraceMinutes * 60_000,
      validForMs: config.publish.validUntilDays * 86_400_000,
      textHashes: this.textHashes,
      textBuffers: this.textBuffers,
      poolLines: this.poolLines,
      pdiffs: config.publish.pdiffs,
    })).catch((err: unknown) => {
      // The generation was not made or not served: publishSaved tells this failure from others.
      throw err !== null && typeof err === 'object' ? asFailedPublication(err) : err;
    });
    this.pending = false;
    // Once the request is answered: the next publication writes over them only what changed.
    const texts = new IndexTexts(this.q.layout.indexTexts);
    const stop = (this.stopPreparing = new AbortController()).signal;
    this.preparing = new Promise<void>((resolve) => setTimeout(resolve, PREPARE_AFTER_MS))
      .then(() => texts.prepareSpares(result.texts, this.textBuffers, stop))
      .catch((err: Error) => this.q.log(`copying the indices' texts for the next publication failed (it copies what it needs itself): ${err.message}`));
    if (result.pruned > 0) this.garbageLikely = true;
    this.q.log(`published generation ${result.generation} (${why}) in ${Date.now() - started} ms; ${result.written} index files written (${result.compressed} chunks compressed), ${result.reused} unchanged`);
    await this.leasing.retryDepWaits();
  }

  /**
   * With Valid-Until set, the Release files are signed again at half their validity: a publish
   * then signs anew every suite (snapshots and -debug suites too) signed that long ago. In the lane.
   */
  async refreshValidUntil(): Promise<void> {
    const validFor = this.q.config().publish.validUntilDays * 86_400_000;
    if (!validFor) return;
    const oldest = await oldestSignature(this.q.layout);
    if (!oldest || Date.now() - oldest.getTime() > validFor / 2) return this.q.publish('Valid-Until refresh');
  }

  /** Pool files nothing refers to any more, removed (uploads that may still join keep theirs). In the lane. */
  async collectGarbage(): Promise<void> {
    this.garbageLikely = false;
    // What no suite names yet but may: the sources of uploads that may still join their suite
    // (mayJoin), and the files of builds a suite holds back (wait_for_all_architectures,
    // publish_requires); and what QA checks still to run read (a superseded build's packages,
    // the previous version's).
    const pending = [
      ...this.mayJoin().flatMap((u) => u.sourceFiles.map((f) => f.path)),
      ...this.q.jobs.all().filter((j) => j.state === 'built' && !j.inSuite).flatMap((j) => [...j.binaries.map((b) => b.path), ...j.artifacts]),
      ...this.q.jobs.all().filter((j) => j.of && ['needs-build', 'building', 'given-back'].includes(j.state)).flatMap((j) => this.leasing.inputs(j).map((f) => f.path)),
    ];
    const removed = await this.q.suites.collectGarbage(pending);
    if (removed.length > 0) this.q.log(`pool: removed ${removed.length} file(s) nothing refers to any more: ${removed.slice(0, 5).join(', ')}${removed.length > 5 ? ', ...' : ''}`);
  }

  /**
   * The uploads whose source has not joined its suite and still may: building, held back, or
   * failed (archive retry builds it again; archive.yaml's gates eased release it: queue.ts
   * releaseHeld), but not one archive rm removed (cancelRemoved), nor a rejected one, nor one
   * superseded: its suite has a newer version of the source, which joining would not replace
   * (withSource). A superseded upload's source files go at the next collection unless something
   * else keeps them (a suite, a snapshot, keep_versions); retried, its build finds them gone.
   */
  private mayJoin(): UploadRecord[] {
    const open = this.q.uploads.all().filter((u) => !u.inSuite && !u.removed && u.state !== 'rejected' && u.sourceFiles.length > 0);
    if (open.length === 0) return [];
    const suites = new Map(this.q.suites.all().filter((c) => c.kind === 'suite').map((c) => [c.id, c]));
    // Each suite's sources by name, made once for the suites these uploads are to join.
    const versions = new Map<string, Map<string, string>>();
    const versionIn = (suite: string, source: string) => {
      let bySource = versions.get(suite);
      if (!bySource) versions.set(suite, (bySource = new Map((suites.get(suite)?.sources ?? []).map((s) => [s.source, s.version]))));
      return bySource.get(source);
    };
    return open.filter((u) => {
      const held = u.suite ? versionIn(u.suite, u.source) : undefined;
      return held === undefined || compareVersions(held, u.version) <= 0;
    });
  }
}

/** Errors a publication itself failed with (the generation not made or not served), as Publishing.publish threw them. */
const failedPublications = new WeakSet<object>();

/**
 * Publishes a change already saved (a request's, a migration's): a failed publication is logged
 * and left to the next scan, which publishes again (it leaves `pending` set), and is no failure of
 * the change. What to add to its answer: nothing when published, else that it is not published
 * yet and why. Any other error (before the publication, or after it was served) is thrown, as
 * before: it is the queue's trouble, which the scan says and recovers from.
 */
export async function publishSaved(q: Pick<QueueContext, 'publish' | 'log'>, why: string): Promise<string> {
  try {
    await q.publish(why);
    return '';
  } catch (err) {
    if (err === null || typeof err !== 'object' || !failedPublications.has(err)) throw err;
    const reason = firstLine(err);
    q.log(`publishing (${why}) failed, tried again at the next scan: ${(err as Error)?.stack ?? reason}`);
    return `; not published yet (${reason}): the queue publishes it again at its next scan`;
  }
}

/** Marks `err` as a publication's own failure (Publishing.publish; tests of what handles one). */
export function asFailedPublication<E extends object>(err: E): E {
  failedPublications.add(err);
  return err;
}
