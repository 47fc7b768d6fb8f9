// Memory bound of the default verified-result cache: a million distinct, valid tokens go
// through `multiAuth(...).verify(token)`; RSS and heap are read after forced GCs.
// Run with --expose-gc (run.mjs does).
import { createRequire } from 'node:module';
import { setImmediate as tick } from 'node:timers/promises';
import { serve } from './rpc.mjs';

const require = createRequire(import.meta.url);
const MiB = 1024 * 1024;

async function settle() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await tick();
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

async function measure({ bundle, tokens, batch = 1000 }) {
  if (typeof globalThis.gc !== 'function') throw new Error('memory.mjs needs node --expose-gc');
  const { multiAuth } = require(bundle);
  // Accepts any token with its prefix, so every token is distinct and accepted: the worst case
  // for a cache of acceptances. Cheap on purpose: what is measured is the cache, not a verifier.
  const prefixVerifier = {
    name: 'prefix',
    async verifyAccessToken(token) {
      if (!token.startsWith('mem-')) return null;
      return { token, clientId: 'mem-client', scopes: ['mcp:read'], expiresAt: Math.floor(Date.now() / 1000) + 60 };
    },
  };
  // Only remembers whether the last decision came from the cache: cheap, and shows the cache works.
  let lastCached;
  const auth = multiAuth({ verifiers: [prefixVerifier], onDecision: (decision) => (lastCached = decision.cached) });
  // Load every code path once so that the baseline already holds compiled code.
  for (let i = 0; i < 1000; i++) await auth.verify(`mem-warmup-${i}`);
  const before = await settle();
  const samples = [];
  // ~800 characters, the size of a typical access token, so that anything keeping raw tokens
  // alive would show.
  const padding = 'x'.repeat(780);
  const tokenAt = (i) => `mem-${i.toString(36).padStart(8, '0')}-${padding}`;
  let nextSample = tokens / 4;
  const started = performance.now();
  for (let done = 0; done < tokens; ) {
    const n = Math.min(batch, tokens - done);
    const pending = new Array(n);
    for (let j = 0; j < n; j++) pending[j] = auth.verify(tokenAt(done + j));
    const infos = await Promise.all(pending);
    if (infos.some((info) => info.source !== 'prefix')) throw new Error('a token was not accepted by the prefix verifier');
    done += n;
    if (done >= nextSample && done < tokens) {
      samples.push({ tokens: done, ...(await settle()) });
      nextSample += tokens / 4;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const after = await settle();
  // The newest token must come from the cache, the oldest must have been evicted (bounded LRU).
  await auth.verify(tokenAt(tokens - 1));
  const newestCached = lastCached;
  await auth.verify(tokenAt(0));
  const oldestCached = lastCached;
  return {
    tokens,
    seconds,
    before,
    after,
    samples,
    newestCached,
    oldestCached,
    rssGrowthMiB: (after.rss - before.rss) / MiB,
    heapGrowthMiB: (after.heapUsed - before.heapUsed) / MiB,
  };
}

serve({ measure });
