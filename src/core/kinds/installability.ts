// The installability check a migration asks for (core/migration.ts): whether the packages a
// build made install in the target suite as it is now, with Debian's release of the suite's
// base beside it, as britney asks before a package enters Debian's testing. apt itself
// answers, in a throwaway testbed of the build's architecture whose local archive source is
// the target suite: `apt-get install -s` of the packages resolves every Depends and
// Pre-Depends (versions, Provides, Multi-Arch, Conflicts) against both. Nothing of the
// packages runs. Pure.
import { parseUnmetLines } from '../apt-output.js';
import { unreachable } from './piuparts.js';
import { MAX_FINDINGS, type QaFinding, type QaResult } from './qa.js';

/** apt's answer for the packages; nothing is installed. */
export const INSTALLABILITY_SCRIPT = 'apt-get install -s -q --no-install-recommends /qa/new/*.deb';

/**
 * apt's "unmet dependencies" as findings, one per relation (apt's "aib-app : Depends: libfoo2
 * (>= 2) but 1.0-1 is to be installed"); a mirror out of reach is tmpfail; an apt failure that names no
 * unmet relation is no verdict (undefined): the tool could not run.
 */
export function installabilityResult(output: string, exitCode: number, suite: string, seconds: number): QaResult | undefined {
  const tool = 'apt-get install --simulate';
  if (exitCode === 0) return { verdict: 'pass', tool, seconds, counts: {}, findings: [], summary: `installs in ${suite} with Debian's release` };
  if (unreachable(output)) return { verdict: 'tmpfail', tool, seconds, counts: {}, findings: [], summary: 'the mirror or the archive could not be reached' };
  const unmet = parseUnmetLines(output);
  if (unmet.length === 0) return undefined;
  const findings: QaFinding[] = unmet.slice(0, MAX_FINDINGS).map((u) => ({ severity: 'E', ...(u.package ? { package: u.package } : {}), tag: u.field, context: u.relation.slice(0, 400) }));
  const first = findings[0];
  return {
    verdict: 'fail', tool, seconds, counts: { unmet: unmet.length }, findings,
    summary: `${first.package ?? 'a package'}: ${first.tag}: ${first.context}${unmet.length > 1 ? ` (and ${unmet.length - 1} more)` : ''}`,
  };
}
