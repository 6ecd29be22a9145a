import { describe, expect, it } from 'vitest';
import { JsonMembersError, parseWithMembers } from './json-members.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('parseWithMembers', () => {
  const values: unknown[] = [
    {},
    { id: 'unstable', binaries: [], sources: [] },
    { a: 1, b: -2.5e3, c: true, d: false, e: null, f: 'x', g: [1, [2, [3]], { h: {} }] },
    // Strings holding what the walk must not take as structure.
    { s: 'a "quoted" {brace} [bracket], comma: colon', t: 'ends in a backslash \\', u: '\\"', v: 'ünïcødé ✓ 𝄞', w: '\n\t\u0001' },
    { binaries: [{ package: 'a', version: '1:2.0~rc1-1', path: 'pool/main/a/a_2.0_amd64.deb' }, { package: 'b"}]', version: '1' }], journalSeq: 7 },
    // Keys with escapes and beyond ASCII, one named as the prototype, numbers last in an array and an object.
    { 'a"b': 1, 'c\\': [1, 2.5], 'ключ ✓': { n: -0.5e-3 }, ['__proto__']: { x: 1 }, binaries: [1, 2, 3e10] },
  ];

  it('gives what JSON.parse gives, as JSON.stringify writes it and indented', () => {
    for (const v of values) {
      for (const text of [JSON.stringify(v), JSON.stringify(v, null, 2), ` \n${JSON.stringify(v, null, '\t')}\n `]) {
        expect(parseWithMembers(bytes(text), {}, 'test')).toEqual(JSON.parse(text));
        expect(parseWithMembers(bytes(text), { binaries: (m) => m }, 'test')).toEqual(JSON.parse(text));
      }
    }
  });

  it('makes a key named as the prototype a property of its own, as JSON.parse does', () => {
    const value = parseWithMembers(bytes('{"__proto__":{"x":1},"a":2}'), {}, 'test');
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(value).toEqual(JSON.parse('{"__proto__":{"x":1},"a":2}'));
  });

  it('gives each member of a named array to its function as it is parsed, and keeps what it returns, in order', () => {
    const seen: unknown[] = [];
    const text = JSON.stringify({ sources: [{ n: 1 }], binaries: [{ n: 2 }, 'three', [4], null], nested: { binaries: [{ n: 5 }] } }, null, 1);
    const value = parseWithMembers(bytes(text), { binaries: (m) => (seen.push(m), { made: m }) }, 'test');
    expect(seen).toEqual([{ n: 2 }, 'three', [4], null]);
    // Only the top level's: the others as they are.
    expect(value).toEqual({ sources: [{ n: 1 }], binaries: seen.map((m) => ({ made: m })), nested: { binaries: [{ n: 5 }] } });
    // A key of that name whose value is no array is parsed as it is; a key of the prototype's name is no function.
    expect(parseWithMembers(bytes('{"binaries":null,"toString":[1]}'), { binaries: () => 0 }, 'test')).toEqual({ binaries: null, toString: [1] });
  });

  it('makes only the members it is asked for of a named object, and walks over the others unparsed', () => {
    const history = { a: [{ v: '1' }], 'b"}': [{ v: '2 {[' }], c: [{ v: 3 }], ['__proto__']: [1] };
    const text = JSON.stringify({ journalSeq: 4, history, other: { a: 1 } }, null, 1);
    const asked: string[] = [];
    const wanted = new Set(['b"}', '__proto__', 'z']);
    const value = parseWithMembers(bytes(text), {}, 'test', { history: (k) => (asked.push(k), wanted.has(k)) });
    expect(asked).toEqual(['a', 'b"}', 'c', '__proto__']);
    expect(value).toEqual(JSON.parse(JSON.stringify({ journalSeq: 4, history: { 'b"}': history['b"}'], ['__proto__']: [1] }, other: { a: 1 } })));
    expect(Object.hasOwn(value.history as object, '__proto__')).toBe(true);
    // A member passed over is not parsed: one that is no JSON is not found (the whole is read when it is wanted).
    const damaged = '{"history":{"a":[tru],"b":[1]}}';
    expect(parseWithMembers(bytes(damaged), {}, 'test', { history: (k) => k === 'b' })).toEqual({ history: { b: [1] } });
    expect(() => parseWithMembers(bytes(damaged), {}, 'test', { history: () => true })).toThrow(/^test: bytes 16-21 are not JSON/);
    // A value under that key that is no object is parsed as it is; an empty object stays one.
    expect(parseWithMembers(bytes('{"history":[1],"x":{}}'), {}, 'test', { history: () => false, x: () => true })).toEqual({ history: [1], x: {} });
    // What is wrong with the structure is still found.
    for (const bad of ['{"history":{"a":1,}}', '{"history":{"a" 1}}', '{"history":{"a":1}', '{"history":{a:1}}']) {
      expect(() => parseWithMembers(bytes(bad), {}, 'test', { history: () => false }), bad).toThrow(JsonMembersError);
    }
  });

  it('refuses a text that is not one JSON object, naming it and where', () => {
    const bad = ['', '[]', '"x"', '{', '{"a"}', '{"a":}', '{"a":1,}', '{"a":1 "b":2}', '{"a":1}x', '{"a":[1,2}', '{"a":"unended}', '{"binaries":[1,,2]}', '{"binaries":[1 2]}', '{"binaries":[{"a":1}', '{"a":tru}', '{"a":{"b":1}}}'];
    for (const text of bad) {
      expect(() => parseWithMembers(bytes(text), { binaries: (m) => m }, 'state/suites/x.json'), text).toThrow(JsonMembersError);
      expect(() => parseWithMembers(bytes(text), { binaries: (m) => m }, 'state/suites/x.json'), text).toThrow(/^state\/suites\/x\.json: /);
    }
  });
});
