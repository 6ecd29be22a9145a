// Debian's own tools, run as programs: debootstrap, dpkg-deb, xz.
import { Paragraph, parseDeb822 } from '../debian/deb822.js';
import { run, runFilter } from './run.js';

/** debootstrap --variant=minbase SUITE DIR, with the mirror debootstrap defaults to. */
export async function debootstrap(suite: string, dir: string, onLine: (line: string) => void): Promise<void> {
  await run('debootstrap', ['--variant=minbase', suite, dir], { onLine });
}

/** The control paragraph of a .deb (dpkg-deb --field), read without unpacking anything else. */
export async function debControl(debPath: string): Promise<Paragraph> {
  const { stdout } = await run('dpkg-deb', ['--field', debPath]);
  const paragraphs = parseDeb822(stdout, debPath);
  if (paragraphs.length !== 1) throw new Error(`${debPath}: dpkg-deb --field printed ${paragraphs.length} paragraphs, expected 1`);
  return paragraphs[0];
}

/** xz compression (Node has none built in); -6 is what dak uses for Packages. */
export function xz(data: Buffer, level = 6): Promise<Buffer> {
  return runFilter('xz', [`-${level}`, '-T1', '-c'], data);
}
