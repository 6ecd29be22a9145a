// A command's time limit in a running container: past 2^31-1 ms a timer fires at once, so a
// long one (a day's timeout times emulation_factor 16) is waited for in pieces.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunnerContainer } from '../container-runner.js';
import { DEFAULT_LIMITS } from './build.js';
import { MAX_TIMER_MS, atDeadline, execWithinLimits } from './run-within-limits.js';

const DAY = 86_400_000;

/** A container whose command runs until it is killed. */
function runningUntilKilled() {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  const container = {
    exec: async () => ({ ended, exitCode: async () => 137 }),
    kill: vi.fn(async () => end()),
    diskUsage: async () => 0,
  };
  return { container: container as unknown as RunnerContainer, kill: container.kill };
}

describe('a time limit', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('past what a timer holds (2^31-1 ms) is reached at its deadline, not at once', async () => {
    const due = vi.fn();
    atDeadline(Date.now() + 30 * DAY, due);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1000);
    expect(due).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(30 * DAY - MAX_TIMER_MS - 1001);
    expect(due).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(due).toHaveBeenCalledOnce();
    // A deadline already passed is due at the next turn; one cancelled never.
    const late = vi.fn();
    atDeadline(Date.now() - 1000, late);
    expect(late).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(0);
    expect(late).toHaveBeenCalledOnce();
    const cancelled = vi.fn();
    atDeadline(Date.now() + 40 * DAY, cancelled)();
    await vi.advanceTimersByTimeAsync(41 * DAY);
    expect(cancelled).not.toHaveBeenCalled();
  });

  it('of 180 minutes times 200 (2.16e9 ms) does not kill a command in a running container at once, and kills it at its deadline', async () => {
    const timeoutMs = 180 * 60_000 * 200;
    expect(timeoutMs).toBeGreaterThan(MAX_TIMER_MS);
    const { container, kill } = runningUntilKilled();
    const log: string[] = [];
    const run = execWithinLimits(container, 'sleep infinity', (t) => log.push(t), { deadline: Date.now() + timeoutMs, limits: { ...DEFAULT_LIMITS, timeoutMs }, what: 'autopkgtest' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(kill).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(timeoutMs - 60_000 - 1);
    expect(kill).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(kill).toHaveBeenCalledOnce();
    const result = await run;
    expect(result.killed).toBe('autopkgtest ran past the time limit of 36000 min (builds.timeout_minutes)');
  });
});
