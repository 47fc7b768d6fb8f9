/**
 * How long a withdrawn key or a revoked token keeps working. Two layers remember acceptances:
 * multiAuth's result cache (`cache.ttlMs`, default 60 s) and each source's own cache (the JWKS
 * for `jwks.cacheMaxAgeMs`, default 10 min; introspection answers for its `cache.ttlMs`, default
 * 30 s). These tests pin down the bound each configuration gives, with short settings.
 */
import request from 'supertest';
import express from 'express';
import { introspectionVerifier, type IntrospectionVerifierOptions } from '../../lib/sources/introspection-verifier';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { multiAuth } from '../../lib/chain/multi-auth';
import type { MultiAuthOptions } from '../../lib/chain/config';
import { getAuth } from '../../lib/http/request-auth';
import type { Decision } from '../../lib/core/types';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { AUDIENCE, KeyServer } from '../support/key-server';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function appWith(options: MultiAuthOptions) {
  const decisions: Decision[] = [];
  const auth = multiAuth({ ...options, onDecision: (d) => decisions.push(d) });
  const app = express();
  app.use(auth);
  app.get('/', (req, res) => res.json({ source: getAuth(req)!.source }));
  const status = async (token: string) => (await request(app).get('/').set('Authorization', `Bearer ${token}`)).status;
  return { status, decisions };
}

/** Polls until `token` is refused; resolves to the ms it took, or fails after `limitMs`. */
async function msUntilRefused(status: (token: string) => Promise<number>, token: string, limitMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const code = await status(token);
    if (code !== 200) {
      expect(code).toBe(401);
      return Date.now() - started;
    }
    if (Date.now() - started > limitMs) throw new Error(`still accepted after ${limitMs} ms`);
    await sleep(25);
  }
}

describe('a signing key withdrawn from the JWKS', () => {
  const CACHE_MAX_AGE_MS = 400;
  let keys: KeyServer;

  beforeEach(async () => {
    keys = await KeyServer.start();
  });
  afterEach(() => keys.close());

  const verifier = () =>
    jwtVerifier({
      name: 'jwt',
      issuer: keys.issuer(),
      audience: AUDIENCE,
      jwksUri: keys.jwksUri,
      jwks: { cacheMaxAgeMs: CACHE_MAX_AGE_MS, failureBackoffMs: 0 },
    });

  // ES256 keys throughout: generating one takes milliseconds, where an RSA key can take longer
  // than the windows measured here on a busy machine.
  const mint = () => keys.mint({}, { alg: 'ES256' });

  it('with cache: false, stops verifying tokens once the key set is older than jwks.cacheMaxAgeMs', async () => {
    const { status } = appWith({ verifiers: verifier(), cache: false });
    const token = await mint();
    const fetchedAt = Date.now();
    expect(await status(token)).toBe(200);
    await keys.rotate('ES256');
    await msUntilRefused(status, token, 5000);
    // Accepted while the fetched set was fresh (the withdrawal is not pushed), refused right after.
    expect(Date.now() - fetchedAt).toBeGreaterThanOrEqual(CACHE_MAX_AGE_MS);
    expect(Date.now() - fetchedAt).toBeLessThan(CACHE_MAX_AGE_MS + 1000);
    // One fetch at first use, one when the cached set went stale: the withdrawal was seen by asking.
    expect(keys.requests(keys.jwksPath)).toBe(2);
    // Tokens signed with the new key are accepted at once.
    expect(await status(await mint())).toBe(200);
  });

  it('with a short cache.ttlMs, is refused once both the result and the key set have expired', async () => {
    const TTL_MS = 1500;
    const { status, decisions } = appWith({ verifiers: verifier(), cache: { ttlMs: TTL_MS } });
    const token = await mint();
    const acceptedAt = Date.now();
    expect(await status(token)).toBe(200);
    await keys.rotate('ES256');
    // Past the key set's age but well within the result's: the result cache still answers.
    await sleep(CACHE_MAX_AGE_MS + 300 - (Date.now() - acceptedAt));
    expect(await status(token)).toBe(200);
    expect(decisions.at(-1)!.cached).toBe(true);
    await msUntilRefused(status, token, 5000);
    const refusedAt = Date.now();
    expect(refusedAt - acceptedAt).toBeGreaterThanOrEqual(TTL_MS);
    expect(refusedAt - acceptedAt).toBeLessThan(Math.max(TTL_MS, CACHE_MAX_AGE_MS) + 1000);
    expect(decisions.at(-1)).toMatchObject({ outcome: 'rejected', cached: false });
  });

  it('does not keep accepting with the stale key set when the key server is down at refresh time: 503', async () => {
    const { status } = appWith({ verifiers: verifier(), cache: false });
    const token = await mint();
    expect(await status(token)).toBe(200);
    keys.setMode('error');
    await sleep(CACHE_MAX_AGE_MS + 100);
    expect(await status(token)).toBe(503);
  });
});

describe('an opaque token revoked at a real authorization server (oidc-provider, RFC 7009 + RFC 7662)', () => {
  let as: Issuer;
  beforeAll(async () => {
    as = await startIssuer();
  });
  afterAll(() => as?.stop());

  const introspection = (cache: IntrospectionVerifierOptions['cache']) =>
    introspectionVerifier({ ...introspectionOptionsFor(as), cache });

  it('is refused at the next request with both caches off', async () => {
    const { status } = appWith({ verifiers: introspection(false), cache: false });
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    expect(await status(token)).toBe(200);
    await as.revoke(token);
    expect(await status(token)).toBe(401);
  });

  it('is refused within multiAuth\'s cache.ttlMs (introspection cache off)', async () => {
    const TTL_MS = 1500;
    const { status, decisions } = appWith({ verifiers: introspection(false), cache: { ttlMs: TTL_MS } });
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    const acceptedAt = Date.now();
    expect(await status(token)).toBe(200);
    await as.revoke(token);
    expect(await status(token)).toBe(200);
    expect(decisions.at(-1)!.cached).toBe(true);
    await msUntilRefused(status, token, 5000);
    expect(Date.now() - acceptedAt).toBeLessThan(TTL_MS + 1000);
  });

  it('is refused within the introspection verifier\'s cache.ttlMs (multiAuth cache off)', async () => {
    const TTL_MS = 1500;
    const { status } = appWith({ verifiers: introspection({ ttlMs: TTL_MS }), cache: false });
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    const acceptedAt = Date.now();
    expect(await status(token)).toBe(200);
    await as.revoke(token);
    expect(await status(token)).toBe(200);
    await msUntilRefused(status, token, 5000);
    expect(Date.now() - acceptedAt).toBeLessThan(TTL_MS + 1000);
  });

  it('with both caches on, is refused within the SUM of the two TTLs, which can be later than either alone', async () => {
    // multiAuth's entry expires first; the next request refills it from the verifier's still
    // valid entry, for a full multiAuth TTL more. SECURITY.md states this bound.
    const MULTI_TTL_MS = 2000;
    const INTROSPECTION_TTL_MS = 5000;
    const { status } = appWith({ verifiers: introspection({ ttlMs: INTROSPECTION_TTL_MS }), cache: { ttlMs: MULTI_TTL_MS } });
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    const acceptedAt = Date.now();
    expect(await status(token)).toBe(200);
    await as.revoke(token);
    await sleep(4000 - (Date.now() - acceptedAt));
    expect(await status(token)).toBe(200); // multiAuth refilled from the verifier's cache, until ~6 s
    await sleep(5400 - (Date.now() - acceptedAt));
    expect(await status(token)).toBe(200); // both TTLs have passed since the revocation, still accepted
    await msUntilRefused(status, token, 5000);
    expect(Date.now() - acceptedAt).toBeLessThan(MULTI_TTL_MS + INTROSPECTION_TTL_MS + 1000);
  });
});
