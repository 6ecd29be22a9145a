// `archive doctor`: what the machine and the archive look like, judged. Pure: facts gathered
// by cli/doctor.ts in, findings out, each problem with the fix a packager would apply.
import { I386_BINFMT_REGISTRATION, qemuName } from '../debian/architectures.js';
import { printable } from './terminal-text.js';

/** How this machine runs one architecture the suites build for (process/architectures.ts). */
export interface ArchitectureFacts {
  arch: string;
  /** The machine's own architecture (dpkg --print-architecture). */
  hostArch: string;
  /** Its binfmt_misc handler (qemu-NAME), when registered. */
  handler?: { name: string; enabled: boolean; flags: string };
  /** Whether a tiny static binary of it ran with no handler (tried for i386 on amd64). */
  runsNatively?: boolean;
}

export interface DoctorFacts {
  now: Date;
  engine: { reachable: true; version: string; driver: string; dataRoot: string } | { reachable: false; error: string };
  /** Free space where the archive and Docker keep their data (undefined when unreadable). */
  disks: { what: string; path: string; freeBytes?: number }[];
  debootstrap: boolean;
  /** Whether every base image the suites' builds need (each base, each architecture) is made. */
  baseImage: boolean;
  /** The port on the address the repository listens on (config listen). */
  port: { port: number; address: string; state: 'free' | 'ours' | 'taken' | 'unavailable'; error?: string };
  /** The time a Debian mirror's HTTP server gives (its Date header as sent, and read), when it could be asked. */
  clock?: { source: string; remote: Date; header?: string };
  /** The archive's public key (public/archive-key.asc). */
  key?: { fingerprint: string; expires?: Date; revoked?: boolean };
  /** The fingerprint of the key the archive signs with (state/archive-key.sec), when it could be read. */
  signingKey?: string;
  /** Each suite's served Release: its Valid-Until as written and read, when it has one. */
  validUntil?: { days: number; suites: { suite: string; file: string; value?: string; served?: Date }[] };
  /** Each architecture a suite builds for. */
  architectures?: ArchitectureFacts[];
}

export interface Finding {
  check: string;
  status: 'ok' | 'warn' | 'fail' | 'unknown';
  detail: string;
  fix?: string;
}

const GiB = 1024 ** 3;
const DAY = 86_400_000;
const gib = (n: number) => `${(n / GiB).toFixed(1)} GiB`;
/** A value a file or a server gave, in quotes, at most 100 characters, its control characters shown. */
const quoted = (s: string) => printable(JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s));

export function diagnose(f: DoctorFacts): Finding[] {
  const out: Finding[] = [];
  if (f.engine.reachable) {
    out.push({ check: 'docker', status: 'ok', detail: `Docker engine ${f.engine.version}` });
    out.push(
      f.engine.driver === 'overlay2'
        ? { check: 'storage-driver', status: 'ok', detail: 'overlay2' }
        : {
            check: 'storage-driver', status: 'warn', detail: `${f.engine.driver}: every image layer and build container is a full copy, slow and disk-hungry`,
            fix: 'set "storage-driver": "overlay2" in /etc/docker/daemon.json and restart dockerd',
          },
    );
  } else {
    out.push({
      check: 'docker', status: 'fail', detail: f.engine.error,
      fix: 'apt-get install docker.io, then start it (systemctl start docker, or dockerd & where systemd does not run); scripts/setup.sh does both',
    });
  }
  for (const d of f.disks) {
    if (d.freeBytes === undefined) out.push({ check: `disk-${d.what}`, status: 'unknown', detail: `cannot read the free space of ${d.path}` });
    else if (d.freeBytes < 2 * GiB) out.push({ check: `disk-${d.what}`, status: 'fail', detail: `${gib(d.freeBytes)} free under ${d.path}; builds and publishing need several GiB`, fix: `free space on that file system (archive cache prune; docker system prune)` });
    else if (d.freeBytes < 10 * GiB) out.push({ check: `disk-${d.what}`, status: 'warn', detail: `${gib(d.freeBytes)} free under ${d.path}`, fix: 'archive cache prune frees build-dependency images' });
    else out.push({ check: `disk-${d.what}`, status: 'ok', detail: `${gib(d.freeBytes)} free under ${d.path}` });
  }
  if (f.debootstrap) out.push({ check: 'debootstrap', status: 'ok', detail: 'installed' });
  else out.push({
    check: 'debootstrap', status: f.baseImage ? 'warn' : 'fail',
    detail: f.baseImage ? 'not installed; the base images exist, so only a rebuild of one needs it' : 'not installed, and a base image the builds need is not made yet',
    fix: 'apt-get install debootstrap',
  });
  const { port, address, state } = f.port;
  if (state === 'unavailable') {
    const why = f.port.error === 'EADDRNOTAVAIL' ? 'this machine has no such address' : f.port.error;
    out.push({ check: 'port', status: 'fail', detail: `${address}:${port} cannot be listened on: ${why}`, fix: 'give an address of this machine as listen: in archive.yaml (0.0.0.0 for all, 127.0.0.1 for this machine alone)' });
  } else if (state === 'taken') out.push({ check: 'port', status: 'fail', detail: `${address}:${port} is used by another program`, fix: `choose another port: archive up --port N (or port: in archive.yaml); ss -ltnp 'sport = :${port}' names the program` });
  else out.push({ check: 'port', status: 'ok', detail: state === 'ours' ? `${address}:${port} is served by this archive` : `${address}:${port} is free` });
  if (!f.clock) out.push({ check: 'clock', status: 'unknown', detail: 'no Debian mirror answered to compare the clock with' });
  else if (Number.isNaN(f.clock.remote.getTime())) {
    out.push({ check: 'clock', status: 'unknown', detail: `${f.clock.source} sent a Date header that is not a time (${quoted(f.clock.header ?? '')}): the clock is not compared` });
  } else {
    const skew = (f.now.getTime() - f.clock.remote.getTime()) / 1000;
    const detail = `${Math.abs(skew).toFixed(0)} s ${skew >= 0 ? 'ahead of' : 'behind'} ${f.clock.source}`;
    if (Math.abs(skew) > 300) out.push({ check: 'clock', status: 'fail', detail, fix: 'set the time (timedatectl set-ntp true, or ntpdate); apt refuses Release files dated in the future and signatures made "in the future"' });
    else out.push({ check: 'clock', status: Math.abs(skew) > 60 ? 'warn' : 'ok', detail });
  }
  if (f.key) {
    const left = f.key.expires ? (f.key.expires.getTime() - f.now.getTime()) / DAY : Infinity;
    const detail = `${f.key.fingerprint}, ${f.key.expires ? `expires ${f.key.expires.toISOString().slice(0, 10)}` : 'does not expire'}`;
    const fix = `extend it: gpg --quick-set-expire ${f.key.fingerprint} 2y (in a GnuPG home holding state/archive-key.sec), then re-export public/archive-key.asc; clients need the new public key`;
    if (f.signingKey && f.signingKey !== f.key.fingerprint) {
      out.push({
        check: 'signing-key', status: 'fail', detail: `public/archive-key.asc holds ${f.key.fingerprint}, but the archive signs with ${f.signingKey} (state/archive-key.sec): apt refuses its Release files`,
        fix: `export the public key of state/archive-key.sec again (gpg --import it in a GnuPG home of its own, then gpg --armor --export ${f.signingKey} > public/archive-key.asc); clients need that key`,
      });
    } else if (f.key.revoked) {
      out.push({
        check: 'signing-key', status: 'fail', detail: `${detail}: revoked, apt refuses the archive`,
        fix: 'make a new key: archive down, move state/archive-key.sec and public/archive-key.asc aside, archive up (it makes a new key, as archive init does); clients need the new public key',
      });
    } else if (left < 0) out.push({ check: 'signing-key', status: 'fail', detail: `${detail}: expired, apt refuses the archive`, fix });
    else if (left < 30) out.push({ check: 'signing-key', status: 'warn', detail: `${detail}: ${Math.floor(left)} days left`, fix });
    else out.push({ check: 'signing-key', status: 'ok', detail });
  }
  for (const { suite, file, value, served } of f.validUntil?.suites ?? []) {
    const days = f.validUntil!.days;
    const check = `valid-until-${suite}`;
    if (!served) out.push({ check, status: 'warn', detail: `valid_until_days is ${days}, but ${file} has no Valid-Until yet`, fix: 'archive up (the queue re-signs on start)' });
    else if (Number.isNaN(served.getTime())) {
      out.push({ check, status: 'fail', detail: `${file}: Valid-Until ${quoted(value ?? '')} is not a date (expected one as "Sat, 05 Dec 2026 12:00:00 UTC"); apt refuses it`, fix: 'archive up: the queue signs the suites again on start' });
    } else {
      const left = (served.getTime() - f.now.getTime()) / DAY;
      const detail = `${file} is valid until ${served.toISOString()}`;
      if (left < 0) out.push({ check, status: 'fail', detail: `${detail}: expired, apt refuses it`, fix: 'archive up: the queue re-signs at half the validity while it runs' });
      else if (left < days / 2 - 1) out.push({ check, status: 'warn', detail: `${detail}; the queue should have re-signed it by now`, fix: 'archive status: is the queue running?' });
      else out.push({ check, status: 'ok', detail });
    }
  }
  for (const a of f.architectures ?? []) out.push(architectureFinding(a));
  return out;
}

/**
 * How builds for `a` run on this machine: natively (its own, or a compat architecture the kernel
 * runs itself), emulated (a qemu binfmt_misc handler with F, which takes precedence over the
 * kernel), or not at all (undefined; architectureFinding says why and the fix).
 */
export function runMode(a: ArchitectureFacts): 'native' | 'emulated' | undefined {
  if (a.arch === a.hostArch) return 'native';
  if (a.handler) return a.handler.enabled && a.handler.flags.includes('F') ? 'emulated' : undefined;
  return a.runsNatively ? 'native' : undefined;
}

export function architectureFinding(a: ArchitectureFacts): Finding {
  const check = `arch-${a.arch}`;
  const qemu = qemuName(a.arch);
  if (a.arch === a.hostArch) return { check, status: 'ok', detail: "this machine's own" };
  if (a.handler?.enabled && a.handler.flags.includes('F')) {
    return { check, status: 'ok', detail: `emulated, through binfmt_misc ${a.handler.name} (flags ${a.handler.flags}: works inside containers); builds take longer` };
  }
  if (a.handler?.enabled) {
    return {
      check, status: 'fail', detail: `binfmt_misc ${a.handler.name} has no F flag (flags "${a.handler.flags}"): inside a build container the kernel cannot find its interpreter`,
      fix: `apt-get install qemu-user-static binfmt-support (Debian's handlers carry F), or register ${a.handler.name} again with F`,
    };
  }
  if (a.handler) return { check, status: 'fail', detail: `binfmt_misc ${a.handler.name} is registered but disabled`, fix: `echo 1 > /proc/sys/fs/binfmt_misc/${a.handler.name}` };
  if (a.runsNatively) return { check, status: 'ok', detail: `runs natively: this ${a.hostArch} kernel runs ${a.arch} binaries itself (a probe binary ran)` };
  if (!qemu) return { check, status: 'unknown', detail: `no qemu emulator is known for ${a.arch}` };
  if (a.arch === 'i386' && a.hostArch === 'amd64') {
    return {
      check, status: 'fail', detail: 'this kernel runs no 32-bit binaries (a probe binary failed to start), and no qemu-i386 handler is registered',
      fix: `apt-get install qemu-user-static binfmt-support, then archive binfmt i386 (as root), which registers qemu-i386-static by hand, as Debian registers none for i386 on amd64: echo '${I386_BINFMT_REGISTRATION}' > /proc/sys/fs/binfmt_misc/register`,
    };
  }
  return {
    check, status: 'fail', detail: `no binfmt_misc handler qemu-${qemu}: ${a.arch} binaries cannot run here`,
    fix: `apt-get install qemu-user-static binfmt-support (it registers qemu-${qemu} with the F flag), then archive binfmt ${a.arch} (as root) where binfmt_misc was not mounted yet`,
  };
}
