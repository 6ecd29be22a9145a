// The autopkgtest check: the source's own test suite (debian/tests/control), run by Debian's
// autopkgtest against the build's packages, with the null virtualisation server inside a
// throwaway testbed container of the build's architecture (root with apt's and dpkg's
// capabilities, the deps network): the container is the testbed. Tests that need more
// isolation than a container gives (isolation-machine) are skipped by autopkgtest itself, and
// a check whose tests were all skipped is neutral, with the reason. Pure.
import { MAX_FINDINGS, type QaFinding, type QaResult } from './qa.js';
import { shellQuote } from '../shell-quote.js';

/** The command: the build's packages and the source, tested with the null server; its version first. */
export function autopkgtestScript(dsc: string): string {
  return `set -e\necho "autopkgtest $(dpkg-query -W -f '\${Version}' autopkgtest)"\ncd /qa\nexec autopkgtest --no-built-binaries --output-dir /tmp/autopkgtest-out ./*.deb ./${shellQuote(dsc)} -- null`;
}

// The summary autopkgtest prints at its end: "NAME PASS", "NAME FAIL non-zero exit status 1", "NAME SKIP Test needs ...".
const SUMMARY_LINE = /^(\S+)\s+(PASS|FAIL|SKIP|FLAKY|NEUTRAL)(?:\s+(.*))?$/;

/**
 * autopkgtest's output and exit status as a result (autopkgtest(1)): 0 passes; 2 passes with a
 * test skipped; 4 or 6 (a test failed) and 12 or 14 (an erroneous package: its test
 * dependencies cannot be installed) fail; 8 (no test ran: all skipped, or none) is neutral;
 * 16 (the testbed failed) is tmpfail; anything else is autopkgtest's own failure (undefined).
 */
export function autopkgtestResult(output: string, exitCode: number, seconds: number): QaResult | undefined {
  if (![0, 2, 4, 6, 8, 12, 14, 16].includes(exitCode)) return undefined;
  const lines = output.split('\n');
  const tool = (lines.find((l) => /^autopkgtest \S/.test(l)) ?? 'autopkgtest').trim();
  let summaryAt = -1;
  lines.forEach((l, i) => /@{5,} summary$/.test(l.trim()) && (summaryAt = i));
  // Each test once, as the summary says it last: the result line autopkgtest prints as a test
  // ends goes to its stdout, which a pipe buffers, so it can come out after the summary's header
  // (stderr) and before the summary's own line for that test.
  const outcomes = new Map<string, { outcome: string; why?: string }>();
  for (const line of summaryAt >= 0 ? lines.slice(summaryAt + 1) : []) {
    const m = SUMMARY_LINE.exec(line.trim());
    if (!m) continue;
    const [, name, outcome, why] = m;
    outcomes.delete(name);
    outcomes.set(name, { outcome, why });
  }
  const findings: QaFinding[] = [];
  const counts: Record<string, number> = {};
  for (const [name, { outcome, why }] of outcomes) {
    const key = outcome.toLowerCase();
    counts[key] = (counts[key] ?? 0) + 1;
    if (findings.length < MAX_FINDINGS) findings.push({ severity: outcome === 'FAIL' ? 'E' : outcome === 'PASS' ? 'I' : 'W', tag: `${name} ${outcome}`, ...(why ? { context: why.slice(0, 400) } : {}) });
  }
  const named = (outcome: string) => findings.filter((f) => f.tag.endsWith(` ${outcome}`)).map((f) => `${f.tag.slice(0, -outcome.length - 1)}${f.context ? ` (${f.context})` : ''}`);
  if (exitCode === 16) return { verdict: 'tmpfail', tool, seconds, counts, findings, summary: 'the testbed failed' };
  if (exitCode === 8) return { verdict: 'neutral', tool, seconds, counts, findings, summary: named('SKIP').length ? `no test could run here: ${named('SKIP').join('; ')}` : 'no test ran' };
  if (exitCode === 12 || exitCode === 14) return { verdict: 'fail', tool, seconds, counts, findings, summary: `erroneous package (its test dependencies could not be installed)${named('FAIL').length ? `: ${named('FAIL').join('; ')}` : ''}` };
  if (exitCode === 4 || exitCode === 6) return { verdict: 'fail', tool, seconds, counts, findings, summary: `failed: ${named('FAIL').join('; ') || 'a test'}` };
  // A test marked flaky that failed does not fail the run (2), as in Debian's migration; its failure is said.
  const skipped = named('SKIP');
  const flaky = named('FLAKY');
  return { verdict: 'pass', tool, seconds, counts, findings, summary: `${counts.pass ?? 0} test(s) passed${flaky.length ? `; failed but marked flaky: ${flaky.join('; ')}` : ''}${skipped.length ? `; skipped: ${skipped.join('; ')}` : ''}` };
}
