// The rebuild kind's pure parts (issue 16, not wired yet; to check when wiring: files put into
// a container before it starts do not land on a tmpfs mounted at start, so the .dsc must reach
// the rebuild's /build another way, e.g. under /tmp or by exec after start): what a rebuild varies against the
// first build, as reprotest varies it by default where a container allows; how its packages
// are compared with the first build's; and the statement a reproducible verdict signs.
//
// Not varied, and why: fileordering (disorderfs needs FUSE), kernel (setarch's uname change
// needs the personality syscall's flags the default seccomp profile refuses), time (faketime is
// not in the build environment; SOURCE_DATE_EPOCH, from debian/changelog, is kept, as reprotest
// keeps it), locales (the build environment has C.UTF-8 only).
import { createHash } from 'node:crypto';
import type { ContainerSpec } from '../container-runner.js';
import type { BuildArg } from '../build-plan.js';

/** One thing that differs between the two builds, as the rebuild's log lists it. */
export interface Variation {
  name: string;
  first: string;
  rebuild: string;
}

/** Where the rebuild unpacks the source: a path of another length and depth than /build/src. */
export const REBUILD_PATH = '/build/rebuild/aib-path-varied';
const REBUILD_UID = 2001;

export const VARIATIONS: Variation[] = [
  { name: 'build path', first: '/build/src', rebuild: REBUILD_PATH },
  { name: 'hostname and domain name', first: "the engine's (the container id)", rebuild: 'aib-rebuild.example.invalid' },
  { name: 'user and uid', first: 'builder (2000)', rebuild: `uid ${REBUILD_UID}, no passwd entry` },
  { name: 'home', first: '/build', rebuild: '/nonexistent/aib-rebuild' },
  { name: 'umask', first: '0022', rebuild: '0002' },
  { name: 'timezone', first: 'UTC', rebuild: 'UTC-14 (14 h ahead)' },
  { name: 'CPUs', first: 'parallel=N (the build limit)', rebuild: 'parallel=1' },
  { name: 'environment', first: '-', rebuild: 'AIB_REBUILD_CAPTURE=the-environment' },
  { name: 'PATH', first: 'the default', rebuild: 'with /nonexistent/aib-bin first' },
];

/** The rebuild's script: the first build's, in the varied path and umask. */
export function rebuildScript(dsc: string, buildArg: BuildArg): string {
  return `set -e
umask 0002
mkdir -p ${REBUILD_PATH.slice(0, REBUILD_PATH.lastIndexOf('/'))}
cd ${REBUILD_PATH.slice(0, REBUILD_PATH.lastIndexOf('/'))}
echo "archive-in-a-box: rebuilding as uid $(id -u), in ${REBUILD_PATH}, hostname $(hostname)"
dpkg-source -x /build/${dsc} ${REBUILD_PATH.slice(REBUILD_PATH.lastIndexOf('/') + 1)}
cd ${REBUILD_PATH}
dpkg-buildpackage -us -uc ${buildArg}
mkdir -p /build/out
find ${REBUILD_PATH}/.. -maxdepth 1 -type f \\( -name '*.deb' -o -name '*.udeb' -o -name '*.buildinfo' -o -name '*.changes' \\) -exec mv -t /build/out {} +
echo "archive-in-a-box: rebuild successful"
`;
}

/**
 * The first build's container spec, varied: another user (by uid, /build a tmpfs it owns), host
 * and domain name, home, timezone, one CPU, the environment and PATH. The same image (the
 * first build's build-dependency image), the same confinement.
 */
export function rebuildContainerSpec(first: ContainerSpec, dsc: string, buildArg: BuildArg): ContainerSpec {
  const env = first.env.filter((e) => !/^(HOME|DEB_BUILD_OPTIONS|TZ|PATH)=/.test(e));
  return {
    ...first,
    cmd: ['bash', '-c', rebuildScript(dsc, buildArg)],
    user: `${REBUILD_UID}:${REBUILD_UID}`,
    hostname: 'aib-rebuild',
    domainname: 'example.invalid',
    env: [
      ...env,
      'HOME=/nonexistent/aib-rebuild',
      'DEB_BUILD_OPTIONS=parallel=1',
      'TZ=UTC-14',
      'PATH=/nonexistent/aib-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'AIB_REBUILD_CAPTURE=the-environment',
    ],
    cpus: 1,
    volume: undefined,
    tmpfs: { ...first.tmpfs, '/build': `rw,exec,nosuid,size=4g,uid=${REBUILD_UID},gid=${REBUILD_UID},mode=0755` },
  };
}

export type RebuildVerdict = 'reproducible' | 'unreproducible';

export interface RebuildComparison {
  verdict: RebuildVerdict;
  /** Packages (by file name) whose bytes differ, and those only one build made. */
  differing: string[];
  onlyFirst: string[];
  onlyRebuild: string[];
}

/**
 * The two builds' packages (.deb and .udeb) compared by name and sha256; .buildinfo and
 * .changes differ by nature (they record the build's environment and time) and are not compared.
 */
export function compareRebuild(first: { name: string; sha256: string }[], rebuild: { name: string; sha256: string }[]): RebuildComparison {
  const debs = (files: { name: string; sha256: string }[]) => new Map(files.filter((f) => /\.u?deb$/.test(f.name)).map((f) => [f.name, f.sha256]));
  const a = debs(first);
  const b = debs(rebuild);
  const differing = [...a].filter(([name, sha]) => b.has(name) && b.get(name) !== sha).map(([name]) => name).sort();
  const onlyFirst = [...a.keys()].filter((n) => !b.has(n)).sort();
  const onlyRebuild = [...b.keys()].filter((n) => !a.has(n)).sort();
  const same = a.size > 0 && differing.length + onlyFirst.length + onlyRebuild.length === 0;
  return { verdict: same ? 'reproducible' : 'unreproducible', differing, onlyFirst, onlyRebuild };
}

/** What a reproducible verdict signs: the .buildinfo's hash and every package's, in a canonical JSON document. */
export function reproducibleStatement(o: {
  source: string;
  version: string;
  arch: string;
  buildinfo: { name: string; sha256: string };
  packages: { name: string; sha256: string }[];
  rebuiltAt: string;
  rebuilder: string;
}): string {
  const doc = {
    statement: 'archive-in-a-box reproducible-build 1',
    source: o.source,
    version: o.version,
    architecture: o.arch,
    buildinfo: o.buildinfo,
    packages: [...o.packages].sort((x, y) => x.name.localeCompare(y.name)),
    variations: VARIATIONS.map((v) => v.name),
    rebuiltAt: o.rebuiltAt,
    rebuilder: o.rebuilder,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A short id of a statement's content, for its file name under public/. */
export const statementId = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Where diffoscope's reports go in its container, and the cap on each (its --max-report-size). */
export const REPORT_TEXT = 'diffoscope.txt';
export const MAX_REPORT_BYTES = 4 * 1024 * 1024;

/**
 * diffoscope (Debian's diffoscope-minimal) on each differing package, first build's against the
 * rebuild's (under first/ and rebuild/), in a check container (no network, unprivileged,
 * read-only root): its text report, capped (the HTML one is for the wiring to add). Exit 0: no difference; 1: differences; else its
 * own failure.
 */
export function diffoscopeScript(packages: string[]): string {
  const one = (p: string) =>
    `{ diffoscope --no-progress --max-report-size ${MAX_REPORT_BYTES} --text - 'first/${p}' 'rebuild/${p}' >> ${REPORT_TEXT}; s=$?; [ $s -gt $status ] && status=$s; true; }`;
  return `set -u\nstatus=0\ndiffoscope --version | sed -n 1p\n${packages.map(one).join('\n')}\nexit $status\n`;
}
