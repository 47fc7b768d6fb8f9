/**
 * No input, however deep, big or malformed, makes an entry point (the bearer middleware,
 * auth.verify(), any source's verifyAccessToken) throw anything but the documented errors:
 * JSON nested beyond reason or tokens of megabytes are rejections, answered 401.
 */
import http from 'node:http';
import { CompactSign, generateKeyPair, exportJWK, type CryptoKey, type JWK } from 'jose';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { freezeDeep, nestingDepth } from '../../lib/core/claims';
import { MAX_JSON_DEPTH, MAX_JWT_LENGTH } from '../../lib/core/token-inspection';
import { inspectToken } from '../../lib/core/token-inspection';
import type { TokenVerifier } from '../../lib/core/types';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { middlewareVerifier, type AuthMiddleware } from '../../lib/sources/middleware-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { appWith } from '../support/app';
import { closeServer, listenOnLoopback } from '../support/loopback';

// The real express-oauth2-jwt-bearer, without its global `req.auth` declaration (see
// middleware-verifier.test.ts for why).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { auth: jwtBearer } = require('express-oauth2-jwt-bearer') as { auth: (options: Record<string, unknown>) => AuthMiddleware };

const ISSUER = 'https://issuer.hostile.test';
const AUDIENCE = 'https://mcp.hostile.test/mcp';
const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

let privateKey: CryptoKey;
let publicJwk: JWK;
let introspection: http.Server;
let introspectionUrl: string;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  publicJwk = await exportJWK(pair.publicKey);
  // Answers every token "not active", as a real endpoint answers one it did not issue.
  introspection = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"active":false}');
    });
  });
  introspectionUrl = `${await listenOnLoopback(introspection)}/introspect`;
});

afterAll(() => closeServer(introspection));

/**
 * A token signed with the trusted key whose payload carries `claim` as raw JSON text: built by
 * hand, because JSON.stringify itself overflows the stack on the structures under test.
 */
function signedWithClaim(claimJson: string): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + 600;
  const payload = `{"iss":${JSON.stringify(ISSUER)},"aud":${JSON.stringify(AUDIENCE)},"exp":${exp},"client_id":"svc","x":${claimJson}}`;
  return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
}

const deepArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const deepObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

/** A primary with its default verifier (jwtVerifier through discovery): refused before any fetch. */
const primary = () => remoteAuthServer({ name: 'primary', issuer: ISSUER, resource: AUDIENCE });

function sources(): TokenVerifier[] {
  return [
    jwtVerifier({ name: 'jwt', issuer: ISSUER, audience: AUDIENCE, publicKey: publicJwk }),
    staticTokenVerifier({ name: 'static', tokens: { 'a-static-key-long-enough': { clientId: 'ci', scopes: [] } } }),
    introspectionVerifier({ name: 'introspection', endpoint: introspectionUrl, clientId: 'rs', clientSecret: 'rs-secret', audience: AUDIENCE }),
    middlewareVerifier({ name: 'auth0', middleware: jwtBearer({ issuer: ISSUER, audience: AUDIENCE, secret: SECRET, tokenSigningAlg: 'HS256' }) }),
  ];
}

/** What a source did with `token`: `'refused'` for a documented refusal, else what escaped. */
async function sourceOutcome(source: TokenVerifier, token: string, withContext: boolean): Promise<string> {
  try {
    const context = withContext ? { signal: AbortSignal.timeout(10_000), token: inspectToken(token) } : undefined;
    const info = await source.verifyAccessToken(token, context);
    return info ? 'accepted' : 'refused';
  } catch (error) {
    return (error as { code?: unknown }).code === 'invalid_token' ? 'refused' : `threw ${(error as Error).name}: ${(error as Error).message}`;
  }
}

const hostile: Array<[string, () => Promise<string>]> = [
  ['an array nested 20,000 levels', () => signedWithClaim(deepArray(20_000))],
  ['an object nested 20,000 levels', () => signedWithClaim(deepObject(20_000))],
  ['an array nested one level too deep', () => signedWithClaim(deepArray(MAX_JSON_DEPTH))],
  ['a 2 MB claim', () => signedWithClaim(JSON.stringify('x'.repeat(2_000_000)))],
];

describe.each(hostile)('a correctly signed token carrying %s', (_what, make) => {
  let token: string;
  beforeAll(async () => {
    token = await make();
  });

  it("is refused by every source's verifyAccessToken (the primary's too), with or without the chain's context", async () => {
    for (const source of [primary(), ...sources()]) {
      for (const withContext of [true, false]) {
        expect([source.name, withContext, await sourceOutcome(source, token, withContext)]).toEqual([source.name, withContext, 'refused']);
      }
    }
  });

  it('is refused by auth.verify() with a 401 rejection', async () => {
    const auth = multiAuth({ primary: primary(), verifiers: sources(), maxTokenLength: 4_000_000 });
    await expect(auth.verify(token)).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
  });

  it('is answered 401 by the bearer middleware', async () => {
    const app = appWith(multiAuth({ primary: primary(), verifiers: sources(), maxTokenLength: 4_000_000 }));
    // Through supertest's in-process server, whose header limit is raised for the big one.
    const server = http.createServer({ maxHeaderSize: 8_000_000 }, app);
    const res = await request(server).get('/echo').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });
});

describe('the limits themselves', () => {
  it('accept a claim set nested exactly MAX_JSON_DEPTH levels', async () => {
    // The payload object is level 1, so its claim may nest MAX_JSON_DEPTH - 1 levels.
    const token = await signedWithClaim(deepArray(MAX_JSON_DEPTH - 1));
    const verifier = jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, publicKey: publicJwk });
    await expect(verifier.verifyAccessToken(token)).resolves.toMatchObject({ clientId: 'svc' });
  });

  it('accept a token of exactly MAX_JWT_LENGTH characters', async () => {
    const base = await signedWithClaim('""');
    // Each padding character in the claim adds 4/3 of a base64url character: find the length that lands exactly.
    let pad = Math.floor(((MAX_JWT_LENGTH - base.length) * 3) / 4);
    let token = await signedWithClaim(JSON.stringify('x'.repeat(pad)));
    while (token.length > MAX_JWT_LENGTH) token = await signedWithClaim(JSON.stringify('x'.repeat(--pad)));
    const verifier = jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, publicKey: publicJwk });
    expect(token.length).toBeLessThanOrEqual(MAX_JWT_LENGTH);
    expect(token.length).toBeGreaterThan(MAX_JWT_LENGTH - 4);
    await expect(verifier.verifyAccessToken(token)).resolves.toMatchObject({ clientId: 'svc' });
  });

  it('freezeDeep and nestingDepth walk 100,000 levels without overflowing the stack', () => {
    const deep = JSON.parse(deepArray(100_000)) as unknown[];
    expect(() => freezeDeep(deep)).not.toThrow();
    let inner: unknown = deep;
    for (let i = 0; i < 99_999; i++) inner = (inner as unknown[])[0];
    expect(Object.isFrozen(inner)).toBe(true);
    expect(nestingDepth(deep, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
    expect(nestingDepth(JSON.parse(deepArray(7)), MAX_JSON_DEPTH)).toBe(7);
  });
});
