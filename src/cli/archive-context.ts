// What every command needs: the root, its configuration, and the compose project for it.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isPort, parseConfig, type ArchiveConfig } from '../config/config.js';
import { parseCompose, type ComposeProject } from '../docker/compose-file.js';
import { LABEL_ROOT, LABEL_ROOT_ID } from '../docker/swarm-spec.js';
import { UserError } from '../errors.js';
import { AnchoredDir } from '../storage/anchored-dir.js';
import type { Layout } from '../storage/layout.js';
import { callerIsRoot, serviceOwner } from '../storage/ownership.js';
import { noArchive, requireArchive } from './archive-root.js';
import { archiveUri } from '../core/client-config.js';
import { readTls } from './tls-files.js';
import { printable } from '../core/terminal-text.js';

export const COMPOSE_FILE = fileURLToPath(new URL('../../compose/compose.yaml', import.meta.url));

export { layoutFor, type GlobalOptions } from './archive-root.js';

/**
 * `--port N` of archive init and up, a TCP port as archive.yaml's is (isPort), refused as the
 * command line is read: before anything is made (init wrote "abc" as .nan into archive.yaml, after
 * making a signing key).
 */
export function portOption(text: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!isPort(port)) throw new UserError(`--port: "${text}" is not a TCP port number (1-65535)`);
  return port;
}

export async function loadConfig(layout: Layout): Promise<ArchiveConfig> {
  await requireArchive({ root: layout.root });
  return parseConfig(callerIsRoot() ? readConfigHeld(layout) : await readFile(layout.config, 'utf8'), layout.config);
}

/**
 * Run by root, archive.yaml is read through the root held open (storage/anchored-dir.ts): the
 * queue's user owns the root and could put a FIFO there (hanging every command) or a link to a
 * file of root's (parsed, and its text shown in errors).
 */
function readConfigHeld(layout: Layout): string {
  const text = AnchoredDir.readUnderRoot(layout, layout.config);
  if (!text) throw noArchive(layout);
  return text.toString('utf8');
}

/** One project per root, so two roots can be up at once. */
export function projectName(layout: Layout, config: ArchiveConfig): string {
  return `${config.name}-${createHash('sha256').update(layout.root).digest('hex').slice(0, 8)}`;
}

export function archiveLabels(layout: Layout, project: string): Record<string, string> {
  const labels: Record<string, string> = { 'archive-in-a-box.project': project, [LABEL_ROOT]: layout.root };
  const id = readRootId(layout);
  if (id) labels[LABEL_ROOT_ID] = id;
  if (process.env.ARCHIVE_RUN_ID) labels['archive-in-a-box.run-id'] = process.env.ARCHIVE_RUN_ID;
  return labels;
}

/**
 * The archive's URL for clients on this machine: http://127.0.0.1:PORT/, or with tls_cert https://
 * and the certificate's first name (the files checked on the way, cli/tls-files.ts).
 */
export async function clientUrl(layout: Layout, config: ArchiveConfig): Promise<string> {
  return archiveUri(config, readTls(config, await serviceOwner(layout))?.hosts);
}

/** The variables compose/compose.yaml is written with. */
export async function composeVariables(layout: Layout, config: ArchiveConfig, port: number): Promise<Record<string, string>> {
  // Never root, even when root runs the CLI (storage/ownership.ts).
  const owner = await serviceOwner(layout);
  const tls = readTls(config, owner);
  const token = readApiToken(layout);
  return {
    ARCHIVE_PROJECT: projectName(layout, config),
    ARCHIVE_ROOT: layout.root,
    ARCHIVE_PORT: String(port),
    ARCHIVE_LISTEN: config.listen,
    ARCHIVE_UID: String(owner.uid),
    ARCHIVE_GID: String(owner.gid),
    ARCHIVE_BASE: config.suites[0].base,
    ARCHIVE_API_TOKEN: token,
    ARCHIVE_API_TOKEN_ID: createHash('sha256').update(token).digest('hex').slice(0, 16),
    ARCHIVE_RUN_ID: process.env.ARCHIVE_RUN_ID ?? '',
    // The queue refuses a root whose id is another (a Swarm node's folder of the same path).
    ARCHIVE_ROOT_ID: readRootId(layout) ?? '',
    // HTTPS: the text of the user's files, read as the queue's user (cli/tls-files.ts).
    ARCHIVE_TLS_CERT_PEM: tls?.cert ?? '',
    ARCHIVE_TLS_KEY_PEM: tls?.key ?? '',
    ARCHIVE_URL: archiveUri(config, tls?.hosts),
    // Tests only (src/core/fail-points.ts); empty for everyone else.
    ARCHIVE_FAILPOINTS: process.env.ARCHIVE_FAILPOINTS ?? '',
  };
}

/**
 * Read through the root held open, never through a link: the queue's user owns state/ and could
 * point root at a file of root's, whose text would then be handed to the containers (issue 17).
 */
function readApiToken(layout: Layout): string {
  const token = AnchoredDir.readUnderRoot(layout, layout.apiToken);
  if (!token) throw new UserError(`${layout.apiToken} is missing; run \`archive init ${layout.root}\` to make a new one`);
  return token.toString('utf8').trim();
}

/**
 * This root's id (state/root-id, which archive init and up make when missing), read through the
 * root held open; undefined while there is none.
 */
export function readRootId(layout: Layout): string | undefined {
  return AnchoredDir.readUnderRoot(layout, layout.rootId)?.toString('utf8').trim() || undefined;
}

/** The compose project of this root; `swarm` adds the variables of a deployment on a Swarm (up-swarm.ts). */
export async function loadProject(layout: Layout, config: ArchiveConfig, swarm: Record<string, string> = {}): Promise<ComposeProject> {
  return parseCompose(await readFile(COMPOSE_FILE, 'utf8'), COMPOSE_FILE, { ...(await composeVariables(layout, config, config.port)), ...swarm });
}

/**
 * Progress goes to stderr, so stdout stays for results (and --json); one line, its control
 * characters shown (it quotes what the engine says: a Swarm node's host name, a task's error).
 */
export function progress(line: string): void {
  process.stderr.write(`${process.stderr.isTTY ? '\x1b[2m' : ''}==> ${printable(line).replaceAll('\n', '\\x0a')}${process.stderr.isTTY ? '\x1b[0m' : ''}\n`);
}

/**
 * Why address:port (the configured listen address) cannot be listened on: the error's code,
 * EADDRINUSE when another program holds it, EADDRNOTAVAIL when the machine has no such address;
 * undefined when it can.
 */
export function portTrouble(port: number, address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen(port, address, () => server.close(() => resolve(undefined)));
  });
}
