// The queue's hold on what each suite and snapshot contains (core/suite-contents.ts) and on
// the pool's history (core/retention.ts): accepted sources and finished builds join their
// suite here, and rm, copy, snapshot and include change it. The queue calls these in its
// serial lane; each change is written through before the caller publishes.
import { basename, dirname, join } from 'node:path';
import { ConfigError, snapshotNameError, type ArchiveConfig, type SuiteConfig } from '../../config/config.js';
import type { JobRecord } from '../../core/jobs.js';
import { newHistory, retained, withHistory, type HistoryEntry, type PoolHistory } from '../../core/retention.js';
import {
  ByBinaryKey, ContentsError, binaryConflict, binaryMember, emptyContents, heldBinary, isDebugControl, poolFilesOf, publishedVersion, suiteBinary, takenOver, takeoverRefusal, takeovers, withBinaries, withCopy, withSource, withoutSource, withoutSuperseded,
  type SuiteBinary, type SuiteContents,
} from '../../core/suite-contents.js';
import type { QueueAnswer } from '../../core/queue-requests.js';
import type { UploadRecord } from '../../core/uploads.js';
import { Paragraph } from '../../debian/deb822.js';
import { compareVersions } from '../../debian/version.js';
import { componentFor, isPackageFileName } from '../../debian/pool-path.js';
import { readDebControls } from '../../process/debian-tools.js';
import { fileFacts, inBatches, placeFile } from '../../storage/files.js';
import type { Layout } from '../../storage/layout.js';
import { collectPool } from '../../storage/pool-gc.js';
import { poolFilesOfGenerations } from '../../publish/generations.js';
import { BinaryControls, type ControlFields, type Digest } from '../../storage/binary-controls.js';
import { Journaled } from '../../storage/journal.js';
import { MadeAsWritten, RecordAsWritten } from '../../storage/json-files.js';
import { SuiteStore } from '../../storage/suite-store.js';
import { NOTED_EVERY, whenStaged } from '../../storage/staging.js';
import { collectAfterMany } from './heap.js';
import { readIncludedDebs } from './included-debs.js';
import { inOrder } from '../../debian/indices.js';

/**
 * A member read back whose control or digests the control store lacks: records from before the
 * control store keep their fields inline, and those from before it kept digests carry them; a
 * line a crash lost is read again from the .deb.
 */
interface Lacking {
  member: SuiteBinary;
  control?: ControlFields;
  md5?: string;
  sha256?: string;
}

/**
 * Versions that entered the pool, with their files, and versions the history no longer keeps (an
 * include's made from its members as they are written).
 */
type Batch = HistoryEntry[] | MadeAsWritten<SuiteBinary, HistoryEntry>;
/** The history as its base is written: a record, or one made a source at a time as it is written. */
type WrittenHistory = PoolHistory | RecordAsWritten<PoolHistory[string]>;

/** The most files `include` reads, checks and places together. */
const PART = 1000;

/**
 * Why an included package is not: a suite holds one version of each, and `newer`, which the suite
 * has (or, without `suite`, the request brings too), is newer. dak refuses an older upload too.
 */
const olderThan = (b: SuiteBinary, newer: SuiteBinary, suite?: string) =>
  suite
    ? `${suite} has ${b.package} ${newer.version} ${b.arch}, newer than ${b.version}: a suite holds one version of a package (to go back to an older one, archive rm it first)`
    : `this request brings ${b.package} ${newer.version} ${b.arch} too, newer than ${b.version}: a suite holds one version of a package`;

export class SuiteChanges {
  private store!: SuiteStore;
  private controlStore!: BinaryControls;
  /**
   * The history as a base and a journal of the batches noted since (versions noted, and versions
   * a collection cut). Not held between changes: read back, in part, when a collection needs it,
   * or whole when its journal is folded (at 100,000 packages it was 10 MiB of the queue's heap).
   */
  private readonly historyStore: Journaled<PoolHistory, Batch, WrittenHistory>;

  constructor(
    private readonly layout: Layout,
    private readonly config: () => ArchiveConfig,
    private readonly log: (message: string) => void,
  ) {
    this.historyStore = new Journaled<PoolHistory, Batch, WrittenHistory>(layout.poolHistory, `${layout.poolHistory}.journal`, {
      toBase: (history, journalSeq) => ({ journalSeq, history }),
      // Written before the journal, the base was the history alone (its values are lists).
      fromBase: (raw) => {
        const r = raw as { journalSeq?: unknown; history?: PoolHistory };
        return typeof r.journalSeq === 'number' ? { value: r.history ?? {}, journalSeq: r.journalSeq } : { value: raw as PoolHistory, journalSeq: 0 };
      },
      apply: withHistory,
      empty: () => ({}),
    });
  }

  async load(): Promise<this> {
    this.controlStore = await new BinaryControls(this.layout.controls).load();
    const lacking: Lacking[] = [];
    this.store = await new SuiteStore(this.layout.suites, ({ control, sha1: _, md5, sha256, ...b }) => {
      const known = this.controlStore.debug(b.path);
      const member = binaryMember({ ...b, debug: known ?? (control ? isDebugControl(control) : false) });
      // The control store's string of the path, not a second one (8 MiB at 100,000 packages).
      member.path = this.controlStore.heldPath(b.path) ?? member.path;
      if (known === undefined || !this.controlStore.digested(b.path)) lacking.push({ member, control: control?.length ? control : undefined, md5, sha256 });
      return member;
    }).load();
    // A thousand at a time: the controls of 100,000 packages are never held at once.
    for (let from = 0; from < lacking.length; from += 1000) await this.complete(lacking.slice(from, from + 1000));
    // Once the lines completed have superseded the others: best done, the file is left as it is
    // when it cannot be rewritten (a full disk), and the next start tries again.
    await this.controlStore.compactIfWasteful().catch((err: Error) => this.log(`${this.layout.controls}: not rewritten: ${err.message}`));
    // Opened at the start to repair a journal a crash cut short; the history itself is read when needed.
    await this.historyStore.open();
    return this;
  }

  /** Notes in the control store the controls and digests it lacks: from the record, from the store, else from the pool file. */
  private async complete(lacking: Lacking[]): Promise<void> {
    const held = this.controlStore.getMany(lacking.map((l) => l.member.path));
    const unread = lacking.filter((l, i) => !(l.control ??= held[i]));
    const read = await readDebControls(unread.map((l) => join(this.layout.public, l.member.path)));
    for (const [i, l] of unread.entries()) {
      const control = read[i];
      if (control instanceof Error) this.log(`${l.member.path}: ${control.message}`);
      else {
        l.control = control.entries();
        l.member.debug = isDebugControl(l.control);
      }
    }
    const whole: { path: string; control: ControlFields; md5: string; sha256: string }[] = [];
    for (const l of lacking) {
      if (!l.control) continue;
      const digest = l.md5 && l.sha256 ? { md5: l.md5, sha256: l.sha256 } : await fileFacts(join(this.layout.public, l.member.path)).catch((err: Error) => void this.log(`${l.member.path}: ${err.message}`));
      if (digest) whole.push({ path: l.member.path, control: l.control, md5: digest.md5, sha256: digest.sha256 });
    }
    await this.controlStore.add(whole);
  }

  /** Binaries' control fields, read from the control store (empty when they could not be read). */
  controls(binaries: SuiteBinary[]): ControlFields[] {
    return this.controlStore.getMany(binaries.map((b) => b.path)).map((c) => c ?? []);
  }

  /** The version of `source` that suite `suiteName` publishes: its source package's, else its binaries' newest. */
  publishedVersion(suiteName: string, source: string): string | undefined {
    return publishedVersion(this.get(suiteName), source);
  }

  /** A binary's file's digests, from the control store. */
  digest(b: SuiteBinary): Digest | undefined {
    return this.controlStore.digest(b.path);
  }

  /** Every configured suite (empty when new) and every snapshot, for the publisher. */
  all(): SuiteContents[] {
    const suites = this.config().suites.map((s) => this.get(s.name));
    const snapshots = this.store.all().filter((c) => c.kind === 'snapshot').sort((a, b) => inOrder(a.id, b.id));
    return [...suites, ...snapshots];
  }

  /**
   * Throws when `config` (archive.yaml, read from `file`) names a suite a snapshot here is: the
   * suite would take the snapshot's place, its first change writing the snapshot's record over
   * (its members gone, a collection then freeing their pool files). The queue takes no such
   * archive.yaml (queue.ts), and `archive snapshot` takes no suite's name.
   */
  checkConfig(config: ArchiveConfig, file: string): void {
    for (const s of config.suites) {
      const held = this.store.get(s.name);
      if (held?.kind !== 'snapshot') continue;
      throw new ConfigError(file, `suites.${s.name}: ${s.name} is a snapshot (of ${held.of ?? 'a suite'}, made ${held.createdAt ?? 'before'}), which a suite of that name would replace, its packages lost; name the suite otherwise, or delete the snapshot first (archive snapshot ${s.name} --delete)`);
    }
  }

  private get(id: string): SuiteContents {
    const held = this.store.get(id);
    return held?.kind === 'suite' ? held : emptyContents(id);
  }

  private suite(name: string): SuiteConfig {
    const suite = this.config().suites.find((s) => s.name === name);
    if (!suite) throw new ContentsError(`no suite "${name}" in archive.yaml (suites: ${this.config().suites.map((s) => s.name).join(', ')})`);
    return suite;
  }

  private async noteHistory(changes: Batch): Promise<void> {
    await this.historyStore.append(changes, async () => {
      const held = await this.readHistory();
      for (const _ in held) return withHistory(held, changes);
      // Into a history of nothing (a new archive's first include): written a source at a time.
      return new RecordAsWritten(changes.length, () => newHistory(changes));
    });
  }

  private async readHistory(): Promise<PoolHistory> {
    return (await this.historyStore.load()) ?? {};
  }

  /** An accepted upload's source joins its suite (a newer one already there wins). */
  async addSource(upload: UploadRecord): Promise<void> {
    const suite = this.suite(upload.suite!);
    const stanza = new Paragraph(upload.sourceStanza ?? []);
    const files = upload.sourceFiles.map((f) => f.path);
    await this.noteHistory([{ source: upload.source, version: upload.version, files }]);
    try {
      await this.store.save(
        withSource(this.get(suite.name), {
          source: upload.source,
          version: upload.version,
          component: componentFor(stanza.first('Section'), suite.components),
          stanza: stanza.entries(),
          files,
          uploadId: upload.id,
          since: new Date().toISOString(),
        }),
      );
    } catch (err) {
      if (!(err instanceof ContentsError)) throw err;
      this.log(`upload ${upload.id}: not published: ${err.message}`);
    }
  }

  /**
   * A finished build's binaries join the suite when its source version is the one published
   * there (a build of a superseded or removed source is kept in the pool only). When the last
   * build of that version is in, binaries older versions built are dropped.
   */
  async addBuild(job: JobRecord, allBuilt: boolean): Promise<void> {
    await this.noteHistory([{ source: job.source, version: job.version, files: [...job.binaries.map((b) => b.path), ...job.artifacts] }]);
    const contents = this.get(job.suite);
    const published = contents.sources.find((s) => s.source === job.source);
    if (published?.version !== job.version) {
      this.log(`job ${job.id}: not published: ${job.suite} has ${published ? `${job.source} ${published.version}` : `no ${job.source}`}`);
      return;
    }
    const suite = this.suite(job.suite);
    const all = job.binaries.map((b) => suiteBinary(b, componentFor(new Paragraph(b.control).first('Section'), suite.components), 'built', job.id));
    // Checked again as it joins (core/artifact-checks.ts checked it as it was handed in): a
    // build held back meanwhile (wait_for_all_architectures, publish_requires) may find a
    // package of its published by another source since, which it does not take over.
    const others = new Map(suite.allowBinaryTakeover ? [] : takeovers(contents, job.source, all));
    const binaries = all.filter((b) => {
      const other = others.get(b.package);
      if (other) this.log(`job ${job.id}: ${b.package} not published: ${job.suite} has it from source ${other} (allow_binary_takeover is off)`);
      return !other;
    });
    // Noted first: the check against the suite's members compares the files' digests, which the store holds.
    await this.controlStore.add(job.binaries);
    let next = withBinaries(contents, binaries, (b) => this.digest(b)?.sha256);
    if (allBuilt) next = withoutSuperseded(next, job.source);
    await this.store.save(next);
  }

  async remove(source: string, suiteName: string): Promise<QueueAnswer> {
    const contents = this.store.get(suiteName);
    if (contents?.kind === 'snapshot') throw new ContentsError(`${suiteName} is a snapshot: snapshots do not change (delete it with archive snapshot ${suiteName} --delete)`);
    this.suite(suiteName);
    const result = withoutSource(this.get(suiteName), source);
    await this.store.save(result.contents);
    return { ok: true, message: `removed ${source} from ${suiteName}: ${result.sources} source package(s), ${result.binaries} binary package(s)` };
  }

  /** `archive copy`, and a migration's copy of the `version` it decided on (refused when `from` holds another by now). */
  async copy(source: string, from: string, to: string, version?: string): Promise<QueueAnswer> {
    // A suite of archive.yaml, even empty; else a snapshot (or a suite archive.yaml names no more).
    const origin = this.config().suites.some((s) => s.name === from) ? this.get(from) : this.store.get(from);
    if (!origin) throw new ContentsError(`no suite or snapshot "${from}" (there are: ${this.all().map((c) => c.id).join(', ')})`);
    if (this.store.get(to)?.kind === 'snapshot') throw new ContentsError(`${to} is a snapshot: snapshots do not change`);
    const target = this.suite(to);
    const held = publishedVersion(origin, source);
    if (version !== undefined && held !== version) throw new ContentsError(`${from} has ${source} ${held ?? '(none)'} now, not the ${version} decided on`);
    const result = withCopy(origin, this.get(to), source, target.architectures, !!target.allowBinaryTakeover);
    if (result.unchanged) return { ok: true, message: `${to} has ${source} ${result.version} already, with every binary package a copy from ${from} would bring: nothing copied (its days in ${to} count on)`, version: result.version };
    await this.store.save(result.contents);
    return {
      ok: true,
      message: `copied ${source} ${result.version} from ${from} to ${to} with ${result.copied.length} binary package(s), no rebuild`,
      version: result.version,
    };
  }

  async snapshot(name: string, suiteName: string): Promise<QueueAnswer> {
    const wrong = snapshotNameError(name);
    if (wrong) throw new ContentsError(wrong);
    const taken = this.config().suites.some((s) => s.name === name || s.aliases.includes(name)) || this.store.get(name);
    if (taken) throw new ContentsError(`"${name}" is already a suite, an alias or a snapshot; choose another name`);
    const suite = this.suite(suiteName);
    const contents = this.get(suiteName);
    await this.store.save({
      ...contents,
      id: name,
      kind: 'snapshot',
      of: suite.name,
      createdAt: new Date().toISOString(),
      components: suite.components,
      architectures: suite.architectures,
    });
    return { ok: true, message: `snapshot ${name} of ${suiteName}: ${contents.sources.length} source and ${contents.binaries.length} binary package(s), published as dists/${name}` };
  }

  async deleteSnapshot(name: string): Promise<QueueAnswer> {
    if (this.store.get(name)?.kind !== 'snapshot') {
      const names = this.snapshots().map((c) => c.id).sort(inOrder);
      throw new ContentsError(`no snapshot "${name}" (${names.length ? `there are: ${names.join(', ')}` : 'there are none'})`);
    }
    await this.store.remove(name);
    return { ok: true, message: `snapshot ${name} deleted` };
  }

  /**
   * `archive include`: prebuilt .debs from elsewhere, checked like a build's artifacts (control
   * readable, name, version and architecture valid and wanted here), pooled under their
   * canonical names and marked imported. A bad file is reported and the rest go on. `names`
   * (the request's) is used up: each name read is emptied once its file is placed or refused.
   */
  async include(dir: string, names: string[], suiteName: string, component?: string): Promise<QueueAnswer> {
    const suite = this.suite(suiteName);
    if (this.store.get(suiteName)?.kind === 'snapshot') throw new ContentsError(`${suiteName} is a snapshot: snapshots do not change`);
    if (component && !suite.components.includes(component)) {
      throw new ContentsError(`--component ${component}: ${suiteName} has the components ${suite.components.join(', ')}`);
    }
    const errors: { at: number; message: string }[] = [];
    const refuse = (at: number, message: string) => errors.push({ at, message: `${names[at]}: ${message}` });
    const good: number[] = [];
    for (const [i, n] of names.entries()) {
      if (isPackageFileName(n)) good.push(i);
      else refuse(i, 'not a .deb or .udeb file name');
    }
    // In parts of up to a thousand files (included-debs.ts reads and checks them, holding at
    // most HELD_BYTES of their bytes), each taken once the CLI has copied its first NOTED_EVERY
    // (or all that remain), with as many more as are there: checked against the suite and pooled
    // while the CLI copies the next. (Parts of a thousand each waited for the thousandth file:
    // at 1,000 the CLI's copying and the queue's reading and placing ran one after the other.)
    const inSuite = this.get(suiteName);
    const earlier = new ByBinaryKey(); // this request's
    let placed: SuiteBinary[] = [];
    /** Placed, then superseded by a newer version this request brings (at its place in the request). */
    const superseded = new Map<SuiteBinary, { at: number; newer: SuiteBinary }>();
    let replaced = 0;
    for (let from = 0; from < good.length; ) {
      const candidates: { at: number; binary: SuiteBinary; control: ControlFields; digest: Digest }[] = [];
      const staged = await whenStaged(dir, good[Math.min(from + NOTED_EVERY, good.length) - 1] + 1).catch((err: Error) => {
        throw new ContentsError(err.message);
      });
      let to = Math.min(from + NOTED_EVERY, good.length);
      while (to < good.length && to - from < PART && good[to] < staged) to++;
      const slice = good.slice(from, (from = to));
      const read = await readIncludedDebs(dir, slice.map((at) => names[at]), suite, component);
      for (const [j, r] of read.entries()) {
        if ('refused' in r) refuse(slice[j], r.refused);
        else candidates.push({ at: slice[j], ...r });
      }
      // Then checked against the suite and the files before them, in the request's order (the
      // digests of this thousand's files, until the control store has them).
      const added: typeof candidates = [];
      const digests = new Map(candidates.map((c) => [c.binary, c.digest.sha256]));
      const sha256Of = (b: SuiteBinary) => digests.get(b) ?? this.digest(b)?.sha256;
      // A package another source publishes there, or another file of this request brings, is not
      // taken over, unless the suite allows it (as for builds and copies).
      const allowTakeover = !!suite.allowBinaryTakeover;
      const taken = allowTakeover ? new Map<string, string>() : takenOver(inSuite, candidates.map((c) => c.binary));
      for (const c of candidates.sort((a, b) => a.at - b.at)) {
        const { package: pkg, source } = c.binary;
        const other = taken.get(`${pkg} ${source}`);
        const brought = allowTakeover ? undefined : earlier.named(pkg);
        if (other) refuse(c.at, takeoverRefusal(suiteName, pkg, other, source));
        else if (brought && brought.source !== source) refuse(c.at, takeoverRefusal(suiteName, pkg, brought.source, source, 'this request'));
        else {
          const mine = earlier.get(c.binary);
          const old = mine ?? heldBinary(inSuite, c.binary);
          const conflict = binaryConflict(suiteName, old, c.binary, sha256Of);
          if (conflict) refuse(c.at, conflict);
          else if (old && compareVersions(old.version, c.binary.version) > 0) refuse(c.at, olderThan(c.binary, old, mine ? undefined : suiteName));
          else {
            // Its pool file no longer backs a member: the suite's, or this request's older one, which is refused below.
            if (old && old.path !== c.binary.path) replaced++;
            if (mine && mine.path !== c.binary.path) superseded.set(mine, { at: c.at, newer: c.binary });
            earlier.set(c.binary);
            added.push(c);
          }
        }
      }
      const controls: { path: string; control: ControlFields; md5: string; sha256: string }[] = [];
      await inBatches(added, 16, ({ at, binary, control, digest }) =>
        placeFile(join(dir, names[at]), join(this.layout.public, binary.path), digest.sha256).then(
          () => void (placed.push(binary), controls.push({ path: binary.path, control, md5: digest.md5, sha256: digest.sha256 })),
          (err: Error) => void refuse(at, err.message),
        ),
      );
      // Noted a thousand at a time: the fields of 100,000 packages are never held at once.
      await this.controlStore.add(controls);
      // Nor their names, once they are placed or refused (5 MiB of the heap at 100,000).
      for (const at of slice) names[at] = '';
    }
    // A package this request brings in two versions, the older first: placed, but the newer goes
    // in. Refused where the newer comes, named as the pool names it (its name in the request is let go by now).
    // (Unless the newer could not be placed: the older one goes in then.)
    if (superseded.size > 0) {
      const placedNow = new Set(placed);
      placed = placed.filter((b) => {
        const by = superseded.get(b);
        if (!by || !placedNow.has(by.newer)) return true;
        errors.push({ at: by.at, message: `${basename(b.path)}: ${olderThan(b, by.newer)}` });
        return false;
      });
    }
    // What reading and placing them left is collected before the suite and history are written (heap.ts).
    collectAfterMany(placed.length);
    const contents = withBinaries(this.get(suiteName), placed, (b) => this.digest(b)?.sha256);
    // Side by side.
    await Promise.all([
      this.noteHistory(new MadeAsWritten(placed, (b) => ({ source: b.source, version: b.sourceVersion, files: [b.path] }))),
      placed.length > 0 ? this.store.save(contents) : undefined,
    ]);
    const summary = `included ${placed.length} of ${names.length} package(s) into ${suiteName}`;
    const refused = errors.sort((a, b) => a.at - b.at).map((e) => e.message);
    return {
      ok: refused.length === 0,
      message: refused.length ? `${summary}; refused:\n  ${refused.join('\n  ')}` : summary,
      included: new MadeAsWritten(placed, (b) => ({ package: b.package, version: b.version, architecture: b.arch, path: b.path })),
      replaced,
      errors: refused,
    };
  }

  /**
   * Removes pool files nothing keeps: not in a suite or snapshot, not named by a generation a
   * client may still read, not of a retained version, not `pending` (needed by a build still to
   * run, or built and waiting to join its suite).
   */
  async collectGarbage(pending: string[]): Promise<string[]> {
    // Every contents held, not only what is published: a suite taken out of archive.yaml keeps
    // its files and controls (as reprepro keeps a vanished distribution's), to be published as
    // it was when it comes back, not naming files a collection took meanwhile.
    const all = this.store.all();
    const held = new Set(pending);
    for (const c of all) for (const f of poolFilesOf(c)) held.add(f);
    const removed = await collectPool(this.layout, held, async (outside) => {
      // Only the history of the sources whose folders hold those files (pool/COMPONENT/PREFIX/
      // SOURCE/FILE, poolDirOf): an archive that keeps older versions (keep_versions) has some
      // at every collection, and the whole history of 100,000 sources took 100 MiB of heap.
      const sources = new Set(outside.map((f) => basename(dirname(f))));
      const inUse = new Set<string>();
      for (const c of all) {
        for (const s of c.sources) if (sources.has(s.source)) inUse.add(`${s.source} ${s.version}`);
        for (const b of c.binaries) if (sources.has(b.source)) inUse.add(`${b.source} ${b.sourceVersion}`);
      }
      const read = await this.historyStore.loadPart({ base: { history: (source) => sources.has(source) }, change: (batch) => (Array.isArray(batch) ? batch : [...batch]).filter((e) => sources.has(e.source)) });
      // (A base from before the journal is the history alone, read whole: the others' are not judged here.)
      const history = Object.fromEntries(Object.entries(read ?? {}).filter(([source]) => sources.has(source)));
      const kept = retained(history, this.config().publish.keepVersions, inUse);
      // The versions cut, as one change (the history is not written whole), before their files
      // go: a crash between leaves files no version keeps, which the next collection takes.
      if (kept.dropped.length > 0) await this.noteHistory(kept.dropped);
      for (const f of await poolFilesOfGenerations(this.layout, new Set(outside))) kept.files.add(f);
      return kept.files;
    });
    if (removed.length > 0) await this.controlStore.compact(new Set(all.flatMap((c) => c.binaries.map((b) => b.path))));
    return removed;
  }

  /** Snapshot names, for listings. */
  snapshots(): SuiteContents[] {
    return this.store.all().filter((c) => c.kind === 'snapshot');
  }
}
