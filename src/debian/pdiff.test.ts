import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffIndexText, edScript, edScriptOfParts, parseDiffIndex, type PatchEntry } from './pdiff.js';

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
    expectPatches(dir, before, after, edScript(b(before), b(after)));
  }
}

/** `script` is none when the texts are the same, else turns `before` into `after` as GNU patch (ed semantics) and applyEd apply it. */
function expectPatches(dir: string, before: string, after: string, script: Buffer | undefined): void {
  if (before === after) return expect(script).toBeUndefined();
  writeFileSync(join(dir, 'file'), before);
  writeFileSync(join(dir, 'script'), script!);
  execFileSync('patch', ['--quiet', '--ed', join(dir, 'file'), join(dir, 'script')]);
  expect(readFileSync(join(dir, 'file'), 'utf8')).toBe(after);
  expect(applyEd(before, script!.toString())).toBe(after);
}

describe('an ed script of several changed parts of a text', () => {
  it('has a command for each part, the last first, each numbered as the text before the patch', () => {
    const before = 'A\nB\nC\nD\nE\nF\n';
    // B changed, D removed, G added after F.
    const parts = [
      { before: b('B\n'), after: b('B2\n'), fromLine: 1 },
      { before: b('D\n'), after: b(''), fromLine: 3 },
      { before: b('E\nF\n'), after: b('E\nF\n'), fromLine: 4 }, // the same: nothing
      { before: b(''), after: b('G\n'), fromLine: 6 },
    ];
    const script = edScriptOfParts(parts)!.toString();
    expect(script).toBe('6a\nG\n.\n4d\n2c\nB2\n.\n');
    expect(applyEd(before, script)).toBe('A\nB2\nC\nE\nF\nG\n');
  });

  it('is none when no part changes, or when ed cannot carry one of them', () => {
    expect(edScriptOfParts([{ before: b('A\n'), after: b('A\n'), fromLine: 0 }])).toBeUndefined();
    expect(edScriptOfParts([])).toBeUndefined();
    expect(edScriptOfParts([{ before: b('A\n'), after: b('B\n'), fromLine: 0 }, { before: b('C\n'), after: b('.\n'), fromLine: 1 }])).toBeUndefined();
  });

  it('turns a text with changes in several places into the other, as GNU patch applies it, on random edits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aib-pdiff-parts-'));
    let seed = 11;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    try {
      for (let round = 0; round < 40; round++) {
        // Blocks of lines (as chunks of stanzas), some replaced, removed or added between.
        const blocks = Array.from({ length: 2 + random(8) }, (_, i) => Array.from({ length: 1 + random(4) }, () => `L${i}-${random(5)}`).join('\n') + '\n');
        const parts: { before: Buffer; after: Buffer; fromLine: number }[] = [];
        let after = '';
        let lines = 0;
        for (const block of blocks) {
          const what = random(4);
          const made = what === 0 ? `N${random(9)}\n` : what === 1 ? '' : block;
          if (what < 2) parts.push({ before: b(block), after: b(made), fromLine: lines });
          if (what === 3 && random(2)) {
            const added = `A${random(9)}\n`;
            parts.push({ before: b(''), after: b(added), fromLine: lines });
            after += added;
          }
          after += made;
          lines += block.split('\n').length - 1;
        }
        expectPatches(dir, blocks.join(''), after, edScriptOfParts(parts));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
