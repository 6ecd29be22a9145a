// Index diffs ("pdiffs", as dak's generate-index-diffs and reprepro's rredtool publish them):
// beside each Packages and Sources file, a folder INDEX.diff/ with one ed-style patch per
// publication that changed the index (gzipped) and an Index naming them, so that an apt client
// holding an older index fetches the few patches since, not the whole file. apt applies the
// series itself (client-side merging, its default), checking each step's hashes and the end
// result against Release.
/** One patch of the series: the index it applies to (hash and size), and the patch itself. */
export interface PatchEntry {
  name: string;
  /** The index before the patch. */
  from: { sha256: string; size: number };
  /** The ed script, and its .gz as served. */
  patch: { sha256: string; size: number };
  download: { sha256: string; size: number };
}

const NEWLINE = 0x0a;

/** Lines in `text` from byte `from` to byte `to` (each ends with a newline). */
function countLines(text: Buffer, from: number, to: number): number {
  let n = 0;
  for (let at = text.indexOf(NEWLINE, from); at !== -1 && at < to; at = text.indexOf(NEWLINE, at + 1)) n++;
  return n;
}

/**
 * The ed script (as `diff --ed` writes it, which apt's rred applies) that turns `before` into
 * `after`: the lines between their common beginning and their common end, replaced, in one
 * command. A publication's changes to a sorted index lie in a few places (foo and libfoo1 far
 * apart): each is given its own (edScriptOfParts), and a wide one is still correct (apt falls
 * back to the whole index when patches add up to more than it). Undefined when there is nothing to patch or ed cannot carry it: a text whose
 * last line has no newline, or a new line that is a lone "." (ed's end of input). `before` and
 * `after` may be the changed part of longer texts, both starting after their first `fromLine`
 * lines, which are the same.
 */
export function edScript(before: Buffer, after: Buffer, fromLine = 0): Buffer | undefined {
  if (before.equals(after)) return undefined;
  const whole = (t: Buffer) => t.length === 0 || t[t.length - 1] === NEWLINE;
  if (!whole(before) || !whole(after)) return undefined;
  let prefix = 0;
  const shorter = Math.min(before.length, after.length);
  // Whole blocks first (memcmp), then bytes: an index of 10 MB is compared in milliseconds.
  const BLOCK = 4096;
  const same = (a: number, b: number, n: number) => before.subarray(a, a + n).equals(after.subarray(b, b + n));
  while (prefix + BLOCK <= shorter && same(prefix, prefix, BLOCK)) prefix += BLOCK;
  while (prefix < shorter && before[prefix] === after[prefix]) prefix++;
  // Back to the start of the line the texts part in.
  const start = prefix === 0 ? 0 : before.lastIndexOf(NEWLINE, prefix - 1) + 1;
  let suffix = 0;
  while (suffix + BLOCK <= shorter - start && same(before.length - suffix - BLOCK, after.length - suffix - BLOCK, BLOCK)) suffix += BLOCK;
  while (suffix < shorter - start && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) suffix++;
  // Forward to where a line starts in both texts: the common end is whole lines of each.
  let beforeEnd = before.length - suffix;
  let afterEnd = after.length - suffix;
  const lineStart = (t: Buffer, at: number) => at === 0 || t[at - 1] === NEWLINE;
  while (beforeEnd < before.length && !(lineStart(before, beforeEnd) && lineStart(after, afterEnd))) {
    beforeEnd++;
    afterEnd++;
  }
  const first = fromLine + countLines(before, 0, start) + 1;
  const removed = countLines(before, start, beforeEnd);
  const added = after.subarray(start, afterEnd);
  if (added.length > 0 && (added.toString('latin1').startsWith('.\n') || added.includes('\n.\n'))) return undefined;
  const range = removed === 1 ? `${first}` : `${first},${first + removed - 1}`;
  if (removed === 0) return Buffer.concat([Buffer.from(`${first - 1}a\n`), added, Buffer.from('.\n')]);
  if (added.length === 0) return Buffer.from(`${range}d\n`);
  return Buffer.concat([Buffer.from(`${range}c\n`), added, Buffer.from('.\n')]);
}

/**
 * The ed script of several changed parts of one text, each its `before` and `after` bytes and
 * the lines the text holds before it (in order, apart): each part's commands, the last part's
 * first, as `diff --ed` writes its hunks, so that each command's line numbers are those of the
 * text before the patch. A part whose texts are the same adds nothing. Undefined when no part
 * changes anything, or when ed cannot carry one of them (edScript).
 */
export function edScriptOfParts(parts: { before: Buffer; after: Buffer; fromLine: number }[]): Buffer | undefined {
  const scripts: Buffer[] = [];
  for (const part of parts) {
    if (part.before.equals(part.after)) continue;
    const script = edScript(part.before, part.after, part.fromLine);
    if (!script) return undefined;
    scripts.push(script);
  }
  return scripts.length ? Buffer.concat(scripts.reverse()) : undefined;
}

/** INDEX.diff/Index: the current index and the series, oldest patch first. */
export function diffIndexText(current: { sha256: string; size: number }, patches: PatchEntry[]): string {
  const list = (pick: (p: PatchEntry) => { sha256: string; size: number }, suffix = '') =>
    patches.map((p) => ` ${pick(p).sha256} ${String(pick(p).size).padStart(8)} ${p.name}${suffix}\n`).join('');
  return (
    `SHA256-Current: ${current.sha256} ${current.size}\n` +
    `SHA256-History:\n${list((p) => p.from)}` +
    `SHA256-Patches:\n${list((p) => p.patch)}` +
    `SHA256-Download:\n${list((p) => p.download, '.gz')}`
  );
}

/** The series an Index names (what diffIndexText wrote; anything else yields none). */
export function parseDiffIndex(text: string): PatchEntry[] {
  const field = (name: string) => {
    const m = text.match(new RegExp(`^${name}:\\n((?: .*\\n)*)`, 'm'));
    return (m?.[1] ?? '').split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/));
  };
  const patches = new Map(field('SHA256-Patches').map(([sha256, size, name]) => [name, { sha256, size: Number(size) }]));
  const downloads = new Map(field('SHA256-Download').map(([sha256, size, name]) => [name.replace(/\.gz$/, ''), { sha256, size: Number(size) }]));
  return field('SHA256-History').flatMap(([sha256, size, name]) => {
    const patch = patches.get(name);
    const download = downloads.get(name);
    return patch && download ? [{ name, from: { sha256, size: Number(size) }, patch, download }] : [];
  });
}
