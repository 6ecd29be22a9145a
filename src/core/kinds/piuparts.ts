// The piuparts check: the steps piuparts takes (install, remove, purge, leftover files; and an
// upgrade from the version the suite published before), in a throwaway container of the
// build's architecture. Not piuparts itself: it needs chroot and mounts (CAP_SYS_ADMIN) or
// the Docker socket, neither of which a container running a hostile package's maintainer
// scripts gets. Each step is its own command, judged by its exit code as the engine reports
// it, and the files left behind come from the engine's diff of the container's file system:
// nothing the package prints can fake a pass. (A package set on cheating its own check can:
// its scripts run as root in the testbed. What it cannot do is reach anything outside: what the
// steps install is downloaded first, and the testbed taken off its network before any of it
// runs.) Pure.
import { MAX_FINDINGS, type QaFinding, type QaResult } from './qa.js';
import { shellQuote } from '../shell-quote.js';

/** dpkg's package names (Policy 5.6.1): a name from a .deb is checked before it goes into a command. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/** Prints each .deb's package name ("new NAME", "old NAME"), before anything of the packages under test has run. */
export const NAMES_SCRIPT = 'set -e\nfor d in /qa/new/*.deb; do echo "new $(dpkg-deb --field "$d" Package)"; done\nfor d in /qa/old/*.deb; do [ -e "$d" ] && echo "old $(dpkg-deb --field "$d" Package)"; done; true';

/** NAMES_SCRIPT's output: the new version's and the previous version's package names, or the line that is not one. */
export function parseNames(output: string): { new: string[]; old: string[] } | { bad: string } {
  const names = { new: [] as string[], old: [] as string[] };
  for (const line of output.split('\n').filter(Boolean)) {
    const [which, name, ...rest] = line.split(' ');
    if ((which !== 'new' && which !== 'old') || !PACKAGE_NAME.test(name ?? '') || rest.length) return { bad: line.slice(0, 200) };
    names[which].push(name);
  }
  return names.new.length ? names : { bad: 'no package in the build' };
}

/** What apt would install with the packages: their dependencies, read before anything of the packages has run. */
export const SIMULATE_SCRIPT = 'apt-get install -s -q --no-install-recommends /qa/new/*.deb';

/**
 * Fetches into apt's cache what the steps install, the packages' dependencies and the previous
 * version's, running nothing of them: the testbed is then taken off its network, and every
 * maintainer script (packages this archive built from uploads, as root) runs with none. The
 * previous version's failing is not this step's: its own step says so (apt names what it lacks).
 */
export const DOWNLOAD_SCRIPT = 'set -e\napt-get install -y -q --no-install-recommends --download-only /qa/new/*.deb\nif ls /qa/old/*.deb >/dev/null 2>&1; then apt-get install -y -q --no-install-recommends --download-only /qa/old/*.deb || true; fi';

/** The dependencies of the packages under test, from SIMULATE_SCRIPT's "Inst" lines (parseSimulation), checked for the command line. */
export function dependenciesOf(installs: { name: string; version: string }[], names: { new: string[] }): { name: string; version: string }[] | { bad: string } {
  const deps = installs.filter((p) => !names.new.includes(p.name));
  const bad = deps.find((p) => !/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$/.test(p.name) || !/^[A-Za-z0-9.+~:-]+$/.test(p.version));
  return bad ? { bad: `${bad.name} ${bad.version}`.slice(0, 200) } : deps;
}

/**
 * The steps, in order, as piuparts takes them: the dependencies installed alone (the snapshot
 * the cycle is compared with is taken after them), then the packages installed, removed and
 * purged; then, when the suite had an earlier version, that version installed and upgraded to
 * this one.
 */
export function piupartsSteps(names: { new: string[]; old: string[] }, deps: { name: string; version: string }[]): { step: PiupartsStep; script: string }[] {
  const apt = 'set -e\napt-get install -y -q --no-install-recommends';
  return [
    ...(deps.length ? [{ step: 'dependencies' as const, script: `${apt} ${deps.map((d) => shellQuote(`${d.name}=${d.version}`)).join(' ')}` }] : []),
    { step: 'install', script: 'dpkg --install /qa/new/*.deb' },
    { step: 'remove', script: `dpkg --remove ${names.new.map(shellQuote).join(' ')}` },
    { step: 'purge', script: `dpkg --purge ${names.new.map(shellQuote).join(' ')}` },
    ...(names.old.length
      ? [
          { step: 'install the previous version' as const, script: `${apt} /qa/old/*.deb` },
          { step: 'upgrade' as const, script: `${apt} /qa/new/*.deb` },
          { step: 'purge after the upgrade' as const, script: `dpkg --purge ${[...new Set([...names.new, ...names.old])].map(shellQuote).join(' ')}` },
        ]
      : []),
  ];
}

export type PiupartsStep = 'dependencies' | 'install' | 'remove' | 'purge' | 'install the previous version' | 'upgrade' | 'purge after the upgrade';

/** The file system is compared before this step and after the purge. */
export const SNAPSHOT_BEFORE: PiupartsStep = 'install';

/** What changes in any container as packages come and go (dpkg's and apt's own state, caches, logs), as piuparts ignores it. */
const IGNORED = ['/proc', '/sys', '/dev', '/run', '/tmp', '/qa', '/var/lib/dpkg', '/var/lib/apt', '/var/cache', '/var/log', '/var/lib/systemd', '/var/lib/ucf', '/etc/ld.so.cache'];
const ignored = (path: string) => IGNORED.some((p) => path === p || path.startsWith(`${p}/`));

/** The engine's file system diff (docker container diff: kind 1 is added) as the added paths that count. */
export function addedPaths(changes: { Path: string; Kind: number }[]): Set<string> {
  return new Set(changes.filter((c) => c.Kind === 1 && !ignored(c.Path)).map((c) => c.Path));
}

/** Apt could not reach a mirror: the testbed's trouble, not the package's (tmpfail, tried once more). */
export function unreachable(output: string): boolean {
  return /Failed to fetch|Unable to fetch|Could not resolve|Temporary failure resolving|Temporary failure in name resolution|Connection timed out|Could not connect to/.test(output);
}

/** How many of the files left after purge the log names, one line each. */
export const MAX_LEFTOVERS_LOGGED = 1000;

/**
 * The log's lines naming the files left after purge, up to MAX_LEFTOVERS_LOGGED: a postinst can
 * leave a million empty files (the disk limit counts bytes), and these lines are the check's own,
 * not the steps' output the log cap bounds.
 */
export function leftoversLog(leftovers: string[]): string {
  const lines = leftovers.slice(0, MAX_LEFTOVERS_LOGGED).map((path) => `archive-in-a-box: piuparts: left after purge: ${path}\n`);
  if (leftovers.length > MAX_LEFTOVERS_LOGGED) lines.push(`archive-in-a-box: piuparts: and ${leftovers.length - MAX_LEFTOVERS_LOGGED} more left after purge\n`);
  return lines.join('');
}

/** The step that failed (with its exit code and the end of its output), or none; the leftovers; as a result. */
export function piupartsResult(
  failed: { step: PiupartsStep; exitCode: number; output: string } | undefined,
  leftovers: string[],
  upgrade: { from: string } | undefined,
  seconds: number,
): QaResult {
  const tool = 'piuparts steps (archive-in-a-box)';
  if (failed && unreachable(failed.output)) {
    return { verdict: 'tmpfail', tool, seconds, counts: {}, findings: [], summary: `the mirror could not be reached (${failed.step})` };
  }
  const findings: QaFinding[] = [];
  if (failed) findings.push({ severity: 'E', tag: `${failed.step} failed`, context: `exit ${failed.exitCode}: ${failed.output.trim().split('\n').slice(-3).join(' | ').slice(0, 380)}` });
  for (const path of leftovers.slice(0, MAX_FINDINGS - findings.length)) findings.push({ severity: 'E', tag: 'left after purge', context: path });
  const counts = { 'failed steps': failed ? 1 : 0, 'files left': leftovers.length };
  const upgraded = upgrade ? `, upgrade from ${upgrade.from}` : '';
  if (failed) return { verdict: 'fail', tool, seconds, counts, findings, summary: `${failed.step} failed (exit ${failed.exitCode})` };
  if (leftovers.length) return { verdict: 'fail', tool, seconds, counts, findings, summary: `${leftovers.length} file(s) left after purge: ${leftovers.slice(0, 5).join(', ')}` };
  return { verdict: 'pass', tool, seconds, counts, findings, summary: `install, remove, purge${upgraded}: nothing failed, nothing left` };
}
