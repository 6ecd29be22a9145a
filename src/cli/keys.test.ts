import { describe, expect, it } from 'vitest';
import { MAX_KEY_FILE_BYTES, readKeyFile } from './keys.js';

describe('a key file archive keys add reads', () => {
  it('is read at most MAX_KEY_FILE_BYTES: a file with no end (a device, a pipe that never stops) is refused past it, naming it', async () => {
    await expect(readKeyFile('/dev/zero')).rejects.toThrow(`/dev/zero: more than the ${MAX_KEY_FILE_BYTES} bytes read of a key file; expected a file of OpenPGP public keys (gpg --export --armor KEY > FILE)`);
  });

  it('is refused, naming it, when there is none', async () => {
    await expect(readKeyFile('/nonexistent/keys.asc')).rejects.toThrow('/nonexistent/keys.asc: no such file');
  });
});
