// The rebuild's pure parts: what it varies, how it compares, what a reproducible verdict signs,
// which rebuilds are made, and how a worker's report is read.
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../jobs.js';
import { buildContainerSpec, DEFAULT_LIMITS } from './build.js';
import {
  compareRebuild, diffoscopeScript, firstDifferences, parseRebuildReport, plannedRebuilds, rebuildBuildinfo, rebuildContainerSpec, rebuildInputs, rebuildOf, rebuildResult, rebuildScript,
  reproducibility, reproducibleShares, reproducibleStatement, shareLine, verifyRebuilds, REBUILD_PATH, VARIATIONS,
} from './rebuild.js';

const sha = (c: string) => c.repeat(64);
const build = (o: Partial<JobRecord> = {}): JobRecord => ({
  id: 'u1-amd64', kind: 'build', uploadId: 'u1', source: 'hello', version: '1.0-1', suite: 'unstable', base: 'trixie', arch: 'amd64', buildArg: '-b',
  state: 'built', attempts: 1, createdAt: '2026-12-01T00:00:00Z', updatedAt: '2026-12-01T00:00:00Z', worker: 'w/1', depsKey: 'abc',
  binaries: [{ path: 'pool/main/h/hello/hello_1.0-1_amd64.deb', sha256: sha('a'), size: 1, md5: '', sha1: '', control: [] }],
  artifacts: ['pool/main/h/hello/hello_1.0-1_amd64.buildinfo'],
  ...o,
});

describe('a rebuild', () => {
  const first = buildContainerSpec('archive/deps:k', 'hello_1.0-1.dsc', '-b', DEFAULT_LIMITS, { l: 'v' });

  it('runs in the first build\'s image, confinement and private /build, varying user, host, home, timezone, CPUs, environment and PATH', () => {
    const spec = rebuildContainerSpec(first, 'hello_1.0-1.dsc', '-b');
    expect(spec).toMatchObject({ image: 'archive/deps:k', network: 'none', capDrop: ['ALL'], noNewPrivileges: true, readOnlyRoot: true, labels: { l: 'v' }, volume: '/build' });
    expect(spec.user).toBe('2001:2001');
    expect(spec.user).not.toBe(first.user);
    expect([spec.hostname, spec.domainname]).toEqual(['aib-rebuild', 'example.invalid']);
    expect(spec.cpus).toBe(1);
    expect(spec.env).toEqual(expect.arrayContaining(['HOME=/nonexistent/aib-rebuild', 'DEB_BUILD_OPTIONS=parallel=1', 'TZ=UTC-14', 'AIB_REBUILD_CAPTURE=the-environment', 'LANG=C.UTF-8']));
    expect(spec.env.filter((e) => e.startsWith('HOME='))).toHaveLength(1);
    expect(spec.tmpfs).toEqual(first.tmpfs);
  });

  it('unpacks the source in another path, with another umask', () => {
    const script = rebuildScript('hello_1.0-1.dsc', '-B');
    expect(script).toContain('umask 0002');
    expect(script).toContain(`cd ${REBUILD_PATH}\ndpkg-buildpackage -us -uc '-B'`);
    expect(REBUILD_PATH).not.toBe('/build/src');
    expect(VARIATIONS.map((v) => v.name)).toEqual(expect.arrayContaining(['build path', 'umask', 'timezone', 'user and uid', 'hostname and domain name']));
  });

  it('reads the source and the first build\'s packages, nothing else of it', () => {
    const inputs = rebuildInputs({ sourceFiles: [{ name: 'hello_1.0-1.dsc', path: 'pool/main/h/hello/hello_1.0-1.dsc' }] }, build());
    expect(inputs.map((f) => f.name)).toEqual(['hello_1.0-1.dsc', 'hello_1.0-1_amd64.deb']);
  });

  it('hands in only the .buildinfo dpkg-buildpackage names after the job, whatever others the build left beside it', () => {
    // The build controls its output folder: two more .buildinfo there would take the queue past
    // its three files of a rebuild, and the job would be refused.
    const left = ['hello_1.0-1_amd64.deb', 'hello_1.0-1_amd64.changes', 'extra.buildinfo', 'hello_1.0-1_arm64.buildinfo', 'hello_1.0-1_amd64.buildinfo', 'hello_1.0-2_amd64.buildinfo'];
    const job = { source: 'hello', version: '1.0-1', arch: 'amd64', buildArg: '-B' as const };
    expect(rebuildBuildinfo(left, job)).toEqual(['hello_1.0-1_amd64.buildinfo']);
    // The version without its epoch, as in every file name.
    expect(rebuildBuildinfo(left, { ...job, version: '2:1.0-1' })).toEqual(['hello_1.0-1_amd64.buildinfo']);
    // An arch-indep build's is named for all; one named for the architecture is taken when that is all there is, never both.
    expect(rebuildBuildinfo([...left, 'hello_1.0-1_all.buildinfo'], { ...job, buildArg: '-A' })).toEqual(['hello_1.0-1_all.buildinfo']);
    expect(rebuildBuildinfo(left, { ...job, buildArg: '-A' })).toEqual(['hello_1.0-1_amd64.buildinfo']);
    expect(rebuildBuildinfo(['hello_1.0-1_all.buildinfo'], job)).toEqual([]);
    expect(rebuildBuildinfo(['extra.buildinfo'], job)).toEqual([]);
  });
});

describe('comparing the rebuild', () => {
  const deb = (name: string, sha256: string) => ({ name, sha256 });
  it('is reproducible when every package has the same bytes; .buildinfo and .changes are not compared', () => {
    expect(compareRebuild([deb('a_1_amd64.deb', 'x'), deb('a_1_amd64.buildinfo', 'b1')], [deb('a_1_amd64.deb', 'x'), deb('a_1_amd64.buildinfo', 'b2')])).toEqual({
      reproducible: true, differing: [], onlyFirst: [], onlyRebuild: [],
    });
  });

  it('names the packages that differ and those only one build made', () => {
    expect(compareRebuild([deb('a.deb', 'x'), deb('b.deb', 'y'), deb('c.udeb', 'z')], [deb('a.deb', 'x'), deb('b.deb', 'Y'), deb('d.deb', 'w')])).toEqual({
      reproducible: false, differing: ['b.deb'], onlyFirst: ['c.udeb'], onlyRebuild: ['d.deb'],
    });
  });

  it('is never reproducible with nothing to compare', () => {
    expect(compareRebuild([], []).reproducible).toBe(false);
  });

  it('decides the verdict on the queue\'s side, from the first build\'s hashes and the ones reported', () => {
    const same = rebuildResult(build(), { outcome: 'rebuilt', packages: [deb('hello_1.0-1_amd64.deb', sha('a'))], depsKey: 'abc', seconds: 3, tool: 'dpkg-buildpackage', differences: [] });
    expect(same).toMatchObject({ verdict: 'pass', counts: {}, summary: 'reproducible: 1 package(s) bit for bit identical' });
    const other = rebuildResult(build(), { outcome: 'rebuilt', packages: [deb('hello_1.0-1_amd64.deb', sha('b'))], depsKey: 'def', seconds: 3, tool: 'dpkg-buildpackage; diffoscope 301', differences: [{ package: 'hello_1.0-1_amd64.deb', context: './usr/bin/hello' }] });
    expect(other).toMatchObject({ verdict: 'fail', counts: { error: 1 }, findings: [{ severity: 'E', package: 'hello_1.0-1_amd64.deb', tag: 'differs', context: './usr/bin/hello' }] });
    expect(other.summary).toMatch(/^unreproducible: hello_1.0-1_amd64.deb differs \(\.\/usr\/bin\/hello\); its build-dependencies were not the first build's \(the archive or the build environment changed since\)$/);
  });
});

describe('a worker\'s rebuild report', () => {
  it('is read when well formed, refused otherwise', () => {
    const good = { outcome: 'rebuilt', packages: [{ name: 'a_1_all.deb', sha256: sha('c') }], seconds: 1, tool: 't', differences: [] };
    expect(parseRebuildReport(good)).toMatchObject({ outcome: 'rebuilt', packages: [{ name: 'a_1_all.deb' }] });
    expect(parseRebuildReport({ ...good, packages: [{ name: '../../etc/passwd', sha256: sha('c') }] })).toHaveProperty('error');
    expect(parseRebuildReport({ ...good, packages: [{ name: 'a.deb', sha256: 'short' }] })).toHaveProperty('error');
    expect(parseRebuildReport({ ...good, packages: Array.from({ length: 1001 }, () => ({ name: 'a.deb', sha256: sha('c') })) })).toHaveProperty('error');
    expect(parseRebuildReport({ ...good, depsKey: 'not hex!' })).toHaveProperty('error');
    expect(parseRebuildReport({ outcome: 'built' })).toHaveProperty('error');
    expect(parseRebuildReport({ outcome: 'failed', reason: 'x'.repeat(5000) })).toMatchObject({ outcome: 'failed', reason: 'x'.repeat(4000) });
  });
});

describe('which rebuilds there are', () => {
  const suites = [{ name: 'unstable', rebuilds: true }, { name: 'stable', rebuilds: false }];
  it('one per newest build in a suite with rebuilds on, of a build that made a package', () => {
    const jobs = [build(), build({ id: 'u0-amd64', uploadId: 'u0', version: '0.9-1' }), build({ id: 's-amd64', suite: 'stable' }), build({ id: 'e-amd64', source: 'empty', binaries: [] })];
    expect(plannedRebuilds(suites, jobs, 'now').map((j) => [j.id, j.kind, j.of, j.state])).toEqual([['u1-amd64-rebuild', 'rebuild', 'u1-amd64', 'needs-build']]);
    expect(plannedRebuilds(suites, [...jobs, ...plannedRebuilds(suites, jobs, 'now')], 'later')).toEqual([]);
  });

  it('archive verify adds another, numbered, unless one is waiting or running', () => {
    const done = { ...plannedRebuilds(suites, [build()], '2026-12-01T01:00:00Z')[0], state: 'built' as const };
    const [again] = verifyRebuilds([build()], [build(), done], 'later');
    expect(again.id).toBe('u1-amd64-rebuild-2');
    expect(verifyRebuilds([build()], [build(), done, again], 'later')).toEqual([]);
    expect(rebuildOf([done, { ...again, createdAt: '2026-12-02T00:00:00Z' }], 'u1-amd64')?.id).toBe('u1-amd64-rebuild-2');
  });

  it('counts each suite\'s and architecture\'s share of reproducible builds', () => {
    const rebuild = (of: JobRecord, qa?: 'pass' | 'fail', state: JobRecord['state'] = 'built'): JobRecord => ({
      ...plannedRebuilds(suites, [of], 'now')[0], state, ...(qa && { qa: { verdict: qa, tool: 't', seconds: 1, counts: {}, findings: [], summary: '' } }),
    });
    const a = build();
    const b = build({ id: 'v1-amd64', uploadId: 'v1', source: 'other' });
    const c = build({ id: 'w1-amd64', uploadId: 'w1', source: 'third' });
    const d = build({ id: 'x1-amd64', uploadId: 'x1', source: 'fourth' });
    const jobs = [a, b, c, d, rebuild(a, 'pass'), rebuild(b, 'fail'), rebuild(c, undefined, 'failed'), rebuild(d, undefined, 'needs-build')];
    expect(jobs.slice(4).map(reproducibility)).toEqual(['reproducible', 'unreproducible', 'failed', undefined]);
    const [share] = reproducibleShares(jobs);
    expect(share).toEqual({ suite: 'unstable', arch: 'amd64', reproducible: 1, unreproducible: 1, failed: 1, waiting: 1, percent: 33 });
    expect(shareLine(share)).toBe('unstable amd64: 33% reproducible (1 of 3); 1 unreproducible, 1 failed, 1 waiting');
  });
});

describe('the signed statement', () => {
  it('holds the .buildinfo\'s and the packages\' hashes, sorted, the same for the same input', () => {
    const o = { source: 'hello', version: '1.0-1', arch: 'amd64', buildinfo: { name: 'hello_1.0-1_amd64.buildinfo', sha256: 'b' }, packages: [{ name: 'z.deb', sha256: '2' }, { name: 'a.deb', sha256: '1' }], rebuiltAt: '2026-12-01T00:00:00Z', builtBy: 'w/1', rebuiltBy: 'w/2' };
    const text = reproducibleStatement(o);
    const doc = JSON.parse(text) as { packages: { name: string }[]; buildinfo: { sha256: string } };
    expect(doc.packages.map((p) => p.name)).toEqual(['a.deb', 'z.deb']);
    expect(doc.buildinfo.sha256).toBe('b');
    expect(reproducibleStatement({ ...o, packages: [...o.packages].reverse() })).toBe(text);
  });
});

describe('diffoscope', () => {
  it('compares the two folders of differing packages, both reports capped', () => {
    const script = diffoscopeScript();
    expect(script).toContain('--exclude-directory-metadata=yes --max-report-size 4194304 --max-text-report-size 4194304 --text /qa/reports/diffoscope.txt --html /qa/reports/diffoscope.html first rebuild');
  });

  it('names the first file inside each differing package', () => {
    // As diffoscope 297 writes it for two folders.
    const report = [
      '--- first', '+++ rebuild',
      '│   --- first/a_1_all.deb', '├── +++ rebuild/a_1_all.deb', '│ ├── control.tar.xz', '│ │ ├── ./md5sums', '│ ├── data.tar.xz', '│ │ ├── data.tar', '│ │ │ ├── file list', '│ │ │ │ @@ -1,6 +1,6 @@',
      '│ │ │ ├── ./usr/share/a/where.txt', '│ │ │ │ @@ -1 +1 @@', '│ │ │ │ -built on x in /build/src',
      '│   --- first/b_1_amd64.deb', '├── +++ rebuild/b_1_amd64.deb', '│ ├── control.tar.xz',
    ].join('\n');
    expect(firstDifferences(report, ['a_1_all.deb', 'b_1_amd64.deb', 'c.deb'])).toEqual([
      { package: 'a_1_all.deb', context: './usr/share/a/where.txt' },
      { package: 'b_1_amd64.deb', context: 'control.tar.xz' },
    ]);
  });
});
