import { describe, expect, it } from 'vitest';
import { depsKey, isUnsatisfiable, parseRemovals, parseShowHashes, parseSimulation, parseUnmet } from './apt-output.js';

// Printed by apt 3.0 in Debian trixie for `apt-get build-dep -s --arch-only t.dsc`.
const UNMET = `Note, using file '/tmp/t.dsc' to get the build dependencies
Reading package lists...
Some packages could not be installed. This may mean that you have
requested an impossible situation or if you are using the unstable
distribution that some required packages have not yet been created
or been moved out of Incoming.
The following information may help to resolve the situation:

The following packages have unmet dependencies:
 builddeps:/tmp/t.dsc : Depends: libnonexistent-dev but it is not installable
                        Depends: libc6 (>= 99) but 2.41-12+deb13u5 is to be installed
E: Unable to correct problems, you have held broken packages.
`;

const SIMULATED = `The following NEW packages will be installed:
  autoconf debhelper
Inst autoconf (2.72-3.1 Debian:13.2/stable [all])
Inst libdebhelper-perl (13.24.2 Debian:13.2/stable [all])
Inst libc6 [2.41-11] (2.41-12 Debian:13.2/stable [amd64])
Conf autoconf (2.72-3.1 Debian:13.2/stable [all])
`;

describe("apt's build-dep output", () => {
  it('gives the unsatisfiable relations, one per line, for dep-wait', () => {
    expect(parseUnmet(UNMET)).toEqual(['libnonexistent-dev but it is not installable', 'libc6 (>= 99) but 2.41-12+deb13u5 is to be installed']);
    expect(isUnsatisfiable(UNMET)).toBe(true);
  });

  it('does not take a download failure for unsatisfiable dependencies', () => {
    expect(isUnsatisfiable('E: Failed to fetch http://example.invalid/pool/a.deb  Connection refused\n')).toBe(false);
  });

  it('reads the packages a simulation would install, sorted, upgrades included', () => {
    expect(parseSimulation(SIMULATED)).toEqual([
      { name: 'autoconf', version: '2.72-3.1' },
      { name: 'libc6', version: '2.41-12' },
      { name: 'libdebhelper-perl', version: '13.24.2' },
    ]);
  });

  it('keys the cache by the build environment, the exact resolved set and its files\' hashes', () => {
    const set = parseSimulation(SIMULATED);
    const hashes = [`libc6=2.41-12 ${'a'.repeat(64)}`];
    const key = depsKey('sha256:aa', 'amd64', set, hashes, []);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(depsKey('sha256:aa', 'amd64', set, hashes, [])).toBe(key);
    expect(depsKey('sha256:bb', 'amd64', set, hashes, [])).not.toBe(key);
    expect(depsKey('sha256:aa', 'amd64', [...set.slice(0, 2), { name: 'libdebhelper-perl', version: '13.25' }], hashes, [])).not.toBe(key);
    // The same names and versions with other content (republished after archive rm, or another archive's).
    expect(depsKey('sha256:aa', 'amd64', set, [`libc6=2.41-12 ${'b'.repeat(64)}`], [])).not.toBe(key);
  });

  it('reads the packages a simulation would remove (Build-Conflicts), sorted', () => {
    const sim = `${SIMULATED}Remv g++ [4:14.2.0-1]\nRemv fakeroot [1.37.1.1-1]\nPurg libfoo1:i386 [1.0-1]\n`;
    expect(parseRemovals(sim)).toEqual(['fakeroot', 'g++', 'libfoo1:i386']);
    expect(parseRemovals(SIMULATED)).toEqual([]);
    // The installs are read as before.
    expect(parseSimulation(sim)).toEqual(parseSimulation(SIMULATED));
  });

  it('keys an install that removes packages apart from the same install removing none, or others', () => {
    // The image is committed after the removals: one with g++ gone is not one with g++ there.
    const set = parseSimulation(SIMULATED);
    const key = depsKey('sha256:aa', 'amd64', set, [], []);
    const conflicts = depsKey('sha256:aa', 'amd64', set, [], ['fakeroot', 'g++']);
    expect(conflicts).toMatch(/^[0-9a-f]{32}$/);
    expect(conflicts).not.toBe(key);
    expect(depsKey('sha256:aa', 'amd64', set, [], ['g++'])).not.toBe(conflicts);
  });

  it('reads each package file\'s SHA256 from apt-cache show, one line per name, version and file', () => {
    const show = [
      'Package: libc6\nVersion: 2.41-12\nArchitecture: amd64\nSHA256: ' + '1'.repeat(64) + '\nDescription: GNU C Library\n two lines\n',
      'Package: aib-lib\nVersion: 1.0-1\nSHA256: ' + '2'.repeat(64) + '\n',
      // The same version from two repositories with other content: both count.
      'Package: aib-lib\nVersion: 1.0-1\nSHA256: ' + '3'.repeat(64) + '\n',
    ].join('\n');
    expect(parseShowHashes(show)).toEqual([`aib-lib=1.0-1 ${'2'.repeat(64)}`, `aib-lib=1.0-1 ${'3'.repeat(64)}`, `libc6=2.41-12 ${'1'.repeat(64)}`]);
  });
});
