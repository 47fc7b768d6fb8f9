// In-process benchmark of the whole Express path without sockets: CPU time per request through
// `app.handle(req, res)` with a fake request, for bare Express, a cache hit of one jwtVerifier
// (the shape of configuration 5) and the flood of foreign JWTs through eight sources (7). It
// sees what `micro.mjs` cannot (the router, `req.auth`, the 401) with far less noise than
// `npm run bench`, so a change to lib/ can be A/B-tested to about a microsecond.
//   node benchmarks/middleware.mjs [libDir ...]   (default: lib/; each compiled like run.mjs does)
//   MIDDLEWARE_MODES=hit,flood node benchmarks/middleware.mjs lib /path/to/copy/of/lib
import { fork } from 'node:child_process';
import { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildLib } from './build-lib.mjs';
import { AUDIENCE, accessToken, foreignTokens, makeIssuers } from './tokens.mjs';

const require = createRequire(import.meta.url);
const ROUNDS = Number(process.env.MIDDLEWARE_ROUNDS ?? 7);
const OPS = Number(process.env.MIDDLEWARE_OPS ?? 20_000);
const MODES = (process.env.MIDDLEWARE_MODES ?? 'bare,hit,flood').split(',');

/** The app for `mode`, and the tokens its requests carry (in turn). */
function appFor(mode, bundle) {
  const express = require('express');
  const { multiAuth, jwtVerifier, staticTokenVerifier } = require(bundle);
  const issuers = Object.fromEntries(makeIssuers().map((issuer) => [issuer.name, issuer]));
  const jwt = (name) => jwtVerifier({ name, issuer: issuers[name].issuer, audience: AUDIENCE, publicKey: issuers[name].jwk });
  const app = express();
  let tokens = [accessToken(issuers['jwt-6'])];
  if (mode === 'hit') {
    app.use(multiAuth({ verifiers: [jwt('jwt-6')] }));
  } else if (mode === 'flood') {
    const primaryJwt = jwt('primary');
    const primary = { name: 'primary', verifyAccessToken: (t, c) => primaryJwt.verifyAccessToken(t, c), routes: () => (_q, _s, next) => next() };
    const others = ['jwt-1', 'jwt-2', 'jwt-3', 'jwt-4', 'jwt-5', 'jwt-6'].map(jwt);
    const ci = staticTokenVerifier({ name: 'static', tokens: { ci_0123456789abcdefghijklmnop: { clientId: 'ci', scopes: [] } } });
    app.use(multiAuth({ primary, verifiers: [...others, ci], cache: false }));
    tokens = foreignTokens(5000);
  } else if (mode !== 'bare') {
    throw new Error(`unknown mode ${mode}`);
  }
  app.get('/api', (req, res) => res.finished$(req.auth?.source));
  return { app, tokens };
}

async function measure(mode, bundle) {
  const { app, tokens } = appFor(mode, bundle);
  let n = 0;
  const once = () =>
    new Promise((resolve, reject) => {
      const req = new IncomingMessage(null);
      const authorization = `Bearer ${tokens[n++ % tokens.length]}`;
      req.method = 'GET';
      req.url = '/api';
      req.headers = { host: 'bench', authorization };
      req.rawHeaders = ['Host', 'bench', 'Authorization', authorization];
      const res = new ServerResponse(req);
      res.finished$ = resolve;
      const end = res.end;
      res.end = function (...args) {
        end.apply(this, args);
        resolve(this.statusCode);
      };
      app.handle(req, res, (error) => reject(error ?? new Error('no route answered')));
    });
  for (let i = 0; i < OPS; i++) await once();
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < OPS; i++) await once();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / OPS);
  }
  return best;
}

if (process.env.MIDDLEWARE_CHILD) {
  process.send(await measure(process.env.MIDDLEWARE_MODE, process.env.MIDDLEWARE_CHILD));
  process.exit(0);
}

const dirs = process.argv.length > 2 ? process.argv.slice(2) : [undefined];
const bundles = [];
for (const [index, dir] of dirs.entries()) bundles.push({ label: dir ?? 'lib', ...(await buildLib(dir, `middleware-${index}`)) });
const rows = {};
// Alternating copies within each mode, twice, so that drift on a shared machine hits all alike.
for (const mode of MODES) {
  for (let round = 0; round < 2; round++) {
    for (const { label, bundle } of mode === 'bare' ? bundles.slice(0, 1) : bundles) {
      const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, MIDDLEWARE_CHILD: bundle, MIDDLEWARE_MODE: mode } });
      const us = await new Promise((resolve, reject) => child.once('message', resolve).once('exit', (code) => code && reject(new Error(`child exited ${code}`))));
      const row = (rows[mode === 'bare' ? 'bare Express' : `${mode}: ${label}`] ??= []);
      row.push(us.toFixed(2));
    }
  }
}
console.log(`CPU µs per request through app.handle (best of ${ROUNDS} x ${OPS}; two alternating runs):`);
for (const [name, values] of Object.entries(rows)) console.log(`${name} | ${values.join(' | ')}`);
