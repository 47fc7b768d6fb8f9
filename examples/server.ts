/**
 * `npm start`: the example MCP server behind multiAuth, on an embedded default that needs no
 * outside service. Prints a working token per source and curl commands to try them.
 */
import { randomBytes } from 'node:crypto';
import { multiAuth, staticTokenVerifier, type TokenVerifier } from '../lib/index';
import { createMcpApp } from './mcp-app';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const base = `http://${host}:${port}`;

const ciKey = process.env.CI_KEY ?? `ci_${randomBytes(16).toString('hex')}`;
const partnerToken = `partner_${randomBytes(16).toString('hex')}`;

/** A custom source: any object with verifyAccessToken() is a verifier. */
const partners: TokenVerifier = {
  name: 'partner',
  async verifyAccessToken(token) {
    return token === partnerToken ? { token, clientId: 'partner-app', scopes: ['mcp:read'] } : null;
  },
};

const auth = multiAuth({
  verifiers: [
    staticTokenVerifier({ name: 'ci', tokens: { [ciKey]: { clientId: 'ci-pipeline', scopes: ['mcp:read', 'mcp:write'] } } }),
    partners,
  ],
  requiredScopes: ['mcp:read'],
  onDecision: (d) => console.log(`[auth] ${d.outcome} ${d.status}${d.source ? ` via ${d.source}` : ''}${d.cached ? ' (cached)' : ''}`),
});

const app = createMcpApp(auth);
app.listen(port, host, () => {
  const mcpCall = `-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\\n  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'`;
  console.log(`express-multiauth example listening on ${base}

Try each source (req.auth.source tells which one accepted the token):

  # static API key -> source "ci"
  curl -s ${base}/whoami -H 'Authorization: Bearer ${ciKey}'

  # custom verifier -> source "partner"
  curl -s ${base}/whoami -H 'Authorization: Bearer ${partnerToken}'

  # no token -> 401 with a Bearer challenge
  curl -si ${base}/whoami

  # MCP tools/call over Streamable HTTP
  curl -s ${base}/mcp -H 'Authorization: Bearer ${ciKey}' ${mcpCall}
`);
});
