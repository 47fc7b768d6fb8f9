// What the certificate-bound token tests share: oidc-provider tokens bound to a test certificate,
// and an Express app with multiAuth over the two sources that report cnf["x5t#S256"] (a JWT
// source and an introspection source) and a /whoami route saying what was accepted.
import express from 'express';
import { multiAuth } from '../../lib/chain/multi-auth';
import type { MultiAuthOptions } from '../../lib/chain/config';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { getAuth } from '../../lib/http/request-auth';
import { introspectionOptionsFor, type Issuer } from './issuer';
import type { TestCertificate } from './tls';

/** A JWT access token for `resource` and an opaque (introspected) one, both bound to `certificate`. */
export async function certificateBoundTokens(issuer: Issuer, certificate: TestCertificate, resource: string): Promise<{ jwt: string; opaque: string }> {
  const asHolder = { client: issuer.mtlsClient, certificate: certificate.header, scope: 'mcp:read' };
  const [jwt, opaque] = await Promise.all([issuer.clientCredentialsToken({ ...asHolder, resource }), issuer.opaqueToken(asHolder)]);
  return { jwt, opaque };
}

/** multiAuth over `corp-jwt` (JWTs for `resource`) and the issuer's introspection, then GET /whoami. */
export function mtlsApp(issuer: Issuer, resource: string, options: Partial<MultiAuthOptions>): express.Express {
  const app = express();
  app.use(
    multiAuth({
      verifiers: [jwtVerifier({ name: 'corp-jwt', issuer: issuer.issuer, audience: resource }), introspectionVerifier(introspectionOptionsFor(issuer))],
      ...options,
    }),
  );
  app.get('/whoami', (req, res) => {
    const auth = getAuth(req);
    res.json({ source: auth?.source, clientId: auth?.clientId, mtls: auth?.mtls ?? null });
  });
  return app;
}
