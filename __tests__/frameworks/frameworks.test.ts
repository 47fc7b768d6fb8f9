/**
 * Issue 24: the same router, guards and policy under every framework that takes Node's
 * (req, res, next): Express 4 and 5, connect 3.7 on node:http, Fastify 5 with @fastify/middie and
 * with @fastify/express, and a bare node:http server. The same cases, over real HTTP, must give
 * the same answers everywhere.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import connect from 'connect';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import middie from '@fastify/middie';
import fastifyExpress from '@fastify/express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { multiAuth, type MultiAuth } from '../../lib/chain/multi-auth';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { requireScopes } from '../../lib/http/guards';
import { mcpPolicy } from '../../lib/mcp/mcp-policy';
import { getAuth } from '../../lib/http/request-auth';
import type { Decision } from '../../lib/core/types';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { makeProof, proofKey, type ProofKey } from '../support/dpop';

const ISSUER = 'https://login.example.test';
const PUBLIC_ORIGIN = 'https://mcp.example.test';
const RESOURCE = `${PUBLIC_ORIGIN}/mcp`;
const METADATA = '/.well-known/oauth-protected-resource/mcp';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** What every framework mounts: the router at the root, a guard, a policy, and a handler answering with req.auth. */
interface Parts {
  auth: MultiAuth;
  guard: Middleware;
  policy: Middleware;
}

/** What the handlers answer: who `multiAuth` says is calling. */
function echo(req: IncomingMessage): string {
  const info = getAuth(req);
  return JSON.stringify(info ? { source: info.source, clientId: info.clientId, dpop: info.dpop?.jkt ?? null } : { anonymous: true });
}

function sendEcho(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('Content-Type', 'application/json');
  res.end(echo(req));
}

interface Running {
  origin: string;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<Running> {
  return { origin: await listenOnLoopback(server), close: () => closeServer(server) };
}

function expressApp({ auth, guard, policy }: Parts) {
  const app = express();
  app.use(express.json());
  app.use(auth);
  app.all('/echo', (req, res) => sendEcho(req, res));
  app.get('/guarded', guard, (req, res) => sendEcho(req, res));
  app.post('/mcp', policy, (req, res) => sendEcho(req, res));
  return app;
}

/** Runs a (req, res, next) middleware in a Fastify preHandler, on the raw request with Fastify's parsed body. */
function preHandler(middleware: Middleware) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    (request.raw as IncomingMessage & { body?: unknown }).body = request.body;
    middleware(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
    // It answered: Fastify must not answer too.
    if (reply.raw.writableEnded) reply.hijack();
  };
}

function fastifyRoutes(app: FastifyInstance, { guard, policy }: Parts): void {
  app.all('/echo', (request, reply) => {
    reply.type('application/json').send(echo(request.raw));
  });
  app.get('/guarded', { preHandler: preHandler(guard) }, (request, reply) => {
    reply.type('application/json').send(echo(request.raw));
  });
  app.post('/mcp', { preHandler: preHandler(policy) }, (request, reply) => {
    reply.type('application/json').send(echo(request.raw));
  });
}

/** Set by jest.config.js: this project loads Express 5 (`express5`) or Express 4 (`express4`) for `express`. */
declare const EXPECTED_EXPRESS_MAJOR: number;

const expressRow: [string, (parts: Parts) => Promise<Running>] = [
  `Express ${EXPECTED_EXPRESS_MAJOR}`,
  async (parts) => listen(http.createServer(expressApp(parts))),
];

const otherFrameworks: Array<[string, (parts: Parts) => Promise<Running>]> = [
  [
    'connect 3.7 on node:http',
    async ({ auth, guard, policy }) => {
      const app = connect();
      app.use(express.json() as unknown as connect.NextHandleFunction);
      app.use(auth);
      app.use('/guarded', guard as connect.NextHandleFunction);
      app.use('/mcp', policy as connect.NextHandleFunction);
      app.use((req: IncomingMessage, res: ServerResponse) => sendEcho(req, res));
      return listen(http.createServer(app));
    },
  ],
  [
    'Fastify 5 + @fastify/middie',
    async (parts) => {
      const app = Fastify();
      await app.register(middie);
      app.use(parts.auth);
      fastifyRoutes(app, parts);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      return { origin: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  ],
  [
    'Fastify 5 + @fastify/express',
    async (parts) => {
      const app = Fastify();
      await app.register(fastifyExpress);
      app.use(parts.auth);
      fastifyRoutes(app, parts);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      return { origin: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  ],
  [
    'a bare node:http server calling the router as (req, res, next)',
    async ({ auth, guard, policy }) => {
      const json = express.json() as unknown as Middleware;
      const fail = (res: ServerResponse) => (error?: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      };
      const server = http.createServer((req, res) => {
        json(req, res, (error) => {
          if (error) return fail(res)(error);
          auth(req, res, (error) => {
            if (error) return fail(res)(error);
            const path = (req.url ?? '/').split('?')[0];
            const then = (error?: unknown) => (error ? fail(res)(error) : sendEcho(req, res));
            if (path === '/guarded') guard(req, res, then);
            else if (path === '/mcp') policy(req, res, then);
            else if (path === '/echo') sendEcho(req, res);
            else {
              res.statusCode = 404;
              res.end();
            }
          });
        });
      });
      return listen(server);
    },
  ],
];

// The express4 project runs this file again for its Express row; the other frameworks do not
// depend on which Express the project maps, so they run once, in the express5 project.
const frameworks = EXPECTED_EXPRESS_MAJOR === 4 ? [expressRow] : [expressRow, ...otherFrameworks];

let signingKey: CryptoKey;
let publicJwk: JWK;
let holder: ProofKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
  holder = await proofKey();
});

async function token(scope: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ scope, client_id: 'app', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(RESOURCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signingKey);
}

async function call(origin: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${origin}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

const toolCall = (name: string) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } });

describe.each(frameworks)('under %s', (_name, mount) => {
  let running: Running;
  const decisions: Array<{ decision: Decision; url: string | undefined }> = [];

  beforeAll(async () => {
    const auth = multiAuth({
      primary: remoteAuthServer({
        issuer: ISSUER,
        resource: RESOURCE,
        verifier: jwtVerifier({ issuer: ISSUER, audience: RESOURCE, publicKey: publicJwk }),
      }),
      requiredScopes: ['mcp:read'],
      dpop: { url: PUBLIC_ORIGIN },
      onDecision: (decision, req) => decisions.push({ decision, url: req?.url }),
    });
    const guard = requireScopes('admin');
    const policy = mcpPolicy({ tools: { delete_repo: { scopes: ['repo:admin'] } } }, { auth });
    running = await mount({ auth, guard, policy });
  });

  afterAll(() => running.close());

  it('accepts a valid token: 200, req.auth names the source', async () => {
    const response = await call(running.origin, '/echo', { headers: { Authorization: `Bearer ${await token('mcp:read')}` } });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ source: 'primary', clientId: 'app', dpop: null });
  });

  it('refuses a bad token: 401 invalid_token', async () => {
    const response = await call(running.origin, '/echo', { headers: { Authorization: 'Bearer not-a-valid-token' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('challenges a request without a token: 401 with resource_metadata', async () => {
    const response = await call(running.origin, '/echo');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain(`resource_metadata="${PUBLIC_ORIGIN}${METADATA}"`);
  });

  it("serves the primary's metadata to GET, without a token", async () => {
    const response = await call(running.origin, METADATA);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.json()).toMatchObject({ resource: RESOURCE, authorization_servers: [ISSUER] });
  });

  it('answers HEAD on the metadata with 200 and no body', async () => {
    const response = await call(running.origin, METADATA, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
  });

  it('answers a CORS preflight (OPTIONS) on the metadata with 204 and an open origin', async () => {
    const response = await call(running.origin, METADATA, {
      method: 'OPTIONS',
      headers: { Origin: 'https://client.example.test', 'Access-Control-Request-Method': 'GET' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('answers POST on the metadata with 405 and Allow', async () => {
    const response = await call(running.origin, METADATA, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('a scope guard refuses a token without the scope: 403 insufficient_scope naming it', async () => {
    const response = await call(running.origin, '/guarded', { headers: { Authorization: `Bearer ${await token('mcp:read')}` } });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="[^"]*admin/);
  });

  it('a scope guard lets a token with the scope through', async () => {
    const response = await call(running.origin, '/guarded', { headers: { Authorization: `Bearer ${await token('mcp:read admin')}` } });
    expect(response.status).toBe(200);
  });

  it('mcpPolicy allows a tool call that needs nothing more', async () => {
    const response = await call(running.origin, '/mcp', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await token('mcp:read')}`, 'Content-Type': 'application/json' },
      body: toolCall('read_note'),
    });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ source: 'primary' });
  });

  it('mcpPolicy asks for a step-up: 403 naming the router scopes and the tool scope', async () => {
    const response = await call(running.origin, '/mcp', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await token('mcp:read')}`, 'Content-Type': 'application/json' },
      body: toolCall('delete_repo'),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toMatch(/scope="mcp:read repo:admin"/);
  });

  it('accepts a DPoP-bound token with its proof, and refuses it as Bearer', async () => {
    const bound = await token('mcp:read', { cnf: { jkt: holder.jkt } });
    const proof = await makeProof(holder, { htm: 'GET', htu: `${PUBLIC_ORIGIN}/echo`, token: bound });
    const response = await call(running.origin, '/echo', { headers: { Authorization: `DPoP ${bound}`, DPoP: proof } });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ source: 'primary', clientId: 'app', dpop: holder.jkt });
    const asBearer = await call(running.origin, '/echo', { headers: { Authorization: `Bearer ${bound}` } });
    expect(asBearer.status).toBe(401);
  });

  it('reports each decision to onDecision with the request', async () => {
    decisions.length = 0;
    await call(running.origin, '/echo?probe=1', { headers: { Authorization: 'Bearer not-a-valid-token' } });
    expect(decisions).toEqual([{ decision: expect.objectContaining({ outcome: 'rejected', status: 401 }), url: '/echo?probe=1' }]);
  });
});
