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
