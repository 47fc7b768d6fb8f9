import request from 'supertest';
import express from 'express';
import { DemoInMemoryAuthProvider } from '@modelcontextprotocol/sdk/examples/server/demoInMemoryOAuthProvider.js';
import { InvalidTokenError as SdkInvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
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
