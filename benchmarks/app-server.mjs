// One configuration under test, alone in this process: Express 5 on 127.0.0.1 with the
// configuration's auth in front of one route, GET /api, that answers a tiny JSON body.
import { createServer } from 'node:https';
import { createRequire } from 'node:module';
import { cpuUsage, memoryUsage } from 'node:process';
import express from 'express';
import { serve } from './rpc.mjs';
import { CLIENT_ID } from './tokens.mjs';

const require = createRequire(import.meta.url);

/**
 * What the MCP SDK's docs leave to the user: an OAuthTokenVerifier for JWTs, written the way a
 * careful user would with jose (one remote key set built once, issuer/audience/alg pinned,
 * `exp` required, key-server trouble kept apart from bad tokens).
 */
async function joseSdkVerifier({ issuer, audience, jwksUri }) {
  const { createRemoteJWKSet, jwtVerify, errors } = await import('jose');
  const { InvalidTokenError, ServerError } = await import('@modelcontextprotocol/sdk/server/auth/errors.js');
  const keys = createRemoteJWKSet(new URL(jwksUri));
  return {
    async verifyAccessToken(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, keys, { issuer, audience, algorithms: ['RS256'], requiredClaims: ['exp'] }));
      } catch (error) {
        if (error instanceof errors.JWKSTimeout || (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC')) {
          throw new ServerError('signing keys are unavailable');
        }
        throw new InvalidTokenError('invalid access token');
      }
      const clientId = payload.client_id ?? payload.azp ?? payload.sub;
      if (typeof clientId !== 'string') throw new InvalidTokenError('access token names no client');
      return {
        token,
        clientId,
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
        expiresAt: payload.exp,
        extra: { sub: payload.sub },
      };
    },
  };
}

/** Builds the app for configuration `id` (see CONFIGURATIONS in run.mjs). */
async function buildApp({ id, bundle, audience, sources, target, staticKey }) {
  const app = express();
  const t = sources[target];
  const multiAuthBody = (req, res) => res.json({ ok: true, client: req.auth.clientId, source: req.auth.source });

  if (id === 1) {
    app.get('/api', (_req, res) => res.json({ ok: true }));
    return app;
  }
  if (id === 8) {
    app.use((_req, _res, next) => next());
    app.get('/api', (_req, res) => res.json({ ok: true }));
    return app;
  }
  if (id === 9) {
    // What multiAuth's cache hit hands the handler, with no token looked at.
    app.use((req, _res, next) => {
      req.auth = { token: '', clientId: CLIENT_ID, scopes: [], source: target, extra: { source: target } };
      next();
    });
    app.get('/api', multiAuthBody);
    return app;
  }
  if (id === 10) {
    // The least any cache hit keyed by the token's SHA-256 can do: the token from the header
    // (no RFC 6750 checks at all), the hash, one Map lookup, a fresh req.auth. It verifies
    // nothing (the first sight of a token fills the Map): a floor to measure against, not an
    // authenticator.
    const { createHash, hash } = require('node:crypto');
    const sha256 = typeof hash === 'function' ? (value) => hash('sha256', value, 'base64') : (value) => createHash('sha256').update(value).digest('base64');
    const seen = new Map();
    app.use((req, _res, next) => {
      const token = req.headers.authorization.slice('Bearer '.length);
      const key = sha256(token);
      let entry = seen.get(key);
      if (entry === undefined) {
        entry = Object.freeze({ clientId: CLIENT_ID, scopes: Object.freeze([]), source: target, extra: Object.freeze({ source: target }) });
        seen.set(key, entry);
      }
      req.auth = { ...entry, token, scopes: [...entry.scopes], extra: { ...entry.extra } };
      next();
    });
    app.get('/api', multiAuthBody);
    return app;
  }
  if (id === 2) {
    const { auth } = require('express-oauth2-jwt-bearer');
    app.use(auth({ issuer: t.issuer, audience, jwksUri: t.jwksUri }));
    app.get('/api', (req, res) => res.json({ ok: true, client: req.auth.payload.client_id }));
    return app;
  }
  if (id === 11) {
    const { auth } = require('express-oauth2-jwt-bearer');
    app.use(auth({ issuer: t.issuer, audience, jwksUri: t.jwksUri, dpop: { enabled: true, required: true } }));
    app.get('/api', (req, res) => res.json({ ok: true, client: req.auth.payload.client_id }));
    return app;
  }
  if (id === 13) {
    // mTLS (RFC 8705): the certificate of the TLS connection, handed over by getCertificate as
    // its DER, read the way multiAuth reads it (getPeerX509Certificate, the cheaper call), so the
    // two sides differ in what they verify, not in how they read the certificate.
    const { auth } = require('express-oauth2-jwt-bearer');
    app.use(
      auth({
        issuer: t.issuer,
        audience,
        jwksUri: t.jwksUri,
        mtls: { enabled: true, required: true },
        getCertificate: (req) => req.socket.getPeerX509Certificate()?.raw,
      }),
    );
    app.get('/api', (req, res) => res.json({ ok: true, client: req.auth.payload.client_id }));
    return app;
  }
  if (id === 3) {
    const { requireBearerAuth } = await import('@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js');
    app.use(requireBearerAuth({ verifier: await joseSdkVerifier({ issuer: t.issuer, audience, jwksUri: t.jwksUri }) }));
    app.get('/api', (req, res) => res.json({ ok: true, client: req.auth.clientId }));
    return app;
  }

  const { multiAuth, jwtVerifier, staticTokenVerifier } = require(bundle);
  // BENCH_MOUNT=bearer mounts the bearer middleware alone (no nested router), to measure the router's share.
  const mount = (auth) => (process.env.BENCH_MOUNT === 'bearer' ? app.use(auth.routes, auth.bearer) : app.use(auth));
  const jwt = (name) => jwtVerifier({ name, issuer: sources[name].issuer, audience, jwksUri: sources[name].jwksUri });
  if (id === 4 || id === 5) {
    mount(multiAuth({ verifiers: [jwt(target)], ...(id === 4 ? { cache: false } : {}) }));
    app.get('/api', multiAuthBody);
    return app;
  }
  if (id === 12) {
    // The public origin proofs name comes from configuration; here the loopback port the bench
    // listens on. One client key sends every proof of the run, so the replay memory is sized
    // for it (docs/dpop.md: peak proofs per second x (maxProofAgeSeconds + 1)).
    const dpop = {
      required: true,
      url: (req) => `http://127.0.0.1:${req.socket.localPort}${req.url.split('?')[0]}`,
      maxReplayEntries: 2_000_000,
      maxReplayEntriesPerKey: 2_000_000,
    };
    mount(multiAuth({ verifiers: [jwt(target)], dpop }));
    app.get('/api', multiAuthBody);
    return app;
  }
  if (id === 14) {
    mount(multiAuth({ verifiers: [jwt(target)], mtls: { required: true } }));
    app.get('/api', multiAuthBody);
    return app;
  }
  if (id === 6 || id === 7) {
    // Any object with verifyAccessToken and routes() is a primary; this one owns no routes.
    const primaryJwt = jwt('primary');
    const primary = {
      name: 'primary',
      verifyAccessToken: (token, context) => primaryJwt.verifyAccessToken(token, context),
      routes: () => (_req, _res, next) => next(),
    };
    const others = Object.keys(sources).filter((name) => name !== 'primary');
    mount(
      multiAuth({
        primary,
        verifiers: [
          ...others.map(jwt),
          staticTokenVerifier({ name: 'static', tokens: { [staticKey]: { clientId: 'ci', scopes: ['mcp:read'] } } }),
        ],
        cache: false,
      }),
    );
    app.get('/api', multiAuthBody);
    return app;
  }
  throw new Error(`no configuration ${id}`);
}

let server;
let cpuMark;

serve({
  async start(setup) {
    const app = await buildApp(setup);
    // mTLS configurations: HTTPS asking every client for a certificate, verified by nobody
    // (RFC 8705 §2.2: the binding, not a CA, says whose it is).
    const { tls } = setup;
    server = tls ? createServer({ cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: false }, app) : undefined;
    await new Promise((resolve, reject) => {
      if (server) server.listen(0, '127.0.0.1', resolve).once('error', reject);
      else server = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve()));
    });
    return { port: server.address().port };
  },
  /** Start of the measured window: CPU time is counted from here. */
  mark() {
    cpuMark = cpuUsage();
  },
  stats() {
    const used = cpuUsage(cpuMark);
    return { cpuUserUs: used.user, cpuSystemUs: used.system, rss: memoryUsage().rss };
  },
  stop: () =>
    new Promise((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
});
