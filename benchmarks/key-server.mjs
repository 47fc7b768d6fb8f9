// The issuers' key server: one JWKS per issuer at /jwks/<source>.json, served over HTTP from
// its own process, counting every request it receives.
import { createServer } from 'node:http';
import { serve } from './rpc.mjs';

let keySets = new Map();
let requests = 0;
const perPath = new Map();

const server = createServer((req, res) => {
  requests++;
  perPath.set(req.url, (perPath.get(req.url) ?? 0) + 1);
  const match = /^\/jwks\/([\w-]+)\.json$/.exec(req.url ?? '');
  const set = match && keySets.get(match[1]);
  if (req.method !== 'GET' || !set) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(set);
});

serve({
  async start({ jwks }) {
    keySets = new Map(Object.entries(jwks).map(([name, keys]) => [name, JSON.stringify({ keys })]));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: server.address().port };
  },
  count: () => ({ requests, perPath: Object.fromEntries(perPath) }),
  stop: () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
});
