// The certificate and key archive.yaml names (tls_cert, tls_key), read and checked before the
// repository serves HTTPS with them. The repository runs as the queue's user and reads them
// through its own bind mounts: this CLI never copies them, so root running it hands that user
// nothing it could not already read, and a file that user cannot read is refused here, by name.
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import type { ArchiveConfig } from '../config/config.js';
import { checkTlsPair, type TlsPair } from '../core/tls-pair.js';
import { UserError } from '../errors.js';
import type { Owner } from '../storage/ownership.js';

/** A PEM file is a few KiB; a bigger one is not one. */
const MAX_PEM_BYTES = 1024 * 1024;

export function readTls(config: ArchiveConfig, owner: Owner): TlsPair | undefined {
  if (!config.tls) return undefined;
  const cert = readPem(config.tls.cert, 'tls_cert', owner);
  const key = readPem(config.tls.key, 'tls_key', owner);
  return checkTlsPair(cert, key, config.tls);
}

function readPem(file: string, setting: string, owner: Owner): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO there must not hang `up`; it is refused below.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new UserError(`${setting} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code}); archive.yaml names it`);
  }
  try {
    const facts = fstatSync(fd);
    if (!facts.isFile()) throw new UserError(`${setting} ${file}: not a regular file`);
    if (facts.size > MAX_PEM_BYTES) throw new UserError(`${setting} ${file}: ${facts.size} bytes, more than a PEM file's ${MAX_PEM_BYTES}`);
    if (!readableBy(facts, owner)) {
      throw new UserError(
        `${setting} ${file}: the repository runs as the queue's user (uid ${owner.uid}), who cannot read it (owner uid ${facts.uid}, mode ${(facts.mode & 0o777).toString(8)}); ` +
          `chown ${owner.uid} ${file}, or chgrp ${owner.gid} ${file} && chmod g+r ${file}`,
      );
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readableBy(facts: Stats, owner: Owner): boolean {
  if (facts.uid === owner.uid) return (facts.mode & 0o400) !== 0;
  if (facts.gid === owner.gid) return (facts.mode & 0o040) !== 0;
  return (facts.mode & 0o004) !== 0;
}
