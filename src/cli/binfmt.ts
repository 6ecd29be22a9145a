// `archive binfmt [ARCH...]` (as root): registers the qemu-user handlers that the architectures
// the suites build for need here, as archive doctor's fixes say: Debian's own (update-binfmts,
// from qemu-user-static and binfmt-support), and qemu-i386 by hand on an amd64 kernel that runs
// no 32-bit binaries (Debian registers none), kept for the next boot in /etc/binfmt.d/.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { architectureFinding, runMode } from '../core/doctor.js';
import { I386_BINFMT_REGISTRATION, QEMU_NAMES, qemuName } from '../debian/architectures.js';
import { UserError } from '../errors.js';
import { architectureFacts } from '../process/architectures.js';
import { run } from '../process/run.js';
import { exists } from '../storage/files.js';
import { layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';

const BINFMT = '/proc/sys/fs/binfmt_misc';

export function register(program: Command): void {
  program
    .command('binfmt [architectures...]')
    .description("register the qemu handlers these architectures need to run here (default: the suites'); as root")
    .addHelpText('after', '\nNeeds qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support).\n\nExamples:\n  sudo archive binfmt              # what archive.yaml\'s suites build for\n  sudo archive binfmt i386 arm64\n')
    .action(async (given: string[], _o: object, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const architectures = given.length > 0 ? given : (await exists(layout.config)) ? [...new Set((await loadConfig(layout)).suites.flatMap((s) => s.architectures))] : [];
      if (architectures.length === 0) throw new UserError(`no architectures given, and no archive.yaml at ${layout.config} to take them from`);
      const unknown = architectures.find((a) => !qemuName(a));
      if (unknown) throw new UserError(`${unknown}: no qemu emulator is known for it (known: ${Object.keys(QEMU_NAMES).join(', ')})`);
      if (!existsSync(`${BINFMT}/register`)) await run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
      for (const a of await architectureFacts(architectures)) {
        if (runMode(a)) continue;
        const qemu = qemuName(a.arch)!;
        if (!existsSync(`/usr/bin/qemu-${qemu}-static`)) throw new UserError(`${a.arch}: /usr/bin/qemu-${qemu}-static is missing; apt-get install qemu-user-static binfmt-support`);
        if (a.handler && !a.handler.enabled) {
          await writeFile(`${BINFMT}/${a.handler.name}`, '1');
        } else if (a.arch === 'i386' && a.hostArch === 'amd64' && !a.handler) {
          await writeFile(`${BINFMT}/register`, I386_BINFMT_REGISTRATION);
          await mkdir('/etc/binfmt.d', { recursive: true });
          await writeFile('/etc/binfmt.d/qemu-i386.conf', `# archive-in-a-box: i386 under qemu (this kernel runs no 32-bit binaries)\n${I386_BINFMT_REGISTRATION}\n`);
        } else {
          await run('update-binfmts', ['--enable', `qemu-${qemu}`]);
        }
      }
      let failed = 0;
      for (const a of await architectureFacts(architectures)) {
        const mode = runMode(a);
        if (!mode) failed++;
        console.log(`${a.arch}: ${mode ?? `cannot run: ${architectureFinding(a).detail}`}`);
      }
      if (failed > 0) throw new UserError(`${failed} architecture(s) still cannot run here`);
    });
}
