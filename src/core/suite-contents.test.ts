import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { heapObjects } from '../../test/support/heap.js';
import type { ArchiveConfig } from '../config/config.js';
import { parseConfig } from '../config/config.js';
import { parseDeb822 } from '../debian/deb822.js';
import { memberStanzas, planPublication, type Member, type PoolFacts } from './publish-plan.js';
import { newHistory, retained, withHistory } from './retention.js';
import {
  ByBinaryKey, ContentsError, binariesChange, binaryMember, binaryRefusal, emptyContents, heldBinary, poolFilesOf, sortedBinaries, suiteBinary, withBinaries as withBinariesOf, withCopy, copiedBinaries, takeovers, withSource, withoutSource, withoutSuperseded,
  type SuiteBinary, type SuiteContents, type SuiteSource,
} from './suite-contents.js';

const src = (source: string, version: string, component = 'main'): SuiteSource => ({
  source, version, component, stanza: [['Package', source], ['Version', version]], files: [`pool/${component}/${source[0]}/${source}/${source}_${version}.dsc`],
});
const controlOf = (pkg: string, version: string, arch: string, o: { source?: string; section?: string; debug?: boolean } = {}): [string, string][] => [
  ['Package', pkg], ['Version', version], ['Architecture', arch], ...(o.source ? [['Source', o.source] as [string, string]] : []),
  ...(o.section ? [['Section', o.section] as [string, string]] : []), ...(o.debug ? [['Auto-Built-Package', 'debug-symbols'] as [string, string]] : []),
];
/** The SHA-256 a test gave a member (the queue's control store holds them); by default one made from its name. */
const shas = new WeakMap<SuiteBinary, string>();
const shaOf = (b: SuiteBinary) => shas.get(b) ?? `${b.package}-${b.version}-${b.arch}`;
const bin = (pkg: string, version: string, arch: string, o: { source?: string; sha?: string; origin?: 'built' | 'imported'; section?: string; debug?: boolean } = {}): SuiteBinary => {
  const b = suiteBinary(
    {
      control: controlOf(pkg, version, arch, o),
      path: `pool/main/${pkg[0]}/${pkg}/${pkg}_${version}_${arch}.deb`, size: 1, md5: 'm', sha1: 's', sha256: o.sha ?? `${pkg}-${version}-${arch}`,
    },
    'main',
    o.origin ?? 'built',
  );
  if (o.sha) shas.set(b, o.sha);
  return b;
};
const withBinaries = (c: SuiteContents, binaries: SuiteBinary[]) => withBinariesOf(c, binaries, shaOf);
/** The pool's facts of members, their control fields as `controls` makes them. */
const facts = (controls: (bs: SuiteBinary[]) => [string, string][][]): PoolFacts => ({ controls, digest: (b) => ({ md5: 'm', sha256: shaOf(b) }) });

describe('suite contents', () => {
  it('reads the source name and version from the Source field, binNMU form included', () => {
    expect(bin('libx1', '1.0-1+b1', 'amd64', { source: 'x (1.0-1)' })).toMatchObject({ package: 'libx1', source: 'x', sourceVersion: '1.0-1' });
    expect(bin('x', '1.0-1', 'amd64', { source: 'x' })).toMatchObject({ source: 'x', sourceVersion: '1.0-1' });
    expect(bin('y', '2', 'all')).toMatchObject({ source: 'y', sourceVersion: '2' });
  });

  it('keeps of a binary\'s file its size, and none of its digests (the control store keeps them)', () => {
    const b = bin('x', '1', 'amd64');
    expect(b).toMatchObject({ size: 1 });
    for (const digest of ['md5', 'sha1', 'sha256']) expect(Object.keys(b)).not.toContain(digest);
  });

  it('keeps none of a control paragraph\'s text alive in a member: not through its name, version or source', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const members: SuiteBinary[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    // Each paragraph a text of its own with a 20 KB description, fields of 13 characters or more.
    for (let i = 0; i < 500; i++) {
      const [p] = parseDeb822(`Package: libexample-common${i}\nVersion: 1:2.4.7-1+deb13u${i}\nArchitecture: amd64\nSource: example-sources${i} (1:2.4.7-1+deb13u${i}x)\nDescription: ${'x'.repeat(20_000)}${i}\n`);
      members.push(suiteBinary({ control: p.entries(), path: `pool/main/l/libexample/libexample-common${i}.deb`, size: 1, md5: 'm', sha1: 's', sha256: 'h' }, 'main', 'imported'));
    }
    gc();
    // 10 MB if each kept its paragraph; a few hundred bytes each if not.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(1_000_000);
    expect(members[7]).toMatchObject({ package: 'libexample-common7', version: '1:2.4.7-1+deb13u7', source: 'example-sources7', sourceVersion: '1:2.4.7-1+deb13u7x' });
  });

  it('holds each member as one object, its path one flat string, its architecture a string all share', async () => {
    const hex = (algorithm: string, s: string) => createHash(algorithm).update(s).digest('hex');
    /** How many things of each kind the heap holds: arrays of properties, strings joined from pieces, strings "amd64". */
    const heapCounts = async () => {
      const counts = { propertyArrays: 0, joined: 0, amd64: 0 };
      for (const { type, name } of await heapObjects()) {
        if (type === 'hidden' && name === 'system / PropertyArray') counts.propertyArrays++;
        if (type === 'concatenated string') counts.joined++;
        if (type === 'string' && name === 'amd64') counts.amd64++;
      }
      return counts;
    };
    const before = await heapCounts();
    const n = 2000;
    // As an include makes them: from a control paragraph, the pool path joined from its parts.
    const included = Array.from({ length: n }, (_, i) => {
      const name = `libexample-made${i}`;
      const [p] = parseDeb822(`Package: ${name}\nVersion: 2.4.${i}-1\nArchitecture: amd64\nSection: libs\nDescription: example ${i}\n`);
      const probe = suiteBinary({ control: p.entries(), path: '', size: i, md5: hex('md5', name), sha256: hex('sha256', name) }, 'main', 'imported');
      return binaryMember({ ...probe, path: `pool/main/l/${probe.source}/${name}_${probe.version}_${probe.arch}.deb` });
    });
    // As the suite store reads them back: every field a string of its own from JSON.parse, and a field a record from before carries.
    const text = JSON.stringify(Array.from({ length: n }, (_, i) => {
      const name = `libexample-read${i}`;
      return { path: `pool/main/l/${name}/${name}_1_amd64.deb`, size: i, md5: hex('md5', name), sha1: hex('sha1', name), sha256: hex('sha256', name), package: name, version: '1', arch: 'amd64', source: name, sourceVersion: '1', component: 'main', origin: 'imported' };
    }));
    const loaded = (JSON.parse(text) as SuiteBinary[]).map((b) => binaryMember({ ...b, debug: false }));
    const after = await heapCounts();
    expect(included).toHaveLength(n);
    expect(loaded).toHaveLength(n);
    // A member made by spreading a record kept 8 of its 13 fields in an array of their own.
    expect(after.propertyArrays - before.propertyArrays).toBeLessThan(n / 10);
    // A joined path was a string of its pieces.
    expect(after.joined - before.joined).toBeLessThan(n / 10);
    // Each member's architecture was a string of its own.
    expect(after.amd64 - before.amd64).toBeLessThan(10);
  });

  it('keeps each member\'s own architecture and component past the few hundred values it shares', () => {
    const members = Array.from({ length: 600 }, (_, i) => binaryMember({ ...bin('x', '1', `arch${i}`), component: `component${i}` }));
    expect(members.map((b) => `${b.arch} ${b.component}`)).toEqual(Array.from({ length: 600 }, (_, i) => `arch${i} component${i}`));
    expect(binaryMember(members[599]).arch).toBe('arch599');
  });

  it('makes every member with the same fields, none a record from before carries', () => {
    const b = binaryMember({ ...bin('x', '1', 'amd64'), control: [['Package', 'x']], md5: 'm', sha1: 's', sha256: 'h' } as SuiteBinary);
    expect(Object.keys(b)).toEqual(['path', 'size', 'package', 'version', 'arch', 'source', 'sourceVersion', 'component', 'origin', 'jobId', 'debug']);
    expect(b).toMatchObject({ package: 'x', source: 'x', sourceVersion: '1', arch: 'amd64', component: 'main', origin: 'built', debug: false });
  });

  it('replaces a source with a newer version and refuses an older one', () => {
    const c = withSource(withSource(emptyContents('unstable'), src('x', '1.0-1')), src('x', '1.0-2'));
    expect(c.sources.map((s) => s.version)).toEqual(['1.0-2']);
    expect(() => withSource(c, src('x', '1.0-1'))).toThrow(ContentsError);
  });

  it('keeps the newest binary per package and architecture, and refuses a same-version binary with other content', () => {
    let c = withBinaries(emptyContents('u'), [bin('x', '1', 'amd64'), bin('x', '1', 'arm64')]);
    c = withBinaries(c, [bin('x', '2', 'amd64'), bin('x', '0.9', 'arm64')]);
    expect(c.binaries.map((b) => `${b.arch} ${b.version}`).sort()).toEqual(['amd64 2', 'arm64 1']);
    expect(withBinaries(c, [bin('x', '2', 'amd64')])).toEqual(c);
    expect(() => withBinaries(c, [bin('x', '2', 'amd64', { sha: 'other' })])).toThrow(/already has x 2 amd64 with other content/);
  });

  it('says which members left and joined the list it was given, and only for that list', () => {
    const c = withBinaries(emptyContents('u'), [bin('x', '1', 'amd64'), bin('x', '1', 'arm64'), bin('y', '1', 'all')]);
    const [x1, xArm] = c.binaries;
    const x2 = bin('x', '2', 'amd64');
    const z = bin('z', '1', 'all');
    const next = withBinaries(c, [bin('x', '1.5', 'amd64'), x2, bin('x', '0.9', 'arm64'), z]);
    expect(binariesChange(c.binaries, next.binaries)).toEqual({ left: [x1], joined: [x2, z] });
    expect(next.binaries).toContain(xArm);
    expect(binariesChange(emptyContents('u').binaries, next.binaries)).toBeUndefined();
    expect(binariesChange(c.binaries, [...next.binaries])).toBeUndefined();
  });

  it('keeps each list sorted by package and architecture as packages join, replace and repeat, as a full sort orders it', () => {
    const fullSort = (list: SuiteBinary[]) => [...list].sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
    const names = ['a', 'b', 'c', 'lib-b', 'z', 'b1', 'a-b', ...Array.from({ length: 30 }, (_, i) => `p${i}`)];
    const arches = ['amd64', 'all', 'arm64'];
    let seed = 7;
    const pick = <T,>(xs: T[]) => xs[(seed = (seed * 1103515245 + 12345) % 2147483648) % xs.length];
    let c = withBinaries(emptyContents('u'), [bin('m', '1', 'amd64')]);
    sortedBinaries(c.binaries);
    for (let step = 0; step < 60; step++) {
      // Mostly a few packages at a time, now and then many (each way of joining a list).
      const batch = Array.from({ length: step % 10 === 9 ? 60 : 1 + (step % 3) }, () => bin(pick(names), String(1 + (step % 5)), pick(arches)));
      try {
        c = withBinaries(c, batch);
      } catch {
        continue; // the same version with other content: refused, nothing changed
      }
      expect(sortedBinaries(c.binaries).map((b) => `${b.package} ${b.arch} ${b.version}`)).toEqual(fullSort(c.binaries).map((b) => `${b.package} ${b.arch} ${b.version}`));
    }
    expect(c.binaries.length).toBeGreaterThan(10);
  });

  it('answers which member a list holds after a newer list was made from it', () => {
    const c = withBinaries(emptyContents('u'), [bin('x', '1', 'amd64'), bin('y', '1', 'amd64')]);
    const next = withBinaries(c, [bin('x', '2', 'amd64'), bin('z', '1', 'amd64')]);
    expect(heldBinary(next, { package: 'x', arch: 'amd64' })?.version).toBe('2');
    expect(heldBinary(next, { package: 'z', arch: 'amd64' })?.version).toBe('1');
    expect(heldBinary(c, { package: 'x', arch: 'amd64' })?.version).toBe('1');
    expect(heldBinary(c, { package: 'z', arch: 'amd64' })).toBeUndefined();
    expect(c.binaries.map((b) => b.version)).toEqual(['1', '1']);
    expect(next.binaries.map((b) => `${b.package} ${b.version}`)).toEqual(['x 2', 'y 1', 'z 1']);
  });

  it('finds a package among many by bisection, the later of two members of one package and architecture', () => {
    const many = Array.from({ length: 500 }, (_, i) => bin(`p${String(i).padStart(3, '0')}`, '1', i % 2 ? 'amd64' : 'all'));
    const c = { ...emptyContents('u'), binaries: [...many].reverse() };
    expect(heldBinary(c, { package: 'p123', arch: 'amd64' })?.package).toBe('p123');
    expect(heldBinary(c, { package: 'p123', arch: 'all' })).toBeUndefined();
    expect(heldBinary(c, { package: 'p1', arch: 'amd64' })).toBeUndefined();
    expect(heldBinary(c, { package: 'p999', arch: 'all' })).toBeUndefined();
    // A copy can leave two (archive copy of a source whose package another source publishes in the target).
    const twice = { ...emptyContents('u'), binaries: [bin('x', '1', 'amd64'), bin('y', '1', 'amd64'), bin('x', '2', 'amd64')] };
    expect(heldBinary(twice, { package: 'x', arch: 'amd64' })?.version).toBe('2');
  });

  it('lets each list of binaries go once a newer one replaced it: no list keeps the one it was made from', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
    let c = withBinaries(emptyContents('u'), [bin('a', '1', 'amd64')]);
    const earlier: WeakRef<SuiteBinary[]>[] = [];
    for (let i = 0; i < 5; i++) {
      earlier.push(new WeakRef(c.binaries));
      const next = withBinaries(c, [bin(`n${i}`, '1', 'amd64')]);
      expect(binariesChange(c.binaries, next.binaries)?.joined).toHaveLength(1);
      c = next;
      await turn();
    }
    await turn();
    gc();
    expect(earlier.map((list) => list.deref() === undefined)).toEqual([true, true, true, true, true]);
    expect(c.binaries).toHaveLength(6);
  });

  it('drops binaries an older version of a source built once the new one is in, but not imported ones', () => {
    let c = withSource(emptyContents('u'), src('x', '2'));
    c = withBinaries(c, [bin('libx1', '1', 'amd64', { source: 'x' }), bin('x-tool', '9', 'amd64', { source: 'x (1)', origin: 'imported' }), bin('libx2', '2', 'amd64', { source: 'x' })]);
    expect(withoutSuperseded(c, 'x').binaries.map((b) => b.package).sort()).toEqual(['libx2', 'x-tool']);
  });

  it('removes a source with every binary built from it, and says when there is nothing to remove', () => {
    const c = withBinaries(withSource(emptyContents('u'), src('x', '1')), [bin('libx1', '1', 'amd64', { source: 'x' }), bin('y', '1', 'all')]);
    const r = withoutSource(c, 'x');
    expect({ sources: r.sources, binaries: r.binaries, left: r.contents.binaries.map((b) => b.package) }).toEqual({ sources: 1, binaries: 1, left: ['y'] });
    expect(() => withoutSource(r.contents, 'x')).toThrow(/u has no source package or binaries from x/);
  });

  it('copies a source and its binaries, leaving out architectures the target lacks, and refuses a downgrade', () => {
    const from = withBinaries(withSource(emptyContents('unstable'), src('x', '2')), [bin('x', '2', 'amd64'), bin('x', '2', 'arm64'), bin('x-doc', '2', 'all', { source: 'x' })]);
    let to = withBinaries(withSource(emptyContents('testing'), src('x', '1')), [bin('x', '1', 'amd64'), bin('x-old', '1', 'amd64', { source: 'x' })]);
    const r = withCopy(from, to, 'x', ['amd64'], false, '2026-12-06T12:00:00.000Z');
    expect(r.version).toBe('2');
    expect(r.contents.sources.map((s) => s.version)).toEqual(['2']);
    // In testing since the copy (a migration's after_days counts from it), whenever it entered unstable.
    expect(r.contents.sources[0].since).toBe('2026-12-06T12:00:00.000Z');
    expect(r.contents.binaries.map((b) => `${b.package} ${b.version} ${b.arch}`).sort()).toEqual(['x 2 amd64', 'x-doc 2 all']);
    to = r.contents;
    expect(() => withCopy(withSource(emptyContents('old'), src('x', '1')), to, 'x', ['amd64'], false)).toThrow(/testing has x 2, newer than old's 1/);
    expect(() => withCopy(from, to, 'nothing', ['amd64'], false)).toThrow(/unstable has no source package or binaries from nothing/);
  });

  it("copies only the binaries built from the version it copies (and imported ones), not those an older version built that are left in the suite", () => {
    // x 2's arch:all build failed: unstable still has x-doc 1 from x 1 beside x 2's amd64 package.
    const from = withBinaries(withSource(emptyContents('unstable'), src('x', '2')), [
      bin('x', '2', 'amd64'), bin('x-doc', '1', 'all', { source: 'x' }), bin('x-data', '1', 'all', { source: 'x', origin: 'imported' }),
    ]);
    const r = withCopy(from, emptyContents('testing'), 'x', ['amd64'], false);
    expect(r.copied.map((b) => `${b.package} ${b.version} ${b.arch}`).sort()).toEqual(['x 2 amd64', 'x-data 1 all']);
    expect(r.contents.binaries.map((b) => `${b.package} ${b.version} ${b.arch}`).sort()).toEqual(['x 2 amd64', 'x-data 1 all']);
    expect(copiedBinaries(from, 'x', '1', ['amd64']).map((b) => b.package).sort()).toEqual(['x-data', 'x-doc']);
  });

  it("refuses a copy that would take over another source's binary package, unless the target allows takeovers", () => {
    // In unstable (takeovers allowed there), x took over libshared; testing has it from y.
    const from = withBinaries(withSource(emptyContents('unstable'), src('x', '2')), [bin('x', '2', 'amd64'), bin('libshared', '2', 'amd64', { source: 'x' }), bin('x-arm', '2', 'arm64', { source: 'x' })]);
    const to = withBinaries(withSource(withSource(emptyContents('testing'), src('y', '1')), src('z', '1')), [bin('libshared', '1', 'amd64', { source: 'y' }), bin('x-arm', '1', 'arm64', { source: 'z' })]);
    expect(() => withCopy(from, to, 'x', ['amd64'], false)).toThrow(
      'x 2 is not copied to testing: binary package libshared is published in testing by source y, which it may not take over; remove that source first (archive rm y --suite testing) or set suites.testing.allow_binary_takeover: true in archive.yaml',
    );
    // An architecture the target lacks is not copied, so it takes nothing over.
    expect(takeovers(to, 'x', copiedBinaries(from, 'x', '2', ['amd64']))).toEqual([['libshared', 'y']]);
    expect(takeovers(to, 'x', copiedBinaries(from, 'x', '2', ['amd64', 'arm64']))).toEqual([['libshared', 'y'], ['x-arm', 'z']]);
    // Allowed: the copy's libshared replaces y's, as a build's would; z's x-arm (arm64, not copied) stays.
    const r = withCopy(from, to, 'x', ['amd64'], true);
    expect(r.contents.binaries.map((b) => `${b.package} ${b.source} ${b.version} ${b.arch}`).sort()).toEqual(['libshared x 2 amd64', 'x x 2 amd64', 'x-arm z 1 arm64']);
  });

  it('refuses a copy while the source suite lacks the binaries of that version for an architecture it builds for in the target (its builds pending), naming them; one that builds nothing there goes', () => {
    const built = (version: string, architecture: string): SuiteSource => ({ ...src('hello', version), stanza: [...src('hello', version).stanza, ['Architecture', architecture]] });
    // unstable has hello 2.0, its builds pending: only 1.0's amd64 package is there; testing has 1.0 whole.
    const unstable = withBinaries(withSource(emptyContents('unstable'), built('2.0', 'any all')), [bin('hello', '1.0', 'amd64', { source: 'hello' })]);
    const testing = withBinaries(withSource(emptyContents('testing'), built('1.0', 'any all')), [bin('hello', '1.0', 'amd64', { source: 'hello' }), bin('hello-doc', '1.0', 'all', { source: 'hello' })]);
    const why = (arches: string) => `unstable has none of its binaries for ${arches} yet (their builds are not all in, failed or are held back, or unstable lacks the architecture); copy it once they are in (archive status hello says how its builds stand)`;
    expect(() => withCopy(unstable, testing, 'hello', ['amd64', 'arm64'], false)).toThrow(new ContentsError(`hello 2.0 is not copied to testing: ${why('all, amd64, arm64')}`));
    // amd64 built (with its arch:all packages, -b): arm64 still pending.
    const partly = withBinaries(unstable, [bin('hello', '2.0', 'amd64', { source: 'hello' }), bin('hello-doc', '2.0', 'all', { source: 'hello' })]);
    expect(() => withCopy(partly, testing, 'hello', ['amd64', 'arm64'], false)).toThrow(`hello 2.0 is not copied to testing: ${why('arm64')}`);
    expect(withCopy(partly, testing, 'hello', ['amd64'], false).copied.map((b) => `${b.package} ${b.version} ${b.arch}`).sort()).toEqual(['hello 2.0 amd64', 'hello-doc 2.0 all']);
    // A version that builds nothing for the target's architectures (arm64 only, testing amd64) brings its source alone.
    const armOnly = withSource(emptyContents('unstable'), built('3.0', 'arm64'));
    expect(withCopy(armOnly, testing, 'hello', ['amd64'], false).contents.sources.map((x) => x.version)).toEqual(['3.0']);
    // The same version from a suite that lacks an architecture the target has: not dropped from the
    // target (nothing the copy brings is new: nothing changes), nor when the copy brings something new.
    const stable = { ...withBinaries(testing, [bin('hello', '1.0', 'arm64', { source: 'hello' })]), id: 'stable' };
    expect(withCopy(testing, stable, 'hello', ['amd64', 'arm64'], false)).toMatchObject({ contents: stable, copied: [], unchanged: true });
    const more = withBinaries(testing, [bin('hello-extra', '1.0', 'all', { source: 'hello' })]);
    expect(() => withCopy(more, stable, 'hello', ['amd64', 'arm64'], false)).toThrow(`hello 1.0 is not copied to stable: testing has none of its binaries for arm64 yet`);
  });

  it('copies onto the same version without setting its days there back: nothing when the target has every file, else what it lacks', () => {
    const since = '2026-01-01T00:00:00.000Z';
    const unstable = withBinaries(withSource(emptyContents('unstable'), src('x', '2')), [bin('x', '2', 'amd64'), bin('x', '2', 'arm64')]);
    const testing = withBinaries(withSource(emptyContents('testing'), { ...src('x', '2'), since }), [bin('x', '2', 'amd64')]);
    // testing has amd64 only: a copy for amd64 changes nothing.
    expect(withCopy(unstable, testing, 'x', ['amd64'], false, '2026-12-06T12:00:00.000Z')).toMatchObject({ contents: testing, unchanged: true, version: '2' });
    // testing gained arm64 since: the copy brings its package, and x is in testing since as before.
    const r = withCopy(unstable, testing, 'x', ['amd64', 'arm64'], false, '2026-12-06T12:00:00.000Z');
    expect(r.unchanged).toBeUndefined();
    expect(r.contents.binaries.map((b) => `${b.package} ${b.version} ${b.arch}`).sort()).toEqual(['x 2 amd64', 'x 2 arm64']);
    expect(r.contents.sources).toMatchObject([{ source: 'x', version: '2', since }]);
  });

  it('refuses a downgrade of imported binaries, which have no source package', () => {
    const older = withBinaries(emptyContents('snap'), [bin('tool', '1', 'amd64', { origin: 'imported' })]);
    const newer = withBinaries(emptyContents('testing'), [bin('tool', '2', 'amd64', { origin: 'imported' })]);
    expect(() => withCopy(older, newer, 'tool', ['amd64'], false)).toThrow(/testing has tool 2, newer than snap's 1/);
    expect(withCopy(newer, older, 'tool', ['amd64'], false).contents.binaries.map((b) => b.version)).toEqual(['2']);
  });

  it('lets a build publish only the binary packages its .dsc declares, and their -dbgsym', () => {
    const c = emptyContents('unstable');
    expect(binaryRefusal(c, 'x', ['x', 'libx1'], 'libx1', false)).toBeUndefined();
    expect(binaryRefusal(c, 'x', ['x', 'libx1'], 'libx1-dbgsym', false)).toBeUndefined();
    expect(binaryRefusal(c, 'x', ['x', 'libx1'], 'libx2', false)).toBe(
      "binary package libx2 is not in the Binary field of x's .dsc (x, libx1); a build publishes only the packages its source declares, and their -dbgsym",
    );
    expect(binaryRefusal(c, 'x', ['x'], 'y-dbgsym', false)).toMatch(/binary package y-dbgsym is not in the Binary field/);
    // A -dbgsym is not a declared name itself: "x-dbgsym-dbgsym" is not x-dbgsym's.
    expect(binaryRefusal(c, 'x', ['x'], 'x-dbgsym-dbgsym', false)).toMatch(/is not in the Binary field/);
  });

  it('refuses a binary package name another source in the suite publishes, naming both, unless the suite allows takeovers', () => {
    const c = withBinaries(emptyContents('unstable'), [bin('libshared1', '1', 'amd64', { source: 'victim' }), bin('tool', '1', 'all', { source: 'tool', origin: 'imported' })]);
    expect(binaryRefusal(c, 'thief', ['libshared1'], 'libshared1', false)).toBe(
      'binary package libshared1 is already published in unstable by source victim, so source thief may not take it over; remove it first (archive rm victim --suite unstable) or set suites.unstable.allow_binary_takeover: true in archive.yaml',
    );
    expect(binaryRefusal(c, 'thief', ['tool'], 'tool', false)).toMatch(/already published in unstable by source tool, so source thief/);
    expect(binaryRefusal(c, 'thief', ['libshared1'], 'libshared1', true)).toBeUndefined();
    // Its own source's binary, a new version of it: no takeover.
    expect(binaryRefusal(c, 'victim', ['libshared1'], 'libshared1', false)).toBeUndefined();
  });

  it('lists every pool file it names', () => {
    const c = withBinaries(withSource(emptyContents('u'), src('x', '1')), [bin('x', '1', 'amd64')]);
    expect(poolFilesOf(c)).toEqual(['pool/main/x/x/x_1.dsc', 'pool/main/x/x/x_1_amd64.deb']);
  });
});

describe('members by package and architecture', () => {
  it('finds each by both, a package held for two architectures too, and a later one in the place of the earlier', () => {
    const held = new ByBinaryKey();
    const [a, b, c, d] = [bin('foo', '1', 'amd64'), bin('foo', '1', 'arm64'), bin('bar', '1', 'amd64'), bin('foo', '2', 'arm64')];
    for (const m of [a, b, c]) held.set(m);
    expect([held.get(a), held.get(b), held.get(c)]).toEqual([a, b, c]);
    expect(held.get({ package: 'foo', arch: 'i386' })).toBeUndefined();
    expect(held.get({ package: 'baz', arch: 'amd64' })).toBeUndefined();
    held.set(d);
    expect(held.get({ package: 'foo', arch: 'arm64' })).toBe(d);
    // The one held by name replaced too, in its place; a third architecture after the others.
    const [e, f] = [bin('foo', '2', 'amd64'), bin('foo', '1', 'armhf')];
    held.set(e);
    held.set(f);
    expect([held.get(a), held.get(b), held.get(f)]).toEqual([e, d, f]);
    expect(held.values()).toEqual([e, c, d, f]);
  });
});

describe('pool retention', () => {
  const h = withHistory({}, ['1', '3', '2', '4'].map((v) => ({ source: 'x', version: v, files: [`x_${v}.dsc`, 'x_1.orig.tar.gz'] })));
  it('keeps the newest versions of a published source, shared files once', () => {
    const r = retained(h, 2, new Set(['x 4']));
    expect(r.history.x.map((e) => e.version)).toEqual(['3', '4']);
    expect([...r.files].sort()).toEqual(['x_1.orig.tar.gz', 'x_3.dsc', 'x_4.dsc']);
    // What was cut, as changes: applied to the history, they give the history cut.
    expect(r.dropped).toEqual(['1', '2'].map((version) => ({ source: 'x', version, drop: true })));
    expect(withHistory(structuredClone(h), r.dropped)).toEqual(r.history);
  });
  it('also keeps versions a suite or snapshot still publishes', () => {
    expect(retained(h, 1, new Set(['x 1'])).history.x.map((e) => e.version)).toEqual(['1', '4']);
  });
  it('keeps nothing of a source no suite or snapshot publishes any more', () => {
    const r = retained(h, 3, new Set(['y 1']));
    expect(r).toEqual({ history: {}, files: new Set(), dropped: ['1', '2', '3', '4'].map((version) => ({ source: 'x', version, drop: true })) });
    // The last version dropped takes the source out; a version or source not held is no change.
    expect(withHistory(structuredClone(h), r.dropped)).toEqual({});
    expect(withHistory(structuredClone(h), [{ source: 'y', version: '1', drop: true }, { source: 'x', version: '9', drop: true }])).toEqual(h);
  });
  it('makes a new history a source at a time, as noting every change in none makes it', () => {
    const changes = [
      { source: 'z', version: '2', files: ['z_2.dsc'] },
      { source: 'a', version: '1', files: ['a_1_amd64.deb'] },
      { source: 'z', version: '1', files: ['z_1.dsc'] },
      { source: 'a', version: '1', files: ['a_1_arm64.deb', 'a_1_amd64.deb'] },
      { source: 'm', version: '1', drop: true as const },
      { source: 'z', version: '2', files: ['z_2_all.deb'] },
      { source: 'z', version: '1', drop: true as const },
    ];
    const made = [...newHistory(changes)];
    // By source name, each once; a source its changes leave nothing of is not there.
    expect(made.map(([source]) => source)).toEqual(['a', 'z']);
    expect(Object.fromEntries(made)).toEqual(withHistory({}, structuredClone(changes)));
    expect(Object.fromEntries(made).z).toEqual([{ version: '2', files: ['z_2.dsc', 'z_2_all.deb'] }]);
  });
  it('holds a source named as a property every object has as any other', () => {
    const noted = withHistory({}, [{ source: 'constructor', version: '1', files: ['c_1.dsc'] }, { source: 'constructor', version: '2', files: ['c_2.dsc'] }]);
    expect(noted.constructor).toEqual([{ version: '1', files: ['c_1.dsc'] }, { version: '2', files: ['c_2.dsc'] }]);
    expect(withHistory({}, [{ source: 'constructor', version: '1', drop: true }])).toEqual({});
  });
  it('merges the files a version gains later (its builds)', () => {
    const noted = withHistory(structuredClone(h), [{ source: 'x', version: '4', files: ['x_4_amd64.deb'] }]);
    expect(noted.x.find((e) => e.version === '4')!.files).toEqual(['x_4.dsc', 'x_1.orig.tar.gz', 'x_4_amd64.deb']);
  });
});

describe('the publication plan', () => {
  const config: ArchiveConfig = parseConfig('suites:\n  unstable:\n    components: [main, contrib]\n    architectures: [amd64, arm64]\n', 'archive.yaml');
  /** A field of a member's stanza, as the plan makes it. */
  const stanzas = memberStanzas(facts((bs) => bs.map((b) => controlOf(b.package, b.version, b.arch))));
  const field = (m: Member, name: string) => parseDeb822(stanzas.stanzas([m])[0].text)[0].first(name);
  it('puts packages in their component, arch all in every architecture, sorted, and names the snapshot by itself', () => {
    let c = withSource(emptyContents('unstable'), src('z', '1', 'contrib'));
    c = withBinaries(c, [bin('z', '1', 'amd64'), bin('a-doc', '1', 'all'), { ...bin('z-contrib', '1', 'arm64'), component: 'contrib' }]);
    const snap = { ...c, id: 'snap', kind: 'snapshot' as const, of: 'unstable', components: ['main'], architectures: ['amd64'] };
    const [u, , s] = planPublication(config, [c, snap], facts((bs) => bs.map((b) => controlOf(b.package, b.version, b.arch))));
    expect(u.codename).toBe('sid');
    const main = u.components.find((x) => x.name === 'main')!;
    const contrib = u.components.find((x) => x.name === 'contrib')!;
    expect(main.packages.get('amd64')!.map((p) => field(p, 'Package'))).toEqual(['a-doc', 'z']);
    expect(main.packages.get('arm64')!.map((p) => field(p, 'Package'))).toEqual(['a-doc']);
    expect(contrib.packages.get('arm64')!.map((p) => field(p, 'Filename'))).toEqual(['pool/main/z/z-contrib/z-contrib_1_arm64.deb']);
    expect(contrib.sources.map((p) => field(p, 'Package'))).toEqual(['z']);
    expect(u.poolFiles).toContain('pool/contrib/z/z/z_1.dsc');
    expect({ suite: s.suite, codename: s.codename, components: s.components.map((x) => x.name), arches: s.architectures }).toEqual({ suite: 'snap', codename: 'snap', components: ['main'], arches: ['amd64'] });
  });
  it('publishes debug symbols (Auto-Built-Package: debug-symbols) in NAME-debug beside each suite and snapshot, and nothing else there', () => {
    const dbgsym = (pkg: string): SuiteBinary => {
      const b = bin(pkg, '1', 'amd64', { source: 'z', section: 'debug', debug: true });
      return b;
    };
    let c = withSource(emptyContents('unstable'), src('z', '1'));
    c = withBinaries(c, [bin('z', '1', 'amd64'), bin('z-dbg', '1', 'amd64', { source: 'z', section: 'debug' }), dbgsym('z-dbgsym')]);
    const snap = { ...c, id: 'snap', kind: 'snapshot' as const, of: 'unstable' };
    const plans = planPublication(config, [c, snap], facts((bs) => bs.map((b) => controlOf(b.package, b.version, b.arch))));
    expect(plans.map((p) => `${p.suite}/${p.codename}`)).toEqual(['unstable/sid', 'unstable-debug/sid-debug', 'snap/snap', 'snap-debug/snap-debug']);
    const [u, debug] = plans;
    const names = (p: typeof u) => p.components[0].packages.get('amd64')!.map((x) => field(x, 'Package'));
    // A hand-made -dbg package is an ordinary package: it stays in the suite.
    expect(names(u)).toEqual(['z', 'z-dbg']);
    expect(names(debug)).toEqual(['z-dbgsym']);
    expect(debug.components.map((x) => [x.name, x.sources.length])).toEqual([['main', 0], ['contrib', 0]]);
    expect(debug.architectures).toEqual(['amd64', 'arm64']);
    expect(debug.poolFiles).toEqual(['pool/main/z/z-dbgsym/z-dbgsym_1_amd64.deb']);
    expect(u.poolFiles).not.toContain('pool/main/z/z-dbgsym/z-dbgsym_1_amd64.deb');
    expect(names(plans[3])).toEqual(['z-dbgsym']);
  });
  it('plans a list made from one planned before as it plans the same members anew, as packages join, replace and repeat', () => {
    const names = ['a', 'b', 'lib-b', 'z', 'a-b', ...Array.from({ length: 20 }, (_, i) => `p${i}`)];
    let seed = 11;
    const pick = <T,>(xs: T[]) => xs[(seed = (seed * 1103515245 + 12345) % 2147483648) % xs.length];
    const controls = facts((bs) => bs.map((b) => controlOf(b.package, b.version, b.arch)));
    // Every list of every plan, and the pool files, as text.
    const shown = (c: SuiteContents) =>
      planPublication(config, [c], controls).map((p) => ({
        lists: p.components.map((x) => [...x.packages].map(([arch, list]) => `${x.name}/${arch}: ${list.map((b) => `${(b as SuiteBinary).package} ${(b as SuiteBinary).arch} ${(b as SuiteBinary).version}`).join(', ')}`)),
        pool: [...p.poolFiles].sort(),
      }));
    let c = emptyContents('unstable');
    planPublication(config, [c], controls);
    for (let step = 0; step < 50; step++) {
      // Mostly a few packages at a time, now and then many; in a component archive.yaml has or not, debug symbols or not.
      const batch = Array.from({ length: step % 10 === 9 ? 40 : 1 + (step % 3) }, () => {
        const pkg = pick(names);
        return { ...bin(pkg, String(1 + (step % 4)), pick(['amd64', 'all', 'arm64', 'i386']), { debug: pkg.startsWith('p1') }), component: pick(['main', 'contrib', 'gone']) };
      });
      try {
        c = withBinaries(c, batch);
      } catch {
        continue; // the same version with other content: refused, nothing changed
      }
      expect(shown(c)).toEqual(shown({ ...c, binaries: [...c.binaries] }));
    }
    expect(c.binaries.length).toBeGreaterThan(10);
  });

  it('leaves out a suite no longer in archive.yaml', () => {
    expect(planPublication(config, [emptyContents('gone')], facts(() => []))).toEqual([]);
  });
});
