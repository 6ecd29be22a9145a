// A Docker build context: the files `docker build DIR` would send (after .dockerignore),
// packed as a tar, with a content hash that says whether an image built from it is stale.
import { createHash } from 'node:crypto';
import { readFile, readdir, lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { canSkipDirectory, isIgnored, parseDockerignore } from './dockerignore.js';

export interface BuildContext {
  tar: Buffer;
  /** sha256 over every path, mode and content: the source revision of the image. */
  hash: string;
  files: number;
}

export async function packBuildContext(dir: string): Promise<BuildContext> {
  let ignoreText = '';
  try {
    ignoreText = await readFile(join(dir, '.dockerignore'), 'utf8');
  } catch {
    /* no .dockerignore: everything goes */
  }
  const rules = parseDockerignore(ignoreText);
  const entries: { path: string; mode: number; data?: Buffer; link?: string }[] = [];
  const walk = async (rel: string) => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const stat = await lstat(join(dir, path));
      if (stat.isDirectory()) {
        if (canSkipDirectory(rules, path)) continue;
        await walk(path);
      } else if (isIgnored(rules, path) && path !== 'Dockerfile' && path !== '.dockerignore') {
        continue;
      } else if (stat.isSymbolicLink()) {
        entries.push({ path, mode: 0o777, link: await readlink(join(dir, path)) });
      } else if (stat.isFile()) {
        entries.push({ path, mode: stat.mode & 0o111 ? 0o755 : 0o644, data: await readFile(join(dir, path)) });
      }
    }
  };
  await walk('');
  const hash = createHash('sha256');
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  const mtime = new Date(0);
  for (const e of entries) {
    hash.update(`${e.path}\0${e.mode}\0${e.link ?? ''}\0`);
    if (e.data) hash.update(e.data);
    if (e.link !== undefined) tar.entry({ name: e.path, type: 'symlink', linkname: e.link, mode: e.mode, mtime });
    else tar.entry({ name: e.path, mode: e.mode, mtime, size: e.data!.length }, e.data!);
  }
  tar.finalize();
  await done;
  return { tar: Buffer.concat(chunks), hash: hash.digest('hex'), files: entries.length };
}
