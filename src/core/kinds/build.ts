// What a build is made of, as plain data: its limits, the two containers it runs in, the
// files and scripts that go into them, and what comes out. The steps are build-flow.ts.
import type { ResolvedPackage } from '../apt-output.js';
import type { BuildArg } from '../build-plan.js';
import type { BuildSettings } from '../../config/config.js';
import type { ContainerSpec, PutFile } from '../container-runner.js';
import type { KindDefinition } from '../work-kinds.js';
import { shellQuote } from '../shell-quote.js';

export const BUILDER_UID = 2000;
export const LABEL_BUILD = 'archive-in-a-box.build';
export const LABEL_BUILDER = 'archive-in-a-box.builder';

export interface BuildLimits {
  timeoutMs: number;
  stallMs: number;
  logCapBytes: number;
  memoryBytes: number;
  pidsLimit: number;
  cpus: number;
  cacheImages: number;
  cacheBytes: number;
  /** What the builder takes out of a build: bytes per file, bytes in all, files. */
  outputFileBytes: number;
  outputBytes: number;
  outputFiles: number;
  /** What a container of the job may write to disk (its layer and its volume, as the engine counts them). */
  diskBytes: number;
}

export const DEFAULT_LIMITS: BuildLimits = {
  timeoutMs: 3 * 3600_000,
  stallMs: 150 * 60_000,
  logCapBytes: 200 * 1024 ** 2,
  memoryBytes: 4 * 1024 ** 3,
  pidsLimit: 4096,
  cpus: 2,
  cacheImages: 20,
  cacheBytes: 20 * 1024 ** 3,
  outputFileBytes: 1024 ** 3,
  outputBytes: 2 * 1024 ** 3,
  outputFiles: 1000,
  diskBytes: 20 * 1024 ** 3,
};

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

/** A size in archive.yaml's MiB or GiB as whole bytes, as the engine takes them (1.1 GiB is 1181116006.4 bytes). */
export const wholeBytes = (n: number, unit: number) => Math.floor(n * unit);

/** archive.yaml's build settings as the limits a worker applies; under qemu the time limits scale by builds.emulation_factor. */
export function buildLimits(b: BuildSettings, emulated = false): BuildLimits {
  const slower = emulated ? b.emulationFactor : 1;
  return {
    timeoutMs: b.timeoutMinutes * 60_000 * slower,
    stallMs: b.stallMinutes * 60_000 * slower,
    logCapBytes: wholeBytes(b.logMiB, MiB),
    memoryBytes: wholeBytes(b.memoryGiB, GiB),
    pidsLimit: b.pids,
    cpus: b.cpus,
    cacheImages: b.cacheImages,
    cacheBytes: wholeBytes(b.cacheGiB, GiB),
    outputFileBytes: wholeBytes(b.outputFileGiB, GiB),
    outputBytes: wholeBytes(b.outputGiB, GiB),
    outputFiles: b.outputFiles,
    diskBytes: wholeBytes(b.diskGiB, GiB),
  };
}

/**
 * The capabilities installing build-dependencies needs as root, found by installing packages
 * whose maintainer scripts add users and chown and chmod g+s their folders (uuid-runtime):
 * CHOWN, FOWNER and FSETID (dpkg and the scripts set owners, modes, setuid and setgid bits;
 * without FSETID a chown clears g+s), DAC_OVERRIDE (apt as root moves the downloads out of
 * _apt's partial/ folder), SETUID and SETGID (apt downloads as _apt; adduser). Docker's others
 * are left out: NET_RAW (sniffing the network), MKNOD, SYS_CHROOT, KILL, SETFCAP, SETPCAP,
 * NET_BIND_SERVICE, AUDIT_WRITE.
 */
export const DEPS_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETGID', 'SETUID'];

export interface LocalArchive {
  /** The Docker network the repository is reachable on, and its URL there. */
  network: string;
  url: string;
  suite: string;
  components: string[];
  /** The archive's public key, armored: apt verifies the local repository like any client. */
  key: string;
  /** With an https URL whose certificate no public CA signed: the CA (PEM) apt trusts for that host alone. */
  ca?: string;
}

/** What a worker reports at the end of a build (over the job API). */
export type BuildReport =
  | { outcome: 'built'; image?: string; depsKey?: string }
  | { outcome: 'failed'; reason: string; image?: string; depsKey?: string }
  | { outcome: 'dep-wait'; missing: string }
  /** Not the package's fault (engine, network, queue): to be tried again. */
  | { outcome: 'give-back'; reason: string };

/** What the build flow ends with, on the worker: a report, and for a build its output files. */
export type BuildResult =
  | { outcome: 'built'; outputs: string[]; image: string; depsKey: string; cached: boolean }
  | Extract<BuildReport, { outcome: 'failed' | 'dep-wait' }>;

const optionalText = (v: unknown) => v === undefined || typeof v === 'string';

/** The build kind (core/work-kinds.ts): how it is named and how its report is checked. */
export const BUILD_KIND: KindDefinition<BuildReport> = {
  label: 'build',
  parseReport(value) {
    const { outcome, reason, missing, image, depsKey } = value;
    if (![reason, missing, image, depsKey].every(optionalText)) return { error: `${String(outcome)}: reason, missing, image and depsKey must be text` };
    const s = (v: unknown) => v as string | undefined;
    switch (outcome) {
      case 'built':
        return { outcome, image: s(image), depsKey: s(depsKey) };
      case 'failed':
        return { outcome, reason: s(reason) ?? 'build failed', image: s(image), depsKey: s(depsKey) };
      case 'dep-wait':
        return { outcome, missing: s(missing) ?? 'unknown relation' };
      case 'give-back':
        return { outcome, reason: s(reason) ?? 'builder problem' };
      default:
        return { error: `unknown outcome ${String(outcome)}` };
    }
  },
};

export function buildDepOptions(buildArg: BuildArg): string {
  return buildArg === '-B' ? '--arch-only ' : buildArg === '-A' ? '--indep-only ' : '';
}

const LOCAL_SOURCES_DIR = '/etc/apt/archive-in-a-box.d';

/** The apt source of the local archive, deb822 with Signed-By, like any client's. */
export function localSource(local: LocalArchive): string {
  return `Types: deb\nURIs: ${local.url}\nSuites: ${local.suite}\nComponents: ${local.components.join(' ')}\nSigned-By: /etc/apt/keyrings/archive-in-a-box.asc\n`;
}

/** What goes into the dependencies container, at its root: the .dsc, and the local archive's source and key. */
export function depsFiles(dsc: PutFile, local: LocalArchive | undefined): PutFile[] {
  return [{ ...dsc, name: `tmp/deps/${dsc.name}` }, ...localArchiveFiles(local)];
}

/** The local archive's apt source, key (and CA), as files relative to a container's root. */
export function localArchiveFiles(local: LocalArchive | undefined): { name: string; data: Buffer }[] {
  const files: { name: string; data: Buffer }[] = [];
  if (local) {
    files.push({ name: 'etc/apt/keyrings/archive-in-a-box.asc', data: Buffer.from(local.key) });
    files.push({ name: `${LOCAL_SOURCES_DIR.slice(1)}/archive-in-a-box.sources`, data: Buffer.from(localSource(local)) });
    if (local.ca) {
      files.push({ name: 'etc/apt/archive-in-a-box-ca.pem', data: Buffer.from(local.ca) });
      // For the archive's host alone: Debian's mirrors keep the system's CAs.
      const host = new URL(local.url).hostname;
      files.push({ name: 'etc/apt/apt.conf.d/90archive-in-a-box-ca', data: Buffer.from(`Acquire::https::${host}::CaInfo "/etc/apt/archive-in-a-box-ca.pem";\n`) });
    }
  }
  return files;
}

/**
 * The local archive added to apt's sources and its lists fetched: Debian's lists come with the
 * image (refreshed with it); only the local archive's are fetched.
 */
export function localUpdateScript(local: LocalArchive | undefined): string {
  return local
    ? `cp ${LOCAL_SOURCES_DIR}/*.sources /etc/apt/sources.list.d/ && apt-get update -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=${LOCAL_SOURCES_DIR} -o APT::Get::List-Cleanup=false`
    : 'true';
}

/** What apt-get build-dep would install (-s), the local archive's lists fetched first. */
export function resolveScript(dsc: string, buildArg: BuildArg, local: LocalArchive | undefined): string {
  return `set -e\n${localUpdateScript(local)}\napt-get build-dep -s ${buildDepOptions(buildArg)}/tmp/deps/${shellQuote(dsc)}`;
}

/** The records of the resolved package files, for their hashes. */
export function showScript(installs: ResolvedPackage[]): string {
  return `apt-cache show ${installs.map((p) => shellQuote(`${p.name}=${p.version}`)).join(' ')} 2>/dev/null`;
}

/** Fetches the build-dependencies' packages into apt's cache, installing nothing (no maintainer script runs). */
export function downloadScript(dsc: string, buildArg: BuildArg): string {
  return `set -e\napt-get build-dep -y -q --no-install-recommends --download-only ${buildDepOptions(buildArg)}/tmp/deps/${shellQuote(dsc)}`;
}

/** What installScript removes before the commit: every file depsFiles puts in, apt's lists and caches, apt's and dpkg's logs. */
export const INSTALL_LEFTOVERS = [
  '/tmp/deps',
  LOCAL_SOURCES_DIR,
  '/etc/apt/sources.list.d/archive-in-a-box.sources',
  '/etc/apt/keyrings/archive-in-a-box.asc',
  '/etc/apt/archive-in-a-box-ca.pem',
  '/etc/apt/apt.conf.d/90archive-in-a-box-ca',
  '/var/lib/apt/lists/*',
  '/var/cache/apt/*.bin',
  '/var/log/apt/*',
  '/var/log/dpkg.log',
];

/**
 * Installs the build-dependencies from apt's cache (downloadScript, the container then taken off
 * its network), leaving nothing of the job's or the archive's own in the image to be committed:
 * the image is shared by every archive on the engine whose build-dependencies resolve to the same
 * packages, and this one's package lists (a private archive's index) are not theirs to read. Apt's
 * lists go whole (nothing built from the image runs apt), and the caches made of them. So do apt's
 * and dpkg's logs: apt's history names the command, and in it the source (/tmp/deps/SRC_VER.dsc).
 */
export function installScript(dsc: string, buildArg: BuildArg): string {
  return `set -e\napt-get build-dep -y -q --no-install-recommends ${buildDepOptions(buildArg)}/tmp/deps/${shellQuote(dsc)}\napt-get clean\nrm -rf ${INSTALL_LEFTOVERS.join(' ')}`;
}

export const BUILD_SCRIPT = (dsc: string, buildArg: BuildArg) => `set -e
cd /build
echo "archive-in-a-box: building as $(id -un) (uid $(id -u)); network interfaces: $(ls /sys/class/net | tr '\\n' ' ')"
dpkg-source -x ${shellQuote(dsc)} src
cd src
dpkg-buildpackage -us -uc ${shellQuote(buildArg)}
mkdir -p /build/out
find /build -maxdepth 1 -type f \\( -name '*.deb' -o -name '*.udeb' -o -name '*.buildinfo' -o -name '*.changes' \\) -exec mv -t /build/out {} +
echo "archive-in-a-box: build successful"
`;

/**
 * Step 1's container: from the buildenv image, with network (the archive's deps network: the
 * local repository and the mirror, not the queue itself). Installing runs maintainer scripts of
 * packages built from uploads as root: only the capabilities apt and dpkg need,
 * no-new-privileges, the build's limits on memory, pids and CPUs.
 */
export function depsContainerSpec(buildenv: string, local: LocalArchive | undefined, limits: BuildLimits, labels: Record<string, string>): ContainerSpec {
  return {
    image: buildenv,
    cmd: ['sleep', 'infinity'],
    labels,
    env: ['DEBIAN_FRONTEND=noninteractive'],
    network: local?.network ?? 'bridge',
    capDrop: ['ALL'],
    capAdd: DEPS_CAPABILITIES,
    noNewPrivileges: true,
    memoryBytes: limits.memoryBytes,
    pidsLimit: limits.pidsLimit,
    cpus: limits.cpus,
    init: true,
  };
}

/** Step 2's container, the build: no network, no capabilities, unprivileged, read-only root. */
export function buildContainerSpec(depsImage: string, dsc: string, buildArg: BuildArg, limits: BuildLimits, labels: Record<string, string>): ContainerSpec {
  return {
    image: depsImage,
    cmd: ['bash', '-c', BUILD_SCRIPT(dsc, buildArg)],
    user: 'builder',
    workingDir: '/build',
    labels,
    env: ['HOME=/build', 'DPKG_COLORS=never', `DEB_BUILD_OPTIONS=parallel=${limits.cpus}`, 'LANG=C.UTF-8'],
    network: 'none',
    capDrop: ['ALL'],
    noNewPrivileges: true,
    readOnlyRoot: true,
    tmpfs: { '/tmp': 'rw,exec,nosuid,size=2g' },
    // A private /build, removed with the container.
    volume: '/build',
    memoryBytes: limits.memoryBytes,
    pidsLimit: limits.pidsLimit,
    cpus: limits.cpus,
  };
}
