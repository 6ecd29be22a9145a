// `archive ls [--suite S]`: what each suite and snapshot holds, from the queue's records of
// their contents (what the next Packages and Sources say).
import type { Command } from 'commander';
import { compareVersions } from '../debian/version.js';
import { UserError } from '../errors.js';
import { SuiteStore } from '../storage/suite-store.js';
import { layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';
import { inOrder } from '../debian/indices.js';
import { printableJson, sayPrintable } from '../core/terminal-text.js';

export function register(program: Command): void {
  program
    .command('ls')
    .description('list the source packages each suite and snapshot publishes, with their binaries')
    .option('--suite <suite>', 'only this suite or snapshot')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  archive ls\n  archive ls --suite unstable --json\n')
    .action(async (options: { suite?: string; json?: boolean }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      const records = (await new SuiteStore(layout.suites, ({ control: _, ...b }) => ({ ...b, debug: false }), { readOnly: true }).load()).all();
      const contents = [
        ...config.suites.map((s) => records.find((r) => r.id === s.name) ?? { id: s.name, kind: 'suite' as const, sources: [], binaries: [] }),
        ...records.filter((r) => r.kind === 'snapshot'),
      ].filter((c) => !options.suite || c.id === options.suite);
      if (options.suite && contents.length === 0) {
        const names = [...config.suites.map((s) => s.name), ...records.filter((r) => r.kind === 'snapshot').map((r) => r.id)];
        throw new UserError(`--suite: no suite or snapshot "${options.suite}" (there are: ${names.join(', ')})`);
      }
      const listing = contents.map((c) => {
        // Sources, plus sources known only from imported binaries.
        const names = [...new Set([...c.sources.map((s) => s.source), ...c.binaries.map((b) => b.source)])].sort();
        return {
          suite: c.id,
          kind: c.kind,
          ...(c.kind === 'snapshot' ? { of: c.of, createdAt: c.createdAt } : {}),
          sources: names.map((name) => {
            const src = c.sources.find((s) => s.source === name);
            const binaries = c.binaries.filter((b) => b.source === name);
            return {
              source: name,
              version: src?.version ?? binaries.map((b) => b.sourceVersion).sort(compareVersions).pop()!,
              component: src?.component ?? binaries[0]?.component,
              binaries: binaries
                .sort((a, b) => inOrder(a.package, b.package) || inOrder(a.arch, b.arch))
                .map((b) => ({ package: b.package, version: b.version, architecture: b.arch, component: b.component, origin: b.origin })),
            };
          }),
        };
      });
      if (options.json) {
        console.log(printableJson(listing));
        return;
      }
      for (const suite of listing) {
        const what = suite.kind === 'snapshot' ? ` (snapshot of ${suite.of}, ${suite.createdAt})` : '';
        sayPrintable(`${suite.suite}${what}: ${suite.sources.length} source package(s)`);
        for (const s of suite.sources) {
          sayPrintable(`  ${s.source} ${s.version}${s.component && s.component !== 'main' ? ` [${s.component}]` : ''}`);
          for (const b of s.binaries) sayPrintable(`    ${b.package} ${b.version} ${b.architecture}${b.origin === 'imported' ? ' (imported)' : ''}`);
        }
      }
    });
}
