// Who owns an archive root, and so which user the queue (the only writer of state/ and public/)
// runs as: the caller; or, when the caller is root (CI, sudo), the root folder's owner if that is
// not root, else a fixed unprivileged uid. The queue never runs as root, and the CLI run by root
// hands what it writes under the root (the root itself at init, request files) to that user,
// through descriptors of files it made (storage/anchored-dir.ts), never by path.
import { fchownSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Layout } from './layout.js';

/** The queue's uid and gid when root runs the CLI on a root-owned archive root. */
export const SERVICE_UID = 10001;

export interface Owner {
  uid: number;
  gid: number;
}

export const callerIsRoot = () => (process.getuid?.() ?? 0) === 0;

export async function serviceOwner(layout: Layout): Promise<Owner> {
  return ownerOf(await stat(layout.root).catch(() => undefined));
}

/** The owner for a root folder with these facts (undefined: not made yet). */
export function ownerOf(root: Owner | undefined): Owner {
  if (!callerIsRoot()) return { uid: process.getuid!(), gid: process.getgid!() };
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

