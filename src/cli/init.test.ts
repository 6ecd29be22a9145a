// archive init refuses a bad --port as it reads the command line: before a folder, archive.yaml
// or a signing key is made.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { register } from './init.js';

describe('archive init --port', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['abc', '70000', ''])('%j is refused before anything is made, naming it', async (port) => {
    const parent = mkdtempSync(join(tmpdir(), 'init-port-'));
    made.push(parent);
    const program = new Command('archive').exitOverride();
    register(program);
    const run = program.parseAsync(['init', join(parent, 'root'), '--port', port], { from: 'user' });
    await expect(run).rejects.toThrow(UserError);
    await expect(run).rejects.toThrow(`--port: "${port}" is not a TCP port number (1-65535)`);
    expect(readdirSync(parent)).toEqual([]);
  });
});
