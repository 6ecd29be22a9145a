// The queue's daemon on a root of its own, no Docker (no builder runs): a request that fails
// with an error of its own (not a full disk) is answered and removed, and neither the requests
// after it nor uploads wait behind it (once such a request stopped every scan for good, before
// the intake: no upload was taken again, even after a restart). An archive.yaml that names a
// suite a snapshot is, refused as it is re-read and at a start.
import { type ChildProcess, spawn } from 'node:child_process';
import { chown, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadRecord } from '../src/core/uploads.js';
import { Layout } from '../src/storage/layout.js';
import { CLI, freePort, until } from './support/archive.js';

const FIXTURES = join(import.meta.dirname, '..', 'src', 'debian', 'fixtures');
const UPLOAD = ['aib-hello_1.0-1_source.changes', 'aib-hello_1.0-1.dsc', 'aib-hello_1.0.orig.tar.gz', 'aib-hello_1.0-1.debian.tar.xz', 'aib-hello_1.0-1_source.buildinfo'];

let root: string;
let layout: Layout;
let queue: ChildProcess;
let output = '';
const cli = (args: string[]) => execa('node', [CLI, '--root', root, ...args, '--timeout', '60'], { reject: false });
/** The queue's daemon, as the queue's user (who owns the root: run as root, init gives it the root). */
async function startQueue(): Promise<ChildProcess> {
  const { uid, gid } = await stat(root);
  const child = spawn('node', [CLI, 'daemon', 'queue'], { uid, gid, env: { ...process.env, ARCHIVE_ROOT: root, ARCHIVE_API_PORT: String(await freePort()) }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => (output += d.toString()));
  return child;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'aib-queue-requests-'));
  layout = new Layout(root);
  const port = await freePort();
  await execa('node', [CLI, '--root', root, 'init', '--port', String(port)]);
  queue = await startQueue();
  await until('the queue to start', async () => output.includes('queue started'), 60_000, 100, 500);
}, 120_000);
afterAll(async () => {
  queue?.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

describe('a request that fails with an error of its own', () => {
  it('is answered so and removed; a later request and an upload still go through', async () => {
    // Where the snapshot's record goes, a folder: saving it fails (EISDIR), as a name too long for
    // the file system failed (ENAMETOOLONG), and would again at every scan.
    await mkdir(join(layout.suites, 'frozen.json', 'x'), { recursive: true });
    const { uid, gid } = await stat(root);
    for (const path of [join(layout.suites, 'frozen.json'), join(layout.suites, 'frozen.json', 'x')]) await chown(path, uid, gid);
    const failed = await cli(['snapshot', 'frozen']);
    expect(failed.exitCode, failed.stderr).toBe(2);
    expect(failed.stderr).toMatch(/^archive: the queue failed while carrying out this request: .*frozen\.json.*; not tried again \(queue\.log has the details\)$/);
    // Not tried again: the requests after it are carried out, uploads taken.
    for (const name of UPLOAD) {
      await copyFile(join(FIXTURES, name), join(layout.incoming, name));
      await chown(join(layout.incoming, name), uid, gid);
    }
    const later = await cli(['snapshot', 'later']);
    expect(later.exitCode, later.stderr).toBe(0);
    expect(later.stdout).toMatch(/^snapshot later of unstable: /);
    const upload = await until('the upload to be accepted', async () => {
      for (const name of await readdir(layout.uploads).catch(() => [] as string[])) {
        const u = JSON.parse(await readFile(join(layout.uploads, name), 'utf8')) as UploadRecord;
        if (u.source === 'aib-hello' && u.state !== 'received') return u;
      }
      return undefined;
    }, 60_000, 200, 1000);
    expect(upload.state, upload.reasons.join('\n')).not.toBe('rejected');
    expect((await readdir(layout.requests)).filter((n) => !n.endsWith('.answer.json') && !n.includes('.tmp-'))).toEqual([]);
    // (Not left for a start to find.)
    await rm(join(layout.suites, 'frozen.json'), { recursive: true });
  }, 180_000);
});

describe('archive.yaml naming a suite a snapshot is', () => {
  it('is refused as the queue re-reads it, the one before staying in force and the snapshot as it was; and at a start', async () => {
    const made = await cli(['snapshot', 'kept']);
    expect(made.exitCode, made.stderr).toBe(0);
    const record = await readFile(join(layout.suites, 'kept.json'), 'utf8');
    const yaml = await readFile(layout.config, 'utf8');
    expect(yaml).toMatch(/^suites:\n {2}unstable:\n/m);
    const clashing = yaml.replace(/^suites:\n/m, 'suites:\n  kept: {}\n');
    const refusal = 'suites.kept: kept is a snapshot (of unstable, made ';
    await writeFile(layout.config, clashing);
    await until('the queue to refuse archive.yaml', async () => output.includes(refusal), 30_000, 200, 1000);
    expect(output).toContain('name the suite otherwise, or delete the snapshot first (archive snapshot kept --delete)');
    expect(await readFile(join(layout.suites, 'kept.json'), 'utf8')).toBe(record);
    // Put right, it is taken again, and so are requests.
    await writeFile(layout.config, yaml);
    const after = await cli(['snapshot', 'after']);
    expect(after.exitCode, after.stderr).toBe(0);
    // A start with it: refused, saying why.
    queue.kill('SIGKILL');
    await writeFile(layout.config, clashing);
    output = '';
    const again = await startQueue();
    const code = await new Promise<number | null>((resolve) => again.on('exit', resolve));
    expect(code, output).toBe(2);
    expect(output).toContain(refusal);
    expect(await readFile(join(layout.suites, 'kept.json'), 'utf8')).toBe(record);
  }, 180_000);
});
