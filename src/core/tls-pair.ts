// A certificate and private key the user gives for HTTPS (archive.yaml tls_cert, tls_key):
// each parsed, the key the certificate's, the certificate current; and the host names it is
// for, which the printed URLs use. Pure: the files' bytes in.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { UserError } from '../errors.js';

export interface TlsPair {
  /** The names the certificate is for (subjectAltName): DNS names, then IP addresses, this machine's own last. */
  hosts: string[];
  notAfter: Date;
}

export function checkTlsPair(cert: Buffer, key: Buffer, files: { cert: string; key: string }, now = new Date()): TlsPair {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new UserError(`tls_cert ${files.cert}: not a PEM certificate (expected -----BEGIN CERTIFICATE-----): ${(err as Error).message}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key, passphrase: '' });
  } catch (err) {
    const message = (err as Error).message;
    throw new UserError(
      /passphrase|decrypt|bad decrypt/i.test(message)
        ? `tls_key ${files.key}: the key is encrypted; the web server needs it without a passphrase (openssl pkey -in KEY -out KEY.plain)`
        : `tls_key ${files.key}: not a PEM private key (expected -----BEGIN PRIVATE KEY-----): ${message}`,
    );
  }
  if (!x509.checkPrivateKey(privateKey)) throw new UserError(`tls_key ${files.key} is not the private key of the certificate in ${files.cert}`);
  const notAfter = new Date(x509.validTo);
  if (notAfter.getTime() < now.getTime()) throw new UserError(`tls_cert ${files.cert} expired on ${notAfter.toISOString()}; give a current certificate`);
  const hosts = certificateHosts(x509);
  if (hosts.length === 0) throw new UserError(`tls_cert ${files.cert} names no host in its subjectAltName (a DNS name or an IP address clients use), so no client could check it`);
  return { hosts, notAfter };
}

function certificateHosts(x509: X509Certificate): string[] {
  const names = (x509.subjectAltName ?? '').split(/,\s*/).filter(Boolean);
  const dns = names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)).filter((n) => !n.includes('*'));
  const ips = names.filter((n) => n.startsWith('IP Address:')).map((n) => n.slice(11));
  const local = (h: string) => h === 'localhost' || h.startsWith('127.') || h === '::1';
  return [...dns.filter((h) => !local(h)), ...ips.filter((h) => !local(h)), ...[...dns, ...ips].filter(local)];
}
