// The layers of src/ point only down (issue 12): each file's relative imports are read and an
// import in a forbidden direction fails, naming the file and what it imports.
//   debian/ (Debian formats) and core/ (decisions) at the bottom, config/ pure beside them;
//   storage/ (files, records) and process/ (programs run) above, never importing each other;
//   publish/ above both; docker/; daemons/; cli/ on top.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = import.meta.dirname;
const EVERY = ['debian', 'core', 'config', 'storage', 'process', 'publish', 'docker', 'daemons', 'cli', '.'];
const BOTTOM_FORBIDS = ['storage', 'process', 'publish', 'docker', 'daemons', 'cli'];

/** For each layer, the layers it may not import ('.': the files directly in src/, errors.ts). */
const FORBIDDEN: Record<string, string[]> = {
  debian: EVERY.filter((l) => l !== 'debian'),
  core: BOTTOM_FORBIDS,
  config: BOTTOM_FORBIDS,
  storage: ['process', 'publish', 'docker', 'daemons', 'cli'],
  process: ['storage', 'publish', 'docker', 'daemons', 'cli'],
  publish: ['docker', 'daemons', 'cli'],
  docker: ['daemons', 'cli'],
  daemons: ['cli'],
  cli: [],
  '.': EVERY.filter((l) => l !== '.'),
};

/** The layer of a path relative to src/: its first folder, or '.' for a file in src/ itself. */
const layerOf = (path: string) => (path.includes('/') ? path.split('/')[0] : '.');

/** The relative module specifiers a file imports or re-exports, statically or dynamically. */
export function importsOf(text: string): string[] {
  const found = [...text.matchAll(/\bfrom\s*['"](\.[^'"]*)['"]|\bimport\s*\(?\s*['"](\.[^'"]*)['"]/g)];
  return found.map((m) => m[1] ?? m[2]);
}

/** Every forbidden import among files given as path (relative to src/) -> text. */
export function forbiddenImports(files: Map<string, string>): string[] {
  const found: string[] = [];
  for (const [path, text] of files) {
    const from = layerOf(path);
    for (const spec of importsOf(text)) {
      const target = relative(SRC, resolve(SRC, dirname(path), spec));
      const to = layerOf(target);
      if (to !== from && FORBIDDEN[from]?.includes(to)) found.push(`${path} (${from}) imports ${target} (${to})`);
    }
  }
  return found;
}

function sourceFiles(dir = SRC): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'fixtures') for (const [p, t] of sourceFiles(path)) files.set(p, t);
    else if (entry.isFile() && entry.name.endsWith('.ts')) files.set(relative(SRC, path), readFileSync(path, 'utf8'));
  }
  return files;
}

describe('layers', () => {
  it('every layer of src/ imports only the layers below it', () => {
    const files = sourceFiles();
    expect(files.size).toBeGreaterThan(50);
    expect(forbiddenImports(files)).toEqual([]);
  });

  it('names a forbidden import, of each kind the files use', () => {
    const files = new Map([
      ['storage/x.ts', "import { run } from '../process/run.js';"],
      ['process/y.ts', "import type {\n  Owner,\n} from '../storage/ownership.js';"],
      ['debian/z.ts', "export { UserError } from '../errors.js';"],
      ['core/w.ts', "const m = await import('../daemons/queue/queue.js');"],
      ['cli/ok.ts', "import { Layout } from '../storage/layout.js';"],
      ['publish/ok.ts', "import { run } from '../process/run.js';\nimport { Layout } from '../storage/layout.js';"],
    ]);
    expect(forbiddenImports(files)).toEqual([
      'storage/x.ts (storage) imports process/run.js (process)',
      'process/y.ts (process) imports storage/ownership.js (storage)',
      'debian/z.ts (debian) imports errors.js (.)',
      'core/w.ts (core) imports daemons/queue/queue.js (daemons)',
    ]);
  });
});
