import { afterEach, describe, expect, it, vi } from 'vitest';
import { progress } from './archive-context.js';

describe('progress', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is one line on stderr, the control characters of what it quotes shown (a Swarm node named to spoof or clear the terminal)', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    progress('builder: running on node-1\u001b[2K\r\nfake line\u202e');
    expect(written.join('')).toMatch(/^(\x1b\[2m)?==> builder: running on node-1\\x1b\[2K\\x0d\\x0afake line\\u202e(\x1b\[0m)?\n$/);
  });
});
