import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../../test/support/scratch.js';
import { Layout } from '../../storage/layout.js';
import { otherRootError } from './queue.js';

describe('the root a queue starts on', () => {
  const root = (id?: string) => {
    const layout = new Layout(scratchDir('aib-root-id-'));
    mkdirSync(layout.state, { recursive: true });
    if (id !== undefined) writeFileSync(layout.rootId, `${id}\n`);
    return layout;
  };

  it('is the one archive up deployed it for: its state/root-id is the id up gave', async () => {
    expect(await otherRootError(root('a1b2'), 'a1b2', '/srv/archive')).toBeUndefined();
    // No id given (a queue started by hand, or by an up of before): any root.
    expect(await otherRootError(root('a1b2'), undefined, '/srv/archive')).toBeUndefined();
    expect(await otherRootError(root(), '', '/srv/archive')).toBeUndefined();
  });

  it("is refused, naming both ids and the root's path, when it is another archive's or has no id (an empty folder of that path on another node)", async () => {
    expect(await otherRootError(root('c3d4'), 'a1b2', '/srv/archive')).toBe(
      '/srv/archive on the node this queue runs on is not the root archive up deployed it for: its root-id is id c3d4, not id a1b2. ' +
        'archive up (--swarm) runs the queue on the node of the Docker engine it speaks to (DOCKER_HOST): run it on the machine that holds the root, against its own engine',
    );
    const empty = root();
    expect(await otherRootError(empty, 'a1b2', undefined)).toMatch(new RegExp(`^${empty.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on the node this queue runs on is not the root archive up deployed it for: its root-id is missing, not id a1b2\\.`));
  });
});
