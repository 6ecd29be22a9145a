// What a user pastes into their own configuration: a dput.cf stanza and an apt source.
import type { ArchiveConfig } from '../config/config.js';

export function dputStanza(config: ArchiveConfig, incoming: string): string {
  const dists = config.suites.flatMap((s) => [s.name, ...s.aliases]);
  return [
    `[${config.name}]`,
    'fqdn = localhost',
    'method = local',
    `incoming = ${incoming}`,
    `allow_unsigned_uploads = ${config.uploads.allowUnsigned ? 1 : 0}`,
    `allowed_distributions = ^(${dists.join('|')})$`,
    'run_dinstall = 0',
    '',
  ].join('\n');
}

/** Where apt should find the key: /etc/apt/keyrings/NAME.asc (apt >= 2.4 reads armored keys). */
export function keyringPath(config: ArchiveConfig): string {
  return `/etc/apt/keyrings/${config.name}.asc`;
}

export type SourceFormat = 'deb822' | 'one-line';

export function aptSource(config: ArchiveConfig, uri: string, format: SourceFormat, suite = config.suites[0]): string {
  if (format === 'one-line') {
    const opts = `[signed-by=${keyringPath(config)}]`;
    return ['deb', 'deb-src'].map((t) => `${t} ${opts} ${uri} ${suite.name} ${suite.components.join(' ')}`).join('\n') + '\n';
  }
  return [
    'Types: deb deb-src',
    `URIs: ${uri}`,
    `Suites: ${suite.name}`,
    `Components: ${suite.components.join(' ')}`,
    `Signed-By: ${keyringPath(config)}`,
    '',
  ].join('\n');
}

/**
 * The archive's URL as this machine's clients use it: http://127.0.0.1:PORT/, or with HTTPS
 * (tls_cert) https:// and the first name the certificate is for.
 */
export function archiveUri(config: Pick<ArchiveConfig, 'port' | 'tls'>, certificateHosts: string[] = []): string {
  if (!config.tls) return `http://127.0.0.1:${config.port}/`;
  const host = certificateHosts[0] ?? '127.0.0.1';
  return `https://${host.includes(':') ? `[${host}]` : host}:${config.port}/`;
}

export function fileUri(publicDir: string): string {
  return `file:${publicDir}`;
}
