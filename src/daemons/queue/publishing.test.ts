// The pool's collection on the queue's side: what it keeps that no suite names yet.
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../../core/jobs.js';
import { emptyContents, type SuiteContents } from '../../core/suite-contents.js';
import type { UploadRecord } from '../../core/uploads.js';
import type { Signer } from '../../process/gpg.js';
import type { JobLeasing } from './job-leasing.js';
import { Publishing } from './publishing.js';
import type { QueueContext } from './queue-context.js';

const upload = (version: string, over: Partial<UploadRecord> = {}): UploadRecord => ({
  id: `hello_${version}`, changes: '', source: 'hello', version, distribution: 'unstable', suite: 'unstable', state: 'building', receivedAt: '', updatedAt: '', reasons: [], jobs: [],
  sourceFiles: [{ name: `hello_${version}.dsc`, path: `pool/main/h/hello/hello_${version}.dsc`, size: 1, sha256: '', md5: '', sha1: '' }], ...over,
});

/** The pool files a collection keeps though no suite names them, with `uploads` on record and `unstable` holding hello `held` (if given). */
async function pending(uploads: UploadRecord[], held?: string): Promise<string[]> {
  const unstable: SuiteContents = { ...emptyContents('unstable'), sources: held ? [{ source: 'hello', version: held, component: 'main', stanza: [], files: [] }] : [] };
  let kept: string[] = [];
  const q = {
    log: () => undefined,
    uploads: { all: () => uploads },
    jobs: { all: () => [] as JobRecord[] },
    suites: { all: () => [unstable], collectGarbage: async (p: string[]) => ((kept = p), []) },
  } as unknown as QueueContext;
  await new Publishing(q, {} as Signer, { inputs: () => [] } as unknown as JobLeasing).collectGarbage();
  return kept;
}

describe("the pool's collection", () => {
  it('keeps the source of an upload not in its suite yet that may still join it: building, held back, or failed (archive retry, gates eased)', async () => {
    const waiting = [upload('1.0-1'), upload('1.0-2', { state: 'held' }), upload('1.0-3', { state: 'failed', reasons: ['not published (publish_requires): lintian on amd64: 1 error(s): x'] })];
    expect(await pending(waiting, '0.9-1')).toEqual(['pool/main/h/hello/hello_1.0-1.dsc', 'pool/main/h/hello/hello_1.0-2.dsc', 'pool/main/h/hello/hello_1.0-3.dsc']);
  });

  it('lets go the source of one in its suite, removed by archive rm, rejected, or superseded by a newer version in its suite', async () => {
    const done = [
      upload('1.0-1', { state: 'published', inSuite: true }),
      upload('1.0-2', { state: 'cancelled', inSuite: true, removed: 'hello was removed from unstable (archive rm)' }),
      upload('1.0-3', { state: 'rejected' }),
    ];
    expect(await pending(done)).toEqual([]);
    // Failed or cancelled (its builds not started cancelled when the newer one joined): it would not replace 2.0-1.
    expect(await pending([upload('1.0-4', { state: 'failed' }), upload('1.0-5', { state: 'cancelled' })], '2.0-1')).toEqual([]);
  });
});
