// `archive qa SOURCE [VERSION] [--json]`: the QA checks of a source's upload (its newest
// version unless told), each with its verdict, its trend against the previous version in the
// suite, and what it found.
import type { Command } from 'commander';
import { jobFromDisk, type JobRecord } from '../core/jobs.js';
import { checksOf, qaLine, qaView } from '../core/kinds/qa.js';
import { printableJson, sayPrintable } from '../core/terminal-text.js';
import type { UploadRecord } from '../core/uploads.js';
import { compareVersions } from '../debian/version.js';
import { UserError } from '../errors.js';
import { readAll } from '../storage/json-files.js';
import { requireArchive } from './archive-root.js';
import { clientUrl, loadConfig, type GlobalOptions } from './archive-context.js';
import { inOrder } from '../debian/indices.js';

export function register(program: Command): void {
  program
    .command('qa <source> [version]')
    .description("show the QA checks (lintian, blhc, piuparts, autopkgtest) of a source's newest upload, or of VERSION")
    .option('--json', 'print JSON, each check with its findings')
    .addHelpText('after', '\nExamples:\n  archive qa hello\n  archive qa hello 2.10-3 --json | jq \'.[].checks[] | select(.verdict == "fail")\'\n')
    .action(async (source: string, version: string | undefined, options: { json?: boolean }, cmd: Command) => {
      const layout = await requireArchive(cmd.optsWithGlobals<GlobalOptions>());
      const uploads = (await readAll<UploadRecord>(layout.uploads)).filter((u) => u.source === source && u.suite && !['received', 'rejected'].includes(u.state));
      if (uploads.length === 0) throw new UserError(`no accepted upload of a source named "${source}"`);
      const wanted = version ?? uploads.map((u) => u.version).sort(compareVersions).pop()!;
      const chosen = uploads.filter((u) => u.version === wanted).sort((a, b) => inOrder(a.receivedAt, b.receivedAt));
      if (chosen.length === 0) throw new UserError(`${source} has no accepted upload of version ${wanted} (there are: ${[...new Set(uploads.map((u) => u.version))].sort(compareVersions).join(', ')})`);
      const jobs = (await readAll<JobRecord>(layout.jobs)).map(jobFromDisk);
      const config = await loadConfig(layout);
      const report = chosen.map((u) => ({
        source: u.source,
        version: u.version,
        suite: u.suite,
        enabled: [...(config.suites.find((s) => s.name === u.suite)?.qa ?? []), ...(config.suites.find((s) => s.name === u.suite)?.rebuilds ? ['rebuild'] : [])],
        checks: checksOf(jobs, u.id).map((j) => qaView(j, true)),
      }));
      if (options.json) {
        console.log(printableJson(report));
        return;
      }
      const url = await clientUrl(layout, config);
      // Findings quote the package (its file names, its fields): shown, never obeyed (core/terminal-text.ts).
      for (const r of report) {
        sayPrintable(`${r.source} ${r.version} in ${r.suite}: QA checks ${r.enabled.length ? r.enabled.join(', ') : 'off (qa: in archive.yaml)'}`);
        if (r.checks.length === 0) sayPrintable('  none yet (they run once a build is built)');
        for (const c of r.checks) {
          sayPrintable(`  ${qaLine(c)}${c.log ? `  (log: ${url}${c.log})` : ''}`);
          for (const r of c.reports ?? []) sayPrintable(`    ${r.endsWith('.asc') ? 'signed statement' : 'report'}: ${url}${r}`);
          for (const f of (c.findings ?? []).filter((f) => f.severity !== 'C')) sayPrintable(`    ${f.severity}: ${f.package ? `${f.package}: ` : ''}${f.tag}${f.context ? ` ${f.context}` : ''}`);
        }
      }
    });
}
