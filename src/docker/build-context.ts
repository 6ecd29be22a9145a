// A Docker build context: the files `docker build DIR` would send (after .dockerignore), listed
// with their file-system stamps, then packed as a tar with a content hash that says whether an
// image built from it is stale. The stamps let `archive up` skip reading the files when nothing
// was written since the image was built (images.ts).
import { createHash } from 'node:crypto';
import { readFile, readdir, lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { canSkipDirectory, isIgnored, parseDockerignore } from './dockerignore.js';

interface ContextEntry {
  path: string;
  mode: number;
  link?: string;
}

export interface ContextFiles {
  dir: string;
  entries: ContextEntry[];
  /**
   * sha256 over every path, mode, link, size, inode and modification and change time: any write,
   * rename or change of mode changes it (a change time cannot be set back).
   */
  stamps: string;
}

export interface BuildContext {
  tar: Buffer;
  /** sha256 over every path, mode and content: the source revision of the image. */
  hash: string;
  files: number;
}

/** The files of the context in DIR, with their stamps; no content is read. */
export async function listBuildContext(dir: string): Promise<ContextFiles> {
  let ignoreText = '';
  try {
    ignoreText = await readFile(join(dir, '.dockerignore'), 'utf8');
  } catch {
    /* no .dockerignore: everything goes */
  }
  const rules = parseDockerignore(ignoreText);
  const entries: ContextEntry[] = [];
  const stamps = createHash('sha256');
  const walk = async (rel: string) => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const stat = await lstat(join(dir, path), { bigint: true });
      if (stat.isDirectory()) {
        if (canSkipDirectory(rules, path)) continue;
        await walk(path);
        continue;
      }
      if (isIgnored(rules, path) && path !== 'Dockerfile' && path !== '.dockerignore') continue;
      let entry: ContextEntry;
      if (stat.isSymbolicLink()) entry = { path, mode: 0o777, link: await readlink(join(dir, path)) };
      else if (stat.isFile()) entry = { path, mode: Number(stat.mode) & 0o111 ? 0o755 : 0o644 };
      else continue;
      entries.push(entry);
      stamps.update(`${path}\0${stat.mode}\0${entry.link ?? ''}\0${stat.size}\0${stat.ino}\0${stat.mtimeNs}\0${stat.ctimeNs}\n`);
    }
  };
  await walk('');
  return { dir, entries, stamps: stamps.digest('hex') };
}

/** Reads the listed files: the tar `docker build` is sent and the hash of their contents. */
export async function packBuildContext(files: ContextFiles): Promise<BuildContext> {
  const hash = createHash('sha256');
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  const mtime = new Date(0);
  // Each text and content its length first: unframed, a file's content could spell the next
  // entry ("a" holding "b\0" "420\0\0hi" hashed as "a" empty and "b" holding "hi").
  const framed = (text: string) => `${Buffer.byteLength(text)}:${text}`;
  for (const e of files.entries) {
    hash.update(`${framed(e.path)}\0${e.mode}\0`);
    if (e.link !== undefined) {
      hash.update(`link ${framed(e.link)}\0`);
      tar.entry({ name: e.path, type: 'symlink', linkname: e.link, mode: e.mode, mtime });
      continue;
    }
    const data = await readFile(join(files.dir, e.path));
    hash.update(`file ${data.length}:`);
    hash.update(data);
    tar.entry({ name: e.path, mode: e.mode, mtime, size: data.length }, data);
  }
  tar.finalize();
  await done;
  return { tar: Buffer.concat(chunks), hash: hash.digest('hex'), files: files.entries.length };
}
