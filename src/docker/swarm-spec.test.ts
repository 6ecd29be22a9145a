import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCompose, startOrder } from './compose-file.js';
import { FILE, VARS as SINGLE_ENGINE_VARS } from './fixtures/compose-vars.js';
import { LABEL_ROOT, LABEL_ROOT_ID, LABEL_SPEC_HASH, SWARM_WORKER_SUFFIX, otherRoot, serviceSecrets, swarmNetworkSpec, swarmServiceSpec } from './swarm-spec.js';

const VARS = {
  ...SINGLE_ENGINE_VARS,
  ARCHIVE_NODE_ID: 'n0de1d',
  ARCHIVE_BUILDENVS: `trixie=10.0.0.2:5000/archive/buildenv@sha256:${'c'.repeat(64)}`,
  ARCHIVE_WORKER_SUFFIX: SWARM_WORKER_SUFFIX,
  ARCHIVE_WORKER_IMAGE: `10.0.0.2:5000/archive/tool@sha256:${'a'.repeat(64)}`,
};
const project = parseCompose(readFileSync(FILE, 'utf8'), FILE, VARS);
/** Its secrets' ids, as the Swarm would give them. */
const secretIds = (p: typeof project, name: string) => Object.fromEntries(serviceSecrets(p, p.services.find((s) => s.name === name)!).map((x, i) => [x.name, `s3cr3t${i}`]));
const spec = (name: string) => swarmServiceSpec(project, project.services.find((s) => s.name === name)!, { 'archive-in-a-box.run-id': 'r1' }, '', secretIds(project, name)) as Record<string, any>;

describe('the compose file as Swarm services', () => {
  it('places the queue, the repository and the registry on the node that holds the root, a worker on every labelled node', () => {
    for (const name of ['queue', 'repo', 'registry']) {
      expect(spec(name).TaskTemplate.Placement.Constraints, name).toEqual(['node.id == n0de1d']);
      expect(spec(name).Mode, name).toEqual({ Replicated: { Replicas: 1 } });
    }
    expect(spec('builder').Mode).toEqual({ Global: {} });
    expect(spec('builder').TaskTemplate.Placement.Constraints).toEqual(['node.labels.archive.worker == true']);
  });

  it('uses no VIP and no ingress mesh (no IPVS here): DNS round robin, ports on the node itself', () => {
    for (const s of startOrder(project, ['swarm'])) expect(spec(s.name).EndpointSpec.Mode, s.name).toBe('dnsrr');
    expect(spec('repo').EndpointSpec.Ports).toEqual([{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 8081, PublishMode: 'host' }]);
    expect(spec('registry').EndpointSpec.Ports).toEqual([{ Protocol: 'tcp', TargetPort: 5000, PublishedPort: 5000, PublishMode: 'host' }]);
  });

  it('runs the worker from the registry by digest, named after its node (host name and id), pulling build environments from the registry', () => {
    const c = spec('builder').TaskTemplate.ContainerSpec;
    expect(c.Image).toBe(VARS.ARCHIVE_WORKER_IMAGE);
    // Expanded by Swarm on each node (Go's text/template; slice is one of its builtins).
    expect(c.Env).toContain('ARCHIVE_BUILDER_NAME=archive-12345678-builder-{{.Node.Hostname}}-{{.Node.ID}}');
    // By digest: a tag anyone pushes to the registry is never what a worker builds in.
    expect(c.Env).toContain(`ARCHIVE_BUILDENVS=trixie=10.0.0.2:5000/archive/buildenv@sha256:${'c'.repeat(64)}`);
    expect(c.Mounts).toContainEqual({ Type: 'bind', Source: '/var/run/docker.sock', Target: '/var/run/docker.sock', ReadOnly: false });
    // Its job folders on a volume of each task's own, on its node's disk (no Source: Swarm removes it with the task).
    expect(c.Mounts).toContainEqual({ Type: 'volume', Target: '/var/lib/archive-jobs', ReadOnly: false });
    expect(c.Env).toContain('ARCHIVE_WORK_DIR=/var/lib/archive-jobs');
    // Its task stopped (archive down, its node's label removed), it removes its jobs' containers first.
    expect(c.StopGracePeriod).toBe(30e9);
    for (const name of ['queue', 'repo', 'registry']) expect('StopGracePeriod' in spec(name).TaskTemplate.ContainerSpec, name).toBe(false);
  });

  it("gives the worker the API token as a Swarm secret, its user's alone, not in the spec's environment any manager reads", () => {
    const builder = project.services.find((s) => s.name === 'builder')!;
    const [secret] = serviceSecrets(project, builder);
    expect(secret).toEqual({ variable: 'ARCHIVE_API_TOKEN', name: expect.stringMatching(/^archive-archive-api-token-[0-9a-f]{24}$/), data: SINGLE_ENGINE_VARS.ARCHIVE_API_TOKEN });
    const c = spec('builder').TaskTemplate.ContainerSpec;
    expect(c.Secrets).toEqual([{ File: { Name: 'ARCHIVE_API_TOKEN', UID: '0', GID: '0', Mode: 0o400 }, SecretID: 's3cr3t0', SecretName: secret.name }]);
    expect(c.Env).toContain('ARCHIVE_API_TOKEN_FILE=/run/secrets/ARCHIVE_API_TOKEN');
    const distinct = parseCompose(readFileSync(FILE, 'utf8'), FILE, { ...VARS, ARCHIVE_API_TOKEN: 'tok3n-0f-the-te5t' });
    expect(JSON.stringify(swarmServiceSpec(distinct, distinct.services.find((s) => s.name === 'builder')!, {}, '', secretIds(distinct, 'builder')))).not.toContain('tok3n-0f-the-te5t');
    // A new token is a new secret (Swarm's cannot change), and so a new spec: the service is updated.
    const rotated = parseCompose(readFileSync(FILE, 'utf8'), FILE, { ...VARS, ARCHIVE_API_TOKEN: 'rotated' });
    const [next] = serviceSecrets(rotated, rotated.services.find((s) => s.name === 'builder')!);
    expect(next.name).not.toBe(secret.name);
    expect(swarmServiceSpec(rotated, rotated.services.find((s) => s.name === 'builder')!, { 'archive-in-a-box.run-id': 'r1' }, '', secretIds(rotated, 'builder')).Labels).not.toEqual(spec('builder').Labels);
    // No other service has a secret; none is made without its id.
    for (const name of ['queue', 'repo', 'registry']) expect(spec(name).TaskTemplate.ContainerSpec.Secrets, name).toEqual([]);
    expect(() => swarmServiceSpec(project, builder, {})).toThrow(`swarm: no id for secret ${secret.name} of service builder`);
  });

  it('keeps every bound of a single engine: read-only, the engine init process, no capabilities, no new privileges, memory, processes, tmpfs sizes, healthchecks', () => {
    const running = startOrder(project, ['swarm']);
    expect(running.map((s) => s.name)).toEqual(['queue', 'builder', 'repo', 'registry']);
    for (const s of running) {
      const t = spec(s.name).TaskTemplate;
      expect(t.ContainerSpec.ReadOnly, s.name).toBe(true);
      expect(t.ContainerSpec.Init, s.name).toBe(true);
      expect(t.ContainerSpec.CapabilityDrop, s.name).toEqual(['ALL']);
      expect(t.ContainerSpec.Privileges, s.name).toEqual({ NoNewPrivileges: true });
      expect(t.ContainerSpec.Healthcheck, s.name).toMatchObject({ Interval: 10e9, Retries: 3, StartPeriod: 60e9, StartInterval: 1e9 });
      // Each has both (compose-file.test.ts bounds them): not undefined on both sides.
      expect(t.Resources.Limits.MemoryBytes, s.name).toBeGreaterThan(0);
      expect(t.Resources.Limits.MemoryBytes, s.name).toBe(s.memoryBytes);
      expect(t.Resources.Limits.Pids, s.name).toBeGreaterThan(0);
      expect(t.Resources.Limits.Pids, s.name).toBe(s.pidsLimit);
      expect(t.RestartPolicy.Condition, s.name).toBe('any');
    }
    expect(spec('queue').TaskTemplate.ContainerSpec.Mounts).toEqual([
      { Type: 'bind', Source: '/srv/a', Target: '/archive', ReadOnly: false },
      { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 256 * 1024 ** 2 } },
    ]);
    expect(spec('queue').TaskTemplate.ContainerSpec.User).toBe('1000:1000');
    expect(spec('registry').TaskTemplate.ContainerSpec.Mounts[0]).toMatchObject({ Type: 'volume', Source: 'archive-12345678_registry', Target: '/var/lib/docker-registry' });
  });

  it('joins the overlay networks by the service name, as on one engine: build-dependency containers reach the repo, not the queue', () => {
    expect(spec('repo').TaskTemplate.Networks).toEqual([
      { Target: 'archive-12345678_archive', Aliases: ['repo'] },
      { Target: 'archive-12345678_deps', Aliases: ['repo'] },
    ]);
    expect(spec('queue').TaskTemplate.Networks).toEqual([{ Target: 'archive-12345678_archive', Aliases: ['queue'] }]);
    // Only deps takes plain containers (a worker's build-dependency containers); nothing joins the queue's network.
    expect(swarmNetworkSpec(project, 'deps', {})).toMatchObject({ Name: 'archive-12345678_deps', Driver: 'overlay', Attachable: true, Internal: false });
    expect(swarmNetworkSpec(project, 'archive', {})).toMatchObject({ Name: 'archive-12345678_archive', Driver: 'overlay', Attachable: false, Internal: true });
  });

  it('labels a service as docker stack does, with a hash that changes with its spec', () => {
    const queue = spec('queue');
    expect(queue.Name).toBe('archive-12345678_queue');
    expect(queue.Labels).toMatchObject({ 'com.docker.stack.namespace': 'archive-12345678', 'archive-in-a-box.run-id': 'r1' });
    // The task's containers are the Swarm's: no compose project label, which archive up's own containers carry.
    expect(queue.TaskTemplate.ContainerSpec.Labels['com.docker.compose.project']).toBeUndefined();
    const other = parseCompose(readFileSync(FILE, 'utf8'), FILE, { ...VARS, ARCHIVE_WORKER_IMAGE: `10.0.0.2:5000/archive/tool@sha256:${'b'.repeat(64)}` });
    const changed = swarmServiceSpec(other, other.services.find((s) => s.name === 'builder')!, { 'archive-in-a-box.run-id': 'r1' }, '', secretIds(other, 'builder')) as Record<string, any>;
    expect(changed.Labels[LABEL_SPEC_HASH]).not.toBe(spec('builder').Labels[LABEL_SPEC_HASH]);
    // The queue runs a local tag: a rebuilt image behind it changes the hash, so the service is updated.
    const queueService = project.services.find((s) => s.name === 'queue')!;
    const before = swarmServiceSpec(project, queueService, {}, 'sha256:old') as Record<string, any>;
    expect((swarmServiceSpec(project, queueService, {}, 'sha256:old') as Record<string, any>).Labels[LABEL_SPEC_HASH]).toBe(before.Labels[LABEL_SPEC_HASH]);
    expect((swarmServiceSpec(project, queueService, {}, 'sha256:new') as Record<string, any>).Labels[LABEL_SPEC_HASH]).not.toBe(before.Labels[LABEL_SPEC_HASH]);
  });

  it('refuses what a Swarm cannot do rather than dropping it', () => {
    const text = readFileSync(FILE, 'utf8');
    const vip = parseCompose(text.replace(/endpoint_mode: dnsrr/g, 'endpoint_mode: vip'), FILE, VARS);
    expect(() => swarmServiceSpec(vip, vip.services[0], {})).toThrow(/endpoint_mode must be dnsrr \(Swarm's VIPs need IPVS/);
    const opt = parseCompose(text.replace('security_opt: ["no-new-privileges:true"]', 'security_opt: ["no-new-privileges:true", "seccomp=unconfined"]'), FILE, VARS);
    expect(() => swarmServiceSpec(opt, opt.services[0], {})).toThrow(/security_opt: seccomp=unconfined has no Swarm counterpart/);
    const bare = parseCompose(text, FILE, VARS);
    expect(() => swarmServiceSpec(bare, bare.services.find((s) => s.name === 'buildenv')!, {})).toThrow(/services.buildenv has no deploy: section/);
    expect(() => parseCompose(text.replace('mode: host', 'mode: ingress'), FILE, VARS)).toThrow(/only mode: host ports/);
    const tmpfs = parseCompose(text.replace('tmpfs: ["/tmp:size=256m"]', 'tmpfs: ["/tmp:size=256m,exec"]'), FILE, VARS);
    expect(() => swarmServiceSpec(tmpfs, tmpfs.services[0], {})).toThrow('compose: services.queue.tmpfs: exec has no Swarm counterpart (only size=)');
    expect(() => parseCompose(text.replace('attachable: true', 'attachable: true\n    driver: macvlan'), FILE, VARS)).toThrow(/networks\.deps\.driver: not supported/);
  });
});

describe("a service of the project another root deployed (the same name: and root path on another manager)", () => {
  const ours = { [LABEL_ROOT]: '/home/a/.local/share/archive-in-a-box', [LABEL_ROOT_ID]: '1'.repeat(32) };
  const service = (labels: Record<string, string>) => ({ Spec: { Name: 'archive-12345678_queue', Labels: { 'com.docker.stack.namespace': 'archive-12345678', ...labels } } });

  it("is refused, naming both roots and their ids and what to do; one of this root's is not", () => {
    expect(otherRoot(service({ ...ours }), ours)).toBeUndefined();
    const theirs = service({ [LABEL_ROOT]: '/home/a/.local/share/archive-in-a-box', [LABEL_ROOT_ID]: '2'.repeat(32) });
    expect(otherRoot(theirs, ours)).toBe(
      `service archive-12345678_queue is another archive's (root /home/a/.local/share/archive-in-a-box, id ${'2'.repeat(32)}), not this one's (root /home/a/.local/share/archive-in-a-box, id ${'1'.repeat(32)}): ` +
        'two archives whose name: and root path are the same get one project name on a Swarm. Leave it to that archive (its own archive down removes it), and give this one another root (archive --root DIR) or another name: in its archive.yaml',
    );
    // This root without an id yet (archive down before an up of this version): theirs has one, so it is not this root's.
    expect(otherRoot(theirs, { [LABEL_ROOT]: ours[LABEL_ROOT] })).toContain('not this one\'s (root /home/a/.local/share/archive-in-a-box, id (none yet))');
  });

  it('is taken when it carries no id: deployed before services carried one, by this root as far as can be told (its project name is as it was)', () => {
    expect(otherRoot(service({ [LABEL_ROOT]: ours[LABEL_ROOT] }), ours)).toBeUndefined();
    expect(otherRoot({}, ours)).toBeUndefined();
  });

  it('is told by the label every service this root deploys carries', () => {
    const labelled = swarmServiceSpec(project, project.services.find((s) => s.name === 'builder')!, ours, '', secretIds(project, 'builder')) as Record<string, any>;
    expect(labelled.Labels).toMatchObject(ours);
    expect(otherRoot({ Spec: { Name: labelled.Name, Labels: labelled.Labels } }, ours)).toBeUndefined();
  });
});
