import { describe, expect, it } from 'vitest';
import { ConfigError, MAX_JOB_TIME_MS, NUMBER_RANGES, defaultConfigText, numberExpected, parseConfig, snapshotNameError, suiteFor, type NumberRange } from './config.js';

describe('archive.yaml', () => {
  it('listens where listen: says, an IPv4 address, and refuses anything else naming the key', () => {
    expect(parseConfig('listen: 0.0.0.0\n', 'archive.yaml').listen).toBe('0.0.0.0');
    for (const bad of ['localhost', '::1', '"10.0.0.1:80"', '1.2.3']) {
      expect(() => parseConfig(`listen: ${bad}\n`, 'archive.yaml'), bad).toThrow(/archive\.yaml: listen: ".*" is not an IPv4 address/);
    }
  });

  it('serves HTTPS with tls_cert and tls_key, both absolute paths, and refuses one without the other', () => {
    expect(parseConfig('tls_cert: /etc/ssl/a.pem\ntls_key: /etc/ssl/a.key\n', 'archive.yaml').tls).toEqual({ cert: '/etc/ssl/a.pem', key: '/etc/ssl/a.key' });
    expect(parseConfig('', 'archive.yaml').tls).toBeUndefined();
    expect(() => parseConfig('tls_cert: /etc/ssl/a.pem\n', 'archive.yaml')).toThrow(/archive\.yaml: tls_cert is set without tls_key: HTTPS needs both/);
    expect(() => parseConfig('tls_key: /etc/ssl/a.key\n', 'archive.yaml')).toThrow(/tls_key is set without tls_cert/);
    expect(() => parseConfig('tls_cert: a.pem\ntls_key: /k\n', 'archive.yaml')).toThrow(/tls_cert: "a\.pem" is not an absolute path to a PEM file/);
  });

  it('runs one worker beside the queue, or none (builds.local_workers), and says what to use for more', () => {
    expect(parseConfig('builds:\n  local_workers: 0\n', 'archive.yaml').builds.localWorkers).toBe(0);
    expect(() => parseConfig('builds:\n  local_workers: 3\n', 'archive.yaml')).toThrow(/builds\.local_workers: expected 1 .* or 0 .*, found 3; for more builds at once here, raise builds\.concurrency/);
  });

  it('has defaults: suite unstable on trixie, amd64, port 8080 on 127.0.0.1, unsigned uploads allowed', () => {
    const config = parseConfig(defaultConfigText(), 'archive.yaml');
    expect(config).toEqual({
      name: 'archive',
      port: 8080,
      listen: '127.0.0.1',
      suites: [{ name: 'unstable', base: 'trixie', components: ['main'], architectures: ['amd64'], aliases: [], qa: ['lintian', 'blhc', 'piuparts', 'autopkgtest'], rebuilds: true }],
      uploads: { allowUnsigned: true, keyring: 'state/uploaders.gpg', incompleteAfterMinutes: 30, strayAfterHours: 24, keepRejectedDays: 30 },
      builds: {
        concurrency: 1, localWorkers: 1, archAll: 'amd64', timeoutMinutes: 180, stallMinutes: 150, leaseSeconds: 90, logMiB: 200, memoryGiB: 4, cpus: 2, pids: 4096,
        cacheImages: 20, cacheGiB: 20, depWaitHours: 24, buildenvMaxAgeHours: 24, outputFileGiB: 1, outputGiB: 2, outputFiles: 1000, diskGiB: 20, emulationFactor: 6,
      },
      publish: { byHashGraceMinutes: 60, validUntilDays: 0, keepVersions: 3, pdiffs: 30 },
    });
  });

  it('takes a suite name of up to 100 characters, and refuses a longer one (it becomes a file name, with more after it)', () => {
    expect(parseConfig(`suites:\n  ${'a'.repeat(100)}: {}\n`, 'archive.yaml').suites[0].name).toBe('a'.repeat(100));
    expect(() => parseConfig(`suites:\n  ${'a'.repeat(101)}: {}\n`, 'archive.yaml')).toThrow(
      `archive.yaml: suites.${'a'.repeat(40)}…: a suite name of 101 characters; at most 100 (it becomes a file name, state/suites/NAME.json)`,
    );
  });

  it('takes a snapshot name of up to 100 lower-case letters, digits and . + -, and says what is wrong with another', () => {
    for (const name of ['rel-1.0+b1', '2026', 'a'.repeat(100)]) expect(snapshotNameError(name), name).toBeUndefined();
    const expected = 'expected at most 100 lower-case letters, digits and . + -, starting with a letter or digit, not ending in -debug (it becomes dists/NAME, and dists/NAME-debug its debug symbols)';
    expect(snapshotNameError('a'.repeat(101))).toBe(`snapshot name "${'a'.repeat(40)}…" (101 characters): ${expected}`);
    expect(snapshotNameError('a'.repeat(230))).toBe(`snapshot name "${'a'.repeat(40)}…" (230 characters): ${expected}`);
    for (const name of ['Rel', '-rel', '.rel', 'rel/1', 'rel-debug', '']) expect(snapshotNameError(name), name).toBe(`snapshot name "${name}": ${expected}`);
  });

  it('writes the port it is given', () => {
    expect(parseConfig(defaultConfigText({ port: 9000 }), 'a.yaml').port).toBe(9000);
  });

  it.each([
    ['port: 99999\n', /archive\.yaml: port: "99999" is not a TCP port/],
    ['colour: blue\n', /unknown key "colour"/],
    ['suites:\n  unstable:\n    architectures: []\n', /suites\.unstable\.architectures: at least one/],
    ['suites:\n  unstable:\n    base: 12\n', /suites\.unstable\.base: expected a Debian release name/],
    ['suites:\n  unstable-debug: {}\n', /suites\.unstable-debug: a suite name cannot end in -debug \(NAME-debug holds the debug symbols of suite NAME\)/],
    ['name: Has Spaces\n', /name: "Has Spaces" is not a lower-case name/],
    ['[1, 2', /not valid YAML/],
    ['uploads:\n  keyring: /etc/keys.gpg\n', /uploads\.keyring: expected a path inside the archive root/],
    ['uploads:\n  incomplete_after_minutes: 0\n', /uploads\.incomplete_after_minutes: expected a number of minutes from 1 to 10080 \(a week\), found 0/],
    ['uploads:\n  allow_unsinged: true\n', /uploads: unknown key "allow_unsinged"/],
    ['builds:\n  timeout_minutes: -1\n', /builds\.timeout_minutes: expected a number of minutes from 0\.1 to 1440 \(a day\), found -1/],
    ['builds:\n  parallel: 2\n', /builds: unknown key "parallel"/],
    ['builds:\n  output_files: 0\n', /builds\.output_files: expected a whole number of files from 1 to 100000, found 0/],
    ['builds:\n  concurrency: 1.5\n', /builds\.concurrency: expected a whole number of jobs at once from 1 to 64 \(a worker's most\), found 1\.5/],
    ['builds:\n  pids: 100.5\n', /builds\.pids: expected a whole number of processes from 64 to 4194304 \(Linux's most\), found 100\.5/],
    ['builds:\n  output_files: 10.5\n', /builds\.output_files: expected a whole number of files from 1 to 100000, found 10\.5/],
    ['builds:\n  output_gib: -2\n', /builds\.output_gib: expected a number of GiB from 0\.01 to 1024, found -2/],
    ['builds:\n  output_file_gib: 1.5\n  output_gib: 1\n', /builds\.output_file_gib: 1\.5 is more than builds\.output_gib \(1\), the cap on a build's outputs in all/],
    ['builds:\n  output_file_gib: 3\n', /builds\.output_file_gib: expected a number of GiB from 0\.01 to 2 \(the most the job API takes in one file\), found 3/],
    ['publish:\n  valid_until_days: -1\n', /publish\.valid_until_days: expected 0/],
    ['uploads:\n  allow_unsigned: "no"\n', 'archive.yaml: uploads.allow_unsigned: expected true or false, found "no"'],
    ['builds:\n  arch_all: AMD64\n', 'archive.yaml: builds.arch_all: expected an architecture name such as amd64, found "AMD64"'],
    ['builds:\n  arch_all: [amd64]\n', 'archive.yaml: builds.arch_all: expected an architecture name such as amd64, found ["amd64"]'],
    ['publish:\n  keep_versions: 0\n', /publish\.keep_versions: expected a whole number of versions from 1 to 1000, found 0/],
    ['publish:\n  pdiffs: -1\n', /publish\.pdiffs: expected 0 \(no index diffs\) or a whole number of patches to keep up to 1000, found -1/],
  ])('refuses %j, naming the file and the key', (text, message) => {
    expect(() => parseConfig(text, 'archive.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(text, 'archive.yaml')).toThrow(message);
  });

  it('runs the QA checks a suite lists: all in a new root, none where the key is absent (roots made before), and refuses one it does not know', () => {
    expect(parseConfig(defaultConfigText(), 'a.yaml').suites[0].qa).toEqual(['lintian', 'blhc', 'piuparts', 'autopkgtest']);
    expect(defaultConfigText()).toMatch(/\n {4}qa:\n {6}- lintian\n {6}- blhc\n {6}- piuparts\n {6}- autopkgtest\n/);
    expect(parseConfig('suites:\n  unstable: {}\n', 'a.yaml').suites[0].qa).toEqual([]);
    expect(parseConfig('suites:\n  unstable:\n    qa: [blhc, blhc]\n', 'a.yaml').suites[0].qa).toEqual(['blhc']);
    expect(() => parseConfig('suites:\n  unstable:\n    qa: [lintian, adequate]\n', 'a.yaml')).toThrow(
      'a.yaml: suites.unstable.qa: expected a list of QA checks among lintian, blhc, piuparts, autopkgtest, found ["lintian","adequate"]',
    );
    expect(() => parseConfig('suites:\n  unstable:\n    qa: lintian\n', 'a.yaml')).toThrow(/suites\.unstable\.qa: expected a list of QA checks/);
  });

  it('reads a migration from another suite, its days and its gates, and refuses what could never hold', () => {
    const base = 'suites:\n  unstable:\n    qa: [lintian, piuparts]\n  testing:\n';
    const testing = (text: string) => parseConfig(base + text, 'a.yaml').suites[1].migration;
    expect(testing('    migrate_from: unstable\n    after_days: 2\n    require: {lintian: no-errors, piuparts: pass}\n')).toEqual({ from: 'unstable', afterDays: 2, require: { lintian: 'no-errors', piuparts: 'pass' } });
    expect(testing('    migrate_from: unstable\n')).toEqual({ from: 'unstable', afterDays: 0, require: {} });
    expect(testing('    base: trixie\n')).toBeUndefined();
    expect(parseConfig(defaultConfigText(), 'a.yaml').suites.some((s) => s.migration)).toBe(false);
    for (const [text, message] of [
      ['    migrate_from: stable\n', 'a.yaml: suites.testing.migrate_from: "stable" is not another suite here (suites: unstable, testing)'],
      ['    migrate_from: testing\n', 'suites.testing.migrate_from: "testing" is not another suite here'],
      ['    after_days: 2\n', 'a.yaml: suites.testing.after_days: only a suite with migrate_from (the suite its sources migrate from) takes after_days'],
      ['    migrate_from: unstable\n    after_days: -1\n', 'suites.testing.after_days: expected 0 (as soon as the gates hold) or a number of days up to 3650, found -1'],
      ['    migrate_from: unstable\n    require: [lintian]\n', 'suites.testing.require: expected a mapping of QA check to gate'],
      ['    migrate_from: unstable\n    require: {adequate: pass}\n', 'suites.testing.require: unknown check "adequate"; expected one of lintian, blhc, piuparts, autopkgtest'],
      ['    migrate_from: unstable\n    require: {piuparts: green}\n', 'suites.testing.require.piuparts: expected one of pass, no-errors, no-regression, found "green"'],
      ['    migrate_from: unstable\n    require: {piuparts: no-errors}\n', "suites.testing.require.piuparts: no-errors is lintian's gate (no error tag); expected pass or no-regression"],
      ['    migrate_from: unstable\n    require: {autopkgtest: no-regression}\n', 'a.yaml: suites.testing.require.autopkgtest: unstable does not run autopkgtest (suites.unstable.qa: [lintian, piuparts]), so the gate could never hold'],
    ]) {
      expect(() => parseConfig(base + text, 'a.yaml')).toThrow(ConfigError);
      expect(() => parseConfig(base + text, 'a.yaml')).toThrow(message);
    }
  });

  it('rebuilds every build in a new root (rebuilds: on), none in a suite that does not say so (a root made before), and refuses another value', () => {
    expect(parseConfig('suites:\n  unstable: {}\n', 'a.yaml').suites[0].rebuilds).toBe(false);
    expect(parseConfig('suites:\n  unstable:\n    rebuilds: on\n', 'a.yaml').suites[0].rebuilds).toBe(true);
    expect(parseConfig('suites:\n  unstable:\n    rebuilds: off\n', 'a.yaml').suites[0].rebuilds).toBe(false);
    expect(defaultConfigText()).toMatch(/\n {4}rebuilds: on\n/);
    expect(() => parseConfig('suites:\n  unstable:\n    rebuilds: true\n', 'a.yaml')).toThrow('a.yaml: suites.unstable.rebuilds: expected on or off, found true');
  });

  it('reads publish_requires: gates on the suite\'s own checks, refusing one it does not run', () => {
    expect(parseConfig('suites:\n  unstable:\n    qa: [lintian]\n    publish_requires: {lintian: no-errors}\n', 'a.yaml').suites[0].publishRequires).toEqual({ lintian: 'no-errors' });
    expect(parseConfig('suites:\n  unstable: {}\n', 'a.yaml').suites[0].publishRequires).toBeUndefined();
    expect(() => parseConfig('suites:\n  unstable:\n    qa: [lintian]\n    publish_requires: {piuparts: pass}\n', 'a.yaml')).toThrow(
      'a.yaml: suites.unstable.publish_requires.piuparts: unstable does not run piuparts (suites.unstable.qa: [lintian]), so nothing would ever be published',
    );
    expect(parseConfig('suites:\n  unstable:\n    rebuilds: on\n    publish_requires: {rebuild: pass}\n', 'a.yaml').suites[0].publishRequires).toEqual({ rebuild: 'pass' });
    expect(() => parseConfig('suites:\n  unstable:\n    rebuilds: off\n    publish_requires: {rebuild: pass}\n', 'a.yaml')).toThrow(
      'a.yaml: suites.unstable.publish_requires.rebuild: unstable does not run rebuild (suites.unstable.rebuilds: off), so nothing would ever be published; set rebuilds: on or drop the gate',
    );
    expect(() => parseConfig('suites:\n  unstable:\n    rebuilds: off\n  testing:\n    migrate_from: unstable\n    require: {rebuild: pass}\n', 'a.yaml')).toThrow(
      'a.yaml: suites.testing.require.rebuild: unstable does not run rebuild (suites.unstable.rebuilds: off), so the gate could never hold; set suites.unstable.rebuilds: on or drop the gate',
    );
    expect(() => parseConfig('suites:\n  unstable:\n    rebuilds: on\n    publish_requires: {rebuilt: pass}\n', 'a.yaml')).toThrow('unknown check "rebuilt"; expected one of lintian, blhc, piuparts, autopkgtest, rebuild');
    expect(() => parseConfig('suites:\n  unstable:\n    qa: [lintian]\n    publish_requires: {lintian: yes}\n', 'a.yaml')).toThrow('suites.unstable.publish_requires.lintian: expected one of pass, no-errors, no-regression, found "yes"');
  });

  it('lets a suite allow binary takeovers, off unless set, and refuses a value that is not true or false', () => {
    expect(parseConfig('suites:\n  unstable: {}\n', 'a.yaml').suites[0].allowBinaryTakeover).toBeUndefined();
    expect(parseConfig('suites:\n  unstable:\n    allow_binary_takeover: true\n', 'a.yaml').suites[0].allowBinaryTakeover).toBe(true);
    expect(() => parseConfig('suites:\n  unstable:\n    allow_binary_takeover: yes please\n', 'a.yaml')).toThrow(
      'a.yaml: suites.unstable.allow_binary_takeover: expected true or false, found "yes please"',
    );
  });

  it('holds a version back until every architecture built only when a suite says so, and scales emulated builds by a factor', () => {
    expect(parseConfig('suites:\n  unstable:\n    wait_for_all_architectures: true\n', 'a.yaml').suites[0].waitForAllArchitectures).toBe(true);
    expect(parseConfig('', 'a.yaml').suites[0].waitForAllArchitectures).toBeUndefined();
    expect(() => parseConfig('suites:\n  unstable:\n    wait_for_all_architectures: 1\n', 'a.yaml')).toThrow('a.yaml: suites.unstable.wait_for_all_architectures: expected true or false, found 1');
    expect(parseConfig('builds:\n  emulation_factor: 10\n', 'a.yaml').builds.emulationFactor).toBe(10);
    expect(() => parseConfig('builds:\n  emulation_factor: 0\n', 'a.yaml')).toThrow('a.yaml: builds.emulation_factor: expected a number from 1 to 50, found 0');
  });

  it("refuses a key a suite does not take, naming the suite, the key and the keys it takes: a typo would drop a gate or a setting", () => {
    const keys = 'base, components, architectures, aliases, allow_binary_takeover, wait_for_all_architectures, qa, rebuilds, publish_requires, migrate_from, after_days, require';
    for (const key of ['publish_require', 'requires', 'architecture', 'rebuild', 'toString', 'constructor']) {
      expect(() => parseConfig(`suites:\n  unstable:\n    ${key}: on\n`, 'a.yaml'), key).toThrow(`a.yaml: suites.unstable: unknown key "${key}"; expected one of ${keys}`);
    }
    expect(parseConfig('suites:\n  unstable:\n', 'a.yaml').suites[0]).toEqual(parseConfig('suites:\n  unstable: {}\n', 'a.yaml').suites[0]);
  });

  it.each([
    ['suites:\n  unstable: 5\n', "a.yaml: suites.unstable: expected a mapping of the suite's settings (or nothing, for every default), found 5"],
    ['suites:\n  unstable: [x, y]\n', 'suites.unstable: expected a mapping of the suite\'s settings (or nothing, for every default), found ["x","y"]'],
    ['suites:\n  unstable: trixie\n', 'suites.unstable: expected a mapping of the suite\'s settings (or nothing, for every default), found "trixie"'],
    ['suites: [unstable]\n', 'a.yaml: suites: expected a mapping of suite name to settings, found ["unstable"]'],
    ['builds: 5\n', 'a.yaml: builds: expected a mapping of build settings, found 5'],
    ['builds: abc\n', 'a.yaml: builds: expected a mapping of build settings, found "abc"'],
    ['uploads: true\n', 'a.yaml: uploads: expected a mapping of upload settings, found true'],
    ['uploads: []\n', 'a.yaml: uploads: expected a mapping of upload settings, found []'],
    ['publish: 0\n', 'a.yaml: publish: expected a mapping of publication settings, found 0'],
    ['42\n', 'a.yaml: expected a mapping at the top level, found 42'],
    ['suites:\n  unstable:\n    rebuilds: on\n    publish_requires: [rebuild]\n', 'suites.unstable.publish_requires: expected a mapping of QA check to gate'],
  ])('refuses a section that is not a mapping: %j', (text, message) => {
    expect(() => parseConfig(text, 'a.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(text, 'a.yaml')).toThrow(message);
  });

  it("refuses keys Object's prototype has (toString, constructor, valueOf) as any unknown key, in every section", () => {
    for (const key of ['toString', 'constructor', 'valueOf', '__proto__']) {
      for (const section of ['builds', 'publish', 'uploads']) {
        expect(() => parseConfig(`${section}:\n  ${key}: 1\n`, 'a.yaml'), `${section}.${key}`).toThrow(`a.yaml: ${section}: unknown key "${key}"; expected one of `);
      }
      expect(() => parseConfig(`${key}: 1\n`, 'a.yaml'), key).toThrow(`a.yaml: unknown key "${key}"; expected one of name, port, listen, tls_cert, tls_key, suites, uploads, builds, publish`);
    }
    // Empty: every default, as before.
    expect(parseConfig('builds:\nuploads:\npublish:\n', 'a.yaml').builds).toEqual(parseConfig('', 'a.yaml').builds);
  });

  // Each number's key, its range, and the text of a file that sets it to `v` (a suite's after_days
  // with the migrate_from it goes with; output_gib's least below output_file_gib's default).
  const numbers = Object.entries(NUMBER_RANGES).flatMap(([section, keys]) =>
    Object.entries(keys as Record<string, NumberRange>).map(([key, range]) => ({
      at: section === 'suite' ? `suites.testing.${key}` : `${section}.${key}`,
      range,
      text: (v: string) =>
        section === 'suite'
          ? `suites:\n  unstable: {}\n  testing:\n    migrate_from: unstable\n    ${key}: ${v}\n`
          : `${section}:\n  ${key}: ${v}\n${section === 'builds' && key !== 'output_file_gib' ? '  output_file_gib: 0.01\n' : ''}`,
    })),
  );

  it.each(numbers.map((n) => [n.at, n] as const))('takes %s within its range, and refuses a number past either end, one that is not finite (.inf, .nan, 1e309) or not whole for a count, naming the key and the range', (at, { range, text }) => {
    for (const ok of [range.above ? undefined : range.min, range.max, range.zero ? 0 : undefined]) {
      if (ok !== undefined) expect(() => parseConfig(text(String(ok)), 'a.yaml'), `${at}: ${ok}`).not.toThrow();
    }
    const below = range.above ? range.min : range.min === 0 ? -1 : range.whole ? range.min - 1 : range.min / 2;
    const refused: [string, string][] = [
      [String(below), String(below)], [String(range.max * 2), String(range.max * 2)],
      ['.inf', 'Infinity'], ['-.inf', '-Infinity'], ['.nan', 'NaN'], ['1e309', 'Infinity'], ['lots', '"lots"'], ['[1]', '[1]'],
      ...(range.whole ? [[String(range.min + 0.5), String(range.min + 0.5)] as [string, string]] : []),
    ];
    for (const [v, shown] of refused) {
      expect(() => parseConfig(text(v), 'a.yaml'), `${at}: ${v}`).toThrow(`a.yaml: ${at}: expected ${numberExpected(range)}, found ${shown}`);
    }
  });

  it.each([
    ['builds:\n  lease_seconds: .inf\n', 'a.yaml: builds.lease_seconds: expected a number of seconds from 10 to 86400 (a day), found Infinity'],
    ['builds:\n  lease_seconds: 1e13\n', 'builds.lease_seconds: expected a number of seconds from 10 to 86400 (a day), found 10000000000000'],
    ['builds:\n  lease_seconds: 0.5\n', 'builds.lease_seconds: expected a number of seconds from 10 to 86400 (a day), found 0.5'],
    ['builds:\n  memory_gib: .inf\n', 'builds.memory_gib: expected a number of GiB from 0.25 to 4096, found Infinity'],
    ['builds:\n  timeout_minutes: 1e309\n', 'builds.timeout_minutes: expected a number of minutes from 0.1 to 1440 (a day), found Infinity'],
    ['builds:\n  emulation_factor: 200\n', 'builds.emulation_factor: expected a number from 1 to 50, found 200'],
    ['publish:\n  valid_until_days: .inf\n', 'publish.valid_until_days: expected 0 (no Valid-Until) or a number of days from 1 to 3650, found Infinity'],
    ['publish:\n  valid_until_days: .nan\n', 'publish.valid_until_days: expected 0 (no Valid-Until) or a number of days from 1 to 3650, found NaN'],
    ['uploads:\n  incomplete_after_minutes: .inf\n', 'uploads.incomplete_after_minutes: expected a number of minutes from 1 to 10080 (a week), found Infinity'],
    ['uploads:\n  stray_after_hours: .inf\n', 'uploads.stray_after_hours: expected a number of hours from 1 to 720 (30 days), found Infinity'],
    ['uploads:\n  keep_rejected_days: .nan\n', "uploads.keep_rejected_days: expected 0 (keep a rejected upload's files for ever) or a number of days up to 3650, found NaN"],
  ])('refuses %j, saying the range', (text, message) => {
    expect(() => parseConfig(text, 'a.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(text, 'a.yaml')).toThrow(message);
  });

  it("keeps a job's longest time limit (timeout_minutes' most times emulation_factor's) well within what a timer holds (2^31-1 ms)", () => {
    expect(MAX_JOB_TIME_MS).toBe(16 * 86_400_000);
    expect(MAX_JOB_TIME_MS).toBeLessThan(0.75 * (2 ** 31 - 1));
    // The product is what counts: 20 with the default 180 minutes is 60 hours, taken; a day's timeout times 20 is not.
    expect(parseConfig('builds:\n  emulation_factor: 20\n', 'a.yaml').builds.emulationFactor).toBe(20);
    expect(() => parseConfig('builds:\n  timeout_minutes: 1440\n  emulation_factor: 20\n', 'a.yaml')).toThrow(
      'a.yaml: builds.timeout_minutes 1440 times builds.emulation_factor 20 is 28800 minutes, a job under qemu; at most 23040 (16 days): lower either',
    );
    expect(() => parseConfig('builds:\n  stall_minutes: 1000\n  emulation_factor: 24\n', 'a.yaml')).toThrow('builds.stall_minutes 1000 times builds.emulation_factor 24 is 24000 minutes');
    expect(parseConfig('builds:\n  timeout_minutes: 1440\n  emulation_factor: 16\n', 'a.yaml').builds.timeoutMinutes).toBe(1440);
    // Just past: said as it is, not rounded to the most it passes.
    expect(() => parseConfig('builds:\n  timeout_minutes: 1152.02\n  emulation_factor: 20\n', 'a.yaml')).toThrow('is 23040.4 minutes, a job under qemu; at most 23040 (16 days)');
  });

  it.each([
    ['suites:\n  unstable:\n    aliases: [testing]\n  testing: {}\n', 'a.yaml: suites.unstable.aliases: "testing" is already the name of suite testing; each suite name and alias must name one suite'],
    ['suites:\n  testing: {}\n  unstable:\n    aliases: [testing]\n', 'suites.unstable.aliases: "testing" is already the name of suite testing'],
    ['suites:\n  unstable:\n    aliases: [unstable]\n', 'suites.unstable.aliases: "unstable" is already the name of suite unstable'],
    ['suites:\n  unstable:\n    aliases: [sid]\n  experimental:\n    aliases: [sid]\n', 'a.yaml: suites.experimental.aliases: "sid" is already an alias of suite unstable; each suite name and alias must name one suite'],
    ['suites:\n  unstable:\n    aliases: [sid, sid]\n', 'suites.unstable.aliases: "sid" is already an alias of suite unstable'],
    ['suites:\n  unstable:\n    aliases: [sid-debug]\n', 'a.yaml: suites.unstable.aliases: "sid-debug": an alias cannot end in -debug (NAME-debug holds the debug symbols of suite NAME)'],
    ['suites:\n  unstable: {}\n  testing:\n    aliases: [unstable-debug]\n', 'suites.testing.aliases: "unstable-debug": an alias cannot end in -debug'],
  ])('refuses aliases that clash (an upload for testing landed in unstable): %j', (text, message) => {
    expect(() => parseConfig(text, 'a.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(text, 'a.yaml')).toThrow(message);
  });

  it("takes the uploaders keyring's path inside the root, a file: none of its names empty, . or .. (\"\" and . named the root itself)", () => {
    expect(parseConfig('uploads:\n  keyring: keys.gpg\n', 'a.yaml').uploads.keyring).toBe('keys.gpg');
    expect(parseConfig('uploads:\n  keyring: state/keys/uploaders.kbx\n', 'a.yaml').uploads.keyring).toBe('state/keys/uploaders.kbx');
    for (const keyring of ['', '.', '..', './', 'state/', 'state/.', 'state//uploaders.gpg', './uploaders.gpg', 'state/../x.gpg', '/etc/keys.gpg']) {
      expect(() => parseConfig(`uploads:\n  keyring: ${JSON.stringify(keyring)}\n`, 'a.yaml'), keyring).toThrow(
        `a.yaml: uploads.keyring: expected a path inside the archive root such as state/uploaders.gpg (file names separated by /, none empty, . or ..), found ${JSON.stringify(keyring)}`,
      );
    }
    expect(() => parseConfig('uploads:\n  keyring: 7\n', 'a.yaml')).toThrow('uploads.keyring: expected a path inside the archive root such as state/uploaders.gpg (file names separated by /, none empty, . or ..), found 7');
  });

  it('finds a suite by name or alias', () => {
    const config = parseConfig('suites:\n  unstable:\n    aliases: [sid]\n  experimental:\n    aliases: [rc-buggy]\n', 'a.yaml');
    expect(suiteFor(config, 'sid')?.name).toBe('unstable');
    expect(suiteFor(config, 'rc-buggy')?.name).toBe('experimental');
    expect(suiteFor(config, 'experimental')?.name).toBe('experimental');
    expect(suiteFor(config, 'stable')).toBeUndefined();
  });
});
