import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listBuildContext, packBuildContext } from './build-context.js';

describe('a build context', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const make = () => {
    dir = mkdtempSync(join(tmpdir(), 'aib-context-'));
    writeFileSync(join(dir, '.dockerignore'), 'scratch\n');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM x\n');
    writeFileSync(join(dir, 'a.txt'), 'one\n');
    writeFileSync(join(dir, 'scratch'), 'ignored\n');
    symlinkSync('a.txt', join(dir, 'link'));
  };

  it('keeps its stamps while nothing is written, and changes them when a file is, even to the same size and time', async () => {
    make();
    const first = await listBuildContext(dir);
    const firstHash = (await packBuildContext(first)).hash;
    expect(first.entries.map((e) => e.path)).toEqual(['.dockerignore', 'Dockerfile', 'a.txt', 'link']);
    expect((await listBuildContext(dir)).stamps).toBe(first.stamps);
    // What .dockerignore leaves out does not count.
    writeFileSync(join(dir, 'scratch'), 'changed\n');
    expect((await listBuildContext(dir)).stamps).toBe(first.stamps);
    // Same length, modification time set back: the change time still moves.
    const { atime, mtime } = statSync(join(dir, 'a.txt'));
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(dir, 'a.txt'), 'two\n');
    utimesSync(join(dir, 'a.txt'), atime, mtime);
    const after = await listBuildContext(dir);
    expect(after.stamps).not.toBe(first.stamps);
    expect((await packBuildContext(after)).hash).not.toBe(firstHash);
  });

  it('hashes each file apart: no content spells the entries after it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'aib-context-'));
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'b'), 'hi');
    // "a" empty then "b" holding "hi", against "a" holding what the hash read for the second entry.
    writeFileSync(join(dir, 'spelled'), 'b\x00420\x00\x00hi');
    const hashOf = async (entries: { path: string; file: string }[]) => {
      const copy = mkdtempSync(join(tmpdir(), 'aib-context-'));
      try {
        for (const e of entries) writeFileSync(join(copy, e.path), readFileSync(join(dir, e.file)));
        return (await packBuildContext({ dir: copy, entries: entries.map((e) => ({ path: e.path, mode: 0o644 })), stamps: '' })).hash;
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    };
    expect(await hashOf([{ path: 'a', file: 'empty' }, { path: 'b', file: 'b' }])).not.toBe(await hashOf([{ path: 'a', file: 'spelled' }]));
  });

  it('hashes paths, modes, links and contents, and packs what it lists', async () => {
    make();
    const packed = await packBuildContext(await listBuildContext(dir));
    expect(packed.files).toBe(4);
    const text = packed.tar.toString('latin1');
    expect(text).toContain('one\n');
    expect(text).not.toContain('ignored');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('one\n');
    // The same files elsewhere hash the same: the hash is of the context, not of where it lies.
    const other = dir;
    make();
    expect((await packBuildContext(await listBuildContext(dir))).hash).toBe(packed.hash);
    rmSync(other, { recursive: true, force: true });
  });
});
