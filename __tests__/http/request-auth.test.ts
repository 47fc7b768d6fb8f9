import http from 'node:http';
import request from 'supertest';
import express from 'express';
import { multiAuth } from '../../lib/chain/multi-auth';
import { getAuth, mcpRequest } from '../../lib/http/request-auth';
import { oneTokenVerifier } from '../support/app';

/** mcpRequest(req): req itself, typed for the MCP SDK's transports, with multiAuth's req.auth. */
describe('mcpRequest', () => {
  function app(before?: express.RequestHandler) {
    const a = express();
    if (before) a.use(before);
    a.use(multiAuth({ verifiers: oneTokenVerifier('ci', 'ci-key', { scopes: ['mcp:read'] }), authRequired: false }));
    a.get('/', (req, res, next) => {
      try {
        const typed = mcpRequest(req);
        res.json({ same: typed === (req as http.IncomingMessage), source: typed.auth?.source ?? null, viaGetAuth: getAuth(req)?.source ?? null });
      } catch (error) {
        next(error);
      }
    });
    a.use(((error, _req, res, _next) => {
      res.status(500).json({ name: (error as Error).name, message: (error as Error).message });
    }) as express.ErrorRequestHandler);
    return a;
  }

  it('returns the request itself, with the auth multiAuth set', async () => {
    const res = await request(app()).get('/').set('Authorization', 'Bearer ci-key');
    expect(res.body).toEqual({ same: true, source: 'ci', viaGetAuth: 'ci' });
  });

  it('passes a request without credentials (authRequired: false) through with no auth', async () => {
    const res = await request(app()).get('/');
    expect(res.body).toEqual({ same: true, source: null, viaGetAuth: null });
  });

  it('throws a TypeError when another middleware set req.auth (e.g. express-oauth2-jwt-bearer)', async () => {
    const foreign: express.RequestHandler = (req, _res, next) => {
      (req as { auth?: unknown }).auth = { payload: { sub: 'u1' }, header: { alg: 'RS256' }, token: 'x' };
      next();
    };
    const res = await request(app(foreign)).get('/');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ name: 'TypeError', message: expect.stringMatching(/^mcpRequest: req\.auth was not set by multiAuth/) });
  });
});

describe('getAuth(authInfo) on a copy that kept the SDK\'s known fields only (issue 26)', () => {
  it('recognises it by extra.source, typed as MultiAuthInfo with source and standard claims', async () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('ci', 'ci-token') });
    const info = await auth.verify('ci-token');
    // MultiAuthInfo.payload is always set, and typed so: no `?.` or `!` needed.
    const payload: Record<string, unknown> = info.payload;
    expect(payload.client_id).toBe(info.clientId);
    // What MCP SDK v2 hands a tool handler: token, clientId, scopes, expiresAt, resource, extra.
    const copy = { token: info.token, clientId: info.clientId, scopes: info.scopes, expiresAt: info.expiresAt, extra: info.extra };
    const found = getAuth(copy);
    expect(found?.source).toBe('ci');
    expect(found?.clientId).toBe(info.clientId);
    expect(found?.payload).toEqual(expect.objectContaining({ client_id: info.clientId }));
  });

  it('still answers undefined for an AuthInfo no multiAuth made', () => {
    expect(getAuth({ token: 't', clientId: 'c', scopes: [], extra: {} })).toBeUndefined();
    expect(getAuth({ token: 't', clientId: 'c', scopes: [] })).toBeUndefined();
  });
});
