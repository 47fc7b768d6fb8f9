// Attack class: a thief holds a sender-constrained token (a DPoP-bound token from a real
// oidc-provider, or one a source reports as certificate-bound) and none of its keys, and sends it
// as a Bearer token, to every kind of source and whatever the router's `dpop` setting.
// The promise (SECURITY.md "How it was attacked"): a token whose accepting source reports `cnf`
// is never accepted as Bearer; `cnf.jkt` needs a proof by that key; `cnf["x5t#S256"]` needs the
// certificate; an introspection answer `token_type: DPoP` is bound even without `cnf`.
import { createServer, type Server } from 'node:http';
import express from 'express';
import { auth as jwtBearer } from 'express-oauth2-jwt-bearer';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { multiAuth, type MultiAuth } from '../../lib/chain/multi-auth';
import type { MultiAuthOptions } from '../../lib/chain/config';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { middlewareVerifier } from '../../lib/sources/middleware-verifier';
import { getAuth } from '../../lib/http/request-auth';
import type { Decision, TokenVerifier } from '../../lib/core/types';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { makeProof, proofKey, type ProofKey } from '../support/dpop';

const RESOURCE = 'http://127.0.0.1/mcp';

interface Running {
  origin: string;
  server: Server;
  auth: MultiAuth;
  decisions: Decision[];
}

let issuer: Issuer;
let ownerKey: ProofKey;
/** The owner's DPoP-bound JWT (cnf.jkt = ownerKey's thumbprint), issued by oidc-provider. */
let boundJwt: string;
/** The owner's DPoP-bound opaque token: introspection answers `cnf.jkt` and `token_type: DPoP`. */
let boundOpaque: string;
const running: Running[] = [];

/** `options(origin)` in front of `/echo`, on a loopback port: the origin is known before the router is built. */
async function start(options: (origin: string) => MultiAuthOptions): Promise<Running> {
  const decisions: Decision[] = [];
  const app = express();
  const server = createServer(app);
  const origin = await listenOnLoopback(server);
  const auth = multiAuth({ onDecision: (d) => decisions.push(d), ...options(origin) });
  app.use(auth);
  app.get('/echo', (req, res) => {
    const info = getAuth(req);
    res.json({ source: info?.source, dpop: info?.dpop });
  });
  const r = { origin, server, auth, decisions };
  running.push(r);
  return r;
}

async function asBearer(r: Running, token: string): Promise<number> {
  return (await fetch(`${r.origin}/echo`, { headers: { authorization: `Bearer ${token}` } })).status;
}

async function asDpop(r: Running, key: ProofKey, token: string): Promise<number> {
  const proof = await makeProof(key, { htm: 'GET', htu: `${r.origin}/echo`, token });
  return (await fetch(`${r.origin}/echo`, { headers: { authorization: `DPoP ${token}`, dpop: proof } })).status;
}

/** A custom verifier that checks the JWT with jose against the issuer's keys and reports what `report` makes of its claims. */
function customVerifier(name: string, report: (claims: Record<string, unknown>) => Record<string, unknown>): TokenVerifier {
  const keys = createRemoteJWKSet(new URL(issuer.jwksUri));
  return {
    name,
    async verifyAccessToken(token) {
      const { payload } = await jwtVerify(token, keys, { issuer: issuer.issuer, audience: RESOURCE }).catch(() => ({ payload: undefined }));
      if (!payload) return undefined;
      return { token, clientId: String(payload.client_id), scopes: String(payload.scope ?? '').split(' '), expiresAt: payload.exp, ...report(payload) };
    },
  };
}

/** express-oauth2-jwt-bearer's `auth()` as README's recipe wraps it. */
function auth0(): TokenVerifier {
  return middlewareVerifier({
    name: 'auth0',
    middleware: jwtBearer({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: RESOURCE }),
    cacheable: true,
  });
}

beforeAll(async () => {
  issuer = await startIssuer();
  ownerKey = await proofKey('ES256');
  const dpop = await makeProof(ownerKey, { htm: 'POST', htu: issuer.tokenEndpoint, ath: null });
  boundJwt = (await issuer.tokenResponse({ resource: RESOURCE, scope: 'mcp:read', dpop })).access_token;
  const dpop2 = await makeProof(ownerKey, { htm: 'POST', htu: issuer.tokenEndpoint, ath: null });
  boundOpaque = await issuer.opaqueToken({ scope: 'mcp:read', dpop: dpop2 });
});
afterAll(async () => {
  await Promise.all(running.map((r) => closeServer(r.server)));
  await issuer?.stop();
});

describe('a DPoP-bound token sent as Bearer to a router without dpop is refused (401), whatever source accepts it', () => {
  it('through middlewareVerifier(express-oauth2-jwt-bearer auth()), README\'s recipe', async () => {
    const r = await start(() => ({ verifiers: [auth0()] }));
    expect(await asBearer(r, boundJwt)).toBe(401);
  });

  it('through a custom verifier that reports cnf in payload', async () => {
    const r = await start(() => ({ verifiers: [customVerifier('custom', (claims) => ({ payload: claims }))] }));
    expect(await asBearer(r, boundJwt)).toBe(401);
  });

  it('through a custom verifier that reports cnf in extra', async () => {
    const r = await start(() => ({ verifiers: [customVerifier('custom', (claims) => ({ extra: { cnf: claims.cnf } }))] }));
    expect(await asBearer(r, boundJwt)).toBe(401);
  });

  it('through auth.verify(), which has no request to carry a proof', async () => {
    const r = await start(() => ({ verifiers: [customVerifier('custom', (claims) => ({ payload: claims }))] }));
    await expect(r.auth.verify(boundJwt)).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('through introspection of the opaque bound token', async () => {
    const r = await start(() => ({ verifiers: [introspectionVerifier(introspectionOptionsFor(issuer))] }));
    expect(await asBearer(r, boundOpaque)).toBe(401);
  });
});

describe('a certificate-bound token (cnf["x5t#S256"]) is refused by a router that cannot check certificates', () => {
  const x5t = (claims: Record<string, unknown>) => ({ payload: { ...claims, cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } } });

  it('as Bearer, without dpop', async () => {
    const r = await start(() => ({ verifiers: [customVerifier('custom', x5t)] }));
    expect(await asBearer(r, boundJwt)).toBe(401);
  });

  it('as Bearer, with dpop', async () => {
    const r = await start((origin) => ({ verifiers: [customVerifier('custom', x5t)], dpop: { url: origin } }));
    expect(await asBearer(r, boundJwt)).toBe(401);
  });

  it('with a valid DPoP proof when it is bound to a key and a certificate: both are needed', async () => {
    const both = (claims: Record<string, unknown>) => ({ payload: { ...claims, cnf: { jkt: ownerKey.jkt, 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } } });
    const r = await start((origin) => ({ verifiers: [customVerifier('custom', both)], dpop: { url: origin } }));
    expect(await asDpop(r, ownerKey, boundJwt)).toBe(401);
  });
});

describe('an introspection answer token_type "DPoP" without cnf is a bound token', () => {
  let endpoint: Server;
  let endpointUrl: string;
  beforeAll(async () => {
    // oidc-provider always adds cnf to a bound token's answer: an authorization server that
    // reports only token_type is played by a loopback RFC 7662 endpoint.
    endpoint = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        active: true, token_type: 'DPoP', client_id: 'c', scope: 'mcp:read', aud: RESOURCE, exp: Math.floor(Date.now() / 1000) + 600,
      }));
    });
    endpointUrl = `${await listenOnLoopback(endpoint)}/introspect`;
  });
  afterAll(() => closeServer(endpoint));

  const source = () => introspectionVerifier({ endpoint: endpointUrl, clientId: 'rs', clientSecret: 'rs-secret', audience: RESOURCE });

  it('is refused as Bearer by a router with dpop', async () => {
    const r = await start((origin) => ({ verifiers: [source()], dpop: { url: origin } }));
    expect(await asBearer(r, 'opaque-token-of-the-owner')).toBe(401);
  });

  it('is refused with any DPoP proof: nothing names the owner\'s key', async () => {
    const r = await start((origin) => ({ verifiers: [source()], dpop: { url: origin } }));
    expect(await asDpop(r, await proofKey('ES256'), 'opaque-token-of-the-owner')).toBe(401);
  });
});

describe('what stays accepted', () => {
  it('the owner\'s DPoP use of the bound token, through every kind of source, with dpop on', async () => {
    for (const verifier of [auth0(), customVerifier('custom', (claims) => ({ payload: claims })), introspectionVerifier(introspectionOptionsFor(issuer))]) {
      const r = await start((origin) => ({ verifiers: [verifier], dpop: { url: origin } }));
      const token = verifier.name === 'corp-as' ? boundOpaque : boundJwt;
      expect([verifier.name, await asDpop(r, ownerKey, token)]).toEqual([verifier.name, 200]);
    }
  });

  it('an unbound token as Bearer through the same custom verifier', async () => {
    const r = await start(() => ({ verifiers: [customVerifier('custom', (claims) => ({ payload: claims }))] }));
    const plain = await issuer.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:read' });
    expect(await asBearer(r, plain)).toBe(200);
  });
});
