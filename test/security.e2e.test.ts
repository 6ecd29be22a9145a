// Security against a running archive, started by root as CI starts it: two hostile builds at
// once that try to reach each other, the host, the Docker socket, the job API and the network
// and record what they got; links planted in public/; the job API without the token and with
// it, claiming jobs it does not hold and handing in artifacts of other packages; and the users,
// capabilities and root file systems the services run with.
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, TestArchive, cleanupRun, inCleanContainer, rawGet, until, type JobView, type UpResult } from './support/archive.js';
import { makeBinaryPackage } from './support/packages.js';
import { SERVICE_UID } from '../src/storage/ownership.js';
import { builderKey, sha256Hex, signRequest } from '../src/core/request-signature.js';

describe('a running archive under attack', () => {
  let archive: TestArchive;
  let up: UpResult;
  let token: string;
  const canary = `host canary ${Date.now().toString(36)}`;
  let canaryPath: string;

  const buildLog = async (job: JobView) => readFile(join(archive.root, 'public', job.log!), 'utf8').catch(() => '');
  const container = (service: string) => `${up.project}-${service}`;
  const ipOf = async (service: string) =>
    (await execa('docker', ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container(service)])).stdout.trim();
  const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
  const poolFiles = async () => {
    const pool = join(archive.root, 'public', 'pool');
    const files = (await readdir(pool, { recursive: true })).filter((f) => /\.(deb|dsc|changes|buildinfo|gz|xz)$/.test(f)).sort();
    return Object.fromEntries(await Promise.all(files.map(async (f) => [f, await sha256(join(pool, f))])));
  };

  beforeAll(async () => {
    archive = await TestArchive.create();
    // Two builds at once, so that the hostile ones run side by side.
    const init = await archive.cli(['init']);
    expect(init.exitCode, String(init.all)).toBe(0);
    const config = join(archive.root, 'archive.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace('concurrency: 1', 'concurrency: 2'));
    up = await archive.up();
    token = (await readFile(join(archive.root, 'state', 'api-token'), 'utf8')).trim();
    canaryPath = join(archive.work, 'host-canary');
    await writeFile(canaryPath, `${canary}\n`);
  });

  afterAll(async () => {
    await archive?.destroy();
    await cleanupRun();
  });

  it('runs the queue and the repo as non-root users without capabilities on read-only roots, also when root starts them', async () => {
    const caller = process.getuid!();
    const root = await stat(archive.root);
    // Started by root (CI), the queue gets an unprivileged user of its own, who owns the root.
    if (caller === 0) expect(root.uid).toBe(SERVICE_UID);
    else expect(root.uid).toBe(caller);
    const secretKey = await stat(join(archive.root, 'state', 'archive-key.sec'));
    expect([secretKey.uid, secretKey.mode & 0o777]).toEqual([root.uid, 0o600]);
    for (const service of ['queue', 'repo', 'builder']) {
      const inspect = await execa('docker', ['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.CapDrop}} {{json .HostConfig.SecurityOpt}} {{.HostConfig.Privileged}}', container(service)]);
      expect(inspect.stdout.trim(), service).toBe('true ["ALL"] ["no-new-privileges:true"] false');
      // Bounded, so that a runaway queue or builder cannot take the host's memory or pids.
      if (service !== 'repo') {
        const [memory, pids] = (await execa('docker', ['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}', container(service)])).stdout.trim().split(' ').map(Number);
        expect(memory, `${service} memory limit`).toBeGreaterThan(0);
        expect(memory, `${service} memory limit`).toBeLessThanOrEqual(4 * 1024 ** 3);
        expect(pids, `${service} pids limit`).toBeGreaterThan(0);
        expect(pids, `${service} pids limit`).toBeLessThanOrEqual(1024);
      }
      const pids = (await execa('docker', ['top', container(service), '-eo', 'pid'])).stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
      expect(pids.length, service).toBeGreaterThan(0);
      for (const pid of pids) {
        const proc = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        if (!proc) continue; // a healthcheck that ended meanwhile
        const field = (name: string) => proc.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))![1].split(/\s+/);
        const what = `${service} pid ${pid} (${field('Name')[0]})`;
        expect(field('CapEff')[0], what).toBe('0000000000000000');
        expect(field('CapPrm')[0], what).toBe('0000000000000000');
        expect(field('NoNewPrivs')[0], what).toBe('1');
        // The builder alone is root inside, for the Docker socket; with no capability at all.
        if (service === 'builder') continue;
        expect(new Set([...field('Uid'), ...field('Gid')]).has('0'), `${what}: Uid ${field('Uid')} Gid ${field('Gid')}`).toBe(false);
        if (service === 'queue') expect(field('Uid')[0], what).toBe(String(root.uid));
      }
    }
  });

  it('keeps the queue, which holds the signing key, and the builder from the outside: their network is internal, nothing of theirs is routed out; the repository is, through deps', async () => {
    // "The outside": a network namespace of this test's, behind a veth pair, that the host routes
    // to as it would to any other network; a listener in it answers whoever reaches it.
    const id = randomBytes(3).toString('hex');
    const [ns, hostEnd, nsEnd, subnet] = [`aib-${id}`, `aib${id}h`, `aib${id}n`, `10.${200 + (parseInt(id, 16) % 50)}.${parseInt(id.slice(0, 2), 16)}`];
    const ip = (args: string[]) => execa('ip', args);
    await ip(['netns', 'add', ns]);
    let listener: ReturnType<typeof execa> | undefined;
    try {
      await ip(['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd]);
      await ip(['link', 'set', nsEnd, 'netns', ns]);
      await ip(['addr', 'add', `${subnet}.1/30`, 'dev', hostEnd]);
      await ip(['link', 'set', hostEnd, 'up']);
      for (const args of [['addr', 'add', `${subnet}.2/30`, 'dev', nsEnd], ['link', 'set', nsEnd, 'up'], ['link', 'set', 'lo', 'up'], ['route', 'add', 'default', 'via', `${subnet}.1`]]) {
        await ip(['netns', 'exec', ns, 'ip', ...args]);
      }
      listener = execa('ip', ['netns', 'exec', ns, process.execPath, '-e', `require('net').createServer((s) => s.end('OUTSIDE-REACHED\\n')).listen(8000, '${subnet}.2', () => console.log('listening'))`], { reject: false });
      await new Promise<void>((resolve, reject) => {
        listener!.stdout!.once('data', () => resolve());
        void listener!.then((r) => reject(new Error(`the listener ended: ${r.stderr}`)));
      });
      const reach = async (service: string) =>
        (await execa('docker', ['exec', container(service), 'bash', '-c', `timeout 5 bash -c 'exec 3<>/dev/tcp/${subnet}.2/8000 && head -n1 <&3' 2>/dev/null || echo unreachable`], { reject: false })).stdout.trim();
      // The control: a container on a network that is not internal is routed there.
      expect(await reach('repo')).toBe('OUTSIDE-REACHED');
      expect(await reach('queue')).toBe('unreachable');
      expect(await reach('builder')).toBe('unreachable');
      expect((await execa('docker', ['network', 'inspect', '--format', '{{.Internal}}', `${up.project}_archive`])).stdout.trim()).toBe('true');
    } finally {
      listener?.kill('SIGKILL');
      await execa('ip', ['link', 'del', hostEnd], { reject: false });
      await execa('ip', ['netns', 'del', ns], { reject: false });
    }
  });

  it('keeps two hostile builds running at once from each other, the host, the Docker socket, the job API and the network', async () => {
    const [queueIp, repoIp] = [await ipOf('queue'), await ipOf('repo')];
    const gateway = (await execa('docker', ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', `${up.project}_archive`])).stdout.trim();
    expect(queueIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const hostile = (me: string, other: string) => `#!/bin/bash
# Tries what a hostile build would and records what it got; never fails the build.
rec() { echo "HOSTILE $1=$2" | tee -a hostile-record; }
: > hostile-record
echo "secret of ${me}" > /build/aib-secret-${me}
echo "HOSTILE-READY ${me}"
# Long enough for the other build to be running and to have written its secret.
sleep 20
rec uid "$(id -u)"
# The process that ran dpkg-source -x (the build container's first) and what it unpacked.
rec unpacked-by "pid1-uid=$(awk '/^Uid:/ {print $2}' /proc/1/status) ran-dpkg-source-x=$(tr '\\0' ' ' </proc/1/cmdline | grep -c 'dpkg-source -x') tree-owner=$(stat -c %u /build/src/debian/control)"
rec secrets-found "$(find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -name 'aib-secret-*' -print 2>/dev/null | sort | tr '\\n' ' ')"
for path in /build/aib-secret-${other} /proc/1/root/build/aib-secret-${other} ${canaryPath} /proc/1/root${canaryPath} /archive/state/api-token ${archive.root}/state/api-token /proc/1/root${archive.root}/state/api-token /srv/archive/pool /var/lib/docker/volumes; do
  if cat "$path" >/dev/null 2>&1 || ls "$path" >/dev/null 2>&1; then rec "read:$path" got; else rec "read:$path" failed; fi
done
rec proc-roots-with-canary "$(ls /proc/*/root${canaryPath} 2>/dev/null | wc -l)"
for path in ${archive.root}/incoming/aib-evil.changes /proc/1/root${archive.root}/incoming/aib-evil.changes /build/../aib-evil; do
  if echo evil > "$path" 2>/dev/null; then rec "write:$path" done; else rec "write:$path" failed; fi
done
rec environ-with-token "$(grep -l ARCHIVE_API_TOKEN /proc/[0-9]*/environ 2>/dev/null | wc -l)"
rec processes "$(cat /proc/[0-9]*/comm 2>/dev/null | sort -u | tr '\\n' ' ')"
for sock in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock; do
  if [ -e "$sock" ]; then rec "socket:$sock" present; else rec "socket:$sock" absent; fi
done
rec interfaces "$(ls /sys/class/net | tr '\\n' ' ')"
if getent hosts queue >/dev/null 2>&1; then rec dns found; else rec dns failed; fi
for target in queue/8000 ${queueIp}/8000 ${repoIp}/8080 ${gateway}/${archive.port} ${gateway}/2375; do
  for auth in none guessed; do
    req="POST /api/v1/lease HTTP/1.0\\r\\n"
    [ $auth = guessed ] && req="$req""Authorization: Bearer 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\\r\\n"
    req="$req""Content-Length: 2\\r\\n\\r\\n{}"
    answer=$(REQ="$req" timeout 5 bash -c 'exec 3<>/dev/tcp/'"$target"' && printf "%b" "$REQ" >&3 && head -n1 <&3' 2>/dev/null | tr -d '\\r')
    rec "connect:$target:$auth" "\${answer:-unreachable}"
  done
done
echo "HOSTILE-DONE ${me}"
exit 0
`;
    const names = ['aib-hostile-a', 'aib-hostile-b'];
    for (const [me, other] of [names, [...names].reverse()]) {
      await archive.send(up, { name: me, version: '1.0-1', buildScript: 'bash debian/hostile.sh', debianFiles: { 'hostile.sh': hostile(me, other), [`${me}.docs`]: 'hostile-record\n' } });
    }
    // Both at once: each is ready (its secret written) before either starts trying.
    await until('both hostile builds running at once', async () => {
      const jobs = await Promise.all(names.map(async (n) => (await archive.upload(n, '1.0-1'))?.jobs[0]));
      if (!jobs.every((j) => j?.state === 'building' && j.log)) return undefined;
      const logs = await Promise.all(jobs.map((j) => buildLog(j!)));
      if (!logs.every((l, i) => l.includes(`HOSTILE-READY ${names[i]}`))) return undefined;
      expect(logs.some((l) => l.includes('HOSTILE-DONE'))).toBe(false);
      return true;
    }, 900_000, 500, 1000);
    for (const name of names) {
      const waited = await archive.cli(['wait', name, '1.0-1', '--timeout', '900']);
      expect(waited.exitCode, String(waited.all)).toBe(0);
    }
    for (const me of names) {
      const text = await buildLog((await archive.upload(me, '1.0-1'))!.jobs[0]);
      expect(text).not.toContain(canary);
      expect(text).not.toContain(token);
      const got = Object.fromEntries(text.split('\n').filter((l) => l.startsWith('HOSTILE ')).map((l) => {
        const [key, ...value] = l.slice('HOSTILE '.length).split('=');
        return [key, value.join('=')];
      }));
      const attempts = (prefix: string) => Object.entries(got).filter(([k]) => k.startsWith(prefix));
      expect(got.uid).toBe('2000');
      expect(got['unpacked-by']).toBe('pid1-uid=2000 ran-dpkg-source-x=1 tree-owner=2000');
      expect(got['secrets-found']).toBe(`/build/aib-secret-${me} `);
      expect(attempts('read:').length).toBe(9);
      for (const [what, result] of attempts('read:')) expect(result, `${me} ${what}`).toBe('failed');
      expect(got['proc-roots-with-canary']).toBe('0');
      expect(attempts('write:').length).toBe(3);
      for (const [what, result] of attempts('write:')) expect(result, `${me} ${what}`).toBe('failed');
      expect(got['environ-with-token']).toBe('0');
      // Only its own build's processes: no daemon of the host, the archive or the engine.
      expect(got.processes).not.toMatch(/\b(node|nginx|dockerd|containerd|systemd|init)\b/);
      expect(got.processes).toMatch(/\bbash\b/);
      for (const [what, result] of attempts('socket:')) expect(result, `${me} ${what}`).toBe('absent');
      expect(got.interfaces).toBe('lo ');
      expect(got.dns).toBe('failed');
      expect(attempts('connect:').length).toBe(10);
      for (const [what, result] of attempts('connect:')) expect(result, `${me} ${what}`).toBe('unreachable');
    }
    expect(await readdir(up.incoming)).not.toContain('aib-evil.changes');

    // The record also ships inside the .deb, as the build wrote it.
    const deb = join(archive.root, 'public', 'pool', 'main', 'a', 'aib-hostile-a', 'aib-hostile-a_1.0-1_amd64.deb');
    const shipped = await execa('bash', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/aib-hostile-a/hostile-record`, 'sh', deb]);
    expect(shipped.stdout).toContain('HOSTILE uid=2000');
    expect(shipped.stdout).toContain(`HOSTILE secrets-found=/build/aib-secret-aib-hostile-a \n`);
    expect(shipped.stdout).toMatch(/HOSTILE connect:queue\/8000:guessed=unreachable/);
    // apt takes it from the repository, dists/ served through its link.
    // Only this archive's lists are fetched: the image's Debian lists are current enough.
    const client = await inCleanContainer(up, up.aptSourceHttp, 'apt-get update -q -o Dir::Etc::SourceList=/dev/null -o APT::Get::List-Cleanup=false >/dev/null && apt-get install -y -q aib-hostile-b >/dev/null && grep -c "=failed" /usr/share/doc/aib-hostile-b/hostile-record');
    expect(client.exitCode, String(client.all)).toBe(0);
    expect(String(client.stdout).trim()).toBe('13');
  });

  it('unpacks untrusted sources only in build containers, as their unprivileged user', async () => {
    // The dpkg-source -x of the program are in the build container's script (the hostile
    // builds above showed it ran as uid 2000 there) and in the rebuild's, the same container
    // varied (as uid 2001); the others pack a tree the user gave.
    const uses = (await execa('grep', ['-rn', 'dpkg-source', 'src', '--include=*.ts'], { cwd: REPO })).stdout.split('\n');
    const code = uses.filter((l) => !/^[^:]+:\d+:\s*(\/\/|\*)/.test(l) && !/\.test\.ts:/.test(l)); // not comments or tests
    const unpacking = code.filter((l) => /-x\b|--extract/.test(l)).sort();
    expect(unpacking).toEqual([
      expect.stringMatching(/^src\/core\/kinds\/build\.ts:\d+:dpkg-source -x \$\{shellQuote\(dsc\)\} src$/),
      expect.stringMatching(/^src\/core\/kinds\/rebuild\.ts:\d+:dpkg-source -x \$\{shellQuote\(dsc\)\} \$\{REBUILD_SRC\}$/),
    ]);
    const build = await readFile(join(REPO, 'src', 'core', 'kinds', 'build.ts'), 'utf8');
    expect(build).toMatch(/cmd: \['bash', '-c', BUILD_SCRIPT\(dsc, buildArg\)\],\n\s+user: 'builder',/);
    const rebuild = await readFile(join(REPO, 'src', 'core', 'kinds', 'rebuild.ts'), 'utf8');
    expect(rebuild).toMatch(/cmd: \['bash', '-c', rebuildScript\(dsc, buildArg\)\],\n\s+user: `\$\{REBUILD_UID\}:\$\{REBUILD_UID\}`,/);
    expect(rebuild).toMatch(/^export const REBUILD_UID = 2001;$/m);
  });

  it('serves nothing a link planted in public/ points to, and dists/ still', async () => {
    const pub = join(archive.root, 'public');
    const planted = [
      ['leak-passwd', '/etc/passwd'],
      ['leak-state', '../state/api-token'],
      ['leak-root', '/'],
      ['pool/main/leak-conf', '/etc/nginx/nginx.conf'],
      ['logs/leak-environ', '/proc/self/environ'],
      ['dists/unstable/leak-passwd', '/etc/passwd'],
      ['dists/unstable/leak-release', 'Release'],
    ];
    // As the host's root would make them: root-owned links, most to root-owned files.
    for (const [path, target] of planted) await symlink(target, join(pub, path));
    try {
      const get = (path: string) => rawGet(archive.port, path);
      for (const [path] of planted) {
        for (const url of [`/${path}`, `/${path}/`, `/${path.replace(/\//g, '%2F')}`]) {
          const res = await get(url);
          expect([403, 404], `${url} gave ${res.status}: ${res.body.slice(0, 200)}`).toContain(res.status);
          expect(res.body).not.toMatch(/root:x:0:0|worker_processes|PATH=|api-token|Release/);
        }
      }
      // The real tree is still served, through the dists link the queue made.
      expect((await get('/dists/unstable/InRelease')).status).toBe(200);
      expect((await get('/dists/unstable/main/binary-amd64/Packages')).body).toMatch(/^Package: aib-hostile-a$/m);
      const listing = await get('/dists/');
      expect(listing.status).toBe(200);
      expect(listing.body).toContain('unstable/');
      expect((await get('/dists')).status).toBe(301);
      expect((await get('/pool/main/a/aib-hostile-a/aib-hostile-a_1.0-1_amd64.deb')).status).toBe(200);
    } finally {
      for (const [path] of planted) await rm(join(pub, path), { force: true });
    }
  });

  it('closes a connection whose request header does not come whole within 15 s (a slowloris client holds no connection for long)', async () => {
    const started = Date.now();
    const closed = await new Promise<number>((resolve, reject) => {
      const socket = connect(archive.port, '127.0.0.1', () => socket.write('GET /dists/ HTTP/1.1\r\nHost: x\r\n'));
      // A header line every 5 s, never the empty line that ends the header.
      const dribble = setInterval(() => socket.write(`X-Dribble: ${Date.now()}\r\n`), 5000);
      socket.on('data', () => undefined);
      socket.on('close', () => (clearInterval(dribble), resolve(Date.now() - started)));
      socket.on('error', (err) => (clearInterval(dribble), reject(err)));
      setTimeout(() => (clearInterval(dribble), socket.destroy(), reject(new Error('still open after 40 s'))), 40_000);
    });
    expect(closed).toBeGreaterThan(10_000);
    expect(closed).toBeLessThan(25_000);
  }, 60_000);

  it("closes a connection whose request body stops coming for 30 s, before the queue's own 60 s (a worker's request, signed, dribbled through nginx)", async () => {
    // A lease, whose JSON the queue reads whole before it acts: it waits for the body nginx passes
    // on as it comes. (A log it no longer reads before it finds the job the worker's.)
    const path = '/api/v1/lease';
    const body = JSON.stringify({ builder: 'b1/1', waitSeconds: 0, padding: 'x'.repeat(1000) });
    const auth = signRequest(builderKey(token, 'b1'), 'b1', { method: 'POST', path, bodySha256: sha256Hex(body) });
    const started = Date.now();
    const closed = await new Promise<number>((resolve, reject) => {
      const socket = connect(archive.port, '127.0.0.1', () =>
        socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`),
      );
      socket.on('data', () => undefined);
      socket.on('close', () => resolve(Date.now() - started));
      socket.on('error', reject);
      setTimeout(() => (socket.destroy(), reject(new Error('still open after 75 s'))), 75_000);
    });
    expect(closed).toBeGreaterThan(25_000);
    expect(closed).toBeLessThan(45_000);
  }, 90_000);

  it('refuses job API requests not signed with a key from the token, jobs a builder does not hold, names it cannot act as, and artifacts of other packages', async () => {
    const api = `http://${await ipOf('queue')}:8000`;
    expect((await fetch(`${api}/health`)).status).toBe(200);
    const pool = join(archive.root, 'public', 'pool', 'main', 'a');
    const before = await poolFiles();
    // The builder stopped, this test alone leases (docker stop: its restart policy leaves it stopped).
    await execa('docker', ['stop', container('builder')]);
    await archive.send(up, { name: 'aib-hostile-a', version: '1.1-1' });
    const job = await until('the 1.1-1 job', async () => (await archive.upload('aib-hostile-a', '1.1-1'))?.jobs[0], 120_000);
    expect(job.state).toBe('needs-build');
    // Signed as builder `as` with a key derived from `secret` (core/request-signature.ts); a
    // secret given as `Bearer ...` goes on the wire bare, as the token itself once did.
    const call = (method: string, path: string, body?: string | Buffer, secret?: string, as = 'intruder') =>
      fetch(`${api}${path}`, {
        method,
        body: body === undefined || typeof body === 'string' ? body : new Uint8Array(body),
        headers: secret === undefined ? {} : {
          authorization: secret.startsWith('Bearer ') ? secret : signRequest(builderKey(secret, as), as, { method, path, bodySha256: sha256Hex(body ?? '') }),
        },
      });
    const endpoints: [string, string, string?][] = [
      ['POST', '/api/v1/lease', '{"builder":"intruder/1"}'],
      ['POST', '/api/v1/builders/intruder/start'],
      ['POST', `/api/v1/jobs/${job.id}/heartbeat`, '{"builder":"intruder/1"}'],
      ['GET', `/api/v1/jobs/${job.id}/files/${encodeURIComponent(`aib-hostile-a_1.1-1.dsc`)}`],
      ['POST', `/api/v1/jobs/${job.id}/log?builder=intruder%2F1`, 'forged log'],
      ['PUT', `/api/v1/jobs/${job.id}/artifacts/x.deb?builder=intruder%2F1`, 'forged'],
      ['POST', `/api/v1/jobs/${job.id}/complete`, '{"builder":"intruder/1","outcome":"failed","reason":"forged"}'],
    ];
    for (const auth of [undefined, `Bearer ${token}`, '', 'guessed', token.slice(0, -1), `${token}0`, token.toUpperCase()]) {
      for (const [method, path, body] of endpoints) {
        const res = await call(method, path, body, auth);
        expect(res.status, `${method} ${path} with token ${JSON.stringify(auth)}`).toBe(401);
      }
    }
    const untouched = (await archive.upload('aib-hostile-a', '1.1-1'))!.jobs[0];
    expect([untouched.state, untouched.attempts]).toEqual(['needs-build', 0]);

    // With the token, as a builder would: lease the job, then another builder name claims it,
    // first signing as itself (it holds no lease), then as the intruder claiming to be it.
    const lease = async () => {
      const res = await call('POST', '/api/v1/lease', '{"builder":"intruder/1","waitSeconds":20}', token);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { id: string }).id).toBe(job.id);
    };
    await lease();
    for (const [method, path, body] of [
      ['POST', `/api/v1/jobs/${job.id}/heartbeat`, '{"builder":"other/1"}'],
      ['POST', `/api/v1/jobs/${job.id}/log?builder=other%2F1`, 'forged log'],
      ['PUT', `/api/v1/jobs/${job.id}/artifacts/aib-hostile-a_1.1-1_amd64.deb?builder=other%2F1`, 'forged'],
      ['POST', `/api/v1/jobs/${job.id}/complete`, '{"builder":"other/1","outcome":"built"}'],
    ]) {
      expect((await call(method, path, body, token, 'other')).status, `${method} ${path}`).toBe(409);
      expect((await call(method, path, body, token)).status, `${method} ${path} signed by intruder`).toBe(403);
    }
    expect((await call('PUT', `/api/v1/jobs/${job.id}/artifacts/..%2F..%2Fpublic%2Fpool%2Fx.deb?builder=intruder%2F1`, 'x', token)).status).toBe(400);

    // Artifacts that belong to another package, version or architecture, or would replace a pool
    // file, each handed in as a finished build: the job fails, the pool keeps its files.
    const forged = join(archive.work, 'forged');
    await mkdir(forged, { recursive: true });
    const binary = async (spec: Parameters<typeof makeBinaryPackage>[1], name?: string) => {
      const deb = await makeBinaryPackage(forged, spec);
      if (!name) return deb;
      await execa('mv', [deb, join(forged, name)]);
      return join(forged, name);
    };
    const changesFor = async (source: string, version: string, files: string[]) => {
      const facts = await Promise.all(files.map(async (f) => ({ name: basename(f), size: (await stat(f)).size, md5: createHash('md5').update(await readFile(f)).digest('hex'), sha256: await sha256(f) })));
      const name = join(forged, `${source}_${version}_amd64.changes`);
      await writeFile(name, [
        'Format: 1.8', `Source: ${source}`, 'Binary: x', 'Architecture: amd64', `Version: ${version}`, 'Distribution: unstable',
        'Maintainer: Test Maintainer <test@example.org>', 'Description:\n x - forged', 'Changes:\n forged',
        'Checksums-Sha256:', ...facts.map((f) => ` ${f.sha256} ${f.size} ${f.name}`),
        'Files:', ...facts.map((f) => ` ${f.md5} ${f.size} misc optional ${f.name}`), '',
      ].join('\n'));
      return name;
    };
    const realB = join(pool, 'aib-hostile-b');
    const cases: [string, () => Promise<string[]>, RegExp][] = [
      ['the other package\'s own build', async () => (await readdir(realB)).filter((f) => /\.(deb|buildinfo|changes)$/.test(f)).map((f) => join(realB, f)),
        /aib-hostile-b_1\.0-1_amd64\.changes is for aib-hostile-b 1\.0-1, but the job builds aib-hostile-a 1\.1-1/],
      ['the other package\'s .deb under this job\'s .changes', async () => {
        const deb = join(realB, 'aib-hostile-b_1.0-1_amd64.deb');
        return [deb, await changesFor('aib-hostile-a', '1.1-1', [deb])];
      }, /aib-hostile-b_1\.0-1_amd64\.deb says it is built from aib-hostile-b, not aib-hostile-a/],
      ['an older version, under its pool name', async () => {
        const deb = await binary({ name: 'aib-hostile-a', version: '1.0-1' });
        return [deb, await changesFor('aib-hostile-a', '1.1-1', [deb])];
      }, /aib-hostile-a_1\.0-1_amd64\.deb says it is built from aib-hostile-a 1\.0-1, not 1\.1-1/],
      ['a binNMU-like .deb that would replace a pool file with other content', async () => {
        const deb = await binary({ name: 'aib-hostile-a', version: '1.0-1', source: 'aib-hostile-a (1.1-1)' });
        return [deb, await changesFor('aib-hostile-a', '1.1-1', [deb])];
      }, /aib-hostile-a_1\.0-1_amd64\.deb already exists with other content/],
      ['a .deb named as another package', async () => {
        const deb = await binary({ name: 'aib-hostile-a', version: '1.1-1' }, 'aib-hostile-b_1.1-1_amd64.deb');
        return [deb, await changesFor('aib-hostile-a', '1.1-1', [deb])];
      }, /aib-hostile-b_1\.1-1_amd64\.deb holds aib-hostile-a 1\.1-1 amd64, so it must be named aib-hostile-a_1\.1-1_amd64\.deb/],
      ['a .deb of another architecture', async () => {
        const deb = await binary({ name: 'aib-hostile-a', version: '1.1-1', arch: 'i386' });
        return [deb, await changesFor('aib-hostile-a', '1.1-1', [deb])];
      }, /aib-hostile-a_1\.1-1_i386\.deb is for i386, but the job builds amd64/],
    ];
    for (const [i, [what, files, refusal]] of cases.entries()) {
      if (i > 0) {
        const retried = await archive.cli(['retry', 'aib-hostile-a', '1.1-1']);
        expect(retried.exitCode, String(retried.all)).toBe(0);
        await lease();
      }
      for (const file of await files()) {
        const res = await call('PUT', `/api/v1/jobs/${job.id}/artifacts/${encodeURIComponent(basename(file))}?builder=intruder%2F1`, await readFile(file), token);
        expect(res.status, `${what}: ${basename(file)}`).toBe(200);
      }
      expect((await call('POST', `/api/v1/jobs/${job.id}/complete`, '{"builder":"intruder/1","outcome":"built"}', token)).status, what).toBe(200);
      const done = (await archive.upload('aib-hostile-a', '1.1-1'))!.jobs[0];
      expect(done.state, what).toBe('failed');
      expect(done.reason, what).toMatch(refusal);
    }
    // Every pool file as it was (the 1.1-1 source joined), nothing of 1.1-1 built, nothing published.
    const after = await poolFiles();
    expect(Object.keys(after).filter((f) => !(f in before)).sort()).toEqual([
      'main/a/aib-hostile-a/aib-hostile-a_1.1-1.debian.tar.xz',
      'main/a/aib-hostile-a/aib-hostile-a_1.1-1.dsc',
      'main/a/aib-hostile-a/aib-hostile-a_1.1.orig.tar.gz',
    ]);
    for (const [f, hash] of Object.entries(before)) expect(after[f], f).toBe(hash);
    const packages = await (await fetch(`${up.url}dists/unstable/main/binary-amd64/Packages`)).text();
    expect(packages).not.toMatch(/^Version: 1\.1-1$/m);
  });

  it('publishes only the binary packages a source declares, refuses a name another source publishes naming both, and still lets a local package overlay Debian\'s', async () => {
    // The job API test above stopped the builder.
    await execa('docker', ['start', container('builder')]);
    // debian/rules adds a package to debian/control while building: the .dsc never declared it.
    const stowaway = '#!/bin/bash\nprintf "\\nPackage: aib-sneaky\\nArchitecture: any\\nDescription: a package the .dsc never declared\\n Added during the build.\\n" >> debian/control\n';
    await archive.send(up, { name: 'aib-stowaway', version: '1.0-1', buildScript: 'bash debian/stowaway.sh', debianFiles: { 'stowaway.sh': stowaway } });
    await archive.send(up, { name: 'aib-owner', version: '1.0-1' });
    // Debian has "hello": a newer local one is an overlay, what a local archive is for.
    await archive.send(up, { name: 'hello', version: '99.0-1', line: 'hello from the local overlay' });
    for (const [name, version] of [['aib-owner', '1.0-1'], ['hello', '99.0-1']]) {
      const waited = await archive.cli(['wait', name, version, '--timeout', '900']);
      expect(waited.exitCode, String(waited.all)).toBe(0);
    }
    // Another source declares aib-owner's binary package, as a newer version.
    await archive.send(up, { name: 'aib-thief', version: '2.0-1', header: { binary: 'aib-owner', name: 'thief.h', content: '/* taken over */\n' } });
    const finished = (source: string, version: string) =>
      until(`${source} ${version} built or failed`, async () => {
        const job = (await archive.upload(source, version))?.jobs[0];
        return job && ['built', 'failed'].includes(job.state) ? job : undefined;
      }, 900_000);
    const [sneaked, thief] = [await finished('aib-stowaway', '1.0-1'), await finished('aib-thief', '2.0-1')];
    const packages = await (await fetch(`${up.url}dists/unstable/main/binary-amd64/Packages`)).text();
    const published = packages.split('\n\n').filter((p) => /^Package: (aib-owner|aib-sneaky|aib-stowaway|hello)$/m.test(p))
      .map((p) => `${p.match(/^Package: (.*)$/m)![1]} ${p.match(/^Version: (.*)$/m)![1]} ${p.match(/^Source: (.*)$/m)?.[1] ?? '-'}`);
    // All at once, so that a failure shows every outcome.
    expect({ sneaked: [sneaked.state, sneaked.reason], thief: [thief.state, thief.reason], published: published.sort() }).toEqual({
      sneaked: ['failed', expect.stringMatching(/aib-sneaky_1\.0-1_amd64\.deb: binary package aib-sneaky is not in the Binary field of aib-stowaway's \.dsc \(aib-stowaway\)/)],
      thief: ['failed', expect.stringMatching(/aib-owner_2\.0-1_all\.deb: binary package aib-owner is already published in unstable by source aib-owner, so source aib-thief may not take it over; remove it first \(archive rm aib-owner --suite unstable\) or set suites\.unstable\.allow_binary_takeover: true/)],
      published: ['aib-owner 1.0-1 -', 'hello 99.0-1 -'],
    });
    // Every file is checked before any is pooled: the refused builds left none of theirs behind.
    for (const source of ['aib-stowaway', 'aib-thief']) {
      const pooled = await readdir(join(archive.root, 'public/pool/main/a', source)).catch(() => [] as string[]);
      expect(pooled.filter((n) => /\.(deb|buildinfo)$/.test(n) || n.endsWith('_amd64.changes')), source).toEqual([]);
    }
  });

  // Build-dependencies are packages this archive built from uploads; installing them runs their
  // maintainer scripts as root, in the dependency container.
  describe('a build-dependency whose maintainer script is hostile', () => {
    it('runs its postinst with only the capabilities apt and dpkg need, no-new-privileges, limits, and no network: neither the queue nor the repo', async () => {
      const queueIp = await ipOf('queue');
      expect(queueIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const postinst = `#!/bin/bash
# Records what a hostile maintainer script gets when it runs as a build-dependency; never fails.
rec() { echo "DEPS-HOSTILE $1=$2"; }
if [ "$1" = configure ]; then
  rec uid "$(id -u)"
  rec cap-eff "$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
  rec no-new-privs "$(awk '/^NoNewPrivs:/ {print $2}' /proc/self/status)"
  rec pids-max "$(cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null | head -n1)"
  rec memory-max "$(cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null | head -n1)"
  if getent hosts queue >/dev/null 2>&1; then rec queue-dns found; else rec queue-dns failed; fi
  for target in queue/8000 ${queueIp}/8000; do
    answer=$(timeout 5 bash -c 'exec 3<>/dev/tcp/'"$target"' && printf "GET /health HTTP/1.0\\r\\n\\r\\n" >&3 && head -n1 <&3' 2>/dev/null | tr -d '\\r')
    rec "connect:$target" "\${answer:-unreachable}"
  done
  answer=$(timeout 5 bash -c 'exec 3<>/dev/tcp/repo/8080 && printf "HEAD /archive-key.asc HTTP/1.0\\r\\n\\r\\n" >&3 && head -n1 <&3' 2>/dev/null | tr -d '\\r')
  rec "connect:repo/8080" "\${answer:-unreachable}"
fi
#DEBHELPER#
exit 0
`;
      // A name of its own: build-dependency images are cached by package names and versions, on the engine.
      const dep = `aib-hostile-dep-${Date.now().toString(36)}`;
      await archive.send(up, { name: dep, version: '1.0-1', debianFiles: { [`${dep}.postinst`]: postinst } });
      const built = await archive.cli(['wait', dep, '1.0-1', '--timeout', '900']);
      expect(built.exitCode, String(built.all)).toBe(0);
      await archive.send(up, { name: 'aib-needs-hostile-dep', version: '1.0-1', buildDepends: [dep] });
      const waited = await archive.cli(['wait', 'aib-needs-hostile-dep', '1.0-1', '--timeout', '900']);
      expect(waited.exitCode, String(waited.all)).toBe(0);
      const text = await buildLog((await archive.upload('aib-needs-hostile-dep', '1.0-1'))!.jobs[0]);
      const got = Object.fromEntries(text.split(/\r?\n/).filter((l) => l.startsWith('DEPS-HOSTILE ')).map((l) => {
        const [key, ...value] = l.slice('DEPS-HOSTILE '.length).split('=');
        return [key, value.join('=')];
      }));
      console.log(`hostile build-dependency: ${JSON.stringify(got)}`);
      expect(got.uid).toBe('0');
      // CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETGID, SETUID: none of NET_RAW (sniffing), MKNOD, ...
      expect(got['cap-eff']).toBe('00000000000000db');
      expect(got['no-new-privs']).toBe('1');
      expect(got['pids-max']).toMatch(/^\d+$/);
      expect(Number(got['memory-max'])).toBeLessThanOrEqual(4 * 1024 ** 3);
      expect(got['queue-dns']).toBe('failed');
      expect(got['connect:queue/8000']).toBe('unreachable');
      expect(got[`connect:${queueIp}/8000`]).toBe('unreachable');
      // Downloaded before, installed off the network (the repository served the packages to apt).
      expect(got['connect:repo/8080']).toBe('unreachable');
      expect(text).toMatch(/^archive-in-a-box: installing \d+ build-dependencies, with no network$/m);
      expect(text).not.toContain(token);
    });
  });
});
