#!/usr/bin/env node
// `npm run soak` (not part of `npm test`): a bounded, mixed workload against multiAuth on
// loopback, checking every single answer.
//
// The server (multiAuth with a static key, a JWT source whose keys come from a JWKS server and an
// RFC 7662 introspection source, plus that JWKS server and introspection endpoint) runs in one
// child process, loaded from lib/ through tsx; the load comes from this process through autocannon.
// Every request carries a token of a known class (valid from each source, expired, forged, wrong
// audience, unknown issuer, alg none, alg confusion, unknown/inactive opaque, oversized,
// malformed, none at all); every answer is checked against what that class must get (status,
// accepting source, challenge). The server's RSS is sampled every second.
//
// Settings (environment variables):
//   SOAK_DURATION=60        seconds of load
//   SOAK_CONNECTIONS=100    concurrent connections
//   SOAK_MAX_RSS_MB=512     the server's RSS must stay below this
//
// Exits non-zero on any wrong decision, any 5xx, any request error or timeout, or RSS that keeps
// growing (second half's peak more than 25% + 32 MB above the first half's) or passes the limit.
import { fork } from 'node:child_process';
import { randomBytes, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const AUDIENCE = 'https://mcp.soak.test/mcp';
const REQUIRED_SCOPE = 'mcp:read';

function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

if (process.env.SOAK_ROLE === 'server') await serve();
else await main();

// =============================================================================================
// The server (child process)
// =============================================================================================

async function serve() {
  const http = await import('node:http');
  const require = createRequire(import.meta.url);
  const express = require('express');
  // Loaded through tsx (`--import tsx` in the fork), the way tests load lib/.
  const { multiAuth } = require('../lib/chain/multi-auth.ts');
  const { jwtVerifier } = require('../lib/sources/jwt-verifier.ts');
  const { staticTokenVerifier } = require('../lib/sources/static-token-verifier.ts');
  const { introspectionVerifier } = require('../lib/sources/introspection-verifier.ts');

  const config = await new Promise((resolve) => process.once('message', resolve));
  const listen = (server) =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

  // `introspectedJwts`: JWTs the chain handed to the introspection endpoint after the JWT source
  // refused them (foreign issuer, expired, forged...): tokens that endpoint had no need to see.
  const counters = { jwks: 0, introspection: 0, introspectedJwts: 0, escaped: 0 };

  // The JWKS server: publishes the issuer's public key.
  const jwksServer = http.createServer((req, res) => {
    counters.jwks++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [config.publicJwk] }));
  });
  const jwksPort = await listen(jwksServer);

  // The introspection endpoint: knows the active opaque tokens, answers JWTs like real servers do.
  const active = new Set(config.activeOpaque);
  const introspectionServer = http.createServer((req, res) => {
    counters.introspection++;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const token = new URLSearchParams(body).get('token') ?? '';
      res.setHeader('content-type', 'application/json');
      if (token.split('.').length === 3) {
        counters.introspectedJwts++;
        return void res.writeHead(400).end('{"error":"unsupported_token_type"}');
      }
      if (!active.has(token)) return void res.end('{"active":false}');
      res.end(JSON.stringify({ active: true, client_id: 'opaque-client', scope: REQUIRED_SCOPE, token_type: 'Bearer', exp: config.exp, aud: AUDIENCE }));
    });
  });
  const introspectionPort = await listen(introspectionServer);

  const auth = multiAuth({
    verifiers: [
      staticTokenVerifier({ name: 'static', tokens: Object.fromEntries(config.staticKeys.map((k, i) => [k, { clientId: `ci-${i}`, scopes: [REQUIRED_SCOPE] }])) }),
      jwtVerifier({ name: 'jwt', issuer: config.issuer, audience: AUDIENCE, jwksUri: `http://127.0.0.1:${jwksPort}/jwks.json` }),
      introspectionVerifier({ name: 'introspection', endpoint: `http://127.0.0.1:${introspectionPort}/introspect`, clientId: 'rs', clientSecret: 'rs-secret', audience: AUDIENCE }),
    ],
    requiredScopes: [REQUIRED_SCOPE],
    resourceMetadataUrl: 'https://mcp.soak.test/.well-known/oauth-protected-resource/mcp',
  });
  const app = express();
  app.disable('x-powered-by');
  // Echo the client's label for the token class, so that every answer can be judged alone.
  app.use((req, res, next) => {
    const label = req.headers['x-soak-class'];
    if (typeof label === 'string') res.setHeader('x-soak-class', label);
    next();
  });
  app.use(auth);
  app.get('/api', (req, res) => res.json({ source: req.auth.source }));
  app.use((error, _req, res, _next) => {
    counters.escaped++;
    res.status(500).json({ error: 'escaped', message: String(error?.message ?? error) });
  });
  const appServer = http.createServer(app);
  appServer.keepAliveTimeout = 60_000;
  const appPort = await listen(appServer);

  process.on('uncaughtException', (error) => {
    process.send({ type: 'crash', message: String(error?.stack ?? error) });
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    process.send({ type: 'crash', message: `unhandled rejection: ${String(reason?.stack ?? reason)}` });
  });
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    process.send({ type: 'memory', rss, heapUsed, at: Date.now() });
  };
  setInterval(sample, 1000).unref();
  process.on('message', (message) => {
    if (message?.type === 'stats') {
      sample();
      process.send({ type: 'stats', counters });
    }
  });
  process.send({ type: 'ready', appPort });
}

// =============================================================================================
// The load (parent process)
// =============================================================================================

async function main() {
  const { default: autocannon } = await import('autocannon');
  const jose = await import('jose');
  const durationS = envNumber('SOAK_DURATION', 60);
  const connections = envNumber('SOAK_CONNECTIONS', 100);
  const maxRssMb = envNumber('SOAK_MAX_RSS_MB', 512);

  const issuer = 'https://issuer.soak.test';
  const now = Math.floor(Date.now() / 1000);
  const exp = now + durationS + 3600;
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const attacker = await jose.generateKeyPair('ES256');
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid: 'soak-key', alg: 'ES256', use: 'sig' };
  const publicPem = await jose.exportSPKI(publicKey);

  const jwt = (claims, { key = privateKey, kid = 'soak-key', alg = 'ES256' } = {}) =>
    new jose.SignJWT({ iss: issuer, aud: AUDIENCE, client_id: 'jwt-client', scope: REQUIRED_SCOPE, iat: now, exp, ...claims })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .sign(key);
  const many = (n, make) => Promise.all(Array.from({ length: n }, (_, i) => make(i)));
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const random = () => randomBytes(24).toString('base64url');

  process.stdout.write('minting tokens... ');
  const staticKeys = Array.from({ length: 5 }, () => `sk_${random()}`);
  const activeOpaque = Array.from({ length: 2000 }, () => `op_${random()}`);
  const pools = {
    'static-ok': staticKeys,
    'static-near-miss': staticKeys.map((k) => `${k.slice(0, -1)}${k.endsWith('A') ? 'B' : 'A'}`),
    'jwt-ok': await many(3000, (i) => jwt({ sub: `user-${i}` })),
    'jwt-no-scope': await many(200, (i) => jwt({ sub: `user-${i}`, scope: 'mcp:write' })),
    expired: await many(200, (i) => jwt({ sub: `user-${i}`, iat: now - 7200, exp: now - 3600 })),
    forged: await many(200, (i) => jwt({ sub: `user-${i}` }, { key: attacker.privateKey })),
    'forged-unknown-kid': await many(200, (i) => jwt({ sub: `user-${i}` }, { key: attacker.privateKey, kid: `kid-${i}` })),
    'wrong-audience': await many(200, (i) => jwt({ sub: `user-${i}`, aud: 'https://another.soak.test/api' })),
    'unknown-issuer': await many(500, (i) => jwt({ sub: `user-${i}`, iss: `https://unknown-${i}.soak.test` }, { key: attacker.privateKey })),
    'alg-none': Array.from({ length: 50 }, (_, i) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: issuer, aud: AUDIENCE, sub: `u${i}`, scope: REQUIRED_SCOPE, exp })}.`),
    'alg-confusion': Array.from({ length: 50 }, (_, i) => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'soak-key' })}.${b64({ iss: issuer, aud: AUDIENCE, sub: `u${i}`, scope: REQUIRED_SCOPE, exp })}`;
      return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
    }),
    'opaque-ok': activeOpaque,
    'opaque-inactive': Array.from({ length: 300 }, () => `op_${random()}`),
    oversized: [`x${'y'.repeat(9000)}`],
  };
  console.log('done');

  /** What each class must get. `header` is the Authorization value, or undefined for none. */
  const classes = [
    { name: 'static-ok', weight: 10, status: 200, source: 'static' },
    { name: 'static-near-miss', weight: 3, status: 401, error: 'invalid_token' },
    { name: 'jwt-ok', weight: 25, status: 200, source: 'jwt' },
    { name: 'jwt-no-scope', weight: 4, status: 403, error: 'insufficient_scope' },
    { name: 'expired', weight: 5, status: 401, error: 'invalid_token' },
    { name: 'forged', weight: 5, status: 401, error: 'invalid_token' },
    { name: 'forged-unknown-kid', weight: 2, status: 401, error: 'invalid_token' },
    { name: 'wrong-audience', weight: 4, status: 401, error: 'invalid_token' },
    { name: 'unknown-issuer', weight: 5, status: 401, error: 'invalid_token' },
    { name: 'alg-none', weight: 2, status: 401, error: 'invalid_token' },
    { name: 'alg-confusion', weight: 2, status: 401, error: 'invalid_token' },
    { name: 'opaque-ok', weight: 15, status: 200, source: 'introspection' },
    { name: 'opaque-inactive', weight: 3, status: 401, error: 'invalid_token' },
    { name: 'opaque-unknown', weight: 2, status: 401, error: 'invalid_token', fresh: () => `op_${random()}` },
    { name: 'oversized', weight: 1, status: 401, error: 'invalid_token' },
    { name: 'malformed', weight: 3, status: 400, error: 'invalid_request', headers: ['Bearer two tokens', 'Bearer', 'Bearer abc@def', 'Bearer ,', 'Bearer   '] },
    { name: 'query-token', weight: 1, status: 400, error: 'invalid_request', path: `/api?access_token=${staticKeys[0]}`, fixedHeader: `Bearer ${staticKeys[0]}` },
    { name: 'no-header', weight: 3, status: 401, error: null, noHeader: true },
    { name: 'other-scheme', weight: 2, status: 401, error: null, headers: ['Basic dXNlcjpwYXNz', 'DPoP abc', 'Bearer:abc'] },
  ];
  const byName = new Map(classes.map((c) => [c.name, c]));
  const wheel = classes.flatMap((c) => Array(c.weight).fill(c));
  const pick = (list) => list[Math.floor(Math.random() * list.length)];

  const child = fork(SELF, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, SOAK_ROLE: 'server' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const samples = [];
  const crashes = [];
  let stats;
  child.on('message', (message) => {
    if (message.type === 'memory') samples.push(message);
    else if (message.type === 'crash') crashes.push(message.message);
    else if (message.type === 'stats') stats = message.counters;
  });
  const ready = new Promise((resolve, reject) => {
    child.on('message', (message) => message.type === 'ready' && resolve(message));
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
  child.send({ publicJwk, issuer, staticKeys, activeOpaque, exp });
  const { appPort } = await ready;

  const counts = new Map(classes.map((c) => [c.name, { sent: 0, answered: 0, wrong: 0 }]));
  const wrongExamples = [];
  const statusCounts = {};
  let fiveXx = 0;

  const judge = (cls, status, body, headers) => {
    if (status !== cls.status) return `status ${status}, expected ${cls.status}`;
    if (cls.status === 200) {
      let source;
      try {
        source = JSON.parse(body).source;
      } catch {
        return `unparseable body ${String(body).slice(0, 80)}`;
      }
      return source === cls.source ? undefined : `accepted by ${source}, expected ${cls.source}`;
    }
    const challenge = headers['www-authenticate'];
    if (typeof challenge !== 'string' || !challenge.startsWith('Bearer')) return `no Bearer challenge (${challenge})`;
    if (/[\r\n]/.test(challenge)) return 'CR/LF in challenge';
    const error = /(?:^Bearer |, )error="([^"]*)"/.exec(challenge)?.[1] ?? null;
    if (error !== cls.error) return `challenge error ${error}, expected ${cls.error}`;
    return undefined;
  };

  console.log(`soak: ${durationS} s, ${connections} connections, server pid ${child.pid} on 127.0.0.1:${appPort}`);
  const startedAt = Date.now();
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${appPort}`,
        connections,
        pipelining: 1,
        duration: durationS,
        timeout: 10,
        requests: [
          {
            method: 'GET',
            path: '/api',
            setupRequest(request) {
              const cls = pick(wheel);
              counts.get(cls.name).sent++;
              const headers = { accept: 'application/json', 'x-soak-class': cls.name };
              let header;
              if (cls.noHeader) header = undefined;
              else if (cls.fixedHeader) header = cls.fixedHeader;
              else if (cls.headers) header = pick(cls.headers);
              else header = `Bearer ${cls.fresh ? cls.fresh() : pick(pools[cls.name])}`;
              if (header !== undefined) headers.authorization = header;
              request.headers = headers;
              request.path = cls.path ?? '/api';
              return request;
            },
            onResponse(status, body, _context, rawHeaders) {
              statusCounts[status] = (statusCounts[status] ?? 0) + 1;
              if (status >= 500) fiveXx++;
              const headers = Object.fromEntries(Object.entries(rawHeaders).map(([k, v]) => [k.toLowerCase(), v]));
              const cls = byName.get(headers['x-soak-class']);
              if (!cls) {
                if (wrongExamples.length < 10) wrongExamples.push(`unlabelled answer ${status}`);
                return;
              }
              const entry = counts.get(cls.name);
              entry.answered++;
              const why = judge(cls, status, body, headers);
              if (why) {
                entry.wrong++;
                if (wrongExamples.length < 10) wrongExamples.push(`${cls.name}: ${why}`);
              }
            },
          },
        ],
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
  const elapsedS = (Date.now() - startedAt) / 1000;

  stats = undefined;
  child.send({ type: 'stats' });
  for (let i = 0; i < 50 && !stats; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  child.kill('SIGTERM');

  // ---- report ------------------------------------------------------------------------------
  const mb = (bytes) => Math.round(bytes / (1024 * 1024));
  const rss = samples.map((s) => s.rss);
  const half = Math.floor(rss.length / 2);
  const firstHalfPeak = Math.max(...rss.slice(0, half));
  const secondHalfPeak = Math.max(...rss.slice(half));
  const peak = Math.max(...rss);
  const rssGrowing = secondHalfPeak > firstHalfPeak * 1.25 + 32 * 1024 * 1024;
  const rssTooBig = peak > maxRssMb * 1024 * 1024;
  const totalWrong = [...counts.values()].reduce((n, c) => n + c.wrong, 0);
  const totalAnswered = [...counts.values()].reduce((n, c) => n + c.answered, 0);

  console.log('');
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${mb(os.totalmem())} MB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`);
  console.log(`ran ${elapsedS.toFixed(1)} s; ${result.requests.total} requests (${Math.round(result.requests.average)} req/s avg), latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`);
  console.log(`statuses: ${JSON.stringify(statusCounts)}; request errors ${result.errors}, timeouts ${result.timeouts}`);
  console.log('');
  console.log('class                 expect   answered     wrong');
  for (const cls of classes) {
    const c = counts.get(cls.name);
    const expect = cls.status === 200 ? `200 ${cls.source}` : `${cls.status}`;
    console.log(`${cls.name.padEnd(21)} ${expect.padEnd(18)} ${String(c.answered).padStart(9)} ${String(c.wrong).padStart(9)}`);
  }
  console.log('');
  console.log(`wrong decisions: ${totalWrong} of ${totalAnswered}; unexpected 5xx: ${fiveXx}; crashes: ${crashes.length}; errors escaping the middleware: ${stats?.escaped ?? 'unknown'}`);
  console.log(`remote calls: JWKS ${stats?.jwks ?? '?'}, introspection ${stats?.introspection ?? '?'} (of which JWTs another source had refused: ${stats?.introspectedJwts ?? '?'})`);
  console.log(`server RSS (MB, 1/s, ${rss.length} samples): start ${mb(rss[0] ?? 0)}, first-half peak ${mb(firstHalfPeak)}, second-half peak ${mb(secondHalfPeak)}, end ${mb(rss.at(-1) ?? 0)}, limit ${maxRssMb} -> ${rssGrowing || rssTooBig ? 'NOT BOUNDED' : 'bounded'}`);
  for (const example of wrongExamples) console.log(`  wrong: ${example}`);
  for (const crash of crashes) console.log(`  crash: ${crash}`);

  const ok = totalWrong === 0 && fiveXx === 0 && crashes.length === 0 && result.errors === 0 && result.timeouts === 0 && !rssGrowing && !rssTooBig && stats?.escaped === 0;
  console.log(ok ? 'SOAK PASSED' : 'SOAK FAILED');
  process.exit(ok ? 0 : 1);
}
