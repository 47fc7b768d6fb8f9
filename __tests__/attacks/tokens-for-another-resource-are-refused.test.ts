// Attack class: token passthrough. The attacker holds a valid token of their own, issued by the
// same authorization server for another resource (another MCP server, another API), and presents
// it here. MCP's authorization spec: a server MUST validate that tokens were issued for it.
// The promise (SECURITY.md "How it was attacked"): every source checks the audience by default:
// oauthServer (and remoteAuthServer with its own verifier) refuse an AuthInfo.resource naming
// another resource; introspectionVerifier requires `audience`, `audience: false` being the only
// way out, and named so.
import express from 'express';
import request from 'supertest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { multiAuth } from '../../lib/chain/multi-auth';
import { oauthServer } from '../../lib/primaries/oauth-server';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { MultiAuthConfigError } from '../../lib/core/errors';
import type { TokenVerifier } from '../../lib/core/types';
import { appWith } from '../support/app';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';

const RESOURCE = 'http://127.0.0.1/mcp';
const ELSEWHERE = 'http://127.0.0.1/another-mcp';
/** Another API of the same authorization server, whose tokens are opaque (introspected). */
const OTHER_API = 'http://127.0.0.1/another-api';

let issuer: Issuer;
beforeAll(async () => {
  issuer = await startIssuer({ resources: { [OTHER_API]: { format: 'opaque' } } });
});
afterAll(() => issuer?.stop());

/**
 * A provider as apps write them: it checks the signature and reports the token's resource,
 * leaving the audience to the server (as the MCP SDK's demo provider does).
 */
function reportingProvider(): TokenVerifier {
  const keys = createRemoteJWKSet(new URL(issuer.jwksUri));
  return {
    async verifyAccessToken(token) {
      const { payload } = await jwtVerify(token, keys, { issuer: issuer.issuer });
      return {
        token, clientId: String(payload.client_id), scopes: String(payload.scope ?? '').split(' '), expiresAt: payload.exp,
        ...(typeof payload.aud === 'string' ? { resource: new URL(payload.aud) } : {}),
      };
    },
  };
}

const noRoutes: express.RequestHandler = (_req, _res, next) => next();
const bearer = (app: express.Express, token: string) => request(app).get('/echo').set('Authorization', `Bearer ${token}`);

describe('oauthServer refuses a token its provider reports as issued for another resource', () => {
  const app = () => appWith(multiAuth({ primary: oauthServer({ router: noRoutes, verifier: reportingProvider(), issuer: issuer.issuer, resource: RESOURCE }) }));

  it('another resource: 401 invalid_token', async () => {
    const token = await issuer.clientCredentialsToken({ resource: ELSEWHERE, scope: 'mcp:read' });
    const res = await bearer(app(), token);
    expect([res.status, res.body.error]).toEqual([401, 'invalid_token']);
  });

  it('this resource: accepted', async () => {
    const token = await issuer.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    expect((await bearer(app(), token)).status).toBe(200);
  });
});

describe('remoteAuthServer with its own verifier checks the resource the same way', () => {
  const app = () => appWith(multiAuth({ primary: remoteAuthServer({ issuer: issuer.issuer, resource: RESOURCE, verifier: reportingProvider() }) }));

  it('another resource: 401', async () => {
    const token = await issuer.clientCredentialsToken({ resource: ELSEWHERE, scope: 'mcp:read' });
    expect((await bearer(app(), token)).status).toBe(401);
  });

  it('this resource: accepted', async () => {
    const token = await issuer.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    expect((await bearer(app(), token)).status).toBe(200);
  });
});

describe('introspectionVerifier checks the audience unless told, by name, not to', () => {
  const withoutAudience = { endpoint: 'https://login.example.com/introspect', clientId: 'rs', clientSecret: 'rs-secret' };

  it('refuses to be built without audience, naming audience: false as the way out', () => {
    expect(() => introspectionVerifier(withoutAudience as never)).toThrow(MultiAuthConfigError);
    expect(() => introspectionVerifier(withoutAudience as never)).toThrow(/audience.*audience: false/s);
  });

  it('refuses a token the authorization server issued for another resource', async () => {
    const app = appWith(multiAuth({ verifiers: introspectionVerifier(introspectionOptionsFor(issuer)) }));
    const token = await issuer.clientCredentialsToken({ resource: OTHER_API, scope: 'mcp:read' });
    expect((await issuer.introspect(token)).active).toBe(true);
    expect((await bearer(app, token)).status).toBe(401);
  });

  it('with audience: false accepts an active token whatever its aud (the documented opt-out)', async () => {
    const app = appWith(multiAuth({ verifiers: introspectionVerifier({ ...introspectionOptionsFor(issuer), audience: false }) }));
    const token = await issuer.clientCredentialsToken({ resource: OTHER_API, scope: 'mcp:read' });
    expect((await bearer(app, token)).status).toBe(200);
  });
});
