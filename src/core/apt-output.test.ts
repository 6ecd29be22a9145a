import { describe, expect, it } from 'vitest';
import { depsKey, isUnsatisfiable, parseSimulation, parseUnmet } from './apt-output.js';

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

  it('keys the cache by the build environment and the exact resolved set', () => {
    const set = parseSimulation(SIMULATED);
    const key = depsKey('sha256:aa', 'amd64', set);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(depsKey('sha256:aa', 'amd64', set)).toBe(key);
    expect(depsKey('sha256:bb', 'amd64', set)).not.toBe(key);
    expect(depsKey('sha256:aa', 'amd64', [...set.slice(0, 2), { name: 'libdebhelper-perl', version: '13.25' }])).not.toBe(key);
  });
});
