import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { LABEL_ROOT_ID } from '../docker/swarm-spec.js';
import { Layout } from '../storage/layout.js';
import { SERVICE_UID, callerIsRoot } from '../storage/ownership.js';
import { archiveLabels, readRootId } from './archive-context.js';
import { initRoot } from './init.js';

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
