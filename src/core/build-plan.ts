// Which builds a source needs: dpkg-buildpackage -B per architecture for arch-dependent
// packages, -A once for Architecture: all, -b (both) on the arch-all architecture of a mixed
// source, as Debian's buildds do (sbuild --arch-all on the arch-all builder).
import { DEBIAN_CPUS } from '../debian/architectures.js';

export type BuildArg = '-b' | '-B' | '-A';

export interface PlannedBuild {
  arch: string;
  buildArg: BuildArg;
}

/** Whether a .dsc Architecture entry (any, linux-any, amd64, any-amd64, ...) covers arch. */
export function archMatches(wildcard: string, arch: string): boolean {
  if (wildcard === 'any' || wildcard === 'linux-any' || wildcard === arch) return true;
  // OS-CPU wildcards, as dpkg reads them (any-arm is armhf and armel; every architecture here is Linux).
  const cpu = DEBIAN_CPUS[arch] ?? arch;
  return wildcard === `any-${cpu}` || wildcard === `linux-${cpu}`;
}

export function planBuilds(dscArchitectures: string[], configured: string[], archAll: string = configured[0]): PlannedBuild[] {
  const hasAll = dscArchitectures.includes('all');
  const dependent = configured.filter((arch) => dscArchitectures.some((w) => w !== 'all' && archMatches(w, arch)));
  const plan: PlannedBuild[] = dependent.map((arch) => ({
    arch,
    buildArg: hasAll && arch === archAll ? '-b' : '-B',
  }));
  if (hasAll && !dependent.includes(archAll)) plan.push({ arch: archAll, buildArg: '-A' });
  return plan;
}
