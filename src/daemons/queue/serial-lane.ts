// The queue's one lane: every change of state runs here, one after another, so no two changes
// interleave (the queue is the single writer of state/ and public/).
export class SerialLane {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs fn after everything queued before it; its failure does not stop the lane. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
