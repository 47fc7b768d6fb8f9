// In-process micro-benchmark of the chain alone (no HTTP, no router): CPU time per
// `multiAuth(...).verify(token)` for the shapes of configurations 4 to 7, so that a change in
// lib/ can be A/B-tested to a microsecond on a machine too noisy for `npm run bench` to tell.
//   node benchmarks/micro.mjs [libDir ...]     (default: lib/; each is compiled like run.mjs does)
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildLib } from './build-lib.mjs';
import { AUDIENCE, accessToken, foreignTokens } from './tokens.mjs';

const require = createRequire(import.meta.url);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 5);
const OPS = Number(process.env.MICRO_OPS ?? 20_000);

function issuer(name) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { name, issuer: `https://${name}.bench.test`, kid: `${name}-k`, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid: `${name}-k`, alg: 'RS256' } };
}

async function cpuPerOp(run, tokens) {
  const n = OPS;
  for (let i = 0; i < 2000; i++) await run(tokens[i % tokens.length]);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++) await run(tokens[i % tokens.length]);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / n);
  }
  return best;
}

async function measure(bundle) {
  const { multiAuth, jwtVerifier, staticTokenVerifier } = require(bundle);
  const names = ['primary', 'jwt-1', 'jwt-2', 'jwt-3', 'jwt-4', 'jwt-5', 'jwt-6'];
  const issuers = Object.fromEntries(names.map((n) => [n, issuer(n)]));
  const jwt = (n) => jwtVerifier({ name: n, issuer: issuers[n].issuer, audience: AUDIENCE, publicKey: issuers[n].jwk });
  const primaryJwt = jwt('primary');
  const eight = () => [
    { name: 'primary', verifyAccessToken: (t, c) => primaryJwt.verifyAccessToken(t, c), routes: () => (_q, _s, next) => next() },
    [...names.slice(1).map(jwt), staticTokenVerifier({ name: 'static', tokens: { ci_0123456789abcdefghijklmnop: { clientId: 'ci', scopes: [] } } })],
  ];
  const token = [accessToken(issuers['jwt-6'])];
  const flood = foreignTokens(5000);
  const accept = (auth) => (t) => auth.verify(t);
  const refuse = (auth) => (t) => auth.verify(t).then(() => { throw new Error('accepted a foreign token'); }, () => undefined);
  const [primary, verifiers] = eight();
  const [primary2, verifiers2] = eight();
  return {
    '(4) 1 jwtVerifier, cache: false': await cpuPerOp(accept(multiAuth({ verifiers: [jwt('jwt-6')], cache: false })), token),
    '(5) 1 jwtVerifier, cache hit': await cpuPerOp(accept(multiAuth({ verifiers: [jwt('jwt-6')] })), token),
    '(6) 8 sources, token of the 7th': await cpuPerOp(accept(multiAuth({ primary, verifiers, cache: false })), token),
    '(7) 8 sources, foreign tokens': await cpuPerOp(refuse(multiAuth({ primary: primary2, verifiers: verifiers2, cache: false })), flood),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { fork } = await import('node:child_process');
  if (process.env.MICRO_CHILD) {
    process.send(await measure(process.env.MICRO_CHILD));
    process.exit(0);
  }
  const libs = process.argv.slice(2);
  const rows = {};
  for (const lib of libs.length ? libs : [undefined]) {
    // Each variant compiled into its own file and measured in a fresh process.
    const { bundle, lib: dir } = await buildLib(lib, `micro-${Object.keys(rows).length}`);
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, MICRO_CHILD: bundle } });
    rows[dir] = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => code && reject(new Error(`micro child exited ${code}`)));
    });
  }
  const shapes = Object.keys(Object.values(rows)[0]);
  console.log(`CPU µs per verify() (best of ${ROUNDS} x ${OPS}):`);
  console.log(['shape', ...Object.keys(rows)].join(' | '));
  for (const shape of shapes) console.log([shape, ...Object.values(rows).map((r) => r[shape].toFixed(1))].join(' | '));
}
