// `archive ls [--suite S]`: what each suite publishes, as its Packages and Sources say.
import type { Command } from 'commander';
import type { JobRecord } from '../core/jobs.js';
import { planPublication } from '../core/publish-plan.js';
import type { UploadRecord } from '../core/uploads.js';
import { UserError } from '../errors.js';
import { readAll } from '../storage/records.js';
import { layoutFor, loadConfig, type GlobalOptions } from './archive-context.js';

export function register(program: Command): void {
  program
    .command('ls')
    .description('list the source packages each suite publishes, with their binaries')
    .option('--suite <suite>', 'only this suite')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  archive ls\n  archive ls --suite unstable --json\n')
    .action(async (options: { suite?: string; json?: boolean }, cmd: Command) => {
      const layout = layoutFor(cmd.optsWithGlobals<GlobalOptions>());
      const config = await loadConfig(layout);
      if (options.suite && !config.suites.some((s) => s.name === options.suite)) {
        throw new UserError(`--suite: no suite "${options.suite}" in ${layout.config} (suites: ${config.suites.map((s) => s.name).join(', ')})`);
      }
      const plans = planPublication(config, await readAll<UploadRecord>(layout.uploads), await readAll<JobRecord>(layout.jobs)).filter(
        (p) => !options.suite || p.suite === options.suite,
      );
      const listing = plans.map((plan) => {
        const binaries = [...plan.packages.values()].flat();
        return {
          suite: plan.suite,
          sources: plan.sources.map((s) => ({
            source: s.first('Package'),
            version: s.first('Version'),
            binaries: [...new Map(
              binaries
                .filter((b) => (b.first('Source') || b.first('Package')).split(/\s+/)[0] === s.first('Package'))
                .map((b) => [`${b.first('Package')} ${b.first('Version')} ${b.first('Architecture')}`, { package: b.first('Package'), version: b.first('Version'), architecture: b.first('Architecture') }]),
            ).values()],
          })),
        };
      });
      if (options.json) {
        console.log(JSON.stringify(listing, null, 2));
        return;
      }
      for (const suite of listing) {
        console.log(`${suite.suite}: ${suite.sources.length} source package(s)`);
        for (const s of suite.sources) {
          console.log(`  ${s.source} ${s.version}`);
          for (const b of s.binaries) console.log(`    ${b.package} ${b.version} ${b.architecture}`);
        }
      }
    });
}
