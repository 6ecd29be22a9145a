// `archive build` stopped by a signal: its containers go with it. The engine's side (the
// containers found by their build's label) against a fake; the signals against an emitter.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { removeLabelledContainers } from '../docker/docker-runner.js';
import { Unsuccessful } from '../errors.js';
import { onStopSignals, stopBuild } from './build.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('archive build, stopped by a signal', () => {
  it('calls back once on SIGINT or SIGTERM, exits at once with the signal\'s code on a second, and listens no more when done', () => {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const signals = new EventEmitter();
      const stopped: string[] = [];
      const exits: number[] = [];
      const done = onStopSignals((s) => void stopped.push(s), signals as unknown as NodeJS.Process, (c) => void exits.push(c));
      signals.emit(signal, signal);
      expect(stopped).toEqual([signal]);
      expect(exits).toEqual([]);
      signals.emit(signal, signal);
      expect(stopped).toEqual([signal]);
      expect(exits).toEqual([code]);
      done();
      expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
    }
  });

  it('removes its containers, again once the build has ended (or not within the wait), and exits 130 for Ctrl-C, 143 for SIGTERM', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const removals: string[] = [];
    let end!: () => void;
    const running = new Promise<void>((r) => (end = r));
    const stopping = stopBuild('SIGINT', 'oneshot-1', async () => (removals.push(removals.length ? 'again' : 'first'), 1), running, 60_000);
    await new Promise((r) => setImmediate(r));
    expect(removals).toEqual(['first']);
    end();
    const err = await stopping;
    expect(removals).toEqual(['first', 'again']);
    expect(err).toEqual(new Unsuccessful('stopped by SIGINT; the containers of build oneshot-1 were removed', 130));
    expect(err.exitCode).toBe(130);
    // A build that does not end (an engine that does not answer): removed again after the wait.
    const never = new Promise<void>(() => undefined);
    let n = 0;
    expect((await stopBuild('SIGTERM', 'oneshot-2', async () => ++n, never, 10)).exitCode).toBe(143);
    expect(n).toBe(2);
  });

  it('says how to remove them when the engine cannot', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const err = await stopBuild('SIGINT', 'oneshot-1', async () => {
      throw new Error('connect ENOENT /var/run/docker.sock');
    }, Promise.resolve(), 10);
    expect(err.exitCode).toBe(130);
    expect(err.message).toBe('stopped by SIGINT; the containers of build oneshot-1 could not be removed (connect ENOENT /var/run/docker.sock): remove them with docker rm -f $(docker ps -aq --filter label=archive-in-a-box.build=oneshot-1)');
  });

  it('finds its containers by the label of its build, and removes them killed, with their volumes', async () => {
    const asked: unknown[] = [];
    const docker = {
      listContainers: async (o: unknown) => (asked.push(o), [{ Id: 'deps' }, { Id: 'build' }]),
      getContainer: (id: string) => ({ remove: async (o: unknown) => void asked.push({ remove: id, ...(o as object) }) }),
    };
    expect(await removeLabelledContainers(docker as never, 'archive-in-a-box.build', 'oneshot-1')).toBe(2);
    expect(asked).toEqual([
      { all: true, filters: { label: ['archive-in-a-box.build=oneshot-1'] } },
      { remove: 'deps', force: true, v: true },
      { remove: 'build', force: true, v: true },
    ]);
  });
});
