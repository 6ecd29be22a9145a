// Debian control-file syntax (deb822), Debian Policy §5.1: paragraphs of "Field: value"
// lines, continuation lines start with a space or tab, paragraphs separated by blank lines.
// Pure: strings in, values out.

export class Deb822Error extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = 'Deb822Error';
  }
}

/** One paragraph. Field names keep their spelling; look-ups ignore case (Policy §5.1). */
export class Paragraph {
  private readonly fields = new Map<string, { name: string; value: string }>();

  constructor(entries: Iterable<[string, string]> = []) {
    for (const [name, value] of entries) this.set(name, value);
  }

  get(name: string): string | undefined {
    return this.fields.get(name.toLowerCase())?.value;
  }

  /** The first line of a field, trimmed ("" when absent). */
  first(name: string): string {
    return (this.get(name) ?? '').split('\n')[0].trim();
  }

  /** The non-empty continuation lines of a multi-line field, trimmed. */
  lines(name: string): string[] {
    const value = this.get(name);
    if (value === undefined) return [];
    return value
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter((l) => l !== '' && l !== '.');
  }

  has(name: string): boolean {
    return this.fields.has(name.toLowerCase());
  }

  set(name: string, value: string): this {
    const key = name.toLowerCase();
    const existing = this.fields.get(key);
    this.fields.set(key, { name: existing?.name ?? name, value });
    return this;
  }

  delete(name: string): void {
    this.fields.delete(name.toLowerCase());
  }

  entries(): [string, string][] {
    return [...this.fields.values()].map((f) => [f.name, f.value]);
  }

  toString(): string {
    return this.entries()
      .map(([name, value]) => fieldLine(name, value))
      .join('');
  }
}

/** A field as a control file writes it: "Name: value" (a multi-line value's lines after it), and its newline. */
export function fieldLine(name: string, value: string): string {
  return `${name}:${value.startsWith('\n') || value === '' ? '' : ' '}${value}\n`;
}

export interface SignedText {
  /** The signed (or plain) content, dash-escaping removed. */
  content: string;
  /** Whether the text was an OpenPGP cleartext-signed message. */
  signed: boolean;
  /** Signed only: the lines of its armored signature, between the BEGIN and END PGP SIGNATURE lines. */
  signature?: string[];
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';
const END_SIGNATURE = '-----END PGP SIGNATURE-----';

/**
 * Strips an OpenPGP cleartext signature frame (RFC 4880 §7), if any. Does not verify. Reads the
 * signed text as gpg does (armor lines may end in blanks; a line's trailing spaces, tabs and
 * carriage returns are not signed, §7.1) and refuses any data outside the frame, as dak's
 * apt_pkg does: gpg verifies such a file and ignores what is around the signed part.
 */
export function unwrapSigned(text: string, file = '<input>'): SignedText {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const begin = lines.findIndex((l) => l.trimEnd() === BEGIN_SIGNED);
  if (begin < 0) return { content: text.replace(/\r\n/g, '\n'), signed: false };
  const start = lines.findIndex((l) => l.trim() !== '');
  if (start < begin) throw new Deb822Error(file, start + 1, `text before "${BEGIN_SIGNED}"; only the signed part of a file may hold data`);
  let i = begin + 1;
  while (i < lines.length && lines[i].trim() !== '') i++; // armor headers (Hash: ...)
  i++;
  const body: string[] = [];
  for (; i < lines.length && lines[i].trimEnd() !== BEGIN_SIGNATURE; i++) {
    // gpg dash-escapes every line of the text that starts with "-"; one that is not would be
    // armor to gpgv, which ends the text there and reads what follows as another block.
    if (lines[i].startsWith('-') && !lines[i].startsWith('- ')) {
      throw new Deb822Error(file, i + 1, `a line of the signed text starts with "-" unescaped; gpg writes such a line as "- -…" (a clear-signed file edited by hand?)`);
    }
    body.push((lines[i].startsWith('- ') ? lines[i].slice(2) : lines[i]).replace(/[ \t\r]+$/, ''));
  }
  if (i >= lines.length) throw new Deb822Error(file, lines.length, `signed message has no "${BEGIN_SIGNATURE}" line`);
  const end = lines.findIndex((l, j) => j > i && l.trimEnd() === END_SIGNATURE);
  if (end < 0) throw new Deb822Error(file, i + 1, `the signature has no "${END_SIGNATURE}" line`);
  const after = lines.findIndex((l, j) => j > end && l.trim() !== '');
  if (after >= 0) throw new Deb822Error(file, after + 1, `text after "${END_SIGNATURE}"; only the signed part of a file may hold data`);
  return { content: body.join('\n') + '\n', signed: true, signature: lines.slice(i + 1, end) };
}

/**
 * A control file's bytes as text. Debian Policy 5.1: control files are UTF-8; bytes that are
 * not are refused (not replaced), naming the line and the field they are in, quoting none.
 */
export function decodeControlFile(bytes: Uint8Array, file: string): string {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  try {
    return utf8.decode(bytes);
  } catch {
    // Find the first line that does not decode, and the field it belongs to.
    const lines = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').split('\n');
    let field: string | undefined;
    for (const [index, line] of lines.entries()) {
      if (!/^[ \t]/.test(line)) field = /^([!-9;-~]+):/.exec(line)?.[1];
      try {
        utf8.decode(Buffer.from(line, 'latin1'));
      } catch {
        throw new Deb822Error(file, index + 1, `${field ? `field ${fieldName(field)}` : 'the line'} is not valid UTF-8 (Debian Policy 5.1: control files are UTF-8)`);
      }
    }
    throw new Deb822Error(file, 1, 'not valid UTF-8 (Debian Policy 5.1: control files are UTF-8)');
  }
}

/** A field name as an error quotes it (printable ASCII already): "Name", its first 40 characters when longer. */
function fieldName(name: string): string {
  return name.length > 40 ? `"${name.slice(0, 40)}…" (${name.length} characters)` : `"${name}"`;
}

/**
 * Parses every paragraph. Comment lines (#) are allowed, as in debian/control. Errors name the
 * line but quote nothing of it: the text may be anything (a file that is not a control file).
 */
export function parseDeb822(text: string, file = '<input>'): Paragraph[] {
  const paragraphs: Paragraph[] = [];
  let current: Paragraph | null = null;
  let lastName: string | null = null;
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line.trim() === '') {
      if (current) paragraphs.push(current);
      current = null;
      lastName = null;
      return;
    }
    if (line.startsWith('#')) return;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!current || lastName === null) {
        throw new Deb822Error(file, lineNo, 'continuation line before any field');
      }
      current.set(lastName, `${current.get(lastName)}\n${line}`);
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Deb822Error(file, lineNo, 'expected "Field: value" (a line with a colon) or a continuation line');
    const name = line.slice(0, colon);
    if (!/^[!-9;-~][!-9;-~]*$/.test(name) || name.startsWith('-')) {
      throw new Deb822Error(file, lineNo, 'invalid field name (only printable ASCII without spaces)');
    }
    current ??= new Paragraph();
    if (current.has(name)) throw new Deb822Error(file, lineNo, `field ${fieldName(name)} appears twice in one paragraph`);
    current.set(name, line.slice(colon + 1).trim());
    lastName = name;
  });
  if (current) paragraphs.push(current);
  return paragraphs;
}

/** Parses a file that must hold exactly one paragraph (.changes, .dsc), signed or not. */
export function parseSingle(text: string, file: string): { paragraph: Paragraph; signed: boolean } {
  const { content, signed } = unwrapSigned(text, file);
  const paragraphs = parseDeb822(content, file);
  if (paragraphs.length !== 1) {
    throw new Deb822Error(file, 1, `expected exactly one paragraph, found ${paragraphs.length}`);
  }
  return { paragraph: paragraphs[0], signed };
}

export function serializeDeb822(paragraphs: Paragraph[]): string {
  return paragraphs.map((p) => p.toString()).join('\n');
}
