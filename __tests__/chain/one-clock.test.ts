/**
 * One clock (API.md): a token is expired when now reaches expiresAt + the accepting source's
 * tolerance, and the source, the chain and the result cache all apply that same rule, so none
 * of them refuses (or caches a refusal of) what another accepted.
 */
import { generateKeyPair, exportJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { multiAuth } from '../../lib/chain/multi-auth';
import { ResultCache } from '../../lib/chain/result-cache';
import { inspectToken } from '../../lib/core/token-inspection';
import { isExpired } from '../../lib/core/clock';
import type { Decision, MultiAuthInfo } from '../../lib/core/types';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';

const ISSUER = 'https://issuer.clock.test';
const AUDIENCE = 'https://mcp.clock.test/mcp';

let privateKey: CryptoKey;
let publicJwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  publicJwk = await exportJWK(pair.publicKey);
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

function mint(exp: number): Promise<string> {
  return new SignJWT({ client_id: 'svc', scope: 'read' })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime(exp)
    .sign(privateKey);
}

const verifier = () => jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, publicKey: publicJwk, clockTolerance: 30 });

describe('a token expired 1 s ago, from a jwtVerifier with clockTolerance 30', () => {
  it('is accepted by the verifier itself', async () => {
    const token = await mint(nowSeconds() - 1);
    await expect(verifier().verifyAccessToken(token)).resolves.toMatchObject({ clientId: 'svc' });
  });

  it('is accepted by the chain, then served from the cache, never refused', async () => {
    const token = await mint(nowSeconds() - 1);
    const decisions: Decision[] = [];
    const auth = multiAuth({ verifiers: verifier(), onDecision: (d) => decisions.push(d) });
    await expect(auth.verify(token)).resolves.toMatchObject({ source: 'jwt', clientId: 'svc' });
    await expect(auth.verify(token)).resolves.toMatchObject({ source: 'jwt', clientId: 'svc' });
    expect(decisions.map((d) => [d.outcome, d.cached])).toEqual([
      ['accepted', false],
      ['accepted', true],
    ]);
  });

  it('is accepted through a primary wrapping that verifier (its tolerance goes with it)', async () => {
    const token = await mint(nowSeconds() - 1);
    const auth = multiAuth({ primary: remoteAuthServer({ issuer: ISSUER, resource: AUDIENCE, verifier: verifier() }), cache: false });
    await expect(auth.verify(token)).resolves.toMatchObject({ source: 'primary' });
  });

  it('is refused by all three once it is past the tolerance', async () => {
    const token = await mint(nowSeconds() - 31);
    await expect(verifier().verifyAccessToken(token)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(multiAuth({ verifiers: verifier() }).verify(token)).rejects.toMatchObject({ status: 401 });
  });
});

describe('the cache keeps an acceptance exactly as long as the accepting source would', () => {
  const info = (expiresAt: number): MultiAuthInfo => ({ token: 't', clientId: 'c', scopes: [], expiresAt, source: 's', payload: {}, extra: { source: 's' } });

  it('serves it until the instant expiresAt + tolerance, and not from that instant on', () => {
    const expiresAt = nowSeconds() + 1;
    const token = inspectToken('tok');
    const cache = new ResultCache();
    cache.setAccepted(token, info(expiresAt), (expiresAt - 1) * 1000, 5);
    expect(cache.get(token, (expiresAt + 5) * 1000 - 1)).toMatchObject({ clientId: 'c' });
    expect(cache.get(token, (expiresAt + 5) * 1000)).toBeUndefined();
  });

  it('stores nothing for a token already expired under the tolerance', () => {
    const expiresAt = nowSeconds();
    const token = inspectToken('tok');
    const cache = new ResultCache();
    cache.setAccepted(token, info(expiresAt), (expiresAt + 5) * 1000, 5);
    expect(cache.size.accepted).toBe(0);
  });

  it('never carries the expiry bookkeeping into req.auth', () => {
    const expiresAt = nowSeconds() + 60;
    const token = inspectToken('tok');
    const cache = new ResultCache();
    cache.setAccepted(token, info(expiresAt), Date.now(), 5);
    const hit = cache.get(token, Date.now()) as MultiAuthInfo;
    expect(Reflect.ownKeys(hit).filter((k) => typeof k === 'symbol')).toEqual([]);
  });
});

describe('isExpired: the one rule', () => {
  it("is jose's: expired from the instant now reaches exp + tolerance", () => {
    expect(isExpired(100, 5, 104_999)).toBe(false);
    expect(isExpired(100, 5, 105_000)).toBe(true);
    expect(isExpired(100, 0, 99_999)).toBe(false);
    expect(isExpired(100, 0, 100_000)).toBe(true);
    expect(isExpired(undefined, 0, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});
