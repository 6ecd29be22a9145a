// Root running the CLI on an archive root that the queue's user owns must never follow a path
// that user controls (issue 17): a folder swapped for a link, or a link planted where root
// writes, would make root write, chown or read a file anywhere. So the root and each folder
// below it are opened without following links, each from the open folder above it, held open
// while root works in them, and checked to be the queue's user's; files are made new (O_EXCL,
// O_NOFOLLOW) in a held folder and given away through their own descriptor; nothing that exists
// is chowned by path. Node has no openat(2): a path /proc/self/fd/N/NAME is resolved by the
// kernel from the open folder N, wherever that folder has been moved meanwhile, so opening it
// with O_NOFOLLOW is openat(N, NAME, O_NOFOLLOW). What root makes gets its mode through its
// descriptor too, whatever root's umask: `sudo archive up` under umask 077 made public/ 0700 and
// its key 0600, which the repository's nginx (another user) then refused to serve.
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { UserError } from '../errors.js';
import { readFullySync } from './files.js';
import type { Layout } from './layout.js';
import { callerIsRoot, giveOpenFile, ownerOf, type Owner } from './ownership.js';
import { writeFileAtomic } from './json-files.js';

const { O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;

export class AnchoredDir {
  private constructor(
    /** Where it was when opened: for messages only, never opened again. */
    readonly path: string,
    private readonly fd: number,
    /** Who the queue runs as: the owner of every folder below the root, and of what root makes. */
    readonly owner: Owner,
    private readonly root: string,
  ) {}

  /**
   * The archive root, opened. `init` makes it first when missing, and gives it to the queue's
   * user when it is root's (made now, or by an administrator); nothing below it changes owner.
   */
  static openRoot(layout: Layout, o: { init?: boolean } = {}): AnchoredDir {
    // Its parents are the caller's choice, and so is a root given as a link, unless the caller
    // is root: then a link there may be the queue's user's, and the root must be a real folder.
    // mkdirSync names the first folder it made: one is named only when the root itself was made now.
    const made = o.init && mkdirSync(layout.root, { recursive: true }) !== undefined;
    const fd = openFolder(layout.root, layout.root, callerIsRoot() ? O_NOFOLLOW : 0, 'give the folder it points to as --root');
    // Made now: 0755 as the folders below it, whatever the umask (an existing root keeps its mode,
    // and parents made with it theirs: the caller's choice, as above).
    if (made) fchmodSync(fd, 0o755);
    const facts = fstatSync(fd);
    const owner = ownerOf(facts);
    if (o.init && facts.uid !== owner.uid) giveOpenFile(fd, owner);
    return new AnchoredDir(layout.root, fd, owner, layout.root);
  }

  /**
   * The regular file at `path` under the archive root, read through the root and each folder
   * held open (readFile); undefined when there is none.
   */
  static readUnderRoot(layout: Layout, path: string): Buffer | undefined {
    const root = AnchoredDir.openRoot(layout);
    try {
      const dir = root.dir(relative(layout.root, dirname(path)));
      try {
        return dir.readFile(basename(path));
      } finally {
        dir.close();
      }
    } finally {
      root.close();
    }
  }

  /** What the kernel resolves as this folder, whatever its path is now. */
  get anchor(): string {
    return `/proc/self/fd/${this.fd}`;
  }

  /** What the kernel resolves as `name` inside this folder. */
  at(name: string): string {
    if (!name || name === '.' || name === '..' || name.includes('/')) throw new Error(`${name}: not a single file name`);
    return `${this.anchor}/${name}`;
  }

  /**
   * The folder `relative` (names separated by /) below this one, opened one name at a time
   * without following links; `create` makes missing ones, the queue's user's. Close it after use.
   */
  dir(relative: string, o: { create?: boolean } = {}): AnchoredDir {
    const names = relative.split('/').filter((n) => n && n !== '.');
    // This folder again, as a descriptor of its own to close.
    if (!names.length) return new AnchoredDir(this.path, openFolder(this.anchor, this.path, 0, NEVER_MADE), this.owner, this.root);
    let current: AnchoredDir = this;
    for (const name of names) {
      const path = join(current.path, name);
      let fd: number;
      try {
        fd = openFolder(current.at(name), path, O_NOFOLLOW, NEVER_MADE);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !o.create) throw err;
        let made = true;
        try {
          mkdirSync(current.at(name), 0o755);
        } catch (failed) {
          if ((failed as NodeJS.ErrnoException).code !== 'EEXIST') throw failed;
          made = false;
        }
        fd = openFolder(current.at(name), path, O_NOFOLLOW, NEVER_MADE);
        // 0755 whatever the umask took off: the repository's nginx reads public/ as another user.
        if (made) fchmodSync(fd, 0o755);
        // Made by root a moment ago, or by the queue's user meanwhile: either way, theirs.
        giveOpenFile(fd, this.owner);
      }
      const next = new AnchoredDir(path, fd, this.owner, this.root);
      if (current !== this) current.close();
      current = next;
      current.checkOwner();
    }
    return current;
  }

  /** Whether a regular file `name` is here; anything else by that name (a link) is an error. */
  hasFile(name: string): boolean {
    try {
      this.checkFile(name, lstatSync(this.at(name)));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * The regular file `name`, never read through a link, of at most `limit` bytes (the queue's
   * user can make any file here as large as the disk); undefined when there is none.
   */
  readFile(name: string, limit = MAX_READ_BYTES): Buffer | undefined {
    let fd: number;
    try {
      // O_NONBLOCK: a FIFO planted there must not hang the command until it is refused below.
      fd = openSync(this.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP') throw this.notAFile(name, true);
      throw err;
    }
    try {
      const facts = fstatSync(fd);
      this.checkFile(name, facts);
      if (facts.size > limit) throw new UserError(`${join(this.path, name)}: ${facts.size} bytes; expected at most ${limit} (remove it; the archive never makes one that large)`);
      // As long as it was then: one growing meanwhile is not read on past the limit.
      const data = Buffer.alloc(facts.size);
      return data.subarray(0, readFullySync(fd, data, data.length));
    } finally {
      closeSync(fd);
    }
  }

  /** Writes `name` atomically as a new file of the queue's user, made with `mode`. */
  writeFile(name: string, data: string | Buffer, mode = 0o644): Promise<void> {
    return writeFileAtomic(this.at(name), data, { mode, owner: this.owner });
  }

  /**
   * Opens `name` to append to, made (the queue's user's) when missing; close the descriptor after
   * use. `olderRootFile`: `name` may be a file of root's with one name, as logs/image-builds.log
   * is when versions before issue 17 appended to it as root (after init had given the tree away):
   * only appended to, never read, and left root's.
   */
  openAppend(name: string, o: { olderRootFile?: boolean } = {}): number {
    const flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK;
    let fd: number;
    // Made new (O_EXCL) and given away, or opened as it is and checked: only a file made here a
    // moment ago changes owner, never one that was there (an older root file given to the queue's
    // user could be a planted second name of a root-only file).
    let made = true;
    try {
      try {
        fd = openSync(this.at(name), flags | O_CREAT | O_EXCL, 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        made = false;
        fd = openSync(this.at(name), flags);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw this.notAFile(name, true);
      throw err;
    }
    try {
      if (made) {
        giveOpenFile(fd, this.owner);
        fchmodSync(fd, 0o644);
      } else this.checkFile(name, fstatSync(fd), o.olderRootFile);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }

  /** Removes `name` (a link itself, never what it points to); gone already is fine. */
  remove(name: string): void {
    try {
      unlinkSync(this.at(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Run by root, a folder below the root must be the queue's user's: what else is there was not made by this program. */
  private checkOwner(): void {
    const { uid } = fstatSync(this.fd);
    if (!callerIsRoot() || uid === this.owner.uid) return;
    this.close();
    throw new UserError(`${this.path}: belongs to uid ${uid}, not to the queue's user (uid ${this.owner.uid}), who owns all of ${this.root}; give it back with: chown -R ${this.owner.uid}:${this.owner.gid} ${this.root}`);
  }

  /**
   * A regular file, and, run by root, the queue's user's: O_NOFOLLOW does not stop a hard link,
   * which that user can make to root's files where protected_hardlinks is off, and a link count
   * of 1 proves nothing (once the original name is replaced, as passwd does to /etc/shadow, the
   * planted name is the only one left). `olderRootFile`: a file of root's with one name is
   * accepted, for the one file an older version left as root's (see openAppend).
   */
  private checkFile(name: string, facts: Stats, olderRootFile = false): void {
    if (!facts.isFile()) throw this.notAFile(name, facts.isSymbolicLink());
    if (!callerIsRoot() || facts.uid === this.owner.uid) return;
    if (olderRootFile && facts.uid === 0 && facts.nlink === 1) return;
    const what = facts.nlink > 1 ? 'a hard link to a file of' : 'a file of';
    throw new UserError(`${join(this.path, name)}: ${what} uid ${facts.uid}; expected a file of the archive, the queue's user's (uid ${this.owner.uid}) (${NEVER_MADE})`);
  }

  private notAFile(name: string, link: boolean): UserError {
    return new UserError(`${join(this.path, name)}: ${link ? 'a symbolic link' : 'not a regular file'}; expected a regular file of the archive (${NEVER_MADE})`);
  }
}

const NEVER_MADE = 'remove it; the archive never makes one';

/** The largest file of the archive the CLI reads: an answer listing 200,000 included packages is about 24 MB. */
export const MAX_READ_BYTES = 64 * 1024 * 1024;

/** Opens a folder; a link (when not followed) or anything else is an error naming `shown`, with `fix`. */
function openFolder(path: string, shown: string, flags: number, fix: string): number {
  try {
    return openSync(path, O_RDONLY | O_DIRECTORY | flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
    const link = code === 'ELOOP' || lstatSync(path).isSymbolicLink();
    throw new UserError(`${shown}: ${link ? 'a symbolic link' : 'not a folder'}; expected a folder of the archive (${fix})`);
  }
}
