import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ComposeError, creationOrder, createOptions, engineHealthcheck, interpolate, parseBytes, parseCompose, parseDuration, startOrder } from './compose-file.js';

import { FILE, VARS } from './fixtures/compose-vars.js';

describe('the compose file', () => {
  const project = parseCompose(readFileSync(FILE, 'utf8'), FILE, VARS);

  it('describes queue, builder and repo, the Swarm registry and the buildenv image behind profiles', () => {
    expect(project.name).toBe('archive-12345678');
    expect(project.services.map((s) => s.name)).toEqual(['queue', 'builder', 'repo', 'registry', 'buildenv']);
    expect(startOrder(project).map((s) => s.name)).toEqual(['queue', 'builder', 'repo']);
    expect(startOrder(project, ['swarm']).map((s) => s.name)).toEqual(['queue', 'builder', 'repo', 'registry']);
    // Created one after the other, none waiting for another's health: the builder asks the queue until it answers.
    expect(creationOrder(project).map((s) => s.name)).toEqual(['queue', 'builder', 'repo']);
    expect(project.services.find((s) => s.name === 'builder')!.dependsOn).toEqual([{ service: 'queue', condition: 'service_started' }]);
  });

  it('gives only the builder the Docker socket', () => {
    for (const s of project.services) {
      const hasSocket = s.volumes.some((v) => v.source === '/var/run/docker.sock');
      expect(hasSocket, s.name).toBe(s.name === 'builder');
    }
  });

  it('runs every service read-only, under the engine init process, without capabilities, restarted unless stopped, with a healthcheck', () => {
    for (const s of startOrder(project, ['swarm'])) {
      expect(s.readOnly, s.name).toBe(true);
      // `docker compose` alone reads it too: the queue's stopped dpkg-debs are reaped either way.
      expect(s.init, s.name).toBe(true);
      expect((createOptions(project, s) as Record<string, any>).HostConfig.Init, s.name).toBe(true);
      expect(s.capDrop, s.name).toEqual(['ALL']);
      expect(s.restart, s.name).toBe('unless-stopped');
      // Every 10 s (each check is an exec through the engine), every second while starting.
      expect(engineHealthcheck(s), s.name).toMatchObject({ Interval: 10e9, Retries: 3, StartPeriod: 60e9, StartInterval: 1e9 });
    }
  });

  it('publishes the repository on 127.0.0.1 only, mounting public/ alone, read-only; HTTPS from the text of the files, never a mount of them', () => {
    const repo = project.services.find((s) => s.name === 'repo')!;
    expect(repo.ports).toEqual([{ hostIp: '127.0.0.1', hostPort: '8081', containerPort: '8080' }]);
    expect(repo.volumes).toEqual([{ source: '/srv/a/public', target: '/srv/archive', readOnly: true }]);
    expect(repo.user).toBe('www-data:www-data');
    expect(repo.environment).toEqual({ ARCHIVE_TLS_CERT: '', ARCHIVE_TLS_KEY: '' });
    const tls = parseCompose(readFileSync(FILE, 'utf8'), FILE, { ...VARS, ARCHIVE_TLS_CERT_PEM: 'CERT', ARCHIVE_TLS_KEY_PEM: 'KEY' });
    expect(tls.services.find((s) => s.name === 'repo')!.environment).toEqual({ ARCHIVE_TLS_CERT: 'CERT', ARCHIVE_TLS_KEY: 'KEY' });
    // Build-dependency containers and workers beside it use the plain port, never published.
    expect(project.services.find((s) => s.name === 'builder')!.environment.ARCHIVE_REPO_URL).toBe('http://repo:8081/');
  });

  it('turns a service into Docker Engine API create options', () => {
    const repo = project.services.find((s) => s.name === 'repo')!;
    const o = createOptions(project, repo) as Record<string, any>;
    expect(o.name).toBe('archive-12345678-repo');
    expect(o.Labels).toMatchObject({ 'com.docker.compose.project': 'archive-12345678', 'com.docker.compose.service': 'repo' });
    expect(o.HostConfig.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8081' }] });
    expect(o.HostConfig.RestartPolicy).toEqual({ Name: 'unless-stopped' });
    expect(o.HostConfig.Binds).toEqual(['/srv/a/public:/srv/archive:ro']);
    expect(o.HostConfig.NetworkMode).toBe('archive-12345678_archive');
    expect(o.NetworkingConfig.EndpointsConfig['archive-12345678_archive'].Aliases).toEqual(['repo']);
    expect(o.Healthcheck).toMatchObject({ Interval: 10e9, StartInterval: 1e9 });
  });

  it("keeps the builder's job folders on a volume of its own (its disk, not its memory), which ARCHIVE_WORK_DIR names, removed with it", () => {
    const builder = project.services.find((s) => s.name === 'builder')!;
    const own = builder.volumes.filter((v) => v.anonymous);
    expect(own).toEqual([{ source: '', target: '/var/lib/archive-jobs', readOnly: false, anonymous: true }]);
    expect(builder.environment.ARCHIVE_WORK_DIR).toBe(own[0].target);
    const o = createOptions(project, builder) as Record<string, any>;
    expect(o.HostConfig.Mounts).toEqual([{ Type: 'volume', Target: '/var/lib/archive-jobs' }]);
    // The others' options are as before (their hash names their configuration: unchanged, they are not made again).
    expect('Mounts' in (createOptions(project, project.services.find((s) => s.name === 'repo')!) as Record<string, any>).HostConfig).toBe(false);
    expect(o.HostConfig.Binds).toEqual(['/var/run/docker.sock:/var/run/docker.sock']);
    // Its /tmp stays small: the jobs' files are not there.
    expect(o.HostConfig.Tmpfs).toEqual({ '/tmp': 'size=64m' });
    // Only a path in the container stands alone; a relative one is refused, naming both forms.
    expect(() => parseCompose('name: p\nservices:\n  a:\n    image: x\n    volumes: [jobs]\n', 'c.yaml', {})).toThrow('c.yaml: services.a.volumes: "jobs" is not SOURCE:TARGET[:ro|rw] nor /PATH (a volume of the container\'s own)');
  });

  it('bounds the memory and processes of every service that runs, on one engine (a service added without them fails here)', () => {
    const running = startOrder(project, ['swarm']);
    expect(running.map((s) => s.name)).toEqual(['queue', 'builder', 'repo', 'registry']);
    for (const s of running) {
      const o = createOptions(project, s) as Record<string, any>;
      expect(o.HostConfig.Memory, s.name).toBeGreaterThanOrEqual(256 * 1024 ** 2);
      expect(o.HostConfig.Memory, s.name).toBeLessThanOrEqual(4 * 1024 ** 3);
      expect(o.HostConfig.PidsLimit, s.name).toBeGreaterThan(0);
      expect(o.HostConfig.PidsLimit, s.name).toBeLessThanOrEqual(1024);
    }
    expect(createOptions(project, project.services.find((s) => s.name === 'repo')!)).toMatchObject({ HostConfig: { Memory: 512 * 1024 ** 2, PidsLimit: 128 } });
  });

  it('gives the builder a stop grace period (its jobs\' containers removed, their jobs given back), in whole seconds as the engine takes it; the others the engine\'s', () => {
    const builder = project.services.find((s) => s.name === 'builder')!;
    expect(builder.stopGracePeriodNs).toBe(30e9);
    expect((createOptions(project, builder) as Record<string, any>).StopTimeout).toBe(30);
    for (const s of startOrder(project, ['swarm']).filter((s) => s.name !== 'builder')) {
      expect('StopTimeout' in createOptions(project, s), s.name).toBe(false);
    }
    const odd = parseCompose('name: p\nservices:\n  a:\n    image: x\n    stop_grace_period: 1500ms\n', 'c.yaml', {});
    expect((createOptions(odd, odd.services[0]) as Record<string, any>).StopTimeout).toBe(2);
    expect(() => parseCompose('name: p\nservices:\n  a:\n    image: x\n    stop_grace_period: 30\n', 'c.yaml', {})).toThrow('c.yaml: services.a.stop_grace_period: "30" is not a duration such as 5s or 1m30s');
  });

  it('gives build-dependency containers a network with the repo but not the queue, and tells the builder its name', () => {
    const of = (name: string) => project.services.find((s) => s.name === name)!;
    expect(project.networks).toEqual(['archive', 'deps']);
    expect(of('repo').networks).toEqual(['archive', 'deps']);
    expect(of('queue').networks).toEqual(['archive']);
    expect(of('builder').networks).toEqual(['archive']);
    expect(of('builder').environment.ARCHIVE_NETWORK).toBe('archive-12345678_deps');
  });

  it("makes the queue's network internal (it reaches nothing outside), the repo reaching out through deps alone", () => {
    expect(project.internal).toEqual(['archive']);
    expect(project.attachable).toEqual(['deps']);
    const net = (def: string) => parseCompose(`name: p\nservices:\n  a:\n    image: x\nnetworks:\n  n:\n    ${def}\n`, 'c.yaml', {});
    expect(net('internal: false').internal).toEqual([]);
    expect(() => net('internal: "yes"')).toThrow('c.yaml: networks.n.internal: expected true or false, not "yes"');
    expect(() => net('driver: macvlan')).toThrow('c.yaml: networks.n.driver: not supported by archive up (supported: attachable, internal)');
  });

  it('resolves build contexts relative to the compose file', () => {
    const repo = project.services.find((s) => s.name === 'repo')!;
    expect(repo.build?.context).toBe(join(import.meta.dirname, '..', '..', 'images', 'repo'));
    expect(repo.build?.args).toEqual({ BASE: 'archive/base:trixie' });
  });
});

describe('compose variable interpolation', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A-d}', { A: '' }, ''],
    ['$$HOME', {}, '$HOME'],
    ['a/${A}/b', { A: 'x' }, 'a/x/b'],
  ])('%s with %j gives %s', (text, vars, expected) => {
    expect(interpolate(text, vars, 'f')).toBe(expected);
  });

  it('refuses an unset variable without a default, naming it', () => {
    expect(() => interpolate('${MISSING}', {}, 'compose.yaml')).toThrow('compose.yaml: variable MISSING is not set and has no default');
  });
});

describe('compose parsing errors', () => {
  it('refuses keys archive up would otherwise ignore', () => {
    expect(() => parseCompose('name: p\nservices:\n  a:\n    image: x\n    privileged: true\n', 'c.yaml', {})).toThrow(ComposeError);
    expect(() => parseCompose('name: p\nservices:\n  a:\n    image: x\n    privileged: true\n', 'c.yaml', {})).toThrow(/services\.a\.privileged: not supported/);
  });

  it('creates the services that wait for no health first, then those that wait, in dependency order', () => {
    const text = 'name: p\nservices:\n  late:\n    image: x\n    depends_on:\n      mid:\n        condition: service_started\n' +
      '  mid:\n    image: x\n    depends_on:\n      first:\n        condition: service_healthy\n  first:\n    image: x\n  other:\n    image: x\n';
    const p = parseCompose(text, 'c.yaml', {});
    expect(startOrder(p).map((s) => s.name)).toEqual(['first', 'mid', 'late', 'other']);
    expect(creationOrder(p).map((s) => s.name)).toEqual(['first', 'other', 'mid', 'late']);
  });

  it('refuses a dependency on a service that does not exist', () => {
    expect(() => parseCompose('name: p\nservices:\n  a:\n    image: x\n    depends_on: [b]\n', 'c.yaml', {})).toThrow('no service "b"');
  });

  it.each([
    ['2s', 2e9],
    ['1m30s', 90e9],
    ['500ms', 5e8],
  ])('reads duration %s', (text, ns) => {
    expect(parseDuration(text, 'f', 'x')).toBe(ns);
  });

  it.each([
    ['512m', 512 * 1024 ** 2],
    ['2g', 2 * 1024 ** 3],
    ['1gb', 1024 ** 3],
    ['1024', 1024],
  ])('reads size %s', (text, bytes) => {
    expect(parseBytes(text, 'f', 'x')).toBe(bytes);
  });

  it('gives a service the engine init process only when its init: is true, and refuses one that is not true or false', () => {
    const bare = parseCompose('name: p\nservices:\n  a:\n    image: x\n', 'c.yaml', {});
    expect((createOptions(bare, bare.services[0]) as Record<string, any>).HostConfig.Init).toBe(false);
    expect(() => parseCompose('name: p\nservices:\n  a:\n    image: x\n    init: "yes"\n', 'c.yaml', {})).toThrow('c.yaml: services.a.init: "yes" is not true or false');
  });

  it('refuses a size or a pids limit that is not one, naming the key', () => {
    expect(() => parseCompose('name: p\nservices:\n  a:\n    image: x\n    mem_limit: lots\n', 'c.yaml', {})).toThrow('c.yaml: services.a.mem_limit: "lots" is not a size such as 512m or 2g');
    expect(() => parseCompose('name: p\nservices:\n  a:\n    image: x\n    pids_limit: -1\n', 'c.yaml', {})).toThrow('c.yaml: services.a.pids_limit: "-1" is not a positive whole number');
  });

  it('refuses a duration without a unit', () => {
    expect(() => parseDuration('30', 'c.yaml', 'services.a.healthcheck.interval')).toThrow(/services\.a\.healthcheck\.interval: "30" is not a duration/);
    expect(() => parseCompose('name: p\nservices:\n  a:\n    image: x\n    healthcheck:\n      test: [CMD, "true"]\n      start_interval: soon\n', 'c.yaml', {})).toThrow(/c\.yaml: services\.a\.healthcheck\.start_interval: "soon" is not a duration/);
  });
});
