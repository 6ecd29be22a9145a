// A JSON object read from its bytes with the members of some of its arrays made one at a time:
// a suite's record of 100,000 packages was parsed whole (its 25 MB text as one string, then
// every member as a plain object, then each made a member again) at each start of the queue.
// Here each member's few hundred bytes are parsed and given to `make` at once, and die young;
// the text stays a buffer, off node's heap (the start's peak at 100,000: 152-156 MiB against
// 170-179).
// JSON's structure is ASCII, and no byte of a multi-byte UTF-8 character is, so the bytes are
// walked as they are.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

export class JsonMembersError extends Error {}

/** A property of its own, as JSON.parse makes one (a key "__proto__" too, which assigning would take as the prototype). */
const own = (o: Record<string, unknown>, key: string, value: unknown) => Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });

/**
 * The object `bytes` holds, as JSON.parse gives it, but each member of the array under a key
 * of `arrays` (at the top level) given to that key's function as it is parsed, and the list of
 * what it returns in its place; and of the object under a key of `only` (at the top level), only
 * the members whose keys that key's function takes (the others' bytes are walked over, and no
 * value is made of them). `what` names the text in errors.
 */
export function parseWithMembers(
  bytes: Buffer,
  arrays: Record<string, (member: unknown) => unknown>,
  what: string,
  only: Record<string, (key: string) => boolean> = {},
): Record<string, unknown> {
  const fail = (at: number, expected: string): never => {
    throw new JsonMembersError(`${what}: ${expected} expected at byte ${at}, found ${at < bytes.length ? JSON.stringify(String.fromCharCode(bytes[at])) : 'the end'}`);
  };
  const parse = (from: number, to: number): unknown => {
    try {
      return JSON.parse(bytes.toString('utf8', from, to));
    } catch (err) {
      throw new JsonMembersError(`${what}: bytes ${from}-${to} are not JSON (${(err as Error).message})`);
    }
  };
  const space = (at: number) => {
    while (at < bytes.length && isSpace(bytes[at])) at++;
    return at;
  };
  /** Where the string that starts at `at` (its opening quote) ends, after its closing quote. */
  const stringEnd = (at: number): number => {
    for (let i = at + 1; ; ) {
      const quote = bytes.indexOf(QUOTE, i);
      if (quote < 0) return fail(bytes.length, 'the end of a string');
      let slashes = 0;
      while (bytes[quote - 1 - slashes] === BACKSLASH) slashes++;
      if (slashes % 2 === 0) return quote + 1;
      i = quote + 1;
    }
  };
  /** Where the value that starts at `at` ends (JSON.parse checks it; only its extent is found here). */
  const valueEnd = (at: number): number => {
    if (bytes[at] === QUOTE) return stringEnd(at);
    let depth = 0;
    let i = at;
    for (; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === QUOTE) i = stringEnd(i) - 1;
      else if (b === 0x7b || b === 0x5b) depth++;
      else if (b === 0x7d || b === 0x5d) {
        if (depth === 0) break;
        if (--depth === 0) return i + 1;
      } else if (depth === 0 && (b === 0x2c || isSpace(b))) break;
    }
    if (depth > 0) fail(i, 'the end of an object or array');
    if (i === at) fail(at, 'a value');
    return i;
  };
  /**
   * The members of the object that starts at `at`, each key and where its value starts given to
   * `member`, which returns where the value ends; returns where the object ends.
   */
  const objectMembers = (at: number, member: (key: string, at: number) => number): number => {
    at = space(at + 1);
    if (bytes[at] === 0x7d) return at + 1;
    for (;;) {
      if (bytes[at] !== QUOTE) fail(at, 'a key');
      const keyEnd = stringEnd(at);
      const key = parse(at, keyEnd) as string;
      at = space(keyEnd);
      if (bytes[at] !== 0x3a) fail(at, '":"');
      at = space(member(key, space(at + 1)));
      if (bytes[at] === 0x7d) return at + 1;
      if (bytes[at] !== 0x2c) fail(at, '"," or "}"');
      at = space(at + 1);
    }
  };
  const result: Record<string, unknown> = {};
  let at = space(0);
  if (bytes[at] !== 0x7b) fail(at, '"{"');
  at = objectMembers(at, (key, at) => {
    const make = Object.hasOwn(arrays, key) ? arrays[key] : undefined;
    const wanted = Object.hasOwn(only, key) ? only[key] : undefined;
    if (wanted && bytes[at] === 0x7b) {
      const kept: Record<string, unknown> = {};
      const end = objectMembers(at, (k, from) => {
        const to = valueEnd(from);
        if (wanted(k)) own(kept, k, parse(from, to));
        return to;
      });
      own(result, key, kept);
      return end;
    }
    if (make && bytes[at] === 0x5b) {
      const list: unknown[] = [];
      at = space(at + 1);
      if (bytes[at] === 0x5d) at++;
      else {
        for (;;) {
          const end = valueEnd(at);
          list.push(make(parse(at, end)));
          at = space(end);
          if (bytes[at] === 0x5d) break;
          if (bytes[at] !== 0x2c) fail(at, '"," or "]"');
          at = space(at + 1);
        }
        at++;
      }
      own(result, key, list);
      return at;
    }
    const end = valueEnd(at);
    own(result, key, parse(at, end));
    return end;
  });
  at = space(at);
  if (at !== bytes.length) fail(at, 'the end of the text');
  return result;
}
