// Makes the source uploads of bench/load.sh with the tests' own package maker
// (test/support/packages.ts, loaded through Vite's module runner, so nothing is copied):
// a tenth of them libraries (a -dev package with a header), a fifth programs that
// build-depend on one of those -dev packages and print its greeting, the rest plain programs.
// Prints one .changes path a line, the libraries first. PREFIX (default load) starts every
// package's name, so that two batches for one archive do not collide (bench/workers.mjs).
//
//   node bench/make-load.mjs WORKDIR COUNT [PREFIX]
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runnerImport } from 'vite';

const [workDir, countArg, prefix = 'load'] = process.argv.slice(2);
const count = Number(countArg);
if (!workDir || !Number.isInteger(count) || count < 1 || !/^[a-z][a-z0-9]*$/.test(prefix)) {
  console.error('usage: node bench/make-load.mjs WORKDIR COUNT [PREFIX] (a whole number of packages, at least 1; a lower-case name prefix)');
  process.exit(2);
}
const helpers = resolve(import.meta.dirname, '..', 'test', 'support', 'packages.ts');
const { module: packages } = await runnerImport(helpers, { configFile: false, logLevel: 'error' });

const libraries = Math.max(count >= 3 ? 1 : 0, Math.round(count / 10));
const users = Math.min(count - libraries, Math.round(count / 5));
const specs = [];
for (let i = 1; i <= libraries; i++) {
  specs.push({ name: `${prefix}lib${i}`, version: '1.0-1', header: { binary: `lib${prefix}${i}-dev`, name: `${prefix}${i}.h`, content: `#define ${prefix.toUpperCase()}${i}_GREETING "greeting from lib${prefix}${i}-dev"\n` } });
}
for (let i = 1; i <= users; i++) {
  const lib = ((i - 1) % libraries) + 1;
  specs.push({ name: `${prefix}user${i}`, version: '1.0-1', buildDepends: [`lib${prefix}${lib}-dev (>= 1.0)`], print: { includes: [`${prefix}${lib}.h`], expression: `${prefix.toUpperCase()}${lib}_GREETING` } });
}
for (let i = 1; specs.length < count; i++) specs.push({ name: `${prefix}plain${i}`, version: '1.0-1' });

// A few at a time: dpkg-buildpackage -S is mostly process start-up.
const made = new Array(specs.length);
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < specs.length) {
      const i = next++;
      const dir = join(workDir, specs[i].name);
      await mkdir(dir, { recursive: true });
      made[i] = (await packages.makeSourcePackage(dir, specs[i])).changesPath;
    }
  }),
);
console.log(made.join('\n'));
