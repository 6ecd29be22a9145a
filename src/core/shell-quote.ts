// A value pasted into a shell script as one word, never read as code: the scripts the worker
// runs with bash -c in a job's containers (core/kinds/*.ts) carry names a lease gave (a .dsc, an
// architecture) and names apt printed, and one of them run as code in a build-dependency
// container, as root, would be committed into an image every archive on the engine builds in.

/**
 * `value` single-quoted for bash: nothing inside single quotes is expanded, and a single quote
 * in it ends the quotes, is written escaped, and opens them again.
 */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
