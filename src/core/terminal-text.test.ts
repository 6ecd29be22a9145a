import { afterEach, describe, expect, it, vi } from 'vitest';
import { printable, printableEntry, printableJson, printableLog, sayPrintable } from './terminal-text.js';

describe('text printed on a terminal', () => {
  it('shows control characters (ESC, CR, BEL, DEL, C1) as \\xNN and keeps tab, newline and the rest', () => {
    expect(printable('Package "foo\u001b]0;pwned\u0007\u001b[2K\rincluded 1 of 1"')).toBe('Package "foo\\x1b]0;pwned\\x07\\x1b[2K\\x0dincluded 1 of 1"');
    expect(printable('a\u007fb\u009bc\u0000')).toBe('a\\x7fb\\x9bc\\x00');
    expect(printable('refused:\n  x.deb:\tüñï ☃')).toBe('refused:\n  x.deb:\tüñï ☃');
  });

  it('shows the invisible characters that reorder or break a line (direction overrides, zero-width, separators) as \\uNNNN', () => {
    // A right-to-left override would show "failed: gpj.exe" the other way round.
    expect(printable('a\u202eb\u2028c\u200bd\u061ce\u2066f\ufeffg')).toBe('a\\u202eb\\u2028c\\u200bd\\u061ce\\u2066f\\ufeffg');
    expect(printable('עברית العربية 中文')).toBe('עברית العربية 中文');
  });
});

describe("a build's log printed on a terminal", () => {
  it('drops what of a colour could hide text: conceal (SGR 8), black, white, backgrounds, faint, reverse, 256 and RGB colours', () => {
    expect(printableLog('\u001b[8mhidden\u001b[0m shown')).toBe('hidden\u001b[0m shown');
    // A foreground of the background's colour (black on black; white on a light terminal), faint, reverse, 256 and RGB colours.
    expect(printableLog('\u001b[30;40mblack on black\u001b[m \u001b[1;37;47mwhite\u001b[0m \u001b[2;7mfaint\u001b[38;5;16;48;5;16m256\u001b[38;2;0;0;0;31mrgb then red')).toBe(
      'black on black\u001b[0m \u001b[1mwhite\u001b[0m faint256\u001b[31mrgb then red',
    );
  });

  it('keeps its colours and shows every other control character, a colour sequence with more in it too', () => {
    expect(printableLog('\u001b[1;31merror:\u001b[0m x\n\u001b]0;t\u0007\u001b[2K\r\u001b[31;\u001b]52;c;eA==\u0007m')).toBe(
      '\u001b[1;31merror:\u001b[0m x\n\\x1b]0;t\\x07\\x1b[2K\\x0d\\x1b[31;\\x1b]52;c;eA==\\x07m',
    );
  });
});

describe('names with a newline in a log or a listing', () => {
  afterEach(() => vi.restoreAllMocks());
  const forged = 'x.changes\n2026-12-06T00:00:00.000Z upload y: ACCEPTED evil 9 into unstable';

  it('cannot make a log line of their own: a line that does not start with white space is indented', () => {
    expect(printableEntry(`upload u: REJECTED\n  ${forged}: not a regular file`)).toBe('upload u: REJECTED\n  x.changes\n  2026-12-06T00:00:00.000Z upload y: ACCEPTED evil 9 into unstable: not a regular file');
    expect(printableEntry('a\n\n  b\n\tc')).toBe('a\n\n  b\n\tc');
  });

  it('cannot make a line of a listing: one line is printed, its newlines shown as \\x0a', () => {
    const said: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void said.push(line));
    sayPrintable(`  ${forged} -> unstable: rejected`);
    expect(said).toEqual(['  x.changes\\x0a2026-12-06T00:00:00.000Z upload y: ACCEPTED evil 9 into unstable -> unstable: rejected']);
  });
});

describe('JSON printed on a terminal', () => {
  it('writes DEL and C1 as \\u00NN, which JSON.stringify leaves raw, and reads back the same', () => {
    const value = { message: 'a\u007fb\u009bc\u001bd', n: 1 };
    const text = printableJson(value);
    expect(text).toBe('{\n  "message": "a\\u007fb\\u009bc\\u001bd",\n  "n": 1\n}');
    expect(JSON.parse(text)).toEqual(value);
  });

  it('writes the characters that reorder or hide text (bidirectional overrides and isolates, zero-width) as \\uNNNN too', () => {
    const value = { source: 'evil\u202egnp.exe\u2066x\u200by\u2028z\ufeff' };
    const text = printableJson(value);
    expect(text).toBe('{\n  "source": "evil\\u202egnp.exe\\u2066x\\u200by\\u2028z\\ufeff"\n}');
    expect(JSON.parse(text)).toEqual(value);
  });
});
