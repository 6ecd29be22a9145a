// Workers elsewhere: an archive with no worker of its own (builds.local_workers: 0) listening on
// the Docker bridge's address over HTTPS (a self-signed certificate, tls_cert and tls_key), and a
// worker enrolled with `archive workers add` that runs with nothing but the archive's URL, its
// token and the certificate to trust (`archive worker`, on this host: no archive root, no shared
// folder, no network with the queue). Removing it refuses its token at once and gives back the
// job it held.
import { chmod, chown, mkdtemp, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO, RUN_ID, TestArchive, cleanupRun, freePort, until, type JobView, type UpResult } from './support/archive.js';

describe('a worker on another machine', () => {
  let archive: TestArchive;
  let up: UpResult;
  let url: string;
  let worker: ResultPromise | undefined;
  let workerOutput = '';
  let certFile: string;
  let keyFile: string;

  const job = async (source: string) => (await archive.upload(source, '1.0-1'))?.jobs[0] as (JobView & { worker?: string; waitingFor?: string }) | undefined;

  beforeAll(async () => {
    archive = await TestArchive.create();
    // The bridge's gateway: this host as containers (the worker's build-dependency containers) reach it.
    // (Debian 12's engine, on a new machine, names no Gateway for it: docker0's own address is it.)
    const named = (await execa('docker', ['network', 'inspect', 'bridge', '--format', '{{(index .IPAM.Config 0).Gateway}}'])).stdout.trim();
    const gateway = named || /inet (\S+)\//.exec((await execa('ip', ['-4', '-o', 'addr', 'show', 'docker0'])).stdout)?.[1];
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await archive.cli(['init'])).exitCode).toBe(0);
    // A certificate for that address, its key the queue's user's (the repository runs as that user).
    certFile = join(archive.work, 'archive.pem');
    keyFile = join(archive.work, 'archive.key');
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${gateway}`, '-addext', `subjectAltName=IP:${gateway}`]);
    const owner = await stat(archive.root);
    const config = join(archive.root, 'archive.yaml');
    await writeFile(config, `${await readFile(config, 'utf8')}\nlisten: ${gateway}\ntls_cert: ${certFile}\ntls_key: ${keyFile}\n`.replace(/^builds:\n/m, 'builds:\n  local_workers: 0\n'));
    // archive.yaml is the queue's user's: up (root here) reads the files as that user, so a
    // certificate in a folder of root's (0700) and then root's key (0600) are refused by name.
    const refusal = async (setting: string, file: string) => {
      const refused = await archive.cli(['up', '--port', String(archive.port)]);
      expect(refused.exitCode, String(refused.all)).toBe(2);
      expect(refused.stderr).toContain(`archive: ${setting} ${file}: cannot be read (EACCES) (read as the queue's user, uid ${owner.uid}`);
    };
    await refusal('tls_cert', certFile);
    await chmod(archive.work, 0o711);
    await refusal('tls_key', keyFile);
    await chown(keyFile, owner.uid, owner.gid);
    up = await archive.up();
    url = `https://${gateway}:${archive.port}/`;
    expect(up.url).toBe(url);
  });

  it('serves the repository and the job API over HTTPS only, with the certificate given', async () => {
    const key = await execa('curl', ['-fsS', '--cacert', certFile, `${url}archive-key.asc`], { reject: false });
    expect(key.exitCode, key.stderr).toBe(0);
    expect(key.stdout).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    // Untrusted without it, and no plain HTTP on that port.
    expect((await execa('curl', ['-fsS', `${url}archive-key.asc`], { reject: false })).exitCode).toBe(60);
    expect((await execa('curl', ['-fsS', url.replace('https:', 'http:')], { reject: false })).exitCode).not.toBe(0);
    expect((await archive.cli(['source-line'])).stdout).toContain(`URIs: ${url}\n`);
    expect(JSON.parse(String((await archive.cli(['status', '--json'])).stdout)).url).toBe(url);
    // nginx has read the key, and it is gone from the repository's file system, where a link
    // planted as public/dists (followed wherever it points) could have had it served.
    const tmp = await execa('docker', ['exec', `${up.project}-repo`, 'ls', '-A', '/tmp']);
    expect(tmp.stdout.split('\n')).not.toContain('tls');
    expect(tmp.stdout.split('\n')).toContain('nginx.pid');
    // And so after a restart (its /tmp, a tmpfs, outlives it).
    await execa('docker', ['restart', `${up.project}-repo`]);
    await until('the repository to serve HTTPS again', async () => (await execa('curl', ['-fsS', '--cacert', certFile, `${url}archive-key.asc`], { reject: false })).exitCode === 0, 60_000);
    // (Removed once nginx has written its pid file, a moment after it serves.)
    await until('the key to be gone again', async () => !(await execa('docker', ['exec', `${up.project}-repo`, 'ls', '-A', '/tmp'])).stdout.split('\n').includes('tls'), 30_000);
  });

  afterAll(async () => {
    worker?.kill('SIGKILL');
    await archive?.destroy();
    await cleanupRun();
  });

  it("serves nothing of the TLS key while nginx starts, though the queue's user points the dists link at the container's /tmp", async () => {
    // public/ with dists pointing at the repository container's /tmp, as the queue's user could make it.
    const pub = await mkdtemp(join(archive.work, 'public-'));
    await symlink('/tmp', join(pub, 'dists'));
    await chmod(pub, 0o755);
    // The repository's image and start.sh as archive up runs them, nginx with its pid file
    // elsewhere: start.sh waits (30 s) for /tmp/nginx.pid before it removes the key, so the key
    // stays there while nginx serves.
    const stub = await mkdtemp(join(archive.work, 'stub-'));
    const conf = (await readFile(join(REPO, 'images', 'repo', 'nginx.conf'), 'utf8')).replace('pid /tmp/nginx.pid;', 'pid /tmp/elsewhere.pid;');
    expect(conf).toContain('pid /tmp/elsewhere.pid;');
    await writeFile(join(stub, 'nginx.conf'), conf);
    await writeFile(join(stub, 'nginx'), '#!/bin/sh\nexec /usr/sbin/nginx -c /stub/nginx.conf "$@"\n', { mode: 0o755 });
    await chmod(stub, 0o755);
    const image = (await execa('docker', ['inspect', '--format', '{{.Config.Image}}', `${up.project}-repo`])).stdout.trim();
    const port = await freePort();
    const name = `aib-repo-key-${RUN_ID}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
    await execa('docker', ['run', '-d', '--name', name, '--label', `archive-in-a-box.run-id=${RUN_ID}`, '-p', `127.0.0.1:${port}:8080`,
      '-v', `${pub}:/srv/archive:ro`, '-v', `${stub}:/stub:ro`, '-e', 'PATH=/stub:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '-e', `ARCHIVE_TLS_CERT=${await readFile(certFile, 'utf8')}`, '-e', `ARCHIVE_TLS_KEY=${await readFile(keyFile, 'utf8')}`, image]);
    try {
      const get = (path: string) => execa('curl', ['-ksS', '-o', '-', '-w', '\n%{http_code}', `https://127.0.0.1:${port}${path}`], { reject: false });
      await until('nginx to answer over HTTPS', async () => (await get('/dists/')).stdout.endsWith('200'), 20_000);
      const listing = await get('/dists/');
      expect(listing.stdout).toContain('listen.conf');
      expect(listing.stdout).not.toMatch(/PRIVATE KEY|ssl_certificate/);
      for (const path of ['/dists/tls/', '/dists/tls/key.pem', '/dists/listen.conf']) {
        const res = await get(path);
        expect(res.stdout).not.toMatch(/PRIVATE KEY|ssl_certificate/);
        expect(res.stdout.split('\n').at(-1), `${path}: ${res.stdout.slice(0, 300)}`).toMatch(/^40[34]$/);
      }
      // The key is there all the while (root sees it), in a folder of /tmp/tls no one else can list.
      expect((await execa('docker', ['exec', '-u', '0', name, 'sh', '-c', 'cat /tmp/tls/*/key.pem'])).stdout).toContain('PRIVATE KEY');
      expect((await execa('docker', ['exec', name, 'ls', '/tmp/tls'], { reject: false })).stderr).toContain('Permission denied');
    } finally {
      await execa('docker', ['rm', '-f', name], { reject: false });
    }
  });

  it('builds nothing while no worker can, and says what the job waits for', async () => {
    const ps = await execa('docker', ['ps', '--format', '{{.Names}}', '--filter', `label=com.docker.compose.project=${up.project}`]);
    expect(ps.stdout.split('\n').sort()).toEqual([`${up.project}-queue`, `${up.project}-repo`]);
    await archive.send(up, { name: 'aib-far', version: '1.0-1' });
    const waiting = await until('the job to wait for a worker', async () => {
      const j = await job('aib-far');
      return j?.state === 'needs-build' && j.waitingFor ? j : undefined;
    }, 120_000);
    expect(waiting.waitingFor).toBe('waiting for a worker that can build amd64 (no worker has asked for work lately)');
    expect(String((await archive.cli(['status'])).stdout)).toContain('needs-build — waiting for a worker that can build amd64');
  });

  it('builds it on a worker enrolled with a token of its own, given only the URL, and says which worker built it', async () => {
    const added = await archive.cli(['workers', 'add', 'far-box', '--arch', 'amd64', '--json']);
    expect(added.exitCode, String(added.all)).toBe(0);
    const { token } = (JSON.parse(String(added.stdout)) as { worker: { token: string } }).worker;
    expect(token).toMatch(/^aibw1\.far-box\.[0-9a-f]{64}$/);
    // The key is the queue's alone: 0600, and the archive's own token is not the worker's.
    const stored = await execa('stat', ['-c', '%a', join(archive.root, 'state', 'workers', 'far-box.json')]);
    expect(stored.stdout.trim()).toBe('600');
    expect(token).not.toContain((await readFile(join(archive.root, 'state', 'api-token'), 'utf8')).trim());

    // Another machine: no root, a working directory of its own, the token in the environment.
    const elsewhere = await mkdtemp(join(archive.work, 'elsewhere-')); // (removed with the test's work folder)
    worker = execa('node', [CLI, 'worker', '--url', url], { cwd: elsewhere, env: { ARCHIVE_WORKER_TOKEN: token, NODE_EXTRA_CA_CERTS: certFile, ARCHIVE_RUN_ID: RUN_ID, ARCHIVE_ROOT: '/nonexistent', XDG_CACHE_HOME: join(elsewhere, 'cache') }, all: true, reject: false });
    worker.all!.on('data', (d: Buffer) => (workerOutput += d.toString()));
    const waited = await archive.cli(['wait', 'aib-far', '1.0-1', '--timeout', '900']);
    expect(waited.exitCode, `${waited.all}\n--- worker:\n${workerOutput}`).toBe(0);
    const built = (await job('aib-far'))!;
    expect(built.worker).toBe('far-box/1');
    // Its build-dependencies came from the archive over the same URL, as any apt client's.
    expect(await readFile(join(archive.root, 'public', built.log!), 'utf8')).toMatch(new RegExp(`^Get:\\d+ ${url.replace(/\/$/, '').replaceAll('.', '\\.')} unstable InRelease`, 'm'));
    // The page follows once changes pause for half a second (the queue's statusChanged): looked at until then.
    await until('the status page naming the worker', async () => (await readFile(join(archive.root, 'public', 'index.html'), 'utf8')).includes('on far-box/1'), 30_000);
    const listed = JSON.parse(String((await archive.cli(['workers', 'ls', '--json'])).stdout)) as { name: string; enrolled: boolean; architectures: string[]; done: number }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'far-box', enrolled: true, architectures: ['amd64'], kinds: ['build', 'lintian', 'blhc', 'piuparts', 'autopkgtest', 'installability', 'rebuild'], done: 1, current: [] })]);
  });

  it('refuses the worker once removed, and the job it held goes back to the queue at once', async () => {
    await archive.send(up, { name: 'aib-far-slow', version: '1.0-1', buildScript: 'echo SLOW-BUILD-STARTED && sleep 40' });
    await until('the slow build to run on the worker', async () => {
      const j = await job('aib-far-slow');
      return j?.state === 'building' && j.worker === 'far-box/1' ? j : undefined;
    }, 600_000, 500, 1000);
    const removed = await archive.cli(['workers', 'rm', 'far-box']);
    expect(removed.exitCode, String(removed.all)).toBe(0);
    expect(removed.stdout).toContain('worker far-box removed: its token is refused from now on; 1 job(s) it held went back to the queue');
    const back = (await job('aib-far-slow'))!;
    expect(back.state).toBe('given-back');
    expect(back.reason).toBe('worker far-box was removed');
    // Its next request (a heartbeat, at most a few seconds later) is refused for its key.
    await until('the worker to be refused', async () => workerOutput.includes('no worker far-box: it was removed') || undefined, 60_000);
    expect((await job('aib-far-slow'))!.state).toBe('given-back');
    expect(JSON.parse(String((await archive.cli(['workers', 'ls', '--json'])).stdout))).toEqual([]);
  });

  it('runs as a container of the tool image, from the docker run line workers add prints', async () => {
    const added = await archive.cli(['workers', 'add', 'boxed']);
    expect(added.exitCode, String(added.all)).toBe(0);
    const line = String(added.stdout).split('\n').map((l) => l.trim()).find((l) => l.includes(' docker run '));
    expect(line).toMatch(new RegExp(`^ARCHIVE_WORKER_TOKEN=aibw1\\.boxed\\.[0-9a-f]{64} docker run -d --name archive-worker-boxed --restart unless-stopped --stop-timeout 30 -v /var/run/docker\\.sock:/var/run/docker\\.sock -v /var/lib/archive-jobs -e ARCHIVE_WORK_DIR=/var/lib/archive-jobs -e ARCHIVE_WORKER_TOKEN archive/tool:latest node /opt/archive-in-a-box/dist/cli/main\\.js worker --url ${url.replaceAll('.', '\\.')}$`));
    // As printed, with what this test adds before the image: its run label, a name of its own, the self-signed certificate as CA.
    const [assignment, , ...rest] = line!.split(' ');
    const args = rest.map((a) => (a === 'archive-worker-boxed' ? `archive-worker-boxed-${RUN_ID}` : a));
    args.splice(args.indexOf('archive/tool:latest'), 0, '--label', `archive-in-a-box.run-id=${RUN_ID}`, '-v', `${certFile}:/etc/archive-ca.pem:ro`, '-e', 'NODE_EXTRA_CA_CERTS=/etc/archive-ca.pem');
    const started = await execa('docker', args, { reject: false, env: { ARCHIVE_WORKER_TOKEN: assignment.slice('ARCHIVE_WORKER_TOKEN='.length) } });
    expect(started.exitCode, started.stderr).toBe(0);
    try {
      await archive.send(up, { name: 'aib-boxed', version: '1.0-1' });
      const waited = await archive.cli(['wait', 'aib-boxed', '1.0-1', '--timeout', '900']);
      const logs = await execa('docker', ['logs', `archive-worker-boxed-${RUN_ID}`], { reject: false, all: true });
      expect(waited.exitCode, `${waited.all}\n--- worker container:\n${logs.all}`).toBe(0);
      expect((await job('aib-boxed'))!.worker).toBe('boxed/1');
      // Its jobs' files on the volume of its own the line gives it, not in the container's /tmp.
      expect(logs.all).toContain('; their files in /var/lib/archive-jobs');
    } finally {
      await execa('docker', ['rm', '-f', '-v', `archive-worker-boxed-${RUN_ID}`], { reject: false });
    }
  });
});
