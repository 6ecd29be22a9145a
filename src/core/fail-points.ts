// Fail points: named places in the queue where a test can have it killed (SIGKILL), to show
// that a crash at that very step loses nothing. ARCHIVE_FAILPOINTS lists them; they fire one
// at a time, in the order listed, each once (daemons/queue/crash-at-fail-point.ts keeps a marker per fired
// point under state/), so one scripted run can walk an upload through a crash at every step
// even though the queue restarts between them. Unset (as for every user), nothing fires.

/** The steps a fail point can name. */
export const FAIL_POINTS = [
  /** An upload is copied into quarantine and recorded; incoming/ is not cleared yet. */
  'arrival',
  /** An upload's files are pooled and its record says accepted; quarantine still holds it. */
  'accept',
  /** A rejected upload's files are moved to state/rejected/; its record does not say so yet. */
  'reject',
  /** A new generation of dists/ is complete on disk, not yet served. */
  'publish-before-switch',
  /** The new generation is served; older ones are not pruned yet. */
  'publish-after-switch',
  /** A builder hands in the first file a build made; the queue has not stored it. */
  'hand-in',
] as const;

export type FailPoint = (typeof FAIL_POINTS)[number];

/** "arrival, accept" -> ['arrival', 'accept']; an unknown name is an error (a typo must not pass silently). */
export function parseFailPoints(text: string | undefined): FailPoint[] {
  const names = (text ?? '').split(/[\s,]+/).filter(Boolean);
  for (const name of names) {
    if (!(FAIL_POINTS as readonly string[]).includes(name)) {
      throw new Error(`ARCHIVE_FAILPOINTS: unknown fail point "${name}" (known: ${FAIL_POINTS.join(', ')})`);
    }
  }
  return names as FailPoint[];
}

/** The point that fires next: the first listed that has not fired yet. */
export function armedFailPoint(points: readonly FailPoint[], fired: ReadonlySet<string>): FailPoint | undefined {
  return points.find((p) => !fired.has(p));
}
