import request from 'supertest';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { appWith } from '../support/app';

// express-oauth2-jwt-bearer's guards, loaded without its type declarations (their global
// `Request.auth` clashes with the MCP SDK's; see middleware-verifier.test.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jwtBearer = require('express-oauth2-jwt-bearer') as {
  requiredScopes: (scopes: string) => RequestHandler;
  claimCheck: (check: (payload: Record<string, unknown>) => boolean) => RequestHandler;
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

  /** Their guards report refusals through next(err), with `status`; answer with that status. */
  const statusOf: ErrorRequestHandler = (error, _req, res, _next) => {
    res.status((error as { status?: number }).status ?? 500).json({ error: (error as { code?: string }).code });
  };
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
