// Who owns an archive root, and so which user the queue (the only writer of state/ and public/)
// runs as: the caller; or, when the caller is root (CI, sudo), the root folder's owner if that is
// not root, else a fixed unprivileged uid. The queue never runs as root, and the CLI run by root
// hands what it writes under the root (the root itself at init, request files) to that user.
import { fchownSync } from 'node:fs';
import { lchown, lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Layout } from './layout.js';

/** The queue's uid and gid when root runs the CLI on a root-owned archive root. */
export const SERVICE_UID = 10001;

export interface Owner {
  uid: number;
  gid: number;
}

const callerIsRoot = () => (process.getuid?.() ?? 0) === 0;

export async function serviceOwner(layout: Layout): Promise<Owner> {
  if (!callerIsRoot()) return { uid: process.getuid!(), gid: process.getgid!() };
  const root = await stat(layout.root).catch(() => undefined);
  if (root && root.uid !== 0) return { uid: root.uid, gid: root.gid };
  return { uid: SERVICE_UID, gid: SERVICE_UID };
}

/**
 * Gives a file the caller just made, open as `fd`, to `owner` (one fchown; nothing to do unless
 * root). Synchronous: a quick system call, made for many files in a row (see readIfSmallSync).
 */
export function giveOpenFile(fd: number, owner: Owner): void {
  if (callerIsRoot() && owner.uid !== 0) fchownSync(fd, owner.uid, owner.gid);
}

/**
 * Gives `path` and everything under it to `owner` (links themselves, never what they point
 * to). Only root can, and only root needs to: any other caller is the owner already.
 */
export async function handOver(path: string, owner: Owner): Promise<void> {
  if (!callerIsRoot()) return;
  try {
    const facts = await lstat(path);
    if (facts.uid !== owner.uid || facts.gid !== owner.gid) await lchown(path, owner.uid, owner.gid);
    if (!facts.isDirectory()) return;
    for (const name of await readdir(path)) await handOver(join(path, name), owner);
  } catch (err) {
    // A running queue removes its temporary files meanwhile: gone is fine.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
