// Waiting for something to appear in a folder: woken by the kernel (inotify, through fs.watch)
// as soon as anything in it changes, and after a while anyway, for file systems that send no
// events (NFS) and for a folder that cannot be watched.
import { watch, type FSWatcher } from 'node:fs';

export class FolderWatch {
  private readonly watcher: FSWatcher | undefined;
  /** A change came since the last look began. */
  private changed = false;
  private wake = (): void => undefined;

  constructor(path: string) {
    try {
      this.watcher = watch(path, { persistent: false }, () => {
        this.changed = true;
        this.wake();
      }).on('error', () => undefined);
    } catch {
      this.watcher = undefined;
    }
  }

  /** Call before looking at the folder: then `next` returns at once for a change made while looking. */
  looking(): void {
    this.changed = false;
  }

  /** Resolves at the folder's next change (or one made since `looking`), or after `ms`. */
  next(ms: number): Promise<void> {
    if (this.changed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  close(): void {
    this.watcher?.close();
  }
}
