import { describe, expect, it } from 'vitest';
import type { ChangesFile } from '../debian/changes-dsc.js';
import { Paragraph } from '../debian/deb822.js';
import { BUILD_CHECKS, FILE_CHECKS, INCLUDED_DEB_CHECKS, checkIncludedDeb, checkReturnedBuild, type ReturnedBuild, type ReturnedFile } from './artifact-checks.js';
import { emptyContents, suiteBinary, withBinaries } from './suite-contents.js';

// A good returned build of hello 1:2.0-1 on amd64, and one way to break it per check.
const digest = (size: number, sha256 = 'a'.repeat(64)) => ({ size, md5: 'm', sha1: 's', sha256 });
const deb = (name: string, fields: Record<string, string>): ReturnedFile => ({
  name,
  size: 10,
  sha256: 'a'.repeat(64),
  digest: digest(10),
  control: new Paragraph(Object.entries({ Package: 'hello', Version: '1:2.0-1', Architecture: 'amd64', Source: 'hello', ...fields })),
});

function good(): ReturnedBuild {
  const files: ReturnedFile[] = [
    deb('hello_2.0-1_amd64.deb', {}),
    { name: 'hello_2.0-1_amd64.buildinfo', size: 5, sha256: 'a'.repeat(64), digest: digest(5) },
  ];
  return {
    job: { id: 'j', source: 'hello', version: '1:2.0-1', arch: 'amd64' },
    changesName: 'hello_2.0-1_amd64.changes',
    changes: { source: 'hello', version: '1:2.0-1' } as ChangesFile,
    files,
    declared: ['hello'],
    contents: emptyContents('unstable'),
    allowTakeover: false,
  };
}

/** Each check by id, a way to make exactly it fail, and what its message says. */
const breaks: Record<string, [(b: ReturnedBuild) => void, RegExp]> = {
  'changes-of-job': [(b) => (b.changes.version = '1:2.0-2'), /is for hello 1:2.0-2, but the job builds hello 1:2.0-1/],
  'changes-named-for-source': [(b) => (b.changesName = 'other_2.0-1_amd64.changes'), /is not a \.changes of this build \(hello_2\.0-1_amd64\.changes\)/],
  'lists-binaries': [(b) => (b.files = b.files.filter((f) => !f.name.endsWith('.deb'))), /lists no binary packages/],
  'safe-name': [(b) => (b.files[1] = { ...b.files[1], name: '../hello.buildinfo' }), /lists an unsafe file name \.\.\/hello\.buildinfo/],
  returned: [(b) => (b.files[1].digest = undefined), /hello_2\.0-1_amd64\.buildinfo is listed in .* but was not returned/],
  intact: [(b) => (b.files[0].digest = digest(10, 'b'.repeat(64))), /does not match .* \(size or sha256\)/],
  'deb-readable': [(b) => (b.files[0].control = new Error('dpkg-deb: not a debian format archive')), /not a debian format archive/],
  // Named for a valid version, but holding one that is not ("evil" is no epoch): compared, it would stop every publication.
  'deb-fields-valid': [(b) => (b.files[0] = deb('hello_2.0-1_amd64.deb', { Version: 'evil:2.0-1', Source: 'hello (1:2.0-1)' })), /Version "evil:2\.0-1" is not a valid Debian version/],
  'deb-of-source': [(b) => (b.files[0] = deb('hello_2.0-1_amd64.deb', { Source: 'other' })), /says it is built from other, not hello/],
  'deb-architecture': [(b) => (b.files[0] = deb('hello_2.0-1_arm64.deb', { Architecture: 'arm64' })), /is for arm64, but the job builds amd64/],
  'deb-canonical-name': [(b) => (b.files[0] = deb('hello_2.0-1_amd64.deb', { Package: 'hello-x' })), /must be named hello-x_2\.0-1_amd64\.deb/],
  'deb-owned-by-source': [(b) => (b.declared = ['hello-doc']), /hello/],
  'buildinfo-of-source': [(b) => (b.files[1] = { ...b.files[1], name: 'other_2.0-1_amd64.buildinfo' }), /is not a \.buildinfo of this build \(hello_2\.0-1_amd64\.buildinfo\)/],
};

describe('the checks of a returned build', () => {
  it('pass a good build', () => {
    expect(checkReturnedBuild(good())).toBeUndefined();
  });

  it('have a case here for every check in the list (a new check is one entry, and one case)', () => {
    expect(Object.keys(breaks).sort()).toEqual([...BUILD_CHECKS, ...FILE_CHECKS].map((c) => c.id).sort());
  });

  for (const [id, [breakIt, message]] of Object.entries(breaks)) {
    it(`refuse a build that fails ${id}, saying why`, () => {
      const b = good();
      breakIt(b);
      const failure = checkReturnedBuild(b);
      // It is this check that says so, not one before it.
      expect(failure?.check).toBe(id);
      expect(failure?.message).toMatch(message);
    });
  }

  it('refuse an arch:all package from an arch-only build (-B), and an architecture\'s from an arch-indep one (-A)', () => {
    const of = (buildArg: '-A' | '-B' | '-b', architecture: string) => {
      const b = good();
      b.job = { ...b.job, buildArg };
      if (buildArg === '-A') b.changesName = 'hello_2.0-1_all.changes';
      b.files = [deb(`hello_2.0-1_${architecture}.deb`, { Architecture: architecture }), { ...b.files[1], name: buildArg === '-A' ? 'hello_2.0-1_all.buildinfo' : b.files[1].name }];
      return checkReturnedBuild(b);
    };
    expect(of('-B', 'all')).toEqual({ check: 'deb-architecture', message: "hello_2.0-1_all.deb is for all, but the job builds only amd64's architecture-dependent packages (-B)" });
    expect(of('-A', 'amd64')).toEqual({ check: 'deb-architecture', message: 'hello_2.0-1_amd64.deb is for amd64, but the job builds only architecture-independent packages (-A)' });
    expect(of('-B', 'amd64')).toBeUndefined();
    expect(of('-A', 'all')).toBeUndefined();
    expect(of('-b', 'all')).toBeUndefined();
    expect(of('-b', 'amd64')).toBeUndefined();
  });

  it('accept a binNMU: "Source: name (version)" with the binary\'s own version', () => {
    const b = good();
    b.files[0] = deb('hello_2.0-1+b1_amd64.deb', { Version: '1:2.0-1+b1', Source: 'hello (1:2.0-1)' });
    expect(checkReturnedBuild(b)).toBeUndefined();
  });

  it("refuse a .changes or .buildinfo named for another build of the source (another architecture's, another version's): the pool never replaces one", () => {
    const named = (changesName: string, buildinfo: string, job: Partial<ReturnedBuild['job']> = {}) => {
      const b = good();
      b.job = { ...b.job, ...job };
      if (job.buildArg === '-A') b.files[0] = deb('hello_2.0-1_all.deb', { Architecture: 'all' });
      b.changesName = changesName;
      b.files[1] = { ...b.files[1], name: buildinfo };
      return checkReturnedBuild(b)?.check;
    };
    expect(named('hello_2.0-1_arm64.changes', 'hello_2.0-1_amd64.buildinfo')).toBe('changes-named-for-source');
    expect(named('hello_2.0-2_amd64.changes', 'hello_2.0-1_amd64.buildinfo')).toBe('changes-named-for-source');
    expect(named('hello_2.0-1_amd64.changes', 'hello_2.0-1_arm64.buildinfo')).toBe('buildinfo-of-source');
    expect(named('hello_2.0-1_amd64.changes', 'hello_2.0-2_amd64.buildinfo')).toBe('buildinfo-of-source');
    expect(named('hello_2.0-1_amd64.changes', 'hello_2.0-1_all.buildinfo')).toBe('buildinfo-of-source');
    // An arch-indep build (-A) names them _all, as dpkg-buildpackage does.
    expect(named('hello_2.0-1_all.changes', 'hello_2.0-1_all.buildinfo', { buildArg: '-A' })).toBeUndefined();
    expect(named('hello_2.0-1_amd64.changes', 'hello_2.0-1_amd64.buildinfo', { buildArg: '-b' })).toBeUndefined();
  });

  it('refuse a package another source owns in the suite, unless the suite allows takeover', () => {
    const b = good();
    const owned = suiteBinary({ control: [['Package', 'hello'], ['Version', '1.0'], ['Architecture', 'amd64'], ['Source', 'other']], path: 'pool/main/o/other/hello_1.0_amd64.deb', ...digest(1) }, 'main', 'built');
    b.contents = withBinaries(emptyContents('unstable'), [owned], () => undefined);
    expect(checkReturnedBuild(b)?.message).toMatch(/hello_2\.0-1_amd64\.deb: .*other/);
    expect(checkReturnedBuild({ ...b, allowTakeover: true })).toBeUndefined();
  });
});

describe('the checks of a .deb archive include brings', () => {
  const suite = { name: 'unstable', architectures: ['amd64'] };
  const control = (fields: Record<string, string>) => new Paragraph(Object.entries({ Package: 'hello', Version: '2.0-1', Architecture: 'amd64', ...fields }));

  it('pass a package the suite can hold, also Architecture: all', () => {
    expect(checkIncludedDeb(control({}), suite)).toBeUndefined();
    expect(checkIncludedDeb(control({ Architecture: 'all' }), suite)).toBeUndefined();
  });

  const cases: Record<string, [Record<string, string>, RegExp]> = {
    'fields-valid': [{ Package: 'Hello_World' }, /Package "Hello_World" is not a valid package name \(Policy 5\.6\.7\)/],
    'architecture-of-suite': [{ Architecture: 'arm64' }, /Architecture arm64 is not one of unstable's \(amd64, or all\)/],
  };

  it('have a case here for every check in the list', () => {
    expect(Object.keys(cases).sort()).toEqual(INCLUDED_DEB_CHECKS.map((c) => c.id).sort());
  });

  it('refuse a Package, Version, Architecture or Source of more than one line (checked by the first, published whole)', () => {
    for (const field of ['Package', 'Version', 'Architecture', 'Source']) {
      const value = { Package: 'hello', Version: '2.0-1', Architecture: 'amd64', Source: 'hello' }[field];
      expect(checkIncludedDeb(control({ [field]: `${value}\n -evil` }), suite), field).toBe(`${field} spans more than one line; a package's Package, Version, Architecture, Source are one line each (Policy 5.1)`);
    }
  });

  it('refuse an invalid version, and a Source that is no source name (it becomes a pool folder: ../../x would leave the pool)', () => {
    expect(checkIncludedDeb(control({ Version: '2.0 1' }), suite)).toMatch(/Version "2\.0 1" is not a valid Debian version/);
    expect(checkIncludedDeb(control({ Source: '../../x' }), suite)).toMatch(/Source "\.\.\/\.\.\/x" is not a source package name/);
    expect(checkIncludedDeb(control({ Source: 'hello (1:2.0-1)' }), suite)).toBeUndefined();
    expect(checkIncludedDeb(control({ Source: 'hello (evil:2.0)' }), suite)).toMatch(/is not a source package name/);
  });

  for (const [id, [fields, message]] of Object.entries(cases)) {
    it(`refuse a .deb that fails ${id}, saying why`, () => {
      expect(checkIncludedDeb(control(fields), suite)).toMatch(message);
      expect(INCLUDED_DEB_CHECKS.find((c) => c.id === id)!.check(control(fields), suite)).toMatch(message);
    });
  }
});
