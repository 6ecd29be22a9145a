import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJson, writeJson } from './json-files.js';

describe('readJson', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aib-json-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads what writeJson wrote', async () => {
    await writeJson(join(dir, 'r.json'), { a: 1 });
    expect(await readJson(join(dir, 'r.json'))).toEqual({ a: 1 });
  });

  it('says undefined for a file that is not there', async () => {
    expect(await readJson(join(dir, 'none.json'))).toBeUndefined();
  });

  it('refuses a file that does not parse, naming it', async () => {
    await writeFile(join(dir, 'torn.json'), '{"a": ');
    await expect(readJson(join(dir, 'torn.json'))).rejects.toThrow(`cannot read record ${join(dir, 'torn.json')}: `);
  });
});
