// Where each Packages and Sources text is kept between publications: under
// state/index-texts/<its path in the generation>/, in a file named after the generation that
// wrote it. The next publication copies its unchanged chunks and makes its patch from there.
// A large index's text is not published (apt fetches the .xz and checks what it unpacks against
// Release; dak publishes none for Debian's), so it need not be a new file each time: a new text is
// written over an older generation's file, renamed to the new generation's name, whose pages the
// kernel holds already (new pages of the page cache cost this machine about 3 ms a MB; the README's
// publishing section has the figures). The file the previous generation names is never written:
// a publication that fails leaves it as it was.
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class IndexTexts {
  constructor(private readonly dir: string) {}

  /** The file holding index `key`'s text as generation `generation` wrote it. */
  path(key: string, generation: string): string {
    return join(this.dir, key, generation);
  }

  /**
   * The file generation `generation` writes index `key`'s text into: another generation's than
   * `previous` (the one whose text the next publication starts from), renamed, or a new one. Any
   * other is removed: two texts of an index are kept at most.
   */
  async claim(key: string, previous: string | undefined, generation: string): Promise<string> {
    const dir = join(this.dir, key);
    await mkdir(dir, { recursive: true });
    const spare = (await readdir(dir)).filter((name) => name !== previous && name !== generation);
    const path = this.path(key, generation);
    if (spare.length > 0) await rename(join(dir, spare[0]), path);
    for (const name of spare.slice(1)) await rm(join(dir, name), { recursive: true, force: true });
    return path;
  }

  /** Removes the texts of indices the served generation no longer has. */
  async forget(keys: string[]): Promise<void> {
    for (const key of keys) await rm(join(this.dir, key), { recursive: true, force: true });
  }
}
