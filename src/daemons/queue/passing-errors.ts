// Which errors are the machine's and pass, not the fault of what the queue was handed: a full
// disk or quota (space is freed), a read-only or failing disk (remounted, replaced), too many
// open files or processes, too little memory. What meets one is tried again at the next scan (an
// upload is not rejected for it, a request not answered for it); any other error is the upload's
// or the request's own, and ends it, or it would be tried at every scan for ever.

const PASSING = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']);

/** Whether err is a failure of the machine that passes (its code is one of PASSING). */
export function isPassingFailure(err: unknown): boolean {
  return PASSING.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}
