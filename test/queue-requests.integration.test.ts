// The queue's daemon on a root of its own, no Docker (no builder runs): a request that fails
// with an error of its own (not a full disk) is answered and removed, and neither the requests
// after it nor uploads wait behind it. Once such a request stopped every scan for good, before
// the intake: no upload was taken again, even after a restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { chown, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
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

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'aib-queue-requests-'));
  layout = new Layout(root);
  const port = await freePort();
  await execa('node', [CLI, '--root', root, 'init', '--port', String(port)]);
  // As the queue's user, who owns the root (run as root, init gives it the root; else, the one who ran it).
  const { uid, gid } = await stat(root);
  queue = spawn('node', [CLI, 'daemon', 'queue'], { uid, gid, env: { ...process.env, ARCHIVE_ROOT: root, ARCHIVE_API_PORT: String(await freePort()) }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [queue.stdout!, queue.stderr!]) stream.on('data', (d: Buffer) => (output += d.toString()));
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
  }, 180_000);
});
