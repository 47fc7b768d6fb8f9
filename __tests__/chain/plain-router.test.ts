/**
 * multiAuth() returns Express's own Router, dispatching through its own layers: APM and
 * OpenTelemetry instrumentations wrap each layer's handler, and they must see every request;
 * calling the router by hand must behave exactly as calling any Express router does.
 */
import http from 'node:http';
import express, { Router } from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { appWith, oneTokenVerifier } from '../support/app';
import { closeServer, listenOnLoopback } from '../support/loopback';

/** What express's Layer carries in both majors; the types leave the stack out. */
interface LayerLike {
  handle: RequestHandler;
}

/** Wraps every layer of `router` the way APM agents do (they replace `layer.handle`); counts calls. */
function instrument(router: Router): { calls: number } {
  const counter = { calls: 0 };
  for (const layer of (router as unknown as { stack: LayerLike[] }).stack) {
    const original = layer.handle;
    layer.handle = function instrumented(this: unknown, req: Request, res: Response, next: NextFunction) {
      counter.calls++;
      return original.call(this, req, res, next);
    } as RequestHandler;
  }
  return counter;
}

describe('the router multiAuth() returns', () => {
  it('lets a wrapper around its layers see every request, accepted or refused', async () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('only', 'good-token') });
    const counter = instrument(auth);
    const app = appWith(auth);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const token = i % 2 === 0 ? 'good-token' : 'bad-token';
      statuses.push((await request(app).get('/echo').set('Authorization', `Bearer ${token}`)).status);
    }
    expect(statuses).toEqual([200, 401, 200, 401, 200, 401, 200, 401]);
    expect(counter.calls).toBe(8);
  });

  it('is called without next exactly as a plain Express Router is (same synchronous outcome)', async () => {
    const outcomes: Array<{ which: string; threw?: string; status?: number }> = [];
    const plain = Router();
    plain.use((_req, res) => {
      res.statusCode = 401;
      res.end();
    });
    const auth = multiAuth({ verifiers: oneTokenVerifier('only', 'good-token') });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const app = express();
    app.use((req, res) => {
      const which = req.url === '/plain' ? 'plain' : 'auth';
      const router = which === 'plain' ? plain : auth;
      try {
        // The Express 5 router refuses a missing callback; Express 4's accepts it. Either way
        // multiAuth must do what the plain router does, never fail later and unobserved.
        (router as unknown as (req: Request, res: Response) => void)(req, res);
        outcomes.push({ which });
      } catch (error) {
        outcomes.push({ which, threw: `${(error as Error).name}: ${(error as Error).message}` });
        res.statusCode = 500;
        res.end();
      }
    });
    const server = http.createServer(app);
    const origin = await listenOnLoopback(server);
    try {
      const plainStatus = (await fetch(`${origin}/plain`, { headers: { authorization: 'Bearer bad-token' } })).status;
      const authStatus = (await fetch(`${origin}/auth`, { headers: { authorization: 'Bearer bad-token' } })).status;
      // Let a late failure of the old dispatch (an unhandled rejection) surface.
      await new Promise((resolve) => setImmediate(resolve));
      expect(outcomes.map((o) => o.threw)).toEqual([outcomes[0].threw, outcomes[0].threw]);
      expect(authStatus === 500).toBe(plainStatus === 500);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await closeServer(server);
    }
  });

  it('is an Express router that later layers (auth.use) extend as usual', async () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('only', 'good-token') });
    auth.get('/after', (_req, res) => {
      res.json({ after: true });
    });
    const app = express();
    app.use(auth);
    const res = await request(app).get('/after').set('Authorization', 'Bearer good-token');
    expect(res.body).toEqual({ after: true });
    expect((await request(app).get('/after').set('Authorization', 'Bearer bad-token')).status).toBe(401);
  });
});
