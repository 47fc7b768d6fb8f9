import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { InvalidTokenError, MultiAuthError, TemporarilyUnavailableError } from '../../lib/core/errors';
import type { AuthServer, Decision } from '../../lib/core/types';
import { appWith, behavingVerifier, oneTokenVerifier } from '../support/app';

function primaryAccepting(token: string): AuthServer & { calls: number } {
  const verifier = oneTokenVerifier('primary-src', token) as AuthServer & { calls: number };
  verifier.routes = () => (_req, _res, next) => next();
  return verifier;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('the chain', () => {
  it('tries the primary first and stops there when it accepts', async () => {
    const primary = primaryAccepting('shared');
    const other = oneTokenVerifier('other', 'shared');
    const res = await request(appWith(multiAuth({ primary, verifiers: other, cache: false }))).get('/echo').set(bearer('shared'));
    expect(res.body.source).toBe('primary-src');
    expect(other.calls).toBe(0);
  });

  it('falls through to the verifiers in order; the first acceptance wins', async () => {
    const a = oneTokenVerifier('a', 'token-a');
    const b = oneTokenVerifier('b', 'token-b');
    const b2 = oneTokenVerifier('b2', 'token-b');
    const app = appWith(multiAuth({ primary: primaryAccepting('token-p'), verifiers: [a, b, b2], cache: false }));
    expect((await request(app).get('/echo').set(bearer('token-b'))).body.source).toBe('b');
    expect(a.calls).toBe(1);
    expect(b2.calls).toBe(0);
  });

  it('names unnamed sources verifier-<index> and an unnamed primary "primary"', async () => {
    const primary = { ...primaryAccepting('p'), name: undefined };
    const app = appWith(multiAuth({ primary, verifiers: [oneTokenVerifier(undefined, 'x'), oneTokenVerifier(undefined, 'y')] }));
    expect((await request(app).get('/echo').set(bearer('p'))).body.source).toBe('primary');
    expect((await request(app).get('/echo').set(bearer('y'))).body.source).toBe('verifier-1');
  });

  it('goes on past a source that throws, synchronously or not, and accepts at a later one', async () => {
    const syncThrow = behavingVerifier('sync', () => {
      throw new Error('boom');
    });
    const asyncThrow = behavingVerifier('async', async () => {
      throw new TypeError('bug');
    });
    const res = await request(appWith(multiAuth({ verifiers: [syncThrow, asyncThrow, oneTokenVerifier('ok', 't')] })))
      .get('/echo')
      .set(bearer('t'));
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('ok');
  });

  it('answers 401 (not 503) when every source throws a plain error', async () => {
    const crash = () => behavingVerifier(`crash-${Math.random()}`, () => Promise.reject(new Error('unknown token')));
    const res = await request(appWith(multiAuth({ verifiers: [crash(), crash()] }))).get('/echo').set(bearer('t'));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });

  it('answers 401 when every source rejects, by null or by an invalid_token error', async () => {
    const throwsInvalid = behavingVerifier('x', () => Promise.reject(new InvalidTokenError()));
    const res = await request(appWith(multiAuth({ verifiers: [oneTokenVerifier('a', 'other'), throwsInvalid] })))
      .get('/echo')
      .set(bearer('t'));
    expect(res.status).toBe(401);
  });

  it('cuts a hanging source at timeoutMs, goes on, and accepts at the next source', async () => {
    const hang = behavingVerifier('hang', () => new Promise(() => undefined));
    const decisions: Decision[] = [];
    const started = Date.now();
    const res = await request(
      appWith(multiAuth({ verifiers: [hang, oneTokenVerifier('ok', 't')], timeoutMs: 100, onDecision: (d) => decisions.push(d) })),
    )
      .get('/echo')
      .set(bearer('t'));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(decisions[0].attempts.map((a) => [a.source, a.outcome])).toEqual([['hang', 'failed'], ['ok', 'accepted']]);
  });

  it('answers 503 when a hanging source times out and nothing accepts', async () => {
    const hang = behavingVerifier('hang', () => new Promise(() => undefined));
    const res = await request(appWith(multiAuth({ verifiers: [oneTokenVerifier('a', 'x'), hang], timeoutMs: 50 })))
      .get('/echo')
      .set(bearer('t'));
    expect(res.status).toBe(503);
  });

  it('aborts the signal handed to a source when its time runs out', async () => {
    let aborted = false;
    const hang = {
      name: 'listens',
      verifyAccessToken: (_t: string, ctx?: { signal: AbortSignal }) =>
        new Promise<null>((resolve) => ctx?.signal.addEventListener('abort', () => { aborted = true; resolve(null); })),
    };
    await request(appWith(multiAuth({ verifiers: hang, timeoutMs: 30 }))).get('/echo').set(bearer('t'));
    expect(aborted).toBe(true);
  });

  it('treats a malformed AuthInfo as an error of that source, never an acceptance', async () => {
    const malformed = [
      { token: 't', scopes: [] },
      { token: 't', clientId: 'c', scopes: 'read' },
      { token: 't', clientId: 'c', scopes: [], expiresAt: '2099' },
      { token: 't', clientId: 'c', scopes: [], resource: 'https://not-a-url-object' },
      'yes',
    ];
    for (const answer of malformed) {
      const decisions: Decision[] = [];
      const src = behavingVerifier('bad', async () => answer);
      const res = await request(appWith(multiAuth({ verifiers: src, onDecision: (d) => decisions.push(d) }))).get('/echo').set(bearer('t'));
      expect(res.status).toBe(401);
      expect(decisions[0].attempts[0].outcome).toBe('errored');
    }
  });
});

describe('onDecision', () => {
  it('gets one record per request with outcome, source and each attempt, and never the token', async () => {
    const decisions: Decision[] = [];
    const secret = 'super-secret-token-value';
    const leaky = behavingVerifier('leaky', (token) => {
      throw new Error(`cannot parse ${token}`);
    });
    const app = appWith(multiAuth({ verifiers: [leaky, oneTokenVerifier('ok', secret)], onDecision: (d) => decisions.push(d), cache: false }));
    await request(app).get('/echo').set(bearer(secret));
    await request(app).get('/echo').set(bearer('wrong-token'));
    await request(app).get('/echo');
    expect(decisions.map((d) => [d.outcome, d.status, d.source])).toEqual([
      ['accepted', 200, 'ok'],
      ['rejected', 401, undefined],
      ['no_credentials', 401, undefined],
    ]);
    expect(decisions[0].attempts.map((a) => a.outcome)).toEqual(['errored', 'accepted']);
    expect(decisions[0].attempts[0].reason).toContain('cannot parse');
    expect(decisions[0].attempts.every((a) => typeof a.durationMs === 'number')).toBe(true);
    expect(decisions[0].tokenId).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(decisions)).not.toContain(secret);
    expect(JSON.stringify(decisions)).not.toContain('wrong-token');
  });

  it('cannot change the answer by throwing', async () => {
    const app = appWith(multiAuth({ verifiers: oneTokenVerifier('ok', 't'), onDecision: () => { throw new Error('observer bug'); } }));
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const res = await request(app).get('/echo').set(bearer('t'));
      expect(res.status).toBe(200);
      expect(warn).toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});

describe('auth.verify(token)', () => {
  it('resolves the same MultiAuthInfo as the HTTP path', async () => {
    const auth = multiAuth({ verifiers: [oneTokenVerifier('a', 'x'), oneTokenVerifier('b', 'y')] });
    const info = await auth.verify('y');
    expect(info).toMatchObject({ token: 'y', source: 'b', clientId: 'b-client', extra: { source: 'b' } });
  });

  it('rejects with an error carrying code, status and the decision', async () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('a', 'x'), requiredScopes: ['admin'] });
    await expect(auth.verify('nope')).rejects.toMatchObject({ code: 'invalid_token', status: 401, decision: { outcome: 'rejected' } });
    await expect(auth.verify('x')).rejects.toMatchObject({ code: 'insufficient_scope', status: 403, scopes: ['admin'] });
    await expect(auth.verify('has space')).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    const down = multiAuth({ verifiers: behavingVerifier('d', () => Promise.reject(new TemporarilyUnavailableError())) });
    const error = await down.verify('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MultiAuthError);
    expect(error).toMatchObject({ code: 'temporarily_unavailable', status: 503 });
  });
});

describe('auth.bearer alone', () => {
  it('protects only the route it is mounted on', async () => {
    const express = (await import('express')).default;
    const auth = multiAuth({ verifiers: oneTokenVerifier('a', 'x') });
    const app = express();
    app.get('/public', (_req, res) => res.send('open'));
    app.get('/private', auth.bearer, (_req, res) => res.send('closed'));
    expect((await request(app).get('/public')).status).toBe(200);
    expect((await request(app).get('/private')).status).toBe(401);
    expect((await request(app).get('/private').set(bearer('x'))).status).toBe(200);
  });
});

describe('authRequired: false', () => {
  const app = () => appWith(multiAuth({ verifiers: oneTokenVerifier('a', 'x'), authRequired: false }));
  it('lets a request without credentials through with no req.auth', async () => {
    const res = await request(app()).get('/echo');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ anonymous: true });
  });
  it('still refuses bad credentials', async () => {
    expect((await request(app()).get('/echo').set(bearer('bad'))).status).toBe(401);
    expect((await request(app()).get('/echo').set('Authorization', 'Bearer ')).status).toBe(400);
  });
  it('still accepts good ones', async () => {
    expect((await request(app()).get('/echo').set(bearer('x'))).body.source).toBe('a');
  });
});
