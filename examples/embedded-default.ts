/**
 * The example's embedded default: everything multiAuth needs, in one process, on loopback.
 *
 * - primary "oauth": a demo OAuth server for interactive MCP clients (discovery, dynamic
 *   registration, PKCE) that approves every authorization request at once (demo only; see
 *   demo-oauth-provider.ts for what keeps it safe to copy and what it still is not): the SDK's
 *   `mcpAuthRouter` (v2's in server-legacy, or v1's) with `DemoOAuthProvider`.
 * - verifier "machines": a second issuer minting RS256 JWTs for machine-to-machine calls, its JWKS
 *   served over HTTP by the same server and fetched by `jwtVerifier` like any remote key set.
 * - verifier "ci": a static API key with `mcp:read` only (so it can show the 403 step-up).
 * - verifier "partner": a third issuer whose key server is down: its JWKS route answers 503, a
 *   simulated outage, so that a partner token shows the 503 answer. Tokens of other issuers
 *   never reach it (jwtVerifier refuses foreign issuers on sight), so they are unaffected.
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
import { mcpAuthRouter as mcpAuthRouterV1 } from '@modelcontextprotocol/sdk/server/auth/router.js';
import * as oauthErrorsV1 from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { mcpAuthRouter } from '@modelcontextprotocol/server-legacy';
import {
  jwtVerifier,
  mcpPolicy,
  multiAuth,
  oauthServer,
  remoteAuthServer,
  staticTokenVerifier,
  type AuthServer,
  type MultiAuthOptions,
  type ReadyReport,
  type DpopOptions,
  type MultiAuth,
  MultiAuthNotReadyError,
} from '../lib/index';
import { createMcpApp } from './mcp-app';
import { createMcpAppV2, EXAMPLE_RULES } from './mcp-app-v2';
import { advertiseBasicClientAuthentication, basicClientAuthentication, DemoOAuthProvider } from './demo-oauth-provider';

export interface ExampleServer {
  server: Server;
  baseUrl: string;
  resource: string;
  /** The multiAuth router in front of the app. */
  auth: MultiAuth;
  /** One working token per non-interactive source, and a partner token (its source is down: 503). */
  tokens: { ci: string; machines: string; partner: string };
  /** What `auth.ready()` found at start-up, one entry per source. */
  ready: ReadyReport;
  /** Mints another machine JWT (e.g. with other scopes). */
  mintMachineToken(scopes: string[], lifetimeSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

/** `multiAuth`'s `dpop` option from DPOP and DPOP_NONCE_SECRET, or `undefined` (DPoP off). */
function dpopFromEnv(env: NodeJS.ProcessEnv): DpopOptions | undefined {
  if (env.DPOP === undefined || env.DPOP === '' || env.DPOP === 'off') return undefined;
  if (env.DPOP !== 'required' && env.DPOP !== 'on') throw new StartupError([`DPOP must be "on", "required" or "off", got ${JSON.stringify(env.DPOP)}`]);
  const dpop: DpopOptions = env.DPOP === 'required' ? { required: ['oauth'] } : {};
  if (env.DPOP_NONCE_SECRET) dpop.nonce = { secret: env.DPOP_NONCE_SECRET };
  return dpop;
}

export interface ExampleOptions {
  host?: string;
  port?: number;
  onDecision?: MultiAuthOptions['onDecision'];
  env?: NodeJS.ProcessEnv;
  /** Which MCP SDK serves `/mcp`: `'v2'` (default; `createMcpExpressApp` + `createMcpHandler`) or `'v1'`. */
  sdk?: 'v1' | 'v2';
}

/**
 * The example cannot start, for causes a person can fix: the port is taken, or a source cannot
 * work (a wrong OAUTH_ISSUER). `causes` holds one line each, for a person, not a stack.
 */
export class StartupError extends Error {
  constructor(readonly causes: string[]) {
    super(causes.join('; '));
    this.name = 'StartupError';
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new StartupError([
        error.code === 'EADDRINUSE'
          ? `${host}:${port} is already in use; stop what is using it or pick another port (PORT=${port + 1} npm start)`
          : `cannot listen on ${host}:${port}: ${error.code ?? error.message}`,
      ]));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Starts the example on `host:port` (port 0 picks a free one). */
export async function startExample(options: ExampleOptions = {}): Promise<ExampleServer> {
  const env = options.env ?? process.env;
  const host = options.host ?? '127.0.0.1';
  const sdk = options.sdk ?? 'v2';
  const server = createServer();
  await listen(server, options.port ?? 0, host);
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

  // The partner issuer: tokens signed with a key of its own, but its key server is "down".
  const partnerIssuer = `${baseUrl}/partner-issuer`;
  const partnerKey = await generateKeyPair('ES256');
  const partnerToken = await new SignJWT({ scope: 'mcp:read', client_id: 'partner-app' })
    .setProtectedHeader({ alg: 'ES256', kid: 'partner-1', typ: 'at+jwt' })
    .setIssuer(partnerIssuer)
    .setAudience(resource)
    .setSubject('partner-app')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(partnerKey.privateKey);

  let primary: AuthServer;
  const outer = express.Router();
  const scopesSupported = ['mcp:read', 'mcp:write'];
  if (env.OAUTH_ISSUER) {
    // The same scopes as the demo server advertises: MCP clients ask for what the metadata lists.
    primary = remoteAuthServer({ name: 'oauth', issuer: env.OAUTH_ISSUER, resource, scopesSupported: ['mcp:read', 'mcp:write'] });
  } else {
    const issuerUrl = new URL(`${baseUrl}/`);
    const resourceServerUrl = new URL(resource);
    const provider = new DemoOAuthProvider(scopesSupported, resource, sdk === 'v2' ? undefined : oauthErrorsV1);
    const router = sdk === 'v2'
      ? mcpAuthRouter({ provider, issuerUrl, scopesSupported, resourceServerUrl })
      : mcpAuthRouterV1({ provider, issuerUrl, scopesSupported, resourceServerUrl });
    primary = oauthServer({ name: 'oauth', router, verifier: provider, issuer: issuerUrl.href, resource, scopesSupported });
    // The SDK's token endpoint reads client secrets from the body only; RFC 6749 §2.3.1 wants
    // HTTP Basic too, and it is what a client registered without a method uses (RFC 7591).
    outer.use(basicClientAuthentication('/token'), advertiseBasicClientAuthentication());
  }
  outer.get('/machine-issuer/jwks.json', (_req, res) => {
    res.json({ keys: [jwk] });
  });
  outer.get('/partner-issuer/jwks.json', (_req, res) => {
    res.status(503).set('Retry-After', '3600').json({ error: 'simulated outage of the partner key server' });
  });

  const ciKey = env.CI_KEY ?? `ci_${randomBytes(16).toString('hex')}`;
  const auth = multiAuth({
    primary,
    verifiers: [
      jwtVerifier({ name: 'machines', issuer: machineIssuer, audience: resource, jwksUri: `${machineIssuer}/jwks.json` }),
      staticTokenVerifier({ name: 'ci', tokens: { [ciKey]: { clientId: 'ci-pipeline', scopes: ['mcp:read'] } } }),
      jwtVerifier({ name: 'partner', issuer: partnerIssuer, audience: resource, jwksUri: `${partnerIssuer}/jwks.json` }),
    ],
    requiredScopes: [],
    onDecision: options.onDecision,
    dpop: dpopFromEnv(env),
  });

  const app = express();
  app.use(outer);
  const policy = mcpPolicy(EXAMPLE_RULES, { auth });
  app.use(sdk === 'v2' ? createMcpAppV2(auth, policy, host) : createMcpApp(auth, policy));
  server.on('request', app);
  // Every remote source asked once: a wrong OAUTH_ISSUER stops the example here, with the reason,
  // instead of answering 503 to every request. Rejects with MultiAuthNotReadyError.
  // The partner's key server is down on purpose (the 503 demo): that one is expected, any other
  // source that cannot work still stops the example.
  let ready: ReadyReport;
  try {
    ready = await auth.ready();
  } catch (error) {
    if (!(error instanceof MultiAuthNotReadyError)) {
      server.close();
      throw error;
    }
    const causes = error.report.sources
      .filter((s) => (s.status === 'misconfigured' || s.status === 'unreachable') && s.source !== 'partner')
      .map((s) => `source "${s.source}" cannot work (${s.status}): ${s.detail}`);
    if (causes.length > 0) {
      server.close();
      throw new StartupError(causes);
    }
    ready = error.report;
  }

  return {
    server,
    baseUrl,
    resource,
    auth,
    tokens: { ci: ciKey, machines: await mintMachineToken(['mcp:read']), partner: partnerToken },
    ready,
    mintMachineToken,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
