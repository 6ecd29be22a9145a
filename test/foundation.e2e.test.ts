// The whole path with real parts: archive up (debootstrap'd images, three containers), a
// source package uploaded with Debian's dput, built in a throwaway container, published,
// signed, and installed with apt in a clean container.
import { copyFile, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestArchive, cleanupRun, inCleanContainer, rawGet, REPO, RUN_ID, until, type UpResult } from './support/archive.js';
import { dput, makeSourcePackage } from './support/packages.js';

describe('an archive brought up with archive up', () => {
  let archive: TestArchive;
  let up: UpResult;

  beforeAll(async () => {
    archive = await TestArchive.create();
    up = await archive.up();
  });

  afterAll(async () => {
    await archive?.destroy();
    await cleanupRun();
  });

  it('initialises the root with config, folders, signing key and a served public key', async () => {
    const names = await readdir(archive.root);
    expect(names).toEqual(expect.arrayContaining(['archive.yaml', 'incoming', 'public', 'state', 'logs']));
    expect(await readFile(join(archive.root, 'archive.yaml'), 'utf8')).toMatch(/unstable:[\s\S]*base: trixie[\s\S]*amd64/);
    expect(await readFile(join(archive.root, 'state', 'archive-key.sec'), 'utf8')).toContain('BEGIN PGP PRIVATE KEY BLOCK');
    expect(await readdir(join(archive.root, 'public'))).not.toContain('archive-key.sec');
    const res = await fetch(`${up.url}archive-key.asc`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('BEGIN PGP PUBLIC KEY BLOCK');
  });

  it('prints a local dput stanza and deb822 apt sources with Signed-By for http and file', () => {
    expect(up.dputConfig).toContain('method = local');
    expect(up.dputConfig).toContain(`incoming = ${archive.root}/incoming`);
    expect(up.aptSourceHttp).toContain(`URIs: http://127.0.0.1:${archive.port}/`);
    expect(up.aptSourceFile).toContain(`URIs: file:${archive.root}/public`);
    for (const s of [up.aptSourceHttp, up.aptSourceFile]) {
      expect(s).toMatch(/^Signed-By: \/etc\/apt\/keyrings\/\S+\.asc$/m);
      expect(s).not.toContain('trusted=yes');
    }
  });

  it('says, run again without --json, which fingerprint a key fetched over plain HTTP must have', async () => {
    const again = await archive.cli(['up', '--port', String(archive.port)]);
    expect(again.exitCode, String(again.all)).toBe(0);
    const shown = await execa('gpg', ['--show-keys', '--with-colons', up.publicKey], { env: { GNUPGHOME: await mkdtemp(join(archive.work, 'gnupg-')) } });
    const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(shown.stdout)?.[1];
    expect(fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(String(again.stdout)).toContain(`curl -fsSL ${up.url}archive-key.asc`);
    expect(String(again.stdout)).toContain(`over plain HTTP: check it is ${fingerprint} with gpg --show-keys`);
  });

  it('runs queue, builder and repo healthy, read-only, with restart policy unless-stopped', async () => {
    // archive up ran each healthcheck itself; an engine before 25 runs its first one 10 s (the interval) after the start.
    const status = await until('the engine to see every container healthy', async () => {
      const s = JSON.parse(String((await archive.cli(['status', '--json'])).stdout)) as { containers: { service: string; container: string; health?: string }[] };
      return s.containers.every((c) => c.health === 'healthy') && s;
    }, 30_000, 1000);
    const services = status.containers.map((c) => c.service).sort();
    expect(services).toEqual(['builder', 'queue', 'repo']);
    for (const c of status.containers) {
      expect(c.health).toBe('healthy');
      const { stdout } = await execa('docker', ['inspect', '--format', '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.ReadonlyRootfs}}', c.container]);
      expect(stdout.trim()).toBe('unless-stopped true');
    }
  });

  it('takes a dput upload to apt-get install and apt-get source in a clean container', async () => {
    const pkg = await makeSourcePackage(archive.work, { name: 'aib-hello', version: '1.0-1', line: 'hello from archive-in-a-box e2e' });
    await dput(up.dputConfig, 'archive', pkg.changesPath, archive.work);
    const waited = await archive.cli(['wait', 'aib-hello', '1.0-1', '--timeout', '900']);
    expect(waited.exitCode, String(waited.all)).toBe(0);

    const client = await inCleanContainer(
      up,
      up.aptSourceHttp,
      [
        'apt-get update -q',
        'apt-get install -y -q --no-install-recommends aib-hello dpkg-dev >/dev/null',
        'echo "PROGRAM SAYS: $(aib-hello)"',
        'apt-cache policy aib-hello',
        'cd /tmp && apt-get source -q aib-hello && ls -d aib-hello-1.0 && ls',
      ].join('\n'),
    );
    expect(client.exitCode, String(client.all)).toBe(0);
    expect(client.all).toContain('PROGRAM SAYS: hello from archive-in-a-box e2e');
    expect(client.all).toMatch(/http:\/\/127\.0\.0\.1:\d+ unstable\/main amd64 Packages/);
    expect(client.all).not.toMatch(/NO_PUBKEY|not signed|InRelease.*(insecure|unauthenticated)/i);
  });

  it('serves the published tree: pool, Packages/Sources in three compressions, signed Release', async () => {
    const dists = join(archive.root, 'public', 'dists', 'unstable');
    for (const f of ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz', 'main/source/Sources', 'main/source/Sources.gz', 'main/source/Sources.xz', 'Release', 'InRelease', 'Release.gpg']) {
      expect((await fetch(`${up.url}dists/unstable/${f}`)).status, f).toBe(200);
    }
    const packages = await readFile(join(dists, 'main/binary-amd64/Packages'), 'utf8');
    expect(packages).toMatch(/^Package: aib-hello$/m);
    expect(packages).toMatch(/^Filename: pool\/main\/a\/aib-hello\/aib-hello_1\.0-1_amd64\.deb$/m);
    const release = await readFile(join(dists, 'Release'), 'utf8');
    expect(release).toMatch(/^SHA256:$/m);
    expect(release).toMatch(/^ [0-9a-f]{64} +\d+ main\/binary-amd64\/Packages\.xz$/m);
    // gpgv against the exported key alone, as apt's Signed-By does.
    const keyring = join(archive.work, 'archive.gpg');
    await execa('gpg', ['--batch', '--yes', '--dearmor', '--output', keyring, join(archive.root, 'public', 'archive-key.asc')]);
    const verify = await execa('gpgv', ['--keyring', keyring, join(dists, 'InRelease')], { reject: false, all: true });
    expect(verify.exitCode, String(verify.all)).toBe(0);
    const detached = await execa('gpgv', ['--keyring', keyring, join(dists, 'Release.gpg'), join(dists, 'Release')], { reject: false, all: true });
    expect(detached.exitCode, String(detached.all)).toBe(0);
  });

  it('serves nothing outside public/, whatever the path says, and no hidden files', async () => {
    // Raw request paths: fetch() would normalise the dot segments away before sending them.
    const get = (path: string) => rawGet(archive.port, path);
    const secret = (await readFile(join(archive.root, 'state', 'api-token'), 'utf8')).trim();
    for (const path of [
      '/../state/api-token', '/../../state/api-token', '/%2e%2e/state/api-token', '/pool/..%2f..%2fstate/api-token',
      '/dists/../../state/archive-key.sec', '/..%5c..%5cstate/api-token', '/../archive.yaml', '/.%2e/archive.yaml',
    ]) {
      const res = await get(path);
      expect([400, 403, 404], `${path} gave ${res.status}`).toContain(res.status);
      expect(res.body).not.toContain(secret);
      expect(res.body).not.toContain('PRIVATE KEY');
    }
    await writeFile(join(archive.root, 'public', '.hidden'), 'not for clients\n');
    expect((await get('/.hidden')).status).toBe(404);
    // The key's public half is there; its secret half is not, under any name.
    expect((await get('/archive-key.asc')).status).toBe(200);
    expect(JSON.stringify(await readdir(join(archive.root, 'public'), { recursive: true }))).not.toMatch(/\.sec|api-token/);
  });

  it('rejects an upload whose file does not match its checksum, keeps its files and says why', async () => {
    const dir = await mkdtemp(join(archive.work, 'bad-'));
    const pkg = await makeSourcePackage(dir, { name: 'aib-broken', version: '1.0-1' });
    // A client that changed a file after the .changes was made (dput itself would refuse).
    const tarball = pkg.files.find((f) => f.endsWith('.debian.tar.xz'))!;
    for (const f of [...pkg.files, pkg.changes]) await copyFile(join(dir, f), join(up.incoming, f));
    const bytes = await readFile(join(dir, tarball));
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(join(up.incoming, tarball), bytes);

    const waited = await archive.cli(['wait', 'aib-broken', '1.0-1', '--timeout', '120']);
    expect(waited.exitCode).toBe(1);
    expect(waited.stderr).toMatch(new RegExp(`checksum mismatch for ${tarball.replace(/[.+]/g, '\\$&')}: sha256 expected [0-9a-f]{64} got [0-9a-f]{64}`));
    const status = JSON.parse(String((await archive.cli(['status', '--json'])).stdout));
    const rejected = status.rejected.find((u: { source: string }) => u.source === 'aib-broken');
    expect(rejected.state).toBe('rejected');
    const kept = await readdir(join(archive.root, rejected.rejectedDir));
    expect(kept).toEqual(expect.arrayContaining([...pkg.files, pkg.changes, `${pkg.changes}.reason`]));
    expect(await readdir(up.incoming)).toEqual([]);
  });

  it('serves a status page with the published package, its build and the rejection', async () => {
    // The page follows each change within a second.
    let page = '';
    for (let i = 0; i < 20 && !page.includes('aib-broken'); i++) {
      page = await (await fetch(up.url)).text();
      if (!page.includes('aib-broken')) await new Promise((r) => setTimeout(r, 500));
    }
    expect(page).toContain('<a href="packages/aib-hello.html">aib-hello</a></td><td>1.0-1</td>');
    expect(page).toMatch(/<td class="state published">published<\/td>/);
    expect(page).toMatch(/<a href="logs\/aib-hello_1\.0-1_amd64\.1\.log">log<\/a>/);
    expect(page).toContain('aib-broken_1.0-1_source.changes');
    expect(page).toMatch(/checksum mismatch for aib-broken_1\.0-1\.debian\.tar\.xz/);
    const perSource = await fetch(`${up.url}packages/aib-hello.html`);
    expect(perSource.status).toBe(200);
    expect(perSource.headers.get('content-type')).toMatch(/^text\/html/);
    const log = await fetch(`${up.url}logs/aib-hello_1.0-1_amd64.1.log`);
    expect(await log.text()).toContain('archive-in-a-box: build successful');
  });

  it('comes back as it was after archive down and archive up', async () => {
    // The builder's volume of its own (its jobs' folders) goes with it.
    const volumes = (await execa('docker', ['inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', `${up.project}-builder`])).stdout.split(' ').filter(Boolean);
    expect(volumes).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    const down = await archive.cli(['down']);
    expect(down.exitCode, String(down.all)).toBe(0);
    const none = await execa('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${up.project}`]);
    expect(none.stdout.trim()).toBe('');
    expect((await execa('docker', ['volume', 'inspect', volumes[0]], { reject: false })).exitCode).not.toBe(0);
    // The queue's network as an archive of before made it, not internal: up makes it again, internal.
    await execa('docker', ['network', 'create', '--label', `com.docker.compose.project=${up.project}`, `${up.project}_archive`]);
    const again = await archive.up();
    expect(again.project).toBe(up.project);
    expect((await execa('docker', ['network', 'inspect', '--format', '{{.Internal}}', `${up.project}_archive`])).stdout.trim()).toBe('true');
    const status = JSON.parse(String((await archive.cli(['status', '--json'])).stdout));
    expect(status.uploads.find((u: { source: string }) => u.source === 'aib-hello').state).toBe('published');
    const packages = await (await fetch(`${up.url}dists/unstable/main/binary-amd64/Packages`)).text();
    expect(packages).toMatch(/^Package: aib-hello$/m);
  });

  it('runs a second root beside the first, on another port', async () => {
    const other = await TestArchive.create();
    try {
      const second = await other.up();
      expect(second.project).not.toBe(up.project);
      expect((await fetch(`${second.url}archive-key.asc`)).status).toBe(200);
      expect((await fetch(`${up.url}archive-key.asc`)).status).toBe(200);
      expect(await readFile(second.publicKey, 'utf8')).not.toBe(await readFile(up.publicKey, 'utf8'));
    } finally {
      await other.destroy();
    }
  });

  it('stops with an error that says how to fix an unreachable Docker engine', async () => {
    const result = await archive.cli(['up'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('Docker engine');
    expect(result.stderr).toMatch(/apt-get install docker\.io/);
  });

  it('builds the tool image from the checkout with a plain docker build', async () => {
    const tag = `archive/tool:test-${RUN_ID}`;
    const build = await execa('docker', ['build', '-q', '--build-arg', 'BASE=archive/base:trixie', '-t', tag, '.'], { cwd: REPO, reject: false, all: true });
    expect(build.exitCode, String(build.all)).toBe(0);
    const version = await execa('docker', ['run', '--rm', tag, 'node', '/opt/archive-in-a-box/dist/cli/main.js', '--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    await execa('docker', ['rmi', tag], { reject: false });
  });
});
