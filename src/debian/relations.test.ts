// Relationship fields as Policy 7.1 writes them, and what satisfies them (Provides, Multi-Arch).
import { describe, expect, it } from 'vitest';
import { parseRelations, RelationIndex, versionSatisfies, type RelationPackage } from './relations.js';

const pkg = (over: Partial<RelationPackage> & { package: string }): RelationPackage => ({ version: '1.0-1', arch: 'amd64', provides: [], ...over });

describe('relationship fields', () => {
  it('reads clauses, alternatives, qualifiers and versions; the obsolete < and > are <= and >=', () => {
    const r = parseRelations('libc6 (>= 2.36), libfoo1 (>> 1:2~rc1) | libfoo-compat,  perl:any, python3 (<2.0)');
    expect(r).toEqual([
      { text: 'libc6 (>= 2.36)', alternatives: [{ name: 'libc6', op: '>=', version: '2.36' }] },
      { text: 'libfoo1 (>> 1:2~rc1) | libfoo-compat', alternatives: [{ name: 'libfoo1', op: '>>', version: '1:2~rc1' }, { name: 'libfoo-compat' }] },
      { text: 'perl:any', alternatives: [{ name: 'perl', archQualifier: 'any' }] },
      { text: 'python3 (<2.0)', alternatives: [{ name: 'python3', op: '<=', version: '2.0' }] },
    ]);
    expect(parseRelations('')).toEqual([]);
  });

  it('names what it cannot read', () => {
    expect(parseRelations('libc6 (>= 2.36')).toEqual({ error: '"libc6 (>= 2.36" is not a package relation (name, then an optional "(op version)")' });
    expect(parseRelations('Foo')).toHaveProperty('error');
  });

  it('compares versions by each operator', () => {
    expect(versionSatisfies('2.0-1', '>=', '2')).toBe(true);
    expect(versionSatisfies('2~rc1', '>=', '2')).toBe(false);
    expect(versionSatisfies('1.0', '<<', '1.0')).toBe(false);
    expect(versionSatisfies('1.0', '<=', '1.0')).toBe(true);
    expect(versionSatisfies('1:0.1', '>>', '9.9')).toBe(true);
    expect(versionSatisfies('1.0-1', '=', '1.0-1')).toBe(true);
  });
});

describe('what satisfies a relation', () => {
  const index = new RelationIndex([
    pkg({ package: 'libfoo1', version: '2.0-1' }),
    pkg({ package: 'foo-data', arch: 'all' }),
    pkg({ package: 'tool', arch: 'arm64', multiArch: 'foreign' }),
    pkg({ package: 'perl', arch: 'arm64', multiArch: 'allowed' }),
    pkg({ package: 'mta', provides: [{ name: 'mail-transport-agent' }, { name: 'libbar', op: '=', version: '3' }] }),
  ]);
  const one = (field: string) => (parseRelations(field) as { alternatives: { name: string }[] }[])[0].alternatives[0];

  it('a real package of the same architecture, or all, at a version that meets the relation', () => {
    expect(index.satisfies(one('libfoo1 (>= 2)'), 'amd64')).toBe(true);
    expect(index.satisfies(one('libfoo1 (>= 3)'), 'amd64')).toBe(false);
    expect(index.satisfies(one('libfoo1'), 'arm64')).toBe(false);
    expect(index.satisfies(one('foo-data'), 'arm64')).toBe(true);
    expect(index.satisfies(one('missing'), 'amd64')).toBe(false);
  });

  it('another architecture only through Multi-Arch: foreign, or :any of Multi-Arch: allowed', () => {
    expect(index.satisfies(one('tool'), 'amd64')).toBe(true);
    expect(index.satisfies(one('perl'), 'amd64')).toBe(false);
    expect(index.satisfies(one('perl:any'), 'amd64')).toBe(true);
  });

  it('a provided name: unversioned always, versioned only through a versioned Provides', () => {
    expect(index.satisfies(one('mail-transport-agent'), 'amd64')).toBe(true);
    expect(index.satisfies(one('mail-transport-agent (>= 1)'), 'amd64')).toBe(false);
    expect(index.satisfies(one('libbar (>= 2)'), 'amd64')).toBe(true);
    expect(index.satisfies(one('libbar (>> 3)'), 'amd64')).toBe(false);
  });
});
