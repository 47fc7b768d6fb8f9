// In-process benchmark of the whole Express path without sockets: CPU time per request through
// `app.handle(req, res)` with a fake request, for bare Express, a cache hit of one jwtVerifier
// (the shape of configuration 5), the same hit with DPoP (a bound token and a fresh proof per
// request, the shape of configuration 12: minus `hit`, the cost of a proof check) and the flood
// of foreign JWTs through eight sources (7). It
// sees what `micro.mjs` cannot (the router, `req.auth`, the 401) with far less noise than
// `npm run bench`, so a change to lib/ can be A/B-tested to about a microsecond.
//   node benchmarks/middleware.mjs [libDir ...]   (default: lib/; each compiled like run.mjs does)
//   MIDDLEWARE_MODES=hit,dpop,flood node benchmarks/middleware.mjs lib /path/to/copy/of/lib
// `jwtbearer-dpop` is express-oauth2-jwt-bearer with DPoP required on the same bound token and
// proofs (the shape of configuration 11), to compare with `dpop`.
import { fork } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildLib } from './build-lib.mjs';
import { AUDIENCE, accessToken, dpopKey, dpopProof, foreignTokens, makeIssuers } from './tokens.mjs';

const require = createRequire(import.meta.url);
const ROUNDS = Number(process.env.MIDDLEWARE_ROUNDS ?? 7);
const OPS = Number(process.env.MIDDLEWARE_OPS ?? 20_000);
const MODES = (process.env.MIDDLEWARE_MODES ?? 'bare,hit,dpop,flood').split(',');

/** The app for `mode`, and the tokens its requests carry (in turn). */
function appFor(mode, bundle) {
  const express = require('express');
  const { multiAuth, jwtVerifier, staticTokenVerifier } = require(bundle);
  const issuers = Object.fromEntries(makeIssuers().map((issuer) => [issuer.name, issuer]));
  const jwt = (name) => jwtVerifier({ name, issuer: issuers[name].issuer, audience: AUDIENCE, publicKey: issuers[name].jwk });
  const app = express();
  let tokens = [accessToken(issuers['jwt-6'])];
  let key;
  if (mode === 'hit') {
    app.use(multiAuth({ verifiers: [jwt('jwt-6')] }));
  } else if (mode === 'jwtbearer-dpop') {
    key = dpopKey();
    const target = issuers['jwt-6'];
    tokens = [accessToken(target, 3600, { cnf: { jkt: key.jkt } })];
    const publicKey = createPublicKey({ key: target.jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const { auth } = require('express-oauth2-jwt-bearer');
    app.use(auth({ issuer: target.issuer, audience: AUDIENCE, publicKey, tokenSigningAlg: 'RS256', dpop: { enabled: true, required: true } }));
    app.get('/api', (req, res) => res.finished$('jwt-6'));
    return { app, tokens, key };
  } else if (mode === 'dpop') {
    key = dpopKey();
    tokens = [accessToken(issuers['jwt-6'], 3600, { cnf: { jkt: key.jkt } })];
    // The public origin given: the fake request has no socket for Express to read the scheme from.
    // One client key sends every proof of the run, so the replay memory is sized for it, as for
    // configuration 12; a lib from before those options existed is measured without them.
    const base = { required: true, url: 'http://bench' };
    const sized = [{ ...base, maxReplayEntries: 2_000_000, maxReplayEntriesPerKey: 2_000_000 }, { ...base, maxReplayEntries: 2_000_000 }, base];
    let router;
    for (const dpop of sized) {
      try {
        router = multiAuth({ verifiers: [jwt('jwt-6')], dpop });
        break;
      } catch (error) {
        if (!/unknown option "dpop\.maxReplayEntries/.test(String(error?.message))) throw error;
      }
    }
    app.use(router);
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
  return { app, tokens, key };
}

async function measure(mode, bundle) {
  const { app, tokens, key } = appFor(mode, bundle);
  let n = 0;
  // DPoP proofs are single-use: made before each timed loop, so signing them is not measured.
  let proofs = [];
  const makeProofs = () => {
    if (key) proofs = Array.from({ length: OPS }, () => dpopProof(key, 'GET', 'http://bench/api', tokens[0]));
  };
  // express-oauth2-jwt-bearer reads the scheme from the socket (req.protocol): give it one.
  const socket = mode === 'jwtbearer-dpop' ? new Socket() : null;
  const once = (i) =>
    new Promise((resolve, reject) => {
      const req = new IncomingMessage(socket);
      const token = tokens[n++ % tokens.length];
      req.method = 'GET';
      req.url = '/api';
      if (key) {
        const authorization = `DPoP ${token}`;
        req.headers = { host: 'bench', authorization, dpop: proofs[i] };
        req.rawHeaders = ['Host', 'bench', 'Authorization', authorization, 'DPoP', proofs[i]];
      } else {
        const authorization = `Bearer ${token}`;
        req.headers = { host: 'bench', authorization };
        req.rawHeaders = ['Host', 'bench', 'Authorization', authorization];
      }
      const res = new ServerResponse(req);
      res.finished$ = resolve;
      const end = res.end;
      res.end = function (...args) {
        end.apply(this, args);
        resolve(this.statusCode);
      };
      app.handle(req, res, (error) => reject(error ?? new Error('no route answered')));
    });
  makeProofs();
  for (let i = 0; i < OPS; i++) {
    const answer = await once(i);
    if (key && answer !== 'jwt-6') throw new Error(`${mode}: request ${i} was not accepted: ${answer}`);
  }
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    makeProofs();
    const before = process.cpuUsage();
    for (let i = 0; i < OPS; i++) await once(i);
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
