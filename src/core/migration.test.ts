// Gated migration's decisions: age, builds, each gate, and dependencies the target cannot satisfy.
import { describe, expect, it } from 'vitest';
import type { SuiteConfig } from '../config/config.js';
import type { JobRecord } from './jobs.js';
import { lintianResult } from './kinds/lintian.js';
import { earlierResults, qaTrend, type QaResult } from './kinds/qa.js';
import { installabilityJobId, migrationDecisions, migrationLine, targetDigest, type MigrationInput, type MigrationPolicy } from './migration.js';
import { emptyContents, isDebugControl, type SuiteBinary, type SuiteContents, type SuiteSource } from './suite-contents.js';
import type { UploadRecord } from './uploads.js';

const NOW = new Date('2026-03-10T12:00:00Z');
const policy: MigrationPolicy = { from: 'unstable', afterDays: 2, require: { lintian: 'no-errors', piuparts: 'pass', autopkgtest: 'no-regression' } };
const target = (over: Partial<MigrationPolicy> = {}, architectures = ['amd64']): SuiteConfig & { migration: MigrationPolicy } => ({
  name: 'testing', base: 'trixie', components: ['main'], architectures, aliases: [], qa: [], rebuilds: false, migration: { ...policy, ...over },
});

const source = (name: string, version: string): SuiteSource => ({ source: name, version, component: 'main', stanza: [], files: [], uploadId: `${name}_${version}` });
const binary = (name: string, source: string, version: string, control: [string, string][] = [], arch = 'amd64'): SuiteBinary => ({
  package: name, version, arch, source, sourceVersion: version, component: 'main', origin: 'built', path: `pool/main/${name}_${version}_${arch}.deb`, size: 1,
  debug: isDebugControl(control),
});
const upload = (name: string, version: string, daysAgo: number): UploadRecord => ({
  id: `${name}_${version}`, changes: '', source: name, version, distribution: 'unstable', suite: 'unstable', state: 'published',
  receivedAt: new Date(NOW.getTime() - daysAgo * 86_400_000).toISOString(), updatedAt: '', reasons: [], sourceFiles: [], jobs: [`${name}_${version}-amd64`],
});
const job = (name: string, version: string, over: Partial<JobRecord> = {}): JobRecord => ({
  id: `${name}_${version}-amd64`, kind: 'build', uploadId: `${name}_${version}`, source: name, version, suite: 'unstable', base: 'trixie', arch: 'amd64', buildArg: '-b',
  state: 'built', attempts: 1, createdAt: '', updatedAt: '', binaries: [], artifacts: [], ...over,
});
const check = (name: string, version: string, kind: 'lintian' | 'piuparts' | 'autopkgtest' | 'installability', qa?: Partial<QaResult>, over: Partial<JobRecord> = {}): JobRecord =>
  job(name, version, {
    id: `${name}_${version}-amd64-${kind}`, kind, of: `${name}_${version}-amd64`, state: qa ? 'built' : 'needs-build',
    ...(qa ? { qa: { verdict: 'pass', tool: kind, seconds: 1, counts: {}, findings: [], summary: 'ok', ...qa } } : {}), ...over,
  });
const EMPTY = targetDigest(emptyContents('testing'));
/** The installability check of the amd64 build in testing, answered (null: not yet) for the target `against`. */
const installs = (name: string, version: string, qa: Partial<QaResult> | null = {}, against = EMPTY, over: Partial<JobRecord> = {}) =>
  check(name, version, 'installability', qa ?? undefined, { id: installabilityJobId(`${name}_${version}-amd64`, 'testing'), suite: 'testing', against, ...over });
const passing = (name: string, version: string) => [job(name, version), check(name, version, 'lintian', {}), check(name, version, 'piuparts', {}), installs(name, version)];

function decide(o: { from: SuiteContents; to?: SuiteContents; uploads: UploadRecord[]; jobs: JobRecord[]; target?: MigrationInput['target'] }) {
  return migrationDecisions({
    target: o.target ?? target(), from: o.from, to: o.to ?? emptyContents('testing'), targetDigest: targetDigest(o.to ?? emptyContents('testing')), now: NOW,
    upload: (id) => o.uploads.find((u) => u.id === id),
    jobsOf: (id) => o.jobs.filter((j) => j.uploadId === id),
  });
}
const unstable = (sources: SuiteSource[], binaries: SuiteBinary[]): SuiteContents => ({ ...emptyContents('unstable'), sources, binaries });

describe('migration decisions', () => {
  it('migrates a source old enough, built, its gates held; says how old the rest is', () => {
    const from = unstable([source('hello', '1.0-1'), source('young', '1.0-1')], [binary('hello', 'hello', '1.0-1'), binary('young', 'young', '1.0-1')]);
    const d = decide({ from, uploads: [upload('hello', '1.0-1', 3), upload('young', '1.0-1', 1.5)], jobs: [...passing('hello', '1.0-1'), ...passing('young', '1.0-1')] });
    expect(d).toMatchObject([
      { source: 'hello', version: '1.0-1', from: 'unstable', to: 'testing', migrates: true, reasons: [], ageDays: 3 },
      { source: 'young', migrates: false, reasons: ['1 of 2 days'], ageDays: 1.5 },
    ]);
    expect(migrationLine(d[1])).toBe('young 1.0-1 unstable -> testing: waits: 1 of 2 days');
    expect(decide({ from, uploads: [upload('young', '1.0-1', 0)], jobs: passing('young', '1.0-1'), target: target({ afterDays: 0 }) })[1]).toMatchObject({ source: 'young', migrates: true });
  });

  it('counts a source\'s days from when it entered the suite it migrates from, not from its upload (a copy brings none of the days it spent elsewhere)', () => {
    // Uploaded 30 days ago, copied into unstable (or migrated into testing, for stable) a day ago.
    const since = new Date(NOW.getTime() - 86_400_000).toISOString();
    const from = unstable([{ ...source('hello', '1.0-1'), since }], [binary('hello', 'hello', '1.0-1')]);
    const d = decide({ from, uploads: [upload('hello', '1.0-1', 30)], jobs: passing('hello', '1.0-1') });
    expect(d[0]).toMatchObject({ migrates: false, reasons: ['1 of 2 days'], ageDays: 1 });
  });

  it('waits while the suite it migrates from lacks its binaries for an architecture it builds for, its builds all done (one dropped as it joined), as archive copy refuses it', () => {
    const from = unstable([{ ...source('hello', '1.0-1'), stanza: [['Architecture', 'any']] }], []);
    const d = decide({ from, uploads: [upload('hello', '1.0-1', 3)], jobs: passing('hello', '1.0-1') });
    expect(d[0]).toMatchObject({ migrates: false, reasons: ['unstable has none of its binaries for amd64 yet (their builds are not all in, failed or are held back, or unstable lacks the architecture)'] });
    // Its build pending: only that is said.
    const pending = decide({ from, uploads: [upload('hello', '1.0-1', 3)], jobs: [job('hello', '1.0-1', { state: 'building' }), ...passing('hello', '1.0-1').slice(1)] });
    expect(pending[0].reasons).toEqual(['not built on amd64 yet (building)']);
  });

  it("waits while a source would take over a binary package another source publishes in the target", () => {
    const from = unstable([source('hello', '1.0-1')], [binary('hello', 'hello', '1.0-1'), binary('libgreet1', 'hello', '1.0-1')]);
    const to: SuiteContents = { ...emptyContents('testing'), sources: [source('greet', '1')], binaries: [binary('libgreet1', 'greet', '1')] };
    const input = { from, to, uploads: [upload('hello', '1.0-1', 3)], jobs: [...passing('hello', '1.0-1').slice(0, 3), installs('hello', '1.0-1', {}, targetDigest(to))] };
    expect(decide(input)[0]).toMatchObject({ migrates: false, reasons: ['binary package libgreet1 is published in testing by source greet, which it may not take over (allow_binary_takeover is off)'] });
    expect(decide({ ...input, target: { ...target(), allowBinaryTakeover: true } })[0]).toMatchObject({ migrates: true, reasons: [] });
    // Two sources ready together that bring one package (unstable let the second take it over): the first goes, the second waits.
    const both = unstable([source('hello', '1.0-1'), source('later', '1.0-1')], [binary('libgreet1', 'hello', '1.0-1'), binary('libgreet1', 'later', '1.0-1', [], 'all')]);
    const d = decide({ from: both, uploads: [upload('hello', '1.0-1', 3), upload('later', '1.0-1', 3)], jobs: [...passing('hello', '1.0-1'), ...passing('later', '1.0-1')] });
    expect(d.map((x) => [x.source, x.migrates, x.reasons])).toEqual([
      ['hello', true, []],
      ['later', false, ['binary package libgreet1 is published in testing by source hello, which it may not take over (allow_binary_takeover is off)']],
    ]);
    // A package the target's source gives up (its new version, migrating first, no longer builds it) may come from another.
    const handOver = unstable([source('greet', '2'), source('hello', '1.0-1')], [binary('greet', 'greet', '2'), binary('libgreet1', 'hello', '1.0-1')]);
    const ready = (name: string, version: string) => [...passing(name, version).slice(0, 3), installs(name, version, {}, targetDigest(to))];
    const jobs = [...ready('greet', '2'), ...ready('hello', '1.0-1')];
    expect(decide({ from: handOver, to, uploads: [upload('greet', '2', 3), upload('hello', '1.0-1', 3)], jobs }).map((x) => [x.source, x.migrates, x.reasons])).toEqual([
      ['greet', true, []],
      ['hello', true, []],
    ]);
  });

  it('lists nothing the target already has at that version or newer; says what it replaces', () => {
    const from = unstable([source('hello', '1.0-2'), source('old', '1.0-1')], []);
    const to = { ...emptyContents('testing'), sources: [source('hello', '1.0-1'), source('old', '2.0-1')] };
    const d = decide({ from, to, uploads: [upload('hello', '1.0-2', 5)], jobs: passing('hello', '1.0-2') });
    expect(d).toMatchObject([{ source: 'hello', version: '1.0-2', replaces: '1.0-1', migrates: true }]);
  });

  it('waits for every build the target needs, and says which failed', () => {
    const from = unstable([source('hello', '1.0-1')], []);
    const u = { ...upload('hello', '1.0-1', 5), jobs: [] };
    // s390x's arch-dependent build (-B): the target has no s390x, nothing of it is copied.
    const jobs = [job('hello', '1.0-1', { state: 'failed', reason: 'dpkg-buildpackage exit 2' }), job('hello', '1.0-1', { id: 'hello-arm64', arch: 'arm64', state: 'building' }), job('hello', '1.0-1', { id: 'hello-s390x', arch: 's390x', buildArg: '-B', state: 'failed' })];
    expect(decide({ from, uploads: [u], jobs, target: target({}, ['amd64', 'arm64']) })[0].reasons).toEqual(['build on amd64 failed: dpkg-buildpackage exit 2', 'not built on arm64 yet (building)']);
    expect(decide({ from, uploads: [u], jobs: [] })[0].reasons).toEqual(['no build for amd64']);
  });

  it('needs the build that makes the arch:all packages on an architecture the target lacks (-b on arch_all), its gates and its installability too', () => {
    // unstable builds amd64 and arm64, amd64 making the arch:all packages (-b); testing is arm64 only, and is copied them.
    const from = unstable([source('hello', '1.0-1')], []);
    const u = { ...upload('hello', '1.0-1', 5), jobs: [] };
    // The same jobs on arm64: that build and its checks pass.
    const onArm64 = (j: JobRecord): JobRecord => ({ ...j, id: j.id.replace('-amd64', '-arm64'), arch: 'arm64', buildArg: '-B', ...(j.of ? { of: j.of.replace('-amd64', '-arm64') } : {}) });
    const armPassing = passing('hello', '1.0-1').map(onArm64);
    const on = target({}, ['arm64']);
    const reasons = (...jobs: JobRecord[]) => decide({ from, uploads: [u], jobs: [...armPassing, ...jobs], target: on })[0].reasons;
    expect(reasons(job('hello', '1.0-1', { state: 'failed', reason: 'dpkg-buildpackage exit 2' }))).toEqual(['build on amd64 failed: dpkg-buildpackage exit 2']);
    expect(reasons(job('hello', '1.0-1'), check('hello', '1.0-1', 'lintian', { verdict: 'fail', counts: { error: 1 }, summary: '1 error tag(s): x' }), check('hello', '1.0-1', 'piuparts', {}))).toEqual(['lintian on amd64: 1 error(s): 1 error tag(s): x']);
    expect(reasons(...passing('hello', '1.0-1').slice(0, 3))).toEqual(['installability in testing on amd64: to be checked']);
    expect(reasons(...passing('hello', '1.0-1'))).toEqual([]);
    // Its arch-dependent build alone (-B, arch_all elsewhere) is not the target's.
    expect(reasons(job('hello', '1.0-1', { buildArg: '-B', state: 'failed' }))).toEqual([]);
  });

  it('holds each gate: lintian errors (not warnings; counted or past the output read), a piuparts failure, an autopkgtest regression (not a failure that never passed)', () => {
    const from = unstable([source('hello', '1.0-1')], []);
    // It declares tests (Testsuite:), so autopkgtest applies.
    const u = [{ ...upload('hello', '1.0-1', 5), sourceStanza: [['Testsuite', 'autopkgtest']] as [string, string][] }];
    // The checks given, and passing ones of the other checks required.
    const with_ = (...checks: JobRecord[]) => {
      const others = (['lintian', 'piuparts', 'autopkgtest'] as const).filter((k) => !checks.some((c) => c.kind === k)).map((k) => check('hello', '1.0-1', k, {}));
      return decide({ from, uploads: u, jobs: [job('hello', '1.0-1'), installs('hello', '1.0-1'), ...others, ...checks] })[0].reasons;
    };
    // A check required and not made yet (the build just ended) waits.
    expect(decide({ from, uploads: u, jobs: [job('hello', '1.0-1'), installs('hello', '1.0-1')] })[0].reasons).toEqual(['lintian on amd64 has not run yet', 'piuparts on amd64 has not run yet', 'autopkgtest on amd64 has not run yet']);
    expect(with_(check('hello', '1.0-1', 'lintian', { verdict: 'pass', counts: { warning: 3 } }))).toEqual([]);
    expect(with_(check('hello', '1.0-1', 'lintian', { verdict: 'fail', counts: { error: 1 }, summary: '1 error tag(s): dir-or-file-in-opt' }))).toEqual(['lintian on amd64: 1 error(s): 1 error tag(s): dir-or-file-in-opt']);
    // Lintian failed (exit 2) with its error tags past the output read: no error counted, a fail all the same.
    const cut = lintianResult(`Lintian v2\n${'W: hello: some-tag x\n'.repeat(3)}`, 2, 1, true)!;
    expect(with_(check('hello', '1.0-1', 'lintian', cut))).toEqual(['lintian on amd64: error tag(s) past the first 8 MiB of its output; see the log']);
    expect(with_(check('hello', '1.0-1', 'lintian', lintianResult(`Lintian v2\n${'W: hello: some-tag x\n'.repeat(3)}`, 0, 1)!))).toEqual([]);
    expect(with_(check('hello', '1.0-1', 'piuparts', { verdict: 'fail', summary: '1 file(s) left after purge: /etc/x' }))).toEqual(['piuparts failed on amd64: 1 file(s) left after purge: /etc/x']);
    expect(with_(check('hello', '1.0-1', 'piuparts', { verdict: 'neutral' }))).toEqual([]);
    // A new source's failing test: nothing to regress from (regressions: the describe below).
    expect(with_(check('hello', '1.0-1', 'autopkgtest', { verdict: 'fail', trend: 'never-passed' }))).toEqual([]);
    expect(with_(check('hello', '1.0-1', 'piuparts'))).toEqual(['piuparts on amd64 has not run yet']);
    expect(with_(check('hello', '1.0-1', 'piuparts', undefined, { state: 'failed', reason: 'the tool crashed' }))).toEqual(['piuparts on amd64 could not run: the tool crashed']);
    expect(with_(check('hello', '1.0-1', 'piuparts', { verdict: 'tmpfail' }))).toEqual(['piuparts on amd64: the testbed failed (tmpfail)']);
    // A check the target does not require does not hold it back.
    expect(decide({ from, uploads: u, jobs: [job('hello', '1.0-1'), installs('hello', '1.0-1'), check('hello', '1.0-1', 'piuparts', { verdict: 'fail' })], target: target({ require: {} }) })[0].migrates).toBe(true);
  });

  it('a source copied into the suite without an upload is left to archive copy', () => {
    const from = unstable([{ ...source('hello', '1.0-1'), uploadId: undefined }], []);
    expect(decide({ from, uploads: [], jobs: [] })[0].reasons).toEqual(['no upload record (copied or imported into unstable): migrate it with archive copy hello unstable testing']);
  });
});

describe('no-regression: against the version the target holds', () => {
  // foo declares tests; its 1.0-1 is in testing. Every other gate holds.
  const uploads = ['1.0-1', '1.0-2', '1.0-3'].map((v) => ({ ...upload('foo', v, 5), sourceStanza: [['Testsuite', 'autopkgtest']] as [string, string][] }));
  const testing: SuiteContents = { ...emptyContents('testing'), sources: [source('foo', '1.0-1')], binaries: [binary('foo', 'foo', '1.0-1')] };
  const fail = (test = 'smoke'): Partial<QaResult> => ({ verdict: 'fail', summary: `1 of 2 test(s) failed: ${test}`, findings: [{ severity: 'E', tag: `${test} FAIL` }, { severity: 'I', tag: 'other PASS' }] });
  const pass: Partial<QaResult> = { findings: [{ severity: 'I', tag: 'smoke PASS' }, { severity: 'I', tag: 'other PASS' }] };
  /** A version's build and checks; its autopkgtest (or `kind`'s) result as given, the other checks passing. */
  const version = (v: string, qa: Partial<QaResult> | undefined, kind: 'lintian' | 'piuparts' | 'autopkgtest' = 'autopkgtest', to = testing) => [
    job('foo', v),
    ...(['lintian', 'piuparts', 'autopkgtest'] as const).filter((k) => k !== kind).map((k) => check('foo', v, k, {})),
    ...(qa ? [check('foo', v, kind, qa)] : []),
    installs('foo', v, {}, targetDigest(to)),
  ];
  /** The jobs as the queue keeps them (daemons/queue/qa-results.ts): each check with its trend against the version checked before it in unstable. */
  const ran = (jobs: JobRecord[]) => jobs.reduce<JobRecord[]>((done, j) => [...done, j.qa && j.kind !== 'installability' ? { ...j, qa: { ...j.qa, ...qaTrend(j.qa, earlierResults(j, done)) } } : j], []);
  const newest = (jobs: JobRecord[], to = testing) => decide({ from: unstable([source('foo', '1.0-3')], []), to, uploads, jobs, target: target({ afterDays: 0 }) })[0];
  const stored = (jobs: JobRecord[], kind = 'autopkgtest') => jobs.find((j) => j.kind === kind && j.version === '1.0-3')!.qa!;

  it('blocks a second failing upload: 1.0-2 regressed from the 1.0-1 testing holds and stayed out; 1.0-3 fails alike', () => {
    const jobs = ran([...version('1.0-1', pass), ...version('1.0-2', fail()), ...version('1.0-3', fail())]);
    // The trend shown is against the previous version checked in unstable, which never got into testing ...
    expect(stored(jobs)).toMatchObject({ trend: 'still-failing', comparedWith: '1.0-2' });
    // ... the gate is against testing's.
    expect(newest(jobs)).toMatchObject({ replaces: '1.0-1', migrates: false, reasons: ['autopkgtest regressed on amd64 (against 1.0-1): 1 of 2 test(s) failed: smoke'] });
  });

  it('blocks it alike under lintian and piuparts', () => {
    const lintianFail: Partial<QaResult> = { verdict: 'fail', counts: { error: 1 }, summary: '1 error tag(s): dir-or-file-in-opt', findings: [{ severity: 'E', package: 'foo', tag: 'dir-or-file-in-opt' }] };
    const piupartsFail: Partial<QaResult> = { verdict: 'fail', summary: '1 file(s) left after purge: /etc/foo', findings: [{ severity: 'E', tag: 'left after purge', context: '/etc/foo' }] };
    for (const [kind, failing] of [['lintian', lintianFail], ['piuparts', piupartsFail]] as const) {
      const jobs = ran([...version('1.0-1', {}, kind), ...version('1.0-2', failing, kind), ...version('1.0-3', failing, kind)]);
      expect(stored(jobs, kind).trend).toBe('still-failing');
      const d = decide({ from: unstable([source('foo', '1.0-3')], []), to: testing, uploads, jobs, target: target({ afterDays: 0, require: { [kind]: 'no-regression' } }) })[0];
      expect(d).toMatchObject({ migrates: false, reasons: [`${kind} regressed on amd64 (against 1.0-1): ${failing.summary}`] });
    }
  });

  it('lets a fixed version through', () => {
    const jobs = ran([...version('1.0-1', pass), ...version('1.0-2', fail()), ...version('1.0-3', pass)]);
    expect(stored(jobs)).toMatchObject({ trend: 'fixed', comparedWith: '1.0-2' });
    expect(newest(jobs)).toMatchObject({ migrates: true, reasons: [] });
  });

  it('judges failures by what testing has: the same failing test passes the gate, another failing test is a regression', () => {
    // 1.0-2 passed in unstable but stayed out (its piuparts failed): not what 1.0-3 is judged against.
    const held = version('1.0-2', pass).map((j) => (j.kind === 'piuparts' ? { ...j, qa: { ...j.qa!, verdict: 'fail' as const } } : j));
    const same = ran([...version('1.0-1', fail()), ...held, ...version('1.0-3', fail())]);
    expect(stored(same)).toMatchObject({ trend: 'regression', comparedWith: '1.0-2' });
    expect(newest(same)).toMatchObject({ migrates: true, reasons: [] });
    const another = ran([...version('1.0-1', fail()), ...held, ...version('1.0-3', fail('other'))]);
    expect(newest(another)).toMatchObject({ migrates: false, reasons: ['autopkgtest regressed on amd64 (against 1.0-1): 1 of 2 test(s) failed: other'] });
  });

  it('has nothing to regress from for a new source, though an earlier version passed in unstable', () => {
    const empty = emptyContents('testing');
    const jobs = ran([...version('1.0-2', pass, 'autopkgtest', empty), ...version('1.0-3', fail(), 'autopkgtest', empty)]);
    expect(stored(jobs)).toMatchObject({ trend: 'regression', comparedWith: '1.0-2' });
    expect(newest(jobs, empty)).toMatchObject({ migrates: true, reasons: [] });
  });

  it('has nothing to regress from when testing\'s version has no result of the check', () => {
    // 1.0-1 was never tested (the check was switched on after it); 1.0-2 passed in unstable and stayed out (piuparts).
    const held = version('1.0-2', pass).map((j) => (j.kind === 'piuparts' ? { ...j, qa: { ...j.qa!, verdict: 'fail' as const } } : j));
    const jobs = ran([...version('1.0-1', undefined), ...held, ...version('1.0-3', fail())]);
    expect(stored(jobs)).toMatchObject({ trend: 'regression', comparedWith: '1.0-2' });
    expect(newest(jobs)).toMatchObject({ migrates: true, reasons: [] });
    // Nor when testing's version has no upload record (imported, or copied in from where it was): no result is known.
    const imported = { ...testing, sources: [{ ...source('foo', '1.0-1'), uploadId: undefined }] };
    expect(newest(ran([...version('1.0-2', pass, 'autopkgtest', imported), ...version('1.0-3', fail(), 'autopkgtest', imported)]), imported)).toMatchObject({ migrates: true, reasons: [] });
  });
});

describe('installability in the target', () => {
  const from = unstable([source('app', '1.0-1')], []);
  const uploads = [upload('app', '1.0-1', 5)];
  const gated = [job('app', '1.0-1'), check('app', '1.0-1', 'lintian', {}), check('app', '1.0-1', 'piuparts', {})];
  const withFoo = { ...emptyContents('testing'), binaries: [binary('libfoo2', 'foo', '2.0-1')] };
  const d = (jobs: JobRecord[], to?: SuiteContents) => decide({ from, uploads, jobs: [...gated, ...jobs], to })[0];

  it('is asked of apt once the rest holds, for each build the target needs, and not before', () => {
    expect(d([])).toMatchObject({ migrates: false, reasons: ['installability in testing on amd64: to be checked'], checkInstallability: ['app_1.0-1-amd64'] });
    const young = decide({ from, uploads: [upload('app', '1.0-1', 1)], jobs: gated })[0];
    expect(young.reasons).toEqual(['1 of 2 days']);
    expect(young.checkInstallability).toBeUndefined();
  });

  it('waits while it runs; migrates when it passed for the target as it is; names what apt found unmet', () => {
    expect(d([installs('app', '1.0-1', null)])).toMatchObject({ reasons: ['installability in testing on amd64: being checked'] });
    expect(d([installs('app', '1.0-1')])).toMatchObject({ migrates: true, reasons: [] });
    expect(d([installs('app', '1.0-1', { verdict: 'fail', summary: 'app depends libfoo2 (>= 2.0) but it is not installable' })])).toMatchObject({
      migrates: false, reasons: ['not installable in testing on amd64: app depends libfoo2 (>= 2.0) but it is not installable'],
    });
    expect(d([installs('app', '1.0-1', { verdict: 'tmpfail' })]).reasons).toEqual(['installability in testing on amd64: the testbed failed (tmpfail)']);
    expect(d([installs('app', '1.0-1', null, EMPTY, { state: 'failed', reason: 'apt-get failed (exit 100)' })]).reasons).toEqual(['installability in testing on amd64 could not be checked: apt-get failed (exit 100)']);
  });

  it('is asked again once the target changed, not while a check of the old target still runs', () => {
    const failed = installs('app', '1.0-1', { verdict: 'fail', summary: 'unmet' });
    expect(d([failed], withFoo)).toMatchObject({ reasons: ['installability in testing on amd64: to be checked'], checkInstallability: ['app_1.0-1-amd64'] });
    expect(d([installs('app', '1.0-1', null, EMPTY, { state: 'building' })], withFoo)).toMatchObject({ reasons: ['installability in testing on amd64: being checked'] });
    expect(d([installs('app', '1.0-1', {}, targetDigest(withFoo))], withFoo)).toMatchObject({ migrates: true });
    expect(targetDigest(withFoo)).not.toBe(EMPTY);
    expect(targetDigest({ ...withFoo, binaries: [...withFoo.binaries].reverse() })).toBe(targetDigest(withFoo));
  });
});
