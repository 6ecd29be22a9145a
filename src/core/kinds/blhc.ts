// The blhc check: Debian's build log hardening check on the build's log, as Salsa CI runs it
// (--debian --line-numbers): a compiler line missing a hardening flag dpkg-buildflags gives, or
// compiler lines hidden from the log, fail it. Pure.
import { BUILD_LOG, MAX_FINDINGS, type QaFinding, type QaResult } from './qa.js';
import { shellQuote } from '../shell-quote.js';

/** What runs in the check's container, in the folder with the log: the tool's version first. */
export function blhcScript(arch: string): string {
  return `set -e\nblhc --version | sed -n 1p\nexec blhc --debian --line-numbers --arch=${shellQuote(arch)} ./${BUILD_LOG}`;
}

// "12:CFLAGS missing (-fstack-protector-strong): gcc -o hello hello.c", "NONVERBOSE BUILD: CC x.c".
const MISSING = /^(?:(\d+):)?([A-Z]+FLAGS missing \([^)]*\)): (.*)$/;
const HIDDEN = /^(?:(\d+):)?(NONVERBOSE BUILD): (.*)$/;

/**
 * blhc's output and exit status (a bit mask) as a result: 8 (missing flags) or 4 (a non-verbose
 * build) fail; 1 alone (no compiler commands, as in an arch:all build) and 16 or 32 (a hardening
 * wrapper, a CMake it cannot judge) are neutral; 2 (blhc's own error) is no verdict (undefined).
 */
export function blhcResult(output: string, exitCode: number, seconds: number): QaResult | undefined {
  if (exitCode < 0 || exitCode > 63 || exitCode & 2) return undefined;
  const lines = output.split('\n');
  const tool = (lines.find((l) => /^blhc \d/.test(l)) ?? 'blhc').replace(/\s{2,}.*$/, '').trim();
  const findings: QaFinding[] = [];
  let missing = 0;
  let hidden = 0;
  for (const line of lines) {
    const m = MISSING.exec(line) ?? HIDDEN.exec(line);
    if (!m) continue;
    if (m[2] === 'NONVERBOSE BUILD') hidden++;
    else missing++;
    if (findings.length < MAX_FINDINGS) findings.push({ severity: 'W', tag: m[2], context: `${m[1] ? `line ${m[1]}: ` : ''}${m[3]}`.slice(0, 400) });
  }
  const counts = { 'missing flags': missing, 'hidden compiler lines': hidden };
  const flags = [...new Set(findings.filter((f) => f.tag !== 'NONVERBOSE BUILD').map((f) => f.tag))];
  if (exitCode & 12) {
    const why = [flags.length ? flags.join('; ') : '', hidden ? `${hidden} compiler line(s) hidden (a non-verbose build)` : ''].filter(Boolean).join('; ');
    return { verdict: 'fail', tool, seconds, counts, findings, summary: why || `blhc exit ${exitCode}` };
  }
  if (exitCode === 0) return { verdict: 'pass', tool, seconds, counts, findings, summary: 'hardening flags present on every compiler line' };
  const why = exitCode & 16 ? 'hardening-wrapper intercepts the compiler: nothing to check' : exitCode & 32 ? 'a CMake that ignores CPPFLAGS: not checked' : 'no compiler commands in the log';
  return { verdict: 'neutral', tool, seconds, counts, findings, summary: why };
}
