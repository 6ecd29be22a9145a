// The error boundary of the upload intake and decision: an unexpected error while taking or
// deciding an upload rejects that upload with the error as its reason, and the queue goes on;
// but a failure of the machine that passes (passing-errors.ts: a full disk; the queue recovers
// and decides again) and a test's crash at a fail point (which no boundary may catch) go through.
import { firstLine } from '../../errors.js';
import type { FailedCheck } from '../../core/upload-checks.js';
import type { FailPointHit } from './crash-at-fail-point.js';
import { isPassingFailure } from './passing-errors.js';

export class UploadErrors {
  /** Errors a fail point threw: a test's crash, which no error boundary may catch. */
  private readonly crashes = new WeakSet<object>();
  readonly failPoint: FailPointHit;

  constructor(
    /** The archive's root, left out of reasons a packager reads. */
    private readonly root: string,
    hit: FailPointHit = () => undefined,
  ) {
    this.failPoint = (point) => {
      try {
        hit(point);
      } catch (err) {
        if (typeof err === 'object' && err) this.crashes.add(err);
        throw err;
      }
    };
  }

  /** Throws err again unless it is the upload's own trouble (to be its rejection). */
  rethrowIfNotTheUploads(err: unknown): void {
    if (typeof err === 'object' && err && this.crashes.has(err)) throw err;
    // Failures of the machine, not of an upload: not turned into a rejection (the queue recovers and decides again).
    if (isPassingFailure(err)) throw err;
  }

  /** An unexpected error as a reason a packager reads: its first line, without the archive's path. */
  internalError(changesName: string, err: unknown): FailedCheck {
    const text = firstLine(err).replaceAll(`${this.root}/`, '').slice(0, 400);
    return { check: 'internal-error', message: `${changesName}: the queue failed while deciding this upload: ${text}; tell the archive owner (the queue's log has the details)` };
  }
}
