// Where a package's files go in the pool, as dak and reprepro lay it out:
// pool/COMPONENT/PREFIX/SOURCE/FILE, relative to the archive's public root, with every file of
// one source (its .dsc, tarballs, .debs, .buildinfo) in one directory. Paths of this shape are
// written into Packages (Filename) and Sources (Directory) and kept in the queue's records, so
// this is the one place that spells them.
import { versionWithoutEpoch } from './version.js';

/** dak's re_file_safe: no directory part, no leading dot or dash. Every file the pool takes has such a name. */
export const SAFE_FILE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.~+-]*$/;

/** A name `archive include` takes: a safe .deb or .udeb file name (the CLI copies nothing else). */
export function isPackageFileName(name: string): boolean {
  return SAFE_FILE_NAME.test(name) && /\.u?deb$/.test(name);
}

/** The pool's directory under the public root. */
export const POOL_DIR = 'pool';

/** Pool directory prefix, as dak: "libfoo" -> "libf", otherwise the first letter. */
export function poolPrefix(source: string): string {
  return source.startsWith('lib') && source.length > 3 ? source.slice(0, 4) : source[0];
}

/**
 * The component a package goes into: the section's prefix ("contrib/net") when the suite has
 * that component, otherwise the suite's first (Policy 2.4).
 */
export function componentFor(section: string | undefined, components: string[]): string {
  const prefix = section?.includes('/') ? section.split('/')[0] : undefined;
  return prefix && components.includes(prefix) ? prefix : components[0];
}

/** A source's pool directory, relative to the public root: pool/main/h/hello. */
export function poolDirOf(component: string, source: string): string {
  return `${POOL_DIR}/${component}/${poolPrefix(source)}/${source}`;
}

/** A binary package's file name: PACKAGE_VERSION_ARCH.deb, the version without its epoch. */
export function binaryFileName(pkg: string, version: string, arch: string, ext: 'deb' | 'udeb'): string {
  return `${pkg}_${versionWithoutEpoch(version)}_${arch}.${ext}`;
}
