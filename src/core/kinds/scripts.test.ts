// The scripts a job's containers run with bash -c, run here by bash with every command they call
// replaced by one that records its arguments: a name from a lease (a .dsc, an architecture)
// reaches its command as one argument, and nothing of it runs as code. (checkLease refuses such
// names first: this is the second wall, for the names that pass it and any that reach a script
// another way.)
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../../test/support/scratch.js';
import { autopkgtestScript } from './autopkgtest.js';
import { blhcScript } from './blhc.js';
import { BUILD_SCRIPT, downloadScript, installScript, resolveScript, showScript } from './build.js';
import { lintianScript } from './lintian.js';
import { piupartsSteps } from './piuparts.js';
import { rebuildScript } from './rebuild.js';

const COMMANDS = ['apt-get', 'apt-cache', 'dpkg', 'dpkg-source', 'dpkg-buildpackage', 'dpkg-query', 'lintian', 'blhc', 'autopkgtest', 'mkdir', 'find', 'cp', 'rm'];

/** `script` run by bash in a folder of its own, each of COMMANDS (and cd) a stand-in: the calls made, each its command and arguments; and whether PWNED was made. */
function runScript(script: string): { calls: string[][]; pwned: boolean } {
  const dir = scratchDir('aib-script-');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const command of COMMANDS) {
    writeFileSync(join(bin, command), `#!/bin/bash\n{ printf '%s' "\${0##*/}"; printf '\\x1f%s' "$@"; printf '\\x1e'; } >> "$RECORD"\n`);
    chmodSync(join(bin, command), 0o755);
  }
  const record = join(dir, 'calls');
  writeFileSync(record, '');
  // cd, a builtin, is a function doing nothing: the scripts' folders (/build, /qa) are not here.
  execFileSync('bash', ['-c', `cd() { :; }\n${script}`], { cwd: dir, env: { PATH: `${bin}:${process.env.PATH}`, RECORD: record }, stdio: 'ignore' });
  const calls = readFileSync(record, 'utf8').split('\x1e').filter(Boolean).map((c) => c.split('\x1f'));
  return { calls, pwned: existsSync(join(dir, 'PWNED')) };
}

/** Names that run `touch PWNED` when pasted into a script unquoted, or quoted carelessly. */
const HOSTILE = ['$(touch PWNED).dsc', '`touch PWNED`.dsc', "x';touch PWNED;'.dsc", 'x.dsc;touch PWNED', 'x.dsc\ntouch PWNED', 'x.dsc && touch PWNED #'];

describe('a name a lease gives, pasted into a script', () => {
  it("reaches the build-dependency container's apt-get as one argument, never run (the container is committed to the cache every archive shares)", () => {
    for (const dsc of HOSTILE) {
      for (const script of [resolveScript(dsc, '-B', undefined), downloadScript(dsc, '-B'), installScript(dsc, '-B')]) {
        const { calls, pwned } = runScript(script);
        expect(pwned, `${dsc}: ${script}`).toBe(false);
        expect(calls.find((c) => c[0] === 'apt-get' && c[1] === 'build-dep')?.at(-1), script).toBe(`/tmp/deps/${dsc}`);
      }
    }
  });

  it("reaches dpkg-source in the build's and the rebuild's container as one argument, and the build argument dpkg-buildpackage as one", () => {
    for (const dsc of HOSTILE) {
      for (const script of [BUILD_SCRIPT(dsc, '-B'), rebuildScript(dsc, '-B')]) {
        const { calls, pwned } = runScript(script);
        expect(pwned, script).toBe(false);
        expect(calls.find((c) => c[0] === 'dpkg-source')?.slice(1, 3), script).toEqual(['-x', dsc]);
      }
    }
    for (const buildArg of ['-B; touch PWNED', '$(touch PWNED)']) {
      const { calls, pwned } = runScript(BUILD_SCRIPT('a.dsc', buildArg as never));
      expect(pwned).toBe(false);
      expect(calls.find((c) => c[0] === 'dpkg-buildpackage')).toEqual(['dpkg-buildpackage', '-us', '-uc', buildArg]);
    }
  });

  it("reaches lintian, autopkgtest and blhc as one argument each, never run", () => {
    for (const name of HOSTILE) {
      const lintian = runScript(lintianScript(name, `${name}.changes`));
      expect(lintian.pwned).toBe(false);
      expect(lintian.calls.find((c) => c[0] === 'lintian' && c.includes('--'))?.slice(-2)).toEqual([`./${name}`, `./${name}.changes`]);
      const autopkgtest = runScript(autopkgtestScript(name));
      expect(autopkgtest.pwned).toBe(false);
      expect(autopkgtest.calls.find((c) => c[0] === 'autopkgtest')?.slice(-3)).toEqual([`./${name}`, '--', 'null']);
      const blhc = runScript(blhcScript(name));
      expect(blhc.pwned).toBe(false);
      expect(blhc.calls.find((c) => c[0] === 'blhc' && c.includes('--debian'))).toContain(`--arch=${name}`);
    }
  });

  it('from apt (a package and its version) reaches apt-cache and apt-get as one argument, never run', () => {
    const installs = [{ name: 'a', version: "1';touch PWNED;'" }];
    const show = runScript(showScript(installs));
    expect(show.pwned).toBe(false);
    expect(show.calls).toEqual([['apt-cache', 'show', `a=1';touch PWNED;'`]]);
    const step = piupartsSteps({ new: ['a'], old: [] }, installs)[0];
    const deps = runScript(step.script);
    expect(deps.pwned).toBe(false);
    expect(deps.calls[0].at(-1)).toBe(`a=1';touch PWNED;'`);
  });
});
