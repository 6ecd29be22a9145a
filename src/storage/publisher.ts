// Writes a new generation of dists/ beside the served one, signs it, then switches the
// dists link in one rename(2), so apt sees the old repository or the new one, never a mix.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readlink, rename, rm, symlink, writeFile, link } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { SuitePlan } from '../core/publish-plan.js';
import { componentReleaseText, indexText, releaseText, type IndexFile, type ReleaseInfo } from '../debian/indices.js';
import type { Signer } from '../process/gpg.js';
import { xz } from '../process/debian-tools.js';
import type { Layout } from './layout.js';

/** How many generations stay on disk, so clients mid-update still find their by-hash files. */
export const KEEP_GENERATIONS = 5;

export interface PublishResult {
  generation: string;
  files: number;
}

export async function publish(
  layout: Layout,
  plans: SuitePlan[],
  signer: Signer,
  label: string,
  codenames: Map<string, string>,
  now = new Date(),
): Promise<PublishResult> {
  await mkdir(layout.generations, { recursive: true });
  const generation = `${now.toISOString().replace(/[-:.]/g, '').replace('T', '-').replace('Z', '')}-${process.pid}`;
  const genDir = join(layout.generations, generation);
  const tmpDir = `${genDir}.tmp`;
  await rm(tmpDir, { recursive: true, force: true });
  let count = 0;
  for (const plan of plans) {
    const suiteDir = join(tmpDir, 'dists', plan.suite);
    const info: ReleaseInfo = {
      origin: label,
      label,
      suite: plan.suite,
      codename: codenames.get(plan.suite) ?? plan.suite,
      date: now,
      architectures: plan.architectures,
      components: plan.components,
      description: `${label} ${plan.suite}, published by archive-in-a-box`,
    };
    const files: IndexFile[] = [];
    const write = async (path: string, data: Buffer) => {
      const full = join(suiteDir, path);
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, data);
      const sha256 = createHash('sha256').update(data).digest('hex');
      files.push({ path, size: data.length, md5: createHash('md5').update(data).digest('hex'), sha256 });
      // by-hash (Acquire-By-Hash): the same content under its hash, beside the index.
      const byHash = join(dirname(full), 'by-hash', 'SHA256', sha256);
      await mkdir(dirname(byHash), { recursive: true });
      await link(full, byHash).catch(() => undefined);
      count++;
    };
    const writeIndex = async (dir: string, name: string, text: string) => {
      const data = Buffer.from(text);
      await write(`${dir}/${name}`, data);
      await write(`${dir}/${name}.gz`, gzipSync(data, { level: 9 }));
      await write(`${dir}/${name}.xz`, await xz(data));
    };
    // Only the first component holds packages for now; the others are published empty.
    for (const [i, component] of plan.components.entries()) {
      for (const arch of plan.architectures) {
        await writeIndex(`${component}/binary-${arch}`, 'Packages', i === 0 ? indexText(plan.packages.get(arch) ?? []) : '');
        await write(`${component}/binary-${arch}/Release`, Buffer.from(componentReleaseText(info, component, arch)));
      }
      await writeIndex(`${component}/source`, 'Sources', i === 0 ? indexText(plan.sources) : '');
      await write(`${component}/source/Release`, Buffer.from(componentReleaseText(info, component, 'source')));
    }
    const release = join(suiteDir, 'Release');
    await writeFile(release, releaseText(info, files));
    await signer.signRelease(release, join(suiteDir, 'InRelease'), join(suiteDir, 'Release.gpg'));
  }
  await rename(tmpDir, genDir);
  await switchLink(layout.dists, `generations/${generation}/dists`);
  await pruneGenerations(layout, generation);
  return { generation, files: count };
}

/** Points `path` (a symbolic link) at `target` atomically: a new link, renamed over the old. */
async function switchLink(path: string, target: string): Promise<void> {
  const tmp = `${path}.new-${process.pid}`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, path);
}

export async function currentGeneration(layout: Layout): Promise<string | undefined> {
  try {
    return (await readlink(layout.dists)).split('/')[1];
  } catch {
    return undefined;
  }
}

/** Removes unfinished generations (a crash mid-publish) and all but the newest few. */
export async function pruneGenerations(layout: Layout, keep?: string): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(layout.generations)).sort();
  } catch {
    return;
  }
  const current = keep ?? (await currentGeneration(layout));
  const complete = names.filter((n) => !n.endsWith('.tmp'));
  const old = complete.slice(0, Math.max(0, complete.length - KEEP_GENERATIONS)).filter((n) => n !== current);
  const unfinished = names.filter((n) => n.endsWith('.tmp'));
  for (const n of [...old, ...unfinished]) await rm(join(layout.generations, n), { recursive: true, force: true });
}
