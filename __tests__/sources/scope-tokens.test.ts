import http from 'node:http';
import request from 'supertest';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { multiAuth } from '../../lib/chain/multi-auth';
import { requireScopes } from '../../lib/http/guards';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { middlewareVerifier } from '../../lib/sources/middleware-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { scopeList } from '../../lib/core/claims';
import { appWith } from '../support/app';
import { closeServer, listenOnLoopback } from '../support/loopback';

// express-oauth2-jwt-bearer's guards, loaded without its type declarations (their global
// `Request.auth` clashes with the MCP SDK's; see middleware-verifier.test.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jwtBearer = require('express-oauth2-jwt-bearer') as {
  requiredScopes: (scopes: string) => RequestHandler;
  scopeIncludesAny: (scopes: string) => RequestHandler;
};

const statusOf: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status((error as { status?: number }).status ?? 500).json({ error: (error as { code?: string }).code });
};

const ISSUER = 'https://login.example.com';
const AUDIENCE = 'https://mcp.example.com/mcp';
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/**
 * Issue 29, item 2 (SECURITY.md "A scope that splits two ways"): a scope is an RFC 6749 §3.3
 * scope token, which has no space. The attacker holds a token the issuer granted the single
 * (odd) scope "read admin"; no source may turn that into the scope `admin`, for this package's
 * guards or for express-oauth2-jwt-bearer's, which split `payload.scope` on spaces.
 */
describe('a scope element with a space is not a scope, for every source and every guard', () => {
  let mint: (claims: Record<string, unknown>) => Promise<string>;
  let introspection: http.Server;
  let introspectionUrl: string;
  const introspected = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    mint = (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(privateKey);
    jwtKey = jwk;
    introspection = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const claims = introspected.get(new URLSearchParams(body).get('token') ?? '');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(claims ? { active: true, ...claims } : { active: false }));
      });
    });
    introspectionUrl = await listenOnLoopback(introspection);
  });
  afterAll(() => closeServer(introspection));

  let jwtKey: Record<string, unknown>;

  /** A custom verifier as an SDK user writes one, reporting what its store says. */
  const customVerifier = {
    name: 'custom',
    async verifyAccessToken(token: string) {
      return token === 'custom-token-with-odd-scope' ? { token, clientId: 'c', scopes: ['read admin', 'read'], expiresAt: inAnHour() } : null;
    },
  };
  /** A wrapped middleware that sets an SDK-style AuthInfo. */
  const legacy: RequestHandler = (req, _res, next) => {
    if (req.headers.authorization === 'Bearer legacy-token-with-odd-scope') {
      (req as { auth?: unknown }).auth = { token: 'legacy-token-with-odd-scope', clientId: 'l', scopes: ['read admin', 'read'], expiresAt: inAnHour() };
      next();
    } else next(Object.assign(new Error('unknown token'), { code: 'invalid_token', status: 401 }));
  };

  const auth = () =>
    multiAuth({
      verifiers: [
        jwtVerifier({ name: 'jwt', issuer: ISSUER, audience: AUDIENCE, publicKey: jwtKey as never }),
        introspectionVerifier({ name: 'introspection', endpoint: `${introspectionUrl}/introspect`, clientId: 'rs', clientSecret: 's', audience: AUDIENCE }),
        middlewareVerifier({ name: 'legacy', middleware: legacy }),
        customVerifier,
      ],
    });

  const tokens = async (): Promise<Record<string, string>> => {
    introspected.set('opaque-token-with-odd-scope', { client_id: 'i', aud: AUDIENCE, exp: inAnHour(), scope: ['read admin', 'read'] });
    return {
      'JWT scp array': await mint({ sub: 'u1', scp: ['read admin', 'read'] }),
      'introspection scope array': 'opaque-token-with-odd-scope',
      'wrapped middleware': 'legacy-token-with-odd-scope',
      'custom verifier': 'custom-token-with-odd-scope',
    };
  };

  it("express-oauth2-jwt-bearer's requiredScopes('admin') refuses the token (403) whichever source accepted it", async () => {
    const app = appWith(auth(), jwtBearer.requiredScopes('admin')).use(statusOf);
    for (const [kind, token] of Object.entries(await tokens())) {
      const res = await request(app).get('/echo').set('Authorization', `Bearer ${token}`);
      expect({ kind, status: res.status }).toEqual({ kind, status: 403 });
    }
  });

  it("express-oauth2-jwt-bearer's scopeIncludesAny('admin') refuses it too", async () => {
    const app = appWith(auth(), jwtBearer.scopeIncludesAny('admin')).use(statusOf);
    for (const [kind, token] of Object.entries(await tokens())) {
      const res = await request(app).get('/echo').set('Authorization', `Bearer ${token}`);
      expect({ kind, status: res.status }).toEqual({ kind, status: 403 });
    }
  });

  it('req.auth.scopes holds only the real scope, and the guards still see it (requireScopes("read") passes)', async () => {
    const app = appWith(auth(), requireScopes('read'), jwtBearer.requiredScopes('read'));
    for (const [kind, token] of Object.entries(await tokens())) {
      const res = await request(app).get('/echo').set('Authorization', `Bearer ${token}`);
      expect({ kind, status: res.status, scopes: res.body.scopes }).toEqual({ kind, status: 200, scopes: ['read'] });
    }
  });
});

describe('scopeList: RFC 6749 §3.3 scope tokens only', () => {
  it('splits a scope string on spaces and keeps an array element only when it is one scope token', () => {
    expect(scopeList('read  write')).toEqual(['read', 'write']);
    expect(scopeList(['read admin', 'read', 'a"b', 'x\\y', '', 'ok:1'])).toEqual(['read', 'ok:1']);
    expect(scopeList('read\tadmin write')).toEqual(['write']);
  });
});

describe('staticTokenVerifier: a configured scope with a space', () => {
  it('is refused at construction, naming the fix', () => {
    expect(() => staticTokenVerifier({ tokens: { 'ci-key-0123456789abcdef': { clientId: 'ci', scopes: ['read admin'] } } })).toThrow(
      /"read admin" is not one RFC 6749 scope token.*list each scope apart/,
    );
  });
});
