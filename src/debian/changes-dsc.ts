// .changes and .dsc files (Debian Policy §5.4, §5.5): the fields an archive reads from them.
import { Paragraph, parseSingle } from './deb822.js';
import type { FileDigest } from './file-digest.js';

/**
 * The longest file name an upload may use, in bytes: room under NAME_MAX (255) for what the
 * queue adds to a .changes name (its quarantine folder's date and suffix, ".reason").
 */
export const MAX_NAME_BYTES = 200;
/** The largest .changes or .dsc read (a large changelog is a few hundred KiB). */
export const MAX_CONTROL_FILE_BYTES = 4 * 1024 * 1024;

/** A file as a .changes or .dsc lists it: a checksum only where a field lists the file. */
export interface ListedFile extends Partial<FileDigest> {
  name: string;
  size: number;
  section?: string;
  priority?: string;
  /** Set when the checksum fields give this file different sizes. */
  sizeConflict?: boolean;
  /** The fields that list this file more than once. */
  duplicateIn?: string[];
}

/** How many files one Files or Checksums field may list, and whose file it is (for the message). */
export interface ListCap {
  max: number;
  /** "an upload", "a build's .changes": the error says what may list at most max. */
  of: string;
}

/**
 * For what an uploader wrote (the upload intake passes it). A source upload carries a handful (a
 * .dsc, tarballs, their signatures, a .buildinfo); tens of thousands would only cost the queue time.
 */
export const UPLOAD_LIST_CAP: ListCap = { max: 500, of: 'an upload' };
export const MAX_LISTED_FILES = UPLOAD_LIST_CAP.max;

/**
 * The default, for what a build returned: a big source yields hundreds of .deb and -dbgsym
 * files, which the upload cap would make unpublishable; this only bounds a runaway build.
 */
export const BUILD_LIST_CAP: ListCap = { max: 10_000, of: "a build's .changes" };

export class ControlFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ControlFileError';
  }
}

/** Parses one checksum field: lines of "hash size name" (or "md5 size section priority name" for .changes Files). */
export function parseChecksumField(
  paragraph: Paragraph,
  field: string,
  file: string,
  withSectionPriority = false,
  cap: ListCap = BUILD_LIST_CAP,
): { hash: string; size: number; name: string; section?: string; priority?: string }[] {
  // dpkg writes the list on the lines after the field's name; an entry on its own line would be
  // one dpkg-source reads and the archive did not check.
  if (paragraph.first(field) !== '') throw new ControlFileError(file, `field ${field}: text on the field's own line; expected the list of files on the lines after it, one per line`);
  const lines = paragraph.lines(field);
  if (lines.length > cap.max) {
    throw new ControlFileError(file, `field ${field} lists ${lines.length} files; ${cap.of} may list at most ${cap.max}`);
  }
  // Errors quote nothing of the line: what does not parse may be anything.
  return lines.map((line, index) => {
    const parts = line.split(/\s+/);
    const expected = withSectionPriority ? 5 : 3;
    if (parts.length !== expected) {
      throw new ControlFileError(
        file,
        `field ${field}, entry ${index + 1}: has ${parts.length} words, expected ${expected} (${withSectionPriority ? 'md5 size section priority name' : 'hash size name'})`,
      );
    }
    const [hash, sizeText] = parts;
    if (!/^[0-9]+$/.test(sizeText)) throw new ControlFileError(file, `field ${field}, entry ${index + 1}: the size is not a number`);
    const name = parts[parts.length - 1];
    return withSectionPriority
      ? { hash, size: Number(sizeText), name, section: parts[2], priority: parts[3] }
      : { hash, size: Number(sizeText), name };
  });
}

/** Merges Files, Checksums-Sha1 and Checksums-Sha256 into one entry per file name. */
export function listedFiles(paragraph: Paragraph, file: string, filesHasSectionPriority: boolean, cap: ListCap = BUILD_LIST_CAP): ListedFile[] {
  const byName = new Map<string, ListedFile>();
  const take = (field: string, key: 'md5' | 'sha1' | 'sha256', withSP: boolean) => {
    const inField = new Set<string>();
    for (const entry of parseChecksumField(paragraph, field, file, withSP, cap)) {
      const existing: ListedFile = byName.get(entry.name) ?? { name: entry.name, size: entry.size };
      if (inField.has(entry.name) && !existing.duplicateIn?.includes(field)) (existing.duplicateIn ??= []).push(field);
      inField.add(entry.name);
      if (existing.size !== entry.size) existing.sizeConflict = true;
      existing[key] = entry.hash.toLowerCase();
      if (entry.section) existing.section = entry.section;
      if (entry.priority) existing.priority = entry.priority;
      byName.set(entry.name, existing);
    }
  };
  take('Files', 'md5', filesHasSectionPriority);
  take('Checksums-Sha1', 'sha1', false);
  take('Checksums-Sha256', 'sha256', false);
  return [...byName.values()];
}

export interface ChangesFile {
  fileName: string;
  paragraph: Paragraph;
  signed: boolean;
  source: string;
  version: string;
  distributions: string[];
  architectures: string[];
  files: ListedFile[];
}

/** cap: UPLOAD_LIST_CAP for what an uploader wrote; the default fits a build's .changes. */
export function parseChanges(text: string, fileName: string, cap: ListCap = BUILD_LIST_CAP): ChangesFile {
  const { paragraph, signed } = parseSingle(text, fileName);
  // "Source: name (version)" is allowed for binNMUs; the name is the first word.
  const source = paragraph.first('Source').split(/\s+/)[0] ?? '';
  return {
    fileName,
    paragraph,
    signed,
    source,
    version: paragraph.first('Version'),
    distributions: paragraph.first('Distribution').split(/\s+/).filter(Boolean),
    architectures: paragraph.first('Architecture').split(/\s+/).filter(Boolean),
    files: listedFiles(paragraph, fileName, true, cap),
  };
}

export interface DscFile {
  fileName: string;
  paragraph: Paragraph;
  signed: boolean;
  source: string;
  version: string;
  format: string;
  binaries: string[];
  architectures: string[];
  files: ListedFile[];
}

export function parseDsc(text: string, fileName: string, cap: ListCap = BUILD_LIST_CAP): DscFile {
  const { paragraph, signed } = parseSingle(text, fileName);
  return {
    fileName,
    paragraph,
    signed,
    source: paragraph.first('Source'),
    version: paragraph.first('Version'),
    format: paragraph.first('Format'),
    binaries: paragraph
      .get('Binary')
      ?.split(/[,\s]+/)
      .filter(Boolean) ?? [],
    architectures: paragraph.first('Architecture').split(/\s+/).filter(Boolean),
    files: listedFiles(paragraph, fileName, false, cap),
  };
}

/**
 * Whether a .changes read while it may still be being written is whole: it ends with a line,
 * and every file it lists has an MD5 and a SHA-256 (and a SHA-1 if any has). A cut anywhere in
 * its checksum fields, which dpkg-genchanges writes last, leaves a file out of one of them; a
 * cut signed one does not parse (no END PGP SIGNATURE line).
 */
export function wholeChanges(text: string, changes: ChangesFile): boolean {
  const sha1 = changes.files[0]?.sha1 !== undefined;
  return text.endsWith('\n') && changes.files.length > 0 && changes.files.every((f) => f.md5 !== undefined && f.sha256 !== undefined && (f.sha1 !== undefined) === sha1);
}
