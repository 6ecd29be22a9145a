// Debian version numbers, Debian Policy §5.6.12: [epoch:]upstream_version[-debian_revision].

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const UPSTREAM_WITH_REVISION = /^[0-9][A-Za-z0-9.+~-]*$/;
const UPSTREAM_NO_REVISION = /^[0-9][A-Za-z0-9.+~]*$/;
const REVISION = /^[A-Za-z0-9.+~]+$/;

/** Parses a version; returns an error string instead of throwing, for validators. */
export function parseVersion(text: string): DebianVersion | string {
  if (text !== text.trim() || text === '') return `version "${text}" is empty or has surrounding white space`;
  let rest = text;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const e = rest.slice(0, colon);
    if (!/^[0-9]+$/.test(e)) return `version "${text}": epoch "${e}" is not an unsigned integer`;
    epoch = Number(e);
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (dash >= 0 && !REVISION.test(revision)) {
    return `version "${text}": debian_revision "${revision}" may hold only letters, digits and + . ~`;
  }
  const upstreamRule = dash >= 0 ? UPSTREAM_WITH_REVISION : UPSTREAM_NO_REVISION;
  if (!upstreamRule.test(upstream)) {
    return `version "${text}": upstream_version "${upstream}" must start with a digit and hold only letters, digits and . + ~${dash >= 0 ? ' -' : ''}`;
  }
  return { epoch, upstream, revision };
}

export function isValidVersion(text: string): boolean {
  return typeof parseVersion(text) !== 'string';
}

// Sort weight of one character in the non-digit part: '~' before everything, even the
// end of the part; letters before non-letters.
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit prefix, compared character by character with the weights above.
    while ((i < a.length && !/[0-9]/.test(a[i])) || (j < b.length && !/[0-9]/.test(b[j]))) {
      const ca = i < a.length && !/[0-9]/.test(a[i]) ? a[i] : undefined;
      const cb = j < b.length && !/[0-9]/.test(b[j]) ? b[j] : undefined;
      const diff = order(ca) - order(cb);
      if (diff !== 0) return diff < 0 ? -1 : 1;
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    // Digit run, compared numerically (leading zeros ignored).
    let na = '';
    let nb = '';
    while (i < a.length && /[0-9]/.test(a[i])) na += a[i++];
    while (j < b.length && /[0-9]/.test(b[j])) nb += b[j++];
    na = na.replace(/^0+/, '');
    nb = nb.replace(/^0+/, '');
    if (na.length !== nb.length) return na.length < nb.length ? -1 : 1;
    if (na !== nb) return na < nb ? -1 : 1;
  }
  return 0;
}

/** Compares two Debian versions: negative, zero or positive, as dpkg --compare-versions. */
export function compareVersions(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (typeof va === 'string') throw new Error(va);
  if (typeof vb === 'string') throw new Error(vb);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  return compareFragment(va.upstream, vb.upstream) || compareFragment(va.revision || '0', vb.revision || '0');
}

/** The version without its epoch, as it appears in file names (Policy §5.6.12). */
export function versionWithoutEpoch(version: string): string {
  // Only a number before the first colon is an epoch (Policy 5.6.12): "evil:1.0" keeps its colon,
  // so a file name made from it is refused as unsafe rather than taken for "1.0".
  return version.replace(/^\d+:/, '');
}

/** Source package names, Policy §5.6.1: lower case letters, digits, + - . ; at least two; starts alphanumeric. */
export function isValidPackageName(name: string): boolean {
  return /^[a-z0-9][a-z0-9+.-]+$/.test(name);
}
