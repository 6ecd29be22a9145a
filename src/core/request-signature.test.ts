import { describe, expect, it } from 'vitest';
import {
  MAX_NONCES, MAX_NONCES_PER_SIGNER, NonceMemory, SignatureError, actsAs, builderKey, parseSignature, sha256Hex, signRequest, verifyRequest, type SignedRequest,
} from './request-signature.js';

const secret = 'archive secret';
const now = Date.UTC(2026, 10, 30, 23, 0, 0);
const heartbeat: SignedRequest = { method: 'POST', path: '/api/v1/jobs/j1/heartbeat', bodySha256: sha256Hex('{"builder":"b/1"}') };
const sign = (r: SignedRequest, builder = 'b', at = now, key = builderKey(secret, builder)) => signRequest(key, builder, r, at);
const memory = () => new NonceMemory(now - 3600_000);
/** Local builders' keys come from the secret; "enrolled" has a key of its own; "gone" has none (removed). */
const enrolledKey = Buffer.alloc(32, 7);
const keyFor = (name: string) => (name === 'enrolled' ? enrolledKey : name === 'gone' ? undefined : builderKey(secret, name));
const verify = (header: string, r: Omit<SignedRequest, 'bodySha256'>, nonces = memory(), at = now) => verifyRequest(keyFor, header, r, nonces, at);

describe('signed job API requests', () => {
  it('accepts a request signed with the builder\'s key, and says who signed and which body', () => {
    expect(verify(sign(heartbeat), heartbeat)).toEqual({ builder: 'b', bodySha256: heartbeat.bodySha256 });
  });

  it('checks an enrolled worker\'s request with its own key, and refuses a worker that has none (removed)', () => {
    expect(verify(sign(heartbeat, 'enrolled', now, enrolledKey), heartbeat)).toMatchObject({ builder: 'enrolled' });
    expect(() => verify(sign(heartbeat, 'enrolled'), heartbeat)).toThrow(/wrong signature for builder enrolled/);
    expect(() => verify(sign(heartbeat, 'gone'), heartbeat)).toThrow(/no worker gone: it was removed/);
  });

  it('never puts the secret, or the key, in the header', () => {
    const header = sign(heartbeat);
    expect(header).not.toContain(secret);
    expect(header).not.toContain(builderKey(secret, 'b').toString('hex'));
  });

  it('refuses the same request a second time (a replay)', () => {
    const nonces = memory();
    const header = sign(heartbeat);
    verify(header, heartbeat, nonces);
    expect(() => verify(header, heartbeat, nonces)).toThrow(/nonce .* already used: a replayed request/);
  });

  it('refuses a captured heartbeat\'s header on a lease, on completing the same job, and on another job\'s heartbeat', () => {
    const header = sign(heartbeat);
    for (const path of ['/api/v1/lease', '/api/v1/jobs/j1/complete', '/api/v1/jobs/j2/heartbeat']) {
      expect(() => verify(header, { method: 'POST', path }), path).toThrow(/wrong signature for builder b on POST/);
    }
    expect(() => verify(header, { method: 'PUT', path: heartbeat.path })).toThrow(SignatureError);
  });

  it('refuses a header whose body hash was changed (a tampered body)', () => {
    const header = sign(heartbeat).replace(heartbeat.bodySha256, sha256Hex('{"builder":"other/1"}'));
    expect(() => verify(header, heartbeat)).toThrow(/wrong signature/);
  });

  it('refuses a header whose builder name was changed, and a key of another builder', () => {
    expect(() => verify(sign(heartbeat).replace('builder="b"', 'builder="c"'), heartbeat)).toThrow(/wrong signature for builder c/);
    expect(() => verify(sign(heartbeat, 'c', now, builderKey(secret, 'b')), heartbeat)).toThrow(/wrong signature for builder c/);
    expect(() => verify(sign(heartbeat, 'b', now, builderKey('other secret', 'b')), heartbeat)).toThrow(/wrong signature/);
  });

  it('refuses a request more than 60 s old or ahead, saying so, and accepts one just inside', () => {
    expect(() => verify(sign(heartbeat, 'b', now - 61_000), heartbeat)).toThrow(/is 61 s old; the queue accepts ±60 s/);
    expect(() => verify(sign(heartbeat, 'b', now + 62_000), heartbeat)).toThrow(/is 62 s in the future; the queue accepts ±60 s/);
    expect(verify(sign(heartbeat, 'b', now - 59_000), heartbeat).builder).toBe('b');
  });

  it('refuses a request exactly 60 s old or ahead, the moment its nonce may be forgotten, and accepts one a millisecond younger', () => {
    const header = sign(heartbeat, 'b', now);
    expect(() => verify(header, heartbeat, memory(), now + 60_000)).toThrow(/is 60 s old; the queue accepts ±60 s/);
    expect(() => verify(header, heartbeat, memory(), now - 60_000)).toThrow(/is 60 s in the future; the queue accepts ±60 s/);
    // Accepted a millisecond before: its nonce is kept until the window is over, then the request is out of it.
    const nonces = memory();
    for (let i = 1; i < MAX_NONCES_PER_SIGNER; i++) nonces.remember('b', `n${i}`, now + 60_000, now);
    expect(verify(header, heartbeat, nonces, now + 59_999).builder).toBe('b');
    expect(() => verify(header, heartbeat, nonces, now + 59_999)).toThrow(/nonce .* was already used: a replayed request/);
    // Exactly 60 s on, at capacity, every nonce of the window would be forgotten to make room: the replay is refused by its time.
    expect(() => verify(header, heartbeat, nonces, now + 60_000)).toThrow(/is 60 s old/);
  });

  it('refuses the bare token, another scheme, and a malformed header, naming what it expects', () => {
    expect(() => verify(`Bearer ${secret}`, heartbeat)).toThrow(/scheme "Bearer" is not accepted; expected AIB-HMAC-SHA256/);
    expect(() => verify('', heartbeat)).toThrow(/no Authorization header/);
    expect(() => verify(sign(heartbeat).replace(/time="\d+"/, 'time="soon"'), heartbeat)).toThrow(/malformed AIB-HMAC-SHA256 Authorization header/);
    expect(() => parseSignature('AIB-HMAC-SHA256 builder="b"')).toThrow(/malformed/);
    // Not percent-encoded UTF-8: refused as malformed (a 401), not thrown as a URIError (a 500).
    expect(() => verify(sign(heartbeat).replace('builder="b"', 'builder="%E0"'), heartbeat)).toThrow(/malformed AIB-HMAC-SHA256 Authorization header: the builder name/);
  });

  it('refuses a request signed before the queue started, whose nonce a restart forgot', () => {
    const header = sign(heartbeat, 'b', now - 5_000);
    expect(() => verify(header, heartbeat, new NonceMemory(now - 1_000))).toThrow(/is before the queue started .*; sign it again/);
    expect(verify(sign(heartbeat, 'b', now - 5_000), heartbeat, new NonceMemory(now - 5_000)).builder).toBe('b');
  });

  it('remembers a nonce only for a valid signature, so forged requests cannot fill the memory', () => {
    const nonces = memory();
    expect(() => verify(sign(heartbeat).replace('builder="b"', 'builder="c"'), heartbeat, nonces)).toThrow();
    expect(nonces.size).toBe(0);
  });

  it('holds at most its cap of nonces within the window, forgetting expired ones to make room', () => {
    const nonces = memory();
    for (let i = 0; i < MAX_NONCES; i++) nonces.remember(`w${i % 20}`, `n${i}`, now + (i === 0 ? 0 : 60_000), now - 1);
    // Full: the one expired nonce makes room for one more, then the next is refused.
    expect(nonces.remember('w0', 'late', now + 60_000, now)).toBe(true);
    expect(() => nonces.remember('w1', 'later', now + 60_000, now)).toThrow(/more than 200000 requests within 60 s/);
    expect(nonces.size).toBe(MAX_NONCES);
  });

  it("holds at most its cap of one worker's nonces: a flooding worker is refused, the others are not", () => {
    const nonces = memory();
    for (let i = 0; i < MAX_NONCES_PER_SIGNER; i++) nonces.remember('flood', `n${i}`, now + (i === 0 ? 0 : 60_000), now - 1);
    expect(nonces.remember('flood', 'late', now + 60_000, now)).toBe(true);
    expect(() => nonces.remember('flood', 'later', now + 60_000, now)).toThrow(/more than 20000 requests of flood within 60 s/);
    // Nonces are each signer's own: flood's n1 makes other's no replay; other's own again is one.
    expect(nonces.remember('other', 'n1', now + 60_000, now)).toBe(true);
    expect(nonces.remember('other', 'n1', now + 60_000, now)).toBe(false);
  });

  it("counts the nonces of a worker whose name holds a space as that worker's, and forgets them as such", () => {
    const nonces = memory();
    nonces.remember('a', 'kept', now + 60_000, now - 1);
    for (let i = 0; i < MAX_NONCES_PER_SIGNER; i++) nonces.remember('a b', `n${i}`, now, now - 1);
    // Every one of "a b"'s has expired: forgotten, they make room for its next, and "a"'s count is untouched.
    expect(nonces.remember('a b', 'late', now + 60_000, now)).toBe(true);
    expect(nonces.size).toBe(2);
    for (let i = 1; i < MAX_NONCES_PER_SIGNER; i++) nonces.remember('a', `m${i}`, now + 60_000, now);
    expect(() => nonces.remember('a', 'over', now + 60_000, now)).toThrow(/more than 20000 requests of a within 60 s/);
  });

  it('lets a builder act as itself and its numbered slots only', () => {
    expect(actsAs('b', 'b')).toBe(true);
    expect(actsAs('b', 'b/2')).toBe(true);
    expect(actsAs('b', 'bb/2')).toBe(false);
    expect(actsAs('b', 'b/x')).toBe(false);
    expect(actsAs('b', 'c/1')).toBe(false);
  });
});
