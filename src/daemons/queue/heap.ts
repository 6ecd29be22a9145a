// Node's heap collected at the moments the queue knows most of it is garbage: when an include of
// many packages has read and placed them, before they join their suite and it is written; after
// it, before the publication that follows; and once the include is answered, before the status
// page is rendered (what the publication left: 20-30 MiB at 100,000). Left to itself, node lets
// the old generation grow over what is live at its last full collection (as compose/compose.yaml
// says; by half when these were measured): at 10,000 packages the queue's peak was 5-7 MiB higher
// without the second (README, "Development"), and at 100,000 its peak came as the suite and
// history were written, 171-174 MiB with the first against 187-189 without. Not below 5,000:
// at 1,000 the heap is some 16 MiB, and the first two collections cost 19 ms of a 0.5 s include,
// lowering no peak. Needs node's --expose-gc, which the queue's command in compose/compose.yaml
// gives it; without it, nothing is done.

/**
 * An include of at least this many packages: the heap is collected before they join their suite,
 * before their publication and after the answer.
 */
export const MANY_PACKAGES = 5000;

/** A full collection when `packages` is many and node exposes one; whether it ran. */
export function collectAfterMany(packages: number): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (packages < MANY_PACKAGES || !gc) return false;
  gc();
  return true;
}
