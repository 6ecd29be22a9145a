import { describe, expect, it } from 'vitest';
import { parseKeyListing, signatureVerdict } from './gpg.js';

// gpgv --status-fd output, as GnuPG's doc/DETAILS specifies it.
const FPR = '0123456789ABCDEF0123456789ABCDEF01234567';

describe('gpgv verdicts', () => {
  it.each([
    [`[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 89ABCDEF01234567 Alice <a@example.org>\n[GNUPG:] VALIDSIG ${FPR} 2026-11-29 0 4 0 22 10 01 ${FPR}\n`, { state: 'good', fingerprint: FPR, uid: 'Alice <a@example.org>' }],
    ['[GNUPG:] ERRSIG 89ABCDEF01234567 22 10 01 1764000000 9 -\n[GNUPG:] NO_PUBKEY 89ABCDEF01234567\n', { state: 'unknown-key', detail: 'key 89ABCDEF01234567' }],
    ['[GNUPG:] BADSIG 89ABCDEF01234567 Alice\n', { state: 'bad', detail: 'BADSIG 89ABCDEF01234567 Alice' }],
    ['[GNUPG:] EXPKEYSIG 89ABCDEF01234567 Alice\n[GNUPG:] VALIDSIG x\n', { state: 'expired-key', detail: '89ABCDEF01234567 Alice' }],
    ['[GNUPG:] REVKEYSIG 89ABCDEF01234567 Alice\n', { state: 'revoked-key', detail: '89ABCDEF01234567 Alice' }],
  ])('reads %j', (status, verdict) => {
    expect(signatureVerdict(status)).toEqual(verdict);
  });

  it('says what gpgv printed when it gave no verdict', () => {
    expect(signatureVerdict('', 'gpgv: keyblock resource: No such file')).toEqual({ state: 'error', detail: 'gpgv: keyblock resource: No such file' });
  });

  it('lists keys with fingerprint, user ids, expiry and revocation', () => {
    const colons = [
      'pub:r:255:22:89ABCDEF01234567:1764000000:1795536000::-:::sc:::::ed25519:::0:',
      `fpr:::::::::${FPR}:`,
      'uid:r::::1764000000::HASH::Alice <a@example.org>::::::::::0:',
      'sub:r:255:18:1111111111111111:1764000000::::::e:::::cv25519::',
      'fpr:::::::::2222222222222222222222222222222222222222:',
    ].join('\n');
    expect(parseKeyListing(colons)).toEqual([
      { fingerprint: FPR, uids: ['Alice <a@example.org>'], created: '2025-11-24T16:00:00.000Z', expires: '2026-11-24T16:00:00.000Z', revoked: true, expired: false },
    ]);
  });
});
