// Text from elsewhere (a .deb's fields, a request's answer, what a program said) printed on a
// terminal or written to a log read on one: its control characters shown, never sent. A raw
// ESC, CR or BEL in a package name that a refusal quotes would otherwise set the window's title,
// erase the line or print a false "included" over it (OSC, CSI and C1 sequences alike).

/** C0 but tab and newline, DEL, and C1. */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` with every control character but tab and newline written as \xNN. */
export function printable(text: string): string {
  return text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Prints a line of such text on standard output (`printable`). */
export function sayPrintable(line: string): void {
  console.log(printable(line));
}

/**
 * `value` as JSON for a terminal (the CLI's --json): JSON.stringify escapes the characters below
 * 0x20 but leaves DEL and C1 as they are; those are written \u00NN, as JSON allows.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}
