/**
 * What `npm start` and `npm run start:v1` run: the example on `HOST:PORT` (default
 * 127.0.0.1:3000), a token per source (the OAuth primary's got by running its OAuth flow
 * headlessly at start-up), and a `curl` for each answer of the HTTP table in docs/concepts.md, all on this
 * one server. A busy port, or a source that cannot work (a wrong OAUTH_ISSUER), is one line per
 * cause on stderr and exit code 1, not a stack.
 */
import { headlessLogin } from './headless-login';
import { MultiAuthConfigError } from '../lib/index';
import { StartupError, startExample } from './embedded-default';
import { decisionLine } from './observability';

const MCP_HEADERS = `-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'`;
const callTool = (name: string) => `-d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"${name}","arguments":{}}}'`;

export async function runExample(sdk: 'v1' | 'v2'): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? '127.0.0.1';
  let example;
  try {
    example = await startExample({
      port,
      host,
      sdk,
      // One line per decision, with each source's reason and the guard or rule that refused.
      onDecision: (decision, req) => console.log(decisionLine(decision, req)),
    });
  } catch (error) {
    if (error instanceof StartupError) {
      for (const cause of error.causes) console.error(`express-multiauth example: ${cause}`);
      process.exit(1);
    }
    // A setting refused at construction (e.g. OAUTH_ISSUER that is not a URL): its message says
    // what to fix; a stack would bury it.
    if (error instanceof MultiAuthConfigError) {
      console.error(`express-multiauth example: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const { baseUrl, tokens } = example;
  for (const source of example.ready.sources) console.log(`[ready] ${source.source}: ${source.status} (${source.detail})`);
  const oauth = process.env.OAUTH_ISSUER
    ? undefined
    : await headlessLogin(new URL(`${baseUrl}/mcp`), 'mcp:read mcp:write');
  const oauthLines = oauth
    ? `  # OAuth primary -> source "oauth" (token from the embedded authorization server: the OAuth flow
  # an MCP client runs, discovery, registration, PKCE, run headlessly at start-up)
  curl -s ${baseUrl}/whoami -H 'Authorization: Bearer ${oauth}'
`
    : `  # OAuth primary -> source "oauth": log in with an MCP client against ${process.env.OAUTH_ISSUER}
`;
  console.log(`express-multiauth example (MCP SDK ${sdk}): MCP server at ${baseUrl}/mcp

One working token per source (req.auth.source says which one accepted it):

${oauthLines}
  # static API key -> source "ci"
  curl -s ${baseUrl}/whoami -H 'Authorization: Bearer ${tokens.ci}'

  # machine JWT from the second issuer -> source "machines"
  curl -s ${baseUrl}/whoami -H 'Authorization: Bearer ${tokens.machines}'

  # the same through MCP (tools/call whoami) -> source "machines"
  curl -s ${baseUrl}/mcp -H 'Authorization: Bearer ${tokens.machines}' \\
    ${MCP_HEADERS} \\
    ${callTool('whoami')}

Each answer of the HTTP table (docs/concepts.md, "HTTP behaviour"), on this server:

  # 400 invalid_request: a token in the query string
  curl -si '${baseUrl}/whoami?access_token=${tokens.ci}'

  # 401 without a token: the challenge that tells MCP clients where to log in (resource_metadata)
  curl -si ${baseUrl}/whoami

  # 200: the protected-resource metadata (RFC 9728) that challenge points to
  curl -s ${baseUrl}/.well-known/oauth-protected-resource/mcp

  # 401 invalid_token: a token no source accepts
  curl -si ${baseUrl}/whoami -H 'Authorization: Bearer not-a-token-anyone-issued'

  # 403 insufficient_scope, scope="mcp:write": the CI key (mcp:read) calling write_note (mcpPolicy)
  curl -si ${baseUrl}/mcp -H 'Authorization: Bearer ${tokens.ci}' \\
    ${MCP_HEADERS} \\
    ${callTool('write_note')}

  # 503 with Retry-After: a partner token; the partner issuer's key server is down (simulated)
  curl -si ${baseUrl}/whoami -H 'Authorization: Bearer ${tokens.partner}'

  # interactive OAuth: point an MCP client (e.g. npx @modelcontextprotocol/inspector) at
  # ${baseUrl}/mcp; it discovers the embedded authorization server, registers and logs in
  # (the demo server approves at once).
`);
}
