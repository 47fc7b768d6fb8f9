// MCP 2026-07-28: "Servers MUST account for scope hierarchies, where a broader scope implies
// narrower ones, when deciding whether a token is sufficient for an operation."
// `multiAuth({ scopeHierarchy })`, judged everywhere a scope is judged; req.auth.scopes stays as issued.
import express from 'express';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { requireAnyScope, requireScopes } from '../../lib/http/guards';
import { getAuth } from '../../lib/http/request-auth';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { parseBearerChallenge } from '../support/app';

// express-oauth2-jwt-bearer's guards, loaded without its type declarations (their global
// `Request.auth` clashes with the MCP SDK's; see middleware-verifier.test.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jwtBearer = require('express-oauth2-jwt-bearer') as {
  requiredScopes: (scopes: string) => RequestHandler;
  scopeIncludesAny: (scopes: string) => RequestHandler;
};

const HIERARCHY = { 'mcp:admin': ['mcp:write'], 'mcp:write': ['mcp:read'] };
const ADMIN = 'admin-token-000000';
const READER = 'reader-token-00000';
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const toolCall = (name: string) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } });

const sources = () =>
  staticTokenVerifier({
    name: 'users',
    tokens: {
      [ADMIN]: { clientId: 'alice', scopes: ['mcp:admin'] },
      [READER]: { clientId: 'bob', scopes: ['mcp:read'] },
    },
  });
const authWith = (extra: Record<string, unknown> = {}) => multiAuth({ verifiers: sources(), scopeHierarchy: HIERARCHY, ...extra });

const statusOf: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status((error as { status?: number }).status ?? 500).json({ error: (error as { code?: string }).code });
};

/** express.json() + `auth` + `handlers` in front of POST /mcp, which answers with req.auth's scopes. */
function app(auth: RequestHandler, ...handlers: RequestHandler[]) {
  const a = express();
  a.use(express.json(), auth);
  a.post('/mcp', ...handlers, (req, res) => {
    const info = getAuth(req);
    res.json({ scopes: info?.scopes, effectiveScopes: info?.effectiveScopes, payloadScope: info?.payload?.scope });
  });
  a.use(statusOf);
  return a;
}

describe('scopeHierarchy is checked at construction', () => {
  it.each([
    [{ a: ['a'] }, 'a -> a'],
    [{ a: ['b'], b: ['a'] }, 'a -> b -> a'],
    [{ a: ['b'], b: ['c'], c: ['a'] }, 'a -> b -> c -> a'],
  ])('refuses the cycle %j, naming it', (scopeHierarchy, cycle) => {
    expect(() => multiAuth({ verifiers: sources(), scopeHierarchy })).toThrow(MultiAuthConfigError);
    expect(() => multiAuth({ verifiers: sources(), scopeHierarchy })).toThrow(`scopeHierarchy has a cycle (${cycle})`);
  });

  it.each([
    ['an array', [['a', 'b']], /must be an object mapping a scope/],
    ['a value that is not a list', { a: 'b' }, /scopeHierarchy\["a"\] must be an array/],
    ['a scope with a space', { a: ['b c'] }, /contains "b c"; a scope is a non-empty string without spaces/],
    ['a key that is not a scope', { 'a b': ['c'] }, /has the key "a b"/],
  ])('refuses %s with a message naming the fix', (_what, scopeHierarchy, message) => {
    expect(() => multiAuth({ verifiers: sources(), scopeHierarchy: scopeHierarchy as never })).toThrow(message);
  });
});

describe("the router's requiredScopes", () => {
  it('accepts a token whose broader scope implies the required one, transitively (mcp:admin -> mcp:write -> mcp:read)', async () => {
    const res = await request(app(authWith({ requiredScopes: ['mcp:read'] }))).post('/mcp').set(bearer(ADMIN)).send({});
    expect(res.status).toBe(200);
  });

  it('keeps req.auth.scopes as issued and puts the implied set in effectiveScopes and payload.scope', async () => {
    const res = await request(app(authWith({ requiredScopes: ['mcp:read'] }))).post('/mcp').set(bearer(ADMIN)).send({});
    expect(res.body).toEqual({ scopes: ['mcp:admin'], effectiveScopes: ['mcp:admin', 'mcp:write', 'mcp:read'], payloadScope: 'mcp:admin mcp:write mcp:read' });
  });

  it('judges a cached token the same way (second request)', async () => {
    const a = app(authWith({ requiredScopes: ['mcp:write'] }));
    await request(a).post('/mcp').set(bearer(ADMIN)).send({});
    const again = await request(a).post('/mcp').set(bearer(ADMIN)).send({});
    expect(again.status).toBe(200);
    expect(again.body.effectiveScopes).toEqual(['mcp:admin', 'mcp:write', 'mcp:read']);
  });

  it('never widens a narrow scope: mcp:read does not imply mcp:write, and the 403 names mcp:write as declared', async () => {
    const res = await request(app(authWith({ requiredScopes: ['mcp:write'] }))).post('/mcp').set(bearer(READER)).send({});
    expect(res.status).toBe(403);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params.scope).toBe('mcp:write');
  });
});

describe('the guards', () => {
  it('requireScopes passes a token that holds the scope by implication', async () => {
    expect((await request(app(authWith(), requireScopes('mcp:read', 'mcp:write'))).post('/mcp').set(bearer(ADMIN)).send({})).status).toBe(200);
  });

  it('requireAnyScope passes a token that holds one alternative by implication', async () => {
    expect((await request(app(authWith(), requireAnyScope('mcp:write', 'repo:admin'))).post('/mcp').set(bearer(ADMIN)).send({})).status).toBe(200);
  });

  it('a refusal names the scope as declared, not the broader one that would imply it', async () => {
    const res = await request(app(authWith(), requireScopes('mcp:write'))).post('/mcp').set(bearer(READER)).send({});
    expect(res.status).toBe(403);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params.scope).toBe('mcp:write');
  });

  it("express-oauth2-jwt-bearer's requiredScopes and scopeIncludesAny pass on the normalized payload", async () => {
    expect((await request(app(authWith(), jwtBearer.requiredScopes('mcp:read'))).post('/mcp').set(bearer(ADMIN)).send({})).status).toBe(200);
    expect((await request(app(authWith(), jwtBearer.scopeIncludesAny('mcp:write repo:x'))).post('/mcp').set(bearer(ADMIN)).send({})).status).toBe(200);
    expect((await request(app(authWith(), jwtBearer.requiredScopes('mcp:write'))).post('/mcp').set(bearer(READER)).send({})).status).toBe(403);
  });
});

describe('mcpPolicy and its v2 scopeChallenge', () => {
  const rules = { tools: { write_note: { scopes: ['mcp:write'] }, read_note: { anyScopes: ['mcp:read', 'notes:all'] } } };

  it('the middleware passes calls whose rule scopes the token holds by implication', async () => {
    const auth = authWith();
    const a = app(auth, mcpPolicy(rules, { auth }));
    expect((await request(a).post('/mcp').set(bearer(ADMIN)).send(toolCall('write_note'))).status).toBe(200);
    expect((await request(a).post('/mcp').set(bearer(ADMIN)).send(toolCall('read_note'))).status).toBe(200);
  });

  it('scopeChallenge lets the implied scope through and challenges the narrow token with exactly what the middleware names', async () => {
    const auth = authWith();
    const policy = mcpPolicy(rules, { auth });
    const admin = await auth.verify(ADMIN);
    const reader = await auth.verify(READER);
    const request_ = { method: 'tools/call', params: { name: 'write_note' } };
    expect(policy.scopeChallenge({ request: request_, authInfo: admin })).toBeUndefined();
    const challenge = policy.scopeChallenge({ request: request_, authInfo: reader });
    const refused = await request(app(auth, policy)).post('/mcp').set(bearer(READER)).send(toolCall('write_note'));
    expect(challenge?.scopes).toEqual(['mcp:write']);
    expect(parseBearerChallenge(refused.headers['www-authenticate']).params.scope).toBe(challenge!.scopes.join(' '));
  });

  it('policy.allowedTools counts implied scopes', async () => {
    const auth = authWith();
    const policy = mcpPolicy(rules, { auth });
    expect(policy.allowedTools(await auth.verify(ADMIN), ['write_note', 'read_note'])).toEqual(['write_note', 'read_note']);
    expect(policy.allowedTools(await auth.verify(READER), ['write_note', 'read_note'])).toEqual(['read_note']);
  });
});
