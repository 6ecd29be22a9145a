// The queue's changes of suites and snapshots, on a real folder (no .debs: sources and what the
// records hold). .deb-reading changes are in test/suite-changes.integration.test.ts.
import { mkdirSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../../test/support/scratch.js';
import { parseConfig, type ArchiveConfig } from '../../config/config.js';
import { ContentsError } from '../../core/suite-contents.js';
import type { UploadRecord } from '../../core/uploads.js';
import { Layout } from '../../storage/layout.js';
import { SuiteChanges } from './suite-changes.js';

/** A queue's SuiteChanges on a new root, under `yaml` (which a test may change: config.text). */
async function suiteChanges(yaml = 'suites:\n  unstable: {}\n  testing: {}\n') {
  const layout = new Layout(scratchDir('aib-suite-changes-'));
  mkdirSync(layout.suites, { recursive: true });
  const config = { text: yaml, parsed: undefined as ArchiveConfig | undefined };
  const get = () => (config.parsed ??= parseConfig(config.text, 'archive.yaml'));
  const logged: string[] = [];
  const suites = await new SuiteChanges(layout, get, (m) => logged.push(m)).load();
  return { layout, suites, logged, reconfigure: (text: string) => void ((config.text = text), (config.parsed = undefined)) };
}

const upload = (source: string, version: string, suite = 'unstable'): UploadRecord => ({
  id: `${source}_${version}`, changes: `${source}_${version}_source.changes`, source, version, distribution: suite, suite, state: 'accepted', receivedAt: '', updatedAt: '', reasons: [],
  sourceFiles: [{ name: `${source}_${version}.dsc`, path: `pool/main/${source[0]}/${source}/${source}_${version}.dsc`, size: 1, md5: 'm', sha1: 's', sha256: 'x' }], jobs: [],
  // Built for arm64 only: no binaries of it for the suites' amd64 are to be waited for (a copy takes it as it is).
  sourceStanza: [['Package', source], ['Version', version], ['Architecture', 'arm64']],
} as unknown as UploadRecord);

describe('a snapshot', () => {
  it('takes a name of up to 100 characters, and refuses a longer one with what a name may be, saving nothing (one of 230 could not be saved, and its request stopped the queue)', async () => {
    const { layout, suites } = await suiteChanges();
    await suites.addSource(upload('hello', '1.0'));
    await expect(suites.snapshot('a'.repeat(230), 'unstable')).rejects.toThrow(
      new ContentsError(`snapshot name "${'a'.repeat(40)}…" (230 characters): expected at most 100 lower-case letters, digits and . + -, starting with a letter or digit, not ending in -debug (it becomes dists/NAME, and dists/NAME-debug its debug symbols)`),
    );
    await expect(suites.snapshot('a'.repeat(101), 'unstable')).rejects.toThrow(/\(101 characters\): expected at most 100/);
    expect(readdirSync(layout.suites).filter((n) => n.startsWith('aaa'))).toEqual([]);
    expect((await suites.snapshot('a'.repeat(100), 'unstable')).message).toMatch(/^snapshot a{100} of unstable: 1 source and 0 binary package\(s\)/);
  });
});

describe('archive.yaml naming a suite a snapshot is', () => {
  it('is refused, naming the snapshot and what to do, and the snapshot keeps what it holds (a suite there would write its record over)', async () => {
    const { suites, reconfigure } = await suiteChanges();
    await suites.addSource(upload('hello', '1.0'));
    await suites.snapshot('frozen', 'unstable');
    const yaml = 'suites:\n  unstable: {}\n  frozen: {}\n';
    expect(() => suites.checkConfig(parseConfig(yaml, 'archive.yaml'), 'archive.yaml')).toThrow(
      /^archive\.yaml: suites\.frozen: frozen is a snapshot \(of unstable, made \d{4}-.*\), which a suite of that name would replace, its packages lost; name the suite otherwise, or delete the snapshot first \(archive snapshot frozen --delete\)$/,
    );
    suites.checkConfig(parseConfig('suites:\n  unstable: {}\n  thawed: {}\n', 'archive.yaml'), 'archive.yaml');
    // Once the snapshot is deleted, the suite may take its name.
    await suites.deleteSnapshot('frozen');
    suites.checkConfig(parseConfig(yaml, 'archive.yaml'), 'archive.yaml');
    reconfigure(yaml);
    await suites.addSource(upload('hello', '2.0', 'frozen'));
    expect(suites.all().find((c) => c.id === 'frozen')).toMatchObject({ kind: 'suite', sources: [{ source: 'hello', version: '2.0' }] });
  });
});

describe('names that are not there', () => {
  it('are refused listing the names there are: a copy from a suite or snapshot, a snapshot deleted', async () => {
    const { suites } = await suiteChanges();
    await expect(suites.deleteSnapshot('rel1')).rejects.toThrow(new ContentsError('no snapshot "rel1" (there are none)'));
    await suites.addSource(upload('hello', '1.0'));
    await suites.snapshot('rel2', 'unstable');
    await suites.snapshot('rel10', 'unstable');
    await expect(suites.copy('hello', 'unstalbe', 'testing')).rejects.toThrow(new ContentsError('no suite or snapshot "unstalbe" (there are: unstable, testing, rel10, rel2)'));
    await expect(suites.deleteSnapshot('rel1')).rejects.toThrow(new ContentsError('no snapshot "rel1" (there are: rel10, rel2)'));
  });
});

describe('a copy onto the same version', () => {
  it('changes nothing and says so, its days in the target counting on', async () => {
    const { layout, suites } = await suiteChanges();
    await suites.addSource(upload('hello', '1.0'));
    expect((await suites.copy('hello', 'unstable', 'testing')).message).toBe('copied hello 1.0 from unstable to testing with 0 binary package(s), no rebuild');
    const since = suites.all().find((c) => c.id === 'testing')!.sources[0].since;
    const files = readdirSync(layout.suites).sort();
    await new Promise((r) => setTimeout(r, 5));
    expect(await suites.copy('hello', 'unstable', 'testing')).toEqual({ ok: true, message: 'testing has hello 1.0 already, with every binary package a copy from unstable would bring: nothing copied (its days in testing count on)', version: '1.0' });
    expect(suites.all().find((c) => c.id === 'testing')!.sources[0].since).toBe(since);
    expect(readdirSync(layout.suites).sort()).toEqual(files);
  });
});
