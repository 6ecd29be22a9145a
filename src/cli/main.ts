#!/usr/bin/env node
// The CLI. Commands live one per file; only this file turns errors into exit codes.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { printable } from '../core/terminal-text.js';
import { CommandFailed, DockerError, Unsuccessful, UserError } from '../errors.js';
const EXIT_CODES = `
Exit codes:
  0    success
  1    the awaited upload was rejected or failed to build (archive wait); a check failed (archive doctor)
  2    usage or configuration error
  3    an external program (gpg, debootstrap, dpkg-deb, ...) failed
  4    the Docker engine is unreachable or refused an operation
  124  archive wait timed out
  130  stopped by Ctrl-C (SIGINT) (archive build: its containers removed); 143 by SIGTERM
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

/**
 * Each command's module, in --help order. Only the module of the command being run is loaded:
 * dockerode alone takes 0.2 s to load, and `archive include` or `ls` do not need it. Help and
 * unknown commands load them all; --version none.
 */
const COMMANDS = [
  'init', 'up', 'down', 'status', 'qa', 'doctor', 'wait', 'ls', 'rm', 'copy', 'migrate', 'snapshot', 'include', 'build', 'logs', 'retry', 'verify',
  'source-line', 'dput-config', 'keys', 'workers', 'worker', 'cache', 'refresh', 'binfmt', 'service', 'daemon',
];
function commandNamed(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root') i++;
    else if (!argv[i].startsWith('-')) return COMMANDS.includes(argv[i]) ? argv[i] : undefined;
  }
  return undefined;
}
const args = process.argv.slice(2);
const named = commandNamed(args);
// `archive --version` (and -V) needs no command at all.
const versionOnly = !named && args.some((a) => a === '--version' || a === '-V');
for (const name of named ? [named] : versionOnly ? [] : COMMANDS) {
  const module = (await import(`./${name}.js`)) as { register(program: Command): void };
  module.register(program);
}

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
  // An answer's or a program's words may carry a hostile .deb's fields: shown, not obeyed.
  process.stderr.write(`archive: ${printable(message)}\n`);
  process.exit(code);
}
