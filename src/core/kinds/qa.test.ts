// The QA checks' pure parts: their reports as a worker may send them, the trend against earlier
// versions, which checks are made for which builds, and what each check reads.
import { describe, expect, it } from 'vitest';
import type { SuiteConfig } from '../../config/config.js';
import type { JobRecord } from '../jobs.js';
import { canRun, parseKindReport } from '../work-kinds.js';
import { blhcResult } from './blhc.js';
import { lintianResult, lintianScript } from './lintian.js';
import { checkContainerSpec, toolsImage } from './qa-flow.js';
import type { ContainerRunner, ContainerSpec } from '../container-runner.js';
import { DEFAULT_LIMITS } from './build.js';
import { MAX_FINDINGS, checkInputs, earlierResults, parseQaReport, plannedChecks, previousBuilds, qaLine, qaToolsKey, qaTrend, qaView, siblingBuilds, toolsFor, type QaResult } from './qa.js';

// What Debian's lintian printed for a package without copyright or changelog, and its source.
const LINTIAN_OUT = `Lintian v2.116.3+deb12u1
E: aib-fixture: no-changelog usr/share/doc/aib-fixture/changelog.Debian.gz (non-native package)
E: aib-fixture: no-copyright-file
W: aib-fixture: empty-binary-package
W: aib-hello source: newer-standards-version 4.7.0 (current is 4.6.2)
I: aib-hello source: debian-watch-file-is-missing
P: aib-hello source: no-homepage-field
X: aib-hello source: upstream-metadata-file-is-missing
O: aib-hello source: some-overridden-tag [debian/rules]
`;
// What blhc printed for a compiler line without dpkg-buildflags' flags.
const BLHC_OUT = `blhc 0.13  Copyright (C) 2012-2021  Simon Ruderich
2:CFLAGS missing (-fstack-protector-strong -Wformat -Werror=format-security): gcc -g -O2 -o hello hello.c
2:CPPFLAGS missing (-D_FORTIFY_SOURCE=2): gcc -g -O2 -o hello hello.c
7:NONVERBOSE BUILD: CC hello.c
`;

const result = (verdict: QaResult['verdict'], tags: string[] = []): QaResult => ({
  verdict, tool: 'lintian 2.122.0', seconds: 3, counts: {}, summary: '',
  findings: tags.map((t) => ({ severity: t[0], tag: t.slice(3) })),
});

const build = (over: Partial<JobRecord> = {}): JobRecord => ({
  id: 'u1-amd64', kind: 'build', uploadId: 'u1', source: 'hello', version: '1.0-1', suite: 'unstable', base: 'trixie', arch: 'amd64', buildArg: '-b',
  state: 'built', attempts: 1, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
  binaries: [{ path: 'pool/main/h/hello/hello_1.0-1_amd64.deb', size: 10, md5: 'm', sha1: 's', sha256: 'a'.repeat(64), control: [] }],
  artifacts: ['pool/main/h/hello/hello_1.0-1_amd64.buildinfo', 'pool/main/h/hello/hello_1.0-1_amd64.changes'],
  log: 'logs/hello_1.0-1_amd64.1.log',
  ...over,
});

const suite = (qa: SuiteConfig['qa']): SuiteConfig => ({ name: 'unstable', base: 'trixie', components: ['main'], architectures: ['amd64'], aliases: [], qa, rebuilds: false });

describe('lintian output', () => {
  it("runs on the .dsc and .changes with every level shown, failing on an error, not judging this archive's suite names", () => {
    const script = lintianScript('a_1.dsc', 'a_1_amd64.changes');
    expect(script).toContain('--fail-on error --suppress-tags bad-distribution-in-changes-file -- ./\'a_1.dsc\' ./\'a_1_amd64.changes\'');
    expect(script).toMatch(/--pedantic --display-info --display-experimental --show-overrides/);
  });

  it('counts tags by severity, keeps each with its package and context, and fails on an error tag (exit 2)', () => {
    const r = lintianResult(LINTIAN_OUT, 2, 4.5)!;
    expect(r).toMatchObject({ verdict: 'fail', tool: 'lintian 2.116.3+deb12u1', seconds: 4.5, summary: '2 error tag(s): no-changelog, no-copyright-file' });
    expect(r.counts).toEqual({ error: 2, warning: 2, info: 1, pedantic: 1, experimental: 1, overridden: 1 });
    expect(r.findings[0]).toEqual({ severity: 'E', package: 'aib-fixture', tag: 'no-changelog', context: 'usr/share/doc/aib-fixture/changelog.Debian.gz (non-native package)' });
    expect(r.findings[3]).toEqual({ severity: 'W', package: 'aib-hello source', tag: 'newer-standards-version', context: '4.7.0 (current is 4.6.2)' });
  });

  it('passes with warnings only (exit 0), and gives no verdict when lintian itself failed or the output does not match its status', () => {
    const warnings = LINTIAN_OUT.split('\n').filter((l) => !l.startsWith('E:')).join('\n');
    expect(lintianResult(warnings, 0, 1)).toMatchObject({ verdict: 'pass', summary: '2 warning, 1 info, 1 pedantic, 1 experimental, 1 overridden' });
    expect(lintianResult('Lintian v2.116.3\n', 0, 1)).toMatchObject({ verdict: 'pass', summary: 'no tags', counts: {} });
    expect(lintianResult('Lintian v2.116.3\nE: cannot unpack\n', 1, 1)).toBeUndefined();
    expect(lintianResult(warnings, 2, 1)).toBeUndefined();
    expect(lintianResult(LINTIAN_OUT, 0, 1)).toBeUndefined();
  });

  it('fails on exit 2 when its error tags came after the part of a long output that was read', () => {
    const long = `Lintian v2\n${'W: p: some-tag x\n'.repeat(3)}`;
    expect(lintianResult(long, 2, 1, true)).toMatchObject({ verdict: 'fail', summary: 'error tag(s) past the first 8 MiB of its output; see the log' });
    expect(lintianResult(long, 2, 1, false)).toBeUndefined();
  });

  it('keeps at most MAX_FINDINGS of a flood of tags, and counts them all', () => {
    const flood = `Lintian v2\n${'W: p: some-tag x\n'.repeat(MAX_FINDINGS + 20)}`;
    const r = lintianResult(flood, 0, 1)!;
    expect(r.findings).toHaveLength(MAX_FINDINGS);
    expect(r.counts.warning).toBe(MAX_FINDINGS + 20);
  });
});

describe('blhc output', () => {
  it('fails on missing flags (8) or hidden compiler lines (4), naming each flag set and the line', () => {
    const r = blhcResult(BLHC_OUT, 12, 0.3)!;
    expect(r).toMatchObject({ verdict: 'fail', tool: 'blhc 0.13', counts: { 'missing flags': 2, 'hidden compiler lines': 1 } });
    expect(r.summary).toBe('CFLAGS missing (-fstack-protector-strong -Wformat -Werror=format-security); CPPFLAGS missing (-D_FORTIFY_SOURCE=2); 1 compiler line(s) hidden (a non-verbose build)');
    expect(r.findings[0]).toEqual({ severity: 'W', tag: 'CFLAGS missing (-fstack-protector-strong -Wformat -Werror=format-security)', context: 'line 2: gcc -g -O2 -o hello hello.c' });
  });

  it('passes at 0, is neutral with no compiler commands (1), a hardening wrapper (16) or an old CMake (32), and gives no verdict on its own error (2)', () => {
    expect(blhcResult('blhc 0.13\n', 0, 1)).toMatchObject({ verdict: 'pass' });
    expect(blhcResult('blhc 0.13\nNo compiler commands!\n', 1, 1)).toMatchObject({ verdict: 'neutral', summary: 'no compiler commands in the log' });
    expect(blhcResult('', 16, 1)).toMatchObject({ verdict: 'neutral', summary: 'hardening-wrapper intercepts the compiler: nothing to check' });
    expect(blhcResult('', 33, 1)).toMatchObject({ verdict: 'neutral' });
    expect(blhcResult('', 2, 1)).toBeUndefined();
    expect(blhcResult('', 137, 1)).toBeUndefined();
  });
});

describe('a QA report from a worker', () => {
  const checked = { outcome: 'checked', verdict: 'fail', tool: 'lintian 2', seconds: 2, counts: { error: 1 }, findings: [{ severity: 'E', tag: 'x', context: 'c' }], summary: 's' };

  it('is taken when well formed, each text capped', () => {
    expect(parseKindReport('lintian', checked)).toEqual({ kind: 'lintian', report: checked });
    const long = parseQaReport({ ...checked, findings: [{ severity: 'Error', tag: 't'.repeat(500), context: 'c'.repeat(5000) }] }) as { findings: { severity: string; tag: string; context: string }[] };
    expect(long.findings[0].severity).toBe('E');
    expect(long.findings[0].tag).toHaveLength(200);
    expect(long.findings[0].context).toHaveLength(400);
  });

  it.each([
    [{ ...checked, verdict: 'great' }, /verdict must be pass, fail, neutral or tmpfail/],
    [{ ...checked, seconds: -1 }, /seconds a number/],
    [{ ...checked, counts: { error: 1.5 } }, /counts must map severities to whole numbers/],
    [{ ...checked, counts: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`s${i}`, 1])) }, /more than 20 severities/],
    [{ ...checked, findings: Array.from({ length: MAX_FINDINGS + 1 }, () => ({ severity: 'W', tag: 't' })) }, /findings must be a list of at most 500/],
    [{ ...checked, findings: [{ tag: 't' }] }, /each finding needs a severity and a tag/],
    [{ ...checked, outcome: 'built' }, /unknown outcome built/],
  ])('is refused when it is not: %#', (report, message) => {
    expect((parseQaReport(report as Record<string, unknown>) as { error: string }).error).toMatch(message);
  });

  it('of a check that could not run, or given back, keeps its reason', () => {
    expect(parseQaReport({ outcome: 'failed', reason: 'x'.repeat(10_000) })).toEqual({ outcome: 'failed', reason: 'x'.repeat(4000) });
    expect(parseQaReport({ outcome: 'give-back' })).toEqual({ outcome: 'give-back', reason: 'worker problem' });
  });
});

describe('the trend against earlier versions', () => {
  const v = (version: string, r: QaResult) => ({ version, result: r });

  it('a first failure never passed; a failure after a pass is a regression; a pass after a failure is fixed', () => {
    expect(qaTrend(result('fail', ['E: a']), [])).toEqual({ trend: 'never-passed' });
    expect(qaTrend(result('fail', ['E: a']), [v('1.0-1', result('pass'))])).toEqual({ trend: 'regression', comparedWith: '1.0-1', newFindings: ['E: a'] });
    expect(qaTrend(result('pass', ['W: w']), [v('1.0-1', result('fail', ['E: a', 'W: w']))])).toEqual({ trend: 'fixed', comparedWith: '1.0-1' });
    expect(qaTrend(result('pass'), [v('1.0-1', result('pass'))])).toEqual({ comparedWith: '1.0-1' });
  });

  it('a failure with the same errors as before is still failing (or never passed); a new error is a regression; a new warning is only listed', () => {
    const earlier = [v('1.0-2', result('fail', ['E: a'])), v('1.0-1', result('pass'))];
    expect(qaTrend(result('fail', ['E: a', 'W: new']), earlier)).toEqual({ trend: 'still-failing', comparedWith: '1.0-2', newFindings: ['W: new'] });
    expect(qaTrend(result('fail', ['E: a']), [earlier[0]])).toEqual({ trend: 'never-passed', comparedWith: '1.0-2' });
    expect(qaTrend(result('fail', ['E: a', 'E: b']), earlier)).toEqual({ trend: 'regression', comparedWith: '1.0-2', newFindings: ['E: b'] });
  });

  it('a package file that differs where it did not before is a new error, whatever its version: a rebuild\'s regression', () => {
    const differs = (file: string): QaResult => ({ ...result('fail'), findings: [{ severity: 'E', package: file, tag: 'differs' }] });
    const earlier = [v('1.0-1', differs('hello-doc_1.0-1_all.deb'))];
    expect(qaTrend(differs('hello_1.0-2_amd64.deb'), earlier)).toEqual({ trend: 'regression', comparedWith: '1.0-1', newFindings: ['E: differs hello_amd64.deb'] });
    expect(qaTrend(differs('hello-doc_1.0-2_all.deb'), earlier)).toEqual({ trend: 'never-passed', comparedWith: '1.0-1' });
  });

  it('neutral and tmpfail verdicts neither have a trend nor count as the previous version', () => {
    expect(qaTrend(result('neutral'), [v('1.0-1', result('fail'))])).toEqual({ comparedWith: '1.0-1' });
    expect(qaTrend(result('fail', ['E: a']), [v('1.0-2', result('neutral')), v('1.0-1', result('pass'))])).toMatchObject({ trend: 'regression', comparedWith: '1.0-1' });
  });

  it('are those of the same check, suite, source and architecture, older versions only, newest first', () => {
    const check = (over: Partial<JobRecord>) => ({ ...build(), kind: 'lintian' as const, of: 'x', qa: result('pass'), ...over });
    const jobs = [
      check({ id: 'a', version: '1.0-1' }), check({ id: 'b', version: '1.0-3' }), check({ id: 'c', version: '1.0-2' }),
      check({ id: 'd', version: '1.0-1', arch: 'arm64' }), check({ id: 'e', version: '1.0-1', suite: 'other' }), check({ id: 'f', version: '1.0-1', kind: 'blhc' }),
      check({ id: 'g', version: '1.0-1', qa: undefined }),
    ];
    expect(earlierResults(check({ version: '1.0-3' }), jobs).map((e) => e.version)).toEqual(['1.0-2', '1.0-1']);
  });
});

describe('which checks are made', () => {
  it('each check a suite lists, once per built build, after it; blhc not for an arch:all-only build', () => {
    const at = '2026-02-01T00:00:00Z';
    const jobs = [build(), build({ id: 'u1-all', arch: 'amd64', buildArg: '-A' }), build({ id: 'u2-amd64', state: 'building' }), build({ id: 'u3-amd64', suite: 'nocheck' })];
    const made = plannedChecks([suite(['lintian', 'blhc']), { ...suite([]), name: 'nocheck' }], jobs, () => true, at);
    expect(made.map((j) => j.id)).toEqual(['u1-amd64-lintian', 'u1-amd64-blhc', 'u1-all-lintian']);
    expect(made[0]).toEqual({
      id: 'u1-amd64-lintian', kind: 'lintian', of: 'u1-amd64', uploadId: 'u1', source: 'hello', version: '1.0-1', suite: 'unstable', base: 'trixie', arch: 'amd64', buildArg: '-b',
      state: 'needs-build', attempts: 0, createdAt: at, updatedAt: at, binaries: [], artifacts: [],
    });
    // Checks switched on later: the newest build of each source on each architecture only.
    const older = build({ id: 'u0-amd64', uploadId: 'u0', version: '0.9-1' });
    expect(plannedChecks([suite(['lintian'])], [older, build()], () => true, at).map((j) => j.id)).toEqual(['u1-amd64-lintian']);
    // Made once: a check that exists, in any state, is not made again.
    expect(plannedChecks([suite(['lintian', 'blhc'])], [...jobs, ...made.map((j) => ({ ...j, state: 'failed' as const }))], () => true, at)).toEqual([]);
  });

  it('autopkgtest only where the source declares a test suite, once per architecture', () => {
    const at = '2026-02-01T00:00:00Z';
    const tests = (id: string) => id === 'u1';
    const alone = build({ id: 'u2-amd64', uploadId: 'u2', source: 'data', buildArg: '-A' });
    const jobs = [build(), build({ id: 'u1-all', buildArg: '-A' }), build({ id: 'u1-arm64', arch: 'arm64', buildArg: '-B' }), alone, build({ id: 'u3-amd64', uploadId: 'u3', source: 'other' })];
    expect(plannedChecks([suite(['autopkgtest'])], jobs, tests, at).map((j) => j.id)).toEqual(['u1-amd64-autopkgtest', 'u1-arm64-autopkgtest']);
    expect(plannedChecks([suite(['autopkgtest'])], [alone], () => true, at).map((j) => j.id)).toEqual(['u2-amd64-autopkgtest']);
  });

  it('installs its tools once per build environment: lintian and blhc together, autopkgtest apart, none for piuparts', () => {
    expect([toolsFor('lintian'), toolsFor('blhc'), toolsFor('autopkgtest'), toolsFor('piuparts')]).toEqual([['lintian', 'blhc'], ['lintian', 'blhc'], ['autopkgtest'], []]);
    expect(qaToolsKey('sha256:a', ['lintian', 'blhc'])).toBe(qaToolsKey('sha256:a', toolsFor('blhc')));
    expect(qaToolsKey('sha256:a', ['autopkgtest'])).not.toBe(qaToolsKey('sha256:a', ['lintian', 'blhc']));
    expect(qaToolsKey('sha256:b', ['autopkgtest'])).not.toBe(qaToolsKey('sha256:a', ['autopkgtest']));
  });

  it('reads the source, the packages, .buildinfo, .changes and the log of the build it checks', () => {
    const upload = { sourceFiles: [{ name: 'hello_1.0-1.dsc', path: 'pool/main/h/hello/hello_1.0-1.dsc', size: 5, sha256: 'b'.repeat(64), md5: '', sha1: '' }] };
    expect(checkInputs(upload, build())).toEqual([
      { name: 'hello_1.0-1.dsc', path: 'pool/main/h/hello/hello_1.0-1.dsc', size: 5, sha256: 'b'.repeat(64) },
      { name: 'hello_1.0-1_amd64.deb', path: 'pool/main/h/hello/hello_1.0-1_amd64.deb', size: 10, sha256: 'a'.repeat(64) },
      { name: 'hello_1.0-1_amd64.buildinfo', path: 'pool/main/h/hello/hello_1.0-1_amd64.buildinfo' },
      { name: 'hello_1.0-1_amd64.changes', path: 'pool/main/h/hello/hello_1.0-1_amd64.changes' },
      { name: 'build.log', path: 'logs/hello_1.0-1_amd64.1.log' },
    ]);
  });

  it("also reads the arch:all packages of its upload's other builds, and for piuparts the previous version's packages for its architecture", () => {
    const deb = (name: string, arch: string, version = '1.0-1') => ({ path: `pool/main/h/hello/${name}_${version}_${arch}.deb`, size: 1, md5: '', sha1: '', sha256: 'c'.repeat(64), control: [['Package', name], ['Architecture', arch]] as [string, string][] });
    const arm = build({ id: 'u1-arm64', arch: 'arm64', buildArg: '-B', binaries: [deb('hello', 'arm64')], artifacts: [], log: undefined });
    const indep = build({ id: 'u1-amd64', binaries: [deb('hello', 'amd64'), deb('hello-data', 'all')] });
    const old = [build({ id: 'u0-amd64', uploadId: 'u0', version: '0.9-1', binaries: [deb('hello', 'amd64', '0.9-1'), deb('hello-data', 'all', '0.9-1')] }), build({ id: 'u0-arm64', uploadId: 'u0', version: '0.9-1', arch: 'arm64', buildArg: '-B', binaries: [deb('hello', 'arm64', '0.9-1')] })];
    const jobs = [arm, indep, ...old, build({ id: 'u2-arm64', uploadId: 'u2', version: '2.0-1', arch: 'arm64' })];
    expect(siblingBuilds(arm, jobs).map((j) => j.id)).toEqual(['u1-amd64']);
    expect(previousBuilds(arm, jobs).map((j) => j.id)).toEqual(['u0-amd64', 'u0-arm64']);
    expect(previousBuilds(old[1], jobs)).toEqual([]);
    expect(checkInputs({ sourceFiles: [] }, arm, siblingBuilds(arm, jobs), previousBuilds(arm, jobs)).map((f) => f.name)).toEqual([
      'hello_1.0-1_arm64.deb', 'hello-data_1.0-1_all.deb', 'prev~hello-data_0.9-1_all.deb', 'prev~hello_0.9-1_arm64.deb',
    ]);
  });

  it('runs on any worker with a native architecture, whatever the build checked was built on', () => {
    const job = { kind: 'lintian' as const, arch: 'arm64' };
    expect(canRun({ kinds: ['build', 'lintian'], architectures: ['amd64'] }, job)).toBe(true);
    expect(canRun({}, job)).toBe(true);
    expect(canRun({ kinds: ['build'], architectures: ['amd64'] }, job)).toBe(false);
    expect(canRun({ architectures: ['arm64'], emulated: ['arm64'] }, job)).toBe(false);
    expect(canRun({ architectures: ['amd64'] }, { kind: 'build', arch: 'arm64' })).toBe(false);
  });

  it('runs in a container with no network, no capability, as the unprivileged user, on a read-only root', () => {
    expect(checkContainerSpec('img', 'lintian x', DEFAULT_LIMITS, { l: 'v' })).toMatchObject({
      image: 'img', cmd: ['bash', '-c', 'lintian x'], user: 'builder', network: 'none', capDrop: ['ALL'], noNewPrivileges: true, readOnlyRoot: true, volume: '/qa',
      memoryBytes: DEFAULT_LIMITS.memoryBytes, pidsLimit: DEFAULT_LIMITS.pidsLimit,
    });
  });
});

describe('how a check is shown', () => {
  it('by its state until it ran, then by its verdict, trend and what it found', () => {
    const waiting = { ...build(), id: 'u1-amd64-blhc', kind: 'blhc' as const, of: 'u1-amd64', state: 'needs-build' as const, log: undefined };
    expect(qaLine(qaView(waiting))).toBe('blhc amd64: needs-build');
    const done = { ...waiting, state: 'built' as const, qa: { ...result('fail'), summary: 'CFLAGS missing (-x)', trend: 'regression' as const, comparedWith: '1.0-0', newFindings: ['W: CFLAGS missing (-x)'] } };
    expect(qaView(done)).toMatchObject({ state: 'done', verdict: 'fail', trend: 'regression' });
    expect(qaView(done).findings).toBeUndefined();
    expect(qaView(done, true).findings).toEqual([]);
    expect(qaLine(qaView(done))).toBe('blhc amd64: fail, regression (against 1.0-0): CFLAGS missing (-x); new: W: CFLAGS missing (-x)');
  });
});

describe('the QA tools image', () => {
  it('is installed in a container made from the build environment\'s image id its key holds, not its name (a refresh may retag the name meanwhile)', async () => {
    const specs: ContainerSpec[] = [];
    const runner: ContainerRunner = {
      imageId: async () => 'sha256:buildenv',
      create: async (spec) => {
        specs.push(spec);
        throw new Error('no engine here');
      },
      depsCache: { find: async () => undefined, store: async () => 'sha256:x', evict: async () => undefined },
    };
    await expect(toolsImage(runner, { buildenv: 'archive/buildenv:trixie', onLog: () => undefined }, ['lintian'], DEFAULT_LIMITS, {}, [])).rejects.toThrow('no engine here');
    expect(specs.map((s) => s.image)).toEqual(['sha256:buildenv']);
  });
});
