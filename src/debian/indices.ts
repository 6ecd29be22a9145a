// Archive index files: Packages, Sources and Release, as dak and apt-ftparchive write them
// (see apt-ftparchive(1); field order as apt's TFRewritePackageOrder / TFRewriteSourceOrder).
import { createHash } from 'node:crypto';
import { fieldLine, Paragraph } from './deb822.js';
import type { DscFile, ListedFile } from './changes-dsc.js';
import type { FileDigest } from './file-digest.js';

export interface PoolFile extends FileDigest {
  /** Path relative to the archive root, e.g. pool/main/h/hello/hello_1.0-1_amd64.deb */
  path: string;
}

// apt's apt-pkg/tagfile-order.c (what apt-ftparchive writes), obsolete aliases left out.
const PACKAGE_ORDER = [
  'Package', 'Package-Type', 'Architecture', 'Subarchitecture', 'Version', 'Kernel-Version',
  'Built-Using', 'Static-Built-Using', 'Built-For-Profiles', 'Auto-Built-Package', 'Multi-Arch',
  'Status', 'Priority', 'Build-Essential', 'Protected', 'Important', 'Essential',
  'Installer-Menu-Item', 'Section', 'Source', 'Origin', 'Phased-Update-Percentage', 'Maintainer',
  'Original-Maintainer', 'Bugs', 'Config-Version', 'Conffiles', 'Triggers-Awaited',
  'Triggers-Pending', 'Installed-Size', 'Provides', 'Pre-Depends', 'Depends', 'Recommends',
  'Suggests', 'Conflicts', 'Breaks', 'Replaces', 'Enhances', 'Filename', 'MSDOS-Filename', 'Size',
  'MD5sum', 'SHA1', 'SHA256', 'SHA512', 'Homepage', 'Description', 'Description-md5', 'Tag', 'Task',
];

const SOURCE_ORDER = [
  'Package', 'Source', 'Format', 'Binary', 'Architecture', 'Version', 'Priority', 'Section',
  'Origin', 'Maintainer', 'Original-Maintainer', 'Uploaders', 'Dm-Upload-Allowed',
  'Standards-Version', 'Build-Depends', 'Build-Depends-Arch', 'Build-Depends-Indep',
  'Build-Conflicts', 'Build-Conflicts-Arch', 'Build-Conflicts-Indep', 'Testsuite',
  'Testsuite-Triggers', 'Homepage', 'Description', 'Vcs-Browser', 'Vcs-Browse', 'Vcs-Arch',
  'Vcs-Bzr', 'Vcs-Cvs', 'Vcs-Darcs', 'Vcs-Git', 'Vcs-Hg', 'Vcs-Mtn', 'Vcs-Svn', 'Directory',
  'Package-List', 'Files', 'Checksums-Md5', 'Checksums-Sha1', 'Checksums-Sha256', 'Checksums-Sha512',
];

/** Each order as ranks by name, made once (a stanza of 100,000 is ordered in turn): as spelled there, and in lower case. */
const exactRanks = new Map<string[], Map<string, number>>([PACKAGE_ORDER, SOURCE_ORDER].map((order) => [order, new Map(order.map((name, i) => [name, i]))]));
const ranks = new Map<string[], Map<string, number>>([PACKAGE_ORDER, SOURCE_ORDER].map((order) => [order, new Map(order.map((name, i) => [name.toLowerCase(), i]))]));

/** A field's rank in an order (Infinity: not named), by its spelling there or any other. */
function rankIn(order: string[], name: string): number {
  return exactRanks.get(order)!.get(name) ?? ranks.get(order)!.get(name.toLowerCase()) ?? Infinity;
}

/** Reorders fields: the named ones first, in that order, then the rest as they came. */
function ordered(paragraph: Paragraph, order: string[]): Paragraph {
  const ranked = paragraph.entries().map((entry, at) => ({ entry, at, rank: rankIn(order, entry[0]) }));
  // Stable: the unnamed fields keep their order after the named ones.
  ranked.sort((a, b) => a.rank - b.rank || a.at - b.at);
  return new Paragraph(ranked.map((r) => r.entry));
}

/**
 * Fields a .deb's control may carry that only the archive can say (apt-ftparchive writes its own):
 * a hash of the file (apt checks every one Packages lists: a false SHA512 fails the package's
 * download) or of its description (apt matches translations by it). Left out of Packages.
 */
const NOT_THE_DEBS = new Set(['sha1', 'sha512', 'description-md5', 'msdos-filename']);
const NOT_THE_DEBS_LENGTHS = new Set([...NOT_THE_DEBS].map((n) => n.length));

/**
 * A Packages stanza: the .deb's control fields (each name once, as a control file has them) plus
 * where and what the file is, in apt-ftparchive's order; the file's facts take the place of
 * fields of their names. Made straight into text, with no paragraph between: an index written
 * whole makes 100,000 of them.
 */
export function packagesStanza(control: [string, string][], file: Omit<PoolFile, 'sha1'>): Stanza {
  // (By length first: most fields are none of them, and a change of case costs at 100,000 stanzas.)
  const fields = control.filter(([name]) => !NOT_THE_DEBS_LENGTHS.has(name.length) || !NOT_THE_DEBS.has(name.toLowerCase())).map(([name, value], at) => ({ name, value, at, rank: rankIn(PACKAGE_ORDER, name) }));
  const facts: [string, string][] = [['Filename', file.path], ['Size', String(file.size)], ['MD5sum', file.md5], ['SHA256', file.sha256]];
  for (const [name, value] of facts) {
    // Named in the order, so a field of that name in any spelling has its rank.
    const rank = rankIn(PACKAGE_ORDER, name);
    const field = fields.find((f) => f.rank === rank);
    if (field) field.value = value;
    else fields.push({ name, value, at: fields.length, rank });
  }
  // Stable: the unnamed fields keep their order after the named ones.
  fields.sort((a, b) => a.rank - b.rank || a.at - b.at);
  let text = '';
  for (const f of fields) text += fieldLine(f.name, f.value);
  return stanzaOfText(text);
}

/** A Sources stanza: the .dsc's fields, renamed and completed as dak does. */
export function sourcesStanza(
  dsc: DscFile,
  dscFile: PoolFile,
  directory: string,
  sectionPriority: { section?: string; priority?: string },
): Paragraph {
  const p = new Paragraph();
  for (const [name, value] of dsc.paragraph.entries()) {
    if (['source', 'files', 'checksums-sha1', 'checksums-sha256', 'checksums-sha512'].includes(name.toLowerCase())) continue;
    p.set(name, value);
  }
  p.set('Package', dsc.source);
  if (sectionPriority.section && sectionPriority.section !== '-') p.set('Section', sectionPriority.section);
  if (sectionPriority.priority && sectionPriority.priority !== '-') p.set('Priority', sectionPriority.priority);
  p.set('Directory', directory);
  const dscName = dscFile.path.split('/').pop()!;
  const all: ListedFile[] = [
    { name: dscName, size: dscFile.size, md5: dscFile.md5, sha256: dscFile.sha256 },
    ...dsc.files,
  ];
  p.set('Files', all.map((f) => `\n ${f.md5} ${f.size} ${f.name}`).join(''));
  p.set('Checksums-Sha256', all.map((f) => `\n ${f.sha256} ${f.size} ${f.name}`).join(''));
  return ordered(p, SOURCE_ORDER);
}

/** A stanza's text, and its line count. */
export interface Stanza {
  text: string;
  lines: number;
}

export function stanzaOf(paragraph: Paragraph): Stanza {
  return stanzaOfText(paragraph.toString());
}

function stanzaOfText(text: string): Stanza {
  let lines = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++;
  return { text, lines };
}

/**
 * How an index's members become text: the name their stanza starts with ("Package: NAME"),
 * what identifies their stanza's text (a pool file's path and hash: the same file always makes
 * the same stanza), and the stanza itself, made only when a chunk's text is needed.
 */
export interface StanzaSource<T> {
  name(m: T): string;
  identity(m: T): string;
  /**
   * The members are values: a member's identity never changes, so a chunk of the very members
   * of a chunk laid out before has that chunk's key, and chunkLayout takes it without hashing.
   */
  values?: boolean;
  /** The stanzas of some members, in their order (made together: their controls are read together). */
  stanzas(members: T[]): Stanza[];
}

/**
 * Packages or Sources, cut into chunks. A chunk ends before a member whose first line hashes to
 * 0 modulo CHUNK_STANZAS (or once it holds CHUNK_MAX_STANZAS), so chunk borders depend on the
 * members beside them and not on their position: adding, changing or removing one package
 * changes one chunk. A chunk is known by a key made from its members' identities, without its
 * text: the publisher takes an unchanged chunk's text from the previous generation's file and
 * its compressed forms from the previous .gz and .xz (publish/index-text.ts), and makes and
 * compresses only a changed chunk's stanzas, so no index's text is held in memory whole.
 */
export interface ChunkLayout<T> {
  members: T[];
  key: string;
}

/** Chunks laid out before, by their first member (StanzaSource.values): their members and key. */
const laidOut = new WeakMap<object, { members: unknown[]; first: boolean; key: string }[]>();

export const CHUNK_STANZAS = 128;
export const CHUNK_MAX_STANZAS = 4 * CHUNK_STANZAS;
/**
 * Changed when stanzas are written otherwise: every chunk's key changes with it, and every chunk
 * is written again once (2: Packages leaves out the hashes a .deb's control claims, NOT_THE_DEBS).
 */
const STANZA_FORMAT = 'stanzas 2';

export function chunkLayout<T>(members: T[], source: StanzaSource<T>): ChunkLayout<T>[] {
  const chunks: ChunkLayout<T>[] = [];
  const border = (m: T) => fnv1a(source.name(m), FIRST_LINE_START) % CHUNK_STANZAS === 0;
  for (let at = 0; at < members.length; ) {
    // The first chunk starts with its first stanza, every other one with the blank line before it.
    const first = chunks.length === 0;
    const known = source.values ? (laidOut.get(members[at] as object) ?? []) : [];
    // A chunk laid out before whose members come next, in order, ends here too when the member
    // after them starts a chunk (or none follows, or it is full): its members' names are theirs,
    // so none of them starts one. It is taken whole, without a look at each member's name.
    const again = known.find(
      (k) =>
        k.first === first &&
        at + k.members.length <= members.length &&
        k.members.every((m, i) => m === members[at + i]) &&
        (at + k.members.length === members.length || k.members.length >= CHUNK_MAX_STANZAS || border(members[at + k.members.length])),
    );
    if (again) {
      chunks.push({ members: again.members as T[], key: again.key });
      at += again.members.length;
      continue;
    }
    const current = [members[at++]];
    while (at < members.length && current.length < CHUNK_MAX_STANZAS && !border(members[at])) current.push(members[at++]);
    const hash = createHash('sha256').update(`${STANZA_FORMAT} ${first ? 'first' : 'next'}\n`);
    for (const m of current) hash.update(`${source.identity(m)}\n`);
    const key = hash.digest('base64');
    // A few per first member: an Architecture: all package is in each binary-ARCH index.
    if (source.values) laidOut.set(current[0] as object, [{ members: current, first, key }, ...known.slice(0, 3)]);
    chunks.push({ members: current, key });
  }
  return chunks;
}

/** A chunk's text: its stanzas and the blank lines between them. */
export interface IndexChunk {
  bytes: Buffer;
  lines: number;
}

/**
 * A chunk's text as its parts, in order (stanzas and the blank lines between them), never joined:
 * the publisher writes them into its buffer, so no string of a whole chunk is made.
 */
export function chunkText<T>(members: T[], first: boolean, source: StanzaSource<T>): { parts: string[]; lines: number } {
  const stanzas = source.stanzas(members);
  // The first chunk starts with its first stanza, every other one with the blank line before it.
  const parts = first ? [] : ['\n'];
  for (const [i, s] of stanzas.entries()) {
    if (i > 0) parts.push('\n');
    parts.push(s.text);
  }
  return { parts, lines: stanzas.reduce((n, s) => n + s.lines, 0) + stanzas.length - (first ? 1 : 0) };
}

/** Paragraphs as a stanza source (for the tests: the queue's members are not paragraphs). */
export const paragraphStanzas: StanzaSource<Paragraph> = {
  name: (p) => p.first('Package'),
  identity: (p) => createHash('sha256').update(p.toString()).digest('base64'),
  stanzas: (list) => list.map(stanzaOf),
};

/** An index's whole text. */
export function indexText(stanzas: Paragraph[]): string {
  return stanzas.map((p) => p.toString()).join('\n');
}

/** FNV-1a (32 bits) of `text`, a cheap, stable hash, going on from `from`: the state after the text before it. */
function fnv1a(text: string, from = 0x811c9dc5): number {
  let h = from;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The hash of a stanza's first line (chunkLayout cuts by it) after "Package: ": no line is made per member. */
const FIRST_LINE_START = fnv1a('Package: ');

export interface ReleaseInfo {
  origin: string;
  label: string;
  suite: string;
  codename: string;
  date: Date;
  validUntil?: Date;
  architectures: string[];
  components: string[];
  description: string;
}

export interface IndexFile {
  /** Path relative to dists/SUITE/, e.g. main/binary-amd64/Packages.xz */
  path: string;
  size: number;
  /** None for a file Release lists but the generation does not hold (a large index's text): apt checks what it unpacks by the SHA256. */
  md5?: string;
  sha256: string;
}

/** RFC 2822 date in UTC, as Release files carry it. */
/**
 * Strings in code-unit order (byte order for ASCII: package names, paths, ISO times): the order of
 * Packages, Sources and Release's file lists, as dak and apt-ftparchive sort them. Never the
 * locale's collation: it differs from byte order on '-', '.' and '+', and loads ICU's tables.
 */
export const inOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function releaseDate(date: Date): string {
  return date.toUTCString().replace('GMT', 'UTC');
}

export function releaseText(info: ReleaseInfo, files: IndexFile[]): string {
  const p = new Paragraph();
  p.set('Origin', info.origin);
  p.set('Label', info.label);
  p.set('Suite', info.suite);
  p.set('Codename', info.codename);
  p.set('Date', releaseDate(info.date));
  if (info.validUntil) p.set('Valid-Until', releaseDate(info.validUntil));
  p.set('Acquire-By-Hash', 'yes');
  p.set('Architectures', info.architectures.join(' '));
  p.set('Components', info.components.join(' '));
  p.set('Description', info.description);
  const sorted = [...files].sort((a, b) => inOrder(a.path, b.path));
  const width = Math.max(0, ...sorted.map((f) => String(f.size).length));
  const list = (of: IndexFile[], hash: (f: IndexFile) => string) => of.map((f) => `\n ${hash(f)} ${String(f.size).padStart(width)} ${f.path}`).join('');
  p.set('MD5Sum', list(sorted.filter((f) => f.md5), (f) => f.md5!));
  p.set('SHA256', list(sorted, (f) => f.sha256));
  return p.toString();
}

/** The per-directory Release file apt-ftparchive writes beside each index. */
export function componentReleaseText(info: ReleaseInfo, component: string, architecture: string): string {
  return new Paragraph([
    ['Archive', info.suite],
    ['Origin', info.origin],
    ['Label', info.label],
    ['Component', component],
    ['Architecture', architecture],
  ]).toString();
}
