#!/usr/bin/env node
// The CLI. Commands live one per file; only this file turns errors into exit codes.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CommandFailed, DockerError, UserError } from '../errors.js';
import * as cache from './cache.js';
import * as copy from './copy.js';
import * as daemon from './daemon.js';
import * as doctor from './doctor.js';
import * as down from './down.js';
import * as dputConfig from './dput-config.js';
import * as include from './include.js';
import * as init from './init.js';
import * as keys from './keys.js';
import * as logs from './logs.js';
import * as ls from './ls.js';
import * as refresh from './refresh.js';
import * as retry from './retry.js';
import * as service from './service.js';
import * as rm from './rm.js';
import * as snapshot from './snapshot.js';
import * as sourceLine from './source-line.js';
import * as status from './status.js';
import * as up from './up.js';
import * as wait from './wait.js';
import { Unsuccessful } from './wait.js';

const EXIT_CODES = `
Exit codes:
  0    success
  1    the awaited upload was rejected or failed to build (archive wait); a check failed (archive doctor)
  2    usage or configuration error
  3    an external program (gpg, debootstrap, dpkg-deb, ...) failed
  4    the Docker engine is unreachable or refused an operation
  124  archive wait timed out
  70   internal error (a bug: please report it)
`;

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('archive')
  .description('a Debian archive on one machine: dput source packages in, get a signed apt repository out')
  .version(pkg.version)
  .option('--root <dir>', 'archive root (default: $ARCHIVE_ROOT, else $XDG_DATA_HOME/archive-in-a-box)')
  .addHelpText('after', EXIT_CODES)
  .exitOverride()
  .showHelpAfterError();

for (const command of [init, up, down, status, doctor, wait, ls, rm, copy, snapshot, include, logs, retry, sourceLine, dputConfig, keys, cache, refresh, service, daemon]) command.register(program);

function exitCode(err: unknown): number {
  if (err instanceof Unsuccessful) return err.exitCode;
  if (err instanceof UserError) return 2;
  if (err instanceof CommandFailed) return 3;
  if (err instanceof DockerError) return 4;
  return 70;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  const code = exitCode(err);
  const message = code === 70 ? (err as Error).stack ?? String(err) : (err as Error).message;
  process.stderr.write(`archive: ${message}\n`);
  process.exit(code);
}
