// Issue 26: every realistic configuration mistake, one row each, and what the user sees first:
// the constructor refuses it, `auth.ready()` names it, or the first request it spoils gets a
// process warning. Every row asserts that what is seen carries the fix, with no code of the user's
// (no onDecision, no logging set up). Real parts: the oidc-provider issuer and a loopback key server.
import { generateKeyPairSync } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { multiAuth, type MultiAuth } from '../../lib/chain/multi-auth';
import { MultiAuthConfigError, MultiAuthNotReadyError } from '../../lib/core/errors';
import { requireScopes, requireSource } from '../../lib/http/guards';
import { jwtVerifier, type JwtVerifierOptions } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { AUDIENCE, KeyServer } from '../support/key-server';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import type { Decision } from '../../lib/core/types';
import { captureWarnings, type CapturedWarning } from '../support/warnings';

const RESOURCE = 'https://mcp.example.com/mcp';
const LOGIN = 'https://login.example.com';
const custom = (name: string) => ({ name, verifyAccessToken: async () => null });
const memoryStore = () => {
  const map = new Map<string, unknown>();
  return { get: async (k: string) => map.get(k), set: async (k: string, v: unknown) => void map.set(k, v), delete: async (k: string) => map.delete(k) };
};

let keys: KeyServer;
let issuer: Issuer;
let warnings: CapturedWarning[];
let spy: jest.SpyInstance;

beforeAll(async () => {
  [keys, issuer] = await Promise.all([KeyServer.start(), startIssuer()]);
});
afterAll(async () => {
  await Promise.all([keys.close(), issuer.stop()]);
});
beforeEach(() => {
  ({ warnings, spy } = captureWarnings());
});
afterEach(async () => {
  spy.mockRestore();
  await issuer.setFaults([]);
});

/** What the constructor refused with; fails the row if it did not refuse. */
function refusedWith(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(MultiAuthConfigError);
    return (error as Error).message;
  }
  throw new Error('expected construction to refuse the mistake');
}

describe('mistakes refused at construction: the message names the fix', () => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const jwt = (options: Record<string, unknown>) => () => jwtVerifier({ issuer: LOGIN, audience: RESOURCE, ...options } as unknown as JwtVerifierOptions);
  const rows: Array<[string, () => unknown, RegExp]> = [
    ['a misspelt option ("audiance")', () => jwtVerifier({ issuer: LOGIN, audiance: RESOURCE } as unknown as JwtVerifierOptions), /unknown option "audiance"; did you mean "audience"\?/],
    ['jwtVerifier without audience', () => jwtVerifier({ issuer: LOGIN } as unknown as JwtVerifierOptions), /audience is required/],
    ['jwtVerifier without issuer', () => jwtVerifier({ audience: RESOURCE } as unknown as JwtVerifierOptions), /issuer is required/],
    ['algorithms: ["none"]', jwt({ algorithms: ['none'] }), /must not contain "none"/],
    ['HS256 allowed for keys from a JWKS', jwt({ jwksUri: `${LOGIN}/jwks`, algorithms: ['HS256'] }), /HS\* algorithms need a shared `secret`/],
    ['a private key passed as publicKey', jwt({ publicKey: pem }), /pass the public key only/],
    ['an HMAC secret shorter than 32 bytes', jwt({ secret: 'short-secret' }), /at least 32 bytes/],
    ['both jwksUri and publicKey', jwt({ jwksUri: `${LOGIN}/jwks`, publicKey: pem }), /give only one of jwksUri, publicKey and secret/],
    ['a plain-http jwksUri on a public host', jwt({ jwksUri: 'http://login.example.com/jwks' }), /must use https .*allowHttp: true/],
    ['an issuer with a trailing space', jwt({ issuer: `${LOGIN} ` }), /issuer "https:\/\/login\.example\.com " has whitespace around it/],
    ['clockTolerance that is not a duration', jwt({ clockTolerance: 'five seconds' }), /duration like "30s"/],
    ['a static API key shorter than 16 characters', () => staticTokenVerifier({ tokens: { abc: { clientId: 'ci', scopes: [] } } }), /must be at least 16/],
    ['a plain-http introspection endpoint on a public host', () => introspectionVerifier({ endpoint: 'http://login.example.com/introspect', clientId: 'rs', clientSecret: 's', audience: RESOURCE }), /must use https .*allowHttp: true/],
    ['introspectionVerifier with a store but cache: false', () => introspectionVerifier({ endpoint: `${LOGIN}/introspect`, clientId: 'rs', clientSecret: 's', audience: RESOURCE, cache: false, store: memoryStore() }), /remove cache: false/],
    ['multiAuth with no source', () => multiAuth({}), /give a primary or at least one verifier/],
    ['two sources with one name', () => multiAuth({ verifiers: [custom('x'), custom('x')] }), /give each source a distinct name/],
    ['requireScopes as a multiAuth option', () => multiAuth({ verifiers: custom('x'), requireScopes: ['a'] } as never), /unknown option "requireScopes"; did you mean "requiredScopes"\?/],
    ['requiredScopes as a string', () => multiAuth({ verifiers: custom('x'), requiredScopes: 'mcp:read' as never }), /requiredScopes must be an array/],
    ['a primary among the verifiers', () => multiAuth({ verifiers: [remoteAuthServer({ issuer: LOGIN, resource: RESOURCE })] }), /pass it as `primary`/],
    ['a resourceMetadataUrl the primary does not serve', () => multiAuth({ primary: remoteAuthServer({ issuer: LOGIN, resource: RESOURCE }), resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource' }), /it serves its metadata at https:\/\/mcp\.example\.com\/\.well-known\/oauth-protected-resource\/mcp/],
    // Issue 26's own:
    ['requireScopes([\'a\', \'b\']): an array where separate arguments belong', () => requireScopes(['mcp:read', 'mcp:write'] as never), /separate argument, not an array: write requireScopes\("mcp:read", "mcp:write"\)/],
    ['a bare Express middleware passed as a verifier', () => multiAuth({ verifiers: [((_req, _res, next) => next()) as RequestHandler as never] }), /verifiers\[0\] is a function .*middlewareVerifier\(\{ name, middleware \}\)/],
    ['a store with the rejection cache turned off', () => multiAuth({ verifiers: custom('x'), cache: false, store: memoryStore() }), /store shares rejections .*cache: false.*turn the cache on, or leave store out/],
  ];
  it.each(rows)('%s', (_mistake, make, fix) => {
    expect(refusedWith(make)).toMatch(fix);
  });
});

/** What ready() says of the one source; fails the row if it resolves. */
async function readyDetail(auth: MultiAuth): Promise<{ status: string; detail: string }> {
  try {
    await auth.ready();
  } catch (error) {
    expect(error).toBeInstanceOf(MultiAuthNotReadyError);
    return (error as MultiAuthNotReadyError).report.sources[0];
  }
  throw new Error('expected ready() to name the mistake');
}

describe('mistakes auth.ready() names: misconfigured, with the fix', () => {
  it('an issuer with a trailing slash its discovery document does not use', async () => {
    const auth = multiAuth({ verifiers: jwtVerifier({ issuer: `${issuer.issuer}/`, audience: issuer.defaultResource! }) });
    const { status, detail } = await readyDetail(auth);
    expect(status).toBe('misconfigured');
    expect(detail).toContain(`set issuer: "${issuer.issuer}"`);
  });

  it('an introspection endpoint answering 200 with an HTML page', async () => {
    await issuer.setFaults([{ pathPrefix: issuer.introspectionEndpoint, status: 200, body: '<html>Sign in</html>', contentType: 'text/html' }]);
    const auth = multiAuth({ verifiers: introspectionVerifier(introspectionOptionsFor(issuer)) });
    const { status, detail } = await readyDetail(auth);
    expect(status).toBe('misconfigured');
    expect(detail).toMatch(/not JSON; is endpoint the introspection endpoint/);
  });
});

/** A router with one JWT source on the key server, and an app behind it; no onDecision. */
function jwtApp(options: Partial<JwtVerifierOptions>, more: Partial<Parameters<typeof multiAuth>[0]> = {}, route: RequestHandler[] = []) {
  const auth = multiAuth({
    verifiers: [jwtVerifier({ name: 'internal', issuer: keys.issuer(), audience: AUDIENCE, jwksUri: keys.jwksUri, ...options })],
    ...more,
  });
  return express().use(auth).get('/api', ...route, (_req, res) => res.end('ok'));
}

/** Waits for a warning (a near miss about `alg` may need the key set first), then returns the first. */
async function firstWarning(code: string): Promise<string> {
  for (let i = 0; i < 100 && !warnings.some((w) => w.code === code); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  const found = warnings.filter((w) => w.code === code);
  expect(found).toHaveLength(1);
  return found[0].message;
}

describe('mistakes the first request shows: its answer, and a process warning with the fix', () => {
  it('an issuer with a trailing slash (keys from jwksUri, so ready() cannot tell)', async () => {
    const app = jwtApp({ issuer: `${keys.issuer()}/` });
    await request(app).get('/api').auth(await keys.mint(), { type: 'bearer' }).expect(401);
    expect(await firstWarning('MULTIAUTH_NEAR_MISS')).toContain(`set issuer: "${keys.issuer()}"`);
  });

  it('an audience with a trailing slash', async () => {
    const app = jwtApp({ audience: `${AUDIENCE}/` });
    await request(app).get('/api').auth(await keys.mint(), { type: 'bearer' }).expect(401);
    expect(await firstWarning('MULTIAUTH_NEAR_MISS')).toContain(`set audience: "${AUDIENCE}"`);
  });

  it('an audience with a typo', async () => {
    const app = jwtApp({ audience: AUDIENCE.replace('/mcp', '/mpc') });
    await request(app).get('/api').auth(await keys.mint(), { type: 'bearer' }).expect(401);
    expect(await firstWarning('MULTIAUTH_NEAR_MISS')).toContain(`set audience: "${AUDIENCE}"`);
  });

  it('algorithms: ["ES256"] for an RS256 issuer', async () => {
    const app = jwtApp({ algorithms: ['ES256'] });
    await request(app).get('/api').auth(await keys.mint(), { type: 'bearer' }).expect(401);
    expect(await firstWarning('MULTIAUTH_NEAR_MISS')).toContain('add "RS256" to algorithms');
  });

  it('an Auth0 RBAC token (permissions claim) without scopeClaim, behind requireScopes', async () => {
    const app = jwtApp({}, {}, [requireScopes('read:things')]);
    const token = await keys.mint({ scope: undefined, permissions: ['read:things'] });
    await request(app).get('/api').auth(token, { type: 'bearer' }).expect(403);
    expect(await firstWarning('MULTIAUTH_NEAR_MISS')).toContain(`set scopeClaim: 'permissions' on source "internal"`);
  });

  it('an Auth0 RBAC token (permissions claim) without scopeClaim, with requiredScopes on the router', async () => {
    const app = jwtApp({}, { requiredScopes: ['read:things'] });
    const token = await keys.mint({ scope: undefined, permissions: ['read:things'] });
    await request(app).get('/api').auth(token, { type: 'bearer' }).expect(403);
    expect(await firstWarning('MULTIAUTH_NEAR_MISS')).toContain(`set scopeClaim: 'permissions' on source "internal"`);
  });


  it('requireSource(\'CI\') for a source named ci', async () => {
    const auth = multiAuth({ verifiers: staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-0123456789abcdef': { clientId: 'ci', scopes: [] } } }) });
    const app = express().use(auth).get('/api', requireSource('CI'), (_req, res) => res.end('ok'));
    await request(app).get('/api').auth('ci-key-0123456789abcdef', { type: 'bearer' }).expect(403);
    expect(await firstWarning('MULTIAUTH_GUARD')).toMatch(/requireSource\(CI\) names "CI" \(did you mean "ci"\?\), but the router has no source by that name/);
  });


  it('a guard mounted before multiAuth', async () => {
    const auth = multiAuth({ verifiers: staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-0123456789abcdef': { clientId: 'ci', scopes: [] } } }) });
    const app = express().get('/api', requireScopes('mcp:read'), (_req, res) => res.end('ok')).use(auth);
    await request(app).get('/api').auth('ci-key-0123456789abcdef', { type: 'bearer' }).expect(401);
    expect(await firstWarning('MULTIAUTH_GUARD')).toMatch(/no multiAuth has seen.*mount the multiAuth router before the guard/);
  });

  it('an introspection endpoint answering 200 with an HTML page', async () => {
    await issuer.setFaults([{ pathPrefix: issuer.introspectionEndpoint, status: 200, body: '<html>Sign in</html>', contentType: 'text/html' }]);
    const auth = multiAuth({ verifiers: introspectionVerifier(introspectionOptionsFor(issuer)) });
    const app = express().use(auth).get('/api', (_req, res) => res.end('ok'));
    await request(app).get('/api').auth('opaque-token-0123456789', { type: 'bearer' }).expect(503);
    expect(await firstWarning('MULTIAUTH_SOURCE_MISCONFIGURED')).toMatch(/is endpoint the introspection endpoint/);
  });

  it('an issuer that replaced its key under the same kid: the source recovers by itself, no restart', async () => {
    const app = jwtApp({ jwks: { cooldownMs: 200 } }, { cache: false });
    await request(app).get('/api').auth(await keys.mint(), { type: 'bearer' }).expect(200);
    await keys.addKey('RS256', keys.key('RS256').kid);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await request(app).get('/api').auth(await keys.mint(), { type: 'bearer' }).expect(200);
  });
});

describe('what an onDecision sees of the same mistakes, when there is one', () => {
  it('an insufficient_scope decision names the token\'s scopes and the missing ones', async () => {
    const decisions: Decision[] = [];
    const app = jwtApp({}, { requiredScopes: ['mcp:admin'], onDecision: (d) => decisions.push(d) });
    await request(app).get('/api').auth(await keys.mint({ scope: 'mcp:read mcp:write' }), { type: 'bearer' }).expect(403);
    expect(decisions[0].outcome).toBe('insufficient_scope');
    expect(decisions[0].reason).toMatch(/the token lacks mcp:admin \(it has mcp:read mcp:write\)/);
  });

  it('a guard on a request no multiAuth saw is reported to the multiAuth in the process', async () => {
    const decisions: Decision[] = [];
    const auth = multiAuth({ verifiers: custom('x'), onDecision: (d) => decisions.push(d) });
    const app = express().get('/api', requireScopes('mcp:read'), (_req, res) => res.end('ok')).use(auth);
    await request(app).get('/api').expect(401);
    expect(decisions).toEqual([expect.objectContaining({ outcome: 'no_credentials', status: 401, rule: 'requireScopes(mcp:read)', reason: expect.stringMatching(/mount the multiAuth router before the guard/) })]);
  });

  it('a guard naming a source the router lacks: the refusal\'s reason says so', async () => {
    const decisions: Decision[] = [];
    const auth = multiAuth({ verifiers: staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-0123456789abcdef': { clientId: 'ci', scopes: [] } } }), onDecision: (d) => decisions.push(d) });
    const app = express().use(auth).get('/api', requireSource('CI'), (_req, res) => res.end('ok'));
    await request(app).get('/api').auth('ci-key-0123456789abcdef', { type: 'bearer' }).expect(403);
    expect(decisions[1]).toEqual(expect.objectContaining({ outcome: 'forbidden', reason: expect.stringMatching(/did you mean "ci"/) }));
  });
});
