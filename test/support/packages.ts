// Makes real Debian source packages for the tests, with dpkg-source on the host (trusted
// input we write ourselves), and uploads them with real dput.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseChanges } from '../../src/debian/control-files.js';

export interface PackageSpec {
  name: string;
  version: string;
  distribution?: string;
  /** The line the installed program prints. */
  line?: string;
  buildDepends?: string[];
  architecture?: 'any' | 'all';
  /** Extra shell run in override_dh_auto_build (for hostile or failing builds). */
  buildScript?: string;
}

export interface SourcePackage {
  dir: string;
  changes: string;
  changesPath: string;
  dsc: string;
  files: string[];
}

/** Writes a debhelper-compat 13, 3.0 (quilt) source package and runs dpkg-buildpackage -S. */
export async function makeSourcePackage(workDir: string, spec: PackageSpec): Promise<SourcePackage> {
  const upstream = spec.version.replace(/^\d+:/, '').replace(/-[^-]+$/, '');
  const tree = join(workDir, `${spec.name}-${upstream}`);
  await mkdir(join(tree, 'debian', 'source'), { recursive: true });
  const line = spec.line ?? `hello from ${spec.name} ${spec.version}`;
  await writeFile(join(tree, 'hello.c'), `#include <stdio.h>\nint main(void) { puts(${JSON.stringify(line)}); return 0; }\n`);
  await writeFile(
    join(tree, 'Makefile'),
    `all: ${spec.name}\n${spec.name}: hello.c\n\t$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $<\n` +
      `install:\n\tinstall -D -m 755 ${spec.name} $(DESTDIR)/usr/bin/${spec.name}\nclean:\n\trm -f ${spec.name}\n`,
  );
  await execa('tar', ['czf', join(workDir, `${spec.name}_${upstream}.orig.tar.gz`), '-C', workDir, `${spec.name}-${upstream}`]);
  await writeFile(join(tree, 'debian', 'source', 'format'), '3.0 (quilt)\n');
  const buildDepends = ['debhelper-compat (= 13)', ...(spec.buildDepends ?? [])].join(', ');
  await writeFile(
    join(tree, 'debian', 'control'),
    `Source: ${spec.name}\nSection: misc\nPriority: optional\nMaintainer: Test Maintainer <test@example.org>\n` +
      `Build-Depends: ${buildDepends}\nStandards-Version: 4.7.0\nRules-Requires-Root: no\n\n` +
      `Package: ${spec.name}\nArchitecture: ${spec.architecture ?? 'any'}\nDepends: \${shlibs:Depends}, \${misc:Depends}\n` +
      `Description: test package ${spec.name} for archive-in-a-box\n Prints a known line.\n`,
  );
  const rules = ['#!/usr/bin/make -f', '%:', '\tdh $@'];
  if (spec.buildScript) rules.push('override_dh_auto_build:', `\t${spec.buildScript}`, '\tdh_auto_build');
  await writeFile(join(tree, 'debian', 'rules'), `${rules.join('\n')}\n`);
  await chmod(join(tree, 'debian', 'rules'), 0o755);
  await writeFile(
    join(tree, 'debian', 'changelog'),
    `${spec.name} (${spec.version}) ${spec.distribution ?? 'unstable'}; urgency=medium\n\n  * Test upload.\n\n -- Test Maintainer <test@example.org>  ${new Date().toUTCString().replace('GMT', '+0000')}\n`,
  );
  await writeFile(join(tree, 'debian', 'copyright'), 'Copyright: public domain\n');
  await execa('dpkg-buildpackage', ['-S', '-us', '-uc', '-d', '-nc'], { cwd: tree, env: { DEB_BUILD_OPTIONS: '' } });
  const base = `${spec.name}_${spec.version.replace(/^\d+:/, '')}`;
  const changes = `${base}_source.changes`;
  const parsed = parseChanges(await readFile(join(workDir, changes), 'utf8'), changes);
  return {
    dir: workDir,
    changes,
    changesPath: join(workDir, changes),
    dsc: `${base}.dsc`,
    files: parsed.files.map((f) => f.name),
  };
}

/** Uploads with Debian's dput (method = local), using the stanza `archive up` printed. */
export async function dput(dputConfig: string, host: string, changesPath: string, workDir: string): Promise<void> {
  const cf = join(workDir, 'dput.cf');
  await writeFile(cf, dputConfig);
  await execa('dput', ['-c', cf, host, changesPath], { env: { USER: 'tester' } });
}
