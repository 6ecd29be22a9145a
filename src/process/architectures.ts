// Which architectures this machine's kernel runs, and how: its own (dpkg), a compat mode found by
// running a tiny binary (i386 on amd64: not every kernel is built for it), or a binfmt_misc
// handler (qemu-user). What `archive doctor` judges (core/doctor.ts).
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArchitectureFacts } from '../core/doctor.js';
import { COMPAT_ARCHITECTURES, qemuName } from '../debian/architectures.js';
import { hostArchitecture } from './debian-tools.js';

export interface BinfmtHandler {
  name: string;
  enabled: boolean;
  /** binfmt_misc's flags (F: the interpreter is opened at registration, so it works in containers). */
  flags: string;
}

/** The binfmt_misc handler qemu-NAME for `arch`, when one is registered (and binfmt_misc is mounted). */
export async function binfmtHandler(arch: string, root = '/proc/sys/fs/binfmt_misc'): Promise<BinfmtHandler | undefined> {
  const qemu = qemuName(arch);
  if (!qemu) return undefined;
  const name = `qemu-${qemu}`;
  const text = await readFile(join(root, name), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return { name, enabled: /^enabled$/m.test(text), flags: /^flags:[ \t]*(\S*)/m.exec(text)?.[1] ?? '' };
}

/**
 * A static i386 ELF of 94 bytes that exits with 7 (mov ebx,7; xor eax,eax; inc eax; int 0x80),
 * made by hand: whether the kernel runs it says whether i386 runs here without qemu.
 */
const I386_EXIT_7 = Buffer.from('f0VMRgEBAQAAAAAAAAAAAAIAAwABAAAAVIAECDQAAAAAAAAAAAAAADQAIAABAAAAAAAAAAEAAAAAAAAAAIAECACABAheAAAAXgAAAAUAAAAAEAAAuwcAAAAxwEDNgA==', 'base64');
const PROBES: Record<string, Buffer> = { i386: I386_EXIT_7 };

/**
 * Whether the kernel runs `arch`'s binaries itself: only a compat architecture of the host's
 * with a probe is tried (i386 on amd64); undefined when not tried. Meaningful only with no
 * binfmt_misc handler for it, which would run the probe instead.
 */
export async function runsNatively(arch: string, host: string): Promise<boolean | undefined> {
  const probe = PROBES[arch];
  if (!probe || !COMPAT_ARCHITECTURES[host]?.includes(arch)) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'aib-arch-probe-'));
  try {
    const file = join(dir, `probe-${arch}`);
    await writeFile(file, probe);
    await chmod(file, 0o700);
    const code = await new Promise<number | string>((resolve) => {
      execFile(file, { timeout: 10_000 }, (err) => resolve(err ? ((err as { code?: number | string }).code ?? 'error') : 0));
    });
    return code === 7;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How this machine runs each architecture: its own, natively (a probe), or through a qemu handler. */
export async function architectureFacts(architectures: string[]): Promise<ArchitectureFacts[]> {
  const hostArch = await hostArchitecture();
  return Promise.all(
    architectures.map(async (arch) => {
      const handler = arch === hostArch ? undefined : await binfmtHandler(arch);
      return { arch, hostArch, handler, runsNatively: arch === hostArch || handler ? undefined : await runsNatively(arch, hostArch) };
    }),
  );
}
