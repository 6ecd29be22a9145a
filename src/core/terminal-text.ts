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

/** A colour (SGR: ESC [ numbers m): the one sequence a log keeps, in part (keptColour). */
const COLOUR = /\u001b\[[0-9;]{0,32}m/g;

/**
 * What of a colour sequence a log keeps: what shows text on any terminal, dark or light, and
 * hides none of it: reset (0), bold (1), normal intensity (22), the default foreground (39), and
 * the foregrounds red to cyan (31-36, 91-96). Not black, white or grey (30, 37, 90, 97: the colour
 * of some terminal's background), a background (which, with a foreground of its colour, hides
 * the text), 256 and RGB colours, faint, reverse or conceal (8). Nothing kept: no sequence.
 */
function keptColour(sgr: string): string {
  const params = sgr.slice(2, -1).split(';');
  const kept: string[] = [];
  for (let i = 0; i < params.length; i++) {
    const p = params[i] === '' ? 0 : Number(params[i]);
    // 38 and 48 take a colour after them (5;N or 2;R;G;B): skipped with it.
    if (p === 38 || p === 48) i += params[i + 1] === '5' ? 2 : params[i + 1] === '2' ? 4 : 0;
    else if (p === 0 || p === 1 || p === 22 || p === 39 || (p >= 31 && p <= 36) || (p >= 91 && p <= 96)) kept.push(String(p));
  }
  return kept.length ? `\u001b[${kept.join(';')}m` : '';
}

/**
 * `printable`, but the colours that show text kept (a compiler's, debhelper's): for a build's
 * log, shown as a terminal shows it (as `docker logs` does) but with nothing else it could obey,
 * no title, no clipboard, no cursor moved, no line erased, no text hidden.
 */
export function printableLog(text: string): string {
  let out = '';
  let from = 0;
  for (const m of text.matchAll(COLOUR)) {
    out += printable(text.slice(from, m.index)) + keptColour(m[0]);
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
 * 0x20 but leaves the rest of CONTROLS as they are (DEL, C1, the bidirectional overrides and
 * isolates that reorder what a terminal shows, zero-width ones); those are written \uNNNN, as
 * JSON allows.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
