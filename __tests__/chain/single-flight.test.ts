/**
 * Single flight: a burst of requests that all need the same remote document (a key set not yet
 * fetched, a `kid` not yet seen, an issuer's metadata, an introspection answer) costs the remote
 * server one request, not one per client request. The remote server here holds every answer
 * until all requests of the burst have reached the app, so they are truly concurrent, and counts
 * what it receives.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { SignJWT } from 'jose';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { multiAuth, type MultiAuth } from '../../lib/chain/multi-auth';
import { getAuth } from '../../lib/http/request-auth';
import type { Decision } from '../../lib/core/types';
import { AUDIENCE, createSigningKey, type SigningKey } from '../support/key-server';
import { closeServer, listenOnLoopback } from '../support/loopback';

const BURST = 200;

/** A JWKS / metadata / introspection server whose answers wait for `open()`. */
class GatedServer {
  readonly counts = new Map<string, number>();
  readonly documents = new Map<string, unknown>();
  keys: SigningKey[] = [];
  status = 200;
  origin = '';
  private waiting: (() => void)[] = [];
  private isOpen = true;
  private readonly server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
    req.resume();
    const answer = () => {
      if (this.status !== 200) return void res.writeHead(this.status, { 'content-type': 'application/json' }).end('{"error":"server_error"}');
      const body = path === '/jwks.json' ? { keys: this.keys.map((k) => k.publicJwk) } : this.documents.get(path);
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (this.isOpen) answer();
    else this.waiting.push(answer);
  });

  async start(): Promise<this> {
    this.origin = await listenOnLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    this.open();
    await closeServer(this.server);
  }

  close(): void {
    this.isOpen = false;
  }

  open(): void {
    this.isOpen = true;
    for (const answer of this.waiting.splice(0)) answer();
  }

  count(path: string): number {
    return this.counts.get(path) ?? 0;
  }

  reset(): void {
    this.counts.clear();
    this.documents.clear();
    this.status = 200;
    this.open();
  }
}

/** An app in front of `auth` that counts requests as they arrive, before the bearer check. */
class Harness {
  arrived = 0;
  readonly decisions: Decision[] = [];
  private server!: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: BURST });

  constructor(private readonly auth: MultiAuth) {}

  async start(): Promise<this> {
    const app = express();
    app.use((_req, _res, next) => {
      this.arrived++;
      next();
    });
    app.use(this.auth);
    app.get('/', (req, res) => res.json({ source: getAuth(req)!.source }));
    this.server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => this.server.once('listening', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** GET / with each token at once; resolves to the statuses, in order. */
  burst(tokens: string[]): Promise<number[]> {
    const { port } = this.server.address() as AddressInfo;
    return Promise.all(
      tokens.map(
        (token) =>
          new Promise<number>((resolve, reject) => {
            const req = http.get({ host: '127.0.0.1', port, path: '/', agent: this.agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            });
            req.on('error', reject);
          }),
      ),
    );
  }

  async untilArrived(count: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (this.arrived < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.arrived} of ${count} requests arrived`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Let the last arrivals reach their source before the remote server answers.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Sends the burst while `remote` holds its answers, opens it once every request has arrived, and
 * returns the statuses.
 */
async function heldBurst(harness: Harness, remote: GatedServer, tokens: string[]): Promise<number[]> {
  remote.close();
  const before = harness.arrived;
  const pending = harness.burst(tokens);
  await harness.untilArrived(before + tokens.length);
  remote.open();
  return pending;
}

const sign = (key: SigningKey, claims: Record<string, unknown>, kid: string = key.kid) =>
  new SignJWT({ aud: AUDIENCE, client_id: 'c', scope: 'mcp:read', ...claims })
    .setProtectedHeader({ alg: key.alg, kid })
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.privateKey);

const tokensFor = (key: SigningKey, iss: string, kid?: string) =>
  Promise.all(Array.from({ length: BURST }, (_, i) => sign(key, { iss, sub: `user-${i}` }, kid)));

let remote: GatedServer;
let key: SigningKey;
let rotated: SigningKey;
let attacker: SigningKey;
const harnesses: Harness[] = [];

async function harnessFor(auth: MultiAuth): Promise<Harness> {
  const harness = await new Harness(auth).start();
  harnesses.push(harness);
  return harness;
}

beforeAll(async () => {
  [remote, key, rotated, attacker] = await Promise.all([
    new GatedServer().start(),
    createSigningKey('ES256', 'key-1'),
    createSigningKey('ES256', 'key-2'),
    createSigningKey('ES256', 'attacker-key'),
  ]);
});

afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.stop()));
  await remote.stop();
});

beforeEach(() => {
  remote.reset();
  remote.keys = [key];
});

describe('the key set (JWKS)', () => {
  const verifier = (jwks: Record<string, number> = {}) =>
    jwtVerifier({ name: 'jwt', issuer: remote.origin, audience: AUDIENCE, jwksUri: `${remote.origin}/jwks.json`, jwks: { timeoutMs: 10_000, ...jwks } });

  it(`is fetched once for ${BURST} concurrent requests whose kid has not been fetched yet`, async () => {
    const harness = await harnessFor(multiAuth({ verifiers: verifier(), cache: false }));
    const statuses = await heldBurst(harness, remote, await tokensFor(key, remote.origin));
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(remote.count('/jwks.json')).toBe(1);
  });

  it(`is fetched once more for ${BURST} concurrent requests naming a kid published since (after the cooldown)`, async () => {
    const harness = await harnessFor(multiAuth({ verifiers: verifier({ cooldownMs: 100 }), cache: false }));
    expect(await harness.burst([await sign(key, { iss: remote.origin })])).toEqual([200]);
    expect(remote.count('/jwks.json')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    remote.keys = [key, rotated];
    const statuses = await heldBurst(harness, remote, await tokensFor(rotated, remote.origin));
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(remote.count('/jwks.json')).toBe(2);
  });

  it(`is fetched at most once for ${BURST} concurrent requests naming ${BURST} made-up kids, all refused`, async () => {
    const harness = await harnessFor(multiAuth({ verifiers: verifier({ cooldownMs: 100 }), cache: false }));
    expect(await harness.burst([await sign(key, { iss: remote.origin })])).toEqual([200]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const forged = await Promise.all(Array.from({ length: BURST }, (_, i) => sign(attacker, { iss: remote.origin, sub: `u${i}` }, `made-up-${i}`)));
    const statuses = await heldBurst(harness, remote, forged);
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(remote.count('/jwks.json')).toBe(2);
  });

  it(`is asked once when it answers 500 to ${BURST} concurrent requests: all get 503, and the back-off holds further requests`, async () => {
    remote.status = 500;
    const harness = await harnessFor(multiAuth({ verifiers: verifier({ failureBackoffMs: 60_000 }), cache: false }));
    const statuses = await heldBurst(harness, remote, await tokensFor(key, remote.origin));
    expect(new Set(statuses)).toEqual(new Set([503]));
    expect(remote.count('/jwks.json')).toBe(1);
    expect(new Set(await harness.burst((await tokensFor(key, remote.origin)).slice(0, 20)))).toEqual(new Set([503]));
    expect(remote.count('/jwks.json')).toBe(1);
  });
});

describe('the discovery document', () => {
  const discovering = (issuer: string) =>
    jwtVerifier({ name: 'jwt', issuer, audience: AUDIENCE, jwks: { timeoutMs: 10_000 } });

  it(`is fetched once (and the key set once) for ${BURST} concurrent first requests`, async () => {
    const issuer = `${remote.origin}/tenant`;
    remote.documents.set('/.well-known/oauth-authorization-server/tenant', { issuer, jwks_uri: `${remote.origin}/jwks.json` });
    const harness = await harnessFor(multiAuth({ verifiers: discovering(issuer), cache: false }));
    const statuses = await heldBurst(harness, remote, await tokensFor(key, issuer));
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(Object.fromEntries(remote.counts)).toEqual({ '/.well-known/oauth-authorization-server/tenant': 1, '/jwks.json': 1 });
  });

  it('costs each candidate URL one request when only the last one (OpenID, appended) answers', async () => {
    const issuer = `${remote.origin}/appended`;
    remote.documents.set('/appended/.well-known/openid-configuration', { issuer, jwks_uri: `${remote.origin}/jwks.json` });
    const harness = await harnessFor(multiAuth({ verifiers: discovering(issuer), cache: false }));
    const statuses = await heldBurst(harness, remote, await tokensFor(key, issuer));
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(Object.fromEntries(remote.counts)).toEqual({
      '/.well-known/oauth-authorization-server/appended': 1,
      '/.well-known/openid-configuration/appended': 1,
      '/appended/.well-known/openid-configuration': 1,
      '/jwks.json': 1,
    });
  });

  it(`is asked once when it answers 500 to ${BURST} concurrent requests: all get 503`, async () => {
    const issuer = `${remote.origin}/broken`;
    remote.status = 500;
    const harness = await harnessFor(multiAuth({ verifiers: discovering(issuer), cache: false }));
    const statuses = await heldBurst(harness, remote, await tokensFor(key, issuer));
    expect(new Set(statuses)).toEqual(new Set([503]));
    // Each candidate once (500 is a miss, so the next is tried), and no key set.
    expect(Object.fromEntries(remote.counts)).toEqual({
      '/.well-known/oauth-authorization-server/broken': 1,
      '/.well-known/openid-configuration/broken': 1,
      '/broken/.well-known/openid-configuration': 1,
    });
  });
});

describe('the introspection endpoint', () => {
  it(`is asked once about a token that ${BURST} concurrent requests carry`, async () => {
    const introspection = new GatedServer();
    await introspection.start();
    try {
      introspection.documents.set('/introspect', { active: true, client_id: 'bot', scope: 'mcp:read', token_type: 'Bearer', aud: 'https://mcp.example.com/mcp' });
      const verifier = introspectionVerifier({
        endpoint: `${introspection.origin}/introspect`, clientId: 'rs', clientSecret: 'secret', audience: 'https://mcp.example.com/mcp', timeoutMs: 10_000,
      });
      const harness = await harnessFor(multiAuth({ verifiers: verifier, cache: false }));
      const statuses = await heldBurst(harness, introspection, Array.from({ length: BURST }, () => 'the-same-opaque-token-0123'));
      expect(new Set(statuses)).toEqual(new Set([200]));
      expect(introspection.count('/introspect')).toBe(1);
    } finally {
      await introspection.stop();
    }
  });
});
