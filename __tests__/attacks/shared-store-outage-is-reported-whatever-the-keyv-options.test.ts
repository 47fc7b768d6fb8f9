// Attack (on the operator's view): take the shared Redis down. With the recipe as users write it,
// `new Keyv(new KeyvRedis(url))`, Keyv reports Redis errors as `error` events and answers misses,
// so every replica quietly stops sharing (DPoP proof ids included) while nothing says so. The
// defence listens to the store's `error` events: an outage is a store failure, with the warning
// and the onDecision note API.md promises, whatever the Keyv options.
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import { multiAuth } from '../../lib/chain/multi-auth';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { sharedStore } from '../../lib/transport/shared-store';
import type { Decision } from '../../lib/core/types';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import { startRedis, type RedisServer } from '../support/redis';
import { captureWarnings, type CapturedWarning } from '../support/warnings';

jest.setTimeout(60_000);

let issuer: Issuer;
let redis: RedisServer;
const keyvs: Keyv[] = [];

beforeAll(async () => {
  [issuer, redis] = await Promise.all([startIssuer(), startRedis()]);
});
afterAll(async () => {
  // Back up first, so the clients (reconnecting by themselves) can say goodbye and let go.
  if (!redis.alive) await redis.restart();
  const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
  await Promise.all(keyvs.map((k) => bounded(k.disconnect())));
  await Promise.all([issuer?.stop(), redis?.stop()]);
});

let warnings: CapturedWarning[];
beforeEach(async () => {
  if (!redis.alive) await redis.restart();
  ({ warnings } = captureWarnings());
});
afterEach(() => jest.restoreAllMocks());

async function opaqueToken(): Promise<string> {
  const response = await issuer.tokenResponse({ resource: issuer.opaqueResource, scope: 'mcp:read' });
  return response.access_token;
}

describe('a shared store that reports failures as Keyv error events counts as failing', () => {
  it.each([
    ['the default recipe: new Keyv(new KeyvRedis(url))', (url: string) => new Keyv(new KeyvRedis(url))],
    ['with disableOfflineQueue', (url: string) => new Keyv(new KeyvRedis({ url, disableOfflineQueue: true }))],
  ])('%s: an outage is warned about and noted in onDecision', async (_what, make) => {
    const keyv = make(redis.url);
    keyvs.push(keyv);
    const store = sharedStore(keyv, { timeoutMs: 2_000 });
    const decisions: Decision[] = [];
    const auth = multiAuth({
      verifiers: [introspectionVerifier({ ...introspectionOptionsFor(issuer), store })],
      store,
      onDecision: (d) => decisions.push(d),
    });
    const token = await opaqueToken();
    expect((await auth.verify(token)).clientId).toBeTruthy();
    await redis.kill();
    const again = await opaqueToken();
    // The answer stays right: per-process state and the source take over.
    expect((await auth.verify(again)).clientId).toBeTruthy();
    expect((await auth.verify(await opaqueToken())).clientId).toBeTruthy();
    expect(warnings.some((w) => w.code === 'MULTIAUTH_STORE_UNAVAILABLE')).toBe(true);
    expect(decisions.slice(1).some((d) => (d.notes ?? []).some((n) => /shared store/.test(n)))).toBe(true);
  });
});
