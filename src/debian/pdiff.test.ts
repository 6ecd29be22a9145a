import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffIndexText, edScript, parseDiffIndex, type PatchEntry } from './pdiff.js';

const b = (s: string) => Buffer.from(s);

/** Applies an ed script as apt's rred does for the commands diff --ed writes (a, c, d), last first. */
function applyEd(text: string, script: string): string {
  const lines = text.split('\n').slice(0, -1);
  const commands = script.split('\n');
  for (let i = 0; i < commands.length && commands[i]; ) {
    const m = commands[i++].match(/^(\d+)(?:,(\d+))?([acd])$/)!;
    const from = Number(m[1]);
    const to = m[2] ? Number(m[2]) : from;
    const added: string[] = [];
    if (m[3] !== 'd') while (commands[i] !== '.') added.push(commands[i++]);
    if (m[3] !== 'd') i++;
    if (m[3] === 'a') lines.splice(from, 0, ...added);
    else lines.splice(from - 1, to - from + 1, ...added);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

describe('an ed script between two index texts', () => {
  const cases: [string, string, string, string | undefined][] = [
    ['a stanza added in the middle', 'A\nB\n\nD\nE\n', 'A\nB\n\nC\nC2\n\nD\nE\n', '3a\nC\nC2\n\n.\n'],
    ['a stanza added at the end', 'A\n', 'A\n\nB\n', '1a\n\nB\n.\n'],
    ['a first stanza in an empty index', '', 'A\nB\n', '0a\nA\nB\n.\n'],
    ['a line changed', 'Package: a\nVersion: 1\n\nPackage: b\n', 'Package: a\nVersion: 2\n\nPackage: b\n', '2c\nVersion: 2\n.\n'],
    ['lines removed', 'A\nB\nC\nD\n', 'A\nD\n', '2,3d\n'],
    ['everything removed', 'A\nB\n', '', '1,2d\n'],
    ['a line that grew at its start', 'a\nb\n', 'a\nxb\n', '2c\nxb\n.\n'],
    ['a line that grew at its end', 'a\nb\nc\n', 'a\nbx\nc\n', '2c\nbx\n.\n'],
    ['a repeated line inserted', 'x\nx\n', 'x\nx\nx\n', '2a\nx\n.\n'],
    ['nothing changed', 'A\n', 'A\n', undefined],
    ['a last line without its newline', 'A\n', 'A\nB', undefined],
    ['a new line that is a lone dot, which ed cannot carry', 'A\n', 'A\n.\n', undefined],
  ];
  it.each(cases)('is right for %s', (_, before, after, script) => {
    const made = edScript(b(before), b(after));
    expect(made?.toString()).toBe(script);
    if (made) expect(applyEd(before, made.toString())).toBe(after);
  });

  it('patches a whole text from its changed part alone, the lines before it counted in', () => {
    const head = 'A\nB\n\n';
    const tail = '\nY\nZ\n';
    for (const [before, after] of [['C\n', 'C\nC2\n'], ['C\nD\n', 'D\n'], ['', 'N\n'], ['C\n', '']]) {
      const part = edScript(b(before), b(after), 3)!;
      expect(part.toString()).toBe(edScript(b(head + before + tail), b(head + after + tail))!.toString());
      expect(applyEd(head + before + tail, part.toString())).toBe(head + after + tail);
    }
  });

  it('turns every text into the other as diff --ed and patch would, on random edits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-pdiff-'));
    try {
      patchesAsGnuPatchDoes(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** 40 random edits, each as edScript writes it, applied by GNU patch in DIR. */
function patchesAsGnuPatchDoes(dir: string): void {
  let seed = 7;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let round = 0; round < 40; round++) {
    const lines = Array.from({ length: 1 + random(30) }, () => `L${random(6)}`);
    const edited = [...lines];
    for (let k = random(3); k >= 0; k--) edited.splice(random(edited.length + 1), random(3), ...Array.from({ length: random(3) }, () => `N${random(6)}`));
    const before = `${lines.join('\n')}\n`;
    const after = edited.length ? `${edited.join('\n')}\n` : '';
    const script = edScript(b(before), b(after));
    if (before === after) {
      expect(script).toBeUndefined();
      continue;
    }
    // GNU patch applies ed scripts (patch --ed) with ed semantics.
    writeFileSync(join(dir, 'file'), before);
    writeFileSync(join(dir, 'script'), script!);
    execFileSync('patch', ['--quiet', '--ed', join(dir, 'file'), join(dir, 'script')]);
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe(after);
  }
}

describe('the Index of a patch series', () => {
  it('names each patch with the index it applies to, the patch and its download, and reads back', () => {
    const h = (c: string) => c.repeat(64);
    const patches: PatchEntry[] = [
      { name: 'g1', from: { sha256: h('a'), size: 10 }, patch: { sha256: h('b'), size: 20 }, download: { sha256: h('c'), size: 30 } },
      { name: 'g2', from: { sha256: h('d'), size: 11 }, patch: { sha256: h('e'), size: 21 }, download: { sha256: h('f'), size: 31 } },
    ];
    const text = diffIndexText({ sha256: h('0'), size: 99 }, patches);
    expect(text).toBe(
      `SHA256-Current: ${h('0')} 99\n` +
        `SHA256-History:\n ${h('a')}       10 g1\n ${h('d')}       11 g2\n` +
        `SHA256-Patches:\n ${h('b')}       20 g1\n ${h('e')}       21 g2\n` +
        `SHA256-Download:\n ${h('c')}       30 g1.gz\n ${h('f')}       31 g2.gz\n`,
    );
    expect(parseDiffIndex(text)).toEqual(patches);
    expect(parseDiffIndex('garbage')).toEqual([]);
  });
});
