import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from './shell-quote.js';

describe('a value quoted for a shell script', () => {
  it('is given back by bash as one word, as it was, whatever it holds', () => {
    const values = ['plain.dsc', '', "it's", "''", '$(id)', '`id`', '$HOME', 'a b\tc\nd', '\\', '!', '*', '-e', "'$(id)'\"", 'ünïcødé'];
    for (const value of values) {
      const out = execFileSync('bash', ['-c', `printf '%s\\x1e' ${shellQuote(value)}`], { encoding: 'utf8' });
      expect(out, value).toBe(`${value}\x1e`);
    }
  });
});
