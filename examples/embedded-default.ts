/**
 * The example's embedded default: everything multiAuth needs, in one process, on loopback.
 *
 * - primary "oauth": the MCP SDK's demo OAuth server (`mcpAuthRouter` + `DemoInMemoryAuthProvider`),
 *   for interactive MCP clients: discovery, dynamic registration, PKCE. It approves every
 *   authorization request at once (demo only).
 * - verifier "machines": a second issuer minting RS256 JWTs for machine-to-machine calls, its JWKS
 *   served over HTTP by the same server and fetched by `jwtVerifier` like any remote key set.
 * - verifier "ci": a static API key.
 *
 * Set OAUTH_ISSUER (and optionally RESOURCE) to use a real authorization server as the primary
 * instead of the demo one (`remoteAuthServer`). With DPOP=required the primary accepts DPoP-bound
 * tokens only (RFC 9449; the machine JWTs and the CI key stay Bearer), and DPOP_NONCE_SECRET (32+
 * bytes) turns server nonces on. The demo authorization server cannot bind tokens: use DPoP
 * with an OAUTH_ISSUER that can (Keycloak, oidc-provider, ...).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { DemoInMemoryAuthProvider } from '@modelcontextprotocol/sdk/examples/server/demoInMemoryOAuthProvider.js';
import {
  jwtVerifier,
  multiAuth,
  oauthServer,
  remoteAuthServer,
  staticTokenVerifier,
  type AuthServer,
  type MultiAuthOptions,
  type ReadyReport,
  type DpopOptions,
} from '../lib/index';
import { createMcpApp } from './mcp-app';

export interface ExampleServer {
  server: Server;
  baseUrl: string;
  resource: string;
  /** One working token per non-interactive source. */
  tokens: { ci: string; machines: string };
  /** What `auth.ready()` found at start-up, one entry per source. */
  ready: ReadyReport;
  /** Mints another machine JWT (e.g. with other scopes). */
  mintMachineToken(scopes: string[], lifetimeSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

/** `multiAuth`'s `dpop` option from DPOP and DPOP_NONCE_SECRET, or `undefined` (DPoP off). */
function dpopFromEnv(env: NodeJS.ProcessEnv): DpopOptions | undefined {
  if (env.DPOP === undefined || env.DPOP === '' || env.DPOP === 'off') return undefined;
  if (env.DPOP !== 'required' && env.DPOP !== 'on') throw new TypeError(`DPOP must be "on", "required" or "off", got ${JSON.stringify(env.DPOP)}`);
  const dpop: DpopOptions = env.DPOP === 'required' ? { required: ['oauth'] } : {};
  if (env.DPOP_NONCE_SECRET) dpop.nonce = { secret: env.DPOP_NONCE_SECRET };
  return dpop;
}

/** Starts the example on `host:port` (port 0 picks a free one). */
export async function startExample(
  options: { host?: string; port?: number; onDecision?: MultiAuthOptions['onDecision']; env?: NodeJS.ProcessEnv } = {},
): Promise<ExampleServer> {
  const env = options.env ?? process.env;
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as { port: number };
  const baseUrl = `http://${host}:${port}`;
  const resource = env.RESOURCE ?? `${baseUrl}/mcp`;

  // The machine issuer: a key pair made at start-up, its public half served as a JWKS.
  const machineIssuer = `${baseUrl}/machine-issuer`;
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'machine-1', alg: 'RS256', use: 'sig' };
  const mintMachineToken = (scopes: string[], lifetimeSeconds = 3600) =>
    new SignJWT({ scope: scopes.join(' '), client_id: 'build-agent' })
      .setProtectedHeader({ alg: 'RS256', kid: 'machine-1', typ: 'at+jwt' })
      .setIssuer(machineIssuer)
      .setAudience(resource)
      .setSubject('build-agent')
      .setIssuedAt()
      .setExpirationTime(`${lifetimeSeconds}s`)
      .sign(privateKey);

  let primary: AuthServer;
  const outer = express.Router();
  if (env.OAUTH_ISSUER) {
    // The same scopes as the demo server advertises: MCP clients ask for what the metadata lists.
    primary = remoteAuthServer({ name: 'oauth', issuer: env.OAUTH_ISSUER, resource, scopesSupported: ['mcp:read', 'mcp:write'] });
  } else {
    const provider = new DemoInMemoryAuthProvider();
    const issuerUrl = new URL(`${baseUrl}/`);
    primary = oauthServer({
      name: 'oauth',
      router: mcpAuthRouter({ provider, issuerUrl, scopesSupported: ['mcp:read', 'mcp:write'], resourceServerUrl: new URL(resource) }),
      verifier: provider,
      issuer: issuerUrl.href,
      resource,
      scopesSupported: ['mcp:read', 'mcp:write'],
    });
  }
  outer.get('/machine-issuer/jwks.json', (_req, res) => {
    res.json({ keys: [jwk] });
  });

  const ciKey = env.CI_KEY ?? `ci_${randomBytes(16).toString('hex')}`;
  const auth = multiAuth({
    primary,
    verifiers: [
      jwtVerifier({ name: 'machines', issuer: machineIssuer, audience: resource, jwksUri: `${machineIssuer}/jwks.json` }),
      staticTokenVerifier({ name: 'ci', tokens: { [ciKey]: { clientId: 'ci-pipeline', scopes: ['mcp:read'] } } }),
    ],
    requiredScopes: [],
    onDecision: options.onDecision,
    dpop: dpopFromEnv(env),
  });

  const app = express();
  app.use(outer);
  app.use(createMcpApp(auth));
  server.on('request', app);
  // Every remote source asked once: a wrong OAUTH_ISSUER stops the example here, with the reason,
  // instead of answering 503 to every request. Rejects with MultiAuthNotReadyError.
  let ready: ReadyReport;
  try {
    ready = await auth.ready();
  } catch (error) {
    server.close();
    throw error;
  }

  return {
    server,
    baseUrl,
    resource,
    tokens: { ci: ciKey, machines: await mintMachineToken(['mcp:read']) },
    ready,
    mintMachineToken,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
