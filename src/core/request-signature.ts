// How a builder proves itself to the queue's job API without sending a reusable secret: the
// archive's secret (state/api-token) never goes on the wire. Each request carries
//   Authorization: AIB-HMAC-SHA256 builder="NAME", time="UNIX-SECONDS", nonce="HEX", body="SHA256-HEX", signature="HEX"
// where signature is HMAC-SHA256, keyed by builderKey(secret, NAME), over the method, the path
// with its query, those fields and the body's sha256. A request sniffed on the network is good
// for that one request only: another path, job, body or builder name breaks the signature, a
// replay reuses a nonce, and an old one is out of the time window. The key is per builder name,
// so each builder can later be given only its own key (issue 13). Pure but for randomness.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_SCHEME = 'AIB-HMAC-SHA256';
/** How far a request's time may be from the queue's clock (all containers share the host's). */
export const SIGNATURE_WINDOW_MS = 60_000;
/** Nonces remembered at most: more requests than this within the window are refused, not forgotten. */
export const MAX_NONCES = 200_000;
/**
 * Of them, one worker's at most (some 330 requests a second; a busy one makes a few): one that
 * floods the queue cannot fill the memory and have every other worker's requests refused.
 */
export const MAX_NONCES_PER_SIGNER = 20_000;

export class SignatureError extends Error {}

export interface SignedRequest {
  method: string;
  /** The path with its query, as sent ("/api/v1/jobs/7/log?builder=b%2F1"). */
  path: string;
  /** The body's sha256 (hex); of the empty string when there is none. */
  bodySha256: string;
}

export interface SignatureFields {
  builder: string;
  time: number;
  nonce: string;
  body: string;
  signature: string;
}

export const sha256Hex = (data: string | Buffer | Uint8Array) => createHash('sha256').update(data).digest('hex');
export const EMPTY_SHA256 = sha256Hex('');

/** Which key a worker's requests are signed with (undefined: it has none, it is refused). */
export type KeyFor = (name: string) => Buffer | undefined;

/** The key builder `name` signs with: what a builder needs, without the archive's secret itself. */
export function builderKey(secret: string, name: string): Buffer {
  return createHmac('sha256', secret).update(`builder:${name}`).digest();
}

function signatureOf(key: Buffer, r: SignedRequest, f: Omit<SignatureFields, 'signature' | 'body'>): string {
  const text = [SIGNATURE_SCHEME, r.method.toUpperCase(), r.path, f.builder, String(f.time), f.nonce, r.bodySha256].join('\n');
  return createHmac('sha256', key).update(text).digest('hex');
}

/** The Authorization header for one request (a fresh nonce each time). */
export function signRequest(key: Buffer, builder: string, r: SignedRequest, now = Date.now(), nonce = randomBytes(16).toString('hex')): string {
  const time = Math.floor(now / 1000);
  const signature = signatureOf(key, r, { builder, time, nonce });
  return `${SIGNATURE_SCHEME} builder="${encodeURIComponent(builder)}", time="${time}", nonce="${nonce}", body="${r.bodySha256}", signature="${signature}"`;
}

export function parseSignature(header: string | undefined): SignatureFields {
  if (!header) throw new SignatureError(`no Authorization header; expected ${SIGNATURE_SCHEME} builder=..., time=..., nonce=..., body=..., signature=...`);
  const scheme = header.split(' ')[0];
  if (scheme !== SIGNATURE_SCHEME) throw new SignatureError(`Authorization scheme "${scheme.slice(0, 20)}" is not accepted; expected ${SIGNATURE_SCHEME} (the API token itself is never sent)`);
  const fields = Object.fromEntries([...header.slice(scheme.length).matchAll(/\s*([a-z]+)="([^"]*)"\s*,?/g)].map((m) => [m[1], m[2]]));
  const { builder, time, nonce, body, signature } = fields;
  if (!builder || !/^\d{1,12}$/.test(time ?? '') || !/^[0-9a-f]{16,64}$/.test(nonce ?? '') || !/^[0-9a-f]{64}$/.test(body ?? '') || !/^[0-9a-f]{64}$/.test(signature ?? '')) {
    throw new SignatureError(`malformed ${SIGNATURE_SCHEME} Authorization header: expected builder, time (unix seconds), nonce (hex), body (sha256 hex) and signature (hex)`);
  }
  let name: string;
  try {
    name = decodeURIComponent(builder);
  } catch {
    throw new SignatureError(`malformed ${SIGNATURE_SCHEME} Authorization header: the builder name is not percent-encoded UTF-8`);
  }
  return { builder: name, time: Number(time), nonce, body, signature };
}

/**
 * Nonces seen within the window, each until its request's time is out of the window; since
 * it was made only (a queue that restarted forgot them: what was signed before is refused).
 */
/**
 * What the queue says of a request signed before it (re)started: no fault of the request but its
 * time (it waited on its connection while the queue was down); a worker signs it again and sends
 * it again, as to a queue it cannot reach (job-api-client.ts).
 */
export const SIGNED_BEFORE_START = 'is before the queue started';

export class NonceMemory {
  /**
   * "SIGNER NONCE" -> whose it is and when it expires. The signer is kept in the value, not read
   * back from the key: a worker's name may hold a space ("a b"), which would be taken for "a".
   */
  private readonly seen = new Map<string, { signer: string; expiresAt: number }>();
  /** How many of them each signer has. */
  private readonly bySigner = new Map<string, number>();

  constructor(readonly since = Date.now()) {}

  /** False when `signer` used `nonce` already; remembers it otherwise. */
  remember(signer: string, nonce: string, expiresAt: number, now: number): boolean {
    const key = `${signer} ${nonce}`;
    if (this.seen.has(key)) return false;
    if (this.seen.size >= MAX_NONCES || (this.bySigner.get(signer) ?? 0) >= MAX_NONCES_PER_SIGNER) this.forgetExpired(now);
    if (this.seen.size >= MAX_NONCES) throw new SignatureError(`more than ${MAX_NONCES} requests within ${SIGNATURE_WINDOW_MS / 1000} s; try again shortly`);
    if ((this.bySigner.get(signer) ?? 0) >= MAX_NONCES_PER_SIGNER) throw new SignatureError(`more than ${MAX_NONCES_PER_SIGNER} requests of ${signer} within ${SIGNATURE_WINDOW_MS / 1000} s; try again shortly`);
    this.seen.set(key, { signer, expiresAt });
    this.bySigner.set(signer, (this.bySigner.get(signer) ?? 0) + 1);
    return true;
  }

  private forgetExpired(now: number): void {
    for (const [key, { signer, expiresAt }] of this.seen) {
      if (expiresAt > now) continue;
      this.seen.delete(key);
      const left = this.bySigner.get(signer)! - 1;
      if (left > 0) this.bySigner.set(signer, left);
      else this.bySigner.delete(signer);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}

/**
 * Checks a request's Authorization header: scheme, time window, signature (constant time),
 * then its nonce (only a validly signed nonce is remembered, so forged ones cannot fill the
 * memory). Returns the builder name signed for and the body's sha256 the caller must still
 * check against the body it reads.
 */
export function verifyRequest(keyFor: KeyFor, header: string | undefined, r: Omit<SignedRequest, 'bodySha256'>, nonces: NonceMemory, now = Date.now()): { builder: string; bodySha256: string } {
  const f = parseSignature(header);
  const skew = now - f.time * 1000;
  // Strictly inside the window: the nonce is remembered until time + SIGNATURE_WINDOW_MS and
  // forgotten from then on (forgetExpired), so a request exactly that old, accepted, could be
  // replayed in that very millisecond once its nonce was dropped.
  if (Math.abs(skew) >= SIGNATURE_WINDOW_MS) {
    throw new SignatureError(`request time ${new Date(f.time * 1000).toISOString()} is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'old' : 'in the future'}; the queue accepts ±${SIGNATURE_WINDOW_MS / 1000} s (is the builder's clock right?)`);
  }
  if (f.time < Math.floor(nonces.since / 1000)) {
    throw new SignatureError(`request time ${new Date(f.time * 1000).toISOString()} ${SIGNED_BEFORE_START} (${new Date(nonces.since).toISOString()}); sign it again`);
  }
  const key = keyFor(f.builder);
  if (!key) throw new SignatureError(`no worker ${f.builder}: it was removed (archive workers rm), or never enrolled`);
  const want = Buffer.from(signatureOf(key, { ...r, bodySha256: f.body }, f), 'hex');
  if (!timingSafeEqual(want, Buffer.from(f.signature, 'hex'))) throw new SignatureError(`wrong signature for builder ${f.builder} on ${r.method} ${r.path}`);
  if (!nonces.remember(f.builder, f.nonce, f.time * 1000 + SIGNATURE_WINDOW_MS, now)) throw new SignatureError(`nonce ${f.nonce} was already used: a replayed request`);
  return { builder: f.builder, bodySha256: f.body };
}

/** A builder slot's name ("b/2") belongs to the builder that signed ("b"): the only names it may act as. */
export function actsAs(signer: string, claimed: string): boolean {
  return claimed === signer || (claimed.startsWith(`${signer}/`) && /^\d+$/.test(claimed.slice(signer.length + 1)));
}
