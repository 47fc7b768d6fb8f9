#!/usr/bin/env node
// An MCP client on the official SDK v2 with a DpopSession (RFC 9449, SEP-1932), as its own Node
// process: the SDK loads jose with a dynamic import(), which Jest's CommonJS sandbox cannot run.
// Run by __tests__/dpop/dpop-mcp-e2e.test.ts with one JSON argument:
//   { "mcpUrl": "...", "calls": 3 }
// It logs in (registration, PKCE, an auto-approving authorization server: the redirects are
// followed with a cookie jar as a browser would), asks for a DPoP-bound token, calls the
// `whoami` tool `calls` times, and prints one JSON line with what it saw.
import { Client, DpopSession, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';

const { mcpUrl, calls = 3 } = JSON.parse(process.argv[2] ?? '{}');
const REDIRECT = 'http://127.0.0.1:9/callback';

const session = await DpopSession.create();
let client;
let tokens;
let verifier = '';
let authorizationUrl;
const provider = {
  redirectUrl: REDIRECT,
  clientMetadata: {
    client_name: 'dpop e2e',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  },
  clientInformation: () => client,
  saveClientInformation: (info) => {
    client = info;
  },
  tokens: () => tokens,
  saveTokens: (t) => {
    tokens = t;
  },
  redirectToAuthorization: (url) => {
    authorizationUrl = url;
  },
  saveCodeVerifier: (v) => {
    verifier = v;
  },
  codeVerifier: () => verifier,
  dpop: () => session,
};

/** What each request to the MCP server carried and got, seen under the SDK's DPoP wrapper. */
const seen = [];
const recordingFetch = async (input, init) => {
  const headers = new Headers(init?.headers);
  const response = await fetch(input, init);
  if (String(input).startsWith(mcpUrl)) {
    seen.push({ status: response.status, scheme: headers.get('authorization')?.split(' ')[0], proof: headers.has('dpop') });
  }
  return response;
};

/** Follows the authorization server's redirects, keeping its cookies, up to the client's redirect URI. */
async function approve(url) {
  const cookies = new Map();
  let current = new URL(url);
  for (let hop = 0; hop < 20; hop++) {
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(current, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`authorization stopped at ${current.pathname} with ${res.status}`);
    await res.arrayBuffer();
    const next = new URL(location, current);
    if (next.href.startsWith(REDIRECT)) return next;
    current = next;
  }
  throw new Error('too many redirects');
}

const report = { thumbprint: session.thumbprint };
const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: recordingFetch });
try {
  await new Client({ name: 'dpop-e2e', version: '1.0.0' }).connect(first);
  report.firstConnect = 'connected';
} catch (error) {
  report.firstConnect = error instanceof UnauthorizedError ? 'unauthorized' : String(error);
}
report.resource = authorizationUrl?.searchParams.get('resource');
const callback = await approve(authorizationUrl);
await first.finishAuth(callback.searchParams);
report.tokenType = tokens?.token_type;
report.accessToken = tokens?.access_token;

seen.length = 0;
const mcp = new Client({ name: 'dpop-e2e', version: '1.0.0' });
await mcp.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: recordingFetch }));
report.results = [];
for (let i = 0; i < calls; i++) report.results.push((await mcp.callTool({ name: 'whoami', arguments: {} })).structuredContent);
await mcp.close();
report.seen = seen;
process.stdout.write(`${JSON.stringify(report)}\n`);
