// The status page (public/index.html) and one page per source package: plain HTML and CSS
// written here, no scripts, no external resources, readable on a phone. Pure: records in,
// pages out.
import type { ArchiveConfig } from '../config/config.js';
import { aptSource, archiveUri, dputStanza, keyringPath } from './client-config.js';
import { isLeasable, type JobRecord } from './jobs.js';
import { checksOf, qaView } from './kinds/qa.js';
import { rebuildOf, reproducibleShares, shareLine } from './kinds/rebuild.js';
import type { MigrationDecision } from './migration.js';
import type { SuiteContents } from './suite-contents.js';
import { kindLabel } from './work-kinds.js';
import { missingWorker, type WorkerSeen } from './workers.js';
import type { UploadRecord } from './uploads.js';
import { compareVersions } from '../debian/version.js';
import { inOrder } from '../debian/indices.js';

export interface StatusInput {
  config: ArchiveConfig;
  uploads: UploadRecord[];
  jobs: JobRecord[];
  /** What each suite and snapshot publishes. */
  contents: SuiteContents[];
  /** When the page was made. */
  now: Date;
  /** The incoming directory on the host, for the dput stanza. */
  incoming: string;
  /** The workers present (core/workers.ts): a job none of them can run says what it waits for. */
  workers: WorkerSeen[];
  /** The archive's URL as `archive up` printed it (ARCHIVE_PUBLIC_URL); else http://127.0.0.1:PORT/. */
  url?: string;
  /** The queue's last migration decisions (core/migration.ts). */
  migration?: MigrationDecision[];
}

export interface StatusPages {
  /** Path relative to public/ -> HTML. */
  [path: string]: string;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CSS = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --wait: #9a6700; --muted: #6e7781; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; border-bottom: 1px solid #8884; }
.muted { color: var(--muted); } a { color: inherit; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #8883; vertical-align: top; }
th { font-weight: 600; } td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.state { font-weight: 600; white-space: nowrap; } .published, .built, .accepted { color: var(--ok); }
.failed, .rejected, .fail, .regression { color: var(--bad); } .pass, .fixed { color: var(--ok); } .neutral, .tmpfail { color: var(--muted); } .imported, .cancelled { color: var(--muted); } .building, .dep-wait, .held, .needs-build, .given-back, .received { color: var(--wait); }
pre { background: #8881; padding: .75rem; overflow-x: auto; border-radius: 6px; font-size: 13px; }
ul.reasons { margin: .25rem 0 0; padding-left: 1.1rem; } code { font-size: 13px; }
@media (max-width: 40rem) { .wide { display: none; } th, td { padding: .3rem .25rem; } }
`;

function page(title: string, body: string, now: Date, depth = 0): string {
  const up = depth ? '../' : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>${CSS}</style></head>
<body>
<p class="muted"><a href="${up}index.html">archive-in-a-box</a> · updated ${escape(now.toISOString().replace('T', ' ').slice(0, 19))} UTC</p>
${body}
</body></html>
`;
}

/**
 * How long a job ran, once it ended; "running" while it runs. By its state, not by its times: a
 * lease sets startedAt and leaves the last attempt's finishedAt, so a job in dep-wait or given
 * back, or retried and waiting or building again, holds times of two different attempts.
 */
function duration(job: JobRecord): string {
  if (job.state === 'building') return 'running';
  if (!['built', 'failed', 'cancelled'].includes(job.state) || !job.startedAt || !job.finishedAt) return '';
  const s = Math.max(0, Math.round((new Date(job.finishedAt).getTime() - new Date(job.startedAt).getTime()) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** Where a source's page is (a file name) and how to link to it (an href). */
const sourceFile = (source: string) => `packages/${source}.html`;
const sourcePage = (source: string) => `packages/${encodeURIComponent(source)}.html`;

/** What a job's row says beside its log: what it waits for, why it failed, and which worker ran it. */
export function jobDetail(job: JobRecord, workers: WorkerSeen[]): string {
  const why =
    job.state === 'dep-wait'
      ? `waiting for ${job.missing ?? ''}`
      : (isLeasable(job) && missingWorker(job, workers)) || job.reason || '';
  return [why, job.worker && job.state !== 'needs-build' ? `on ${job.worker}` : ''].filter(Boolean).join(' · ');
}

/** A job's state as shown: a QA check that ran shows its verdict instead. */
const shownState = (job: JobRecord) => job.qa?.verdict ?? job.state;

function jobRow(job: JobRecord, depth: number, workers: WorkerSeen[]): string {
  const up = depth ? '../' : '';
  const detail = jobDetail(job, workers);
  return `<tr><td>${escape(kindLabel(job.kind))}</td><td>${escape(job.arch)}${job.emulated ? ' <span class="muted">emulated</span>' : ''} <span class="muted">${escape(job.buildArg)}</span></td>
<td class="state ${escape(shownState(job))}">${escape(shownState(job))}</td>
<td class="num">${escape(duration(job))}</td>
<td>${job.log ? `<a href="${up}${escape(job.log)}">log</a>` : ''} ${escape(detail)}</td></tr>`;
}

/**
 * An upload's QA checks in a cell: each check's worst verdict over its architectures ("lintian
 * fail"), regressions marked; of a build's rebuilds only the newest (archive verify's), as the
 * gates and the shares count it.
 */
function qaSummary(checks: JobRecord[]): string {
  const worst = new Map<string, { verdict: string; regression: boolean }>();
  const rank = ['fail', 'tmpfail', 'neutral', 'pass'];
  for (const j of checks.filter((c) => c.qa && (c.kind !== 'rebuild' || rebuildOf(checks, c.of!) === c))) {
    const had = worst.get(j.kind);
    const verdict = had && rank.indexOf(had.verdict) < rank.indexOf(j.qa!.verdict) ? had.verdict : j.qa!.verdict;
    worst.set(j.kind, { verdict, regression: !!had?.regression || j.qa!.trend === 'regression' });
  }
  // A rebuild's verdict in its own words.
  const word = (check: string, verdict: string) => (check !== 'rebuild' ? verdict : verdict === 'pass' ? 'reproducible' : 'unreproducible');
  return [...worst].map(([check, w]) => `${escape(check)} <span class="state ${escape(w.verdict)}">${escape(word(check, w.verdict))}</span>${w.regression ? ' <span class="state regression">regression</span>' : ''}`).join(' · ');
}

/** An upload's QA checks: each with its verdict, its trend against the previous version, what it found and its log. */
function qaTable(checks: JobRecord[]): string {
  if (checks.length === 0) return '';
  const rows = checks.map((j) => {
    const v = qaView(j);
    const verdict = v.verdict ?? v.state;
    const shown = v.reproducibility ?? verdict;
    const trend = v.trend ? `<span class="state ${escape(v.trend)}">${escape(v.trend)}</span>${v.comparedWith ? ` <span class="muted">against ${escape(v.comparedWith)}</span>` : ''}` : '';
    const found = v.summary ?? v.reason ?? '';
    const fresh = v.newFindings?.length ? `<br><span class="muted">new: ${escape(v.newFindings.join(', '))}</span>` : '';
    // A rebuild's reports (diffoscope's, its .buildinfo) and signed statement beside its log.
    const files = [...(v.log ? [{ path: v.log, name: 'log' }] : []), ...(v.reports ?? []).map((p) => ({ path: p, name: p.slice(p.lastIndexOf('/') + 1) }))];
    return `<tr><td>${escape(v.check)}</td><td>${escape(v.arch)}</td><td class="state ${escape(verdict)}">${escape(shown)}</td><td>${trend}</td><td>${escape(found)}${fresh}</td><td>${files.map((f) => `<a href="../${escape(f.path)}">${escape(f.name)}</a>`).join(' · ')}</td></tr>`;
  });
  return `<table><thead><tr><th>QA check</th><th>Arch</th><th>Verdict</th><th>Trend</th><th>Found</th><th>Log and reports</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

/** What migrates into a suite and why the rest waits. */
function migrationTable(decisions: MigrationDecision[], depth: number, hasPage: Set<string>): string {
  if (decisions.length === 0) return '';
  const rows = decisions.map((d) => {
    const name = hasPage.has(d.source) ? `<a href="${depth ? '../' : ''}${escape(sourcePage(d.source))}">${escape(d.source)}</a>` : escape(d.source);
    const state = d.migrates ? 'migrates' : 'waits';
    return `<tr><td>${name}</td><td>${escape(d.version)}</td><td>${escape(d.replaces ?? '')}</td><td class="state ${d.migrates ? 'pass' : 'dep-wait'}">${state}</td><td>${d.reasons.length ? `<ul class="reasons">${d.reasons.map((r) => `<li>${escape(r)}</li>`).join('')}</ul>` : ''}</td></tr>`;
  });
  return `<table><thead><tr><th>Source</th><th>Version</th><th>Replaces</th><th>Migration</th><th>Why not yet</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

/**
 * Sources listed per suite on the front page: a page that stays readable (and a render that
 * stays short: the queue renders it in its lane, between requests) at Debian's scale.
 */
export const SUITE_ROWS = 1000;

/**
 * The names, each once, in order: sorted in place and the repeats dropped. (A Set of them first
 * took the queue 5 MiB more at 100,000 packages, rendered after each publication.)
 */
function distinctSorted(names: string[]): void {
  names.sort();
  let n = 0;
  for (const name of names) if (n === 0 || names[n - 1] !== name) names[n++] = name;
  names.length = n;
}

export function renderStatusPages(input: StatusInput): StatusPages {
  const { config, uploads, jobs, now } = input;
  const jobById = new Map(jobs.map((j) => [j.id, j]));
  // Each upload's QA checks, found once (the page is rendered in the queue's lane).
  const checksByUpload = new Map<string, JobRecord[]>();
  for (const j of jobs.filter((x) => x.of)) checksByUpload.set(j.uploadId, [...(checksByUpload.get(j.uploadId) ?? []), j]);
  const checksOfUpload = (id: string) => checksOf(checksByUpload.get(id) ?? [], id);
  const held = new Set(input.contents.filter((c) => c.kind === 'suite').flatMap((c) => c.sources.map((x) => `${c.id} ${x.source}`)));
  const shares = reproducibleShares(jobs, (suite, source) => held.has(`${suite} ${source}`));
  const jobsOf = (u: UploadRecord) => u.jobs.map((id) => jobById.get(id)).filter((j): j is JobRecord => j !== undefined);
  const url = input.url ?? archiveUri(config);
  const accepted = uploads.filter((u) => !['received', 'rejected'].includes(u.state) && u.suite);
  const pages: StatusPages = {};

  // Suites and snapshots as they are published: each source with its version, architectures
  // and state; sources known only from imported binaries are marked so.
  const uploadById = new Map(uploads.map((u) => [u.id, u]));
  const hasPage = new Set(accepted.map((u) => u.source));
  const suites = input.contents
    .map((c) => {
      const suite = config.suites.find((s) => s.name === (c.kind === 'snapshot' ? c.of : c.id));
      const sourceOf = new Map(c.sources.map((s) => [s.source, s]));
      const names = c.binaries.map((b) => b.source);
      for (const src of c.sources) names.push(src.source);
      distinctSorted(names);
      // A suite of more than SUITE_ROWS sources lists that many: those whose upload is not
      // (yet) published first, then the rest by name. The indices list every one.
      let shown = names;
      if (names.length > SUITE_ROWS) {
        const unsettled = new Set(
          c.sources.filter((s) => c.kind === 'suite' && s.uploadId && (uploadById.get(s.uploadId)?.state ?? 'published') !== 'published').map((s) => s.source).sort(),
        );
        shown = [...unsettled].slice(0, SUITE_ROWS);
        for (let i = 0; i < names.length && shown.length < SUITE_ROWS; i++) if (!unsettled.has(names[i])) shown.push(names[i]);
      }
      const listed = new Set(shown);
      const binariesOf = new Map<string, SuiteContents['binaries']>();
      for (const b of c.binaries) {
        if (!listed.has(b.source)) continue;
        const list = binariesOf.get(b.source);
        if (list) list.push(b);
        else binariesOf.set(b.source, [b]);
      }
      const rows = shown.map((name) => {
        const src = sourceOf.get(name);
        const bins = binariesOf.get(name) ?? [];
        const upload = src?.uploadId ? uploadById.get(src.uploadId) : undefined;
        const version = src?.version ?? bins.map((b) => b.sourceVersion).sort(compareVersions).pop() ?? '';
        const archs = upload && c.kind === 'suite'
          ? jobsOf(upload).map((j) => `<span class="${escape(j.state)}"${j.emulated ? ' title="emulated"' : ''}>${escape(j.arch)}</span>`).join(' ')
          : escape([...new Set(bins.map((b) => b.arch))].sort().join(' '));
        const state = c.kind === 'snapshot' ? 'published' : upload ? upload.state : bins.some((b) => b.origin === 'imported') ? 'imported' : 'published';
        const link = hasPage.has(name) ? `<a href="${sourcePage(name)}">${escape(name)}</a>` : escape(name);
        return `<tr><td>${link}</td><td>${escape(version)}</td><td>${archs}</td><td class="state ${escape(state)}">${escape(state)}</td><td>${upload && c.kind === 'suite' ? qaSummary(checksOfUpload(upload.id)) : ''}</td></tr>`;
      });
      const what = c.kind === 'snapshot'
        ? `snapshot of ${escape(c.of ?? '')}, ${escape((c.createdAt ?? '').slice(0, 16).replace('T', ' '))} UTC`
        : `${escape(suite?.base ?? '')}; ${escape((suite?.architectures ?? []).join(' '))}`;
      const incoming = c.kind === 'suite' && suite?.migration ? (input.migration ?? []).filter((d) => d.to === c.id) : [];
      const migrating = suite?.migration && c.kind === 'suite'
        ? `\n<h3>Migrating from ${escape(suite.migration.from)} <span class="muted">(after ${suite.migration.afterDays} day(s); gates: ${escape(Object.entries(suite.migration.require).map(([k, v]) => `${k} ${v}`).join(', ') || 'none')})</span></h3>
${incoming.length ? migrationTable(incoming, 0, hasPage) : `<p class="muted">Nothing in ${escape(suite.migration.from)} is newer than here.</p>`}`
        : '';
      const reproducible = c.kind === 'suite' ? shares.filter((x) => x.suite === c.id) : [];
      const shareText = reproducible.length ? `\n<p class="reproducible">Reproducible: ${reproducible.map((x) => escape(shareLine(x).slice(x.suite.length + 1))).join(' · ')} <span class="muted">(each source's newest build, rebuilt under variation: <a href="rebuilder-key.asc">rebuilder key</a>)</span></p>` : '';
      return `<h2 id="suite-${escape(c.id)}">${escape(c.id)} <span class="muted">(${what}; ${names.length} source packages)</span></h2>${shareText}
${shown.length < names.length ? `<p class="muted">The first ${shown.length} of ${names.length} source packages: those not yet published first, then by name. Every one is in this suite's Sources and Packages indices, under <a href="dists/${escape(c.id)}/">dists/${escape(c.id)}/</a>.</p>\n` : ''}${rows.length ? `<table><thead><tr><th>Source</th><th>Version</th><th>Architectures</th><th>State</th><th>QA</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>` : '<p class="muted">Nothing published yet.</p>'}${migrating}`;
    })
    .join('\n');

  // Recent builds, newest first.
  const recent = [...jobs].sort((a, b) => inOrder(b.startedAt ?? b.createdAt, a.startedAt ?? a.createdAt)).slice(0, 50);
  const builds = recent.length
    ? `<table><thead><tr><th>Source</th><th>Version</th><th>Kind</th><th>Arch</th><th>State</th><th>Duration</th><th class="wide">Log and reason</th></tr></thead><tbody>${recent
        .map((j) => {
          const detail = jobDetail(j, input.workers);
          return `<tr><td><a href="${sourcePage(j.source)}">${escape(j.source)}</a></td><td>${escape(j.version)}</td><td>${escape(kindLabel(j.kind))}</td><td>${escape(j.arch)}${j.emulated ? ' <span class="muted">emulated</span>' : ''}</td><td class="state ${escape(shownState(j))}">${escape(shownState(j))}</td><td class="num">${escape(duration(j))}</td><td class="wide">${j.log ? `<a href="${escape(j.log)}">log</a> ` : ''}${escape(detail)}</td></tr>`;
        })
        .join('\n')}</tbody></table>`
    : '<p class="muted">No builds yet.</p>';

  // The newest 50 listed; all of them counted.
  const rejectedAll = uploads.filter((u) => u.state === 'rejected').sort((a, b) => inOrder(b.receivedAt, a.receivedAt));
  const rejected = rejectedAll.slice(0, 50);
  const rejections = rejected.length
    ? `${rejected.length < rejectedAll.length ? `<p class="muted">The newest ${rejected.length} of ${rejectedAll.length} rejected uploads.</p>\n` : ''}<table><thead><tr><th>Upload</th><th>When</th><th>Reasons</th></tr></thead><tbody>${rejected
        .map((u) => `<tr><td>${escape(u.changes)}</td><td class="num">${escape(u.receivedAt.slice(0, 16).replace('T', ' '))}</td><td><ul class="reasons">${u.reasons.map((r) => `<li>${escape(r)}</li>`).join('')}</ul><span class="muted">${u.rejectedDir ? `files kept in ${escape(u.rejectedDir)}` : u.filesRemovedAt ? `files removed ${escape(u.filesRemovedAt.slice(0, 10))}` : ''}</span></td></tr>`)
        .join('\n')}</tbody></table>`
    : '<p class="muted">No rejected uploads.</p>';

  const howTo = `<h2 id="use">Use this archive</h2>
<p>Install the key, then add the source as <code>/etc/apt/sources.list.d/${escape(config.name)}.sources</code>:</p>
<pre>curl -fsSL ${escape(url)}archive-key.asc | sudo tee ${escape(keyringPath(config))}
sudo tee /etc/apt/sources.list.d/${escape(config.name)}.sources &lt;&lt;'EOF'
${escape(aptSource(config, url, 'deb822'))}EOF
sudo apt-get update</pre>
<p>Upload with dput, with this stanza in <code>~/.dput.cf</code>:</p>
<pre>${escape(dputStanza(config, input.incoming))}</pre>`;

  pages['index.html'] = page(
    `${config.name} — archive-in-a-box`,
    `<h1>${escape(config.name)}</h1>
<p>${accepted.length} accepted upload(s), ${jobs.filter((j) => j.state === 'building' && j.kind === 'build').length} building, ${jobs.filter((j) => j.state === 'building' && j.kind !== 'build' && j.kind !== 'rebuild').length} QA check(s) and ${jobs.filter((j) => j.state === 'building' && j.kind === 'rebuild').length} rebuild(s) running, ${jobs.filter((j) => j.state === 'dep-wait').length} waiting for build-dependencies, ${rejectedAll.length} rejected. Signed uploads ${config.uploads.allowUnsigned ? 'optional' : 'required'}.</p>
${suites}
<h2 id="builds">Builds, QA checks and rebuilds</h2>
${builds}
<h2 id="rejected">Rejected uploads</h2>
${rejections}
${howTo}`,
    now,
  );

  // Each upload's migration decisions, found once: filtered from the whole list per upload,
  // 20,000 uploads took 4 s in the queue's lane.
  const decisionsOf = new Map<string, MigrationDecision[]>();
  for (const d of input.migration ?? []) {
    const key = `${d.source} ${d.version}`;
    const list = decisionsOf.get(key);
    if (list) list.push(d);
    else decisionsOf.set(key, [d]);
  }
  // One page per source: every upload of it, its builds and logs.
  const bySource = new Map<string, UploadRecord[]>();
  for (const u of uploads.filter((x) => x.state !== 'rejected' && x.state !== 'received')) bySource.set(u.source, [...(bySource.get(u.source) ?? []), u]);
  for (const [source, list] of bySource) {
    const sections = list
      .sort((a, b) => compareVersions(b.version, a.version))
      .map((u) => {
        const js = jobsOf(u);
        return `<h2>${escape(u.version)} <span class="muted">→ ${escape(u.suite ?? '')}</span> <span class="state ${escape(u.state)}">${escape(u.state)}</span></h2>
<p class="muted">received ${escape(u.receivedAt.slice(0, 19).replace('T', ' '))} UTC${u.signedBy ? ` · signed by ${escape(u.signedBy)}` : ''}</p>
${u.reasons.length ? `<ul class="reasons">${u.reasons.map((r) => `<li>${escape(r)}</li>`).join('')}</ul>` : ''}
${js.length ? `<table><thead><tr><th>Kind</th><th>Arch</th><th>State</th><th>Duration</th><th>Log</th></tr></thead><tbody>${js.map((j) => jobRow(j, 1, input.workers)).join('\n')}</tbody></table>` : ''}
${qaTable(checksOfUpload(u.id))}
${migrationTable(decisionsOf.get(`${source} ${u.version}`) ?? [], 1, hasPage)}
<p>${[...u.sourceFiles.map((f) => f.path), ...js.flatMap((j) => j.artifacts.filter((a) => a.endsWith('.buildinfo')))].map((p) => `<a href="../${escape(p)}">${escape(p.slice(p.lastIndexOf('/') + 1))}</a>`).join(' · ')}</p>`;
      })
      .join('\n');
    pages[sourceFile(source)] = page(`${source} — ${config.name}`, `<h1>${escape(source)}</h1>\n${sections}`, now, 1);
  }
  return pages;
}
