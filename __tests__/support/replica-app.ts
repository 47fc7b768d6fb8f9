/**
 * One replica of a resource server, for the multi-replica tests: an Express app in its own
 * process with `multiAuth` + `introspectionVerifier`, both on one shared store (Keyv on Redis).
 * Run by `startReplica()` in ./replicas.ts with `node --import tsx`; configured by the
 * `REPLICA_CONFIG` environment variable; prints `{"ready":true,"port":N}` once it listens on
 * 127.0.0.1. Exits when its stdin closes.
 *
 * Routes: `GET /echo` (behind the bearer check) answers `{ source, clientId, dpop? }`;
 * `GET /_control/decisions` (before it) answers and clears the decisions `onDecision` saw.
 */
import express from 'express';
import Keyv from 'keyv';
import KeyvRedis, { createClient } from '@keyv/redis';
import { getAuth, introspectionVerifier, multiAuth, sharedStore } from '../../lib/index';
import type { Decision } from '../../lib/index';

interface ReplicaConfig {
  redisUrl: string;
  introspection: {
    name: string;
    endpoint: string;
    clientId: string;
    clientSecret: string;
    issuer: string;
    audience: string;
  };
  storeTimeoutMs: number;
  retryAfterMs: number;
  /** The public origin DPoP proofs name in `htu`: the same for every replica, as behind a load balancer. */
  dpopOrigin: string;
  /**
   * `false`: the store has no `setIfAbsent` (a bare Keyv), so DPoP replay ids are shared by a
   * read and a write. Default: docs/replicas.md's recipe, with an atomic SET NX PX.
   */
  atomicReplay?: boolean;
  /** `dpop.failClosed`. */
  failClosed?: boolean;
  /** `false`: a replica that takes Bearer tokens only (no `dpop` option). Default `true`. */
  dpop?: boolean;
}

const config = JSON.parse(process.env.REPLICA_CONFIG ?? '{}') as ReplicaConfig;

// docs/replicas.md's recipe: errors thrown rather than read as misses, and no offline queue, so
// a dead Redis answers at once instead of holding commands until it is back; DPoP proof ids
// claimed with one atomic SET NX PX.
const redis = createClient({ url: config.redisUrl, disableOfflineQueue: true });
redis.on('error', () => undefined);
const keyv = new Keyv(new KeyvRedis(redis, { throwOnErrors: true }), { throwOnErrors: true });
const atomic = {
  async setIfAbsent(key: string, value: unknown, ttlMs: number): Promise<boolean> {
    return (await redis.set(`nx:${key}`, JSON.stringify(value), { NX: true, PX: ttlMs })) === 'OK';
  },
};
const store = sharedStore(config.atomicReplay === false ? keyv : Object.assign(keyv, atomic), {
  timeoutMs: config.storeTimeoutMs,
  retryAfterMs: config.retryAfterMs,
});

const decisions: Decision[] = [];
const warnings: string[] = [];
process.on('warning', (warning) => {
  if (warning.message.startsWith('express-multiauth')) warnings.push(warning.message);
});

const auth = multiAuth({
  verifiers: [introspectionVerifier({ ...config.introspection, store })],
  store,
  ...(config.dpop === false ? {} : { dpop: { url: config.dpopOrigin, ...(config.failClosed ? { failClosed: true } : {}) } }),
  onDecision: (decision) => decisions.push(decision),
});

const app = express();
app.get('/_control/decisions', (_req, res) => {
  res.json({ decisions: decisions.splice(0), warnings: warnings.splice(0) });
});
app.use(auth);
app.get('/echo', (req, res) => {
  const info = getAuth(req);
  res.json({ source: info?.source, clientId: info?.clientId, ...(info?.dpop ? { dpop: info.dpop } : {}) });
});

// The client must be connected before the first request (the recipe's connectStore does this at startup).
void redis.connect().then(() => {
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
  });
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
