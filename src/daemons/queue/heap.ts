// Node's heap collected at the one moment the queue knows most of it is garbage: after an include
// of many packages, before the publication that follows. Left to itself, node lets the old
// generation grow by half again (--heap-growing-percent=50) during that publication before its
// next full collection, over what the include left behind: at 10,000 packages the queue's peak
// was 5-7 MiB higher (README, "Development"). Needs node's --expose-gc, which the queue's command
// in compose/compose.yaml gives it; without it, nothing is done.

/** An include of at least this many packages is followed by a collection. */
export const MANY_PACKAGES = 1000;

/** A full collection when `packages` is many and node exposes one; whether it ran. */
export function collectAfterMany(packages: number): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (packages < MANY_PACKAGES || !gc) return false;
  gc();
  return true;
}
