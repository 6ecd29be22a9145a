// `archive service install|uninstall`: a systemd unit that brings this root's archive up at
// boot and down at shutdown, for hosts that run it permanently.
import { lstatSync, readdirSync, realpathSync, type Stats } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { serviceUnit, serviceUnitName } from '../core/service-unit.js';
import { UserError } from '../errors.js';
import { run } from '../process/run.js';
import { exists } from '../storage/files.js';
import { callerIsRoot } from '../storage/ownership.js';
import { layoutFor, loadConfig, progress, projectName, type GlobalOptions } from './archive-context.js';

const CLI = fileURLToPath(new URL('../../bin/archive.js', import.meta.url));
const CHECKOUT = dirname(dirname(CLI));

/**
 * The first of what root's unit would run that a user other than root could change: a folder on
 * the way to `tree` or to node, or anything in `tree` but its .git (the program, its modules,
 * the compose file and the images' build contexts, which run as root in the builder), or what a
 * link there leads to (and, for a folder, everything in it), that is not root's or that its group
 * or everyone may write (a folder everyone may write with the sticky bit set, as /tmp, is root's
 * to keep); undefined when there is none.
 */
export function changeableByOthers(tree: string, node: string): string | undefined {
  const bad = (s: Stats) => s.uid !== 0 || (!s.isSymbolicLink() && (s.mode & 0o022) !== 0 && !(s.isDirectory() && (s.mode & 0o1000) !== 0));
  const ancestors = (path: string) => {
    const out: string[] = [];
    for (let at = path; ; at = dirname(at)) {
      out.push(at);
      if (dirname(at) === at) return out;
    }
  };
  const checked = (path: string) => ancestors(path).find((at) => bad(lstatSync(at)));
  const onTheWay = checked(tree) ?? checked(realpathSync(node));
  if (onTheWay) return onTheWay;
  const realTree = realpathSync(tree);
  // The folders outside the tree that links lead to, each walked once: links that lead to each
  // other (or back to the tree) would walk for ever.
  const walked = new Set<string>([realTree]);
  const walk = (path: string): string | undefined => {
    const s = lstatSync(path, { throwIfNoEntry: false });
    if (!s) return undefined;
    if (bad(s)) return path;
    // A link leading out of the tree: where it leads, and the folders on the way, count too; a
    // folder it leads to (node_modules/x -> ../../x) is walked as the tree is, as what is in it runs.
    if (s.isSymbolicLink()) {
      let target: string;
      try {
        target = realpathSync(path);
      } catch {
        return undefined; // leads nowhere: nothing runs from it
      }
      if (target.startsWith(`${realTree}/`)) return undefined;
      const found = checked(target);
      if (found || walked.has(target)) return found;
      walked.add(target);
      return walk(target);
    }
    if (!s.isDirectory()) return undefined;
    for (const name of readdirSync(path)) {
      if (path === tree && name === '.git') continue;
      const found = walk(join(path, name));
      if (found) return found;
    }
    return undefined;
  };
  return walk(tree);
}

/** systemctl, when systemd runs this host (not in a container or chroot). */
async function systemctl(args: string[]): Promise<boolean> {
  if (!(await exists('/run/systemd/system'))) return false;
  await run('systemctl', args);
  return true;
}

export function register(program: Command): void {
  const service = program.command('service').description('run the archive as a systemd service (up at boot, down at shutdown)');
  service
    .command('install')
    .description('write and enable a systemd unit for this root')
    .option('--unit-dir <dir>', 'where to write the unit', '/etc/systemd/system')
    .addHelpText('after', '\nExamples:\n  sudo archive --root /srv/archive service install\n  systemctl status archive-in-a-box-*\n')
    .action(async (options: { unitDir: string }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      // The unit runs this checkout as root at every boot: none of it may be another user's to change.
      if (callerIsRoot()) {
        const open = changeableByOthers(CHECKOUT, process.execPath);
        if (open) throw new UserError(`${open}: a user other than root could change it, and the unit would run it as root at every boot; install this tool where only root can write (chown -R root: and chmod go-w), then install the unit from there`);
      }
      const name = serviceUnitName(projectName(layout, config));
      const path = join(options.unitDir, name);
      const text = serviceUnit({ project: projectName(layout, config), root: layout.root, node: process.execPath, cli: CLI });
      const held = await readFile(path, 'utf8').catch(() => undefined);
      if (held !== undefined && !held.startsWith('# Written by archive service install')) {
        throw new UserError(`${path} exists and was not written by archive service install; remove it first`);
      }
      await mkdir(options.unitDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
        throw new UserError(`cannot make ${options.unitDir} (${err.code}); run as root, or pass --unit-dir`);
      });
      await writeFile(path, text).catch((err: NodeJS.ErrnoException) => {
        throw new UserError(`cannot write ${path} (${err.code}); run as root, or pass --unit-dir`);
      });
      progress(`wrote ${path}`);
      if (options.unitDir === '/etc/systemd/system' && (await systemctl(['daemon-reload'])) && (await systemctl(['enable', name]))) {
        console.log(`${name} enabled: the archive comes up at boot. Start it now with: systemctl start ${name}`);
      } else {
        console.log(`${path} written; systemd does not run here (or the unit is elsewhere): enable it with systemctl enable ${name} where it does`);
      }
    });
  service
    .command('uninstall')
    .description('disable and remove the unit (the archive keeps running until archive down)')
    .addHelpText('after', '\nExamples:\n  sudo archive --root /srv/archive service uninstall\n')
    .option('--unit-dir <dir>', 'where the unit is', '/etc/systemd/system')
    .action(async (options: { unitDir: string }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      const name = serviceUnitName(projectName(layout, config));
      const path = join(options.unitDir, name);
      if (!(await exists(path))) throw new UserError(`no unit ${path}: nothing to uninstall`);
      if (options.unitDir === '/etc/systemd/system') await systemctl(['disable', name]);
      await rm(path);
      if (options.unitDir === '/etc/systemd/system') await systemctl(['daemon-reload']);
      console.log(`${name} removed`);
    });
}
