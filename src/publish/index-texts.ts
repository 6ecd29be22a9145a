// Where each Packages and Sources text is kept between publications: under
// state/index-texts/<its path in the generation>/, in a file named after the generation that
// wrote it. The next publication copies its unchanged chunks and makes its patch from there.
// A large index's text is not published (apt fetches the .xz and checks what it unpacks against
// Release; dak publishes none for Debian's), so it need not be a new file each time: a new text is
// written over an older generation's file, renamed to the new generation's name, whose pages the
// kernel holds already (new pages of the page cache cost this machine about 3 ms a MB; the README's
// publishing section has the figures). The file the previous generation names is never written:
// a publication that fails leaves it as it was. Between publications the queue makes that older
// file a copy of the served text (`prepareSpares`), so the next text is written over it from its
// first changed chunk on, and nothing before that is copied while a request waits.
import { constants, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { copyHead, type TextBuffers } from './index-text.js';

/** Ends the name of a copy of the text of the generation its name begins with. */
const COPY = '+copy';

export class IndexTexts {
  constructor(private readonly dir: string) {}

  /** The file holding index `key`'s text as generation `generation` wrote it. */
  path(key: string, generation: string): string {
    return join(this.dir, key, generation);
  }

  /**
   * The file generation `generation` writes index `key`'s text into: another generation's than
   * `previous` (the one whose text the next publication starts from), renamed, or a new one; a
   * copy of `previous`'s text when there is one (`holdsPrevious`). Any other is removed: an index
   * has two texts at most.
   */
  async claim(key: string, previous: string | undefined, generation: string): Promise<{ path: string; holdsPrevious: boolean }> {
    const dir = join(this.dir, key);
    await mkdir(dir, { recursive: true });
    const spare = (await readdir(dir)).filter((name) => name !== previous && name !== generation);
    const copy = previous !== undefined && spare.includes(`${previous}${COPY}`) ? `${previous}${COPY}` : spare[0];
    const path = this.path(key, generation);
    if (copy !== undefined) await rename(join(dir, copy), path);
    for (const name of spare.filter((n) => n !== copy)) await rm(join(dir, name), { recursive: true, force: true });
    return { path, holdsPrevious: previous !== undefined && copy === `${previous}${COPY}` };
  }

  /**
   * For each index, by the generation whose text it has: its other file made a copy of that
   * text (a new file if it has none), unless it is one already; through the buffers the texts were
   * made in, no new memory. Once `stop` is aborted (a publication is due), it stops: a file it did
   * not finish is another spare, not a copy.
   */
  async prepareSpares(texts: Record<string, string>, buffers: TextBuffers, stop?: AbortSignal): Promise<void> {
    buffers.forReading();
    for (const [key, generation] of Object.entries(texts)) {
      if (stop?.aborted) return;
      const dir = join(this.dir, key);
      const names = await readdir(dir).catch(() => [] as string[]);
      if (!names.includes(generation) || names.includes(`${generation}${COPY}`)) continue;
      // Named as a copy only once it is whole.
      const copying = join(dir, `${generation}+copying`);
      const spare = names.find((n) => n !== generation);
      if (spare !== undefined) await rename(join(dir, spare), copying);
      const from = await open(this.path(key, generation), 'r');
      try {
        const to = await open(copying, constants.O_RDWR | constants.O_CREAT, 0o644);
        try {
          const { size } = await from.stat();
          if (!(await copyHead(from, to, size, buffers.scratch, stop))) continue;
          await to.truncate(size);
        } finally {
          await to.close();
        }
      } finally {
        await from.close();
      }
      await rename(copying, join(dir, `${generation}${COPY}`));
    }
  }

  /**
   * Removes the texts of every index but `keys` (the served generation's): not only of those the
   * generation before had, as a crash between a switch and this would leave a removed index's texts
   * (twice its size) for good.
   */
  async keepOnly(keys: string[]): Promise<void> {
    const kept = new Set(keys);
    // Each key's folders on the way to it: dists/S, dists/S/main, ...
    const onTheWay = new Set(keys.flatMap((key) => key.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
    const walk = async (rel: string): Promise<void> => {
      for (const entry of await readdir(join(this.dir, rel), { withFileTypes: true }).catch(() => [])) {
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        if (kept.has(path)) continue;
        if (entry.isDirectory() && onTheWay.has(path)) await walk(path);
        else await rm(join(this.dir, path), { recursive: true, force: true });
      }
    };
    await walk('');
  }
}
