import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config.js';
import type { JobRecord } from './jobs.js';
import { renderStatusPages, SUITE_ROWS } from './status-page.js';
import type { UploadRecord } from './uploads.js';
import { emptyContents, suiteBinary, type SuiteContents } from './suite-contents.js';

const config = parseConfig('name: mine\nport: 8081\n', 'archive.yaml');
const at = '2026-11-29T10:00:00.000Z';
const upload = (source: string, version: string, state: UploadRecord['state'], extra: Partial<UploadRecord> = {}): UploadRecord => ({
  id: `${source}-${version}`, changes: `${source}_${version}_source.changes`, source, version, distribution: 'unstable', suite: 'unstable',
  state, receivedAt: at, updatedAt: at, reasons: [], sourceFiles: [{ name: `${source}_${version}.dsc`, path: `pool/main/${source[0]}/${source}/${source}_${version}.dsc`, size: 1, md5: '', sha1: '', sha256: '' }],
  jobs: [`${source}-${version}-amd64`], ...extra,
});
const job = (u: UploadRecord, state: JobRecord['state'], extra: Partial<JobRecord> = {}): JobRecord => ({
  id: `${u.id}-amd64`, kind: 'build', uploadId: u.id, source: u.source, version: u.version, suite: 'unstable', base: 'trixie', arch: 'amd64', buildArg: '-B',
  state, attempts: 1, createdAt: at, updatedAt: at, startedAt: at, finishedAt: '2026-11-29T10:01:05.000Z', log: `logs/${u.source}_${u.version}_amd64.1.log`,
  binaries: [], artifacts: [], ...extra,
});

/** The unstable suite holding these uploads' sources, as the queue records it. */
const contentsOf = (uploads: UploadRecord[], extra: Partial<SuiteContents> = {}): SuiteContents => ({
  ...emptyContents('unstable'),
  sources: uploads.filter((u) => u.state !== 'rejected').map((u) => ({ source: u.source, version: u.version, component: 'main', stanza: [], files: [], uploadId: u.id })),
  ...extra,
});
const imported = suiteBinary({ control: [['Package', 'tool'], ['Version', '3.1-1'], ['Architecture', 'amd64']], path: 'pool/main/t/tool/tool_3.1-1_amd64.deb', size: 1, md5: '', sha1: '', sha256: '' }, 'main', 'imported');

describe('the status page', () => {
  const hello = upload('hello', '2.10-3', 'published');
  const broken = upload('broken', '1.0-1', 'failed', { reasons: ['build on amd64 failed: dpkg-buildpackage failed (exit 2); see the log'] });
  const prog = upload('prog', '1.0-1', 'dep-wait');
  const bad = upload('bad<script>', '1.0-1', 'rejected', { reasons: ['checksum mismatch for bad_1.0-1.dsc: sha256 expected aa got bb'], rejectedDir: 'state/rejected/x', jobs: [], sourceFiles: [] });
  const pages = renderStatusPages({
    config,
    uploads: [hello, broken, prog, bad],
    jobs: [job(hello, 'built'), job(broken, 'failed', { reason: 'dpkg-buildpackage failed (exit 2); see the log' }), job(prog, 'dep-wait', { missing: 'libfoo-dev but it is not installable', finishedAt: undefined })],
    contents: [
      contentsOf([hello, broken, prog], { binaries: [imported] }),
      { ...contentsOf([hello]), id: 'release-1', kind: 'snapshot', of: 'unstable', createdAt: at },
    ],
    now: new Date(at),
    incoming: '/home/me/archive/incoming',
    workers: [],
  });
  const index = pages['index.html'];

  it('lists each suite with its packages, versions, architectures and states', () => {
    expect(index).toMatch(/<h2 id="suite-unstable">unstable/);
    expect(index).toContain('<a href="packages/hello.html">hello</a></td><td>2.10-3</td><td><span class="built">amd64</span></td><td class="state published">published</td>');
  });

  it("shows each source's QA checks: their worst verdicts in the suite's table, each with its trend and log on the source's page", () => {
    const built = job(hello, 'built');
    const check = (kind: 'lintian' | 'blhc', arch: string, qa: JobRecord['qa']): JobRecord => ({ ...built, id: `${built.id}-${arch}-${kind}`, kind, of: built.id, arch, qa, state: qa ? 'built' : 'needs-build', log: `logs/hello_2.10-3_${arch}.${kind}.1.log` });
    const found = (verdict: 'pass' | 'fail', summary: string, trend?: 'regression') => ({ verdict, tool: 't 1', seconds: 1, counts: {}, findings: [], summary, ...(trend && { trend, comparedWith: '2.10-2', newFindings: ['E: x<y'] }) });
    const qaPages = renderStatusPages({
      config, uploads: [hello], contents: [contentsOf([hello])], now: new Date(at), incoming: '/in', workers: [],
      jobs: [built, check('lintian', 'amd64', found('pass', '2 warning')), check('lintian', 'arm64', found('fail', '1 error tag(s): x<y', 'regression')), check('blhc', 'amd64', undefined)],
    });
    expect(qaPages['index.html']).toContain('<td>lintian <span class="state fail">fail</span> <span class="state regression">regression</span></td>');
    const page = qaPages['packages/hello.html'];
    expect(page).toContain('<tr><td>lintian</td><td>arm64</td><td class="state fail">fail</td><td><span class="state regression">regression</span> <span class="muted">against 2.10-2</span></td><td>1 error tag(s): x&lt;y<br><span class="muted">new: E: x&lt;y</span></td><td><a href="../logs/hello_2.10-3_arm64.lintian.1.log">log</a></td></tr>');
    expect(page).toContain('<tr><td>blhc</td><td>amd64</td><td class="state needs-build">needs-build</td>');
    expect(qaPages['index.html']).toMatch(/<td>lintian<\/td><td>arm64<\/td><td class="state fail">fail<\/td>/);
  });

  it("shows each build's rebuild: its verdict in its own words, its reports and statement, the .buildinfo, and the suite's share per architecture", () => {
    const built = job(hello, 'built', { artifacts: ['pool/main/h/hello/hello_2.10-3_amd64.buildinfo', 'pool/main/h/hello/hello_2.10-3_amd64.changes'] });
    const other = upload('other', '1.0-1', 'published');
    const otherBuilt = job(other, 'built');
    const rebuild = (b: JobRecord, verdict: 'pass' | 'fail', summary: string, artifacts: string[]): JobRecord => ({
      ...b, id: `${b.id}-rebuild`, kind: 'rebuild', of: b.id, artifacts, log: `logs/${b.source}_${b.version}_amd64.rebuild.1.log`,
      qa: { verdict, tool: 'dpkg-buildpackage', seconds: 1, counts: {}, findings: [], summary },
    });
    const rPages = renderStatusPages({
      config, uploads: [hello, other], contents: [contentsOf([hello, other])], now: new Date(at), incoming: '/in', workers: [],
      jobs: [built, otherBuilt, rebuild(built, 'pass', 'reproducible: 1 package(s) bit for bit identical', ['reproducible/hello/x/statement.json.asc']), rebuild(otherBuilt, 'fail', 'unreproducible: other_1.0-1_all.deb differs (./usr/share/x<y>)', ['reproducible/other/y/diffoscope.html'])],
    });
    const index = rPages['index.html'];
    expect(index).toContain('<p class="reproducible">Reproducible: amd64: 50% reproducible (1 of 2); 1 unreproducible');
    expect(index).toContain('<td>rebuild <span class="state pass">reproducible</span></td>');
    expect(index).toContain('<td>rebuild <span class="state fail">unreproducible</span></td>');
    const page = rPages['packages/hello.html'];
    expect(page).toContain('<td>rebuild</td><td>amd64</td><td class="state pass">reproducible</td>');
    expect(page).toContain('<a href="../logs/hello_2.10-3_amd64.rebuild.1.log">log</a> · <a href="../reproducible/hello/x/statement.json.asc">statement.json.asc</a>');
    expect(page).toContain('<a href="../pool/main/h/hello/hello_2.10-3_amd64.buildinfo">hello_2.10-3_amd64.buildinfo</a>');
    expect(rPages['packages/other.html']).toContain('unreproducible: other_1.0-1_all.deb differs (./usr/share/x&lt;y&gt;)');
    // archive verify rebuilt it again, identically: the suite's page says what the gates count, the newest.
    const verified = { ...rebuild(otherBuilt, 'pass', 'reproducible: 1 package(s) bit for bit identical', []), id: `${otherBuilt.id}-rebuild-2`, createdAt: '2026-12-06T12:00:00.000Z' };
    const again = renderStatusPages({
      config, uploads: [hello, other], contents: [contentsOf([hello, other])], now: new Date(at), incoming: '/in', workers: [],
      jobs: [built, otherBuilt, rebuild(otherBuilt, 'fail', 'unreproducible: other_1.0-1_all.deb differs', []), verified],
    })['index.html'];
    expect(again).not.toContain('<span class="state fail">unreproducible</span>');
    expect(again).toContain('<p class="reproducible">Reproducible: amd64: 100% reproducible (1 of 1)');
  });

  it("says under a suite that migrates what migrates and why the rest waits, and on each source's page", () => {
    const two = parseConfig('suites:\n  unstable:\n    qa: [piuparts]\n  testing:\n    migrate_from: unstable\n    after_days: 2\n    require: {piuparts: pass}\n', 'archive.yaml');
    const migration = [
      { source: 'hello', version: '2.10-3', from: 'unstable', to: 'testing', replaces: '2.10-2', ageDays: 3, migrates: true, reasons: [] },
      { source: 'broken', version: '1.0-1', from: 'unstable', to: 'testing', ageDays: 1, migrates: false, reasons: ['1 of 2 days', 'piuparts failed on amd64: purge failed (exit 1) <x>'] },
    ];
    const p = renderStatusPages({ config: two, uploads: [hello, broken], jobs: [], contents: [contentsOf([hello, broken]), emptyContents('testing')], now: new Date(at), incoming: '/in', workers: [], migration });
    const index = p['index.html'];
    expect(index).toContain('<h3>Migrating from unstable <span class="muted">(after 2 day(s); gates: piuparts pass)</span></h3>');
    expect(index).toContain('<tr><td><a href="packages/hello.html">hello</a></td><td>2.10-3</td><td>2.10-2</td><td class="state pass">migrates</td><td></td></tr>');
    expect(index).toContain('<td class="state dep-wait">waits</td><td><ul class="reasons"><li>1 of 2 days</li><li>piuparts failed on amd64: purge failed (exit 1) &lt;x&gt;</li></ul></td>');
    // Under testing only, not under unstable.
    expect(index.indexOf('Migrating from unstable')).toBeGreaterThan(index.indexOf('id="suite-testing"'));
    expect(p['packages/broken.html']).toContain('<li>1 of 2 days</li>');
    expect(p['packages/broken.html']).toContain('<a href="../packages/broken.html">broken</a>');
    expect(renderStatusPages({ config: two, uploads: [], jobs: [], contents: [emptyContents('unstable'), emptyContents('testing')], now: new Date(at), incoming: '/in', workers: [] })['index.html']).toContain('<p class="muted">Nothing in unstable is newer than here.</p>');
  });

  it("puts each decision on its source's page under the upload of its version, in the order decided", () => {
    const two = parseConfig('suites:\n  unstable: {}\n  testing:\n    migrate_from: unstable\n  stable:\n    migrate_from: testing\n', 'archive.yaml');
    const older = upload('hello', '2.10-2', 'published');
    const decision = (source: string, version: string, to: string, reasons: string[]) => ({ source, version, from: 'unstable', to, ageDays: 1, migrates: reasons.length === 0, reasons });
    const migration = [
      decision('hello', '2.10-3', 'testing', ['1 of 5 days']),
      decision('broken', '2.10-3', 'testing', ['not hello']),
      decision('hello', '2.10-2', 'stable', ['2 of 5 days']),
      decision('hello', '2.10-3', 'stable', ['not in testing yet']),
    ];
    const p = renderStatusPages({ config: two, uploads: [older, hello, broken], jobs: [], contents: [contentsOf([older, hello, broken])], now: new Date(at), incoming: '/in', workers: [], migration });
    const [, newest, oldest] = p['packages/hello.html'].split('<h2>');
    expect(newest).toMatch(/^2\.10-3 /);
    expect([...newest.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1])).toEqual(['1 of 5 days', 'not in testing yet']);
    expect(oldest).toMatch(/^2\.10-2 /);
    expect([...oldest.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1])).toEqual(['2 of 5 days']);
    expect(p['packages/broken.html']).not.toContain('<li>not hello</li>');
  });

  it('marks imported packages and lists snapshots with what they froze', () => {
    expect(index).toContain('<tr><td>tool</td><td>3.1-1</td><td>amd64</td><td class="state imported">imported</td><td></td></tr>');
    expect(index).toMatch(/<h2 id="suite-release-1">release-1 <span class="muted">\(snapshot of unstable, 2026-11-29 10:00 UTC; 1 source packages\)/);
  });

  it('shows builds with state, duration and a link to the log, failures and dep-waits with their reason', () => {
    expect(index).toContain('<td class="num">1 min 5 s</td>');
    expect(index).toContain('<a href="logs/broken_1.0-1_amd64.1.log">log</a> dpkg-buildpackage failed (exit 2); see the log');
    expect(index).toContain('waiting for libfoo-dev but it is not installable');
  });

  it('shows how long a job ran once it ended, "running" while it builds, and nothing while it waits, whatever times an earlier attempt left', () => {
    const earlier = { startedAt: at, finishedAt: '2026-11-29T10:01:05.000Z' };
    const later = '2026-11-29T11:00:00.000Z';
    const states: [JobRecord['state'], Partial<JobRecord>, string][] = [
      ['built', earlier, '1 min 5 s'],
      ['failed', earlier, '1 min 5 s'],
      ['cancelled', earlier, '1 min 5 s'],
      // A lease sets startedAt and leaves finishedAt: dep-wait and given back after it, and a
      // retried job waiting (the failed attempt's times) or building again.
      ['dep-wait', { startedAt: later, finishedAt: undefined }, ''],
      ['given-back', { startedAt: later, finishedAt: earlier.finishedAt }, ''],
      ['needs-build', earlier, ''],
      ['building', { startedAt: later, finishedAt: earlier.finishedAt }, 'running'],
    ];
    const uploads = states.map(([state], i) => upload(`p${i}`, '1.0-1', state === 'built' ? 'published' : 'accepted'));
    const jobs = states.map(([state, times], i) => job(uploads[i], state, { ...times, createdAt: `2026-11-29T09:0${i}:00.000Z` }));
    const p = renderStatusPages({ config, uploads, jobs, contents: [contentsOf(uploads)], now: new Date(later), incoming: '/in', workers: [] });
    for (const [i, [state, , shown]] of states.entries()) {
      expect(p[`packages/p${i}.html`], state).toContain(`<td class="state ${state}">${state}</td>\n<td class="num">${shown}</td>`);
    }
  });

  it('counts every rejected upload, and lists the newest 50', () => {
    const rejected = Array.from({ length: 70 }, (_, i) => upload(`r${i}`, '1.0-1', 'rejected', { receivedAt: new Date(Date.parse(at) + i * 60_000).toISOString(), jobs: [], reasons: [`reason ${i}`] }));
    const p = renderStatusPages({ config, uploads: rejected, jobs: [], contents: [contentsOf([])], now: new Date(at), incoming: '/in', workers: [] })['index.html'];
    expect(p).toContain(', 70 rejected.');
    expect(p).toContain('<p class="muted">The newest 50 of 70 rejected uploads.</p>');
    expect(p.match(/<li>reason \d+<\/li>/g)).toHaveLength(50);
    expect(p).toContain('<li>reason 69</li>');
    expect(p).not.toContain('<li>reason 19</li>');
  });

  it('shows rejections with their reasons, escaped', () => {
    expect(index).toContain('bad&lt;script&gt;_1.0-1_source.changes');
    expect(index).not.toContain('<script>');
    expect(index).toContain('<li>checksum mismatch for bad_1.0-1.dsc: sha256 expected aa got bb</li>');
  });

  it('says how to add the apt source and the dput stanza', () => {
    expect(index).toContain('URIs: http://127.0.0.1:8081/');
    expect(index).toContain('Signed-By: /etc/apt/keyrings/mine.asc');
    expect(index).toContain('incoming = /home/me/archive/incoming');
  });

  it('makes a page per source package with its uploads, builds and files', () => {
    expect(Object.keys(pages).sort()).toEqual(['index.html', 'packages/broken.html', 'packages/hello.html', 'packages/prog.html']);
    expect(pages['packages/hello.html']).toContain('<a href="../logs/hello_2.10-3_amd64.1.log">log</a>');
    expect(pages['packages/hello.html']).toContain('<a href="../pool/main/h/hello/hello_2.10-3.dsc">hello_2.10-3.dsc</a>');
  });

  it('has no scripts and no external resources', () => {
    for (const html of Object.values(pages)) {
      expect(html).not.toMatch(/<script|<link|src="http|@import/);
      expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    }
  });

  it('says which worker ran a job, and what a job no present worker can run waits for', () => {
    const queued = upload('queued', '1.0-1', 'accepted');
    const input = {
      config, uploads: [hello, queued], contents: [contentsOf([hello])], now: new Date(at), incoming: '/x',
      jobs: [job(hello, 'built', { worker: 'arm-box/1' }), job(queued, 'needs-build', { startedAt: undefined, finishedAt: undefined })],
    };
    const none = renderStatusPages({ ...input, workers: [] })['index.html'];
    expect(none).toContain('on arm-box/1');
    expect(none).toContain('waiting for a worker that can build amd64 (no worker has asked for work lately)');
    const able = renderStatusPages({ ...input, workers: [{ id: 'b', enrolled: false, kinds: ['build'], lastSeen: at }] })['index.html'];
    expect(able).not.toContain('waiting for a worker');
  });

  it('renders 1,000 packages', () => {
    const uploads = Array.from({ length: 1000 }, (_, i) => upload(`pkg${i}`, '1.0-1', 'published'));
    const many = renderStatusPages({ config, uploads, jobs: uploads.map((u) => job(u, 'built')), contents: [contentsOf(uploads)], now: new Date(at), incoming: '/x', workers: [] });
    expect(Object.keys(many)).toHaveLength(1001);
    expect(many['index.html'].match(/<\/td><td>1\.0-1<\/td><td><span class="built">amd64<\/span>/g)).toHaveLength(1000);
  });

  it(`lists ${SUITE_ROWS} sources of a larger suite: those not yet published first, then by name, and says where the rest are`, () => {
    const many = Array.from({ length: SUITE_ROWS + 500 }, (_, i) => upload(`pkg${String(i).padStart(5, '0')}`, '1.0-1', 'published'));
    const late = [upload('zz-failed', '1.0-1', 'failed'), upload('zz-building', '1.0-1', 'building')];
    const uploads = [...many, ...late];
    const front = renderStatusPages({ config, uploads, jobs: uploads.map((u) => job(u, 'built')), contents: [contentsOf(uploads)], now: new Date(at), incoming: '/x', workers: [] })['index.html'];
    const suite = front.slice(front.indexOf('<h2 id="suite-unstable">'), front.indexOf('<h2 id="builds">'));
    const listed = [...suite.matchAll(/<tr><td><a href="packages\/([^"]+)\.html">/g)].map((m) => m[1]);
    expect(listed).toHaveLength(SUITE_ROWS);
    expect(listed.slice(0, 3)).toEqual(['zz-building', 'zz-failed', 'pkg00000']);
    expect(listed.at(-1)).toBe(`pkg${String(SUITE_ROWS - 3).padStart(5, '0')}`);
    expect(front).toContain(`The first ${SUITE_ROWS} of ${SUITE_ROWS + 502} source packages: those not yet published first, then by name. Every one is in this suite's Sources and Packages indices, under <a href="dists/unstable/">dists/unstable/</a>.`);
  });
});
