// Text from elsewhere (a .deb's fields, a request's answer, what a program said) printed on a
// terminal or written to a log read on one: its control characters shown, never sent. A raw
// ESC, CR or BEL in a package name that a refusal quotes would otherwise set the window's title,
// erase the line or print a false "included" over it (OSC, CSI and C1 sequences alike).

/**
 * C0 but tab and newline, DEL, and C1; and the invisible characters that reorder or break a line
 * as a terminal shows it: Unicode's direction marks, embeddings, overrides and isolates (a
 * right-to-left override turns the rest of a line around), zero-width spaces and joiners, the
 * line and paragraph separators, the byte order mark.
 */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** `text` with every control character but tab and newline written as \xNN (the others above as \uNNNN). */
export function printable(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/**
 * A colour (SGR: ESC [ numbers m), the one sequence a log keeps: it only colours what follows;
 * but not one that conceals (8), which would hide the lines after it.
 */
const COLOUR = /\u001b\[[0-9;]{0,32}m/g;
const conceals = (sgr: string) => sgr.slice(2, -1).split(';').includes('8');

/**
 * `printable`, but colours kept (a compiler's, debhelper's): for a build's log, shown as a
 * terminal shows it (as `docker logs` does) but with nothing else it could obey, no title, no
 * clipboard, no cursor moved, no line erased.
 */
export function printableLog(text: string): string {
  let out = '';
  let from = 0;
  for (const m of text.matchAll(COLOUR)) {
    if (conceals(m[0])) continue;
    out += printable(text.slice(from, m.index)) + m[0];
    from = m.index + m[0].length;
  }
  return out + printable(text.slice(from));
}

/**
 * `printable`, and each of its lines after the first that starts with other than white space
 * indented: a file name holding a newline ("x\n2026-12-06T00:00:00Z upload y: ACCEPTED") cannot
 * pass for a line of its own in a log or a listing, whose own continuation lines are indented.
 */
export function printableEntry(text: string): string {
  return printable(text).replace(/\n(?=\S)/g, '\n  ');
}

/**
 * Prints one line of such text on standard output, a newline in it shown as \x0a too: in a
 * listing whose lines are indented, no indenting tells a forged line from a real one.
 */
export function sayPrintable(line: string): void {
  console.log(printable(line).replaceAll('\n', '\\x0a'));
}

/**
 * `value` as JSON for a terminal (the CLI's --json): JSON.stringify escapes the characters below
 * 0x20 but leaves DEL and C1 as they are; those are written \u00NN, as JSON allows.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}
