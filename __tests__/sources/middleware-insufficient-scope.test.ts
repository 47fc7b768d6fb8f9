import express from 'express';
import request from 'supertest';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { multiAuth } from '../../lib/chain/multi-auth';
import { middlewareVerifier } from '../../lib/sources/middleware-verifier';
import { appWith, parseBearerChallenge } from '../support/app';
import { AUDIENCE, KeyServer } from '../support/key-server';

// express-oauth2-jwt-bearer, loaded without its type declarations (see middleware-verifier.test.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jwtBearer = require('express-oauth2-jwt-bearer') as { auth: (options: Record<string, unknown>) => RequestHandler };

const statusOf: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status((error as { status?: number }).status ?? 500).json({ error: (error as { code?: string }).code });
};

/**
 * Issue 28, point 4, for wrapped middlewares: a middleware that recognised the token and found
 * its scope too small (express-oauth2-jwt-bearer's `requiredScopes()` after its `auth()`; the MCP
 * SDK's `requireBearerAuth` with `requiredScopes`) gets the same 403 as a verifier that throws
 * `insufficient_scope`, not a 401 that tells the client its token is bad.
 */
describe("a wrapped middleware's insufficient_scope", () => {
  let keys: KeyServer;
  beforeAll(async () => {
    keys = await KeyServer.start();
  });
  afterAll(() => keys.close());

  it("express-oauth2-jwt-bearer's auth() then requiredScopes('admin'): 403 naming admin, as before", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { requiredScopes } = require('express-oauth2-jwt-bearer') as { requiredScopes: (s: string) => RequestHandler };
    const check = jwtBearer.auth({ issuer: keys.issuer(), jwksUri: keys.jwksUri, audience: AUDIENCE });
    const admin = requiredScopes('admin');
    const both: RequestHandler = (req, res, next) => check(req, res, (error?: unknown) => (error ? next(error) : admin(req, res, next)));
    const before = express().get('/echo', both, (_req, res) => void res.json({})).use(statusOf);
    const after = appWith(multiAuth({ verifiers: middlewareVerifier({ name: 'auth0', middleware: both }) }));
    const token = await keys.mint({ scope: 'mcp:read' });
    expect((await request(before).get('/echo').set('Authorization', `Bearer ${token}`)).status).toBe(403);
    const res = await request(after).get('/echo').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params).toMatchObject({ error: 'insufficient_scope', scope: 'admin' });
  });

  it("the MCP SDK's requireBearerAuth answering 403 itself: 403, as before", async () => {
    const sdk = requireBearerAuth({
      verifier: { verifyAccessToken: async (token) => ({ token, clientId: 'c', scopes: ['mcp:read'], expiresAt: Math.floor(Date.now() / 1000) + 600 }) },
      requiredScopes: ['mcp:write'],
    });
    const after = appWith(multiAuth({ verifiers: middlewareVerifier({ name: 'sdk', middleware: sdk }), requiredScopes: ['mcp:write'] }));
    const res = await request(after).get('/echo').set('Authorization', 'Bearer some-session-token');
    expect(res.status).toBe(403);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params).toMatchObject({ error: 'insufficient_scope', scope: 'mcp:write' });
  });
});
