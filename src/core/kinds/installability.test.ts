// apt's answer on whether packages install in a suite, read as a verdict.
import { describe, expect, it } from 'vitest';
import { installabilityResult } from './installability.js';

// apt's report, in its format, for a package whose dependency the suite has too old, one it lacks,
// and one it breaks (test/qa.e2e.test.ts reads the real one from a trixie testbed).
// (apt-output.test.ts has its whole preamble.)
const UNMET = `Solving dependencies...
The following packages have unmet dependencies:
 aib-qa-dirty : Depends: aib-qa-clean (>= 1.1) but it is not going to be installed
                Depends: libfoo2 but it is not installable
 aib-qa-dirty-tools : Breaks: aib-qa-old (< 2)
E: Unable to correct problems, you have held broken packages.
`;

describe('installability', () => {
  it('passes when apt would install the packages', () => {
    expect(installabilityResult('Inst aib-qa-clean (1.0-1 local)\n', 0, 'testing', 2.5)).toEqual({
      verdict: 'pass', tool: 'apt-get install --simulate', seconds: 2.5, counts: {}, findings: [], summary: "installs in testing with Debian's release",
    });
  });

  it('fails with each unmet relation, its package carried to the lines under it', () => {
    const r = installabilityResult(UNMET, 100, 'testing', 3)!;
    expect(r.verdict).toBe('fail');
    expect(r.counts).toEqual({ unmet: 3 });
    expect(r.findings).toEqual([
      { severity: 'E', package: 'aib-qa-dirty', tag: 'Depends', context: 'aib-qa-clean (>= 1.1) but it is not going to be installed' },
      { severity: 'E', package: 'aib-qa-dirty', tag: 'Depends', context: 'libfoo2 but it is not installable' },
      { severity: 'E', package: 'aib-qa-dirty-tools', tag: 'Breaks', context: 'aib-qa-old (< 2)' },
    ]);
    expect(r.summary).toBe('aib-qa-dirty: Depends: aib-qa-clean (>= 1.1) but it is not going to be installed (and 2 more)');
  });

  it('is tmpfail when the mirror is out of reach, and no verdict when apt failed otherwise', () => {
    expect(installabilityResult('E: Failed to fetch http://mirror/x  Could not resolve host\n', 100, 'testing', 1)).toMatchObject({ verdict: 'tmpfail' });
    expect(installabilityResult("E: Unsupported file /qa/new/x.deb given on commandline\n", 100, 'testing', 1)).toBeUndefined();
  });
});
