// The certificate and key archive.yaml names (tls_cert, tls_key), read for the repository,
// which serves HTTPS with their text (handed to its container, never a mount of the paths).
// archive.yaml is the queue's user's to write: run by root, this reads them as that user, in a
// process of that uid and gid with no other group, so root reads nothing on its behalf that that
// user could not read itself (a root-only file, one below a folder it cannot enter, a device).
import { spawnSync } from 'node:child_process';
import type { ArchiveConfig } from '../config/config.js';
import { checkTlsPair, type TlsPair } from '../core/tls-pair.js';
import { UserError } from '../errors.js';
import { callerIsRoot, type Owner } from '../storage/ownership.js';

/** A PEM file is a few KiB; a bigger one is not one. */
const MAX_PEM_BYTES = 256 * 1024;

export interface TlsFiles extends TlsPair {
  cert: string;
  key: string;
}

export function readTls(config: ArchiveConfig, owner: Owner): TlsFiles | undefined {
  if (!config.tls) return undefined;
  const cert = readAs(config.tls.cert, 'tls_cert', owner);
  const key = readAs(config.tls.key, 'tls_key', owner);
  return { ...checkTlsPair(cert, key, config.tls), cert: cert.toString('utf8'), key: key.toString('utf8') };
}

/** The file's bytes, read by READ_PEM_SCRIPT in a child process: run by root, one of the queue's user. */
function readAs(file: string, setting: string, owner: Owner): Buffer {
  // Node drops the supplementary groups with uid and gid; a gid 0 is never the queue's group.
  const as = callerIsRoot() ? { uid: owner.uid, gid: owner.gid === 0 ? 65534 : owner.gid } : {};
  const child = spawnSync(process.execPath, ['-e', READ_PEM_SCRIPT, file, String(MAX_PEM_BYTES)], { ...as, maxBuffer: 2 * MAX_PEM_BYTES, timeout: 30_000, encoding: 'utf8' });
  if (child.status !== 0) {
    const reason = child.stderr.trim() || child.error?.message || `exit ${child.status}`;
    throw new UserError(`${setting} ${file}: ${reason}${callerIsRoot() ? ` (read as the queue's user, uid ${owner.uid}, for whom the repository serves it: make it readable to that user)` : ''}`);
  }
  return Buffer.from(child.stdout, 'base64');
}

/**
 * Reads argv[1]: a regular file of at most argv[2] bytes, opened without blocking (a FIFO
 * there does not hang), out in base64; else why not on stderr, exit 1. Self-contained: the
 * checkout may be in a folder the queue's user cannot enter.
 */
const READ_PEM_SCRIPT = `
const fs = require('node:fs');
const [file, max] = process.argv.slice(1);
let fd;
try { fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); }
catch (err) { process.stderr.write('cannot be read (' + err.code + ')'); process.exit(1); }
const facts = fs.fstatSync(fd);
if (!facts.isFile()) { process.stderr.write('not a regular file'); process.exit(1); }
if (facts.size > Number(max)) { process.stderr.write(facts.size + ' bytes, more than the ' + max + ' a PEM file may have'); process.exit(1); }
process.stdout.write(fs.readFileSync(fd).toString('base64'));
`;
