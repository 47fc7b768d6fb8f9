import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { requireAnyScope, requireScopes, requireSource } from '../../lib/http/guards';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { appWith, oneTokenVerifier, parseBearerChallenge } from '../support/app';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { getChallengeContext, setAuth } from '../../lib/http/request-auth';

const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';
const auth = (authRequired = true) =>
  multiAuth({
    verifiers: [
      oneTokenVerifier('users', 'reader', { scopes: ['repo:read'] }),
      oneTokenVerifier('machines', 'admin', { scopes: ['repo:read', 'repo:admin'] }),
    ],
    resourceMetadataUrl: METADATA,
    authRequired,
  });
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

describe('requireScopes', () => {
  const app = appWith(auth(), requireScopes('repo:read', 'repo:admin'));
  it('passes a token with every scope', async () => {
    expect((await request(app).get('/echo').set(bearer('admin'))).status).toBe(200);
  });
  it('answers 403 insufficient_scope naming all the route needs, with the bearer check\'s resource_metadata', async () => {
    const res = await request(app).get('/echo').set(bearer('reader'));
    expect(res.status).toBe(403);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params).toMatchObject({
      error: 'insufficient_scope',
      scope: 'repo:read repo:admin',
      resource_metadata: METADATA,
    });
  });
});

describe('requireAnyScope', () => {
  const app = appWith(auth(), requireAnyScope('repo:admin', 'repo:write'));
  it('passes a token with one of the scopes', async () => {
    expect((await request(app).get('/echo').set(bearer('admin'))).status).toBe(200);
  });
  it('answers 403 naming the first (least privileged) alternative only, as mcpPolicy does', async () => {
    const res = await request(app).get('/echo').set(bearer('reader'));
    expect(res.status).toBe(403);
    expect(parseBearerChallenge(res.headers['www-authenticate']).params.scope).toBe('repo:admin');
  });
});

describe("guards' scope= when multiAuth requires scopes of every token", () => {
  const withBase = () =>
    multiAuth({
      verifiers: [oneTokenVerifier('users', 'reader', { scopes: ['mcp:read', 'repo:read'] })],
      resourceMetadataUrl: METADATA,
      requiredScopes: ['mcp:read'],
    });

  it('names the required scopes too, so a client that asks for exactly scope= keeps them', async () => {
    const all = await request(appWith(withBase(), requireScopes('repo:admin'))).get('/echo').set(bearer('reader'));
    expect(parseBearerChallenge(all.headers['www-authenticate']).params.scope).toBe('mcp:read repo:admin');
    const any = await request(appWith(withBase(), requireAnyScope('repo:write', 'repo:admin'))).get('/echo').set(bearer('reader'));
    expect(parseBearerChallenge(any.headers['www-authenticate']).params.scope).toBe('mcp:read repo:write');
  });
});

describe('requireSource', () => {
  const app = appWith(auth(), requireSource('machines'));
  it('passes a token from the named source', async () => {
    expect((await request(app).get('/echo').set(bearer('admin'))).body.source).toBe('machines');
  });
  it('answers 403 for a token from another source, without naming sources', async () => {
    const res = await request(app).get('/echo').set(bearer('reader'));
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
    expect(JSON.stringify(res.body) + res.headers['www-authenticate']).not.toMatch(/machines|users/);
  });
});

describe('guards on unauthenticated requests', () => {
  it('answer 401 with the challenge when multiAuth let the request through anonymously', async () => {
    const res = await request(appWith(auth(false), requireScopes('repo:read'))).get('/echo');
    expect(res.status).toBe(401);
    const { params } = parseBearerChallenge(res.headers['www-authenticate']);
    expect(params.error).toBeUndefined();
    expect(params).toMatchObject({ scope: 'repo:read', resource_metadata: METADATA });
  });
});

describe('guard configuration', () => {
  it('refuses an empty list or a name with spaces', () => {
    expect(() => requireScopes()).toThrow(MultiAuthConfigError);
    expect(() => requireSource('a b')).toThrow(MultiAuthConfigError);
  });
});

describe('the challenge context guards read', () => {
  const context = Object.freeze({ resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp', scopes: ['mcp:read'] });
  const info = { token: 't', clientId: 'c', scopes: [], source: 's', payload: {}, extra: { source: 's' } };

  it('rides on req.auth, leaving req with one new property', () => {
    const req = new IncomingMessage(new Socket());
    const before = Reflect.ownKeys(req).length;
    setAuth(req, { ...info }, context);
    expect(Reflect.ownKeys(req).length).toBe(before + 1);
    expect(getChallengeContext(req)).toBe(context);
  });

  it('goes on req when the AuthInfo cannot take it (frozen), and is found all the same', () => {
    const req = new IncomingMessage(new Socket());
    expect(() => setAuth(req, Object.freeze({ ...info }), context)).not.toThrow();
    expect(getChallengeContext(req)).toBe(context);
  });
});
