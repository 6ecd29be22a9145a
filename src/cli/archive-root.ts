// Which archive root a command works on. Kept apart from archive-context.ts (which reads
// archive.yaml and the compose file) so that the commands that only leave a request for the
// queue start without loading the YAML parser: `archive include` of one .deb is timed.
import { UserError } from '../errors.js';
import { AnchoredDir } from '../storage/anchored-dir.js';
import { exists } from '../storage/files.js';
import { readStateAsOwner } from '../storage/open-regular-file.js';
import { callerIsRoot } from '../storage/ownership.js';
import { Layout, defaultRoot } from '../storage/layout.js';

export interface GlobalOptions {
  root?: string;
}

export function layoutFor(options: GlobalOptions): Layout {
  return new Layout(options.root ?? defaultRoot(process.env));
}

/** The layout of an initialised root, or a UserError saying how to make one. */
export async function requireArchive(options: GlobalOptions): Promise<Layout> {
  const layout = layoutFor(options);
  if (!(await exists(layout.config))) throw noArchive(layout);
  // Run by root, every file of the state read from now on must be the queue's user's, the owner
  // of the root (a FIFO, a link or a hard link to a file of root's: refused unread;
  // storage/open-regular-file.ts openStateFile).
  if (callerIsRoot()) {
    const root = AnchoredDir.openRoot(layout);
    readStateAsOwner(root.owner.uid);
    root.close();
  }
  return layout;
}

export function noArchive(layout: Layout): UserError {
  return new UserError(`no archive at ${layout.root} (${layout.config} is missing); run \`archive up --root ${layout.root}\` first`);
}
