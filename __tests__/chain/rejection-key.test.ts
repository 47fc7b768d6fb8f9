// What a remembered rejection is filed under (lib/chain/rejection-key.ts, lib/core/rules.ts):
// the router's rules and the kind of request. The attacks are in
// __tests__/attacks/rejections-never-lock-out-the-owner.test.ts.
import { describeRules, rulesDigest } from '../../lib/core/rules';
import { requestKind, routerRules } from '../../lib/chain/rejection-key';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { resolveDpopOptions } from '../../lib/dpop/options';
import type { TokenVerifier } from '../../lib/core/types';

const ISSUER = 'https://login.example.com';
const jwt = (audience: string) => jwtVerifier({ name: 'jwt', issuer: ISSUER, audience, jwksUri: `${ISSUER}/jwks` });
const named = (verifier: TokenVerifier) => ({ name: verifier.name ?? 'v', verifier });

describe('a source\'s rules', () => {
  it('differ with its audience, issuer, keys or endpoint, and are the same for the same options', () => {
    expect(jwt('a')[rulesDigest]).toBe(jwt('a')[rulesDigest]);
    expect(jwt('a')[rulesDigest]).not.toBe(jwt('b')[rulesDigest]);
    const intro = (audience: string, endpoint = `${ISSUER}/introspect`) =>
      introspectionVerifier({ endpoint, clientId: 'rs', clientSecret: 'rs-secret', audience })[rulesDigest];
    expect(intro('a')).not.toBe(intro('b'));
    expect(intro('a')).not.toBe(intro('a', `${ISSUER}/other-introspect`));
    const keys = (key: string) => staticTokenVerifier({ tokens: { [key]: { clientId: 'ci', scopes: [] } } })[rulesDigest];
    expect(keys('a-static-key-of-16+chars')).not.toBe(keys('another-static-key-16+'));
  });

  it('ignore where answers are kept and time limits', () => {
    expect(describeRules('x', { audience: 'a', cache: { ttlMs: 1 }, timeoutMs: 5 })).toBe(describeRules('x', { audience: 'a' }));
  });

  it('cannot be described when an option is a function (a resolver, a validator)', () => {
    expect(jwtVerifier({ issuer: () => ISSUER, audience: 'a' })[rulesDigest]).toBeUndefined();
    expect(describeRules('x', { validators: { tid: () => true } })).toBeUndefined();
  });

  it('never hold a secret in clear', () => {
    const digest = describeRules('introspection', { clientSecret: 'a-secret-nobody-may-read' });
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('a router\'s rules', () => {
  it('name its sources in order and its DPoP settings', () => {
    const a = named(jwt('a'));
    const b = named(jwt('b'));
    expect(routerRules([a], undefined)).toBe(routerRules([named(jwt('a'))], undefined));
    expect(routerRules([a], undefined)).not.toBe(routerRules([b], undefined));
    expect(routerRules([a, { ...b, name: 'jwt2' }], undefined)).not.toBe(routerRules([{ ...b, name: 'jwt2' }, a], undefined));
    const dpop = resolveDpopOptions({ url: 'https://mcp.example.com' }, ['jwt']);
    expect(routerRules([a], dpop)).not.toBe(routerRules([a], undefined));
  });

  it('are unknown when a source cannot say its rules: such a router shares no rejection', () => {
    const custom: TokenVerifier = { name: 'custom', verifyAccessToken: async () => null };
    expect(routerRules([named(jwt('a')), named(custom)], undefined)).toBeUndefined();
  });
});

describe('the kind of request', () => {
  it('is Bearer, or the DPoP proof\'s key, and the client certificate when one was shown', () => {
    expect(requestKind({})).toBe('bearer');
    expect(requestKind({ dpopJkt: 'k1' })).not.toBe(requestKind({ dpopJkt: 'k2' }));
    expect(requestKind({ dpopJkt: 'k1' })).not.toBe(requestKind({}));
    expect(requestKind({ x5tS256: 't' })).not.toBe(requestKind({}));
  });
});
