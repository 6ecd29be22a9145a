import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { builderKey } from '../../core/request-signature.js';
import { parseWorkerToken } from '../../core/workers.js';
import { Layout } from '../../storage/layout.js';
import type { JobLeasing } from './job-leasing.js';
import type { QueueContext } from './queue-context.js';
import { WorkerRegistry } from './worker-registry.js';

// The registry on a real folder: what it keeps, which key each worker signs with, and what it
// refuses. The queue's other parts are not needed (removal's give-back is counted here).
let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

const logged: string[] = [];
async function registry() {
  root = mkdtempSync(join(tmpdir(), 'aib-workers-'));
  const layout = new Layout(root);
  logged.length = 0;
  const q = { layout, log: (m: string) => logged.push(m) } as unknown as QueueContext;
  return { layout, workers: await new WorkerRegistry(q, 'archive-token').load() };
}
const leasing = (given: string[]) => ({ giveBackAll: async (name: string) => (given.push(name), 1) }) as unknown as JobLeasing;

describe('the worker registry', () => {
  it('gives an enrolled worker a key of its own, kept 0600, and refuses it once removed', async () => {
    const { layout, workers } = await registry();
    const added = await workers.add('arm-box', ['arm64']);
    const token = parseWorkerToken(added.worker!.token)!;
    expect(token.name).toBe('arm-box');
    expect(workers.keyFor('arm-box')).toEqual(token.key);
    expect(token.key).not.toEqual(builderKey('archive-token', 'arm-box'));
    expect(statSync(join(layout.workers, 'arm-box.json')).mode & 0o777).toBe(0o600);
    expect(workers.effective('arm-box', { kinds: ['build'] })).toEqual({ kinds: ['build'], architectures: ['arm64'] });
    expect(workers.effective('arm-box', { kinds: ['build'], architectures: ['amd64', 'arm64'] }).architectures).toEqual(['arm64']);
    // What it is seen to offer is what it may run: a job of another architecture says it waits.
    await workers.heard('arm-box', { kinds: ['build'] });
    expect(workers.present([]).find((w) => w.id === 'arm-box')?.architectures).toEqual(['arm64']);
    // Workers beside the queue sign with keys derived from the archive's token.
    expect(workers.keyFor('archive-builder')).toEqual(builderKey('archive-token', 'archive-builder'));

    const given: string[] = [];
    expect(await workers.remove('arm-box', leasing(given))).toMatchObject({ ok: true, message: expect.stringMatching(/token is refused from now on; 1 job\(s\) it held went back/) });
    expect(given).toEqual(['arm-box']);
    expect(workers.keyFor('arm-box')).toBeUndefined();
    expect(workers.isRevoked('arm-box')).toBe(true);
    expect(readdirSync(layout.workers)).toEqual([]);
    // Enrolled again under its name: no longer revoked, but with a new key, by which a request
    // signed before the removal is told apart (job-api.ts KeyCheck).
    await workers.add('arm-box', ['arm64']);
    expect(workers.isRevoked('arm-box')).toBe(false);
    expect(workers.keyFor('arm-box')).not.toEqual(token.key);
    await workers.remove('arm-box', leasing([]));
    // Said in the log, never with the key.
    expect(logged.slice(0, 2)).toEqual(['worker arm-box enrolled for arm64', 'worker arm-box removed; 1 job(s) given back']);
    expect(logged.join('\n')).not.toContain(token.key.toString('hex'));
  });

  it('refuses a name that is no worker name, one enrolled already, and the name of a worker beside the queue', async () => {
    const { workers } = await registry();
    expect(await workers.add('../x', [])).toMatchObject({ ok: false, message: expect.stringMatching(/worker name "\.\.\/x": expected lower-case letters/) });
    await workers.add('w1', []);
    expect(await workers.add('w1', [])).toMatchObject({ ok: false, message: expect.stringMatching(/enrolled already/) });
    await workers.heard('archive-builder', { kinds: ['build'] });
    expect(await workers.add('archive-builder', [])).toMatchObject({ ok: false, message: expect.stringMatching(/beside the queue/) });
    expect(await workers.remove('nobody', leasing([]))).toMatchObject({ ok: false });
  });

  it('notes who asked for work under plain names only, at most once a second however the offer changes', async () => {
    const { layout, workers } = await registry();
    await workers.heard('../../state/x', { kinds: ['build'] });
    await workers.heard('b', { kinds: ['build'] });
    await workers.heard('b', { kinds: ['build'], architectures: ['amd64'] });
    expect(readdirSync(layout.workersSeen)).toEqual(['b.json']);
    expect(workers.present([]).map((w) => [w.id, w.architectures])).toEqual([['b', undefined]]);
  });
});
