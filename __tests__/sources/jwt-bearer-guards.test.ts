import request from 'supertest';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { middlewareVerifier } from '../../lib/sources/middleware-verifier';
import { standardClaims } from '../../lib/core/claims';
import { appWith } from '../support/app';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';

// express-oauth2-jwt-bearer's guards, loaded without its type declarations (their global
// `Request.auth` clashes with the MCP SDK's; see middleware-verifier.test.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jwtBearer = require('express-oauth2-jwt-bearer') as {
  auth: (options: Record<string, unknown>) => RequestHandler;
  requiredScopes: (scopes: string) => RequestHandler;
  scopeIncludesAny: (scopes: string) => RequestHandler;
  claimCheck: (check: (payload: Record<string, unknown>) => boolean) => RequestHandler;
};

/** Their guards report refusals through next(err), with `status`; answer with that status. */
const statusOf: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status((error as { status?: number }).status ?? 500).json({ error: (error as { code?: string }).code });
};

/**
 * API.md: `req.auth.payload` and `header` keep express-oauth2-jwt-bearer's field names, so its
 * `requiredScopes()` and `claimCheck()` guards work after `multiAuth` unchanged.
 */
describe("express-oauth2-jwt-bearer's guards after multiAuth", () => {
  const ISSUER = 'https://login.example.com';
  const AUDIENCE = 'https://mcp.example.com/mcp';
  let mint: (claims: Record<string, unknown>) => Promise<string>;
  let auth: ReturnType<typeof multiAuth>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    mint = (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(privateKey);
    auth = multiAuth({ verifiers: jwtVerifier({ name: 'login', issuer: ISSUER, audience: AUDIENCE, publicKey: jwk }) });
  });

  const app = (...guards: RequestHandler[]) => appWith(auth, ...guards).use(statusOf);

  it('requiredScopes() passes a token with the scope and refuses one without it (403)', async () => {
    const guarded = app(jwtBearer.requiredScopes('mcp:write'));
    const writer = await mint({ sub: 'u1', scope: 'mcp:read mcp:write' });
    const reader = await mint({ sub: 'u2', scope: 'mcp:read' });
    const ok = await request(guarded).get('/echo').set('Authorization', `Bearer ${writer}`);
    expect(ok.status).toBe(200);
    expect(ok.body.source).toBe('login');
    const refused = await request(guarded).get('/echo').set('Authorization', `Bearer ${reader}`);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('insufficient_scope');
  });

  it('claimCheck() sees the verified payload', async () => {
    const guarded = app(jwtBearer.claimCheck((payload) => payload.org === 'acme'));
    const acme = await mint({ sub: 'u1', org: 'acme' });
    const other = await mint({ sub: 'u2', org: 'globex' });
    expect((await request(guarded).get('/echo').set('Authorization', `Bearer ${acme}`)).status).toBe(200);
    expect((await request(guarded).get('/echo').set('Authorization', `Bearer ${other}`)).status).toBe(401);
  });
});

/**
 * Issue 15, point 1: a static key, an introspected token or a wrapped middleware's AuthInfo has no
 * JWT payload of its own; multiAuth fills in `scope`, `client_id`, `sub` and `exp` so that
 * their guards judge every source alike.
 */
describe("express-oauth2-jwt-bearer's guards after multiAuth, for sources that are not JWTs", () => {
  const CI_KEY = 'ci-key-0123456789abcdef';
  const BARE_KEY = 'bare-key-0123456789abcdef';
  let issuer: Issuer;
  let auth: ReturnType<typeof multiAuth>;

  /** A middleware of the app's own that sets an SDK-style AuthInfo, as the MCP SDK's requireBearerAuth does. */
  const legacyMiddleware: RequestHandler = (req, _res, next) => {
    if (req.headers.authorization === 'Bearer legacy-session-token') {
      (req as { auth?: unknown }).auth = { token: 'legacy-session-token', clientId: 'legacy-app', scopes: ['read:things'], expiresAt: 4102444800 };
      next();
    } else {
      next(Object.assign(new Error('unknown token'), { code: 'invalid_token', status: 401 }));
    }
  };

  beforeAll(async () => {
    issuer = await startIssuer();
    auth = multiAuth({
      verifiers: [
        staticTokenVerifier({
          name: 'ci',
          tokens: {
            [CI_KEY]: { clientId: 'ci', scopes: ['read:things', 'deploy'], subject: 'ci-bot', claims: { team: 'platform' } },
            [BARE_KEY]: { clientId: 'bare', scopes: [] },
          },
        }),
        introspectionVerifier(introspectionOptionsFor(issuer)),
        middlewareVerifier({ name: 'legacy', middleware: legacyMiddleware }),
      ],
    });
  }, 30_000);

  afterAll(async () => {
    await issuer?.stop();
  });

  const app = (...guards: RequestHandler[]) => appWith(auth, ...guards).use(statusOf);
  const get = (guarded: ReturnType<typeof app>, token: string) => request(guarded).get('/echo').set('Authorization', `Bearer ${token}`);

  it('requiredScopes() passes a static key with the scope and refuses one without it (403), on a miss and on a cache hit', async () => {
    const guarded = app(jwtBearer.requiredScopes('read:things'));
    for (let i = 0; i < 2; i++) {
      const ok = await get(guarded, CI_KEY);
      expect({ status: ok.status, source: ok.body.source }).toEqual({ status: 200, source: 'ci' });
      const refused = await get(guarded, BARE_KEY);
      expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 403, error: 'insufficient_scope' });
    }
  });

  it('scopeIncludesAny() and claimCheck() read the static key\'s scopes, client_id, sub and its own claims', async () => {
    const guarded = app(
      jwtBearer.scopeIncludesAny('admin deploy'),
      jwtBearer.claimCheck((p) => p.client_id === 'ci' && p.sub === 'ci-bot' && p.team === 'platform'),
    );
    expect((await get(guarded, CI_KEY)).status).toBe(200);
    expect((await get(guarded, BARE_KEY)).status).toBe(403);
  });

  it('requiredScopes() and claimCheck() work for an introspected (opaque) token', async () => {
    const token = await issuer.opaqueToken({ scope: 'mcp:read' });
    const reader = app(jwtBearer.requiredScopes('mcp:read'), jwtBearer.claimCheck((p) => p.client_id === issuer.m2mClient.clientId && typeof p.exp === 'number'));
    const ok = await get(reader, token);
    expect({ status: ok.status, source: ok.body.source }).toEqual({ status: 200, source: 'corp-as' });
    expect((await get(app(jwtBearer.requiredScopes('mcp:write')), token)).status).toBe(403);
  });

  it("requiredScopes() and claimCheck() work for a wrapped middleware's AuthInfo", async () => {
    const guarded = app(jwtBearer.requiredScopes('read:things'), jwtBearer.claimCheck((p) => p.client_id === 'legacy-app' && p.exp === 4102444800));
    const ok = await get(guarded, 'legacy-session-token');
    expect({ status: ok.status, source: ok.body.source }).toEqual({ status: 200, source: 'legacy' });
    expect((await get(app(jwtBearer.requiredScopes('write:things')), 'legacy-session-token')).status).toBe(403);
  });
});

describe('standardClaims', () => {
  it("keeps a source's own claims and fills in only the missing names", () => {
    const own = { scope: 'a', client_id: 'from-token', sub: 'u1', exp: 10, iss: 'x' };
    expect(standardClaims({ clientId: 'other', scopes: ['b'], subject: 'u2', expiresAt: 20, payload: own })).toBe(own);
    expect(standardClaims({ clientId: 'c', scopes: ['a', 'b'], subject: 'u', expiresAt: 5, payload: { iss: 'x' } })).toEqual({
      iss: 'x',
      scope: 'a b',
      client_id: 'c',
      sub: 'u',
      exp: 5,
    });
  });

  it('gives an empty scope claim for no scopes and leaves out what the source does not know', () => {
    expect(standardClaims({ clientId: '', scopes: [] })).toEqual({ scope: '' });
  });
});
