import { generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { InvalidTokenError, MultiAuthConfigError, TemporarilyUnavailableError } from '../../lib/core/errors';
import { discoverAuthorizationServer, discoveryUrls } from '../../lib/transport/issuer-discovery';
import { jwtVerifier, type JwtVerifierOptions } from '../../lib/sources/jwt-verifier';
import { inspectToken } from '../../lib/core/token-inspection';
import type { MultiAuthInfo, TokenVerifier } from '../../lib/core/types';
import { AUDIENCE, createSigningKey, hmacToken, KeyServer, unsecuredToken, type KeyServerMode } from '../support/key-server';

type Outcome =
  | { outcome: 'accepted'; info: MultiAuthInfo }
  | { outcome: 'rejected'; error?: unknown }
  | { outcome: 'failed'; error: TemporarilyUnavailableError }
  | { outcome: 'errored'; error: unknown };

/** Calls the verifier the way the chain does, and names the outcome as the chain would. */
async function verify(verifier: TokenVerifier, token: string, signal = AbortSignal.timeout(10_000)): Promise<Outcome> {
  try {
    const info = await verifier.verifyAccessToken(token, { signal, token: inspectToken(token) });
    return info ? { outcome: 'accepted', info: info as MultiAuthInfo } : { outcome: 'rejected' };
  } catch (error) {
    if (error instanceof InvalidTokenError) return { outcome: 'rejected', error };
    if (error instanceof TemporarilyUnavailableError && error.code === 'temporarily_unavailable') return { outcome: 'failed', error };
    return { outcome: 'errored', error };
  }
}

async function outcomeOf(verifier: TokenVerifier, token: string): Promise<Outcome['outcome']> {
  return (await verify(verifier, token)).outcome;
}

async function accepted(verifier: TokenVerifier, token: string): Promise<MultiAuthInfo> {
  const result = await verify(verifier, token);
  if (result.outcome !== 'accepted') throw new Error(`expected acceptance, got ${result.outcome}: ${String((result as { error?: unknown }).error)}`);
  return result.info;
}

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: KeyServer;
let other: KeyServer;

beforeAll(async () => {
  [server, other] = await Promise.all([KeyServer.start(), KeyServer.start()]);
});

afterAll(async () => {
  await Promise.all([server.close(), other.close()]);
});

beforeEach(() => {
  server.restore();
  server.resetCounts();
  other.resetCounts();
});

function viaJwks(options: Partial<JwtVerifierOptions> = {}) {
  return jwtVerifier({
    issuer: server.issuer(),
    audience: AUDIENCE,
    jwksUri: server.jwksUri,
    jwks: { timeoutMs: 500, failureBackoffMs: 0 },
    ...options,
  });
}

describe('jwtVerifier: accepted tokens', () => {
  it('accepts an RS256 token and reports what it carries', async () => {
    const token = await server.mint();
    const info = await accepted(viaJwks({ name: 'internal' }), token);
    expect(info).toMatchObject({
      token,
      clientId: 'client-1',
      scopes: ['mcp:read', 'mcp:write'],
      subject: 'user-1',
      source: 'internal',
      extra: { source: 'internal' },
    });
    expect(info.expiresAt).toBeGreaterThan(now());
    expect(info.payload).toMatchObject({ iss: server.issuer(), aud: AUDIENCE, sub: 'user-1' });
    expect(info.header).toMatchObject({ alg: 'RS256', kid: server.key('RS256').kid });
  });

  it('accepts an ES256 token', async () => {
    const info = await accepted(viaJwks(), await server.mint({}, { alg: 'ES256' }));
    expect(info.header?.alg).toBe('ES256');
  });

  it("is named 'jwt' by default", async () => {
    const verifier = viaJwks();
    expect(verifier.name).toBe('jwt');
    expect((await accepted(verifier, await server.mint())).source).toBe('jwt');
  });

  it('works when called without a context, as a user calling it directly would', async () => {
    const info = await viaJwks().verifyAccessToken(await server.mint());
    expect(info?.clientId).toBe('client-1');
  });

  it('fetches the key set once and reuses it', async () => {
    const verifier = viaJwks();
    await accepted(verifier, await server.mint());
    await accepted(verifier, await server.mint({}, { alg: 'ES256' }));
    await accepted(verifier, await server.mint({ sub: 'user-2' }));
    expect(server.requests(server.jwksPath)).toBe(1);
  });

  it('takes clientId from client_id, then azp, then sub', async () => {
    const verifier = viaJwks();
    expect((await accepted(verifier, await server.mint({ azp: 'azp-1' }))).clientId).toBe('client-1');
    expect((await accepted(verifier, await server.mint({ client_id: undefined, azp: 'azp-1' }))).clientId).toBe('azp-1');
    expect((await accepted(verifier, await server.mint({ client_id: undefined }))).clientId).toBe('user-1');
  });

  it('takes scopes from scope, else from scp as a string or an array, else none', async () => {
    const verifier = viaJwks();
    expect((await accepted(verifier, await server.mint({ scope: undefined, scp: 'a b' }))).scopes).toEqual(['a', 'b']);
    expect((await accepted(verifier, await server.mint({ scope: undefined, scp: ['c', 'd'] }))).scopes).toEqual(['c', 'd']);
    expect((await accepted(verifier, await server.mint({ scope: undefined }))).scopes).toEqual([]);
  });

  it('sets resource to the matching audience when that audience is a URL', async () => {
    const verifier = viaJwks({ audience: ['plain-api-id', AUDIENCE] });
    const fromArray = await accepted(verifier, await server.mint({ aud: ['https://elsewhere.test', AUDIENCE] }));
    expect(fromArray.resource).toBeInstanceOf(URL);
    expect(fromArray.resource?.href).toBe(AUDIENCE);
    expect((await accepted(verifier, await server.mint({ aud: 'plain-api-id' }))).resource).toBeUndefined();
  });

  it('accepts a token expired by less than the clock tolerance', async () => {
    expect(await outcomeOf(viaJwks({ clockTolerance: 30 }), await server.mint({ exp: now() - 10 }))).toBe('accepted');
  });

  it('leaves required scopes to multiAuth: a token with no scope is still accepted', async () => {
    expect(await outcomeOf(viaJwks(), await server.mint({ scope: undefined }))).toBe('accepted');
  });
});

describe('jwtVerifier: always refused', () => {
  it('refuses alg "none", with or without a kid', async () => {
    const verifier = viaJwks();
    expect(await outcomeOf(verifier, unsecuredToken(server.claims()))).toBe('rejected');
    expect(await outcomeOf(verifier, unsecuredToken(server.claims(), { kid: server.key('RS256').kid }))).toBe('rejected');
  });

  it('refuses an algorithm outside the allow-list', async () => {
    expect(await outcomeOf(viaJwks({ algorithms: ['ES256'] }), await server.mint())).toBe('rejected');
  });

  it('refuses HS256 tokens MACed with the public key (PEM or JWK text) when the key is asymmetric', async () => {
    const rsa = server.key('RS256');
    const forgeries = [
      hmacToken(server.claims(), rsa.publicPem, { kid: rsa.kid }),
      hmacToken(server.claims(), JSON.stringify(rsa.publicJwk), { kid: rsa.kid }),
    ];
    for (const verifier of [viaJwks(), jwtVerifier({ issuer: server.issuer(), audience: AUDIENCE, publicKey: rsa.publicPem })]) {
      for (const token of forgeries) expect(await outcomeOf(verifier, token)).toBe('rejected');
    }
  });

  it('refuses an asymmetric token when the key is a shared secret', async () => {
    const verifier = jwtVerifier({ issuer: server.issuer(), audience: AUDIENCE, secret: randomBytes(32) });
    expect(await outcomeOf(verifier, await server.mint())).toBe('rejected');
  });

  it('refuses a token without exp', async () => {
    expect(await outcomeOf(viaJwks(), await server.mint({ exp: undefined }))).toBe('rejected');
  });

  it('refuses a token expired beyond the clock tolerance', async () => {
    expect(await outcomeOf(viaJwks(), await server.mint({ exp: now() - 60 }))).toBe('rejected');
  });

  it('refuses a token not yet valid beyond the clock tolerance', async () => {
    expect(await outcomeOf(viaJwks(), await server.mint({ nbf: now() + 120 }))).toBe('rejected');
  });

  it('refuses a wrong or missing audience', async () => {
    const verifier = viaJwks();
    expect(await outcomeOf(verifier, await server.mint({ aud: 'https://another-service.test' }))).toBe('rejected');
    expect(await outcomeOf(verifier, await server.mint({ aud: undefined }))).toBe('rejected');
  });

  it('refuses a wrong or missing issuer', async () => {
    const verifier = viaJwks();
    expect(await outcomeOf(verifier, await server.mint({ iss: 'https://evil.test' }))).toBe('rejected');
    expect(await outcomeOf(verifier, await server.mint({ iss: undefined }))).toBe('rejected');
  });

  it('refuses a bad signature: a tampered payload, or a key that merely borrows a published kid', async () => {
    const verifier = viaJwks();
    const [header, , signature] = (await server.mint()).split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify(server.claims({ sub: 'admin' }))).toString('base64url')}.${signature}`;
    expect(await outcomeOf(verifier, tampered)).toBe('rejected');
    const impostor = await createSigningKey('RS256', server.key('RS256').kid);
    expect(await outcomeOf(verifier, await server.mint({}, { key: impostor }))).toBe('rejected');
  });

  it('refuses a kid that stays unknown after one refresh, and refreshes at most once per cooldown', async () => {
    const verifier = viaJwks({ jwks: { cooldownMs: 1000, failureBackoffMs: 0 } });
    await accepted(verifier, await server.mint());
    expect(server.requests(server.jwksPath)).toBe(1);
    await sleep(1050);
    const stranger = await createSigningKey('RS256');
    const unknown = await server.mint({}, { key: stranger });
    expect(await outcomeOf(verifier, unknown)).toBe('rejected');
    expect(server.requests(server.jwksPath)).toBe(2);
    for (let i = 0; i < 5; i++) {
      const another = await server.mint({}, { key: stranger, kid: `random-${i}` });
      expect(await outcomeOf(verifier, another)).toBe('rejected');
    }
    expect(server.requests(server.jwksPath)).toBe(2);
  });

  it('never fetches or uses keys named by the token (jku, x5u, jwk, x5c)', async () => {
    const attacker = await other.addKey('RS256');
    const verifier = viaJwks({ jwks: { cooldownMs: 0, failureBackoffMs: 0 } });
    const headers = [
      { jku: other.jwksUri },
      { x5u: `${other.origin}/cert.pem` },
      { jwk: attacker.publicJwk },
      { x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] },
    ];
    for (const header of headers) {
      const token = await server.mint({}, { key: attacker, header });
      expect(await outcomeOf(verifier, token)).toBe('rejected');
    }
    expect(other.requests()).toBe(0);
  });
});

describe('jwtVerifier: what is checked is what is signed', () => {
  const segmentOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('ignores a context whose decoded parts were not decoded from the token by this package', async () => {
    const verifier = viaJwks();
    const valid = await server.mint();
    const expired = await server.mint({ exp: now() - 3600 });
    const [header, , signature] = valid.split('.');
    const widened = `${header}.${segmentOf(server.claims({ scope: 'admin' }))}.${signature}`;
    // A context claiming the parts of the valid token, for a token that is expired or tampered.
    const forged = (raw: string) => ({ raw, digest: Buffer.alloc(32), digestKey: '', identityKey: '', jwt: inspectToken(valid).jwt });
    for (const raw of [expired, widened]) {
      await expect(verifier.verifyAccessToken(raw, { signal: AbortSignal.timeout(5000), token: forged(raw) })).rejects.toBeInstanceOf(
        InvalidTokenError,
      );
    }
    expect((await accepted(verifier, valid)).clientId).toBe('client-1');
  });

  it("gives each acceptance its own payload and header, while the chain's decoded parts stay frozen", async () => {
    const verifier = viaJwks();
    const token = await server.mint();
    const inspected = inspectToken(token);
    const scope = inspected.jwt?.payload.scope;
    const info = (await verifier.verifyAccessToken(token, { signal: AbortSignal.timeout(5000), token: inspected })) as MultiAuthInfo;
    info.payload!.scope = 'admin';
    info.header!.alg = 'none';
    expect(inspected.jwt?.payload.scope).toBe(scope);
    expect(inspected.jwt?.header.alg).toBe('RS256');
    expect(Object.isFrozen(inspected.jwt?.payload)).toBe(true);
  });

  /** An RS256 JWT made with node:crypto, so that it can carry what jose refuses to sign. */
  const rs256 = (header: Record<string, unknown>, payload: Buffer | Record<string, unknown>, key: KeyObject) => {
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
    const input = `${segmentOf({ alg: 'RS256', ...header })}.${body.toString('base64url')}`;
    return `${input}.${cryptoSign('sha256', Buffer.from(input), key).toString('base64url')}`;
  };

  it('refuses a token signed with an RSA key shorter than 2048 bits, even when the key set publishes it', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    server.serveJson('/weak-jwks.json', { keys: [{ ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256', use: 'sig' }] });
    const verifier = viaJwks({ jwksUri: `${server.origin}/weak-jwks.json` });
    const result = await verify(verifier, rs256({ kid: 'weak' }, server.claims(), weak.privateKey));
    expect(result.outcome).toBe('rejected');
    expect(String((result as { error?: unknown }).error)).toMatch(/2048/);
  });

  it('refuses a header naming extensions in crit, and a payload that is not UTF-8, though correctly signed', async () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    server.serveJson('/own-jwks.json', { keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid: 'own', alg: 'RS256', use: 'sig' }] });
    const verifier = viaJwks({ jwksUri: `${server.origin}/own-jwks.json` });
    expect(await outcomeOf(verifier, rs256({ kid: 'own' }, server.claims(), key.privateKey))).toBe('accepted');
    expect(await outcomeOf(verifier, rs256({ kid: 'own', crit: ['urn:example:ext'], 'urn:example:ext': 1 }, server.claims(), key.privateKey))).toBe('rejected');
    const json = JSON.stringify(server.claims());
    const notUtf8 = Buffer.concat([Buffer.from(`${json.slice(0, -1)},"note":"`), Buffer.from([0xff]), Buffer.from('"}')]);
    expect(await outcomeOf(verifier, rs256({ kid: 'own' }, notUtf8, key.privateKey))).toBe('rejected');
  });
});

describe('jwtVerifier: refusals that cost nothing', () => {
  const discovering = () =>
    jwtVerifier({ issuer: server.issuer(), audience: AUDIENCE, jwks: { timeoutMs: 500, failureBackoffMs: 0 } });

  it('refuses a flood of tokens naming other issuers without reaching the network', async () => {
    const attacker = await createSigningKey('RS256');
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => server.mint({ iss: `https://issuer-${i}.test` }, { key: attacker })),
    );
    for (const verifier of [viaJwks(), discovering()]) {
      const outcomes = await Promise.all(tokens.map((token) => outcomeOf(verifier, token)));
      expect(new Set(outcomes)).toEqual(new Set(['rejected']));
    }
    expect(server.requests()).toBe(0);
  });

  it('refuses opaque tokens without reaching the network', async () => {
    for (const verifier of [viaJwks(), discovering()]) {
      for (const token of ['opaque-api-key', 'a.b.c', `${randomBytes(24).toString('base64url')}`, '']) {
        expect(await outcomeOf(verifier, token)).toBe('rejected');
      }
    }
    expect(server.requests()).toBe(0);
  });

  it('refuses a disallowed alg, a missing exp or an expired token from the right issuer without reaching the network', async () => {
    const tokens = [
      hmacToken(server.claims(), 'x'.repeat(32)),
      unsecuredToken(server.claims()),
      await server.mint({ exp: undefined }),
      await server.mint({ exp: now() - 3600 }),
      await server.mint({ aud: 'https://another-service.test' }),
    ];
    for (const verifier of [viaJwks(), discovering()]) {
      for (const token of tokens) expect(await outcomeOf(verifier, token)).toBe('rejected');
    }
    expect(server.requests()).toBe(0);
  });
});

describe('jwtVerifier: key rotation', () => {
  it('picks up a new kid once it appears in the key set', async () => {
    const verifier = viaJwks({ jwks: { cooldownMs: 0, failureBackoffMs: 0 } });
    await accepted(verifier, await server.mint());
    const rotated = await server.rotate('RS256');
    const info = await accepted(verifier, await server.mint());
    expect(info.header?.kid).toBe(rotated.kid);
    expect(server.requests(server.jwksPath)).toBe(2);
  });
});

describe('jwtVerifier: key server failures are failures, not rejections', () => {
  const failureModes: KeyServerMode[] = ['reset', 'hang', 'hang-body', 'error', 'garbage', 'not-jwks', 'huge', 'huge-chunked'];

  it.each(failureModes)('%s -> TemporarilyUnavailableError', async (mode) => {
    server.setMode(mode, server.jwksPath);
    const result = await verify(viaJwks({ jwks: { timeoutMs: 300, failureBackoffMs: 0 } }), await server.mint());
    expect(result.outcome).toBe('failed');
    expect((result as { error: unknown }).error).toBeInstanceOf(TemporarilyUnavailableError);
    expect((result as { error: TemporarilyUnavailableError }).error.code).toBe('temporarily_unavailable');
  });

  it('a redirect (here to a healthy server) is not followed and is a failure', async () => {
    await other.addKey('RS256');
    server.redirectTo = other.origin;
    server.setMode('redirect', server.jwksPath);
    const token = await server.mint();
    expect(await outcomeOf(viaJwks(), token)).toBe('failed');
    expect(other.requests()).toBe(0);
  });

  it('a closed port is a failure', async () => {
    const gone = await KeyServer.start();
    const verifier = jwtVerifier({ issuer: gone.issuer(), audience: AUDIENCE, jwksUri: gone.jwksUri, jwks: { timeoutMs: 500 } });
    const token = await gone.mint();
    await gone.close();
    expect(await outcomeOf(verifier, token)).toBe('failed');
  });

  it('the chain’s time limit (context.signal) ends the wait as a failure', async () => {
    server.setMode('hang', server.jwksPath);
    const verifier = viaJwks({ jwks: { timeoutMs: 5000, failureBackoffMs: 0 } });
    const started = Date.now();
    const result = await verify(verifier, await server.mint(), AbortSignal.timeout(100));
    expect(result.outcome).toBe('failed');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('after a failure, asks again only once the back-off has passed, then recovers', async () => {
    server.setMode('error', server.jwksPath);
    const verifier = viaJwks({ jwks: { failureBackoffMs: 300 } });
    const token = await server.mint();
    expect(await outcomeOf(verifier, token)).toBe('failed');
    expect(await outcomeOf(verifier, token)).toBe('failed');
    expect(server.requests(server.jwksPath)).toBe(1);
    server.restore();
    await sleep(350);
    expect(await outcomeOf(verifier, token)).toBe('accepted');
    expect(server.requests(server.jwksPath)).toBe(2);
  });
});

describe('jwtVerifier: discovery', () => {
  const discovering = (issuer: string, options: Partial<JwtVerifierOptions> = {}) =>
    jwtVerifier({ issuer, audience: AUDIENCE, jwks: { timeoutMs: 500, failureBackoffMs: 0 }, ...options });

  it('builds the RFC 8414 path-aware and the OpenID URLs for an issuer with a path', () => {
    expect(discoveryUrls('https://a.example/tenant').map(String)).toEqual([
      'https://a.example/.well-known/oauth-authorization-server/tenant',
      'https://a.example/.well-known/openid-configuration/tenant',
      'https://a.example/tenant/.well-known/openid-configuration',
    ]);
    expect(discoveryUrls('https://a.example/').map(String)).toEqual([
      'https://a.example/.well-known/oauth-authorization-server',
      'https://a.example/.well-known/openid-configuration',
    ]);
  });

  it('finds the key set through RFC 8414 metadata inserted before the issuer path, once', async () => {
    const issuer = server.issuer('/rfc8414');
    server.serveJson('/.well-known/oauth-authorization-server/rfc8414', { issuer, jwks_uri: server.jwksUri });
    const verifier = discovering(issuer);
    await accepted(verifier, await server.mint({ iss: issuer }));
    await accepted(verifier, await server.mint({ iss: issuer }, { alg: 'ES256' }));
    expect(server.requests('/.well-known/oauth-authorization-server/rfc8414')).toBe(1);
    expect(server.requests('/rfc8414/.well-known/openid-configuration')).toBe(0);
    expect(server.requests(server.jwksPath)).toBe(1);
  });

  it('falls back to OpenID Connect discovery appended to the issuer path', async () => {
    const issuer = server.issuer('/oidc');
    server.serveJson('/oidc/.well-known/openid-configuration', { issuer, jwks_uri: server.jwksUri });
    await accepted(discovering(issuer), await server.mint({ iss: issuer }));
    expect(server.requests('/.well-known/oauth-authorization-server/oidc')).toBe(1);
    expect(server.requests('/oidc/.well-known/openid-configuration')).toBe(1);
  });

  it('discovers an issuer without a path at the root', async () => {
    const issuer = other.issuer();
    other.serveJson('/.well-known/oauth-authorization-server', { issuer, jwks_uri: other.jwksUri });
    await accepted(discovering(issuer), await other.mint());
    expect(other.requests('/.well-known/oauth-authorization-server')).toBe(1);
  });

  it('shares one discovery and one key fetch among concurrent first requests', async () => {
    const issuer = server.issuer('/concurrent');
    server.serveJson('/.well-known/oauth-authorization-server/concurrent', { issuer, jwks_uri: server.jwksUri });
    const verifier = discovering(issuer);
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => server.mint({ iss: issuer, sub: `u${i}` })));
    const outcomes = await Promise.all(tokens.map((token) => outcomeOf(verifier, token)));
    expect(new Set(outcomes)).toEqual(new Set(['accepted']));
    expect(server.requests('/.well-known/oauth-authorization-server/concurrent')).toBe(1);
    expect(server.requests(server.jwksPath)).toBe(1);
  });

  it('refuses metadata whose issuer differs from the configured one (failure)', async () => {
    const issuer = server.issuer('/mismatch');
    server.serveJson('/.well-known/oauth-authorization-server/mismatch', { issuer: 'https://evil.test', jwks_uri: other.jwksUri });
    expect(await outcomeOf(discovering(issuer), await server.mint({ iss: issuer }))).toBe('failed');
    expect(other.requests()).toBe(0);
  });

  it('treats metadata without a jwks_uri as a failure', async () => {
    const issuer = server.issuer('/nokeys');
    server.serveJson('/.well-known/oauth-authorization-server/nokeys', { issuer });
    expect(await outcomeOf(discovering(issuer), await server.mint({ iss: issuer }))).toBe('failed');
  });

  it('fails while discovery fails, and does not remember the failure for long', async () => {
    const issuer = server.issuer('/flaky');
    const path = '/.well-known/oauth-authorization-server/flaky';
    server.serveJson(path, { issuer, jwks_uri: server.jwksUri });
    server.setMode('error', path);
    const verifier = discovering(issuer, { jwks: { timeoutMs: 500, failureBackoffMs: 200 } });
    const token = await server.mint({ iss: issuer });
    expect(await outcomeOf(verifier, token)).toBe('failed');
    expect(await outcomeOf(verifier, token)).toBe('failed');
    server.setMode('ok', path);
    await sleep(250);
    expect(await outcomeOf(verifier, token)).toBe('accepted');
  });

  it('fails when the discovery host is unreachable', async () => {
    server.setMode('reset');
    const issuer = server.issuer('/down');
    expect(await outcomeOf(discovering(issuer), await server.mint({ iss: issuer }))).toBe('failed');
  });

  it('discoverAuthorizationServer returns the matching document and rejects with TemporarilyUnavailableError otherwise', async () => {
    const issuer = server.issuer('/direct');
    await expect(discoverAuthorizationServer(issuer, { timeoutMs: 500 })).rejects.toBeInstanceOf(TemporarilyUnavailableError);
    server.serveJson('/direct/.well-known/openid-configuration', { issuer, jwks_uri: server.jwksUri, token_endpoint: 'x' });
    await expect(discoverAuthorizationServer(issuer, { timeoutMs: 500 })).resolves.toMatchObject({ issuer, jwks_uri: server.jwksUri });
  });

  it('keeps keys of one issuer from verifying tokens of another', async () => {
    const a = server.issuer('/tenant-a');
    const b = other.issuer('/tenant-b');
    server.serveJson('/.well-known/oauth-authorization-server/tenant-a', { issuer: a, jwks_uri: server.jwksUri });
    other.serveJson('/.well-known/oauth-authorization-server/tenant-b', { issuer: b, jwks_uri: other.jwksUri });
    const verifier = discovering('', { issuer: [a, b] });
    await accepted(verifier, await server.mint({ iss: a }));
    await accepted(verifier, await other.mint({ iss: b }));
    // Signed with tenant A's key but claiming tenant B: B's key set does not hold it.
    expect(await outcomeOf(verifier, await server.mint({ iss: b }))).toBe('rejected');
  });
});

describe('jwtVerifier: options', () => {
  it('typ: requires the configured type, with or without the application/ prefix', async () => {
    const verifier = viaJwks({ typ: 'at+jwt' });
    expect(await outcomeOf(verifier, await server.mint({}, { header: { typ: 'at+jwt' } }))).toBe('accepted');
    expect(await outcomeOf(verifier, await server.mint({}, { header: { typ: 'application/at+jwt' } }))).toBe('accepted');
    expect(await outcomeOf(verifier, await server.mint())).toBe('rejected');
  });

  it('maxTokenAge: refuses tokens issued too long ago, or without iat', async () => {
    const verifier = viaJwks({ maxTokenAge: '10m' });
    expect(await outcomeOf(verifier, await server.mint())).toBe('accepted');
    expect(await outcomeOf(verifier, await server.mint({ iat: now() - 3600 }))).toBe('rejected');
    expect(await outcomeOf(verifier, await server.mint({ iat: undefined }))).toBe('rejected');
  });

  it('requiredClaims: refuses tokens lacking one', async () => {
    const verifier = viaJwks({ requiredClaims: ['jti'] });
    expect(await outcomeOf(verifier, await server.mint({ jti: 'abc' }))).toBe('accepted');
    expect(await outcomeOf(verifier, await server.mint())).toBe('rejected');
  });

  it('scopeClaim: reads scopes from another claim, e.g. Auth0 permissions', async () => {
    const info = await accepted(viaJwks({ scopeClaim: 'permissions' }), await server.mint({ permissions: ['read:a', 'write:b'] }));
    expect(info.scopes).toEqual(['read:a', 'write:b']);
  });

  it('clientIdClaim: reads the client id from another claim, and refuses tokens without it', async () => {
    const verifier = viaJwks({ clientIdClaim: 'appid' });
    expect((await accepted(verifier, await server.mint({ appid: 'app-7' }))).clientId).toBe('app-7');
    expect(await outcomeOf(verifier, await server.mint())).toBe('rejected');
  });

  it('publicKey as an SPKI PEM, a JWK or a JWKS verifies without any fetch', async () => {
    const rsa = server.key('RS256');
    const ec = server.key('ES256');
    const withKey = (publicKey: JwtVerifierOptions['publicKey']) => jwtVerifier({ issuer: server.issuer(), audience: AUDIENCE, publicKey });
    await accepted(withKey(rsa.publicPem), await server.mint());
    await accepted(withKey(ec.publicJwk), await server.mint({}, { alg: 'ES256' }));
    const jwks = withKey(server.jwks());
    await accepted(jwks, await server.mint());
    await accepted(jwks, await server.mint({}, { alg: 'ES256' }));
    expect(server.requests()).toBe(0);
  });

  it('a single publicKey is used whatever kid the token names; a wrong key is still refused', async () => {
    const rsa = server.key('RS256');
    const { kid: _kid, ...bareJwk } = rsa.publicJwk;
    const verifier = jwtVerifier({ issuer: server.issuer(), audience: AUDIENCE, publicKey: bareJwk });
    expect(await outcomeOf(verifier, await server.mint({}, { kid: 'some-other-kid' }))).toBe('accepted');
    expect(await outcomeOf(verifier, await server.mint({}, { alg: 'ES256' }))).toBe('rejected');
  });

  it('publicKey accepts Ed25519 (EdDSA)', async () => {
    const ed = await createSigningKey('EdDSA');
    const verifier = jwtVerifier({ issuer: server.issuer(), audience: AUDIENCE, publicKey: ed.publicPem });
    expect(await outcomeOf(verifier, await server.mint({}, { key: ed }))).toBe('accepted');
  });

  it('secret verifies HS256 and refuses a token MACed with another secret', async () => {
    const secret = 'a-shared-secret-that-is-long-enough-0123456789';
    const verifier = jwtVerifier({ issuer: server.issuer(), audience: AUDIENCE, secret });
    const token = await new SignJWT(server.claims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
    expect((await accepted(verifier, token)).header?.alg).toBe('HS256');
    expect(await outcomeOf(verifier, hmacToken(server.claims(), 'another-secret-of-sufficient-length-0123456789'))).toBe('rejected');
  });
});

describe('jwtVerifier: configuration errors', () => {
  const base = { issuer: 'https://issuer.test', audience: 'api', jwksUri: 'https://issuer.test/jwks' };
  const rsaPem = () => server.key('RS256').publicPem;

  const cases: Array<[string, () => Partial<JwtVerifierOptions> | undefined, RegExp]> = [
    ['no options', () => undefined, /issuer, audience/],
    ['no issuer', () => ({ ...base, issuer: undefined }), /issuer is required/],
    ['no audience', () => ({ ...base, audience: undefined }), /audience is required/],
    ['an empty audience list', () => ({ ...base, audience: [] }), /audience is required/],
    ['two key options', () => ({ ...base, secret: 'x'.repeat(32) }), /only one of jwksUri, publicKey and secret/],
    ['"none" in algorithms', () => ({ ...base, algorithms: ['RS256', 'none' as 'RS256'] }), /"none"/],
    ['an unknown algorithm', () => ({ ...base, algorithms: ['XS256' as 'RS256'] }), /unsupported value/],
    ['HS algorithms with a JWKS', () => ({ ...base, algorithms: ['HS256'] }), /HS\* algorithms need a shared `secret`/],
    ['HS algorithms with a public key', () => ({ ...base, jwksUri: undefined, publicKey: rsaPem(), algorithms: ['HS256'] }), /need a shared `secret`/],
    ['asymmetric algorithms with a secret', () => ({ ...base, jwksUri: undefined, secret: 'x'.repeat(32), algorithms: ['RS256'] }), /only verifies HS256/],
    ['an algorithm the public key cannot verify', () => ({ ...base, jwksUri: undefined, publicKey: rsaPem(), algorithms: ['ES256'] }), /ES256/],
    ['a jwksUri that is not a URL', () => ({ ...base, jwksUri: 'jwks.json' }), /jwksUri must be an absolute https URL/],
    ['a jwksUri over plain http to a remote host', () => ({ ...base, jwksUri: 'http://issuer.test/jwks' }), /must use https/],
    ['a jwksUri with another scheme', () => ({ ...base, jwksUri: 'ftp://issuer.test/jwks' }), /https URL/],
    ['a discovery issuer that is not a URL', () => ({ issuer: 'my-issuer', audience: 'api' }), /used for discovery/],
    ['a discovery issuer with a query', () => ({ issuer: 'https://issuer.test/?tenant=1', audience: 'api' }), /query/],
    ['a private key PEM', () => ({ ...base, jwksUri: undefined, publicKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }), /private key/],
    ['a private JWK', () => ({ ...base, jwksUri: undefined, publicKey: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' } }), /private key material/],
    ['a symmetric JWK as publicKey', () => ({ ...base, jwksUri: undefined, publicKey: { kty: 'oct', k: 'abc' } }), /`secret`/],
    ['a garbled PEM', () => ({ ...base, jwksUri: undefined, publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }), /not a usable SPKI PEM/],
    ['a secret shorter than 32 bytes', () => ({ ...base, jwksUri: undefined, secret: 'short' }), /at least 32 bytes/],
    ['HS512 with a 32-byte secret', () => ({ ...base, jwksUri: undefined, secret: 'x'.repeat(32), algorithms: ['HS512'] }), /HS512/],
    ['a malformed maxTokenAge', () => ({ ...base, maxTokenAge: 'ten minutes' }), /maxTokenAge/],
    ['a negative clockTolerance', () => ({ ...base, clockTolerance: -1 }), /clockTolerance/],
    ['a non-integer JWKS timeout', () => ({ ...base, jwks: { timeoutMs: 1.5 } }), /jwks.timeoutMs/],
    ['an empty name', () => ({ ...base, name: '' }), /name/],
    ['requiredClaims given as a string', () => ({ ...base, requiredClaims: 'jti' as unknown as string[] }), /requiredClaims/],
  ];

  it.each(cases)('%s', (_label, options, message) => {
    let thrown: unknown;
    try {
      jwtVerifier(options() as JwtVerifierOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MultiAuthConfigError);
    expect((thrown as Error).message).toMatch(message);
  });

  it('accepts plain http to a remote host only with allowHttp', () => {
    expect(() => jwtVerifier({ ...base, jwksUri: 'http://keycloak:8080/certs', allowHttp: true })).not.toThrow();
  });

  it('accepts issuers that are not URLs when a key is configured', () => {
    expect(() => jwtVerifier({ ...base, issuer: 'my-service' })).not.toThrow();
  });
});
