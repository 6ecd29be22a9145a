import { describe, expect, it } from 'vitest';
import { JOB_ROUTES, matchRoute, routePath, type JobRoute } from './job-protocol.js';
import { KINDS, parseKindReport } from './work-kinds.js';

const parseJobReport = (kind: 'build', value: Record<string, unknown>) => KINDS[kind].parseReport(value);
import { parseQueueRequest } from './queue-requests.js';

const at = (path: string) => new URL(path, 'http://queue');

describe('the job API route table', () => {
  it('finds every route from the path its client builds, with the same parameters', () => {
    const params: { [R in JobRoute]: Record<string, string> } = {
      lease: {},
      start: { builder: 'builder-1' },
      heartbeat: { id: 'u1-amd64' },
      sourceFile: { id: 'u1-amd64', name: 'hello_1.0+dfsg-1.dsc' },
      log: { id: 'u1-amd64', builder: 'builder-1/2' },
      artifact: { id: 'u1-amd64', name: 'hello_1.0+dfsg-1_amd64.deb', builder: 'builder-1/2' },
      complete: { id: 'u1-amd64' },
    };
    for (const route of Object.keys(JOB_ROUTES) as JobRoute[]) {
      const path = routePath(route, params[route] as never);
      expect(matchRoute(JOB_ROUTES[route].method, at(path)), path).toEqual({ route, params: params[route] });
    }
  });

  it('percent-encodes names, a "+" and a slot\'s "/" too', () => {
    expect(routePath('artifact', { id: 'j+1', name: 'a+b.deb', builder: 'b/1' })).toBe('/api/v1/jobs/j%2B1/artifacts/a%2Bb.deb?builder=b%2F1');
  });

  it('refuses names that decode to a path or are not UTF-8 (400), says 405 for a wrong method and 404 for no route', () => {
    expect(matchRoute('PUT', at('/api/v1/jobs/j1/artifacts/..%2Fpool%2Fx.deb'))).toMatchObject({ status: 400 });
    expect(matchRoute('PUT', at('/api/v1/jobs/j1/artifacts/x%E0.deb'))).toMatchObject({ status: 400, error: expect.stringMatching(/unsafe name/) });
    expect(matchRoute('GET', at('/api/v1/jobs/j1/complete'))).toMatchObject({ status: 405 });
    expect(matchRoute('POST', at('/api/v1/jobs/j1/restart'))).toMatchObject({ status: 404 });
    expect(matchRoute('POST', at('/api/v1/jobs/j1/heartbeat/extra'))).toMatchObject({ status: 404 });
  });
});

describe('a job report as a worker sends it', () => {
  it('is taken in the shape of its outcome', () => {
    expect(parseJobReport('build', { outcome: 'built', image: 'sha256:ab', depsKey: 'k', extra: 'dropped' })).toEqual({ outcome: 'built', image: 'sha256:ab', depsKey: 'k' });
    expect(parseJobReport('build', { outcome: 'dep-wait', missing: 'libfoo-dev' })).toEqual({ outcome: 'dep-wait', missing: 'libfoo-dev' });
    expect(parseJobReport('build', { outcome: 'failed' })).toMatchObject({ outcome: 'failed', reason: 'build failed' });
  });

  it('goes with the kind it was sent for, which must be one', () => {
    expect(parseKindReport('build', { outcome: 'failed', reason: 'x' })).toEqual({ kind: 'build', report: { outcome: 'failed', reason: 'x' } });
    expect(parseKindReport('mining', { outcome: 'built' })).toEqual({ error: 'unknown kind of work mining' });
  });

  it('is refused with an unknown outcome or fields that are not text', () => {
    expect(parseJobReport('build', { outcome: 'maybe' })).toEqual({ error: 'unknown outcome maybe' });
    expect(parseJobReport('build', { outcome: 'failed', reason: { toString: 'x' } })).toMatchObject({ error: expect.stringMatching(/must be text/) });
  });
});

describe('a request file the CLI left', () => {
  it('is taken when it has the fields its action needs', () => {
    expect(parseQueueRequest({ action: 'retry', source: 'hello' })).toEqual({ action: 'retry', source: 'hello', version: undefined });
    expect(parseQueueRequest({ action: 'verify', source: 'hello', version: '1.0-1' })).toEqual({ action: 'verify', source: 'hello', version: '1.0-1' });
    expect(parseQueueRequest({ action: 'verify' })).toEqual({ error: 'verify: source missing or not a name' });
    expect(parseQueueRequest({ action: 'include', files: ['a.deb'], suite: 'unstable' })).toMatchObject({ action: 'include', files: ['a.deb'] });
    expect(parseQueueRequest({ action: 'include', files: ['a.deb'], listed: true })).toMatchObject({ action: 'include', listed: true });
    expect(parseQueueRequest({ action: 'snapshot', name: 's1', delete: true })).toMatchObject({ action: 'snapshot', name: 's1', delete: true });
    expect(parseQueueRequest({ action: 'migrate', dryRun: true })).toEqual({ action: 'migrate', dryRun: true });
    expect(parseQueueRequest({ action: 'migrate' })).toEqual({ action: 'migrate', dryRun: false });
  });

  it('is refused, saying what is wrong, when it is not a request', () => {
    expect(parseQueueRequest(undefined)).toEqual({ error: 'expected a JSON object' });
    expect(parseQueueRequest({ action: 'format-disk' })).toMatchObject({ error: expect.stringMatching(/unknown action "format-disk" \(known: retry, verify, rm, copy, migrate, snapshot, include, workers-add, workers-rm\)/) });
    expect(parseQueueRequest({ action: 'migrate', dryRun: 'yes' })).toEqual({ error: 'migrate: dryRun is not true or false' });
    expect(parseQueueRequest({ action: 'copy', source: 'hello', from: 'unstable' })).toEqual({ error: 'copy: to missing or not a name' });
    expect(parseQueueRequest({ action: 'include', files: [1] })).toEqual({ error: 'include: files missing or not a name' });
    expect(parseQueueRequest({ action: 'include', files: ['a.deb'], listed: 'yes' })).toEqual({ error: 'include: listed is not true or false' });
  });
});
