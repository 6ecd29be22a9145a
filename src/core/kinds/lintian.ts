// The lintian check: Debian's lintian on the source (.dsc) and the build's .changes, every
// level shown (info, pedantic, experimental, overridden); an error tag fails it. Pure.
import { MAX_FINDINGS, type QaFinding, type QaResult } from './qa.js';
import { shellQuote } from '../shell-quote.js';

/** Lintian's severity letters, named as its documentation names them. */
export const LINTIAN_SEVERITIES: Record<string, string> = {
  E: 'error',
  W: 'warning',
  I: 'info',
  P: 'pedantic',
  X: 'experimental',
  O: 'overridden',
  C: 'classification',
  M: 'masked',
};

/**
 * Tags that judge the archive, not the package: a .changes names this archive's suite ("gated",
 * "mycompany"), which lintian knows no Debian distribution of (an error it would give every
 * upload to a suite not named as one of Debian's).
 */
export const ARCHIVE_TAGS = ['bad-distribution-in-changes-file'];

/** What runs in the check's container, in the folder with the files: the tool's version first, on a line of its own. */
export function lintianScript(dsc: string, changes: string): string {
  return `set -e\nlintian --version | sed -n 1p\nexec lintian --pedantic --display-info --display-experimental --show-overrides --tag-display-limit 0 --fail-on error --suppress-tags ${ARCHIVE_TAGS.join(',')} -- ./${shellQuote(dsc)} ./${shellQuote(changes)}`;
}

// "E: pkg source: tag context", "W: pkg: tag context", "I: pkg udeb: tag" ...
const TAG_LINE = /^([A-Z]): (\S+?)(?: (source|binary|udeb|changes|buildinfo))?: (\S+)(?: (.*))?$/;

/**
 * Lintian's output and exit status as a result: 0 passes, 2 (an error tag, --fail-on error)
 * fails, anything else is lintian's own failure (undefined: the check could not run).
 * `truncated`: the output was longer than what was read.
 */
export function lintianResult(output: string, exitCode: number, seconds: number, truncated = false): QaResult | undefined {
  if (exitCode !== 0 && exitCode !== 2) return undefined;
  const lines = output.split('\n');
  const tool = (lines.find((l) => /^Lintian v/.test(l)) ?? 'Lintian').replace(/^Lintian v/, 'lintian ').trim();
  const counts: Record<string, number> = {};
  const findings: QaFinding[] = [];
  for (const line of lines) {
    const m = TAG_LINE.exec(line.trimEnd());
    if (!m || !(m[1] in LINTIAN_SEVERITIES)) continue;
    const [, letter, pkg, type, tag, context] = m;
    const severity = LINTIAN_SEVERITIES[letter];
    counts[severity] = (counts[severity] ?? 0) + 1;
    if (findings.length < MAX_FINDINGS) findings.push({ severity: letter, package: type ? `${pkg} ${type}` : pkg, tag, ...(context ? { context: context.slice(0, 400) } : {}) });
  }
  const errors = counts.error ?? 0;
  // Exit 2 with no error tag read: in output past the cap, a failure all the same; otherwise
  // output this parser does not know, not a verdict to trust.
  if (exitCode === 2 && errors === 0 && truncated) return { verdict: 'fail', tool, seconds, counts, findings, summary: 'error tag(s) past the first 8 MiB of its output; see the log' };
  if ((exitCode === 2) !== errors > 0) return undefined;
  const shown = Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ');
  return {
    verdict: errors > 0 ? 'fail' : 'pass',
    tool,
    seconds,
    counts,
    findings,
    summary: errors > 0 ? `${errors} error tag(s): ${[...new Set(findings.filter((f) => f.severity === 'E').map((f) => f.tag))].join(', ')}` : shown || 'no tags',
  };
}
