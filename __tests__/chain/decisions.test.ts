// What an operator sees of each request: onDecision gets the request to join with request logs,
// refusals by guards and mcpPolicy after the bearer check are reported too, and no decision or
// warning carries the token or any 8-character piece of it.
import express from 'express';
import type { Request } from 'express';
import request from 'supertest';
import fc from 'fast-check';
import { multiAuth } from '../../lib/chain/multi-auth';
import { requireAnyScope, requireScopes, requireSource } from '../../lib/http/guards';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';
import { redactToken } from '../../lib/core/redaction';
import { TemporarilyUnavailableError } from '../../lib/core/errors';
import type { Decision, TokenVerifier } from '../../lib/core/types';
import { oneTokenVerifier } from '../support/app';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

type Seen = { decision: Decision; req: Request | undefined };

function recordingAuth(options: { authRequired?: boolean } = {}) {
  const seen: Seen[] = [];
  const auth = multiAuth({
    verifiers: [
      oneTokenVerifier('users', 'reader-token', { clientId: 'alice', scopes: ['repo:read'] }),
      oneTokenVerifier('machines', 'machine-token', { clientId: 'indexer', scopes: ['repo:read', 'repo:admin'] }),
    ],
    onDecision: (decision, req) => seen.push({ decision, req }),
    ...options,
  });
  return { auth, seen };
}

describe('onDecision(decision, req)', () => {
  it('gets the Express request as its second argument, so decisions join request logs', async () => {
    const { auth, seen } = recordingAuth();
    const app = express().use((req, _res, next) => {
      (req as Request & { id?: string }).id = String(req.headers['x-request-id']);
      next();
    }, auth).get('/repo', (_req, res) => res.send('ok'));
    await request(app).get('/repo?x=1').set(bearer('reader-token')).set('X-Request-Id', 'req-7');
    await request(app).get('/repo').set('X-Request-Id', 'req-8');
    expect(seen.map(({ decision, req }) => [decision.outcome, req?.method, req?.originalUrl, (req as { id?: string }).id])).toEqual([
      ['accepted', 'GET', '/repo?x=1', 'req-7'],
      ['no_credentials', 'GET', '/repo', 'req-8'],
    ]);
  });

  it('gets undefined as the request for auth.verify()', async () => {
    const { auth, seen } = recordingAuth();
    await auth.verify('reader-token');
    await auth.verify('nobody-knows-me').catch(() => undefined);
    expect(seen.map(({ decision, req }) => [decision.outcome, req])).toEqual([
      ['accepted', undefined],
      ['rejected', undefined],
    ]);
  });
});

describe('refusals after the bearer check are reported through the multiAuth that authenticated the request', () => {
  const routes = (app: express.Express) => {
    app.get('/write', requireScopes('repo:read', 'repo:admin'), (_req, res) => res.send('ok'));
    app.get('/any', requireAnyScope('repo:admin', 'repo:write'), (_req, res) => res.send('ok'));
    app.get('/machines', requireSource('machines'), (_req, res) => res.send('ok'));
    return app;
  };

  it.each([
    ['/write', 'requireScopes(repo:read, repo:admin)', /lacks repo:admin/],
    ['/any', 'requireAnyScope(repo:admin, repo:write)', /none of repo:admin repo:write/],
    ['/machines', 'requireSource(machines)', /comes from users, not from machines/],
  ])('%s: a guard refusal is a forbidden 403 decision naming the guard (%s)', async (path, rule, reason) => {
    const { auth, seen } = recordingAuth();
    const app = routes(express().use(auth));
    const res = await request(app).get(path).set(bearer('reader-token'));
    expect(res.status).toBe(403);
    expect(seen.map(({ decision }) => [decision.outcome, decision.status])).toEqual([
      ['accepted', 200],
      ['forbidden', 403],
    ]);
    const refusal = seen[1].decision;
    expect(refusal).toMatchObject({ rule, source: 'users', clientId: 'alice', tokenId: seen[0].decision.tokenId });
    expect(refusal.reason).toMatch(reason);
    // The same request object both times: a logger keyed on the request sees one story.
    expect(seen[1].req).toBe(seen[0].req);
  });

  it('reports nothing more for a request the guard lets through', async () => {
    const { auth, seen } = recordingAuth();
    const res = await request(routes(express().use(auth))).get('/machines').set(bearer('machine-token'));
    expect(res.status).toBe(200);
    expect(seen.map(({ decision }) => decision.outcome)).toEqual(['accepted']);
  });

  it('reports a guard\'s 401 for a request let through without credentials (authRequired: false)', async () => {
    const { auth, seen } = recordingAuth({ authRequired: false });
    const res = await request(routes(express().use(auth))).get('/write');
    expect(res.status).toBe(401);
    expect(seen.map(({ decision }) => [decision.outcome, decision.status, decision.rule])).toEqual([
      ['anonymous', 200, undefined],
      ['no_credentials', 401, 'requireScopes(repo:read, repo:admin)'],
    ]);
  });

  it('reports an mcpPolicy refusal as forbidden with the rule that refused', async () => {
    const { auth, seen } = recordingAuth();
    const policy = mcpPolicy({
      methods: { 'tools/call': { sources: ['users', 'machines'] } },
      tools: { delete_repo: { scopes: ['repo:admin'] }, deploy: { sources: ['machines'] } },
    });
    const app = express().use(express.json(), auth).post('/mcp', policy, (_req, res) => res.json({ reached: true }));
    const call = (name: string) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } });
    expect((await request(app).post('/mcp').set(bearer('reader-token')).send(call('delete_repo'))).status).toBe(403);
    expect((await request(app).post('/mcp').set(bearer('reader-token')).send(call('deploy'))).status).toBe(403);
    expect((await request(app).post('/mcp').set(bearer('machine-token')).send(call('delete_repo'))).status).toBe(200);
    expect(seen.map(({ decision: d }) => [d.outcome, d.status, d.rule, d.reason])).toEqual([
      ['accepted', 200, undefined, undefined],
      ['forbidden', 403, 'mcpPolicy tools["delete_repo"].scopes', 'the token lacks repo:admin'],
      ['accepted', 200, undefined, undefined],
      ['forbidden', 403, 'mcpPolicy tools["deploy"].sources', 'the token comes from users, not from machines'],
      ['accepted', 200, undefined, undefined],
    ]);
  });
});

describe('no decision, reason or warning carries the token or any 8-character piece of it', () => {
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/';
  const tokenArb = fc.string({ unit: fc.constantFrom(...B64), minLength: 16, maxLength: 120 });
  /** Text around a leaked piece: words, punctuation, and characters a token may contain. */
  const noise = fc.string({ unit: fc.constantFrom(...'abc XYZ 019 :;…«»()=-_'), maxLength: 12 });

  const pieces = (token: string): string[] => Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));
  const leaksIn = (text: string, token: string): string[] => pieces(token).filter((piece) => text.includes(piece));

  it('redactToken leaves no 8-character piece of the token, and keeps the rest of the text', () => {
    fc.assert(
      fc.property(tokenArb, fc.array(fc.tuple(noise, fc.nat(), fc.nat()), { minLength: 1, maxLength: 4 }), noise, (token, parts, tail) => {
        const text = parts.map(([before, a, b]) => {
          const start = a % (token.length - 8);
          return before + token.slice(start, start + 8 + (b % (token.length - start - 7)));
        }).join('') + tail;
        const scrubbed = redactToken(text, token);
        expect(leaksIn(scrubbed, token)).toEqual([]);
        expect(scrubbed).toContain('[redacted]');
        // Only the token's pieces go: what stays is the text's own characters, in order.
        expect(scrubbed.replaceAll('[redacted]', '').length).toBeLessThan(text.length);
      }),
      { numRuns: 300 },
    );
  });

  it('holds for sources that quote pieces of the token in what they throw, over HTTP and verify(), and for warnings', async () => {
    const seen: Decision[] = [];
    const warnings: string[] = [];
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation((w: string | Error) => {
      warnings.push(typeof w === 'string' ? w : w.message);
    });
    let quote = (token: string) => token;
    const quoting: TokenVerifier[] = [
      { name: 'rejects', verifyAccessToken: async (t) => { throw Object.assign(new Error(`unknown key ${quote(t)}…`), { code: 'invalid_token' }); } },
      { name: 'fails', verifyAccessToken: async (t) => { throw new TemporarilyUnavailableError(`backend choked on "${quote(t)}"`); } },
      { name: 'errors', verifyAccessToken: async (t) => { throw new TypeError(`cannot parse ${quote(t)}`); } },
    ];
    const auth = multiAuth({
      verifiers: quoting,
      cache: false,
      onDecision: (decision) => {
        seen.push(decision);
        // An observer that itself quotes the token: its error becomes a warning.
        throw new Error(`logger choked on ${JSON.stringify(decision)} ${quote('')}`);
      },
    });
    const app = express().use(auth);
    try {
      await fc.assert(
        fc.asyncProperty(tokenArb, fc.nat(), fc.nat(), noise, async (token, a, b, around) => {
          const start = a % (token.length - 8);
          const end = start + 8 + (b % (token.length - start - 7));
          quote = (t) => (t === '' ? token.slice(start, end) : `${around}${t.slice(start, end)}${around}`);
          seen.length = 0;
          warnings.length = 0;
          const res = await request(app).get('/').set(bearer(token));
          expect(res.status).toBe(503);
          await auth.verify(token).catch(() => undefined);
          expect(seen).toHaveLength(2);
          expect(seen[0].attempts.map((x) => x.outcome)).toEqual(['rejected', 'failed', 'errored']);
          expect(warnings).toHaveLength(2);
          expect(leaksIn(JSON.stringify(seen) + JSON.stringify(warnings) + res.text + String(res.headers['www-authenticate']), token)).toEqual([]);
        }),
        { numRuns: 60 },
      );
    } finally {
      warn.mockRestore();
    }
  });
});
