#!/usr/bin/env node
// A real OAuth 2.0 authorization server (oidc-provider 9) for the test suite.
//
// Runs as its own Node process so that ESM-only oidc-provider stays out of
// Jest's CommonJS module system, and so tests talk to it over real HTTP the way
// a deployment would. Started by __tests__/support/issuer.ts; can also be run
// by hand:  node __tests__/support/oidc-issuer.mjs '{"path":"/tenant-a"}'
//
// Protocol with the parent:
// - configuration: JSON in argv[2] or in the OIDC_ISSUER_CONFIG env variable;
// - readiness: exactly one JSON line on stdout ({"ready":true,"issuer":...});
//   stdout carries nothing else (console.log/info are redirected to stderr);
// - shutdown: SIGTERM/SIGINT, or stdin closing (the parent died), ends the process;
// - control: plain HTTP under /__harness/ on the same port (request log, fault
//   injection, signing with the issuer's keys). Those requests are not logged.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

// ---------------------------------------------------------------------------
// Output hygiene. oidc-provider prints through console.info/console.warn at
// import and configuration time. Known development-only notices are expected
// in a test harness and would bury real failures in every test run; anything
// else still reaches stderr. Installed before oidc-provider is imported.

const EXPECTED_NOISE = [
  /^oidc-provider WARNING: Unsupported runtime\b/, // Node 20 is below its LTS floor but works
  /^oidc-provider NOTICE: /, // "default X function called, you SHOULD change it", experimental features
  /^oidc-provider WARNING: a quick start development-only in-memory adapter is used\b/,
];
const quiet = process.env.OIDC_ISSUER_DEBUG !== '1';

function toStderr() {
  return (...args) => {
    const first = typeof args[0] === 'string' ? args[0] : '';
    if (quiet && EXPECTED_NOISE.some((re) => re.test(first))) return;
    process.stderr.write(`${args.map((a) => (typeof a === 'string' ? a : inspectValue(a))).join(' ')}\n`);
  };
}
function inspectValue(value) {
  if (value instanceof Error) return value.stack ?? String(value);
  try { return JSON.stringify(value); } catch { return String(value); }
}
console.log = toStderr();
console.info = toStderr();
console.warn = toStderr();

const { default: Provider } = await import('oidc-provider');
const jose = await import('jose');

// ---------------------------------------------------------------------------
// Configuration

const DEFAULT_SCOPE = 'mcp:read mcp:write repo:read repo:admin';

const config = readConfig();

function readConfig() {
  const raw = process.argv[2] ?? process.env.OIDC_ISSUER_CONFIG ?? '{}';
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new TypeError(`oidc-issuer: configuration is not JSON: ${err.message}`, { cause: err });
  }
  const path = normalizePath(parsed.path);
  const clients = parsed.clients ?? {};
  return {
    host: parsed.host ?? '127.0.0.1',
    port: parsed.port ?? 0,
    path,
    scope: parsed.scope ?? DEFAULT_SCOPE,
    accessTokenTtl: parsed.accessTokenTtl ?? 600,
    resources: parsed.resources ?? {},
    strictResources: parsed.strictResources ?? false,
    defaultResource: parsed.defaultResource === undefined ? 'http://127.0.0.1/mcp' : parsed.defaultResource,
    opaqueResource: parsed.opaqueResource ?? 'http://127.0.0.1/introspected-api',
    signingAlgs: parsed.signingAlgs ?? ['RS256'],
    autoApprove: parsed.autoApprove ?? true,
    account: { sub: 'test-user', email: 'test-user@example.test', name: 'Test User', ...parsed.account },
    discovery: {
      oauthInserted: true,
      openidInserted: true,
      openidAppended: true,
      oauthAppended: true,
      ...parsed.discovery,
    },
    clients: {
      m2m: { clientId: 'm2m-client', clientSecret: 'm2m-secret', ...clients.m2m },
      introspection: { clientId: 'resource-server', clientSecret: 'resource-server-secret', ...clients.introspection },
    },
    extraClients: parsed.extraClients ?? [],
    mtls: parsed.mtls ?? false,
  };
}

function normalizePath(path) {
  if (path === undefined || path === '' || path === '/') return '';
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('?') || path.includes('#')) {
    throw new TypeError(`oidc-issuer: path must be like "/tenant-a", got ${JSON.stringify(path)}`);
  }
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

// ---------------------------------------------------------------------------
// Keys. Generated per process so no two issuers share a key (tests rely on a
// token from issuer A failing against issuer B's JWKS). One extra key per
// algorithm is never published: signing with it simulates an unknown `kid`.

const PUBLISHED = new Map(); // alg -> private JWK
const UNPUBLISHED = new Map();

for (const alg of config.signingAlgs) {
  PUBLISHED.set(alg, generateJwk(alg));
  UNPUBLISHED.set(alg, generateJwk(alg));
}
if (!PUBLISHED.has('RS256')) PUBLISHED.set('RS256', generateJwk('RS256')); // ID tokens default to RS256

function generateJwk(alg) {
  let pair;
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  } else if (alg === 'ES256') {
    pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  } else if (alg === 'ES384') {
    pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  } else if (alg === 'EdDSA' || alg === 'Ed25519') {
    pair = crypto.generateKeyPairSync('ed25519');
  } else {
    throw new TypeError(`oidc-issuer: unsupported signing alg ${alg}`);
  }
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}` };
}

// ---------------------------------------------------------------------------
// Resource servers (RFC 8707). Any absolute http(s) URL is accepted as a JWT
// resource unless strictResources is set, because tests usually learn their own
// resource URL (an ephemeral port) after the issuer is already running.

function resourceServerInfo(indicator) {
  const entry = config.resources[indicator]
    ?? (indicator === config.opaqueResource ? { format: 'opaque' } : undefined);
  if (!entry) {
    if (config.strictResources || !/^https?:\/\//.test(indicator)) return undefined;
  }
  const info = {
    scope: entry?.scope ?? config.scope,
    accessTokenFormat: entry?.format ?? 'jwt',
  };
  if (entry?.audience !== undefined) info.audience = entry.audience;
  if (entry?.ttl !== undefined) info.accessTokenTTL = entry.ttl;
  if (info.accessTokenFormat === 'jwt') {
    if (entry?.alg?.startsWith('HS')) {
      if (!entry.secret) throw new TypeError(`oidc-issuer: resource ${indicator} uses ${entry.alg} without a secret`);
      info.jwt = { sign: { alg: entry.alg, key: Buffer.from(entry.secret) } };
    } else {
      info.jwt = { sign: { alg: entry?.alg ?? config.signingAlgs[0] ?? 'RS256' } };
    }
  }
  return info;
}

// Every scope any resource can grant, so authorization requests accept them.
const allScopes = new Set(['openid', 'offline_access', 'profile', 'email']);
for (const s of config.scope.split(' ')) allScopes.add(s);
for (const entry of Object.values(config.resources)) {
  for (const s of (entry.scope ?? config.scope).split(' ')) allScopes.add(s);
}
allScopes.delete('');

// ---------------------------------------------------------------------------
// Clients. oidc-provider 9 lets a client registered for client_secret_basic
// also authenticate with client_secret_post (and vice versa), so one client
// per role covers both methods.

const { m2m, introspection } = config.clients;

function serviceClient({ clientId, clientSecret }, grantTypes) {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: grantTypes,
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

const clients = [
  serviceClient(m2m, ['client_credentials']),
  serviceClient(introspection, []), // a resource server: authenticates, never gets tokens
  ...config.extraClients,
];
// RFC 8705 §3: a client whose every access token is bound to the certificate it presented.
if (config.mtls) {
  clients.push({
    ...serviceClient({ clientId: 'mtls-client', clientSecret: 'mtls-secret' }, ['client_credentials']),
    tls_client_certificate_bound_access_tokens: true,
  });
}

// ---------------------------------------------------------------------------
// mTLS. The issuer listens on plain HTTP, as an authorization server behind a TLS-terminating
// proxy does: the proxy tells it the client's certificate in RFC 9440's Client-Cert header
// (`:` base64 DER `:`), which the test sends on the token request in the proxy's stead.

function clientCertificate(ctx) {
  const value = ctx.get('client-cert');
  const match = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value ?? '');
  return match ? new crypto.X509Certificate(Buffer.from(match[1], 'base64')) : undefined;
}

// ---------------------------------------------------------------------------
// TTLs. A test can shorten one token's life with the x-harness-access-token-ttl
// request header on the token request (no other way to vary it per token).

function tokenTtl(ctx, token) {
  const perRequest = Number(ctx?.get?.('x-harness-access-token-ttl'));
  if (Number.isSafeInteger(perRequest) && perRequest > 0) return perRequest;
  return token.resourceServer?.accessTokenTTL ?? config.accessTokenTtl;
}

// ---------------------------------------------------------------------------
// Server and provider. The port is known only after listen(), and the issuer
// URL must contain it, so the provider is built afterwards.

const requestLog = [];
let faults = [];

const server = http.createServer((req, res) => {
  dispatch(req, res).catch((err) => {
    console.error('oidc-issuer: unhandled error', err);
    if (!res.headersSent) {
      res.statusCode = 500;
      res.end();
    } else {
      res.destroy();
    }
  });
});
server.keepAliveTimeout = 1000;

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port, config.host, () => {
    server.off('error', reject);
    resolve();
  });
});

const { port } = server.address();
const origin = `http://${config.host}:${port}`;
const issuer = `${origin}${config.path}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [...PUBLISHED.values()] },
  scopes: [...allScopes],
  claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  // MCP clients keep refresh tokens; don't make them ask for offline_access first.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: {
    AccessToken: tokenTtl,
    ClientCredentials: tokenTtl,
    // oidc-provider requires these to be set explicitly to avoid notices; values are the library's.
    AuthorizationCode: 60,
    Grant: 14 * 24 * 60 * 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    RefreshToken: 14 * 24 * 60 * 60,
    Session: 14 * 24 * 60 * 60,
  },
  async findAccount(_ctx, sub) {
    if (sub !== config.account.sub) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: config.account.email, name: config.account.name };
      },
    };
  },
  interactions: {
    url: (_ctx, interaction) => `${config.path}/interaction/${interaction.uid}`,
  },
  features: {
    devInteractions: { enabled: false }, // replaced by the auto-approving handler below
    clientCredentials: { enabled: true },
    registration: { enabled: true },
    mTLS: config.mtls
      ? { enabled: true, certificateBoundAccessTokens: true, getCertificate: clientCertificate }
      : { enabled: false },
    introspection: {
      enabled: true,
      // A resource server credential may introspect anything; any other client only its own tokens.
      allowedPolicy: async (_ctx, client, token) =>
        client.clientId === introspection.clientId || token.clientId === client.clientId,
    },
    revocation: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
    },
    resourceIndicators: {
      enabled: true,
      // Client credentials without `resource` get the default resource; an
      // authorization code exchange without `resource` falls back to what was
      // granted (useGrantedResource) instead of to an unrelated default.
      defaultResource: async (ctx, _client, oneOf) => {
        if (oneOf) return oneOf;
        if (ctx.oidc.route === 'token' && ctx.oidc.params.grant_type !== 'client_credentials') return undefined;
        return config.defaultResource ?? undefined;
      },
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        const info = resourceServerInfo(indicator);
        if (!info) throw new Provider.errors.InvalidTarget();
        return info;
      },
    },
  },
});

provider.on('server_error', (_ctx, err) => console.error('oidc-issuer: server_error', err));

const providerCallback = provider.callback();

// ---------------------------------------------------------------------------
// Request routing

const WELL_KNOWN_OAUTH = '/.well-known/oauth-authorization-server';
const WELL_KNOWN_OPENID = '/.well-known/openid-configuration';

async function dispatch(req, res) {
  const url = new URL(req.url, origin);

  if (url.pathname.startsWith('/__harness/')) {
    await control(req, res, url);
    return;
  }

  requestLog.push({ method: req.method, path: url.pathname + url.search });

  const fault = faults.find((f) => url.pathname.startsWith(f.pathPrefix) && f.remaining !== 0);
  if (fault) {
    if (fault.remaining > 0) fault.remaining -= 1;
    if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault.reset) {
      req.socket.destroy();
      return;
    }
    if (fault.status !== undefined) {
      res.statusCode = fault.status;
      res.setHeader('content-type', fault.contentType ?? 'application/json');
      res.end(fault.body ?? JSON.stringify({ error: 'server_error', error_description: 'injected by test harness' }));
      return;
    }
  }

  const target = route(url.pathname);
  if (!target) {
    notFound(res);
    return;
  }
  if (target.kind === 'interaction') {
    await interaction(req, res);
    return;
  }
  // Mounting oidc-provider below a path: hand it the path relative to the
  // issuer and keep the mount in originalUrl, from which it derives its URLs.
  req.originalUrl = config.path + target.providerPath + url.search;
  req.url = target.providerPath + url.search;
  providerCallback(req, res);
}

/** Which handler serves a server-root path, after the discovery switches. */
function route(pathname) {
  const { path, discovery } = config;
  // RFC 8414 §3.1 (and the OIDC variant of it): the well-known segment goes
  // before the issuer path. Same URLs as the appended forms for a root issuer.
  if (path && pathname === WELL_KNOWN_OAUTH + path) {
    return discovery.oauthInserted ? { kind: 'provider', providerPath: WELL_KNOWN_OAUTH } : undefined;
  }
  if (path && pathname === WELL_KNOWN_OPENID + path) {
    return discovery.openidInserted ? { kind: 'provider', providerPath: WELL_KNOWN_OPENID } : undefined;
  }
  if (pathname !== path && !pathname.startsWith(`${path}/`)) return undefined;
  const inner = pathname.slice(path.length) || '/';
  // For a root issuer both forms are the same URL: switching either off turns it off.
  if (inner === WELL_KNOWN_OAUTH && !(discovery.oauthAppended && (path || discovery.oauthInserted))) return undefined;
  if (inner === WELL_KNOWN_OPENID && !(discovery.openidAppended && (path || discovery.openidInserted))) return undefined;
  if (/^\/interaction\/[^/]+$/.test(inner)) return { kind: 'interaction' };
  return { kind: 'provider', providerPath: inner };
}

function notFound(res) {
  res.statusCode = 404;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ error: 'not_found' }));
}

// ---------------------------------------------------------------------------
// Interactions: log the fixed test user in and grant everything requested,
// without any page. The user agent (issuer.ts authorize()) just follows 303s.

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;

  if (!config.autoApprove) {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'the test harness denies every authorization request (autoApprove: false)',
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: config.account.sub } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }

  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    if (missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, {
      mergeWithLastSubmission: true,
    });
    return;
  }

  await provider.interactionFinished(req, res, {
    error: 'interaction_required',
    error_description: `the test harness cannot satisfy the ${prompt.name} prompt`,
  }, { mergeWithLastSubmission: false });
}

// ---------------------------------------------------------------------------
// Control endpoints (never logged, never faulted)

async function control(req, res, url) {
  const send = (status, body) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const op = `${req.method} ${url.pathname}`;
  switch (op) {
    case 'GET /__harness/requests':
      send(200, { requests: requestLog });
      return;
    case 'DELETE /__harness/requests':
      requestLog.length = 0;
      send(204);
      return;
    case 'PUT /__harness/faults': {
      const body = await readJson(req);
      if (!Array.isArray(body)) {
        send(400, { error: 'faults must be an array' });
        return;
      }
      faults = body.map((f) => ({ ...f, remaining: f.times ?? -1 }));
      send(204);
      return;
    }
    case 'POST /__harness/sign': {
      const { payload, header = {}, alg, unpublishedKey = false } = await readJson(req);
      const useAlg = alg ?? header.alg ?? config.signingAlgs[0] ?? 'RS256';
      const jwk = (unpublishedKey ? UNPUBLISHED : PUBLISHED).get(useAlg);
      if (!jwk) {
        send(400, { error: `no ${unpublishedKey ? 'unpublished ' : ''}key for ${useAlg}; add it to signingAlgs` });
        return;
      }
      const key = await jose.importJWK(jwk, useAlg);
      const jwt = await new jose.SignJWT(payload)
        .setProtectedHeader({ typ: 'at+jwt', kid: jwk.kid, ...header, alg: useAlg })
        .sign(key);
      send(200, { jwt });
      return;
    }
    default:
      send(404, { error: `unknown control operation ${op}` });
  }
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
}

// ---------------------------------------------------------------------------
// Lifecycle

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(code));
  server.closeAllConnections();
  // Exit regardless of stuck sockets; nothing here needs flushing but stdout.
  setTimeout(() => process.exit(code), 500).unref();
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
// stdin closes when the parent goes away, even on SIGKILL, so no orphan survives a crashed Jest.
// OIDC_ISSUER_IGNORE_STDIN=1 is for running it by hand with stdin at /dev/null.
if (process.env.OIDC_ISSUER_IGNORE_STDIN !== '1') {
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('close', () => shutdown(0));
  process.stdin.on('error', () => shutdown(0));
  process.stdin.resume();
}

process.stdout.write(`${JSON.stringify({
  ready: true,
  issuer,
  port,
  pid: process.pid,
  endpoints: {
    discovery: `${issuer}${WELL_KNOWN_OPENID}`,
    jwks: provider.urlFor('jwks'),
    token: provider.urlFor('token'),
    introspection: provider.urlFor('introspection'),
    revocation: provider.urlFor('revocation'),
    registration: provider.urlFor('registration'),
    authorization: provider.urlFor('authorization'),
    userinfo: provider.urlFor('userinfo'),
  },
  keys: [...PUBLISHED.values()].map(({ kid, alg }) => ({ kid, alg })),
})}\n`);
