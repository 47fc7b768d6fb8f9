// Attack: nonces are an HMAC of the time window under the configured secret, so whoever guesses
// the secret mints every future nonce offline and pre-computes proofs for later. A secret of one
// repeated byte passes a length check and is the first thing an attacker tries.
import { createHmac } from 'node:crypto';
import { resolveDpopOptions } from '../../lib/dpop/options';
import { DpopProofVerifier } from '../../lib/dpop/proof';
import { MultiAuthConfigError } from '../../lib/core/errors';

const ORIGIN = 'https://mcp.example.com';

describe('the DPoP nonce secret cannot be one an attacker guesses', () => {
  it.each([
    ['32 times "a"', 'a'.repeat(32)],
    ['64 zero bytes', new Uint8Array(64)],
    ['a repeated pair', 'ab'.repeat(20)],
  ])('%s is refused at construction', (_what, secret) => {
    let verifier: DpopProofVerifier | undefined;
    try {
      verifier = new DpopProofVerifier(resolveDpopOptions({ url: ORIGIN, nonce: { secret } }, ['primary'])!);
    } catch (error) {
      expect(error).toBeInstanceOf(MultiAuthConfigError);
      expect((error as Error).message).toMatch(/nonce\.secret .*random/);
      return;
    }
    // Reached only while the weak secret is taken: the attacker's offline nonce is the server's.
    const window = Math.floor(Date.now() / 1000 / 300);
    const guessed = createHmac('sha256', typeof secret === 'string' ? Buffer.from(secret) : secret)
      .update(`express-multiauth dpop-nonce ${window}`)
      .digest('base64url');
    expect(verifier.currentNonce()).not.toBe(guessed);
    throw new Error('a secret without entropy was accepted');
  });

  it('a random secret (here: 32 random bytes as hex) is taken', () => {
    expect(() => resolveDpopOptions({ url: ORIGIN, nonce: { secret: 'a3f1c9e07b2d4856f0e1d2c3b4a59687' } }, ['primary'])).not.toThrow();
  });
});
