// The Packages and Sources stanzas the archive writes, field by field against
// apt-ftparchive's on the same files. Intended differences are named below.
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDsc } from '../src/debian/changes-dsc.js';
import { parseDeb822, type Paragraph } from '../src/debian/deb822.js';
import { packagesStanza, sourcesStanza } from '../src/debian/indices.js';
import { debControl } from '../src/process/debian-tools.js';
import { fileFacts } from '../src/storage/files.js';

// apt-ftparchive writes every hash it knows; dak and this archive write MD5sum and SHA256 only
// (what apt uses). Section and Priority come from dak's overrides (here: the upload's .changes),
// which apt-ftparchive has no file for in this test.
const INTENDED = {
  packagesOnlyTheirs: ['SHA1', 'SHA512'],
  sourcesOnlyTheirs: ['Checksums-Sha1', 'Checksums-Sha512'],
  sourcesOnlyOurs: ['Section', 'Priority'],
};

const FIXTURES = join(import.meta.dirname, '..', 'src', 'debian', 'fixtures');
let dir: string;

async function makeDeb(name: string, arch: string, extra: Record<string, string>) {
  const root = join(dir, 'build', name);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  await mkdir(join(root, 'usr', 'share', 'doc', name), { recursive: true });
  await writeFile(join(root, 'usr', 'share', 'doc', name, 'README'), `${name}\n`);
  const control = {
    Package: name, Version: '1:2.0~rc1-3', Architecture: arch, Maintainer: 'Tester <t@example.org>', 'Installed-Size': '8',
    Section: 'utils', Priority: 'optional', ...extra,
    Description: `a test package\n It has a long description\n .\n over several lines.`,
  };
  await writeFile(join(root, 'DEBIAN', 'control'), Object.entries(control).map(([k, v]) => `${k}: ${v}\n`).join(''));
  await execa('dpkg-deb', ['--build', '--root-owner-group', root, join(dir, 'pool', `${name}_2.0~rc1-3_${arch}.deb`)]);
}

const byPackage = (text: string) => new Map(parseDeb822(text).map((p) => [p.first('Package'), p]));
const fields = (p: Paragraph) => Object.fromEntries(p.entries());

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aib-equiv-'));
  await mkdir(join(dir, 'pool'), { recursive: true });
  await makeDeb('aib-tool', 'amd64', { Depends: 'libc6 (>= 2.34), aib-data (= 1:2.0~rc1-3)', 'Multi-Arch': 'foreign', Source: 'aib-suite (1:2.0~rc1-3)' });
  await makeDeb('aib-data', 'all', { Recommends: 'aib-tool', Homepage: 'https://example.org/aib' });
  await makeDeb('libaib1', 'amd64', { 'Pre-Depends': 'dpkg (>= 1.19)', Breaks: 'aib-tool (<< 1)', Provides: 'libaib' });
  for (const f of ['aib-hello_1.0-1.dsc', 'aib-hello_1.0.orig.tar.gz', 'aib-hello_1.0-1.debian.tar.xz']) await copyFile(join(FIXTURES, f), join(dir, 'pool', f));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('index equivalence with apt-ftparchive', () => {
  it('writes the same Packages fields, in the same order, for the same .debs', async () => {
    const theirs = byPackage((await execa('apt-ftparchive', ['packages', 'pool'], { cwd: dir })).stdout);
    const debs = (await readdir(join(dir, 'pool'))).filter((n) => n.endsWith('.deb'));
    expect(theirs.size).toBe(debs.length);
    for (const deb of debs) {
      const path = join(dir, 'pool', deb);
      const [ours] = parseDeb822(packagesStanza((await debControl(path)).entries(), { path: `pool/${deb}`, ...(await fileFacts(path)) }).text);
      const their = theirs.get(ours.first('Package'))!;
      const expected = their.entries().filter(([name]) => !INTENDED.packagesOnlyTheirs.includes(name));
      expect(ours.entries(), deb).toEqual(expected);
    }
  });

  it('writes the same Sources fields for the same source package', async () => {
    const [their] = parseDeb822((await execa('apt-ftparchive', ['sources', 'pool'], { cwd: dir })).stdout);
    const dscPath = join(dir, 'pool', 'aib-hello_1.0-1.dsc');
    const dsc = parseDsc(await readFile(dscPath, 'utf8'), 'aib-hello_1.0-1.dsc');
    const ours = sourcesStanza(dsc, { path: 'pool/aib-hello_1.0-1.dsc', ...(await fileFacts(dscPath)) }, 'pool', { section: 'misc', priority: 'optional' });
    const theirFields = fields(their);
    const ourFields = fields(ours);
    for (const name of INTENDED.sourcesOnlyTheirs) delete theirFields[name];
    for (const name of INTENDED.sourcesOnlyOurs) delete ourFields[name];
    expect(ourFields).toEqual(theirFields);
  });
});
