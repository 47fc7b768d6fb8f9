// RFC 9728 §2 `tls_client_certificate_bound_access_tokens` (from RFC 8705): what a primary's
// protected-resource metadata says about certificate-bound tokens.
import express from 'express';
import request from 'supertest';
import { oauthServer } from '../../lib/primaries/oauth-server';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import type { AuthServer, MtlsRouteContext } from '../../lib/core/types';

const resource = 'https://mcp.example.com/mcp';
const path = '/.well-known/oauth-protected-resource/mcp';

function metadataOf(primary: AuthServer, mtls?: MtlsRouteContext) {
  const app = express();
  app.use(primary.routes({ requiredScopes: [], ...(mtls ? { mtls } : {}) }));
  return request(app).get(path);
}

const primaries: Array<[string, () => AuthServer]> = [
  ['remoteAuthServer', () => remoteAuthServer({ issuer: 'https://login.example.com', resource })],
  [
    'oauthServer',
    () => oauthServer({
      router: express.Router(),
      verifier: staticTokenVerifier({ tokens: { 'a-static-key-long-enough': { clientId: 'c', scopes: [] } } }),
      issuer: 'https://login.example.com',
      resource,
    }),
  ],
];

describe.each(primaries)('%s metadata', (_name, make) => {
  it('says tls_client_certificate_bound_access_tokens: true when its tokens must be certificate-bound', async () => {
    const res = await metadataOf(make(), { required: true });
    expect(res.status).toBe(200);
    expect(res.body.tls_client_certificate_bound_access_tokens).toBe(true);
  });

  it('leaves the member out when certificate-bound tokens are accepted but not required (false is its default)', async () => {
    const res = await metadataOf(make(), { required: false });
    expect(res.body).not.toHaveProperty('tls_client_certificate_bound_access_tokens');
  });

  it('leaves the member out without mTLS', async () => {
    const res = await metadataOf(make());
    expect(res.body).not.toHaveProperty('tls_client_certificate_bound_access_tokens');
  });
});
