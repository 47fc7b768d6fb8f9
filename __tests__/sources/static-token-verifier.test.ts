import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { inspectToken } from '../../lib/core/token-inspection';
import { notMine } from '../../lib/core/types';
import { appWith } from '../support/app';

const ci = staticTokenVerifier({
  name: 'ci',
  tokens: {
    'ci-key-0123456789': { clientId: 'ci', scopes: ['mcp:read'], subject: 'pipeline', claims: { team: 'infra' } },
    'old-key-0123456789': { clientId: 'old', scopes: [], expiresAt: Math.floor(Date.now() / 1000) - 1 },
  },
});

describe('staticTokenVerifier', () => {
  it('accepts a configured key with its client, scopes, subject and claims', async () => {
    const info = await ci.verifyAccessToken('ci-key-0123456789');
    expect(info).toMatchObject({ clientId: 'ci', scopes: ['mcp:read'], subject: 'pipeline', payload: { team: 'infra' }, source: 'ci' });
  });

  it('rejects an unknown key, a prefix of a key, and a key with one more character', async () => {
    for (const t of ['nope', 'ci-key-012345678', 'ci-key-01234567890']) expect(await ci.verifyAccessToken(t)).toBeNull();
  });

  it('refuses an expired key when called directly too', async () => {
    expect(await ci.verifyAccessToken('old-key-0123456789')).toBeNull();
  });

  it('works through multiAuth with req.auth.source, and refuses an expired key', async () => {
    const app = appWith(multiAuth({ verifiers: ci }));
    const ok = await request(app).get('/echo').set('Authorization', 'Bearer ci-key-0123456789');
    expect(ok.body).toMatchObject({ source: 'ci', clientId: 'ci' });
    expect((await request(app).get('/echo').set('Authorization', 'Bearer old-key-0123456789')).status).toBe(401);
  });

  it('gives each acceptance its own claims, so one caller\'s change never reaches the next', async () => {
    const verifier = staticTokenVerifier({ tokens: { 'k-0123456789abcdef': { clientId: 'c', scopes: ['a'], claims: { roles: ['reader'] } } } });
    const first = await verifier.verifyAccessToken('k-0123456789abcdef');
    (first?.scopes as string[]).push('admin');
    (first as unknown as { payload: { roles: string[] } }).payload.roles.push('admin');
    const second = await verifier.verifyAccessToken('k-0123456789abcdef');
    expect(second).toMatchObject({ scopes: ['a'], payload: { roles: ['reader'] } });
  });

  it('refuses a JWT on sight when no key is shaped like one, and still accepts a key that is', async () => {
    const jwtShaped = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{"sub":"ci"}').toString('base64url')}.c2lnbmF0dXJl`;
    const foreign = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"iss":"x"}').toString('base64url')}.c2ln`;
    const plainKeys = staticTokenVerifier({ tokens: { 'ci-key-0123456789': { clientId: 'ci', scopes: [] } } });
    expect(plainKeys[notMine]?.(inspectToken(foreign))).toBe(true);
    expect(plainKeys[notMine]?.(inspectToken('ci-key-0123456789'))).toBe(false);
    expect(await plainKeys.verifyAccessToken(foreign)).toBeNull();
    const withJwtKey = staticTokenVerifier({ tokens: { [jwtShaped]: { clientId: 'legacy', scopes: [] }, 'ci-key-0123456789': { clientId: 'ci', scopes: [] } } });
    expect(withJwtKey[notMine]).toBeUndefined();
    const res = await request(appWith(multiAuth({ verifiers: withJwtKey }))).get('/echo').set('Authorization', `Bearer ${jwtShaped}`);
    expect(res.body).toMatchObject({ source: 'static', clientId: 'legacy' });
  });

  it('defaults its name to "static"', () => {
    expect(staticTokenVerifier({ tokens: { 'abc-0123456789abcdef': { clientId: 'c', scopes: [] } } }).name).toBe('static');
  });

  it('does not keep the raw keys anywhere it exposes', () => {
    expect(JSON.stringify(ci)).not.toContain('ci-key');
  });

  it.each([
    ['an empty map', { tokens: {} }, /empty/],
    ['an unset environment variable as key', { tokens: { undefined: { clientId: 'c', scopes: [] } } }, /environment variable/],
    ['a key a header cannot carry', { tokens: { 'has space': { clientId: 'c', scopes: [] } } }, /b64token/],
    ['an entry without clientId', { tokens: { 'abc-0123456789abcdef': { scopes: [] } } }, /clientId/],
    ['scopes that are a string', { tokens: { 'abc-0123456789abcdef': { clientId: 'c', scopes: 'read' } } }, /scopes/],
    ['a key shorter than 16 characters (guessable)', { tokens: { 'abc-0123456789a': { clientId: 'c', scopes: [] } } }, /key #1 is 15 characters; an API key must be at least 16/],
  ])('refuses %s', (_n, options, message) => {
    expect(() => staticTokenVerifier(options as never)).toThrow(MultiAuthConfigError);
    expect(() => staticTokenVerifier(options as never)).toThrow(message);
  });
});
