// What root's systemd unit would run, looked at before it is installed: a checkout another user
// could change would give that user root at the next boot. On real folders; the owners need root.
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { changeableByOthers } from './service.js';

// Owners other than one's own can be given only by root: elsewhere left out, never in CI (which runs as root).
const asRoot = process.getuid!() === 0 || !!process.env.CI;

describe.runIf(asRoot)('a checkout root\'s unit would run', () => {
  let tree: string;
  afterEach(() => rmSync(tree, { recursive: true, force: true }));
  const make = () => {
    tree = scratchDir('aib-service-');
    chmodSync(tree, 0o755);
    for (const dir of ['bin', 'dist/cli', 'node_modules/pkg']) mkdirSync(join(tree, dir), { recursive: true, mode: 0o755 });
    for (const file of ['bin/archive.js', 'dist/cli/main.js', 'node_modules/pkg/index.js', 'package.json']) writeFileSync(join(tree, file), '', { mode: 0o644 });
  };

  it('is refused at the first file or folder another user owns or may write, in it or on the way to it', () => {
    make();
    expect(changeableByOthers(tree, process.execPath)).toBeUndefined();
    chownSync(join(tree, 'node_modules/pkg/index.js'), 10001, 10001);
    expect(changeableByOthers(tree, process.execPath)).toBe(join(tree, 'node_modules/pkg/index.js'));
    chownSync(join(tree, 'node_modules/pkg/index.js'), 0, 0);
    chmodSync(join(tree, 'dist/cli'), 0o775);
    expect(changeableByOthers(tree, process.execPath)).toBe(join(tree, 'dist/cli'));
    chmodSync(join(tree, 'dist/cli'), 0o755);
    chmodSync(join(tree, 'package.json'), 0o646);
    expect(changeableByOthers(tree, process.execPath)).toBe(join(tree, 'package.json'));
    chmodSync(join(tree, 'package.json'), 0o644);
    // The compose file and the images' build contexts: the builder they make runs as root.
    mkdirSync(join(tree, 'images/repo'), { recursive: true, mode: 0o755 });
    writeFileSync(join(tree, 'images/repo/Dockerfile'), '', { mode: 0o644 });
    chownSync(join(tree, 'images/repo/Dockerfile'), 10001, 10001);
    expect(changeableByOthers(tree, process.execPath)).toBe(join(tree, 'images/repo/Dockerfile'));
    chownSync(join(tree, 'images/repo/Dockerfile'), 0, 0);
    // A link out of the tree, to a file another user may change; .git is not looked into.
    const outside = scratchDir('aib-service-out-');
    chmodSync(outside, 0o755);
    writeFileSync(join(outside, 'index.js'), '');
    chmodSync(join(outside, 'index.js'), 0o666);
    symlinkSync(join(outside, 'index.js'), join(tree, 'node_modules/pkg/linked.js'));
    expect(changeableByOthers(tree, process.execPath)).toBe(join(outside, 'index.js'));
    rmSync(join(tree, 'node_modules/pkg/linked.js'));
    rmSync(outside, { recursive: true, force: true });
    mkdirSync(join(tree, '.git'), { mode: 0o777 });
    chmodSync(join(tree, '.git'), 0o777);
    expect(changeableByOthers(tree, process.execPath)).toBeUndefined();
    // The checkout's own folder in a user's home.
    chownSync(tree, 10001, 10001);
    expect(changeableByOthers(tree, process.execPath)).toBe(tree);
    chownSync(tree, 0, 0);
  });

  it('walks into a folder a link leads to out of the tree, once however its links loop', () => {
    make();
    // node_modules/x -> a package folder outside (as a workspace or npm link makes), whose file another user owns.
    const outside = scratchDir('aib-service-out-');
    chmodSync(outside, 0o755);
    mkdirSync(join(outside, 'x/lib'), { recursive: true, mode: 0o755 });
    writeFileSync(join(outside, 'x/lib/index.js'), '', { mode: 0o644 });
    symlinkSync(join(outside, 'x'), join(tree, 'node_modules/x'));
    // Links that lead back: to the folder itself, to the tree, to a folder that leads back again.
    symlinkSync(join(outside, 'x'), join(outside, 'x/lib/self'));
    symlinkSync(tree, join(outside, 'x/tree'));
    symlinkSync(outside, join(outside, 'x/up'));
    expect(changeableByOthers(tree, process.execPath)).toBeUndefined();
    chownSync(join(outside, 'x/lib/index.js'), 10001, 10001);
    expect(changeableByOthers(tree, process.execPath)).toBe(join(outside, 'x/lib/index.js'));
    chownSync(join(outside, 'x/lib/index.js'), 0, 0);
    chmodSync(join(outside, 'x/lib'), 0o777);
    expect(changeableByOthers(tree, process.execPath)).toBe(join(outside, 'x/lib'));
    chmodSync(join(outside, 'x/lib'), 0o755);
  });
});
