// Makes real Debian source and binary packages for the tests, with dpkg-source and dpkg-deb on the host (trusted
// input we write ourselves), and uploads them with real dput.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parseChanges } from '../../src/debian/changes-dsc.js';
import { versionWithoutEpoch } from '../../src/debian/version.js';

export interface PackageSpec {
  name: string;
  version: string;
  distribution?: string;
  /** The line the installed program prints. */
  line?: string;
  buildDepends?: string[];
  /** More Depends of the binary package, beside what dh computes. */
  depends?: string[];
  architecture?: 'any' | 'all';
  /** Extra shell run in override_dh_auto_build (for hostile or failing builds). */
  buildScript?: string;
  /** More files under debian/ (scripts the build script runs; tests/control and the tests it names, made executable). */
  debianFiles?: Record<string, string>;
  /** Sign the .dsc and .changes (what debsign does) with this key from this GNUPGHOME. */
  sign?: { gnupgHome: string; key: string };
  /** A -dev style package: the binary is named this and ships a header instead of a program. */
  header?: { binary: string; name: string; content: string };
  /** The program prints this C expression, with these headers included (from build-dependencies). */
  print?: { includes: string[]; expression: string };
  /** The source's Section (misc unless told), e.g. contrib/net. */
  section?: string;
  /** A second binary package, Architecture: all, shipping /usr/share/NAME/FILE with this content. */
  data?: { binary: string; file: string; content: string };
  /**
   * debian/rules with dpkg's own tools (dpkg-gencontrol, dpkg-deb) instead of debhelper: no
   * build-dependency to install and no dh to run, which under qemu is most of a small build.
   */
  withoutDebhelper?: boolean;
  /** The compiler's flags in the Makefile (default: $(CFLAGS) $(CPPFLAGS) $(LDFLAGS), what dpkg-buildflags gives). */
  compilerFlags?: string;
  /** The binary packages built uncompressed (dh_builddeb -- -Znone): a large payload stays as large, and is quick to pack. */
  uncompressed?: boolean;
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
  const upstream = versionWithoutEpoch(spec.version).replace(/-[^-]+$/, '');
  const tree = join(workDir, `${spec.name}-${upstream}`);
  await mkdir(join(tree, 'debian', 'source'), { recursive: true });
  const line = spec.line ?? `hello from ${spec.name} ${spec.version}`;
  const binary = spec.header?.binary ?? spec.name;
  if (spec.header) {
    await writeFile(join(tree, spec.header.name), spec.header.content);
    await writeFile(join(tree, 'Makefile'), `all:\ninstall:\n\tinstall -D -m 644 ${spec.header.name} $(DESTDIR)/usr/include/${spec.header.name}\nclean:\n`);
  } else {
    const includes = ['stdio.h', ...(spec.print?.includes ?? [])].map((h) => `#include <${h}>\n`).join('');
    await writeFile(join(tree, 'hello.c'), `${includes}int main(void) { puts(${spec.print?.expression ?? JSON.stringify(line)}); return 0; }\n`);
    if (spec.data) await writeFile(join(tree, spec.data.file), spec.data.content);
    const installData = spec.data ? `\tinstall -D -m 644 ${spec.data.file} $(DESTDIR)/usr/share/${spec.data.binary}/${spec.data.file}\n` : '';
    await writeFile(
      join(tree, 'Makefile'),
      `all: ${spec.name}\n${spec.name}: hello.c\n\t$(CC) ${spec.compilerFlags ?? '$(CFLAGS) $(CPPFLAGS) $(LDFLAGS)'} -o $@ $<\n` +
        `install:\n\tinstall -D -m 755 ${spec.name} $(DESTDIR)/usr/bin/${spec.name}\n${installData}clean:\n\trm -f ${spec.name}\n`,
    );
  }
  await execa('tar', ['czf', join(workDir, `${spec.name}_${upstream}.orig.tar.gz`), '-C', workDir, `${spec.name}-${upstream}`]);
  await writeFile(join(tree, 'debian', 'source', 'format'), '3.0 (quilt)\n');
  const buildDepends = [...(spec.withoutDebhelper ? [] : ['debhelper-compat (= 13)']), ...(spec.buildDepends ?? [])].join(', ');
  await writeFile(
    join(tree, 'debian', 'control'),
    `Source: ${spec.name}\nSection: ${spec.section ?? 'misc'}\nPriority: optional\nMaintainer: Test Maintainer <test@example.org>\n` +
      `${buildDepends ? `Build-Depends: ${buildDepends}\n` : ''}Standards-Version: 4.7.0\nRules-Requires-Root: no\n\n` +
      `Package: ${binary}\nArchitecture: ${spec.architecture ?? (spec.header ? 'all' : 'any')}\nDepends: ${['${shlibs:Depends}', '${misc:Depends}', ...(spec.depends ?? [])].join(', ')}\n` +
      `Description: test package ${binary} for archive-in-a-box\n Made by the tests.\n` +
      (spec.data ? `\nPackage: ${spec.data.binary}\nArchitecture: all\nDepends: \${misc:Depends}\nDescription: data of ${binary}\n Made by the tests.\n` : ''),
  );
  // Two binary packages: each takes its files from debian/tmp.
  if (spec.data && !spec.withoutDebhelper) {
    await writeFile(join(tree, 'debian', `${binary}.install`), `usr/bin/${spec.name}\n`);
    await writeFile(join(tree, 'debian', `${spec.data.binary}.install`), `usr/share/${spec.data.binary}\n`);
  }
  const rules = spec.withoutDebhelper ? plainRules(spec.name, spec.data) : ['#!/usr/bin/make -f', '%:', '\tdh $@'];
  if (spec.buildScript && !spec.withoutDebhelper) rules.push('override_dh_auto_build:', `\t${spec.buildScript}`, '\tdh_auto_build');
  if (spec.uncompressed && !spec.withoutDebhelper) rules.push('override_dh_builddeb:', '\tdh_builddeb -- -Znone');
  await writeFile(join(tree, 'debian', 'rules'), `${rules.join('\n')}\n`);
  await chmod(join(tree, 'debian', 'rules'), 0o755);
  await writeFile(
    join(tree, 'debian', 'changelog'),
    `${spec.name} (${spec.version}) ${spec.distribution ?? 'unstable'}; urgency=medium\n\n  * Test upload.\n\n -- Test Maintainer <test@example.org>  ${new Date().toUTCString().replace('GMT', '+0000')}\n`,
  );
  await writeFile(join(tree, 'debian', 'copyright'), 'Copyright: public domain\n');
  for (const [name, content] of Object.entries(spec.debianFiles ?? {})) {
    // debian/tests/NAME: an autopkgtest, run as a program.
    await mkdir(dirname(join(tree, 'debian', name)), { recursive: true });
    await writeFile(join(tree, 'debian', name), content, { mode: /^tests\/(?!control$)/.test(name) ? 0o755 : 0o644 });
  }
  const signing = spec.sign ? [`--sign-keyid=${spec.sign.key}`] : ['-us', '-uc'];
  await execa('dpkg-buildpackage', ['-S', '-d', '-nc', ...signing], {
    cwd: tree,
    env: { DEB_BUILD_OPTIONS: '', ...(spec.sign ? { GNUPGHOME: spec.sign.gnupgHome } : {}) },
  });
  const base = `${spec.name}_${versionWithoutEpoch(spec.version)}`;
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

/**
 * debian/rules for the program (Architecture: any) and its data package (all) with dpkg's own
 * tools, as packages were made before debhelper: each binary package's tree, then
 * dpkg-shlibdeps, dpkg-gencontrol and dpkg-deb.
 */
function plainRules(program: string, data: { binary: string; file: string } | undefined): string[] {
  const deb = (name: string, substvars = '') => [`\tdpkg-gencontrol -p${name} -Pdebian/${name}${substvars}`, `\tdpkg-deb --root-owner-group --build debian/${name} ..`];
  return [
    '#!/usr/bin/make -f',
    'build: build-arch build-indep',
    'build-arch:',
    '\t$(MAKE)',
    'build-indep:',
    'binary: binary-arch binary-indep',
    'binary-arch: build-arch',
    `\trm -rf debian/${program} && mkdir -p debian/${program}/DEBIAN`,
    `\tinstall -D -m 755 ${program} debian/${program}/usr/bin/${program}`,
    `\tdpkg-shlibdeps -Tdebian/${program}.substvars debian/${program}/usr/bin/${program}`,
    ...deb(program, ` -Tdebian/${program}.substvars`),
    'binary-indep: build-indep',
    ...(data ? [`\trm -rf debian/${data.binary} && mkdir -p debian/${data.binary}/DEBIAN`, `\tinstall -D -m 644 ${data.file} debian/${data.binary}/usr/share/${data.binary}/${data.file}`, ...deb(data.binary)] : []),
    'clean:',
    '\t$(MAKE) clean',
    `\trm -rf debian/${program} debian/*.substvars debian/files${data ? ` debian/${data.binary}` : ''}`,
  ];
}

/** Uploads with Debian's dput (method = local), using the stanza `archive up` printed. */
export async function dput(dputConfig: string, host: string, changesPath: string, workDir: string, gnupgHome?: string): Promise<void> {
  const cf = join(workDir, 'dput.cf');
  await writeFile(cf, dputConfig);
  await execa('dput', ['-c', cf, host, changesPath], { env: { USER: 'tester', ...(gnupgHome ? { GNUPGHOME: gnupgHome } : {}) } });
}

/** A throwaway OpenPGP identity for signing test uploads (never committed). */
export async function makeKey(gnupgHome: string, uid: string): Promise<string> {
  await execa('gpg', ['--homedir', gnupgHome, '--batch', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', '1y']);
  const { stdout } = await execa('gpg', ['--homedir', gnupgHome, '--batch', '--with-colons', '--list-keys', uid]);
  return stdout.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
}

export interface BinarySpec {
  name: string;
  version: string;
  arch?: string;
  section?: string;
  /** "name" or "name (version)" when it differs from the package. */
  source?: string;
}

/** A small binary package made with dpkg-deb --build (as `archive include` receives them). */
export async function makeBinaryPackage(workDir: string, spec: BinarySpec): Promise<string> {
  const arch = spec.arch ?? 'amd64';
  const tree = await mkdtemp(join(workDir, `${spec.name}-`));
  await mkdir(join(tree, 'DEBIAN'));
  await mkdir(join(tree, 'usr', 'share', 'doc', spec.name), { recursive: true });
  await writeFile(join(tree, 'usr', 'share', 'doc', spec.name, 'README'), `${spec.name} ${spec.version}\n`);
  const fields = [
    `Package: ${spec.name}`,
    `Version: ${spec.version}`,
    `Architecture: ${arch}`,
    'Maintainer: Test Maintainer <test@example.org>',
    ...(spec.source ? [`Source: ${spec.source}`] : []),
    `Section: ${spec.section ?? 'misc'}`,
    'Priority: optional',
    `Description: test package ${spec.name}`,
    ' Made by the tests with dpkg-deb --build.',
  ];
  await writeFile(join(tree, 'DEBIAN', 'control'), `${fields.join('\n')}\n`);
  const deb = join(workDir, `${spec.name}_${versionWithoutEpoch(spec.version)}_${arch}.deb`);
  await execa('dpkg-deb', ['--root-owner-group', '--build', tree, deb]);
  await rm(tree, { recursive: true, force: true });
  return deb;
}
