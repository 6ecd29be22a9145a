import { describe, expect, it } from 'vitest';
import { printable, printableJson } from './terminal-text.js';

describe('text printed on a terminal', () => {
  it('shows control characters (ESC, CR, BEL, DEL, C1) as \\xNN and keeps tab, newline and the rest', () => {
    expect(printable('Package "foo\u001b]0;pwned\u0007\u001b[2K\rincluded 1 of 1"')).toBe('Package "foo\\x1b]0;pwned\\x07\\x1b[2K\\x0dincluded 1 of 1"');
    expect(printable('a\u007fb\u009bc\u0000')).toBe('a\\x7fb\\x9bc\\x00');
    expect(printable('refused:\n  x.deb:\tüñï ☃')).toBe('refused:\n  x.deb:\tüñï ☃');
  });
});

describe('JSON printed on a terminal', () => {
  it('writes DEL and C1 as \\u00NN, which JSON.stringify leaves raw, and reads back the same', () => {
    const value = { message: 'a\u007fb\u009bc\u001bd', n: 1 };
    const text = printableJson(value);
    expect(text).toBe('{\n  "message": "a\\u007fb\\u009bc\\u001bd",\n  "n": 1\n}');
    expect(JSON.parse(text)).toEqual(value);
  });
});
