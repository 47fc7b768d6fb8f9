#!/usr/bin/env node
// The official MCP SDK v2 client (@modelcontextprotocol/client) as its own Node process: its OAuth
// code loads jose with a dynamic import(), which Jest's CommonJS sandbox cannot run.
// Run by __tests__/mcp/mcp-sdk-v2-e2e.test.ts with one JSON argument:
//   { "mode": "legacy" | "auto", "tasks": [task, ...] }
// where a task is one of
//   { "kind": "bearer", "url": "...", "token": "..." }   connect with a fixed bearer, call whoami
//                                                        (or report why it could not connect)
//   { "kind": "oauth", "url": "..." }                    log in (discovery, DCR, PKCE), call whoami
//   { "kind": "stepup", "url": "..." }                   log in consenting to mcp:read only, then
//                                                        call write_note (403, step-up, retry)
//   { "kind": "calls", "url": "...", "token": "...", "tools": ["a", ...] }
//                                                        connect with a fixed bearer, call each
//                                                        tool; report each answer, and the
//                                                        Mcp-Method / Mcp-Name headers the client sent
// and prints one JSON line: one report per task, in order.
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';

const { mode, tasks } = JSON.parse(process.argv[2] ?? '{}');
const REDIRECT = 'http://127.0.0.1:9/callback';

/** A fetch that records each MCP response's status and challenge, as the client received them. */
function recording(seen) {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = new URL(String(input instanceof Request ? input.url : input));
    if (!url.pathname.startsWith('/.well-known') && init?.method === 'POST' && !/\/(token|register)$/.test(url.pathname)) {
      seen.push({ status: response.status, challenge: response.headers.get('www-authenticate') });
    }
    return response;
  };
}

/**
 * Follows the authorization server's redirects up to the client's redirect URI, as a browser
 * would. `grantOnly` stands for a user who consents to fewer scopes than the client asked for.
 */
async function approve(url, grantOnly) {
  let current = new URL(url);
  if (grantOnly) current.searchParams.set('scope', grantOnly);
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(current, { redirect: 'manual' });
    const location = res.headers.get('location');
    await res.arrayBuffer();
    if (!location) throw new Error(`authorization stopped at ${current.pathname} with ${res.status}`);
    const next = new URL(location, current);
    if (next.href.startsWith(REDIRECT)) return next;
    current = next;
  }
  throw new Error('too many redirects');
}

/** An in-memory OAuthClientProvider; `store.authorizations` keeps every URL the client sent the user to. */
function provider() {
  const store = { verifier: '', authorizations: [] };
  return {
    store,
    redirectUrl: REDIRECT,
    clientMetadata: {
      client_name: 'v2 e2e',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    clientInformation: () => store.client,
    saveClientInformation: (info) => {
      store.client = info;
    },
    tokens: () => store.tokens,
    saveTokens: (t) => {
      store.tokens = t;
    },
    redirectToAuthorization: (url) => {
      store.authorizations.push(url);
    },
    saveCodeVerifier: (v) => {
      store.verifier = v;
    },
    codeVerifier: () => store.verifier,
  };
}

const newClient = () => new Client({ name: 'v2-e2e', version: '1.0.0' }, { versionNegotiation: { mode } });
const errorName = (error) => (error instanceof UnauthorizedError ? 'unauthorized' : String(error?.message ?? error));

/** Logs in through the 401 the server answers (the first connect fails, then finishAuth). */
async function login(url, auth, seen, grantOnly) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: auth, fetch: recording(seen) });
  let firstConnect = 'connected';
  try {
    await newClient().connect(transport);
  } catch (error) {
    firstConnect = errorName(error);
  }
  const authorization = auth.store.authorizations.at(-1);
  if (!authorization) throw new Error(`no authorization was started (first connect: ${firstConnect})`);
  await transport.finishAuth((await approve(authorization, grantOnly)).searchParams);
  const client = newClient();
  const connected = new StreamableHTTPClientTransport(new URL(url), { authProvider: auth, fetch: recording(seen) });
  await client.connect(connected);
  return { client, transport: connected, firstConnect };
}

/** A fetch that records the MCP standard headers of each POST, as the client sent them. */
function headerRecording(sent) {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    if (init?.method === 'POST') sent.push({ method: headers.get('mcp-method'), name: headers.get('mcp-name') });
    return fetch(input, init);
  };
}

async function run(task) {
  const seen = [];
  if (task.kind === 'calls') {
    const sent = [];
    const client = newClient();
    await client.connect(new StreamableHTTPClientTransport(new URL(task.url), {
      requestInit: { headers: { Authorization: `Bearer ${task.token}` } },
      fetch: headerRecording(sent),
    }));
    const answers = [];
    for (const name of task.tools) {
      try {
        const result = await client.callTool({ name, arguments: {} });
        answers.push({ name, text: result.content?.[0]?.text, isError: result.isError === true });
      } catch (error) {
        answers.push({ name, error: errorName(error) });
      }
    }
    const report = { era: client.getProtocolEra(), answers, sent };
    await client.close();
    return report;
  }
  if (task.kind === 'bearer') {
    const client = newClient();
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(task.url), {
        requestInit: { headers: { Authorization: `Bearer ${task.token}` } },
        fetch: recording(seen),
      }));
    } catch (error) {
      // A source that is down: what the client was told, for the test to check.
      return { connectError: errorName(error), seen };
    }
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    const report = { era: client.getProtocolEra(), whoami: result.structuredContent };
    await client.close();
    return report;
  }
  const auth = provider();
  if (task.kind === 'oauth') {
    const { client, firstConnect } = await login(task.url, auth, seen);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    const report = {
      era: client.getProtocolEra(),
      firstConnect,
      firstStatus: seen[0]?.status,
      authorization: Object.fromEntries(auth.store.authorizations[0].searchParams),
      registered: Boolean(auth.store.client?.client_id),
      tokenScope: auth.store.tokens?.scope,
      whoami: result.structuredContent,
    };
    await client.close();
    return report;
  }
  // stepup: a token for mcp:read only, then a tool that needs mcp:write.
  const { client, transport } = await login(task.url, auth, seen, 'mcp:read');
  const firstTokenScope = auth.store.tokens?.scope;
  seen.length = 0;
  let firstCall;
  try {
    firstCall = (await client.callTool({ name: 'write_note', arguments: {} })).content;
  } catch (error) {
    firstCall = errorName(error);
  }
  const refusal = seen.find((s) => s.status === 403);
  const stepUp = auth.store.authorizations[1];
  let retried;
  if (stepUp) {
    await transport.finishAuth((await approve(stepUp)).searchParams);
    retried = (await client.callTool({ name: 'write_note', arguments: {} })).content;
  }
  const report = {
    era: client.getProtocolEra(),
    firstTokenScope,
    firstCall,
    challenge: refusal?.challenge,
    stepUpScope: stepUp?.searchParams.get('scope'),
    tokenScope: auth.store.tokens?.scope,
    retried,
  };
  await client.close();
  return report;
}

const reports = [];
for (const task of tasks) {
  try {
    reports.push(await run(task));
  } catch (error) {
    reports.push({ error: String(error?.stack ?? error) });
  }
}
process.stdout.write(`${JSON.stringify(reports)}\n`);
