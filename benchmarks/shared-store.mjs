// A replica's per-process miss answered by the shared store, against the same miss answered by an
// introspection call, side by side: what the store saves per token a replica has not seen yet.
// One redis-server (started here, temporary directory, loopback, no persistence) and one RFC 7662
// endpoint on loopback (a minimal one: a real authorization server is slower, so the ratio is
// a floor). Tokens are verified one at a time, alternating between the two, so both see the same
// machine; latency per verification (multiAuth().verify()) is what is reported.
// Run by run.mjs (BENCH_STORE_TOKENS), or alone: node benchmarks/shared-store.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './rpc.mjs';

const require = createRequire(import.meta.url);

async function freePort() {
  const server = createNetServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('data', (chunk) => (socket.destroy(), resolve(chunk.toString().startsWith('+PONG'))));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'multiauth-bench-redis-'));
  const port = await freePort();
  const child = spawn(process.env.REDIS_SERVER ?? 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = new Promise((_, reject) => child.once('error', (e) => reject(new Error(`redis-server: ${e.message}`))));
  failed.catch(() => undefined);
  for (let i = 0; i < 400; i++) {
    if (await Promise.race([ping(port), failed])) {
      return { url: `redis://127.0.0.1:${port}`, stop: () => (child.kill('SIGKILL'), rmSync(dir, { recursive: true, force: true })) };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer PING');
}

/** A minimal RFC 7662 endpoint: every `ss-` token is active. Counts calls. */
async function startEndpoint() {
  let calls = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls++;
      const token = new URLSearchParams(body).get('token') ?? '';
      const answer = token.startsWith('ss-')
        ? { active: true, client_id: 'bench-client', scope: 'mcp:read', exp: Math.floor(Date.now() / 1000) + 600, token_type: 'Bearer', aud: 'https://mcp.bench.test/mcp' }
        : { active: false };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/introspect`, calls: () => calls, stop: () => (server.closeAllConnections(), server.close()) };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export async function measure({ bundle, tokens = 2000 }) {
  const { multiAuth, introspectionVerifier, sharedStore } = require(bundle);
  const { default: Keyv } = await import('keyv');
  const { default: KeyvRedis } = await import('@keyv/redis');
  const redis = await startRedis();
  const endpoint = await startEndpoint();
  const keyvs = [];
  const storeOn = () => {
    const keyv = new Keyv(new KeyvRedis({ url: redis.url, disableOfflineQueue: true }, { throwOnErrors: true }), { throwOnErrors: true });
    keyvs.push(keyv);
    return sharedStore(keyv, { timeoutMs: 1000 });
  };
  const verifierOptions = { endpoint: endpoint.url, clientId: 'bench-rs', clientSecret: 'bench-secret', audience: 'https://mcp.bench.test/mcp' };
  const replica = (store) =>
    multiAuth(store ? { verifiers: [introspectionVerifier({ ...verifierOptions, store })], store } : { verifiers: [introspectionVerifier(verifierOptions)] });
  try {
    const shared = Array.from({ length: tokens }, (_, i) => `ss-shared-${i}-${Math.random().toString(36).slice(2)}`);
    const fresh = Array.from({ length: tokens }, (_, i) => `ss-fresh-${i}-${Math.random().toString(36).slice(2)}`);
    // Another replica has seen the shared tokens: each is introspected once and stored.
    const first = replica(storeOn());
    for (const token of shared) await first.verify(token);
    const callsBefore = endpoint.calls();
    // This replica has seen none: every token is a per-process miss.
    const withStore = replica(storeOn());
    const withoutStore = replica(undefined);
    // Warm both paths (connections, JIT) on tokens outside the measured sets.
    for (let i = 0; i < 50; i++) {
      await withStore.verify(shared[i]);
      await withoutStore.verify(`ss-warm-${i}`);
    }
    const storeHit = [];
    const introspection = [];
    for (let i = 50; i < tokens; i++) {
      let t = performance.now();
      await withStore.verify(shared[i]);
      storeHit.push(performance.now() - t);
      t = performance.now();
      await withoutStore.verify(fresh[i]);
      introspection.push(performance.now() - t);
    }
    const introspectionCalls = endpoint.calls() - callsBefore;
    storeHit.sort((a, b) => a - b);
    introspection.sort((a, b) => a - b);
    const us = (ms) => Math.round(ms * 1000);
    return {
      tokens: storeHit.length,
      storeHit: { p50: us(quantile(storeHit, 0.5)), p90: us(quantile(storeHit, 0.9)) },
      introspection: { p50: us(quantile(introspection, 0.5)), p90: us(quantile(introspection, 0.9)) },
      ratio: quantile(introspection, 0.5) / quantile(storeHit, 0.5),
      // The store-hit replica must not have called the endpoint: only the other one did (warm-up included).
      introspectionCalls,
      expectedIntrospectionCalls: tokens,
    };
  } finally {
    await Promise.all(keyvs.map((k) => k.disconnect().catch(() => undefined)));
    endpoint.stop();
    redis.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && !process.send) {
  const { buildLib } = await import('./build-lib.mjs');
  const { bundle } = await buildLib();
  const result = await measure({ bundle, tokens: Number(process.env.BENCH_STORE_TOKENS || 2000) });
  console.log(JSON.stringify(result));
  process.exit(0);
} else if (process.send) {
  serve({ measure });
}
