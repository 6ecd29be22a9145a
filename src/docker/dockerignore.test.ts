import { describe, expect, it } from 'vitest';
import { canSkipDirectory, isIgnored, parseDockerignore } from './dockerignore.js';

describe('.dockerignore rules', () => {
  const rules = parseDockerignore(['*', '!src', '!node_modules', 'src/**/*.test.ts', 'node_modules/vite', '# comment', '!Dockerfile'].join('\n'));

  it.each([
    ['README.md', true],
    ['Dockerfile', false],
    ['src/cli/main.ts', false],
    ['src/cli/main.test.ts', true],
    ['src/a/b/c.test.ts', true],
    ['node_modules/yaml/index.js', false],
    ['node_modules/vite/dist/index.js', true],
    ['test/e2e.test.ts', true],
  ])('%s ignored: %s', (path, ignored) => {
    expect(isIgnored(rules, path)).toBe(ignored);
  });

  it('skips whole directories no exception reaches into', () => {
    expect(canSkipDirectory(rules, 'test')).toBe(true);
    expect(canSkipDirectory(rules, 'node_modules/vite')).toBe(true);
    expect(canSkipDirectory(rules, 'src')).toBe(false);
  });

  it('matches ? and leading slashes as Docker does', () => {
    const r = parseDockerignore('/a?c\n');
    expect(isIgnored(r, 'abc')).toBe(true);
    expect(isIgnored(r, 'abbc')).toBe(false);
  });
});
