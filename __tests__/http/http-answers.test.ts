import http from 'node:http';
import request from 'supertest';
import express from 'express';
import { multiAuth } from '../../lib/chain/multi-auth';
import { InvalidTokenError, TemporarilyUnavailableError } from '../../lib/core/errors';
import type { AuthServer } from '../../lib/core/types';
import { appWith, behavingVerifier, oneTokenVerifier, parseBearerChallenge } from '../support/app';

const METADATA_URL = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

/** A minimal primary: accepts one token and serves a metadata document. */
function primary(requiredScopes?: string[]): AuthServer {
  return {
    name: 'oauth',
    requiredScopes,
    resourceMetadataUrl: METADATA_URL,
    async verifyAccessToken(token) {
      return token === 'user-token' ? { token, clientId: 'user', scopes: ['mcp:read', 'mcp:write'], expiresAt: 4102444800 } : null;
    },
    routes: ({ requiredScopes: scopes }) => {
      const router = express.Router();
      router.get('/.well-known/oauth-protected-resource/mcp', (_req, res) => {
        res.json({ resource: 'https://mcp.example.com/mcp', scopes_supported: scopes });
      });
      return router;
    },
  };
}

function app(options: Parameters<typeof multiAuth>[0] = {}) {
  return appWith(
    multiAuth({ primary: primary(['mcp:read']), verifiers: [oneTokenVerifier('ci', 'ci-key', { scopes: [] })], ...options }),
  );
}

describe('no credentials', () => {
  it('answers 401 with a bare Bearer challenge: resource_metadata and scope, no error', async () => {
    const res = await request(app()).get('/echo');
    expect(res.status).toBe(401);
    const { scheme, params } = parseBearerChallenge(res.headers['www-authenticate']);
    expect(scheme).toBe('Bearer');
    expect(params).toEqual({ resource_metadata: METADATA_URL, scope: 'mcp:read' });
    expect(res.body.error).toBeDefined();
  });

  it('treats another scheme (Basic) as no credentials: 401 without error=', async () => {
    const res = await request(app()).get('/echo').set('Authorization', 'Basic dXNlcjpwYXNz');
    expect(res.status).toBe(401);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params.error).toBeUndefined();
  });

  it('omits scope= when no scopes are required', async () => {
    const res = await request(app({ requiredScopes: [] })).get('/echo');
    expect(parseBearerChallenge(res.headers['www-authenticate']).params).toEqual({ resource_metadata: METADATA_URL });
  });

  it('omits resource_metadata= when neither the primary nor the options give one', async () => {
    const res = await request(appWith(multiAuth({ verifiers: oneTokenVerifier('ci', 'ci-key') }))).get('/echo');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });
});

describe('malformed credentials: 400 invalid_request', () => {
  const cases: Array<[string, (r: request.Test) => request.Test, string?]> = [
    ['an empty Bearer token', (r) => r.set('Authorization', 'Bearer ')],
    ['the scheme alone', (r) => r.set('Authorization', 'Bearer')],
    ['two tokens', (r) => r.set('Authorization', 'Bearer user-token other')],
    ['characters outside b64token', (r) => r.set('Authorization', 'Bearer abc,def')],
    ['a quote in the token', (r) => r.set('Authorization', 'Bearer ab"c')],
    ['padding in the middle', (r) => r.set('Authorization', 'Bearer ab=c')],
  ];
  it.each(cases)('refuses %s', async (_name, send) => {
    const res = await send(request(app()).get('/echo'));
    expect(res.status).toBe(400);
    const { params } = parseBearerChallenge(res.headers['www-authenticate']);
    expect(params.error).toBe('invalid_request');
    expect(params.error_description).toBeTruthy();
    expect(res.body).toEqual({ error: 'invalid_request', error_description: params.error_description });
  });

  it('refuses several Authorization headers, even when each is valid', async () => {
    const server = app().listen(0, '127.0.0.1');
    try {
      await new Promise((r) => server.once('listening', r));
      const { port } = server.address() as { port: number };
      const res = await new Promise<{ status: number; header: string | undefined }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'GET' }, (r) => {
          r.resume();
          resolve({ status: r.statusCode ?? 0, header: r.headers['www-authenticate'] });
        });
        req.setHeader('Authorization', ['Bearer user-token', 'Bearer ci-key']);
        req.on('error', reject);
        req.end();
      });
      expect(res.status).toBe(400);
      expect(parseBearerChallenge(res.header).params.error).toBe('invalid_request');
    } finally {
      server.close();
    }
  });

  it('refuses access_token in the query string, even with a valid header', async () => {
    const res = await request(app()).get('/echo?access_token=user-token').set('Authorization', 'Bearer user-token');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('refuses access_token in an already-parsed form-encoded body (RFC 6750 §2.2)', async () => {
    const formApp = express();
    formApp.use(express.urlencoded({ extended: false }));
    formApp.use(multiAuth({ primary: primary(['mcp:read']) }));
    formApp.post('/echo', (_req, res) => res.json({ reached: true }));
    const res = await request(formApp)
      .post('/echo')
      .type('application/x-www-form-urlencoded; charset=UTF-8')
      .send('access_token=user-token')
      .set('Authorization', 'Bearer user-token');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('accepts a scheme name in any case and a token with trailing padding', async () => {
    const verifier = oneTokenVerifier('k', 'abc+/~-._==', { scopes: ['mcp:read'] });
    const res = await request(appWith(multiAuth({ verifiers: verifier }))).get('/echo').set('Authorization', 'bEaReR abc+/~-._==');
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('k');
  });
});

describe('application data that only looks like a token (RFC 6750 §2.2/§2.3)', () => {
  it('lets an authenticated JSON body carry a field named access_token', async () => {
    const res = await request(app())
      .post('/echo')
      .set('Authorization', 'Bearer user-token')
      .send({ access_token: 'a third-party token a tool was given' });
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('oauth');
  });

  it('does not take an empty ?access_token= for a token', async () => {
    const res = await request(app()).get('/echo?x=1&access_token=').set('Authorization', 'Bearer user-token');
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('oauth');
  });

  it('still refuses a non-empty access_token next to an empty one in the query', async () => {
    const res = await request(app()).get('/echo?access_token=&access_token=user-token').set('Authorization', 'Bearer user-token');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

});

describe('rejected token: 401 invalid_token', () => {
  it('answers 401 with error, description, scope and resource_metadata', async () => {
    const res = await request(app()).get('/echo').set('Authorization', 'Bearer nobody-knows-me');
    expect(res.status).toBe(401);
    const { params } = parseBearerChallenge(res.headers['www-authenticate']);
    expect(params).toMatchObject({ error: 'invalid_token', scope: 'mcp:read', resource_metadata: METADATA_URL });
    expect(res.body).toEqual({ error: 'invalid_token', error_description: params.error_description });
  });

  it('never lets a source message reach the header or body (no injection, no source detail)', async () => {
    const evil = behavingVerifier('evil', () => {
      throw new InvalidTokenError('bad "token"\r\nSet-Cookie: pwned=1; from https://internal.example/jwks kid=abc');
    });
    const res = await request(appWith(multiAuth({ verifiers: evil }))).get('/echo').set('Authorization', 'Bearer whatever');
    expect(res.status).toBe(401);
    expect(res.headers['set-cookie']).toBeUndefined();
    const raw = JSON.stringify(res.headers) + JSON.stringify(res.body);
    expect(raw).not.toMatch(/pwned|internal\.example|kid=|evil/);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params.error).toBe('invalid_token');
  });

  it('refuses an oversized token before any source runs', async () => {
    const verifier = oneTokenVerifier('k', 'x');
    const res = await request(appWith(multiAuth({ verifiers: verifier, maxTokenLength: 100 })))
      .get('/echo')
      .set('Authorization', `Bearer ${'a'.repeat(101)}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
    expect(verifier.calls).toBe(0);
  });

  it('answers 400 for an oversized token of forbidden characters: the request is malformed before it is too long', async () => {
    const verifier = oneTokenVerifier('k', 'x');
    const res = await request(appWith(multiAuth({ verifiers: verifier, maxTokenLength: 100 })))
      .get('/echo')
      .set('Authorization', `Bearer ${'a,'.repeat(60)}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(verifier.calls).toBe(0);
  });

  it('refuses a token whose expiresAt has passed, even though the source accepted it', async () => {
    const verifier = oneTokenVerifier('k', 'old', { expiresAt: Math.floor(Date.now() / 1000) - 10 });
    const res = await request(appWith(multiAuth({ verifiers: verifier }))).get('/echo').set('Authorization', 'Bearer old');
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });
});

describe('accepted token without the required scopes: 403 insufficient_scope', () => {
  it('names the needed scopes and the metadata', async () => {
    const res = await request(app()).get('/echo').set('Authorization', 'Bearer ci-key');
    expect(res.status).toBe(403);
    const { params } = parseBearerChallenge(res.headers['www-authenticate']);
    expect(params).toMatchObject({ error: 'insufficient_scope', scope: 'mcp:read', resource_metadata: METADATA_URL });
    expect(res.body.error).toBe('insufficient_scope');
  });
});

describe('a source that could have accepted failed: 503', () => {
  it('answers 503 with Retry-After and no challenge', async () => {
    const down = behavingVerifier('jwks-down', () => {
      throw new TemporarilyUnavailableError('JWKS at https://internal.example/jwks unreachable');
    });
    const res = await request(appWith(multiAuth({ verifiers: [oneTokenVerifier('a', 'a-token'), down] })))
      .get('/echo')
      .set('Authorization', 'Bearer b-token');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.body.error).toBe('temporarily_unavailable');
    expect(JSON.stringify(res.body)).not.toContain('internal.example');
  });

  it('still accepts a token another source accepts while one source is down', async () => {
    const down = behavingVerifier('down', () => {
      throw new TemporarilyUnavailableError();
    });
    const res = await request(appWith(multiAuth({ verifiers: [down, oneTokenVerifier('a', 'a-token')] })))
      .get('/echo')
      .set('Authorization', 'Bearer a-token');
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('a');
  });
});

describe('accepted token', () => {
  it('reaches the handler with req.auth.source and extra.source', async () => {
    const res = await request(app()).get('/echo').set('Authorization', 'Bearer user-token');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ source: 'oauth', clientId: 'user', scopes: ['mcp:read', 'mcp:write'], extraSource: 'oauth' });
  });

  it('serves the primary routes before the bearer check, at the URL challenges name', async () => {
    const res = await request(app()).get(new URL(METADATA_URL).pathname);
    expect(res.status).toBe(200);
    expect(res.body.scopes_supported).toEqual(['mcp:read']);
  });
});
