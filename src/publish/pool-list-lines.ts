// The lines of a generation's pool.list (publish/generations.ts) as bytes, made from the previous
// list's where its paths come again. At 100,000 paths, encoding them all took the queue 25-30 ms
// a publication (the strings are scattered over its heap: each costs a trip to memory), and a
// publication usually adds or removes a few. So the bytes are kept in runs of consecutive paths,
// known by the path each begins with; a run found again, path for path (the same strings: the
// suites' members are values), is written as it was, and only the paths around a change are
// encoded.

/** Paths in a run encoded at once. */
const RUN = 1024;
/** A run this short that comes before paths encoded anew is encoded again with them: appends do not leave a trail of tiny runs. */
const SHORT_RUN = 64;

interface Run {
  paths: string[];
  bytes: Buffer;
}

export class PoolListLines {
  /** The runs of the previous list, by the path each begins with. */
  private runs = new Map<string, Run>();

  /** The lines of `files` (one path a line), as buffers to be written one after the other. */
  parts(files: string[]): Buffer[] {
    const made: Run[] = [];
    let i = 0;
    while (i < files.length) {
      const run = this.runs.get(files[i]);
      if (run && run.paths.every((p, j) => files[i + j] === p)) {
        made.push(run);
        i += run.paths.length;
        continue;
      }
      // Encoded anew, up to the next path a run begins with (RUN at most), with a short run before.
      let from = i;
      if (made.length > 0 && made[made.length - 1].paths.length < SHORT_RUN) from -= made.pop()!.paths.length;
      let end = i + 1;
      while (end < files.length && end - from < RUN && !this.runs.has(files[end])) end++;
      made.push(encode(files.slice(from, end)));
      i = end;
    }
    this.runs = new Map(made.map((r) => [r.paths[0], r]));
    return made.map((r) => r.bytes);
  }
}

function encode(paths: string[]): Run {
  const bytes = Buffer.allocUnsafe(paths.reduce((n, p) => n + Buffer.byteLength(p) + 1, 0));
  let at = 0;
  for (const p of paths) {
    at += bytes.write(p, at);
    bytes[at++] = 0x0a;
  }
  return { paths, bytes };
}
