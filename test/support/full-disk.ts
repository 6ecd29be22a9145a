// A disk that fills part way through a write: every file handle's `write` or `writev` (node's
// FileHandle, shared by all) fails with ENOSPC from its (after+1)-th call on, while `during` runs.
// For the code that must leave nothing half-written behind (a journal, the control store).
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';

/** Runs `during` with the disk full after `after` calls of `method`; how many calls it made. */
export async function withDiskFullAfter(method: 'write' | 'writev', after: number, during: () => Promise<void>): Promise<number> {
  const path = join(tmpdir(), `aib-full-disk-probe-${process.pid}`);
  const probe = await open(path, 'w');
  const handles = Object.getPrototypeOf(probe) as Record<typeof method, (...args: unknown[]) => Promise<unknown>>;
  await probe.close();
  await rm(path);
  const real = handles[method];
  let calls = 0;
  const full = vi.spyOn(handles, method).mockImplementation(function (this: unknown, ...args: unknown[]) {
    if (++calls > after) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    return real.apply(this, args);
  });
  try {
    await during();
  } finally {
    full.mockRestore();
  }
  return calls;
}
