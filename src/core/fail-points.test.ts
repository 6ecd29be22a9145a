import { describe, expect, it } from 'vitest';
import { armedFailPoint, parseFailPoints } from './fail-points.js';

describe('fail points', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['arrival', ['arrival']],
    ['arrival,accept', ['arrival', 'accept']],
    [' reject , publish-before-switch publish-after-switch ', ['reject', 'publish-before-switch', 'publish-after-switch']],
  ])('reads %j as %j', (text, points) => {
    expect(parseFailPoints(text)).toEqual(points);
  });

  it('refuses an unknown name, listing the known ones', () => {
    expect(() => parseFailPoints('arrival,acept')).toThrow(/unknown fail point "acept" \(known: arrival, accept, reject, publish-before-switch, publish-after-switch, hand-in\)/);
  });

  it.each([
    [[], [], undefined],
    [['arrival', 'accept'], [], 'arrival'],
    [['arrival', 'accept'], ['arrival'], 'accept'],
    [['arrival', 'accept'], ['arrival', 'accept'], undefined],
    [['arrival', 'accept'], ['accept'], 'arrival'],
  ] as const)('with %j listed and %j fired, arms %j', (points, fired, armed) => {
    expect(armedFailPoint(points, new Set(fired))).toBe(armed);
  });
});
