/**
 * Issue 29 item 1: something in front of multiAuth may answer first (a connect-timeout-style
 * middleware's 503 while a source is slow, or a middleware that answers and still calls next()).
 * Nothing of this package may then write to the response (ERR_HTTP_HEADERS_SENT), leave a
 * promise without a handler (the process would end), or pass the request further on; the
 * dropped answer is reported through onDecision with a note.
 */
import http from 'node:http';
import express from 'express';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { middlewareVerifier } from '../../lib/sources/middleware-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { requireScopes } from '../../lib/http/guards';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';
import type { Decision, TokenVerifier } from '../../lib/core/types';
import { closeServer, listenOnLoopback } from '../support/loopback';

const RESOURCE = 'https://mcp.example.test/mcp';
const SLOW_MS = 300;
const STATIC_KEY = 'static-key-0123456789abcdef';

/** connect-timeout's shape: after `ms` it answers 503 itself, and the chain goes on regardless. */
function timeoutMiddleware(ms: number): RequestHandler {
  return (req, res, next) => {
    const timer = setTimeout(() => {
      if (!res.headersSent) {
        res.statusCode = 503;
        res.end('timed out');
      }
    }, ms);
    res.on('close', () => clearTimeout(timer));
    next();
  };
}

/** A middleware that answers and still calls next(): a common bug in apps. */
const answersThenNext: RequestHandler = (_req, res, next) => {
  res.statusCode = 200;
  res.end('answered early');
  next();
};

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
const servers: http.Server[] = [];
let jwksUrl: string;
let introspectionUrl: string;
let signingKey: CryptoKey;
/** Not the key the JWKS publishes under `k1`: its signature fails, once the slow key set is in. */
let forgingKey: CryptoKey;

async function slowServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer((req, res) => setTimeout(() => handler(req, res), SLOW_MS));
  servers.push(server);
  return listenOnLoopback(server);
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  signingKey = privateKey as CryptoKey;
  forgingKey = (await generateKeyPair('ES256')).privateKey as CryptoKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwksUrl = `${await slowServer((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  })}/jwks.json`;
  introspectionUrl = `${await slowServer((req, res) => {
    let form = '';
    req.on('data', (chunk) => (form += chunk));
    req.on('end', () => {
      const active = new URLSearchParams(form).get('token')?.startsWith('good') === true;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(active ? { active, client_id: 'introspected', scope: 'read', aud: RESOURCE, exp: Math.floor(Date.now() / 1000) + 600 } : { active }));
    });
  })}/introspect`;
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await Promise.all(servers.map((s) => closeServer(s)));
});

beforeEach(() => {
  unhandled.length = 0;
});

async function jwt(good: boolean): Promise<string> {
  return new SignJWT({ scope: 'read', client_id: 'jwt-client' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuer('https://slow-keys.example.test')
    .setAudience(RESOURCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(good ? signingKey : forgingKey);
}

/** Each source kind, made slow where it has something to wait for; `token(good)` is one it accepts or refuses. */
const slowSources: Array<[string, () => TokenVerifier, (good: boolean) => Promise<string>]> = [
  ['jwtVerifier with a JWKS that answers after 300 ms', () => jwtVerifier({ issuer: 'https://slow-keys.example.test', audience: RESOURCE, jwksUri: jwksUrl }), jwt],
  [
    'introspectionVerifier with an endpoint that answers after 300 ms',
    () => introspectionVerifier({ endpoint: introspectionUrl, clientId: 'rs', clientSecret: 'rs-secret', audience: RESOURCE }),
    async (good) => `${good ? 'good' : 'bad'}-opaque-token-0123456789`,
  ],
  [
    'middlewareVerifier wrapping a middleware that takes 300 ms',
    () =>
      middlewareVerifier({
        middleware: (req: { auth?: unknown; headers: Record<string, string> }, _res: unknown, next: (error?: unknown) => void) => {
          setTimeout(() => {
            if (!req.headers.authorization.includes('good')) {
              next(Object.assign(new Error('bad token'), { code: 'invalid_token', status: 401 }));
              return;
            }
            req.auth = { ok: true };
            next();
          }, SLOW_MS);
        },
        toAuthInfo: (_auth, token) => ({ token, clientId: 'wrapped', scopes: ['read'], expiresAt: Math.floor(Date.now() / 1000) + 600 }),
      }),
    async (good) => `${good ? 'good' : 'bad'}-wrapped-token-0123456789`,
  ],
];

/** An app with `front` before the router, a handler that counts, and an error handler that records. */
function appWith(front: RequestHandler, auth: RequestHandler, ...after: RequestHandler[]) {
  const seen = { handled: 0, errors: [] as unknown[] };
  const app = express();
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(front);
  app.use(express.json());
  app.use(auth);
  app.all('/echo', ...after, (_req, res) => {
    seen.handled++;
    if (!res.headersSent) res.json({ ok: true });
  });
  const recordErrors: ErrorRequestHandler = (error, _req, res, _next) => {
    seen.errors.push(error);
    if (!res.headersSent) res.status(500).end();
  };
  app.use(recordErrors);
  return { app, seen };
}

/** Lets the late answer happen, then checks the server is still there. */
async function settle(app: express.Express): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, SLOW_MS * 2));
  expect((await request(app).get('/health')).status).toBe(200);
}

describe('a timeout middleware in front answers 503 while a source is still deciding', () => {
  const cases = slowSources.flatMap(([label, source, token]) => [
    [`${label}, a token it refuses`, source, () => token(false), 'rejected'] as const,
    [`${label}, a token it accepts`, source, () => token(true), 'accepted'] as const,
  ]);
  it.each(cases)('%s: the client gets the 503, nothing else is written, no promise is left unhandled, and onDecision notes the dropped answer', async (_label, source, token, outcome) => {
    const decisions: Decision[] = [];
    const auth = multiAuth({ verifiers: [source()], timeoutMs: 5_000, onDecision: (d) => decisions.push(d) });
    const { app, seen } = appWith(timeoutMiddleware(50), auth);
    const response = await request(app).get('/echo').set('Authorization', `Bearer ${await token()}`);
    expect(response.status).toBe(503);
    expect(response.text).toBe('timed out');
    await settle(app);
    expect(unhandled).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(seen.handled).toBe(0);
    expect(decisions.map((d) => d.outcome)).toEqual([outcome]);
    expect(decisions[0].notes?.join(' ')).toMatch(/answer dropped: the response was already sent/);
  });
});

describe('a middleware that answers and still calls next()', () => {
  const staticSource = () => staticTokenVerifier({ tokens: { [STATIC_KEY]: { clientId: 'ci', scopes: ['read'] } } });

  it.each([
    ['a static key (accepted)', `Bearer ${STATIC_KEY}`],
    ['an unknown token (refused)', 'Bearer unknown-token-0123456789'],
    ['no credentials (401)', undefined],
    ['a token in the query string (400)', undefined, '?access_token=abc'],
  ])('the bearer check with %s writes nothing, passes nothing on, and reports the dropped answer', async (_label, authorization, query = '') => {
    const decisions: Decision[] = [];
    const { app, seen } = appWith(answersThenNext, multiAuth({ verifiers: staticSource(), onDecision: (d) => decisions.push(d) }));
    const call = request(app).get(`/echo${query}`);
    const response = await (authorization ? call.set('Authorization', authorization) : call);
    expect(response.status).toBe(200);
    expect(response.text).toBe('answered early');
    await settle(app);
    expect(seen.errors).toEqual([]);
    expect(seen.handled).toBe(0);
    expect(unhandled).toEqual([]);
    expect(decisions.map((d) => d.notes?.join(' '))).toEqual([expect.stringMatching(/answer dropped/)]);
  });

  it.each(['GET', 'HEAD', 'OPTIONS', 'POST'])("the primary's metadata route (%s) writes nothing and raises no error", async (method) => {
    const auth = multiAuth({ primary: remoteAuthServer({ issuer: 'https://login.example.test', resource: RESOURCE }) });
    const { app, seen } = appWith(answersThenNext, auth);
    const response = await request(app)[method.toLowerCase() as 'get'](`/.well-known/oauth-protected-resource/mcp`);
    expect(response.status).toBe(200);
    if (method !== 'HEAD') expect(response.text).toBe('answered early');
    await settle(app);
    expect(seen.errors).toEqual([]);
  });

  it('a scope guard refusing writes nothing and raises no error', async () => {
    const app = express();
    const errors: unknown[] = [];
    app.use(answersThenNext, requireScopes('admin'), (_req, res) => {
      if (!res.headersSent) res.end('handler');
    });
    app.use(((error, _req, _res, next) => {
      errors.push(error);
      next();
    }) as ErrorRequestHandler);
    const response = await request(app).get('/');
    expect(response.text).toBe('answered early');
    await settle(app);
    expect(errors).toEqual([]);
  });

  it('mcpPolicy refusing writes nothing and raises no error', async () => {
    const app = express();
    const errors: unknown[] = [];
    app.use(answersThenNext, express.json(), mcpPolicy({ tools: { delete_repo: { scopes: ['repo:admin'] } } }), (_req, res) => {
      if (!res.headersSent) res.end('handler');
    });
    app.use(((error, _req, _res, next) => {
      errors.push(error);
      next();
    }) as ErrorRequestHandler);
    const response = await request(app)
      .post('/')
      .send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_repo', arguments: {} } });
    expect(response.text).toBe('answered early');
    await settle(app);
    expect(errors).toEqual([]);
  });
});

