// What the queue's parts share: where the archive is, its settings as last read, its records,
// the lane every change runs in, and the signals one part gives the others.
import type { ArchiveConfig } from '../../config/config.js';
import type { JobRecord } from '../../core/jobs.js';
import type { UploadRecord } from '../../core/uploads.js';
import type { Layout } from '../../storage/layout.js';
import type { RecordStore } from '../../storage/record-store.js';
import type { FailPointHit } from './crash-at-fail-point.js';
import type { SerialLane } from './serial-lane.js';
import type { SuiteChanges } from './suite-changes.js';

export interface QueueContext {
  readonly layout: Layout;
  /** archive.yaml as last read (re-read when it changes). */
  config(): ArchiveConfig;
  log(message: string): void;
  readonly lane: SerialLane;
  readonly uploads: RecordStore<UploadRecord>;
  readonly jobs: RecordStore<JobRecord>;
  readonly suites: SuiteChanges;
  readonly failPoint: FailPointHit;
  /** Something the status page shows changed. */
  statusChanged(): void;
  /** Publishes a new generation now (in the lane); `why` goes to the log. */
  publish(why: string): Promise<void>;
}
