// The effect of a fail point (core/fail-points.ts): when the queue reaches the armed one, it
// notes under state/failpoints/ that it fired (so it fires once, across restarts), says so,
// and kills itself with SIGKILL: no handler, no flush, as a crash or the OOM killer would.
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { armedFailPoint, parseFailPoints, type FailPoint } from '../../core/fail-points.js';
import type { Layout } from '../../storage/layout.js';

export type FailPointHit = (point: FailPoint) => void;

/** A function to call at each fail point; does nothing unless `names` (ARCHIVE_FAILPOINTS) names points. */
export function failPoints(layout: Layout, names: string | undefined): FailPointHit {
  const points = parseFailPoints(names);
  if (points.length === 0) return () => undefined;
  const dir = join(layout.state, 'failpoints');
  return (point) => {
    let fired: string[] = [];
    try {
      fired = readdirSync(dir);
    } catch {
      // None fired yet.
    }
    if (armedFailPoint(points, new Set(fired)) !== point) return;
    // Synchronous on purpose: nothing else may run between the marker and the kill.
    mkdirSync(dir, { recursive: true });
    const fd = openSync(join(dir, point), 'w');
    fsyncSync(fd);
    closeSync(fd);
    const line = `${new Date().toISOString()} fail point ${point}: killing the queue (SIGKILL)\n`;
    process.stdout.write(line);
    appendFileSync(join(layout.logs, 'queue.log'), line);
    process.kill(process.pid, 'SIGKILL');
  };
}
