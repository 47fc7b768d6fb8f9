import request from 'supertest';
import express from 'express';
import { DemoInMemoryAuthProvider } from '@modelcontextprotocol/sdk/examples/server/demoInMemoryOAuthProvider.js';
import { InsufficientScopeError as SdkInsufficientScopeError, InvalidTokenError as SdkInvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { OAuthError, OAuthErrorCode } from '@modelcontextprotocol/server';
import { InsufficientScopeError } from '../../lib/core/errors';
import { parseBearerChallenge } from '../support/app';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo as SdkAuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { multiAuth } from '../../lib/chain/multi-auth';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import type { Decision, MultiAuthInfo } from '../../lib/core/types';
import { appWith } from '../support/app';

/** Runs the demo provider's real authorize + code exchange to get a token it issued. */
async function demoToken(provider: DemoInMemoryAuthProvider): Promise<string> {
  const client = await provider.clientsStore.registerClient({ client_id: 'demo-client', redirect_uris: ['http://127.0.0.1/cb'] } as never);
  let location = '';
  const res = { redirect: (url: string) => { location = url; }, cookie: () => undefined } as unknown as express.Response;
  await provider.authorize(client, { redirectUri: 'http://127.0.0.1/cb', codeChallenge: 'x', scopes: ['mcp:read'] }, res);
  const code = new URL(location).searchParams.get('code');
  if (!code) throw new Error('the demo provider issued no code');
  return (await provider.exchangeAuthorizationCode(client, code)).access_token;
}

describe('MCP SDK verifiers used unchanged', () => {
  it('an SDK OAuthServerProvider (the demo one) accepts its own token, named verifier-0', async () => {
    const provider = new DemoInMemoryAuthProvider();
    const token = await demoToken(provider);
    const res = await request(appWith(multiAuth({ verifiers: [provider] }))).get('/echo').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ source: 'verifier-0', clientId: 'demo-client', scopes: ['mcp:read'] });
  });

  it('the demo provider\'s plain Error for an unknown token is a 401, reported as errored', async () => {
    const decisions: Decision[] = [];
    const provider = new DemoInMemoryAuthProvider();
    const res = await request(appWith(multiAuth({ verifiers: [provider], onDecision: (d) => decisions.push(d) })))
      .get('/echo')
      .set('Authorization', 'Bearer not-a-demo-token');
    expect(res.status).toBe(401);
    expect(decisions[0].attempts[0]).toMatchObject({ source: 'verifier-0', outcome: 'errored' });
  });

  it('an SDK InvalidTokenError is a rejection and the chain goes on to the next source', async () => {
    const decisions: Decision[] = [];
    const sdkVerifier: OAuthTokenVerifier = {
      verifyAccessToken: async () => {
        throw new SdkInvalidTokenError('not mine');
      },
    };
    const keys = staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-0123456789': { clientId: 'ci', scopes: [] } } });
    const app = appWith(multiAuth({ verifiers: [sdkVerifier, keys], onDecision: (d) => decisions.push(d) }));
    const res = await request(app).get('/echo').set('Authorization', 'Bearer ci-key-0123456789');
    expect(res.body.source).toBe('ci');
    expect(decisions[0].attempts[0]).toMatchObject({ source: 'verifier-0', outcome: 'rejected' });
  });

  it('an SDK ServerError is a failure of that source (it could not decide): 503 with Retry-After, not a 401 that discards the token', async () => {
    const decisions: Decision[] = [];
    const sdkVerifier: OAuthTokenVerifier = { verifyAccessToken: () => Promise.reject(new ServerError('db down')) };
    const res = await request(appWith(multiAuth({ verifiers: [sdkVerifier], onDecision: (d) => decisions.push(d) }))).get('/echo').set('Authorization', 'Bearer x');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(decisions[0].attempts[0]).toMatchObject({ source: 'verifier-0', outcome: 'failed' });
  });

  it('an SDK ServerError does not stop a later source from accepting the token', async () => {
    const sdkVerifier: OAuthTokenVerifier = { verifyAccessToken: () => Promise.reject(new ServerError('db down')) };
    const keys = staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-0123456789': { clientId: 'ci', scopes: [] } } });
    const res = await request(appWith(multiAuth({ verifiers: [sdkVerifier, keys] }))).get('/echo').set('Authorization', 'Bearer ci-key-0123456789');
    expect({ status: res.status, source: res.body.source }).toEqual({ status: 200, source: 'ci' });
  });

  it("an SDK verifier's AuthInfo without expiresAt is refused (401), as the SDK's requireBearerAuth refuses it", async () => {
    const decisions: Decision[] = [];
    const sdkVerifier: OAuthTokenVerifier = { verifyAccessToken: async (token) => ({ token, clientId: 'c', scopes: [] }) };
    const res = await request(appWith(multiAuth({ verifiers: [sdkVerifier], onDecision: (d) => decisions.push(d) }))).get('/echo').set('Authorization', 'Bearer x');
    expect(res.status).toBe(401);
    expect(decisions[0].attempts[0].reason).toMatch(/without expiresAt.*neverExpires: true/);
  });

  describe("a source's insufficient_scope (it recognised the token; its scope is too small)", () => {
    const keys = () => staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-0123456789': { clientId: 'ci', scopes: [] } } });
    const thrower = (error: Error): OAuthTokenVerifier => ({ verifyAccessToken: () => Promise.reject(error) });

    it('is a 403 insufficient_scope naming the required scopes, for SDK v1 and v2 errors alike', async () => {
      for (const error of [new SdkInsufficientScopeError('too little'), new OAuthError(OAuthErrorCode.InsufficientScope, 'too little')]) {
        const res = await request(appWith(multiAuth({ verifiers: [thrower(error)], requiredScopes: ['mcp:read'] }))).get('/echo').set('Authorization', 'Bearer x');
        expect(res.status).toBe(403);
        expect(parseBearerChallenge(res.headers['www-authenticate']).params).toMatchObject({ error: 'insufficient_scope', scope: 'mcp:read' });
      }
    });

    it('names the scopes the error names, when it names any', async () => {
      const res = await request(appWith(multiAuth({ verifiers: [thrower(new InsufficientScopeError(['repo:admin']))] }))).get('/echo').set('Authorization', 'Bearer x');
      expect(res.status).toBe(403);
      expect(parseBearerChallenge(res.headers['www-authenticate']).params.scope).toBe('repo:admin');
    });

    it('ends the chain: a later source does not get to accept the token', async () => {
      const decisions: Decision[] = [];
      const auth = multiAuth({ verifiers: [thrower(new SdkInsufficientScopeError('too little')), keys()], onDecision: (d) => decisions.push(d) });
      const res = await request(appWith(auth)).get('/echo').set('Authorization', 'Bearer ci-key-0123456789');
      expect(res.status).toBe(403);
      expect(decisions[0]).toMatchObject({ outcome: 'insufficient_scope', status: 403, source: 'verifier-0' });
      expect(decisions[0].attempts.map((a) => a.outcome)).toEqual(['insufficient_scope']);
    });

    it('does not stop an earlier source that accepted', async () => {
      const res = await request(appWith(multiAuth({ verifiers: [keys(), thrower(new SdkInsufficientScopeError('too little'))] }))).get('/echo').set('Authorization', 'Bearer ci-key-0123456789');
      expect({ status: res.status, source: res.body.source }).toEqual({ status: 200, source: 'ci' });
    });
  });

  it('a verifier that declares neverExpires has its tokens without expiresAt accepted', async () => {
    const verifier = { neverExpires: true, verifyAccessToken: async (token: string) => ({ token, clientId: 'c', scopes: [] }) };
    const res = await request(appWith(multiAuth({ verifiers: [verifier] }))).get('/echo').set('Authorization', 'Bearer x');
    expect(res.status).toBe(200);
  });

  it('MultiAuthInfo is assignable to the SDK\'s AuthInfo (compile-time) and keeps extra.source', async () => {
    const auth = multiAuth({ verifiers: staticTokenVerifier({ tokens: { 'k-0123456789abcdef': { clientId: 'c', scopes: ['s'] } } }) });
    const info: MultiAuthInfo = await auth.verify('k-0123456789abcdef');
    const sdkInfo: SdkAuthInfo = info;
    expect(sdkInfo.extra?.source).toBe('static');
  });
});
