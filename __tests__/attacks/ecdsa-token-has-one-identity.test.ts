// Attack: an ECDSA signature (r, s) verifies as (r, n - s) too, so every ES256/384/512 token has
// a second valid spelling. Re-spelled, a token an operator has flagged by its tokenId (a
// denylist, a log correlation) would come back as a "new" token with a new id and a new cache
// entry. The defence gives both spellings one identity: one cache entry, one tokenId. jose still
// decides acceptance; only the identity is canonical.
import { SignJWT, generateKeyPair, exportJWK } from 'jose';
import { inspectToken } from '../../lib/core/token-inspection';
import { ResultCache } from '../../lib/chain/result-cache';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import type { Decision, MultiAuthInfo } from '../../lib/core/types';
import { multiAuth } from '../../lib/chain/multi-auth';

const ISSUER = 'https://issuer.example.com';
const AUDIENCE = 'https://mcp.example.com/mcp';

/** Curve orders (SEC 2 / FIPS 186-4). */
const ORDER: Record<string, bigint> = {
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  ES384: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  ES512: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

/** The same token with `s` replaced by `n - s`: a second valid signature. */
function respell(token: string, alg: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const half = signature.length / 2;
  const s = BigInt(`0x${signature.subarray(half).toString('hex')}`);
  const other = Buffer.from((ORDER[alg] - s).toString(16).padStart(half * 2, '0'), 'hex');
  return `${token.slice(0, dot + 1)}${Buffer.concat([signature.subarray(0, half), other]).toString('base64url')}`;
}

async function signed(alg: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const token = await new SignJWT({ client_id: 'attacker', scope: 'mcp:read' })
    .setProtectedHeader({ alg, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('1h')
    .sign(privateKey);
  return { token, publicJwk: await exportJWK(publicKey) };
}

describe.each(['ES256', 'ES384', 'ES512'])('an %s token re-spelled with n - s', (alg) => {
  it('is still accepted by jose (so the two spellings are one token)', async () => {
    const { token, publicJwk } = await signed(alg);
    const verifier = jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, publicKey: publicJwk });
    const other = respell(token, alg);
    expect(other).not.toBe(token);
    expect((await verifier.verifyAccessToken(token))?.clientId).toBe('attacker');
    expect((await verifier.verifyAccessToken(other))?.clientId).toBe('attacker');
  });

  it('has the identity of the original', async () => {
    const { token } = await signed(alg);
    expect(inspectToken(respell(token, alg)).identityKey).toBe(inspectToken(token).identityKey);
    expect(inspectToken(respell(respell(token, alg), alg)).identityKey).toBe(inspectToken(token).identityKey);
  });

  it('gets the original\'s tokenId in onDecision, accepted either way by jose', async () => {
    const { token, publicJwk } = await signed(alg);
    const decisions: Decision[] = [];
    const auth = multiAuth({ verifiers: [jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, publicKey: publicJwk })], onDecision: (d) => decisions.push(d) });
    const other = respell(token, alg);
    expect((await auth.verify(token)).clientId).toBe('attacker');
    expect((await auth.verify(other)).clientId).toBe('attacker');
    expect(decisions.map((d) => d.outcome)).toEqual(['accepted', 'accepted']);
    expect(decisions[1].tokenId).toBe(decisions[0].tokenId);
  });

  it('takes the original\'s cache entry instead of a new one', async () => {
    const { token } = await signed(alg);
    const cache = new ResultCache();
    const info = (raw: string): MultiAuthInfo => ({
      token: raw, clientId: 'attacker', scopes: [], source: 'jwt', payload: {}, extra: { source: 'jwt' }, expiresAt: Math.floor(Date.now() / 1000) + 600,
    });
    const other = respell(token, alg);
    cache.setAccepted(inspectToken(token), info(token), Date.now());
    cache.setAccepted(inspectToken(other), info(other), Date.now());
    expect(cache.size.accepted).toBe(1);
    // A rejection of one spelling is a rejection of the other.
    const rejections = new ResultCache();
    rejections.setRejected(inspectToken(other));
    expect(rejections.get(inspectToken(token), Date.now())).toBe('rejected');
  });
});

describe('what keeps its own identity on purpose', () => {
  it('a loose base64url spelling (stray low bits), which jwtVerifier refuses: its refusal must not lock the owner out', async () => {
    const { token, publicJwk } = await signed('ES256');
    const last = token.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const loose = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
    expect(Buffer.from(loose.split('.')[2], 'base64url').equals(Buffer.from(token.split('.')[2], 'base64url'))).toBe(true);
    expect(inspectToken(loose).identityKey).not.toBe(inspectToken(token).identityKey);
    const auth = multiAuth({ verifiers: [jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, publicKey: publicJwk })] });
    await expect(auth.verify(loose)).rejects.toMatchObject({ status: 401 });
    expect((await auth.verify(token)).clientId).toBe('attacker');
  });

  it('a token that is not ECDSA-signed is identified by its own digest', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(privateKey);
    const inspected = inspectToken(token);
    expect(inspected.identityKey).toBe(inspected.digestKey);
    expect(inspectToken('an-opaque-token-of-some-length').identityKey).toBe(inspectToken('an-opaque-token-of-some-length').digestKey);
  });

  it('an accepted entry answers only the spelling it was made from (the other is verified again)', async () => {
    const { token } = await signed('ES256');
    const cache = new ResultCache();
    cache.setAccepted(inspectToken(token), { token, clientId: 'c', scopes: [], source: 'jwt', payload: {}, extra: { source: 'jwt' }, expiresAt: Math.floor(Date.now() / 1000) + 600 }, Date.now());
    expect(cache.get(inspectToken(token), Date.now())).toMatchObject({ token });
    expect(cache.get(inspectToken(respell(token, 'ES256')), Date.now())).toBeUndefined();
  });
});
