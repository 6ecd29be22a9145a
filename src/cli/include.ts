// `archive include FILE.deb|FOLDER... [--suite S]`: prebuilt binary packages from elsewhere, as
// reprepro includedeb and aptly repo add take them. Each is checked like a build's artifact
// and marked as imported; a bad one is reported and the others go in.
import { readdir, stat } from 'node:fs/promises';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { MAX_INCLUDE_FILES } from '../core/queue-requests.js';
import { isPackageFileName } from '../debian/pool-path.js';
import { UserError } from '../errors.js';
import { AnchoredDir } from '../storage/anchored-dir.js';
import type { Layout } from '../storage/layout.js';
import { callerIsRoot } from '../storage/ownership.js';
import { requireArchive, type GlobalOptions } from './archive-root.js';
import { askQueue } from './request.js';

export function register(program: Command): void {
  program
    .command('include <files...>')
    .description('publish prebuilt .deb/.udeb files (or those in a folder) in a suite (marked as imported)')
    .option('--suite <suite>', 'the suite (default: the first in archive.yaml)')
    .option('--component <component>', "the component (default: from each package's Section, else the suite's first)")
    .option('--json', 'print the answer as JSON')
    .option('--timeout <seconds>', 'how long to wait for the queue', (v) => Number(v), 600)
    .addHelpText('after', '\nExamples:\n  archive include ../tool_1.2-1_amd64.deb\n  archive include dist/*.deb --suite testing --component contrib\n  archive include dist/   (every .deb and .udeb in it: more than a command line holds)\n')
    .action(async (files: string[], options: { suite?: string; component?: string; json?: boolean; timeout: number }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      // Node's old generation grown by half between full collections (the queue's by a fifth,
      // compose/compose.yaml), not to four times what it holds: copying 100,000 files, the CLI
      // peaked at 181-185 MiB for about 20 MiB live, above the queue. And its young generation
      // kept at the 2 MiB it starts with, not grown to 32 (--max-semi-space-size cannot be changed
      // once node runs; this can): 126-131 MiB, against 156-164 with the answer's list gone too.
      // Set here, once the modules are loaded: on node's command line, they cost every command
      // 10-15 ms of its start.
      setFlagsFromString('--heap-growing-percent=50');
      setFlagsFromString('--semi-space-growth-factor=1');
      const found = await packageFiles(files);
      if (found.length > MAX_INCLUDE_FILES) throw new UserError(`${found.length} files; one include brings at most ${MAX_INCLUDE_FILES} (include them in parts)`);
      refuseQueueUsersPaths(found, layout);
      const request = { action: 'include' as const, files: found, suite: options.suite, component: options.component, ...(options.json ? { listed: true } : {}) };
      await askQueue(layout, request, { timeoutS: options.timeout, json: options.json });
    });
}

/**
 * Run by root, a file reached through anything the queue's user owns (a folder of the archive
 * root, or a link in one, planted in place of a package) is refused before anything is read:
 * that user could point it at a file of root's (`incoming/x.deb -> /etc/shadow`) and read the
 * copy. The path is resolved a name at a time, links followed by hand, and every folder it
 * passes through looked at once: whoever owns one can change what its names lead to.
 */
function refuseQueueUsersPaths(files: string[], layout: Layout): void {
  if (!callerIsRoot()) return;
  const root = AnchoredDir.openRoot(layout);
  const { uid } = root.owner;
  root.close();
  if (uid === 0) return;
  // (A path that is not there, or runs through a file, is named by the reading that follows.)
  const look = (path: string) => {
    try {
      return lstatSync(path, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  };
  // Whatever that user can change: a folder it owns, or may write through a group of its, or one
  // all may write without the sticky bit (where anyone can swap a name).
  const groups = groupsOf(uid, root.owner.gid);
  const owned = new Map<string, boolean>();
  const isOwned = (folder: string) => {
    if (!owned.has(folder)) {
      const s = look(folder);
      owned.set(folder, !!s && (s.uid === uid || (!!(s.mode & 0o020) && groups.has(s.gid)) || (!!(s.mode & 0o002) && !(s.mode & 0o1000))));
    }
    return owned.get(folder)!;
  };
  /** Resolves `names` from the real folder `from` as the kernel would, '..' after links included; stops at a folder or link of that user's. */
  const walk = (from: string, names: string[]): { real?: string; through?: string } => {
    let at = from;
    const pending = [...names];
    for (let hops = 0; pending.length > 0; ) {
      const name = pending.shift()!;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        at = dirname(at);
        continue;
      }
      if (isOwned(at)) return { through: at };
      const next = join(at, name);
      const entry = look(next);
      if (!entry) return {};
      if (entry.isSymbolicLink()) {
        if (entry.uid === uid) return { through: next };
        if (hops++ > 40) return {};
        const target = readlinkSync(next);
        if (target.startsWith('/')) at = '/';
        pending.unshift(...target.split('/'));
        continue;
      }
      at = next;
    }
    return { real: at };
  };
  // Each folder as given (never normalised as text: `link/..` is where the link leads, then up), once.
  const folders = new Map<string, { real?: string; through?: string }>();
  const folder = (given: string) => {
    if (!folders.has(given)) folders.set(given, walk(isAbsolute(given) ? '/' : process.cwd(), given.split('/')));
    return folders.get(given)!;
  };
  // Which names of a folder (none of the queue's user's) are links: one listing for a thousand files.
  const links = new Map<string, Set<string> | undefined>();
  const isLink = (real: string, name: string) => {
    if (!links.has(real)) {
      try {
        links.set(real, new Set(readdirSync(real, { withFileTypes: true }).filter((e) => e.isSymbolicLink()).map((e) => e.name)));
      } catch {
        links.set(real, undefined);
      }
    }
    return links.get(real)?.has(name) ?? true;
  };
  for (const file of files) {
    const dir = folder(dirname(file));
    const name = basename(file);
    let through = dir.through;
    // The file's own folder too: its owner can swap the file for a link once it is looked at.
    if (!through && dir.real !== undefined) through = isOwned(dir.real) ? dir.real : isLink(dir.real, name) ? walk(dir.real, [name]).through : undefined;
    if (through) {
      throw new UserError(`${file}: reached through ${through}, which the queue's user (uid ${uid}) owns or may write; run by root, include reads no file by a path that user controls (copy it elsewhere first, or run include as that user)`);
    }
  }
}

/** The groups a user is in: its primary group, and those /etc/group lists it in (by its name in /etc/passwd). */
function groupsOf(uid: number, gid: number): Set<number> {
  const groups = new Set([gid]);
  const lines = (file: string) => {
    try {
      return readFileSync(file, 'utf8').split('\n').map((l) => l.split(':'));
    } catch {
      return [];
    }
  };
  const name = lines('/etc/passwd').find((f) => f[2] === String(uid))?.[0];
  if (name) for (const f of lines('/etc/group')) if ((f[3] ?? '').split(',').includes(name)) groups.add(Number(f[2]));
  return groups;
}

/**
 * The files named, a folder standing for the .deb and .udeb files in it (as aptly repo add takes
 * one), in name order. A file named otherwise is refused before anything is copied: a copy is
 * readable by all (`archive include out/*` run by root would give away a key beside the .debs).
 */
async function packageFiles(args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const arg of args) {
    if (!(await stat(arg).then((s) => s.isDirectory(), () => false))) {
      if (!isPackageFileName(basename(arg))) throw new UserError(`${arg}: not a .deb or .udeb file name (NAME_VERSION_ARCH.deb, no leading dot or dash); nothing was copied`);
      files.push(arg);
      continue;
    }
    const found = (await readdir(arg)).filter(isPackageFileName).sort();
    if (found.length === 0) throw new UserError(`${arg}: a folder without .deb or .udeb files in it`);
    for (const n of found) files.push(join(arg, n));
  }
  return files;
}
