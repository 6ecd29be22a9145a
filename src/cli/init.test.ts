// archive init: a bad --port refused as the command line is read, before a folder, archive.yaml
// or a signing key is made; and a root's id, made once.
import { chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { LABEL_ROOT_ID } from '../docker/swarm-spec.js';
import { UserError } from '../errors.js';
import { Layout } from '../storage/layout.js';
import { SERVICE_UID, callerIsRoot } from '../storage/ownership.js';
import { archiveLabels, readRootId } from './archive-context.js';
import { initRoot, register } from './init.js';

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

describe("a root's id (state/root-id, which its Swarm services carry)", () => {
  it('is made for a root of before that has none, at random, once: archive up (initRoot) keeps it after', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      // A root as an earlier version left it: its key and token, no id.
      const layout = new Layout(scratchDir('aib-root-'));
      for (const dir of layout.directories) mkdirSync(dir, { recursive: true });
      writeFileSync(layout.config, 'name: archive\n');
      writeFileSync(layout.secretKey, 'SECRET', { mode: 0o600 });
      writeFileSync(layout.publicKey, 'PUBLIC');
      writeFileSync(layout.apiToken, 'TOKEN\n', { mode: 0o600 });
      // The queue's user's, as archive init leaves it (run by root, that user is SERVICE_UID).
      if (callerIsRoot()) for (const path of [layout.root, ...layout.directories, layout.config, layout.secretKey, layout.publicKey, layout.apiToken]) chownSync(path, SERVICE_UID, SERVICE_UID);
      expect(readRootId(layout)).toBeUndefined();
      expect(archiveLabels(layout, 'archive-1')[LABEL_ROOT_ID]).toBeUndefined();
      // Nothing new of the archive itself (archive init says it is already initialised).
      expect(await initRoot(layout)).toBe(false);
      const id = readRootId(layout)!;
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(statSync(layout.rootId).uid).toBe(statSync(layout.root).uid);
      await initRoot(layout);
      expect(readFileSync(join(layout.state, 'root-id'), 'utf8')).toBe(`${id}\n`);
      expect(layout.rootId).toBe(join(layout.state, 'root-id'));
      expect(archiveLabels(layout, 'archive-1')).toMatchObject({ [LABEL_ROOT_ID]: id, 'archive-in-a-box.root': layout.root });
      ids.push(id);
    }
    expect(ids[0]).not.toBe(ids[1]);
  });
});
