// A build environment's refresh against a fake engine that records what it is asked: what the
// refresh does with the engine's answers, not what a real engine does.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Docker } from './engine.js';
import { REFRESH_TIMEOUT_MS, imageSettings, refreshBuildenv } from './buildenv.js';

afterEach(() => {
  vi.useRealTimers();
});

/** An engine whose refresh container runs until it is killed (an apt that hangs). */
function hangingEngine() {
  const asked: string[] = [];
  let exit: (answer: { StatusCode: number }) => void = () => undefined;
  const container = {
    start: async () => void asked.push('start'),
    wait: () => new Promise((resolve) => (exit = resolve)),
    kill: async () => (asked.push('kill'), exit({ StatusCode: 137 })),
    remove: async () => void asked.push('remove'),
  };
  const docker = {
    getImage: () => ({ inspect: async () => ({ Id: 'sha256:old', Created: '2026-01-01T00:00:00Z' }) }),
    createContainer: async () => container,
  } as unknown as Docker;
  return { docker, asked };
}

describe("a build environment's refresh", () => {
  it('that runs past an hour is stopped and removed, saying so', async () => {
    vi.useFakeTimers();
    const { docker, asked } = hangingEngine();
    const refresh = refreshBuildenv(docker, 'trixie', 'amd64', () => undefined);
    const outcome = refresh.catch((err: Error) => err);
    await vi.advanceTimersByTimeAsync(REFRESH_TIMEOUT_MS - 1);
    expect(asked).toEqual(['start']);
    await vi.advanceTimersByTimeAsync(1);
    expect(((await outcome) as Error).message).toBe('refreshing archive/buildenv:trixie-amd64 took over 60 minutes: stopped');
    expect(asked).toEqual(['start', 'kill', 'remove']);
  });
});

describe("an image's settings as docker import's changes", () => {
  it('quote every value, `$` and quotes escaped, and refuse one of two lines (it would end the instruction and start another)', () => {
    expect(imageSettings({ Env: ['PATH=/usr/bin:$HOME'], Labels: { 'a "b"': 'c\\d' }, Cmd: ['bash'], WorkingDir: '/build', User: 'root' })).toEqual([
      'ENV PATH="/usr/bin:\\$HOME"', 'LABEL "a \\"b\\""="c\\\\d"', 'CMD ["bash"]', 'WORKDIR "/build"', 'USER "root"',
    ]);
    expect(() => imageSettings({ Labels: { x: 'a\nUSER nobody' } })).toThrow(/spans more than one line/);
  });
});
