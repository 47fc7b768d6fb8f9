import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { introspectionVerifier, type IntrospectionVerifierOptions } from '../../lib/sources/introspection-verifier';
import { InvalidTokenError, MultiAuthConfigError, TemporarilyUnavailableError } from '../../lib/core/errors';
import { multiAuth } from '../../lib/chain/multi-auth';
import { inspectToken } from '../../lib/core/token-inspection';
import { appWith } from '../support/app';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { closeServer, listenOnLoopback } from '../support/loopback';

/** One request as the endpoint received it. */
interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  form: URLSearchParams;
}

type Handler = (seen: Seen, res: http.ServerResponse) => void;

const now = () => Math.floor(Date.now() / 1000);
const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/**
 * A small RFC 7662 endpoint on 127.0.0.1: `/introspect` answers from `active` (token ->
 * response members), other paths and faults are set per test through `handler`.
 */
class IntrospectionEndpoint {
  readonly server = http.createServer((req, res) => this.serve(req, res));
  readonly seen: Seen[] = [];
  readonly active = new Map<string, Record<string, unknown>>();
  handler: Handler | undefined;
  /** Requests whose client hung up before the answer was complete. */
  abandoned = 0;
  url = '';

  async start(): Promise<this> {
    this.url = await listenOnLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  reset(): void {
    this.seen.length = 0;
    this.active.clear();
    this.handler = undefined;
    this.abandoned = 0;
  }

  /** Requests that reached `path`. */
  count(path = '/introspect'): number {
    return this.seen.filter((s) => s.path === path).length;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.on('close', () => {
      if (!res.writableEnded) this.abandoned++;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const seen: Seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawBody, form: new URLSearchParams(rawBody) };
      this.seen.push(seen);
      if (this.handler) return this.handler(seen, res);
      const claims = this.active.get(seen.form.get('token') ?? '');
      json(res, 200, claims ? { active: true, ...claims } : { active: false });
    });
  }
}

const endpoint = new IntrospectionEndpoint();
beforeAll(() => endpoint.start());
afterAll(() => endpoint.stop());
beforeEach(() => endpoint.reset());

const GOOD = {
  client_id: 'reporting-bot',
  sub: 'user-42',
  scope: 'mcp:read mcp:write',
  aud: 'https://mcp.example.com/mcp',
  iss: 'https://as.example.com',
  token_type: 'Bearer',
};

function verifier(options: Partial<IntrospectionVerifierOptions> = {}) {
  return introspectionVerifier({ endpoint: `${endpoint.url}/introspect`, clientId: 'rs', clientSecret: 'rs-secret', audience: 'https://mcp.example.com/mcp', ...options });
}

/** The outcome of one verification as the chain sorts it. */
async function outcomeOf(promise: Promise<unknown>): Promise<'accepted' | 'rejected' | 'failed' | string> {
  try {
    const result = await promise;
    return result ? 'accepted' : 'rejected';
  } catch (error) {
    if (error instanceof InvalidTokenError) return 'rejected';
    if (error instanceof TemporarilyUnavailableError) return 'failed';
    return `errored: ${String(error)}`;
  }
}

describe('introspectionVerifier: what an active token becomes', () => {
  it('accepts an active token with clientId, scopes, subject, expiresAt, resource, payload and source', async () => {
    const exp = now() + 3600;
    endpoint.active.set('opaque-1', { ...GOOD, exp });
    const info = await verifier().verifyAccessToken('opaque-1');
    expect(info).toEqual({
      token: 'opaque-1',
      clientId: 'reporting-bot',
      scopes: ['mcp:read', 'mcp:write'],
      subject: 'user-42',
      expiresAt: exp,
      resource: new URL('https://mcp.example.com/mcp'),
      payload: { active: true, ...GOOD, exp },
      source: 'introspection',
      extra: { source: 'introspection' },
    });
  });

  it('takes scopes from an array, or from scopeClaim', async () => {
    endpoint.active.set('arr', { ...GOOD, scope: ['a', 'b'] });
    endpoint.active.set('perm', { ...GOOD, permissions: 'x y', scope: 'ignored' });
    expect((await verifier().verifyAccessToken('arr')).scopes).toEqual(['a', 'b']);
    expect((await verifier({ scopeClaim: 'permissions' }).verifyAccessToken('perm')).scopes).toEqual(['x', 'y']);
  });

  it('takes clientId from sub when client_id is absent, and leaves resource unset for a non-URL audience', async () => {
    endpoint.active.set('t', { sub: 'svc', aud: ['api-1', 'api-2'] });
    const info = await verifier({ audience: 'api-2' }).verifyAccessToken('t');
    expect(info).toMatchObject({ clientId: 'svc', scopes: [] });
    expect(info.resource).toBeUndefined();
  });

  it('uses its name as source', async () => {
    endpoint.active.set('t', GOOD);
    expect(await verifier({ name: 'corp-as' }).verifyAccessToken('t')).toMatchObject({ source: 'corp-as', extra: { source: 'corp-as' } });
  });
});

describe('introspectionVerifier: the request it sends', () => {
  const id = 'rs client:1';
  const secret = 'p@ss:wörd+/%&= ';

  it('POSTs token and token_type_hint as a form, asks for JSON, and sends form-encoded client_secret_basic credentials', async () => {
    endpoint.active.set('tok+/=en', GOOD);
    await verifier({ clientId: id, clientSecret: secret }).verifyAccessToken('tok+/=en');
    const [seen] = endpoint.seen;
    expect(seen.method).toBe('POST');
    expect(seen.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen.headers.accept).toBe('application/json');
    expect(seen.form.get('token')).toBe('tok+/=en');
    expect(seen.form.get('token_type_hint')).toBe('access_token');
    expect(seen.form.has('client_secret')).toBe(false);
    const basic = /^Basic (.+)$/.exec(seen.headers.authorization ?? '');
    const decoded = Buffer.from(basic![1], 'base64').toString('utf8');
    // RFC 6749 §2.3.1: each part is form-urlencoded, so the ':' separator is unambiguous.
    expect(decoded.split(':')).toHaveLength(2);
    const [encodedId, encodedSecret] = decoded.split(':');
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    expect([formDecode(encodedId), formDecode(encodedSecret)]).toEqual([id, secret]);
  });

  it('sends client_secret_post credentials in the body and no Authorization header', async () => {
    endpoint.active.set('t', GOOD);
    await verifier({ clientId: id, clientSecret: secret, authMethod: 'client_secret_post' }).verifyAccessToken('t');
    const [seen] = endpoint.seen;
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.form.get('client_id')).toBe(id);
    expect(seen.form.get('client_secret')).toBe(secret);
    expect(seen.form.get('token')).toBe('t');
  });
});

describe('introspectionVerifier: rejections', () => {
  it('rejects active: false', async () => {
    await expect(verifier().verifyAccessToken('unknown')).rejects.toThrow(InvalidTokenError);
  });

  it('rejects a token the endpoint answers with 400 unsupported_token_type (a JWT it does not introspect)', async () => {
    endpoint.handler = (_s, res) => json(res, 400, { error: 'unsupported_token_type', error_description: 'structured tokens cannot be introspected' });
    await expect(verifier().verifyAccessToken('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).rejects.toThrow(InvalidTokenError);
  });

  it('rejects an expired token even when the endpoint says active', async () => {
    endpoint.active.set('t', { ...GOOD, exp: now() - 10 });
    await expect(verifier().verifyAccessToken('t')).rejects.toThrow(/expired/);
  });

  it('checks the audience against a string or array aud, and the issuer', async () => {
    endpoint.active.set('t', { ...GOOD, aud: ['other', 'https://mcp.example.com/mcp'] });
    expect(await outcomeOf(verifier({ audience: 'https://mcp.example.com/mcp' }).verifyAccessToken('t'))).toBe('accepted');
    expect(await outcomeOf(verifier({ audience: ['x', 'other'] }).verifyAccessToken('t'))).toBe('accepted');
    expect(await outcomeOf(verifier({ audience: 'not-me' }).verifyAccessToken('t'))).toBe('rejected');
    expect(await outcomeOf(verifier({ issuer: 'https://as.example.com' }).verifyAccessToken('t'))).toBe('accepted');
    expect(await outcomeOf(verifier({ issuer: 'https://evil.example.com' }).verifyAccessToken('t'))).toBe('rejected');
    endpoint.active.set('no-aud', { client_id: 'c' });
    expect(await outcomeOf(verifier({ audience: 'not-me' }).verifyAccessToken('no-aud'))).toBe('rejected');
  });

  it('rejects sender-constrained tokens (cnf) and tokens that are not bearer access tokens', async () => {
    endpoint.active.set('dpop', { ...GOOD, token_type: 'DPoP', cnf: { jkt: 'abc' } });
    endpoint.active.set('cnf', { ...GOOD, cnf: { 'x5t#S256': 'abc' } });
    endpoint.active.set('refresh', { ...GOOD, token_type: 'refresh_token' });
    for (const t of ['dpop', 'cnf', 'refresh']) expect(await outcomeOf(verifier().verifyAccessToken(t))).toBe('rejected');
  });

  it('rejects an empty token without asking', async () => {
    await expect(verifier().verifyAccessToken('')).rejects.toThrow(InvalidTokenError);
    expect(endpoint.seen).toHaveLength(0);
  });
});

describe('introspectionVerifier: failures (the endpoint could not decide)', () => {
  const cases: [string, Handler][] = [
    ['a 500', (_s, res) => json(res, 500, { error: 'server_error' })],
    ['a 503 without body', (_s, res) => res.writeHead(503).end()],
    ['a 401 (our client credentials are wrong)', (_s, res) => json(res, 401, { error: 'invalid_client' })],
    ['a 403', (_s, res) => res.writeHead(403).end()],
    ['a 400 invalid_client', (_s, res) => json(res, 400, { error: 'invalid_client' })],
    ['a 404 HTML page (wrong endpoint)', (_s, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>')],
    ['a 429', (_s, res) => json(res, 429, { error: 'slow_down' })],
    ['a 200 that is not JSON', (_s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('<html>oops')],
    ['a 200 without a boolean active', (_s, res) => json(res, 200, { active: 'true', client_id: 'c' })],
    ['a 200 JSON array', (_s, res) => json(res, 200, [{ active: true }])],
    ['a 200 with a malformed scope', (_s, res) => json(res, 200, { active: true, scope: 42, aud: 'https://mcp.example.com/mcp' })],
    ['a redirect', (_s, res) => res.writeHead(307, { location: '/elsewhere' }).end()],
    ['a body over 256 KiB', (_s, res) => json(res, 200, { active: true, padding: 'x'.repeat(300 * 1024) })],
    [
      'a chunked body over 256 KiB without content-length',
      (_s, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"active":true,"padding":"');
        for (let i = 0; i < 40; i++) res.write('y'.repeat(10 * 1024));
        res.end('"}');
      },
    ],
  ];

  it.each(cases)('fails on %s', async (_name, handler) => {
    endpoint.handler = handler;
    const error = await verifier().verifyAccessToken('t').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
  });

  it('does not follow a redirect (our credentials would go with it)', async () => {
    endpoint.handler = (s, res) => (s.path === '/introspect' ? res.writeHead(307, { location: `${endpoint.url}/elsewhere` }).end() : json(res, 200, { active: true }));
    await expect(verifier().verifyAccessToken('t')).rejects.toThrow(TemporarilyUnavailableError);
    expect(endpoint.count('/elsewhere')).toBe(0);
  });

  it('fails within timeoutMs when the endpoint never answers', async () => {
    endpoint.handler = () => undefined;
    const started = Date.now();
    await expect(verifier({ timeoutMs: 150 }).verifyAccessToken('t')).rejects.toThrow(TemporarilyUnavailableError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails when the endpoint sends headers and then stalls mid-body', async () => {
    endpoint.handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"active":');
    };
    await expect(verifier({ timeoutMs: 150 }).verifyAccessToken('t')).rejects.toThrow(TemporarilyUnavailableError);
  });

  it('fails as soon as context.signal aborts', async () => {
    endpoint.handler = () => undefined;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const pending = verifier({ timeoutMs: 10_000 }).verifyAccessToken('t', { signal: controller.signal, token: inspectToken('t') });
    await expect(pending).rejects.toThrow(TemporarilyUnavailableError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails when nothing listens at the endpoint', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const v = introspectionVerifier({ endpoint: `http://127.0.0.1:${port}/introspect`, clientId: 'rs', clientSecret: 's', audience: 'https://mcp.example.com/mcp' });
    const error = await v.verifyAccessToken('t').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('never puts the token or the client secret in its error messages', async () => {
    endpoint.handler = (_s, res) => json(res, 500, { error: 'server_error' });
    const error = (await verifier({ clientSecret: 'SECRET-VALUE' }).verifyAccessToken('TOKEN-VALUE').catch((e: unknown) => e)) as Error;
    expect(error.message).not.toMatch(/TOKEN-VALUE|SECRET-VALUE/);
  });
});

describe('introspectionVerifier: cache', () => {
  it('answers a second verification of an accepted token from the cache', async () => {
    endpoint.active.set('t', GOOD);
    const v = verifier();
    await v.verifyAccessToken('t');
    const again = await v.verifyAccessToken('t');
    expect(again).toMatchObject({ clientId: 'reporting-bot', token: 't' });
    expect(endpoint.count()).toBe(1);
  });

  it('keys the cache by the token digest the chain already computed', async () => {
    endpoint.active.set('t', GOOD);
    const v = verifier();
    const token = inspectToken('t');
    await v.verifyAccessToken('t', { signal: new AbortController().signal, token });
    await v.verifyAccessToken('t');
    expect(endpoint.count()).toBe(1);
  });

  it('honours a revocation once ttlMs has passed', async () => {
    endpoint.active.set('t', GOOD);
    const v = verifier({ cache: { ttlMs: 100 } });
    expect(await outcomeOf(v.verifyAccessToken('t'))).toBe('accepted');
    endpoint.active.delete('t');
    expect(await outcomeOf(v.verifyAccessToken('t'))).toBe('accepted');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await outcomeOf(v.verifyAccessToken('t'))).toBe('rejected');
    expect(endpoint.count()).toBe(2);
  });

  it('never keeps an accepted token past its exp', async () => {
    // Two seconds ahead, not one: now() rounds down, so "+ 1" could leave a millisecond.
    const exp = now() + 2;
    endpoint.active.set('t', { ...GOOD, exp });
    const v = verifier({ cache: { ttlMs: 60_000 } });
    expect(await outcomeOf(v.verifyAccessToken('t'))).toBe('accepted');
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 20));
    expect(await outcomeOf(v.verifyAccessToken('t'))).toBe('rejected');
    expect(endpoint.count()).toBe(2);
  });

  it('remembers a refusal for negativeTtlMs, and not at all with negativeTtlMs: 0', async () => {
    const cached = verifier({ cache: { negativeTtlMs: 1000 } });
    await expect(cached.verifyAccessToken('dead')).rejects.toThrow(InvalidTokenError);
    await expect(cached.verifyAccessToken('dead')).rejects.toThrow(InvalidTokenError);
    expect(endpoint.count()).toBe(1);
    const uncached = verifier({ cache: { negativeTtlMs: 0 } });
    await expect(uncached.verifyAccessToken('dead')).rejects.toThrow(InvalidTokenError);
    await expect(uncached.verifyAccessToken('dead')).rejects.toThrow(InvalidTokenError);
    expect(endpoint.count()).toBe(3);
  });

  it('does not let refused tokens evict accepted ones', async () => {
    endpoint.active.set('good', GOOD);
    const v = verifier({ cache: { max: 2 } });
    await v.verifyAccessToken('good');
    for (const t of ['bad-1', 'bad-2', 'bad-3']) await v.verifyAccessToken(t).catch(() => undefined);
    await v.verifyAccessToken('good');
    expect(endpoint.count()).toBe(4);
  });

  it('never caches a failure', async () => {
    endpoint.handler = (_s, res) => json(res, 500, { error: 'server_error' });
    const v = verifier();
    await expect(v.verifyAccessToken('t')).rejects.toThrow(TemporarilyUnavailableError);
    endpoint.handler = undefined;
    endpoint.active.set('t', GOOD);
    expect(await outcomeOf(v.verifyAccessToken('t'))).toBe('accepted');
    expect(endpoint.count()).toBe(2);
  });

  it('asks every time with cache: false', async () => {
    endpoint.active.set('t', GOOD);
    const v = verifier({ cache: false });
    await v.verifyAccessToken('t');
    await v.verifyAccessToken('t');
    expect(endpoint.count()).toBe(2);
  });
});

describe('introspectionVerifier: concurrent verifications of one token', () => {
  /** Holds every answer until released, so that lookups overlap for sure. */
  function gate() {
    const held: (() => void)[] = [];
    endpoint.handler = (s, res) => {
      held.push(() => {
        const claims = endpoint.active.get(s.form.get('token') ?? '');
        json(res, 200, claims ? { active: true, ...claims } : { active: false });
      });
    };
    return {
      /** Waits until `count` requests are held, then answers them all. */
      async release(count = 1) {
        while (held.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
        for (const answer of held.splice(0)) answer();
      },
    };
  }

  it('shares one request among 50 concurrent verifications', async () => {
    endpoint.active.set('t', GOOD);
    const v = verifier({ cache: false });
    const g = gate();
    const all = Promise.all(Array.from({ length: 50 }, () => v.verifyAccessToken('t')));
    await g.release();
    const results = await all;
    expect(results.every((r) => r.clientId === 'reporting-bot')).toBe(true);
    expect(endpoint.count()).toBe(1);
  });

  it('lets one waiter give up without failing the others', async () => {
    endpoint.active.set('t', GOOD);
    const v = verifier();
    const g = gate();
    const impatient = new AbortController();
    const first = v.verifyAccessToken('t', { signal: impatient.signal, token: inspectToken('t') });
    const second = v.verifyAccessToken('t', { signal: new AbortController().signal, token: inspectToken('t') });
    impatient.abort();
    await expect(first).rejects.toThrow(TemporarilyUnavailableError);
    await g.release();
    expect(await second).toMatchObject({ clientId: 'reporting-bot' });
    expect(endpoint.count()).toBe(1);
  });

  it('cancels the request once every waiter gave up, and starts a fresh one for the next', async () => {
    endpoint.active.set('t', GOOD);
    const v = verifier();
    const g = gate();
    const abandoned = new AbortController();
    const first = v.verifyAccessToken('t', { signal: abandoned.signal, token: inspectToken('t') });
    while (endpoint.count() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    abandoned.abort();
    await expect(first).rejects.toThrow(TemporarilyUnavailableError);
    while (endpoint.abandoned === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = v.verifyAccessToken('t');
    await g.release(2);
    expect(await second).toMatchObject({ clientId: 'reporting-bot' });
    expect(endpoint.count()).toBe(2);
  });
});

describe('introspectionVerifier in multiAuth', () => {
  it('answers 401, not 503, for a foreign JWT the endpoint does not introspect', async () => {
    endpoint.handler = (_s, res) => json(res, 400, { error: 'unsupported_token_type' });
    const app = appWith(multiAuth({ verifiers: verifier() }));
    const res = await request(app).get('/echo').set('Authorization', 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln');
    expect(res.status).toBe(401);
  });

  it('accepts an active token with req.auth.source, and answers 503 when the endpoint is down', async () => {
    endpoint.active.set('opaque', GOOD);
    const app = appWith(multiAuth({ verifiers: verifier({ name: 'corp' }), cache: false }));
    const ok = await request(app).get('/echo').set('Authorization', 'Bearer opaque');
    expect(ok.body).toMatchObject({ source: 'corp', clientId: 'reporting-bot', scopes: ['mcp:read', 'mcp:write'] });
    endpoint.handler = (_s, res) => json(res, 502, {});
    const down = await request(app).get('/echo').set('Authorization', 'Bearer other-opaque');
    expect(down.status).toBe(503);
  });
});

describe('introspectionVerifier against a real authorization server (oidc-provider)', () => {
  // A secret with what RFC 6749 §2.3.1 form-encoding is about: ':' '+' '%' '&' '=' '/' space
  // (client secrets are VSCHAR, printable ASCII, by RFC 6749 Appendix A; oidc-provider enforces it).
  const SPECIAL_SECRET = "rs:p@ss+w%rd&x=y/z !'*";
  let as: Issuer;
  beforeAll(async () => {
    as = await startIssuer({ clients: { introspection: { clientSecret: SPECIAL_SECRET } } });
  });
  afterAll(() => as?.stop());
  afterEach(() => as?.setFaults([]));

  function real(options: Partial<IntrospectionVerifierOptions> = {}) {
    return introspectionVerifier({ ...introspectionOptionsFor(as), ...options });
  }

  it('accepts an opaque token with its scopes, client and resource (client_secret_basic, special characters in the secret)', async () => {
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    const info = await real().verifyAccessToken(token);
    expect(info).toMatchObject({
      clientId: as.m2mClient.clientId,
      scopes: ['mcp:read'],
      resource: new URL(as.opaqueResource),
      source: 'corp-as',
      payload: { active: true, iss: as.issuer, aud: as.opaqueResource },
    });
    expect(info.expiresAt).toBeGreaterThan(now());
  });

  it('accepts it with client_secret_post too', async () => {
    const token = await as.opaqueToken({ scope: 'mcp:read mcp:write' });
    expect(await real({ authMethod: 'client_secret_post' }).verifyAccessToken(token)).toMatchObject({ scopes: ['mcp:read', 'mcp:write'] });
  });

  it('rejects a revoked token', async () => {
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    const v = real({ cache: false });
    expect(await outcomeOf(v.verifyAccessToken(token))).toBe('accepted');
    await as.revoke(token);
    expect(await outcomeOf(v.verifyAccessToken(token))).toBe('rejected');
  });

  it('rejects, and does not fail on, a JWT access token the server will not introspect (400 unsupported_token_type)', async () => {
    const jwt = await as.clientCredentialsToken({ scope: 'mcp:read' });
    await expect(as.introspect(jwt)).rejects.toMatchObject({ status: 400, body: { error: 'unsupported_token_type' } });
    const error = await real().verifyAccessToken(jwt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as Error).message).toMatch(/unsupported_token_type/);
  });

  it('rejects a token issued for another resource when audience is set', async () => {
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    expect(await outcomeOf(real({ audience: 'http://127.0.0.1/other-api' }).verifyAccessToken(token))).toBe('rejected');
  });

  it('fails, not rejects, when our client secret is wrong (401 invalid_client)', async () => {
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    const error = await real({ clientSecret: 'wrong' }).verifyAccessToken(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
    expect((error as Error).message).toMatch(/client credentials/);
  });

  it('fails while the server answers 503, and accepts again once it recovers', async () => {
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    const v = real();
    await as.setFaults([{ pathPrefix: as.introspectionEndpoint, status: 503 }]);
    expect(await outcomeOf(v.verifyAccessToken(token))).toBe('failed');
    await as.setFaults([]);
    expect(await outcomeOf(v.verifyAccessToken(token))).toBe('accepted');
  });

  it('fails when the server drops the connection', async () => {
    const token = await as.opaqueToken({ scope: 'mcp:read' });
    await as.setFaults([{ pathPrefix: as.introspectionEndpoint, reset: true }]);
    expect(await outcomeOf(real().verifyAccessToken(token))).toBe('failed');
  });
});

describe('introspectionVerifier options', () => {
  const base = { endpoint: 'https://as.example.com/introspect', clientId: 'rs', clientSecret: 's', audience: 'https://mcp.example.com/mcp' };

  it('defaults its name to "introspection"', () => {
    expect(introspectionVerifier(base).name).toBe('introspection');
  });

  it('keeps the client secret out of what it exposes', () => {
    expect(JSON.stringify(introspectionVerifier({ ...base, clientSecret: 'very-secret' }))).not.toContain('very-secret');
  });

  it.each([
    ['a relative endpoint', { endpoint: '/introspect' }, /absolute/],
    ['a non-http endpoint', { endpoint: 'ftp://as.example.com/introspect' }, /http/],
    ['credentials in the endpoint', { endpoint: 'https://u:p@as.example.com/introspect' }, /credentials/],
    ['plain http to a host that is not loopback', { endpoint: 'http://as.example.com/introspect' }, /https/],
    ['a missing clientId', { clientId: undefined }, /clientId/],
    ['an empty clientSecret', { clientSecret: '' }, /clientSecret/],
    ['an unknown authMethod', { authMethod: 'private_key_jwt' }, /authMethod/],
    ['an empty audience array', { audience: [] }, /audience/],
    ['a non-string issuer', { issuer: 42 }, /issuer/],
    ['a zero timeoutMs', { timeoutMs: 0 }, /timeoutMs/],
    ['a cache.max of 0', { cache: { max: 0 } }, /cache\.max/],
    ['a negative cache.ttlMs', { cache: { ttlMs: -1 } }, /cache\.ttlMs/],
    ['a cache that is true', { cache: true }, /cache/],
    ['an empty name', { name: '' }, /name/],
  ])('refuses %s', (_n, override, message) => {
    const build = () => introspectionVerifier({ ...base, ...override } as never);
    expect(build).toThrow(MultiAuthConfigError);
    expect(build).toThrow(message);
  });

  it('takes plain http to another host only with allowHttp', () => {
    expect(introspectionVerifier({ ...base, endpoint: 'http://as.internal:8080/introspect', allowHttp: true }).name).toBe('introspection');
  });
});
