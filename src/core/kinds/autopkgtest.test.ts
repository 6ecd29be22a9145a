// autopkgtest's output and exit status as a verdict.
import { describe, expect, it } from 'vitest';
import { autopkgtestResult, autopkgtestScript } from './autopkgtest.js';

// The end of what autopkgtest 5 prints, with its summary.
const run = (summary: string) => `autopkgtest 5.47\nautopkgtest [10:00:01]: starting date and time: 2026-12-01 10:00:01+0000\nsmoke  PASS (fake: this line is above the summary)\nautopkgtest [10:00:09]: @@@@@@@@@@@@@@@@@@@@ summary\n${summary}`;

describe('autopkgtest output', () => {
  it('passes when every test passed (0), and names the tests skipped beside (2)', () => {
    expect(autopkgtestResult(run('smoke                PASS\nunit                 PASS\n'), 0, 9)).toMatchObject({ verdict: 'pass', tool: 'autopkgtest 5.47', summary: '2 test(s) passed', counts: { pass: 2 } });
    expect(autopkgtestResult(run('smoke PASS\nboot SKIP Test requires machine-level isolation but testbed does not provide that\n'), 2, 9)).toMatchObject({
      verdict: 'pass', summary: '1 test(s) passed; skipped: boot (Test requires machine-level isolation but testbed does not provide that)',
    });
    // Tests marked flaky that failed: a pass (2), saying they failed.
    expect(autopkgtestResult(run('smoke FLAKY non-zero exit status 1\nunit FLAKY non-zero exit status 2\n'), 2, 9)).toMatchObject({
      verdict: 'pass', summary: '0 test(s) passed; failed but marked flaky: smoke (non-zero exit status 1); unit (non-zero exit status 2)', counts: { flaky: 2 },
    });
  });

  it('fails naming the failed tests (4, 6), or the erroneous package (12, 14)', () => {
    const failed = autopkgtestResult(run('smoke FAIL non-zero exit status 1\nunit PASS\n'), 4, 9)!;
    expect(failed).toMatchObject({ verdict: 'fail', summary: 'failed: smoke (non-zero exit status 1)', counts: { fail: 1, pass: 1 } });
    expect(failed.findings[0]).toEqual({ severity: 'E', tag: 'smoke FAIL', context: 'non-zero exit status 1' });
    expect(autopkgtestResult(run('smoke FAIL badpkg\n'), 12, 3)).toMatchObject({ verdict: 'fail', summary: 'erroneous package (its test dependencies could not be installed): smoke (badpkg)' });
  });

  it('is neutral when no test could run here (8), tmpfail when the testbed failed (16), and no verdict otherwise', () => {
    expect(autopkgtestResult(run('boot SKIP Test requires machine-level isolation but testbed does not provide that\n'), 8, 2)).toMatchObject({
      verdict: 'neutral', summary: 'no test could run here: boot (Test requires machine-level isolation but testbed does not provide that)',
    });
    expect(autopkgtestResult('autopkgtest 5.47\n', 8, 1)).toMatchObject({ verdict: 'neutral', summary: 'no test ran' });
    expect(autopkgtestResult(run(''), 16, 1)).toMatchObject({ verdict: 'tmpfail' });
    expect(autopkgtestResult(run(''), 20, 1)).toBeUndefined();
    expect(autopkgtestResult(run(''), 1, 1)).toBeUndefined();
  });

  it('reads only the summary after its marker, not what a test printed before it', () => {
    expect(autopkgtestResult(run('unit FAIL stderr: x\n'), 4, 1)!.counts).toEqual({ fail: 1 });
  });

  it('counts each test once when its result line (stdout) comes out after the summary marker (stderr)', () => {
    // As a CI run's check printed it: the last test's own result line, flushed late, then the summary.
    const result = autopkgtestResult(run('confined             PASS\nsmoke                PASS\nconfined             PASS\n'), 0, 9)!;
    expect(result).toMatchObject({ verdict: 'pass', summary: '2 test(s) passed', counts: { pass: 2 } });
    expect(result.findings.map((f) => f.tag)).toEqual(['smoke PASS', 'confined PASS']);
  });

  it('tests the build\'s packages with the null server, the container being the testbed', () => {
    expect(autopkgtestScript('hello_1.0-1.dsc')).toMatch(/autopkgtest --no-built-binaries --output-dir \/tmp\/autopkgtest-out \.\/\*\.deb \.\/'hello_1\.0-1\.dsc' -- null$/);
  });
});
