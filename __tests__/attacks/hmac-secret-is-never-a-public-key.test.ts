// Attack: the operator pastes the issuer's public key into `secret` (a classic algorithm
// confusion set-up). Anyone holding that public key, which is public, then MACs their own claims
// with it as an HS256 key and is accepted. The defence refuses such a secret at construction, in
// every form a public key travels in.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, exportJWK } from 'jose';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { MultiAuthConfigError } from '../../lib/core/errors';

const ISSUER = 'https://issuer.example.com';
const AUDIENCE = 'https://mcp.example.com/mcp';

const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

async function publicForms(): Promise<Array<[string, string | Uint8Array]>> {
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const jwk = await exportJWK(publicKey);
  return [
    ['an SPKI PEM', pem],
    ['a PKCS#1 PEM', publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()],
    ['an EC SPKI PEM', ec.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    ['a PEM with leading whitespace', `\n  ${pem}`],
    ['a PEM as bytes', new TextEncoder().encode(pem)],
    ['a JWK as JSON', JSON.stringify(jwk)],
    ['a JWKS as JSON', JSON.stringify({ keys: [jwk] })],
    ['an SPKI DER in base64', publicKey.export({ type: 'spki', format: 'der' }).toString('base64')],
  ];
}

describe('jwtVerifier({ secret }) never takes a public key as the HMAC secret', () => {
  it('a token MACed with the public key is never accepted', async () => {
    for (const [, secret] of await publicForms()) {
      let verifier;
      try {
        verifier = jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, secret });
      } catch (error) {
        expect(error).toBeInstanceOf(MultiAuthConfigError);
        continue;
      }
      const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
      const forged = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'attacker', client_id: 'attacker', scope: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(key);
      expect(await verifier.verifyAccessToken(forged).catch(() => null)).toBeNull();
    }
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7])('form %#: refused at construction, naming publicKey as the fix', async (index) => {
    const [what, secret] = (await publicForms())[index];
    expect(what).toBeTruthy();
    expect(() => jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, secret })).toThrow(/public key.*publicKey/);
  });

  // Stays accepted: a real shared secret, including one that happens to be base64 or JSON-ish text.
  it.each([
    ['random text', 'a-shared-secret-that-is-long-enough-0123456789'],
    ['base64 of random bytes', Buffer.from('x'.repeat(10) + 'an honest random-ish secret value').toString('base64')],
    ['JSON that is not a key', JSON.stringify({ secret: 'an honest shared secret of enough bytes' })],
  ])('%s is a secret', (_what, secret) => {
    expect(() => jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, secret })).not.toThrow();
  });
});
