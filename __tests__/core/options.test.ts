// Every factory refuses an option it does not know, naming the one that was probably meant:
// JavaScript callers and config files have no compiler to catch `clockTolerence`.
import { closestName, editDistance, refuseUnknownOptions } from '../../lib/core/options';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { middlewareVerifier } from '../../lib/sources/middleware-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { oauthServer } from '../../lib/primaries/oauth-server';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';

const KEY = 'a-static-key-long-enough';
const jwt = { issuer: 'https://issuer.example', audience: 'https://api.example/mcp', jwksUri: 'https://issuer.example/jwks' };
const introspection = { endpoint: 'https://issuer.example/introspect', clientId: 'rs', clientSecret: 'rs-secret', audience: 'https://mcp.example.com/mcp' };
const verifier = { name: 'v', verifyAccessToken: async () => null };

function messageOf(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(MultiAuthConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the factory to throw');
}

describe('every factory refuses an unknown option and names the closest known one', () => {
  const cases: Array<[string, string, string, () => unknown]> = [
    ['jwtVerifier', 'scopeclaim', 'scopeClaim', () => jwtVerifier({ ...jwt, scopeclaim: 'scp' } as never)],
    ['jwtVerifier', 'clockTolerence', 'clockTolerance', () => jwtVerifier({ ...jwt, clockTolerence: 30 } as never)],
    ['jwtVerifier', 'jwks_uri', 'jwksUri', () => jwtVerifier({ issuer: jwt.issuer, audience: jwt.audience, jwks_uri: jwt.jwksUri } as never)],
    ['jwtVerifier', 'jwks.timeotMs', 'jwks.timeoutMs', () => jwtVerifier({ ...jwt, jwks: { timeotMs: 10 } } as never)],
    ['introspectionVerifier', 'timeout', 'timeoutMs', () => introspectionVerifier({ ...introspection, timeout: 10 } as never)],
    ['introspectionVerifier', 'cache.ttl', 'cache.ttlMs', () => introspectionVerifier({ ...introspection, cache: { ttl: 10 } } as never)],
    ['middlewareVerifier', 'cacheble', 'cacheable', () => middlewareVerifier({ middleware: (_q: unknown, _s: unknown, n: () => void) => n(), cacheble: true } as never)],
    ['staticTokenVerifier', 'nmae', 'name', () => staticTokenVerifier({ tokens: { [KEY]: { clientId: 'ci', scopes: [] } }, nmae: 'ci' } as never)],
    ['staticTokenVerifier', 'tokens[#1].scope', 'tokens[#1].scopes', () => staticTokenVerifier({ tokens: { [KEY]: { clientId: 'ci', scope: [] } } } as never)],
    ['remoteAuthServer', 'requiredScope', 'requiredScopes', () => remoteAuthServer({ issuer: jwt.issuer, resource: jwt.audience, requiredScope: ['a'] } as never)],
    ['oauthServer', 'resourceUrl', 'resource', () => oauthServer({ router: () => undefined, verifier, issuer: jwt.issuer, resource: jwt.audience, resourceUrl: 'x' } as never)],
    ['multiAuth', 'requireScopes', 'requiredScopes', () => multiAuth({ verifiers: verifier, requireScopes: ['a'] } as never)],
    ['multiAuth', 'cache.ttl', 'cache.ttlMs', () => multiAuth({ verifiers: verifier, cache: { ttl: 5 } } as never)],
    ['mcpPolicy', 'rules.tool', 'rules.tools', () => mcpPolicy({ tool: {} } as never)],
    ['mcpPolicy', 'tools["x"].scope', 'tools["x"].scopes', () => mcpPolicy({ tools: { x: { scope: ['a'] } } } as never)],
    ['mcpPolicy', 'options.authh', 'options.auth', () => mcpPolicy({}, { authh: {} } as never)],
  ];
  it.each(cases)('%s: "%s" -> did you mean "%s"?', (factory, typo, meant, make) => {
    const message = messageOf(make);
    expect(message.startsWith(`${factory}: unknown option "${typo}"; did you mean "${meant}"?`)).toBe(true);
  });

  it('lists the known options when nothing is close', () => {
    expect(messageOf(() => jwtVerifier({ ...jwt, colour: 'blue' } as never))).toMatch(
      /^jwtVerifier: unknown option "colour" \(known: name, issuer, audience, .*allowHttp, validators, maxIssuers\)$/,
    );
  });
});

describe('refuseUnknownOptions', () => {
  it('accepts an object with known options only, and ignores inherited ones', () => {
    const options = Object.create({ inherited: true }) as Record<string, unknown>;
    options.a = 1;
    expect(() => refuseUnknownOptions('f', options, ['a', 'b'])).not.toThrow();
  });

  it('finds a name written in another convention (snake case, kebab case, other case)', () => {
    expect(closestName('client_id_claim', ['clientIdClaim', 'scopeClaim'])).toBe('clientIdClaim');
    expect(closestName('ALLOW-HTTP', ['allowHttp'])).toBe('allowHttp');
  });

  it('counts a swap of two neighbours as one edit, and offers nothing farther than a third of the name', () => {
    expect(editDistance('tiemoutMs', 'timeoutMs')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closestName('xyz', ['issuer', 'audience'])).toBeUndefined();
  });
});
