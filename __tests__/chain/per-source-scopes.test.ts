// A source's own requiredScopes (markdown-vault-mcp#248: one scope vocabulary enforced on every
// source gave each non-primary source 403). For tokens that source accepts its list replaces the
// router's; a request without a token is challenged with the router's (the interactive client's).
import express from 'express';
import type { RequestHandler } from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { requireScopes } from '../../lib/http/guards';
import { getAuth } from '../../lib/http/request-auth';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { middlewareVerifier } from '../../lib/sources/middleware-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { behavingVerifier, oneTokenVerifier, parseBearerChallenge } from '../support/app';

const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
const scopeOf = (res: request.Response) => parseBearerChallenge(res.headers['www-authenticate']).params.scope;

const auth = () =>
  multiAuth({
    verifiers: [
      staticTokenVerifier({ name: 'users', tokens: { 'user-token-000000': { clientId: 'alice', scopes: ['mcp:read'] } } }),
      staticTokenVerifier({
        name: 'ci',
        requiredScopes: ['ci:deploy'],
        tokens: {
          'ci-deploy-key-0000': { clientId: 'pipeline', scopes: ['ci:deploy'] },
          'ci-other-key-00000': { clientId: 'linter', scopes: ['ci:lint'] },
        },
      }),
    ],
    requiredScopes: ['mcp:read'],
    resourceMetadataUrl: METADATA,
  });

function app(a: RequestHandler, ...handlers: RequestHandler[]) {
  const server = express();
  server.use(express.json(), a);
  server.post('/mcp', ...handlers, (req, res) => {
    res.json({ source: getAuth(req)?.source });
  });
  return server;
}

describe("a source's own requiredScopes", () => {
  it("replace the router's for the tokens it accepts: a CI key with ci:deploy and no mcp:read gets through", async () => {
    const res = await request(app(auth())).post('/mcp').set(bearer('ci-deploy-key-0000')).send({});
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('ci');
  });

  it('a token of that source lacking its list gets 403 naming its own list', async () => {
    const res = await request(app(auth())).post('/mcp').set(bearer('ci-other-key-00000')).send({});
    expect(res.status).toBe(403);
    expect(scopeOf(res)).toBe('ci:deploy');
  });

  it("other sources' tokens are still held to the router's list", async () => {
    expect((await request(app(auth())).post('/mcp').set(bearer('user-token-000000')).send({})).status).toBe(200);
  });

  it("a request without a token is challenged with the router's scopes", async () => {
    const res = await request(app(auth())).post('/mcp').send({});
    expect(res.status).toBe(401);
    expect(scopeOf(res)).toBe('mcp:read');
  });

  it("a guard's and a policy's 403 for that source's token name its list, not the router's", async () => {
    const a = auth();
    const guarded = await request(app(a, requireScopes('ci:admin'))).post('/mcp').set(bearer('ci-deploy-key-0000')).send({});
    expect(scopeOf(guarded)).toBe('ci:deploy ci:admin');
    const policy = mcpPolicy({ tools: { deploy: { scopes: ['ci:prod'] } } }, { auth: a });
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'deploy' } };
    const ruled = await request(app(a, policy)).post('/mcp').set(bearer('ci-deploy-key-0000')).send(call);
    expect(scopeOf(ruled)).toBe('ci:deploy ci:prod');
    expect(policy.scopeChallenge({ request: call, authInfo: await a.verify('ci-deploy-key-0000') })?.scopes).toEqual(['ci:deploy', 'ci:prod']);
  });

  it('a source that says insufficient_scope without naming scopes is answered with its own list', async () => {
    const saysTooSmall = Object.assign(
      behavingVerifier('partner', () => {
        throw Object.assign(new Error('scope too small'), { errorCode: 'insufficient_scope' });
      }),
      { requiredScopes: ['partner:use'] },
    );
    const res = await request(app(multiAuth({ verifiers: [saysTooSmall], requiredScopes: ['mcp:read'] }))).post('/mcp').set(bearer('partner-token')).send({});
    expect(res.status).toBe(403);
    expect(scopeOf(res)).toBe('partner:use');
  });

  it('a custom verifier declares them as a requiredScopes property', async () => {
    const custom = Object.assign(oneTokenVerifier('partner', 'partner-token', { scopes: ['partner:use'] }), { requiredScopes: ['partner:use'] });
    const a = multiAuth({ verifiers: [custom], requiredScopes: ['mcp:read'] });
    expect((await request(app(a)).post('/mcp').set(bearer('partner-token')).send({})).status).toBe(200);
  });
});

describe('requiredScopes is an option of every built-in source', () => {
  const ISSUER = 'https://login.example.com';
  const built = () => [
    jwtVerifier({ issuer: ISSUER, audience: 'a', jwksUri: `${ISSUER}/jwks`, requiredScopes: ['x:y'] }),
    introspectionVerifier({ endpoint: `${ISSUER}/introspect`, clientId: 'c', clientSecret: 's', audience: 'a', requiredScopes: ['x:y'] }),
    staticTokenVerifier({ tokens: { 'some-long-api-key-0': { clientId: 'c', scopes: [] } }, requiredScopes: ['x:y'] }),
    middlewareVerifier({ name: 'mw', middleware: (_req, _res, next) => next(), requiredScopes: ['x:y'] }),
  ];

  it('and each carries it as its requiredScopes property', () => {
    for (const source of built()) expect(source.requiredScopes).toEqual(['x:y']);
  });

  it('a malformed list is refused at construction, naming the factory', () => {
    expect(() => staticTokenVerifier({ tokens: { 'some-long-api-key-0': { clientId: 'c', scopes: [] } }, requiredScopes: ['a b'] })).toThrow(
      /staticTokenVerifier: requiredScopes contains "a b"/,
    );
    expect(() => jwtVerifier({ issuer: ISSUER, audience: 'a', jwksUri: `${ISSUER}/jwks`, requiredScopes: 'x:y' as never })).toThrow(MultiAuthConfigError);
  });
});
