// Attack class (found reviewing lib/chain's result cache): a decision that depended on the
// request served to another request. A multi-tenant jwtVerifier's issuer resolver may read the
// request (here: the tenant from the Host header, as a SaaS routes `a.mcp.example` and
// `b.mcp.example`); the result cache keys by token alone. The attacker holds a valid token of
// their own tenant (A) and sends it to tenant B, after using it once at A; or sends a victim's
// token to the wrong tenant first, hoping the refusal is remembered for the right one.
// The promise (SECURITY.md "How it was attacked"): what a source decided looking at the request
// is never reused for another request.
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { appWith } from '../support/app';
import { startIssuer, type Issuer } from '../support/issuer';

const RESOURCE = 'http://127.0.0.1/mcp';

let tenantA: Issuer;
beforeAll(async () => {
  tenantA = await startIssuer({ path: '/tenant-a' });
});
afterAll(() => tenantA?.stop());

/** Tenant by Host: only a.mcp.test trusts tenant A's issuer; b.mcp.test trusts another one. */
function app() {
  return appWith(multiAuth({
    verifiers: jwtVerifier({
      name: 'tenants',
      audience: RESOURCE,
      issuer: ({ req }) => (req?.headers.host === 'a.mcp.test' ? [tenantA.issuer] : req?.headers.host === 'b.mcp.test' ? ['https://tenant-b.example'] : []),
    }),
  }));
}

const at = (server: ReturnType<typeof app>, host: string, token: string) =>
  request(server).get('/echo').set('Host', host).set('Authorization', `Bearer ${token}`);

describe('a decision a source made looking at the request is not reused for another request', () => {
  it('tenant A\'s token, accepted at A, is still refused at B', async () => {
    const server = app();
    const token = await tenantA.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    expect((await at(server, 'a.mcp.test', token)).status).toBe(200);
    expect((await at(server, 'b.mcp.test', token)).status).toBe(401);
  });

  it('tenant A\'s token, refused at B, is still accepted at A', async () => {
    const server = app();
    const token = await tenantA.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    expect((await at(server, 'b.mcp.test', token)).status).toBe(401);
    expect((await at(server, 'a.mcp.test', token)).status).toBe(200);
  });
});
