import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Request, Response } from 'express';
import request from 'supertest';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { middlewareVerifier, defaultToAuthInfo, type AuthMiddleware, type MiddlewareVerifierOptions } from '../../lib/sources/middleware-verifier';
import { InvalidTokenError, MultiAuthConfigError, TemporarilyUnavailableError } from '../../lib/core/errors';
import { multiAuth } from '../../lib/chain/multi-auth';
import { inspectToken } from '../../lib/core/token-inspection';
import { appWith } from '../support/app';
import { closeServer, listenOnLoopback } from '../support/loopback';

// The real express-oauth2-jwt-bearer, loaded without its type declarations. They declare
// `Express.Request.auth` globally as their own type, which clashes with the MCP SDK's
// declaration that examples/ and other tests rely on (a clash between those two packages, not
// ours: __tests__/fixtures/consumers/jwt-bearer.mts proves this package compiles next to it).
// The runtime module is the same either way.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { auth } = require('express-oauth2-jwt-bearer') as { auth: (options: Record<string, unknown>) => AuthMiddleware };

const AUDIENCE = 'https://mcp.example.com/mcp';
const KID = 'key-1';

/** A key server on 127.0.0.1 serving OpenID discovery and a JWKS; `mode` injects faults. */
class KeyServer {
  mode: 'ok' | 'error' | 'hang' = 'ok';
  jwk: JWK = {};
  url = '';
  private readonly server = http.createServer((req, res) => {
    if (this.mode === 'hang') return;
    if (this.mode === 'error') return void res.writeHead(500).end();
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ issuer: this.issuer, jwks_uri: `${this.url}/jwks.json` }));
    }
    if (req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ keys: [this.jwk] }));
    }
    res.writeHead(404).end();
  });

  get issuer(): string {
    return `${this.url}/`;
  }

  async start(): Promise<void> {
    this.url = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}

const keys = new KeyServer();
let signingKey: CryptoKey;
let otherKey: CryptoKey;
let closedPort: number;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  keys.jwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  await keys.start();
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  closedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
});
afterAll(() => keys.stop());
beforeEach(() => {
  keys.mode = 'ok';
});

interface TokenOptions {
  audience?: string;
  key?: CryptoKey;
  claims?: Record<string, unknown>;
}

function sign({ audience = AUDIENCE, key = signingKey, claims = {} }: TokenOptions = {}): Promise<string> {
  return new SignJWT({ client_id: 'reporting-bot', scope: 'mcp:read mcp:write', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'at+jwt' })
    .setIssuer(keys.issuer)
    .setAudience(audience)
    .setSubject('user-42')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

/** express-oauth2-jwt-bearer's real `auth()` against the key server. */
function jwtBearer(options: Record<string, unknown> = {}): AuthMiddleware {
  return auth({ issuer: keys.issuer, jwksUri: `${keys.url}/jwks.json`, audience: AUDIENCE, ...options });
}

function verifier(options: Partial<MiddlewareVerifierOptions> = {}) {
  return middlewareVerifier({ name: 'auth0', middleware: jwtBearer(), ...options });
}

type Outcome = 'accepted' | 'rejected' | 'failed' | `errored: ${string}`;

async function outcomeOf(promise: Promise<unknown>): Promise<Outcome> {
  try {
    return (await promise) ? 'accepted' : 'rejected';
  } catch (error) {
    if (error instanceof InvalidTokenError) return 'rejected';
    if (error instanceof TemporarilyUnavailableError) return 'failed';
    return `errored: ${String(error)}`;
  }
}

/**
 * An Express app whose `/probe` route verifies the request's own bearer token with `v`,
 * passing the real request, then reports what the route still sees of its request and
 * response: nothing the wrapped middleware did may show there.
 */
function probeApp(v: { verifyAccessToken: (t: string, c?: never) => Promise<unknown> }, tokenOverride?: string) {
  const app = express();
  app.get('/probe', async (req: Request, res: Response) => {
    const token = tokenOverride ?? (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const context = { signal: AbortSignal.timeout(5000), token: inspectToken(token), req };
    let result: unknown;
    const outcome = await outcomeOf(
      v.verifyAccessToken(token, context as never).then((r) => {
        result = r;
        return r;
      }),
    );
    const r = req as Request & Record<string, unknown>;
    res.json({
      outcome,
      clientId: (result as { clientId?: string } | undefined)?.clientId,
      realAuth: r.auth ?? null,
      realUser: r.user ?? null,
      ownKeys: Object.keys(req).filter((k) => ['auth', 'user'].includes(k)),
      headersSent: res.headersSent,
      statusCode: res.statusCode,
      wwwAuthenticate: res.getHeader('www-authenticate') ?? null,
      locals: Object.keys(res.locals),
      authorization: req.headers.authorization ?? null,
    });
  });
  return app;
}

describe('middlewareVerifier with express-oauth2-jwt-bearer auth()', () => {
  it('accepts a valid token with clientId, scopes, subject, expiresAt, payload, header and source', async () => {
    const token = await sign();
    const info = await verifier().verifyAccessToken(token, { signal: new AbortController().signal, token: inspectToken(token) });
    expect(info).toMatchObject({
      token,
      clientId: 'reporting-bot',
      scopes: ['mcp:read', 'mcp:write'],
      subject: 'user-42',
      resource: new URL(AUDIENCE),
      source: 'auth0',
      extra: { source: 'auth0' },
      header: { alg: 'RS256', kid: KID, typ: 'at+jwt' },
      payload: { iss: keys.issuer, aud: AUDIENCE, sub: 'user-42', client_id: 'reporting-bot' },
    });
    expect(info.expiresAt).toBe(info.payload?.exp);
  });

  it('works when called directly, without a request (a minimal GET / is built)', async () => {
    expect(await outcomeOf(verifier().verifyAccessToken(await sign()))).toBe('accepted');
  });

  it('works with issuerBaseURL discovery', async () => {
    const v = middlewareVerifier({ name: 'auth0', middleware: auth({ issuerBaseURL: keys.url, audience: AUDIENCE }) });
    expect(await outcomeOf(v.verifyAccessToken(await sign()))).toBe('accepted');
  });

  it('rejects a token for another audience', async () => {
    expect(await outcomeOf(verifier().verifyAccessToken(await sign({ audience: 'https://other.example.com' })))).toBe('rejected');
  });

  it('rejects a token with a bad signature', async () => {
    expect(await outcomeOf(verifier().verifyAccessToken(await sign({ key: otherKey })))).toBe('rejected');
  });

  it('rejects something that is not a JWT', async () => {
    expect(await outcomeOf(verifier().verifyAccessToken('opaque-token'))).toBe('rejected');
  });

  it('fails when the key server is down', async () => {
    const v = middlewareVerifier({ middleware: jwtBearer({ jwksUri: `http://127.0.0.1:${closedPort}/jwks.json` }) });
    const error = await v.verifyAccessToken(await sign()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
    expect((error as Error & { cause?: unknown }).cause).toMatchObject({ code: 'invalid_token' });
  });

  it('fails when the key server answers 500, or discovery fails', async () => {
    keys.mode = 'error';
    expect(await outcomeOf(verifier().verifyAccessToken(await sign()))).toBe('failed');
    const discovering = middlewareVerifier({ middleware: auth({ issuerBaseURL: keys.url, audience: AUDIENCE }) });
    expect(await outcomeOf(discovering.verifyAccessToken(await sign()))).toBe('failed');
  });

  it('fails when the key server hangs past its timeout', async () => {
    keys.mode = 'hang';
    const v = middlewareVerifier({ middleware: jwtBearer({ timeoutDuration: 100 }) });
    expect(await outcomeOf(v.verifyAccessToken(await sign()))).toBe('failed');
  });

  it('leaves no auth on the real request after a rejection, and never writes the response', async () => {
    const res = await request(probeApp(verifier())).get('/probe').set('Authorization', `Bearer ${await sign({ key: otherKey })}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'rejected', realAuth: null, ownKeys: [], headersSent: false, statusCode: 200, wwwAuthenticate: null });
  });

  it('leaves no auth on the real request after an acceptance either (the chain sets req.auth itself)', async () => {
    const res = await request(probeApp(verifier())).get('/probe').set('Authorization', `Bearer ${await sign()}`);
    expect(res.body).toMatchObject({ outcome: 'accepted', clientId: 'reporting-bot', realAuth: null, ownKeys: [] });
  });

  it('verifies exactly the token it is given, not whatever the request carries', async () => {
    const good = await sign();
    const res = await request(probeApp(verifier(), good)).get('/probe').set('Authorization', 'Bearer something-else');
    expect(res.body).toMatchObject({ outcome: 'accepted', authorization: 'Bearer something-else' });
  });

  it('works with a plain Node request (no Express), as under Connect', async () => {
    const v = verifier();
    const server = http.createServer(async (req, res) => {
      const token = (req.headers.authorization ?? '').slice('Bearer '.length);
      const outcome = await outcomeOf(v.verifyAccessToken(token, { signal: AbortSignal.timeout(5000), token: inspectToken(token), req }));
      res.end(outcome);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await request(server).get('/plain?x=1').set('Authorization', `Bearer ${await sign()}`);
      expect(res.text).toBe('accepted');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('middlewareVerifier in multiAuth', () => {
  it('answers 200 with req.auth.source for a good token, 401 for a bad one, 503 when the key server is down', async () => {
    const app = appWith(multiAuth({ verifiers: verifier(), cache: false }));
    const ok = await request(app).get('/echo').set('Authorization', `Bearer ${await sign()}`);
    expect(ok.body).toMatchObject({ source: 'auth0', clientId: 'reporting-bot', scopes: ['mcp:read', 'mcp:write'], extraSource: 'auth0' });
    const bad = await request(app).get('/echo').set('Authorization', `Bearer ${await sign({ audience: 'nope' })}`);
    expect(bad.status).toBe(401);
    keys.mode = 'error';
    const down = await request(appWith(multiAuth({ verifiers: verifier(), cache: false }))).get('/echo').set('Authorization', `Bearer ${await sign()}`);
    expect(down.status).toBe(503);
  });

  it('answers 401 and not the wrapped middleware\'s own answer when it writes one', async () => {
    const writer: AuthMiddleware = (_req, res) => res.status(401).set('WWW-Authenticate', 'Basic realm="legacy"').json({ legacy: true });
    const app = appWith(multiAuth({ verifiers: middlewareVerifier({ name: 'legacy', middleware: writer }) }));
    const res = await request(app).get('/echo').set('Authorization', 'Bearer abc');
    expect(res.status).toBe(401);
    expect(res.body.legacy).toBeUndefined();
    expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
  });
});

describe('middlewareVerifier: a custom middleware that answers instead of calling next', () => {
  it('rejects on res.status(401).end(), keeping the real response and request untouched', async () => {
    const writer: AuthMiddleware = (req, res) => {
      req.user = 'intruder';
      res.locals.user = 'intruder';
      res.status(401).set('WWW-Authenticate', 'Bearer error="invalid_token"').end();
    };
    const res = await request(probeApp(middlewareVerifier({ middleware: writer }))).get('/probe').set('Authorization', 'Bearer abc');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'rejected', realUser: null, headersSent: false, statusCode: 200, wwwAuthenticate: null, locals: [] });
  });

  it.each<[string, Outcome, AuthMiddleware]>([
    ['sendStatus(403)', 'rejected', (_q, res) => res.sendStatus(403)],
    ['a 400 JSON body', 'rejected', (_q, res) => res.status(400).json({ error: 'invalid_request' })],
    ['a redirect to a login page', 'rejected', (_q, res) => res.redirect('/login')],
    ['status(503).json()', 'failed', (_q, res) => res.status(503).json({ error: 'down' })],
    ['writeHead(500) + end()', 'failed', (_q, res) => res.writeHead(500).end()],
    ['a 429', 'failed', (_q, res) => res.status(429).send('slow down')],
  ])('%s -> %s, the real response untouched', async (_name, expected, middleware) => {
    const res = await request(probeApp(middlewareVerifier({ middleware }))).get('/probe').set('Authorization', 'Bearer abc');
    expect(res.body).toMatchObject({ outcome: expected, headersSent: false, statusCode: 200 });
  });
});

describe('middlewareVerifier: next(err), throws and silence', () => {
  const withStatus = (status: number, message = 'refused') => Object.assign(new Error(message), { status });
  const withCode = (code: string) => Object.assign(new Error(code), { code });

  it.each<[string, Outcome, AuthMiddleware]>([
    ['next() without req.auth', 'rejected', (_q, _r, next) => next()],
    ["next('route')", 'rejected', (_q, _r, next) => next('route')],
    ['next(err) with status 401', 'rejected', (_q, _r, next) => next(withStatus(401))],
    ['next(err) with status 403', 'rejected', (_q, _r, next) => next(withStatus(403))],
    ['next(err) with code invalid_token', 'rejected', (_q, _r, next) => next(withCode('invalid_token'))],
    ['next(err) with code invalid_request', 'rejected', (_q, _r, next) => next(withCode('invalid_request'))],
    ['next(err) with status 503', 'failed', (_q, _r, next) => next(withStatus(503))],
    ['next(err) with status 429', 'failed', (_q, _r, next) => next(withStatus(429))],
    ['next(new Error()) without status or code', 'failed', (_q, _r, next) => next(new Error('database unreachable'))],
    ['a synchronous throw', 'failed', () => {
      throw new Error('boom');
    }],
    ['a rejected promise with status 401', 'rejected', async () => {
      throw withStatus(401);
    }],
  ])('%s -> %s', async (_name, expected, middleware) => {
    expect(await outcomeOf(middlewareVerifier({ middleware }).verifyAccessToken('abc'))).toBe(expected);
  });

  it('keeps the error as cause of the failure', async () => {
    const cause = new Error('database unreachable');
    const error = await middlewareVerifier({ middleware: (_q, _r, next) => next(cause) }).verifyAccessToken('abc').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
    expect((error as { cause?: unknown }).cause).toBe(cause);
  });

  it('lets classifyError decide', async () => {
    const v = middlewareVerifier({ middleware: (_q, _r, next) => next(new Error('no such user')), classifyError: (e) => ((e as Error).message === 'no such user' ? 'rejected' : undefined) });
    expect(await outcomeOf(v.verifyAccessToken('abc'))).toBe('rejected');
  });

  it('leaves no state on the real request when the middleware sets req.auth and then calls next(err)', async () => {
    const sloppy: AuthMiddleware = (req, _res, next) => {
      req.auth = { payload: { sub: 'x' } };
      req.user = 'x';
      next(withStatus(401));
    };
    const res = await request(probeApp(middlewareVerifier({ middleware: sloppy }))).get('/probe').set('Authorization', 'Bearer abc');
    expect(res.body).toMatchObject({ outcome: 'rejected', realAuth: null, realUser: null, ownKeys: [] });
  });

  it('fails when the middleware never calls next and the chain\'s signal aborts', async () => {
    const silent = middlewareVerifier({ middleware: () => undefined });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    expect(await outcomeOf(silent.verifyAccessToken('abc', { signal: controller.signal, token: inspectToken('abc') }))).toBe('failed');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails after timeoutMs when called directly and the middleware never calls next', async () => {
    const silent = middlewareVerifier({ middleware: () => undefined, timeoutMs: 100 });
    expect(await outcomeOf(silent.verifyAccessToken('abc'))).toBe('failed');
  });

  it('ignores what the middleware does after the signal aborted', async () => {
    let late: (() => void) | undefined;
    const slow = middlewareVerifier({
      middleware: (req, _res, next) => {
        late = () => {
          req.auth = { clientId: 'late', scopes: [] };
          next();
        };
      },
      timeoutMs: 50,
    });
    expect(await outcomeOf(slow.verifyAccessToken('abc'))).toBe('failed');
    expect(() => late!()).not.toThrow();
  });
});

describe('middlewareVerifier: what req.auth becomes', () => {
  const setting = (value: unknown): AuthMiddleware => (req, _res, next) => {
    req.auth = value;
    next();
  };

  it('passes an MCP SDK AuthInfo through, keeping its extra and adding source', async () => {
    const v = middlewareVerifier({ name: 'sdk', middleware: setting({ token: 'other', clientId: 'c', scopes: ['s'], expiresAt: 4102444800, extra: { tenant: 't1' } }) });
    expect(await v.verifyAccessToken('abc')).toEqual({
      token: 'abc',
      clientId: 'c',
      scopes: ['s'],
      expiresAt: 4102444800,
      source: 'sdk',
      extra: { tenant: 't1', source: 'sdk' },
    });
  });

  it('reads scp arrays, permissions and azp from a JWT payload', () => {
    const info = defaultToAuthInfo({ payload: { azp: 'spa', sub: 'u', scp: ['a', 'b'], permissions: ['b', 'c'] } }, 't');
    expect(info).toMatchObject({ clientId: 'spa', scopes: ['a', 'b', 'c'], subject: 'u' });
  });

  it('uses a custom toAuthInfo, which can read what the middleware put elsewhere', async () => {
    const passportLike: AuthMiddleware = (req, _res, next) => {
      req.user = { id: 'u-7', roles: ['admin'] };
      next();
    };
    const v = middlewareVerifier({
      middleware: passportLike,
      toAuthInfo: (_auth, token, req) => {
        const user = req.user as { id: string; roles: string[] };
        return { token, clientId: user.id, scopes: user.roles };
      },
    });
    expect(await v.verifyAccessToken('abc')).toMatchObject({ clientId: 'u-7', scopes: ['admin'], source: 'middleware' });
  });

  it('rejects when toAuthInfo returns null', async () => {
    const v = middlewareVerifier({ middleware: setting({ payload: {} }), toAuthInfo: () => null });
    expect(await outcomeOf(v.verifyAccessToken('abc'))).toBe('rejected');
  });

  it('throws (an "errored" source, so 401 not 503) for a req.auth it cannot read', async () => {
    const v = middlewareVerifier({ middleware: setting({ user: 'x' }) });
    await expect(v.verifyAccessToken('abc')).rejects.toThrow(/toAuthInfo/);
    await expect(v.verifyAccessToken('abc')).rejects.not.toBeInstanceOf(TemporarilyUnavailableError);
  });
});

describe('middlewareVerifier options', () => {
  const middleware: AuthMiddleware = (_q, _r, next) => next();

  it("defaults its name to 'middleware'", () => {
    expect(middlewareVerifier({ middleware }).name).toBe('middleware');
  });

  it.each([
    ['a missing middleware', { middleware: undefined }, /middleware must be/],
    ['an error handler', { middleware: (_e: unknown, _q: unknown, _r: unknown, _n: unknown) => undefined }, /error handler/],
    ['an empty name', { middleware, name: '' }, /name/],
    ['a toAuthInfo that is not a function', { middleware, toAuthInfo: 'x' }, /toAuthInfo/],
    ['a zero timeoutMs', { middleware, timeoutMs: 0 }, /timeoutMs/],
  ])('refuses %s', (_n, options, message) => {
    const build = () => middlewareVerifier(options as never);
    expect(build).toThrow(MultiAuthConfigError);
    expect(build).toThrow(message);
  });
});
