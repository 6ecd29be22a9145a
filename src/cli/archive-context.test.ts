import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../errors.js';
import { portOption, portTrouble, progress } from './archive-context.js';

describe('progress', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is one line on stderr, the control characters of what it quotes shown (a Swarm node named to spoof or clear the terminal)', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    progress('builder: running on node-1\u001b[2K\r\nfake line\u202e');
    expect(written.join('')).toMatch(/^(\x1b\[2m)?==> builder: running on node-1\\x1b\[2K\\x0d\\x0afake line\\u202e(\x1b\[0m)?\n$/);
  });
});

describe('--port of archive init and up', () => {
  it('is a TCP port number, 1 to 65535, as archive.yaml takes it', () => {
    expect(portOption('8081')).toBe(8081);
    expect(portOption('1')).toBe(1);
    expect(portOption('65535')).toBe(65535);
    for (const text of ['abc', '70000', '', '0', '-1', '80.5', '0x50', '8e3', ' 80', 'Infinity']) {
      expect(() => portOption(text), text).toThrow(UserError);
      expect(() => portOption(text), text).toThrow(`--port: "${text}" is not a TCP port number (1-65535)`);
    }
  });
});

describe('whether the port is free (archive up, archive doctor)', () => {
  it('is asked on the address the archive listens on, not on 127.0.0.1 only', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    const { port } = server.address() as { port: number };
    try {
      expect(await portTrouble(port, '127.0.0.2')).toBe('EADDRINUSE');
      // Every interface: 127.0.0.2's too.
      expect(await portTrouble(port, '0.0.0.0')).toBe('EADDRINUSE');
      expect(await portTrouble(port, '127.0.0.1')).toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('says when the machine has no such address, rather than that another program holds the port', async () => {
    // TEST-NET-1 (RFC 5737): never a local address.
    expect(await portTrouble(8080, '192.0.2.1')).toBe('EADDRNOTAVAIL');
  });
});
