import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Request, Response } from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { getAuth } from '../../lib/http/request-auth';
import type { Decision } from '../../lib/core/types';
import { staticTokenVerifier } from '../../lib/sources/static-token-verifier';
import { appWith, oneTokenVerifier } from '../support/app';

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

describe('verified-result cache', () => {
  it('asks the source once for a token seen again, and reports the hit', async () => {
    const decisions: Decision[] = [];
    const src = oneTokenVerifier('a', 'tok');
    const app = appWith(multiAuth({ verifiers: src, onDecision: (d) => decisions.push(d) }));
    for (let i = 0; i < 3; i++) expect((await request(app).get('/echo').set(bearer('tok'))).body.source).toBe('a');
    expect(src.calls).toBe(1);
    expect(decisions.map((d) => d.cached)).toEqual([false, true, true]);
  });

  it('asks every time with cache: false', async () => {
    const src = oneTokenVerifier('a', 'tok');
    const app = appWith(multiAuth({ verifiers: src, cache: false }));
    for (let i = 0; i < 3; i++) await request(app).get('/echo').set(bearer('tok'));
    expect(src.calls).toBe(3);
  });

  it('never serves an entry past the token\'s expiresAt', async () => {
    // Two seconds ahead, not one: rounding down could leave a millisecond for the first request.
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const src = oneTokenVerifier('a', 'tok', { expiresAt });
    const app = appWith(multiAuth({ verifiers: src }));
    expect((await request(app).get('/echo').set(bearer('tok'))).status).toBe(200);
    await new Promise((r) => setTimeout(r, expiresAt * 1000 - Date.now() + 20));
    expect((await request(app).get('/echo').set(bearer('tok'))).status).toBe(401);
  });

  it('never serves an entry past ttlMs, so a revocation at the source takes effect', async () => {
    let revoked = false;
    const src = { name: 'intro', verifyAccessToken: async (t: string) => (revoked ? null : { token: t, clientId: 'c', scopes: [], expiresAt: 4102444800 }) };
    const app = appWith(multiAuth({ verifiers: src, cache: { ttlMs: 50 } }));
    expect((await request(app).get('/echo').set(bearer('tok'))).status).toBe(200);
    revoked = true;
    await new Promise((r) => setTimeout(r, 80));
    expect((await request(app).get('/echo').set(bearer('tok'))).status).toBe(401);
  });

  it('still enforces required scopes on a hit', async () => {
    const src = oneTokenVerifier('a', 'tok', { scopes: [] });
    const auth = multiAuth({ verifiers: src, requiredScopes: ['x'] });
    await expect(auth.verify('tok')).rejects.toMatchObject({ status: 403 });
    await expect(auth.verify('tok')).rejects.toMatchObject({ status: 403, decision: { cached: true } });
  });

  it('never serves one token\'s result for another', async () => {
    const app = appWith(multiAuth({ verifiers: [oneTokenVerifier('a', 'tok-a'), oneTokenVerifier('b', 'tok-b')] }));
    expect((await request(app).get('/echo').set(bearer('tok-a'))).body.source).toBe('a');
    expect((await request(app).get('/echo').set(bearer('tok-b'))).body.source).toBe('b');
    expect((await request(app).get('/echo').set(bearer('tok-c'))).status).toBe(401);
  });

  it('remembers a rejection briefly, so a repeated bad token does not reach the sources', async () => {
    const src = oneTokenVerifier('a', 'good');
    const app = appWith(multiAuth({ verifiers: src, cache: { negativeTtlMs: 1000 } }));
    for (let i = 0; i < 5; i++) expect((await request(app).get('/echo').set(bearer('bad'))).status).toBe(401);
    expect(src.calls).toBe(1);
  });

  it('remembers a rejection for verify() too, and says so in the decision', async () => {
    const src = oneTokenVerifier('a', 'good');
    const auth = multiAuth({ verifiers: src });
    await expect(auth.verify('bad')).rejects.toMatchObject({ status: 401, decision: { cached: false } });
    await expect(auth.verify('bad')).rejects.toMatchObject({ status: 401, decision: { cached: true, reason: 'rejected recently' } });
    expect(src.calls).toBe(1);
  });

  it('does not remember a token every source refused on sight, so a junk flood cannot evict real rejections', async () => {
    const decisions: Decision[] = [];
    const machines = staticTokenVerifier({ name: 'ci', tokens: { 'ci-key-0123456789': { clientId: 'ci', scopes: [] } } });
    const app = appWith(multiAuth({ verifiers: machines, onDecision: (d) => decisions.push(d) }));
    const foreignJwt = `${segment({ alg: 'RS256' })}.${segment({ iss: 'https://elsewhere.example' })}.c2ln`;
    for (let i = 0; i < 3; i++) expect((await request(app).get('/echo').set(bearer(foreignJwt))).status).toBe(401);
    expect(decisions.map((d) => d.cached)).toEqual([false, false, false]);
    expect(decisions[0].attempts).toEqual([expect.objectContaining({ source: 'ci', outcome: 'rejected', durationMs: 0 })]);
    // A token the source was asked about is remembered as before.
    decisions.length = 0;
    for (let i = 0; i < 2; i++) expect((await request(app).get('/echo').set(bearer('not-a-key'))).status).toBe(401);
    expect(decisions.map((d) => d.cached)).toEqual([false, true]);
  });

  it('answers a cached token within the middleware call, and a token it does not hold after the chain', async () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('a', 'tok') });
    const requestWith = (token: string) => {
      const req = new IncomingMessage(new Socket());
      req.url = '/echo';
      req.headers = { authorization: `Bearer ${token}` };
      req.rawHeaders = ['Authorization', `Bearer ${token}`];
      return req as Request;
    };
    const run = (req: Request) => {
      let called = false;
      const done = new Promise<void>((resolve) => auth.bearer(req, {} as Response, () => resolve(void (called = true))));
      return { calledAtOnce: called, done };
    };
    const first = requestWith('tok');
    const miss = run(first);
    expect(miss.calledAtOnce).toBe(false);
    await miss.done;
    const second = requestWith('tok');
    expect(run(second).calledAtOnce).toBe(true);
    expect(getAuth(second)).toMatchObject({ source: 'a', token: 'tok' });
    expect(getAuth(second)).not.toBe(getAuth(first));
  });

  it('answers 400 for a token of forbidden characters every time, whatever the cache holds', async () => {
    const decisions: Decision[] = [];
    const src = oneTokenVerifier('a', 'tok');
    const app = appWith(multiAuth({ verifiers: src, onDecision: (d) => decisions.push(d) }));
    expect((await request(app).get('/echo').set(bearer('tok'))).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const res = await request(app).get('/echo').set('Authorization', 'Bearer tok,tok');
      expect(res.status).toBe(400);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_request"/);
    }
    expect(src.calls).toBe(1);
    expect(decisions.map((d) => d.outcome)).toEqual(['accepted', 'invalid_request', 'invalid_request']);
  });

  it('never remembers a failure: the next request asks again', async () => {
    let down = true;
    const src = {
      name: 'flaky',
      verifyAccessToken: async (t: string) => {
        if (down) throw Object.assign(new Error('down'), { code: 'temporarily_unavailable' });
        return { token: t, clientId: 'c', scopes: [], expiresAt: 4102444800 };
      },
    };
    const app = appWith(multiAuth({ verifiers: src }));
    expect((await request(app).get('/echo').set(bearer('tok'))).status).toBe(503);
    down = false;
    expect((await request(app).get('/echo').set(bearer('tok'))).status).toBe(200);
  });
});
