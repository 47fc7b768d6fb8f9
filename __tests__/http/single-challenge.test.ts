// MCP 2026-07-28, "Scope Challenge Handling": a server SHOULD name every scope the current
// operation needs in a single challenge (no incremental challenges), and SHOULD NOT name
// offline_access in WWW-Authenticate or in the protected-resource metadata's scopes_supported.
import express from 'express';
import type { RequestHandler } from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { requireAnyScope, requireScopes } from '../../lib/http/guards';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { oneTokenVerifier, parseBearerChallenge } from '../support/app';

const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const toolCall = (name: string) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } });
const scopeOf = (res: request.Response) => parseBearerChallenge(res.headers['www-authenticate']).params.scope;

/** express.json() + `auth` + `handlers` in front of POST /mcp, which says it was reached. */
function mcpApp(auth: RequestHandler, ...handlers: RequestHandler[]) {
  const app = express();
  app.use(express.json(), auth);
  app.post('/mcp', ...handlers, (_req, res) => {
    res.json({ reached: true });
  });
  return app;
}

describe('one challenge when a guard and an mcpPolicy rule both apply to one request', () => {
  const auth = () =>
    multiAuth({
      verifiers: staticTokenVerifier({
        name: 'users',
        tokens: {
          'writer-token-00000': { clientId: 'w', scopes: ['mcp:read', 'mcp:write'] },
          'reader-token-00000': { clientId: 'r', scopes: ['mcp:read', 'repo:read'] },
        },
      }),
      requiredScopes: ['mcp:read'],
      resourceMetadataUrl: METADATA,
    });

  it("the policy's 403 after a guard the request passed names the router's, the guard's and the rule's scopes", async () => {
    const a = auth();
    const app = mcpApp(a, requireScopes('mcp:write'), mcpPolicy({ tools: { delete_repo: { scopes: ['repo:admin'] } } }, { auth: a }));
    const res = await request(app).post('/mcp').set(bearer('writer-token-00000')).send(toolCall('delete_repo'));
    expect(res.status).toBe(403);
    expect(scopeOf(res)).toBe('mcp:read mcp:write repo:admin');
  });

  it("a guard's 403 after a policy the request passed names the policy's scopes too", async () => {
    const a = auth();
    const app = mcpApp(a, mcpPolicy({ tools: { search: { anyScopes: ['repo:read', 'repo:admin'] } } }, { auth: a }), requireScopes('mcp:write'));
    const res = await request(app).post('/mcp').set(bearer('reader-token-00000')).send(toolCall('search'));
    expect(res.status).toBe(403);
    expect(scopeOf(res)).toBe('mcp:read repo:read mcp:write');
  });

  it('two guards on one route: the second names what the first required', async () => {
    const app = mcpApp(auth(), requireAnyScope('repo:read', 'repo:admin'), requireScopes('mcp:write'));
    const res = await request(app).post('/mcp').set(bearer('reader-token-00000')).send(toolCall('search'));
    expect(scopeOf(res)).toBe('mcp:read repo:read mcp:write');
  });
});

describe('offline_access is never named in a challenge or in scopes_supported', () => {
  const withOffline = (extra: Record<string, unknown> = {}) =>
    multiAuth({
      verifiers: oneTokenVerifier('users', 'reader', { scopes: ['mcp:read'] }),
      requiredScopes: ['mcp:read', 'offline_access'],
      resourceMetadataUrl: METADATA,
      ...extra,
    });

  it('the 401 for a request without a token names the required scopes without offline_access', async () => {
    const res = await request(mcpApp(withOffline())).post('/mcp').send(toolCall('x'));
    expect(res.status).toBe(401);
    expect(scopeOf(res)).toBe('mcp:read');
  });

  it('a token without offline_access is not refused for lacking it (it is no resource requirement)', async () => {
    const res = await request(mcpApp(withOffline())).post('/mcp').set(bearer('reader')).send(toolCall('x'));
    expect(res.status).toBe(200);
  });

  it("a guard's and a policy rule's 403 leave it out wherever it was configured", async () => {
    const a = withOffline();
    const guarded = await request(mcpApp(a, requireScopes('offline_access', 'mcp:write'))).post('/mcp').set(bearer('reader')).send(toolCall('x'));
    expect(guarded.status).toBe(403);
    expect(scopeOf(guarded)).toBe('mcp:read mcp:write');
    const ruled = await request(mcpApp(a, mcpPolicy({ tools: { x: { scopes: ['mcp:write', 'offline_access'] } } }, { auth: a })))
      .post('/mcp')
      .set(bearer('reader'))
      .send(toolCall('x'));
    expect(ruled.status).toBe(403);
    expect(scopeOf(ruled)).toBe('mcp:read mcp:write');
  });

  it("the primary's protected-resource metadata leaves it out of scopes_supported", async () => {
    const primary = remoteAuthServer({
      issuer: 'https://login.example.com',
      resource: 'https://mcp.example.com/mcp',
      verifier: oneTokenVerifier(undefined, 'user'),
      scopesSupported: ['mcp:read', 'mcp:write', 'offline_access'],
      requiredScopes: ['mcp:read', 'offline_access'],
    });
    const app = express().use(multiAuth({ primary }));
    const res = await request(app).get('/.well-known/oauth-protected-resource/mcp');
    expect(res.status).toBe(200);
    expect(res.body.scopes_supported).toEqual(['mcp:read', 'mcp:write']);
  });
});

describe("the router's own 403 names what an mcpPolicy created with { auth } requires of the call", () => {
  const auth = () =>
    multiAuth({
      verifiers: staticTokenVerifier({
        name: 'users',
        tokens: {
          'repo-token-000000': { clientId: 'r', scopes: ['repo:read'] },
          'mcp-token-0000000': { clientId: 'm', scopes: ['mcp:read'] },
        },
      }),
      requiredScopes: ['mcp:read'],
      resourceMetadataUrl: METADATA,
    });
  const RULES = { tools: { delete_repo: { scopes: ['repo:admin'] }, search: { anyScopes: ['repo:read', 'repo:admin'] } } };

  it('a token lacking the router\'s scope, calling a tool a rule guards, is told both at once', async () => {
    const a = auth();
    const app = mcpApp(a, mcpPolicy(RULES, { auth: a }));
    const res = await request(app).post('/mcp').set(bearer('repo-token-000000')).send(toolCall('delete_repo'));
    expect(res.status).toBe(403);
    expect(scopeOf(res)).toBe('mcp:read repo:admin');
  });

  it('for anyScopes it names the alternative the token already holds', async () => {
    const a = auth();
    const app = mcpApp(a, mcpPolicy(RULES, { auth: a }));
    const res = await request(app).post('/mcp').set(bearer('repo-token-000000')).send(toolCall('search'));
    expect(scopeOf(res)).toBe('mcp:read repo:read');
  });

  it('a policy made without { auth } leaves the router\'s 403 as it was', async () => {
    const a = auth();
    const app = mcpApp(a, mcpPolicy(RULES));
    const res = await request(app).post('/mcp').set(bearer('repo-token-000000')).send(toolCall('delete_repo'));
    expect(scopeOf(res)).toBe('mcp:read');
  });

  it("a guard in front of the policy names the router's, its own and the policy's scopes for the call", async () => {
    const a = auth();
    const app = mcpApp(a, requireScopes('mcp:write'), mcpPolicy(RULES, { auth: a }));
    const res = await request(app).post('/mcp').set(bearer('mcp-token-0000000')).send(toolCall('delete_repo'));
    expect(res.status).toBe(403);
    expect(scopeOf(res)).toBe('mcp:read mcp:write repo:admin');
  });

  it('the v2 scopeChallenge gives the same set as the middleware for the same call', async () => {
    const a = auth();
    const policy = mcpPolicy(RULES, { auth: a });
    const refused = await request(mcpApp(a, policy)).post('/mcp').set(bearer('mcp-token-0000000')).send(toolCall('delete_repo'));
    const challenge = policy.scopeChallenge({ request: toolCall('delete_repo'), authInfo: await a.verify('mcp-token-0000000') });
    expect(challenge?.scopes).toEqual(['mcp:read', 'repo:admin']);
    expect(scopeOf(refused)).toBe(challenge!.scopes.join(' '));
  });
});

describe('policies tied to one router are bounded', () => {
  it('past 64 mcpPolicy(rules, { auth }) for one router, further ones are not kept, with one process warning', async () => {
    const a = multiAuth({ verifiers: oneTokenVerifier('users', 'reader', { scopes: ['mcp:read'] }), requiredScopes: ['mcp:write'] });
    const warnings: string[] = [];
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((_message: string, options?: { code?: string }) => {
      warnings.push(String(options?.code));
    }) as typeof process.emitWarning);
    try {
      for (let i = 0; i < 66; i++) mcpPolicy({ tools: { [`tool${i}`]: { scopes: [`scope:${i}`] } } }, { auth: a });
    } finally {
      spy.mockRestore();
    }
    expect(warnings.filter((code) => code === 'MULTIAUTH_TOO_MANY_POLICIES')).toHaveLength(1);
    const kept = await request(mcpApp(a)).post('/mcp').set(bearer('reader')).send(toolCall('tool63'));
    expect(scopeOf(kept)).toBe('mcp:write scope:63');
    const dropped = await request(mcpApp(a)).post('/mcp').set(bearer('reader')).send(toolCall('tool64'));
    expect(scopeOf(dropped)).toBe('mcp:write');
  });
});
