import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { MultiAuthConfigError } from '../../lib/core/errors';
import type { AuthServer } from '../../lib/core/types';
import { appWith, oneTokenVerifier } from '../support/app';

function recordingPrimary(requiredScopes?: string[]): AuthServer & { seen: string[][] } {
  const primary = {
    name: 'oauth',
    requiredScopes,
    seen: [] as string[][],
    async verifyAccessToken(token: string) {
      return token === 'user' ? { token, clientId: 'u', scopes: ['a'], expiresAt: 4102444800 } : null;
    },
    routes(context: { requiredScopes: string[] }) {
      primary.seen.push(context.requiredScopes);
      return (_req: unknown, _res: unknown, next: () => void) => next();
    },
  };
  return primary;
}

describe('construction refuses configuration that cannot work', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['no source at all', {}, /primary or at least one verifier/],
    ['an empty verifiers array', { verifiers: [] }, /primary or at least one verifier/],
    ['two sources with one name', { verifiers: [oneTokenVerifier('x', 'a'), oneTokenVerifier('x', 'b')] }, /two sources are named "x"/],
    ['a primary and a verifier with one name', { primary: { ...recordingPrimary(), name: 'dup' }, verifiers: oneTokenVerifier('dup', 'b') }, /named "dup"/],
    ['requiredScopes that is a string', { verifiers: oneTokenVerifier('x', 'a'), requiredScopes: 'mcp:read' }, /requiredScopes must be an array/],
    ['a scope with a space', { verifiers: oneTokenVerifier('x', 'a'), requiredScopes: ['a b'] }, /without spaces/],
    ['an unknown option', { verifiers: oneTokenVerifier('x', 'a'), requireScopes: ['a'] }, /unknown option "requireScopes"/],
    ['a verifier without verifyAccessToken', { verifiers: [{ verify: () => null }] }, /verifiers\[0\] must be a token verifier/],
    ['a primary without routes()', { primary: oneTokenVerifier('p', 'a') }, /routes\(\) method/],
    ['a negative timeout', { verifiers: oneTokenVerifier('x', 'a'), timeoutMs: -1 }, /timeoutMs must be a positive number/],
    ['a relative resourceMetadataUrl', { verifiers: oneTokenVerifier('x', 'a'), resourceMetadataUrl: '/.well-known/x' }, /absolute http\(s\) URL/],
    ['a cache option that does not exist', { verifiers: oneTokenVerifier('x', 'a'), cache: { size: 3 } }, /unknown option "cache.size"/],
    ['a fractional cache size', { verifiers: oneTokenVerifier('x', 'a'), cache: { max: 1.5 } }, /cache\.max must be a positive whole number/],
    ['onDecision that is not a function', { verifiers: oneTokenVerifier('x', 'a'), onDecision: 'log' }, /onDecision must be a function/],
    ['options that are not an object', undefined, /options must be an object/],
  ];
  it.each(bad)('refuses %s with a MultiAuthConfigError that says what to fix', (_name, options, message) => {
    let error: unknown;
    try {
      multiAuth(options as Parameters<typeof multiAuth>[0]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MultiAuthConfigError);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(message);
  });

  it('accepts a single verifier given bare, not in an array', () => {
    expect(multiAuth({ verifiers: oneTokenVerifier('x', 'a') }).sourceNames).toEqual(['x']);
  });

  it('refuses a resourceMetadataUrl whose path the primary does not serve', () => {
    const primary = { ...recordingPrimary(), resourceMetadataUrl: 'https://a.example/.well-known/oauth-protected-resource/mcp' };
    expect(() => multiAuth({ primary, resourceMetadataUrl: 'https://a.example/.well-known/oauth-protected-resource' })).toThrow(
      /does not serve/,
    );
    expect(
      multiAuth({ primary, resourceMetadataUrl: 'https://public.example/.well-known/oauth-protected-resource/mcp' }).resourceMetadataUrl,
    ).toBe('https://public.example/.well-known/oauth-protected-resource/mcp');
  });
});

describe('requiredScopes', () => {
  it('inherits the primary\'s when not given, and hands them to routes()', () => {
    const primary = recordingPrimary(['mcp:read']);
    const auth = multiAuth({ primary });
    expect(auth.requiredScopes).toEqual(['mcp:read']);
    expect(primary.seen).toEqual([['mcp:read']]);
  });

  it('an explicit [] clears the primary\'s, in enforcement and in routes()', async () => {
    const primary = recordingPrimary(['mcp:read']);
    const auth = multiAuth({ primary, requiredScopes: [] });
    expect(auth.requiredScopes).toEqual([]);
    expect(primary.seen).toEqual([[]]);
    const res = await request(appWith(auth)).get('/echo').set('Authorization', 'Bearer user');
    expect(res.status).toBe(200);
  });

  it('an override replaces the primary\'s, in enforcement and in routes()', async () => {
    const primary = recordingPrimary(['a']);
    const auth = multiAuth({ primary, requiredScopes: ['b'] });
    expect(primary.seen).toEqual([['b']]);
    const res = await request(appWith(auth)).get('/echo').set('Authorization', 'Bearer user');
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('scope="b"');
  });

  it('is none without a primary', () => {
    expect(multiAuth({ verifiers: oneTokenVerifier('x', 'a') }).requiredScopes).toEqual([]);
  });

  it('is read-only', () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('x', 'a'), requiredScopes: ['a'] });
    expect(() => (auth.requiredScopes as string[]).push('b')).toThrow();
  });
});

describe('routes', () => {
  it('are a pass-through without a primary', async () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('x', 'a') });
    const next = jest.fn();
    auth.routes({} as never, {} as never, next);
    expect(next).toHaveBeenCalledTimes(1);
  });
});
