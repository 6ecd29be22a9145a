// The CLI never changes records: it leaves a request in state/requests/ (with any files it
// brings in ID.files/), and the queue, the only writer, carries it out and answers beside it.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../errors.js';
import { exists } from '../storage/files.js';
import type { Layout } from '../storage/layout.js';
import { giveFile, handOver, serviceOwner } from '../storage/ownership.js';
import { writeJson } from '../storage/records.js';

export interface QueueAnswer {
  ok: boolean;
  message: string;
  [key: string]: unknown;
}

/** Sends a request and waits for the answer; a refused request becomes a UserError. */
export async function askQueue(layout: Layout, request: Record<string, unknown>, o: { timeoutS: number; files?: string[]; json?: boolean }): Promise<QueueAnswer> {
  const id = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  if (o.files) {
    const staging = join(layout.requests, `${id}.files`);
    await mkdir(staging, { recursive: true });
    // The queue links the files into the pool and removes the rest: run by root, the folder
    // and each file must be its user's (a link to another user's file is refused, protected_hardlinks).
    const owner = await serviceOwner(layout);
    await handOver(staging, owner);
    const names = new Set<string>();
    for (const file of o.files) {
      const name = basename(file);
      if (names.has(name)) throw new UserError(`${file}: two files named ${name} in one request`);
      names.add(name);
    }
    // Copies, not links: the caller may rewrite its file in place later; the pool must not change.
    for (let i = 0; i < o.files.length; i += 32) {
      await Promise.all(o.files.slice(i, i + 32).map(async (file) => {
        const target = join(staging, basename(file));
        await copyFile(file, target).catch((err: NodeJS.ErrnoException) => {
          throw new UserError(`${file}: cannot be read (${err.code ?? err.message})`);
        });
        await giveFile(target, owner);
      }));
    }
    request.files = [...names];
  }
  await writeJson(join(layout.requests, `${id}.request.json`), request);
  const answerFile = join(layout.requests, `${id}.answer.json`);
  const deadline = Date.now() + o.timeoutS * 1000;
  while (!(await exists(answerFile))) {
    if (Date.now() > deadline) {
      throw new UserError(`the queue did not answer within ${o.timeoutS} s; is the archive up (archive status)? The request stays in ${layout.requests} and is carried out when the queue runs`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const answer = JSON.parse(await readFile(answerFile, 'utf8')) as QueueAnswer;
  await rm(answerFile, { force: true });
  if (o.json) console.log(JSON.stringify(answer, null, 2));
  if (!answer.ok) throw new UserError(answer.message);
  if (!o.json) console.log(answer.message);
  return answer;
}
