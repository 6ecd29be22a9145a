// piuparts' steps as plain data: the names and dependencies read before the packages run, the
// commands of each step, the engine's diff as leftovers, and the verdict.
import { describe, expect, it } from 'vitest';
import { parseSimulation } from '../apt-output.js';
import { MAX_LEFTOVERS_LOGGED, addedPaths, dependenciesOf, leftoversLog, parseNames, piupartsResult, piupartsSteps, unreachable } from './piuparts.js';

describe('piuparts steps', () => {
  it('read the package names of the new and the previous version, refusing anything that is not one', () => {
    expect(parseNames('new hello\nnew hello-data\nold hello\n')).toEqual({ new: ['hello', 'hello-data'], old: ['hello'] });
    expect(parseNames('new hello; rm -rf /\n')).toEqual({ bad: 'new hello; rm -rf /' });
    expect(parseNames('new $(id)\n')).toEqual({ bad: 'new $(id)' });
    expect(parseNames('old hello\n')).toEqual({ bad: 'no package in the build' });
  });

  it('install the dependencies apt resolves first, leaving out the packages under test, and refuse what is no package', () => {
    const sim = 'NOTE: This is only a simulation!\nInst libfoo1 (1.2-1 Debian:trixie [amd64])\nInst hello (1.0-1 local-deb [amd64])\nConf libfoo1 (1.2-1 Debian:trixie [amd64])\n';
    expect(dependenciesOf(parseSimulation(sim), { new: ['hello'] })).toEqual([{ name: 'libfoo1', version: '1.2-1' }]);
    expect(dependenciesOf([{ name: "x'y", version: '1' }], { new: [] })).toEqual({ bad: "x'y 1" });
    expect(dependenciesOf([{ name: 'x', version: '1;id' }], { new: [] })).toEqual({ bad: 'x 1;id' });
  });

  it('are the dependencies, then install, remove and purge, then the upgrade from the previous version when there is one', () => {
    const steps = piupartsSteps({ new: ['hello', 'hello-data'], old: ['hello', 'hello-common'] }, [{ name: 'libfoo1', version: '1.2-1' }]);
    expect(steps.map((s) => s.step)).toEqual(['dependencies', 'install', 'remove', 'purge', 'install the previous version', 'upgrade', 'purge after the upgrade']);
    expect(steps[0].script).toBe("set -e\napt-get install -y -q --no-install-recommends 'libfoo1=1.2-1'");
    expect(steps[1].script).toBe('dpkg --install /qa/new/*.deb');
    expect(steps[3].script).toBe("dpkg --purge 'hello' 'hello-data'");
    expect(steps[6].script).toBe("dpkg --purge 'hello' 'hello-data' 'hello-common'");
    expect(piupartsSteps({ new: ['hello'], old: [] }, []).map((s) => s.step)).toEqual(['install', 'remove', 'purge']);
  });

  it("take leftovers from the engine's diff: added paths only, without dpkg's and apt's own state, caches and logs", () => {
    const diff = [
      { Path: '/etc', Kind: 0 }, { Path: '/etc/hello.conf', Kind: 1 }, { Path: '/var/lib/dpkg/info/hello.list', Kind: 1 }, { Path: '/var/log/dpkg.log', Kind: 0 },
      { Path: '/var/cache/apt/x.bin', Kind: 1 }, { Path: '/usr/bin/gone', Kind: 2 }, { Path: '/qa/new/hello.deb', Kind: 1 }, { Path: '/var/lib/hello', Kind: 1 },
    ];
    expect([...addedPaths(diff)]).toEqual(['/etc/hello.conf', '/var/lib/hello']);
  });

  it('pass when nothing failed and nothing was left; fail naming the step or the files; tmpfail when the mirror was out of reach', () => {
    expect(piupartsResult(undefined, [], { from: '1.0-1' }, 4)).toMatchObject({ verdict: 'pass', summary: 'install, remove, purge, upgrade from 1.0-1: nothing failed, nothing left' });
    const left = piupartsResult(undefined, ['/var/lib/hello', '/var/lib/hello/state'], undefined, 4);
    expect(left).toMatchObject({ verdict: 'fail', summary: '2 file(s) left after purge: /var/lib/hello, /var/lib/hello/state', counts: { 'failed steps': 0, 'files left': 2 } });
    expect(left.findings[1]).toEqual({ severity: 'E', tag: 'left after purge', context: '/var/lib/hello/state' });
    const failed = piupartsResult({ step: 'purge', exitCode: 1, output: 'Purging hello ...\npostrm: oops\ndpkg: error processing package hello (--purge)' }, [], undefined, 2);
    expect(failed).toMatchObject({ verdict: 'fail', summary: 'purge failed (exit 1)' });
    expect(failed.findings[0]).toEqual({ severity: 'E', tag: 'purge failed', context: 'exit 1: Purging hello ... | postrm: oops | dpkg: error processing package hello (--purge)' });
    expect(piupartsResult({ step: 'dependencies', exitCode: 100, output: 'E: Failed to fetch http://mirror/x.deb  Could not connect to mirror' }, [], undefined, 1)).toMatchObject({ verdict: 'tmpfail' });
    expect(piupartsResult({ step: 'dependencies', exitCode: 100, output: 'E: Unable to correct problems, you have held broken packages.' }, [], undefined, 1)).toMatchObject({ verdict: 'fail' });
    expect(unreachable('Err:1 http://x trixie/main amd64 p 1\n  Temporary failure resolving \'x\'\n')).toBe(true);
    expect(piupartsResult({ step: 'upgrade', exitCode: 100, output: 'E: Failed to fetch http://mirror/libx.deb' }, [], { from: '1.0-1' }, 1)).toMatchObject({ verdict: 'tmpfail', summary: 'the mirror could not be reached (upgrade)' });
  });

  it('names the files left after purge in the log up to a limit, then how many more (a postinst can leave a million)', () => {
    expect(leftoversLog(['/var/lib/a', '/var/lib/b'])).toBe('archive-in-a-box: piuparts: left after purge: /var/lib/a\narchive-in-a-box: piuparts: left after purge: /var/lib/b\n');
    expect(leftoversLog([])).toBe('');
    const many = Array.from({ length: 1_000_000 }, (_, i) => `/var/lib/x/${i}`);
    const lines = leftoversLog(many).split('\n').filter(Boolean);
    expect(lines).toHaveLength(MAX_LEFTOVERS_LOGGED + 1);
    expect(lines.at(-1)).toBe(`archive-in-a-box: piuparts: and ${1_000_000 - MAX_LEFTOVERS_LOGGED} more left after purge`);
  });
});
