import { afterAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandFailed, CommandTimedOut } from '../errors.js';
import { keepSpare, run, runFilter, runFilterChunks, sparesAfter } from './run.js';

describe('run', () => {
  it('returns what the program wrote, its final newline kept, with the given input and folder', async () => {
    const dir = realpathSync(tmpdir());
    const r = await run('sh', ['-c', 'cat; pwd; echo warn >&2'], { input: 'in\n', cwd: dir });
    expect(r).toEqual({ stdout: `in\n${dir}\n`, stderr: 'warn\n', exitCode: 0 });
  });

  it('gives a program without input an empty standard input, not the caller\'s', async () => {
    expect((await run('sh', ['-c', 'wc -c'])).stdout.trim()).toBe('0');
  });

  it('throws CommandFailed with the exit code and the output on a non-zero exit', async () => {
    const err = await run('sh', ['-c', 'echo out; echo bad >&2; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailed);
    expect(err).toMatchObject({ exitCode: 3, command: 'sh -c echo out; echo bad >&2; exit 3' });
    expect((err as Error).message).toMatch(/exit code 3:\nbad\n\nout/);
  });

  it('returns a non-zero exit as an answer with allowFailure, but not a death by signal', async () => {
    expect(await run('sh', ['-c', 'exit 2'], { allowFailure: true })).toMatchObject({ exitCode: 2 });
    await expect(run('sh', ['-c', 'kill -TERM $$'], { allowFailure: true })).rejects.toThrow(/killed by SIGTERM/);
  });

  it('kills a program that runs longer than timeoutMs (also one whose child holds its outputs), with CommandTimedOut, whatever allowFailure says', async () => {
    const started = Date.now();
    const err = await run('sh', ['-c', 'echo started; sleep 3 & wait'], { timeoutMs: 200, allowFailure: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandTimedOut);
    expect((err as Error).message).toMatch(/^sh -c echo started; sleep 3 & wait \(killed: still running after 0\.2 s, the most it is given\) failed:\nstarted$/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await run('sh', ['-c', 'echo quick'], { timeoutMs: 5000 })).toMatchObject({ stdout: 'quick\n', exitCode: 0 });
  });

  it('names a program that is not installed', async () => {
    await expect(run('no-such-program-aib', [])).rejects.toThrow('no-such-program-aib: not found on this machine');
    await expect(runFilter('no-such-program-aib', [], Buffer.from('x'))).rejects.toThrow('not found on this machine');
  });

  it('calls onLine with each whole line of both outputs', async () => {
    const lines: string[] = [];
    await run('sh', ['-c', 'printf "a\\nb"; sleep 0.05; printf "c\\n"; echo d >&2'], { onLine: (l) => lines.push(l) });
    expect(lines.sort()).toEqual(['a', 'bc', 'd']);
  });
});

describe('runFilter', () => {
  it('writes every part of the input and returns the whole output', async () => {
    const parts = [Buffer.alloc(300_000, 'a'), Buffer.alloc(300_000, 'b')];
    const out = await runFilter('cat', [], parts);
    expect(out.equals(Buffer.concat(parts))).toBe(true);
  });

  it('throws with the program\'s own message when it fails, also when it stops reading early', async () => {
    await expect(runFilter('sh', ['-c', 'echo nope >&2; exit 1'], Buffer.alloc(1 << 20))).rejects.toThrow(/exit code 1:\nnope/);
    const seen: Buffer[] = [];
    await expect(runFilterChunks('xz', ['-dc'], Buffer.from('not xz'), (b) => void seen.push(b))).rejects.toThrow(/xz -dc failed with exit code 1/);
    expect(seen).toEqual([]);
  });

  it('stops a program once its output is not wanted, and what it started to write there (cat of /dev/zero, which never ends by itself)', async () => {
    let seen = 0;
    let after = 0;
    // sh waits for cat, which writes on sh's output: killing sh alone would leave cat running.
    await runFilterChunks('sh', ['-c', 'cat /dev/zero; true'], undefined, (b) => {
      if (seen >= 1 << 20) {
        after++;
        return false;
      }
      seen += b.length;
    });
    expect(seen).toBeGreaterThanOrEqual(1 << 20);
    // Nothing more handed over once it said no.
    expect(after).toBe(1);
  });
});

describe('spare filters', () => {
  // A filter that notes its pid and start time (ms since the epoch) when it starts, then copies its input.
  const dir = mkdtempSync(join(realpathSync(tmpdir()), 'aib-spare-'));
  const filter = (name: string) => ['-c', `echo $$ > ${dir}/${name}.pid; echo $(($(date +%s%N) / 1000000)); cat`];
  const started = (out: Buffer) => Number(out.toString().split('\n')[0]);
  const pidOf = (name: string) => Number(readFileSync(join(dir, `${name}.pid`), 'utf8'));
  const SPARE_READY_MS = 600; // a spare is started 200 ms after the use before it
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the next use of a command line in a filter started ahead of it, with that use\'s input', async () => {
    const first = await runFilter('sh', filter('ahead'), Buffer.from('one'), { spare: true });
    expect(first.toString()).toMatch(/^\d+\none$/);
    await sleep(SPARE_READY_MS);
    const asked = Date.now();
    const second = await runFilter('sh', filter('ahead'), Buffer.from('two'), { spare: true });
    expect(second.toString()).toMatch(/^\d+\ntwo$/);
    expect(started(second)).toBeLessThan(asked);
    // And another one is started after that use, for the next.
    await sleep(SPARE_READY_MS);
    const third = Date.now();
    expect(started(await runFilter('sh', filter('ahead'), Buffer.from('three'), { spare: true }))).toBeLessThan(third);
  });

  it('starts a spare that falls due while work given to sparesAfter runs once that work is over', async () => {
    const over = await sparesAfter(async () => {
      keepSpare('sh', filter('after'));
      await sleep(SPARE_READY_MS);
      expect(existsSync(join(dir, 'after.pid'))).toBe(false);
      return Date.now();
    });
    await sleep(SPARE_READY_MS);
    const asked = Date.now();
    const out = await runFilter('sh', filter('after'), Buffer.from('x'), { spare: true });
    expect(started(out)).toBeGreaterThanOrEqual(over);
    expect(started(out)).toBeLessThan(asked);
  });

  it('starts a new process when the spare has ended, and the use still gets its output', async () => {
    keepSpare('sh', filter('died'));
    await sleep(SPARE_READY_MS);
    const spare = pidOf('died');
    process.kill(spare, 'SIGKILL');
    await sleep(200);
    const asked = Date.now();
    const out = await runFilter('sh', filter('died'), Buffer.from('still'), { spare: true });
    expect(out.toString()).toMatch(/^\d+\nstill$/);
    expect(started(out)).toBeGreaterThanOrEqual(asked);
    expect(pidOf('died')).not.toBe(spare);
  });

  it('keeps no event loop open while a spare waits (the process that started it may end), and a failing spare fails its use', async () => {
    const held = () => process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap' || r === 'PipeWrap').length;
    await sleep(SPARE_READY_MS); // the spares of the tests before are waiting
    const before = held();
    keepSpare('sh', filter('idle'));
    await sleep(SPARE_READY_MS);
    expect(pidOf('idle')).toBeGreaterThan(0);
    expect(held()).toBe(before);
    await expect(runFilter('sh', ['-c', 'cat >/dev/null; echo broken >&2; exit 4'], Buffer.from('x'), { spare: true })).rejects.toThrow(/exit code 4:\nbroken/);
    await sleep(SPARE_READY_MS);
    await expect(runFilter('sh', ['-c', 'cat >/dev/null; echo broken >&2; exit 4'], Buffer.from('x'), { spare: true })).rejects.toThrow(/exit code 4:\nbroken/);
    await expect(runFilter('no-such-program-aib', [], Buffer.from('x'), { spare: true })).rejects.toThrow('not found on this machine');
    await sleep(SPARE_READY_MS);
    await expect(runFilter('no-such-program-aib', [], Buffer.from('x'), { spare: true })).rejects.toThrow('not found on this machine');
  });
});
