// What a check of one OpenPGP signature found: gpgv's answer (process/gpg.ts) as the upload
// checks (core/upload-checks.ts) take it. Its own module so the one that makes it and the one
// that judges it need not import each other.

export type SignatureVerdict =
  | { state: 'good'; fingerprint: string; uid?: string }
  | { state: 'unsigned' }
  | { state: 'bad' | 'unknown-key' | 'expired-key' | 'revoked-key' | 'error'; detail: string };
