import { describe, expect, it } from 'vitest';
import { parseWorkerToken, workerToken } from './workers.js';

describe('a worker token', () => {
  const key = 'ab'.repeat(32);

  it('carries the worker name and its key, and reads back', () => {
    const token = workerToken({ id: 'arm-box', key });
    expect(token).toBe(`aibw1.arm-box.${key}`);
    expect(parseWorkerToken(`  ${token}\n`)).toEqual({ name: 'arm-box', key: Buffer.from(key, 'hex') });
  });

  it('is refused when it is something else: the archive token, a short key, a name that is no worker name, extra parts', () => {
    for (const bad of ['0123abcd', `aibw1.arm-box.${key.slice(2)}`, `aibw1.Arm_Box.${key}`, `aibw1.arm-box.${key}.x`, `aibw2.arm-box.${key}`, `aibw1.../x.${key}`]) {
      expect(parseWorkerToken(bad), bad).toBeUndefined();
    }
  });
});
