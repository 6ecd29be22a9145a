import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTlsPair } from './tls-pair.js';

const dir = join(import.meta.dirname, 'fixtures', 'tls');
const read = (name: string) => readFileSync(join(dir, name));
const files = { cert: '/etc/ssl/archive.pem', key: '/etc/ssl/archive.key' };

describe('a certificate and key for HTTPS', () => {
  it('takes a matching pair, and gives the names the certificate is for, DNS names first', () => {
    const pair = checkTlsPair(read('archive.pem'), read('archive.key'), files);
    expect(pair.hosts).toEqual(['archive.example', '127.0.0.1']);
    expect(pair.notAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it('refuses a key that is not the certificate\'s, naming both files', () => {
    expect(() => checkTlsPair(read('archive.pem'), read('other.key'), files)).toThrow('tls_key /etc/ssl/archive.key is not the private key of the certificate in /etc/ssl/archive.pem');
  });

  it('refuses an encrypted key, saying how to decrypt it', () => {
    expect(() => checkTlsPair(read('archive.pem'), read('encrypted.key'), files)).toThrow(/tls_key \/etc\/ssl\/archive\.key: the key is encrypted; .*\(openssl pkey/);
  });

  it('refuses what is not PEM: a key given as the certificate, a certificate as the key, an empty file', () => {
    expect(() => checkTlsPair(read('archive.key'), read('archive.key'), files)).toThrow(/^tls_cert \/etc\/ssl\/archive\.pem: not a PEM certificate/);
    expect(() => checkTlsPair(read('archive.pem'), read('archive.pem'), files)).toThrow(/^tls_key \/etc\/ssl\/archive\.key: not a PEM private key/);
    expect(() => checkTlsPair(Buffer.alloc(0), read('archive.key'), files)).toThrow(/^tls_cert .*: not a PEM certificate/);
  });

  it('refuses a certificate that names no host a client could check (a CN alone)', () => {
    expect(() => checkTlsPair(read('no-names.pem'), read('no-names.key'), files)).toThrow('tls_cert /etc/ssl/archive.pem names no host in its subjectAltName');
  });

  it('refuses an expired certificate, with the date', () => {
    expect(() => checkTlsPair(read('archive.pem'), read('archive.key'), files, new Date('2200-01-01'))).toThrow(/tls_cert \/etc\/ssl\/archive\.pem expired on \d{4}-/);
  });
});
