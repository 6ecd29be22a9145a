// The rebuild's pure parts: what it varies, how it compares, what a reproducible verdict signs.
import { describe, expect, it } from 'vitest';
import { buildContainerSpec, DEFAULT_LIMITS } from './build.js';
import { compareRebuild, diffoscopeScript, rebuildContainerSpec, rebuildScript, reproducibleStatement, REBUILD_PATH, VARIATIONS } from './rebuild.js';

describe('a rebuild', () => {
  const first = buildContainerSpec('archive/deps:k', 'hello_1.0-1.dsc', '-b', DEFAULT_LIMITS, { l: 'v' });

  it('runs in the first build\'s image and confinement, varying user, host, home, timezone, CPUs, environment and PATH', () => {
    const spec = rebuildContainerSpec(first, 'hello_1.0-1.dsc', '-b');
    expect(spec).toMatchObject({ image: 'archive/deps:k', network: 'none', capDrop: ['ALL'], noNewPrivileges: true, readOnlyRoot: true, labels: { l: 'v' } });
    expect(spec.user).toBe('2001:2001');
    expect(spec.user).not.toBe(first.user);
    expect([spec.hostname, spec.domainname]).toEqual(['aib-rebuild', 'example.invalid']);
    expect(spec.cpus).toBe(1);
    expect(spec.env).toEqual(expect.arrayContaining(['HOME=/nonexistent/aib-rebuild', 'DEB_BUILD_OPTIONS=parallel=1', 'TZ=UTC-14', 'AIB_REBUILD_CAPTURE=the-environment', 'LANG=C.UTF-8']));
    expect(spec.env.filter((e) => e.startsWith('HOME='))).toHaveLength(1);
    expect(spec.volume).toBeUndefined();
    expect(spec.tmpfs?.['/build']).toMatch(/uid=2001,gid=2001/);
    expect(spec.tmpfs?.['/tmp']).toBe(first.tmpfs?.['/tmp']);
  });

  it('unpacks the source in another path, with another umask', () => {
    const script = rebuildScript('hello_1.0-1.dsc', '-B');
    expect(script).toContain('umask 0002');
    expect(script).toContain(`cd ${REBUILD_PATH}\ndpkg-buildpackage -us -uc -B`);
    expect(REBUILD_PATH).not.toBe('/build/src');
    expect(VARIATIONS.map((v) => v.name)).toEqual(expect.arrayContaining(['build path', 'umask', 'timezone', 'user and uid', 'hostname and domain name']));
  });
});

describe('comparing the rebuild', () => {
  const deb = (name: string, sha256: string) => ({ name, sha256 });
  it('is reproducible when every package has the same bytes; .buildinfo and .changes are not compared', () => {
    expect(compareRebuild([deb('a_1_amd64.deb', 'x'), deb('a_1_amd64.buildinfo', 'b1')], [deb('a_1_amd64.deb', 'x'), deb('a_1_amd64.buildinfo', 'b2')])).toEqual({
      verdict: 'reproducible', differing: [], onlyFirst: [], onlyRebuild: [],
    });
  });

  it('names the packages that differ and those only one build made', () => {
    expect(compareRebuild([deb('a.deb', 'x'), deb('b.deb', 'y'), deb('c.udeb', 'z')], [deb('a.deb', 'x'), deb('b.deb', 'Y'), deb('d.deb', 'w')])).toEqual({
      verdict: 'unreproducible', differing: ['b.deb'], onlyFirst: ['c.udeb'], onlyRebuild: ['d.deb'],
    });
  });

  it('is never reproducible with nothing to compare', () => {
    expect(compareRebuild([], []).verdict).toBe('unreproducible');
  });
});

describe('the signed statement', () => {
  it('holds the .buildinfo\'s and the packages\' hashes, sorted, the same for the same input', () => {
    const o = { source: 'hello', version: '1.0-1', arch: 'amd64', buildinfo: { name: 'hello_1.0-1_amd64.buildinfo', sha256: 'b' }, packages: [{ name: 'z.deb', sha256: '2' }, { name: 'a.deb', sha256: '1' }], rebuiltAt: '2026-12-01T00:00:00Z', rebuilder: 'w/1' };
    const text = reproducibleStatement(o);
    const doc = JSON.parse(text) as { packages: { name: string }[]; buildinfo: { sha256: string } };
    expect(doc.packages.map((p) => p.name)).toEqual(['a.deb', 'z.deb']);
    expect(doc.buildinfo.sha256).toBe('b');
    expect(reproducibleStatement({ ...o, packages: [...o.packages].reverse() })).toBe(text);
  });
});

describe('diffoscope', () => {
  it('compares each differing package, capped, and exits with the worst status', () => {
    const script = diffoscopeScript(['a_1_amd64.deb', 'b_1_all.deb']);
    expect(script).toContain("diffoscope --no-progress --max-report-size 4194304 --text - 'first/a_1_amd64.deb' 'rebuild/a_1_amd64.deb' >> diffoscope.txt");
    expect(script.match(/diffoscope --no-progress/g)).toHaveLength(2);
    expect(script.trim().endsWith('exit $status')).toBe(true);
  });
});
