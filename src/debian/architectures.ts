// Debian architectures as the kernel and qemu know them: which qemu-user binary emulates each
// (its binfmt_misc handler is named qemu-NAME), which a host's kernel may run itself (compat
// modes: i386 on amd64), and the binfmt_misc entry Debian does not register for i386 on amd64.

/** Debian architecture -> qemu's name for it (qemu-NAME-static, binfmt_misc entry qemu-NAME). */
export const QEMU_NAMES: Record<string, string> = {
  amd64: 'x86_64',
  i386: 'i386',
  arm64: 'aarch64',
  armhf: 'arm',
  armel: 'arm',
  ppc64el: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64el: 'mips64el',
  loong64: 'loongarch64',
};

/** qemu's name for a Debian architecture; undefined for one it has none for (an own entry only: not "constructor"). */
export function qemuName(arch: string): string | undefined {
  return Object.hasOwn(QEMU_NAMES, arch) ? QEMU_NAMES[arch] : undefined;
}

/** Architectures a kernel of the key's may run without emulation, if it was built to. */
export const COMPAT_ARCHITECTURES: Record<string, string[]> = { amd64: ['i386'], arm64: ['armhf', 'armel'] };

/**
 * What to write to /proc/sys/fs/binfmt_misc/register for i386 on an amd64 host whose kernel
 * runs no 32-bit binaries: qemu's own magic and mask for i386 ELF (qemu-binfmt-conf.sh), and F,
 * so that the handler works inside containers too. Debian's qemu-user-static registers none.
 */
export const I386_BINFMT_REGISTRATION =
  ':qemu-i386:M::\\x7fELF\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x03\\x00:\\xff\\xff\\xff\\xff\\xff\\xfe\\xfe\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/bin/qemu-i386-static:F';

/** Debian architecture -> the platform Docker records for an image of it (os/arch[/variant]). */
export const DOCKER_PLATFORMS: Record<string, string> = {
  amd64: 'linux/amd64',
  i386: 'linux/386',
  arm64: 'linux/arm64',
  armhf: 'linux/arm/v7',
  armel: 'linux/arm/v5',
  ppc64el: 'linux/ppc64le',
  s390x: 'linux/s390x',
  riscv64: 'linux/riscv64',
  mips64el: 'linux/mips64le',
  loong64: 'linux/loong64',
};

/** The engine's architecture (docker info's, uname -m's) as Debian names it. */
export function debianArchitectureOf(machine: string): string | undefined {
  const found = Object.entries(QEMU_NAMES).find(([arch, qemu]) => qemu === machine && arch !== 'armel');
  if (found) return found[0];
  return { i686: 'i386', armv7l: 'armhf', arm64: 'arm64', x86_64: 'amd64' }[machine];
}

/**
 * Whether `arch` runs on a `host` kernel without a binfmt_misc emulator: the host's own, or a
 * compat architecture that a probe binary showed the kernel runs (`compatRuns`).
 */
export function runsWithoutEmulation(arch: string, host: string, compatRuns: boolean): boolean {
  return arch === host || (compatRuns && !!COMPAT_ARCHITECTURES[host]?.includes(arch));
}

/** Debian architecture -> its CPU in dpkg's tuples (cputable), where the two names differ: any-arm covers armhf and armel. */
export const DEBIAN_CPUS: Record<string, string> = { armhf: 'arm', armel: 'arm' };
