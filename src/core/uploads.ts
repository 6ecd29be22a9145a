// The life of one upload, as the queue records it under state/uploads/.
import type { FileDigest } from '../debian/file-digest.js';
import type { JobRecord } from './jobs.js';
import type { UnmetGate } from './qa-gates.js';

export type UploadState = 'received' | 'accepted' | 'building' | 'dep-wait' | 'held' | 'published' | 'rejected' | 'failed' | 'cancelled';

export interface PoolFileRecord extends FileDigest {
  name: string;
  /** Relative to public/. */
  path: string;
}

export interface UploadRecord {
  id: string;
  changes: string;
  source: string;
  version: string;
  distribution: string;
  suite?: string;
  state: UploadState;
  receivedAt: string;
  updatedAt: string;
  reasons: string[];
  /** The ids of the checks that failed (core/upload-checks.ts), beside their messages. */
  checks?: string[];
  /** Fingerprint of the key that signed the upload, when signatures are checked. */
  signedBy?: string;
  /** Where a rejected upload's files and .reason are kept, relative to the root. */
  rejectedDir?: string;
  /** When uploads.keep_rejected_days removed them (what it leaves, a folder an uploader put there, stays in rejectedDir). */
  filesRemovedAt?: string;
  /** Source files in the pool (the .dsc first), once accepted. */
  sourceFiles: PoolFileRecord[];
  /** The Sources stanza, field by field, once accepted. */
  sourceStanza?: [string, string][];
  jobs: string[];
  /** Set once the source has joined the suite's contents (or was found superseded). */
  inSuite?: boolean;
  /**
   * Why it is done with its suite before its builds were: `archive rm` removed its source (its
   * builds, running or held back, stay in the pool only). It stays `cancelled`.
   */
  removed?: string;
}

/**
 * An accepted upload's state follows its jobs: building until all are built, then published.
 * `held`: its suite publishes it only once its QA gates hold (publish_requires), and it is not
 * in the suite yet: held while they may still hold, failed once one cannot.
 */
export function uploadStateFromJobs(upload: UploadRecord, jobs: JobRecord[], held?: UnmetGate[]): { state: UploadState; reasons: string[] } {
  if (['received', 'rejected'].includes(upload.state)) return { state: upload.state, reasons: upload.reasons };
  if (upload.removed) return { state: 'cancelled', reasons: [upload.removed] };
  const mine = jobs.filter((j) => upload.jobs.includes(j.id));
  const failed = mine.filter((j) => j.state === 'failed');
  if (failed.length > 0) {
    return { state: 'failed', reasons: failed.map((j) => `build on ${j.arch} failed: ${j.reason ?? 'unknown reason'}`) };
  }
  if (mine.length > 0 && mine.every((j) => j.state === 'built')) {
    if (!held) return { state: 'published', reasons: [] };
    const final = held.filter((g) => !g.waiting);
    if (final.length > 0) return { state: 'failed', reasons: final.map((g) => `not published (publish_requires): ${g.reason}`) };
    return { state: 'held', reasons: held.length ? held.map((g) => g.reason) : ['its QA gates hold; being published'] };
  }
  const cancelled = mine.filter((j) => j.state === 'cancelled');
  if (cancelled.length > 0 && mine.every((j) => j.state === 'built' || j.state === 'cancelled')) {
    return { state: 'cancelled', reasons: cancelled.map((j) => `build on ${j.arch} cancelled: ${j.reason ?? 'unknown reason'}`) };
  }
  if (mine.some((j) => j.state === 'building')) return { state: 'building', reasons: [] };
  const waiting = mine.filter((j) => j.state === 'dep-wait');
  if (waiting.length > 0) return { state: 'dep-wait', reasons: waiting.map((j) => `${j.arch}: waiting for ${j.missing}`) };
  return { state: 'accepted', reasons: [] };
}
