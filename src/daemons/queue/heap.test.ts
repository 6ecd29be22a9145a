import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCompose } from '../../docker/compose-file.js';
import { FILE, VARS } from '../../docker/fixtures/compose-vars.js';
import { collectAfterMany, MANY_PACKAGES } from './heap.js';

const exposed = globalThis as { gc?: () => void };
const before = exposed.gc;
afterEach(() => {
  exposed.gc = before;
});

describe("the queue's heap after an include", () => {
  it('is collected after many packages, not after fewer', () => {
    const gc = vi.fn();
    exposed.gc = gc;
    expect(collectAfterMany(MANY_PACKAGES - 1)).toBe(false);
    expect(gc).not.toHaveBeenCalled();
    expect(collectAfterMany(MANY_PACKAGES)).toBe(true);
    expect(gc).toHaveBeenCalledTimes(1);
  });

  it('is left alone where node exposes no collection', () => {
    delete exposed.gc;
    expect(collectAfterMany(100_000)).toBe(false);
  });

  it("can be collected in the queue's container: its node runs with --expose-gc", () => {
    const queue = parseCompose(readFileSync(FILE, 'utf8'), FILE, VARS).services.find((s) => s.name === 'queue')!;
    const command = queue.command!;
    expect(command.slice(0, command.findIndex((a) => a.endsWith('/main.js')))).toContain('--expose-gc');
  });
});
