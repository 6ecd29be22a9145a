// Upload handling against a running archive: signatures with a keyring, a bad upload that
// does not stop the queue, a partial upload completed later.
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestArchive, cleanupRun, type UpResult } from './support/archive.js';
import { dput, makeKey, makeSourcePackage } from './support/packages.js';

describe('uploads to a running archive', () => {
  let archive: TestArchive;
  let up: UpResult;
  let gnupg: string;

  beforeAll(async () => {
    gnupg = await mkdtemp(join(tmpdir(), 'aib-g-'));
    archive = await TestArchive.create();
    up = await archive.up();
  });

  afterAll(async () => {
    await execa('gpgconf', ['--homedir', gnupg, '--kill', 'all'], { reject: false });
    await rm(gnupg, { recursive: true, force: true });
    await archive?.destroy();
    await cleanupRun();
  });

  it('handles a bad upload and still accepts and builds the good one after it', async () => {
    const bad = await makeSourcePackage(await mkdtemp(join(archive.work, 'bad-')), { name: 'aib-wrongdist', version: '1.0-1', distribution: 'stable' });
    for (const f of [...bad.files, bad.changes]) await copyFile(join(bad.dir, f), join(up.incoming, f));
    const good = await makeSourcePackage(await mkdtemp(join(archive.work, 'good-')), { name: 'aib-after', version: '1.0-1' });
    await dput(up.dputConfig, 'archive', good.changesPath, good.dir);

    const rejected = await archive.cli(['wait', 'aib-wrongdist', '1.0-1', '--timeout', '120']);
    expect(rejected.exitCode).toBe(1);
    expect(rejected.stderr).toContain('Distribution "stable" is not a suite of this archive (known: unstable)');
    const accepted = await archive.cli(['wait', 'aib-after', '1.0-1', '--timeout', '900']);
    expect(accepted.exitCode, String(accepted.all)).toBe(0);
    const status = JSON.parse(String((await archive.cli(['status', '--json'])).stdout));
    expect(status.unsignedUploads).toBe('allowed');
    expect(status.rejected.map((u: { source: string }) => u.source)).toContain('aib-wrongdist');
  });

  it('waits for a partial upload and accepts it once the rest arrives', async () => {
    const pkg = await makeSourcePackage(await mkdtemp(join(archive.work, 'partial-')), { name: 'aib-partial', version: '1.0-1' });
    // The .changes first, as some clients send it, then a pause longer than the settle time.
    await copyFile(pkg.changesPath, join(up.incoming, pkg.changes));
    await copyFile(join(pkg.dir, pkg.dsc), join(up.incoming, pkg.dsc));
    await new Promise((r) => setTimeout(r, 8000));
    expect((await readdir(up.incoming)).sort()).toEqual([pkg.changes, pkg.dsc].sort());
    const early = JSON.parse(String((await archive.cli(['status', '--json'])).stdout));
    expect(early.uploads.some((u: { source: string }) => u.source === 'aib-partial')).toBe(false);
    for (const f of pkg.files) await copyFile(join(pkg.dir, f), join(up.incoming, f));
    const waited = await archive.cli(['wait', 'aib-partial', '1.0-1', '--timeout', '900']);
    expect(waited.exitCode, String(waited.all)).toBe(0);
  });

  it('with signatures required, accepts an upload signed by a key in the keyring and rejects one signed by an unknown key', async () => {
    const uploader = await makeKey(gnupg, 'Uploader <uploader@example.org>');
    const stranger = await makeKey(gnupg, 'Stranger <stranger@example.org>');
    const keyFile = join(archive.work, 'uploader.asc');
    await writeFile(keyFile, (await execa('gpg', ['--homedir', gnupg, '--armor', '--export', uploader])).stdout);
    const added = await archive.cli(['keys', 'add', keyFile]);
    expect(added.exitCode, String(added.all)).toBe(0);
    const listed = JSON.parse(String((await archive.cli(['keys', 'ls', '--json'])).stdout));
    expect(listed.keys.map((k: { fingerprint: string }) => k.fingerprint)).toEqual([uploader]);

    const config = join(archive.root, 'archive.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace('allow_unsigned: true', 'allow_unsigned: false'));
    const status = JSON.parse(String((await archive.cli(['status', '--json'])).stdout));
    expect(status.unsignedUploads).toBe('refused');

    const signed = await makeSourcePackage(await mkdtemp(join(archive.work, 'signed-')), { name: 'aib-signed', version: '1.0-1', sign: { gnupgHome: gnupg, key: uploader } });
    await dput(up.dputConfig.replace('allow_unsigned_uploads = 1', 'allow_unsigned_uploads = 0'), 'archive', signed.changesPath, signed.dir, gnupg);
    const ok = await archive.cli(['wait', 'aib-signed', '1.0-1', '--timeout', '900', '--json']);
    expect(ok.exitCode, String(ok.all)).toBe(0);
    expect(JSON.parse(String(ok.stdout)).signedBy).toBe(uploader);

    const unknown = await makeSourcePackage(await mkdtemp(join(archive.work, 'unknown-')), { name: 'aib-signed', version: '1.0-2', sign: { gnupgHome: gnupg, key: stranger } });
    await dput(up.dputConfig.replace('allow_unsigned_uploads = 1', 'allow_unsigned_uploads = 0'), 'archive', unknown.changesPath, unknown.dir, gnupg);
    const refused = await archive.cli(['wait', 'aib-signed', '1.0-2', '--timeout', '120']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/aib-signed_1\.0-2_source\.changes: signed by a key that is not in the uploaders keyring/);

    const unsigned = await makeSourcePackage(await mkdtemp(join(archive.work, 'unsigned-')), { name: 'aib-signed', version: '1.0-3' });
    for (const f of [...unsigned.files, unsigned.changes]) await copyFile(join(unsigned.dir, f), join(up.incoming, f));
    const noSig = await archive.cli(['wait', 'aib-signed', '1.0-3', '--timeout', '120']);
    expect(noSig.exitCode).toBe(1);
    expect(noSig.stderr).toContain('not signed, and this archive requires signed uploads');
  });
});
