import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { realpathSync } from 'node:fs';
import { CommandFailed } from '../errors.js';
import { run, runFilter, runFilterChunks } from './run.js';

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
    await expect(runFilterChunks('xz', ['-dc'], Buffer.from('not xz'), (b) => seen.push(b))).rejects.toThrow(/xz -dc failed with exit code 1/);
    expect(seen).toEqual([]);
  });
});
