// The queue: the only writer of state/ and public/. Watches incoming/, takes complete uploads
// into quarantine, checks them, accepts or rejects, makes build jobs, receives build results
// and publishes. Every change of state goes through one serial lane.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import chokidar from 'chokidar';
import { parseConfig, suiteFor, type ArchiveConfig } from '../config/config.js';
import { planBuilds } from '../core/build-plan.js';
import { expireLease, finish, heartbeat, lease, type BinaryRecord, type JobRecord } from '../core/jobs.js';
import { planPublication } from '../core/publish-plan.js';
import { checkUpload, SAFE_FILE_NAME, type FileFacts } from '../core/upload-checks.js';
import { uploadStateFromJobs, type PoolFileRecord, type UploadRecord } from '../core/uploads.js';
import { parseChanges, parseDsc, type ChangesFile, type DscFile } from '../debian/control-files.js';
import { sourcesStanza } from '../debian/indices.js';
import { compareVersions, poolPrefix } from '../debian/version.js';
import { debControl } from '../process/debian-tools.js';
import { Signer } from '../process/gpg.js';
import { exists, fileFacts, placeFile } from '../storage/files.js';
import { Layout } from '../storage/layout.js';
import { publish, pruneGenerations } from '../storage/publisher.js';
import { readAll, readJson, removeTemporaries, writeJson } from '../storage/records.js';
import { startJobApi, type JobApiHandlers } from './job-api.js';

/** A file must keep its size and mtime this long before an upload counts as complete. */
const STABLE_MS = 1500;
const SCAN_INTERVAL_MS = 5000;
const WRONG_SIZE_GRACE_MS = 10_000;

export class Queue {
  private lane: Promise<unknown> = Promise.resolve();
  private seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  private signer!: Signer;
  private config!: ArchiveConfig;
  private scanTimer?: NodeJS.Timeout;

  constructor(readonly layout: Layout) {}

  /** Runs fn after everything queued before it: one change of state at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lane.then(fn, fn);
    this.lane = next.catch(() => undefined);
    return next;
  }

  log(message: string): void {
    const line = `${new Date().toISOString()} ${message}`;
    console.log(line);
    appendFile(join(this.layout.logs, 'queue.log'), `${line}\n`).catch(() => undefined);
  }

  async start(port = 8000): Promise<void> {
    const l = this.layout;
    this.config = parseConfig(await readFile(l.config, 'utf8'), l.config);
    for (const dir of [l.incoming, l.pool, l.uploads, l.jobs, l.quarantine, l.rejected, l.artifacts, l.buildLogs, l.logs]) {
      await mkdir(dir, { recursive: true });
    }
    this.signer = await Signer.load(await readFile(l.secretKey, 'utf8'), '/tmp/gnupg');
    await this.recover();
    await this.serial(() => this.publishNow('start'));
    const token = (await readFile(l.apiToken, 'utf8')).trim();
    await startJobApi(port, token, this.handlers());
    chokidar
      .watch(l.incoming, { ignoreInitial: false, depth: 0, awaitWriteFinish: false })
      .on('all', () => this.scheduleScan())
      .on('error', (err) => this.log(`watcher error: ${(err as Error).message}`));
    setInterval(() => this.scheduleScan(), SCAN_INTERVAL_MS).unref();
    setInterval(() => void this.serial(() => this.expireLeases()), 10_000).unref();
    this.log(`queue started: watching ${l.incoming}, job API on :${port}`);
  }

  /** After a crash: finish or roll back what was under way. */
  private async recover(): Promise<void> {
    const l = this.layout;
    for (const dir of [l.uploads, l.jobs]) await removeTemporaries(dir);
    await pruneGenerations(l);
    // Uploads still in quarantine were copied but not decided: decide them now.
    for (const upload of await readAll<UploadRecord>(l.uploads)) {
      if (upload.state === 'received') {
        this.log(`recovering upload ${upload.id} left in quarantine`);
        await this.serial(() => this.decide(upload));
      }
    }
    // Quarantine folders without a record were being copied: their originals are still in incoming.
    for (const name of await readdir(l.quarantine)) {
      if (!(await exists(join(l.uploads, `${name}.json`)))) await rm(join(l.quarantine, name), { recursive: true, force: true });
    }
  }

  private scanPending = false;
  private scheduleScan(delayMs = 300): void {
    if (this.scanPending) return;
    this.scanPending = true;
    clearTimeout(this.scanTimer);
    this.scanTimer = setTimeout(() => {
      this.scanPending = false;
      void this.serial(() => this.scan()).catch((err) => this.log(`scan failed: ${(err as Error).stack}`));
    }, delayMs);
  }

  /** One look at incoming/: take every upload whose files are all there and stable. */
  private async scan(): Promise<void> {
    const l = this.layout;
    const names = await readdir(l.incoming);
    const now = Date.now();
    const stable = new Map<string, boolean>();
    for (const name of names) {
      let s;
      try {
        s = await stat(join(l.incoming, name));
      } catch {
        continue;
      }
      if (!s.isFile()) continue;
      const prev = this.seen.get(name);
      if (!prev || prev.size !== s.size || prev.mtimeMs !== s.mtimeMs) {
        this.seen.set(name, { size: s.size, mtimeMs: s.mtimeMs, since: now });
        stable.set(name, false);
      } else stable.set(name, now - prev.since >= STABLE_MS);
    }
    for (const name of this.seen.keys()) if (!stable.has(name)) this.seen.delete(name);
    let waiting = false;
    for (const name of names.filter((n) => n.endsWith('.changes'))) {
      if (!stable.get(name)) {
        waiting = true;
        continue;
      }
      let changes: ChangesFile;
      try {
        changes = parseChanges(await readFile(join(l.incoming, name), 'utf8'), name);
      } catch (err) {
        await this.intake(name, [], [`${name}: cannot be read as a .changes file: ${(err as Error).message}`]);
        continue;
      }
      // Ready when every listed file is there and has stopped changing. A stable file of the
      // wrong size is taken after a grace period (to be rejected with the size it has); a
      // missing file keeps the upload waiting.
      const ready = changes.files.every((f) => {
        const seen = this.seen.get(f.name);
        if (!seen || !stable.get(f.name)) return false;
        return seen.size === f.size || now - seen.since > WRONG_SIZE_GRACE_MS;
      });
      if (ready) await this.intake(name, changes.files.map((f) => f.name).filter((n) => SAFE_FILE_NAME.test(n)), []);
      else waiting = true;
    }
    if (waiting) this.scheduleScan(1000);
  }

  /** Copies the upload's files into a private quarantine, records it, then clears incoming. */
  private async intake(changesName: string, files: string[], earlyReasons: string[]): Promise<void> {
    const l = this.layout;
    const base = changesName.replace(/\.changes$/, '');
    const id = `${new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 15)}-${base}-${randomBytes(3).toString('hex')}`;
    const dir = join(l.quarantine, id);
    await mkdir(dir, { recursive: true });
    for (const name of [changesName, ...files.filter((f) => f !== changesName)]) {
      await copyFile(join(l.incoming, name), join(dir, name));
    }
    const [source = base, version = ''] = base.split('_');
    const now = new Date().toISOString();
    const upload: UploadRecord = {
      id,
      changes: changesName,
      source,
      version,
      distribution: '',
      state: 'received',
      receivedAt: now,
      updatedAt: now,
      reasons: earlyReasons,
      sourceFiles: [],
      jobs: [],
    };
    await writeJson(join(l.uploads, `${id}.json`), upload);
    for (const name of [changesName, ...files]) {
      await rm(join(l.incoming, name), { force: true });
      this.seen.delete(name);
    }
    this.log(`upload ${id}: received ${changesName} with ${files.length} file(s)`);
    await this.decide(upload);
  }

  /** Checks a quarantined upload and accepts or rejects it. */
  private async decide(upload: UploadRecord): Promise<void> {
    const l = this.layout;
    const dir = join(l.quarantine, upload.id);
    const reasons = [...upload.reasons];
    let changes: ChangesFile | undefined;
    let dsc: DscFile | undefined;
    if (reasons.length === 0) {
      try {
        changes = parseChanges(await readFile(join(dir, upload.changes), 'utf8'), upload.changes);
      } catch (err) {
        reasons.push(`${upload.changes}: cannot be read as a .changes file: ${(err as Error).message}`);
      }
    }
    if (changes) {
      upload.source = changes.source;
      upload.version = changes.version;
      upload.distribution = changes.distributions.join(' ');
      const suite = changes.distributions.length === 1 ? suiteFor(this.config, changes.distributions[0]) : undefined;
      upload.suite = suite?.name;
      const facts = new Map<string, FileFacts>();
      for (const name of await readdir(dir)) if (name !== upload.changes) facts.set(name, await fileFacts(join(dir, name)));
      for (const name of facts.keys()) {
        if (!changes.files.some((f) => f.name === name)) reasons.push(`${name}: uploaded but not listed in ${upload.changes}`);
      }
      const dscEntries = changes.files.filter((f) => f.name.endsWith('.dsc'));
      let dscError: string | undefined;
      if (dscEntries.length === 1 && facts.has(dscEntries[0].name)) {
        try {
          dsc = parseDsc(await readFile(join(dir, dscEntries[0].name), 'utf8'), dscEntries[0].name);
        } catch (err) {
          dscError = `${dscEntries[0].name}: cannot be read as a .dsc file: ${(err as Error).message}`;
        }
      }
      const uploads = await readAll<UploadRecord>(l.uploads);
      const current = uploads
        .filter((u) => u.suite === upload.suite && u.source === upload.source && u.id !== upload.id && !['received', 'rejected'].includes(u.state))
        .map((u) => u.version)
        .sort(compareVersions)
        .pop();
      reasons.push(...checkUpload({ changes, facts, dsc, dscError, config: this.config, currentVersion: current }));
    }
    if (reasons.length > 0 || !changes || !dsc || !upload.suite) return this.reject(upload, reasons.length ? reasons : ['upload could not be checked']);
    await this.accept(upload, changes, dsc);
  }

  private async reject(upload: UploadRecord, reasons: string[]): Promise<void> {
    const l = this.layout;
    const target = join(l.rejected, upload.id);
    await rm(target, { recursive: true, force: true });
    await rename(join(l.quarantine, upload.id), target);
    await writeFile(join(target, `${upload.changes}.reason`), `Upload ${upload.changes} was rejected:\n\n${reasons.map((r) => `- ${r}`).join('\n')}\n`);
    Object.assign(upload, { state: 'rejected', reasons, rejectedDir: `state/rejected/${upload.id}`, updatedAt: new Date().toISOString() });
    await writeJson(join(l.uploads, `${upload.id}.json`), upload);
    this.log(`upload ${upload.id}: REJECTED\n  ${reasons.join('\n  ')}`);
  }

  private async accept(upload: UploadRecord, changes: ChangesFile, dsc: DscFile): Promise<void> {
    const l = this.layout;
    const dir = join(l.quarantine, upload.id);
    const suite = this.config.suites.find((s) => s.name === upload.suite)!;
    const poolDir = `pool/${suite.components[0]}/${poolPrefix(dsc.source)}/${dsc.source}`;
    const names = [changes.files.find((f) => f.name.endsWith('.dsc'))!.name, ...dsc.files.map((f) => f.name)];
    const sourceFiles: PoolFileRecord[] = [];
    for (const name of names) {
      const facts = await fileFacts(join(dir, name));
      await placeFile(join(dir, name), join(l.public, poolDir, name), facts.sha256);
      sourceFiles.push({ name, path: `${poolDir}/${name}`, ...facts });
    }
    const dscEntry = changes.files.find((f) => f.name === names[0])!;
    const dscPool = sourceFiles[0];
    const stanza = sourcesStanza(dsc, { path: dscPool.path, size: dscPool.size, md5: dscPool.md5, sha1: dscPool.sha1, sha256: dscPool.sha256 }, poolDir, dscEntry);
    const now = new Date();
    const jobs: JobRecord[] = planBuilds(dsc.architectures, suite.architectures).map((p) => ({
      id: `${upload.id}-${p.arch}`,
      uploadId: upload.id,
      source: dsc.source,
      version: dsc.version,
      suite: suite.name,
      base: suite.base,
      arch: p.arch,
      buildArg: p.buildArg,
      state: 'needs-build',
      attempts: 0,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      binaries: [],
      artifacts: [],
    }));
    for (const job of jobs) await writeJson(join(l.jobs, `${job.id}.json`), job);
    Object.assign(upload, {
      state: jobs.length ? 'accepted' : 'published',
      sourceFiles,
      sourceStanza: stanza.entries(),
      jobs: jobs.map((j) => j.id),
      updatedAt: now.toISOString(),
    });
    await writeJson(join(l.uploads, `${upload.id}.json`), upload);
    await rm(dir, { recursive: true, force: true });
    this.log(`upload ${upload.id}: ACCEPTED ${dsc.source} ${dsc.version} into ${suite.name}; jobs: ${jobs.map((j) => `${j.arch} (${j.buildArg})`).join(', ') || 'none'}`);
    await this.publishNow(`accepted ${dsc.source} ${dsc.version}`);
  }

  private async publishNow(why: string): Promise<void> {
    const uploads = await readAll<UploadRecord>(this.layout.uploads);
    const jobs = await readAll<JobRecord>(this.layout.jobs);
    const plans = planPublication(this.config, uploads, jobs);
    const codenames = new Map(this.config.suites.map((s) => [s.name, s.name === 'unstable' ? 'sid' : s.name]));
    const started = Date.now();
    const result = await publish(this.layout, plans, this.signer, this.config.name, codenames);
    this.log(`published generation ${result.generation} (${why}) in ${Date.now() - started} ms`);
  }

  private async expireLeases(): Promise<void> {
    const now = new Date();
    for (const job of await readAll<JobRecord>(this.layout.jobs)) {
      const next = expireLease(job, now);
      if (next !== job) {
        await this.saveJob(next);
        this.log(`job ${job.id}: lease of ${job.lease?.builder} expired; now ${next.state}`);
      }
    }
  }

  private async saveJob(job: JobRecord): Promise<void> {
    await writeJson(join(this.layout.jobs, `${job.id}.json`), job);
    const upload = await readJson<UploadRecord>(join(this.layout.uploads, `${job.uploadId}.json`));
    if (!upload) return;
    const jobs = await readAll<JobRecord>(this.layout.jobs);
    const { state, reasons } = uploadStateFromJobs(upload, jobs);
    if (state !== upload.state) {
      await writeJson(join(this.layout.uploads, `${upload.id}.json`), { ...upload, state, reasons, updatedAt: new Date().toISOString() });
    }
  }

  private async job(id: string): Promise<JobRecord> {
    const job = await readJson<JobRecord>(join(this.layout.jobs, `${id}.json`));
    if (!job) throw Object.assign(new Error(`no job ${id}`), { status: 404 });
    return job;
  }

  private handlers(): JobApiHandlers {
    const l = this.layout;
    return {
      lease: (builder) =>
        this.serial(async () => {
          const jobs = (await readAll<JobRecord>(l.jobs)).filter((j) => j.state === 'needs-build');
          const job = jobs.sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
          if (!job) return undefined;
          const leased = lease(job, builder, new Date());
          leased.log = `logs/${job.source}_${job.version.replace(/^\d+:/, '')}_${job.arch}.${leased.attempts}.log`;
          await writeFile(join(l.public, leased.log), '');
          await this.saveJob(leased);
          const upload = (await readJson<UploadRecord>(join(l.uploads, `${job.uploadId}.json`)))!;
          this.log(`job ${job.id}: leased to ${builder} (attempt ${leased.attempts})`);
          return { ...leased, files: upload.sourceFiles.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })) };
        }),
      heartbeat: (id, builder) => this.serial(async () => this.saveJob(heartbeat(await this.job(id), builder, new Date()))),
      sourceFile: async (id, name) => {
        const job = await this.job(id);
        const upload = await readJson<UploadRecord>(join(l.uploads, `${job.uploadId}.json`));
        const file = upload?.sourceFiles.find((f) => f.name === name);
        if (!file) throw Object.assign(new Error(`job ${id} has no source file ${name}`), { status: 404 });
        return join(l.public, file.path);
      },
      appendLog: async (id, builder, text) => {
        const job = await this.job(id);
        if (job.state !== 'building' || job.lease?.builder !== builder || !job.log) {
          throw Object.assign(new Error(`job ${id} is not leased to ${builder}`), { status: 409 });
        }
        await appendFile(join(l.public, job.log), text);
      },
      putArtifact: async (id, builder, name, body) => {
        const job = await this.job(id);
        if (job.state !== 'building' || job.lease?.builder !== builder) {
          throw Object.assign(new Error(`job ${id} is not leased to ${builder}`), { status: 409 });
        }
        if (!SAFE_FILE_NAME.test(name)) throw Object.assign(new Error(`unsafe artifact name ${name}`), { status: 400 });
        const dir = join(l.artifacts, id);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, name), body);
      },
      complete: (id, builder, result) => this.serial(() => this.complete(id, builder, result)),
    };
  }

  /** A builder's result: check the artifacts against its .changes, pool them, publish. */
  private async complete(id: string, builder: string, result: { ok: boolean; reason?: string }): Promise<void> {
    const l = this.layout;
    const job = await this.job(id);
    const dir = join(l.artifacts, id);
    let next: JobRecord;
    if (!result.ok) {
      next = finish(job, builder, { ok: false, reason: result.reason ?? 'build failed' }, new Date());
    } else {
      try {
        const { binaries, artifacts } = await this.poolArtifacts(job, dir);
        next = finish(job, builder, { ok: true, binaries, artifacts, log: job.log! }, new Date());
      } catch (err) {
        next = finish(job, builder, { ok: false, reason: (err as Error).message }, new Date());
      }
    }
    await this.saveJob(next);
    await rm(dir, { recursive: true, force: true });
    this.log(`job ${id}: ${next.state}${next.reason ? ` (${next.reason})` : ''}`);
    if (next.state === 'built') await this.publishNow(`built ${job.source} ${job.version} on ${job.arch}`);
  }

  /** Never trusts the exit code alone: the .changes must list .debs, all present and intact. */
  private async poolArtifacts(job: JobRecord, dir: string): Promise<{ binaries: BinaryRecord[]; artifacts: string[] }> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const changesName = names.find((n) => n.endsWith('.changes'));
    if (!changesName) throw new Error(`the build returned no .changes file (got: ${names.join(', ') || 'nothing'})`);
    const changes = parseChanges(await readFile(join(dir, changesName), 'utf8'), changesName);
    if (changes.source !== job.source || changes.version !== job.version) {
      throw new Error(`${changesName} is for ${changes.source} ${changes.version}, but the job builds ${job.source} ${job.version}`);
    }
    const debs = changes.files.filter((f) => /\.u?deb$/.test(f.name));
    if (debs.length === 0) throw new Error(`${changesName} lists no binary packages`);
    const suite = this.config.suites.find((s) => s.name === job.suite)!;
    const poolDir = `pool/${suite.components[0]}/${poolPrefix(job.source)}/${job.source}`;
    const binaries: BinaryRecord[] = [];
    const artifacts: string[] = [];
    for (const f of changes.files) {
      if (!SAFE_FILE_NAME.test(f.name)) throw new Error(`${changesName} lists an unsafe file name ${f.name}`);
      const path = join(dir, f.name);
      if (!(await exists(path))) throw new Error(`${f.name} is listed in ${changesName} but was not returned`);
      const facts = await fileFacts(path);
      if (facts.size !== f.size || (f.sha256 && facts.sha256 !== f.sha256)) throw new Error(`${f.name} does not match ${changesName} (size or sha256)`);
      if (/\.u?deb$/.test(f.name)) {
        const control = await debControl(path);
        const from = (control.first('Source') || control.first('Package')).split(/\s+/)[0];
        if (from !== job.source) throw new Error(`${f.name} says it is built from ${from}, not ${job.source}`);
        const arch = control.first('Architecture');
        if (arch !== job.arch && arch !== 'all') throw new Error(`${f.name} is for ${arch}, but the job builds ${job.arch}`);
        await placeFile(path, join(this.layout.public, poolDir, f.name), facts.sha256);
        binaries.push({ control: control.entries(), path: `${poolDir}/${f.name}`, ...facts });
      } else if (f.name.endsWith('.buildinfo')) {
        await placeFile(path, join(this.layout.public, poolDir, f.name), facts.sha256);
        artifacts.push(`${poolDir}/${f.name}`);
      }
    }
    const changesTarget = `${poolDir}/${changesName}`;
    const changesFacts = await fileFacts(join(dir, changesName));
    await placeFile(join(dir, changesName), join(this.layout.public, changesTarget), changesFacts.sha256);
    artifacts.push(changesTarget);
    return { binaries, artifacts };
  }
}
