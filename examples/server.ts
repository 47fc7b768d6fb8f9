/**
 * `npm start`: the example MCP server behind multiAuth, on an embedded default that needs no
 * outside service (see embedded-default.ts). Prints a working token per source and the
 * commands to try them.
 */
import { startExample } from './embedded-default';
import { decisionLine } from './observability';

async function main(): Promise<void> {
  const example = await startExample({
    port: Number(process.env.PORT ?? 3000),
    host: process.env.HOST ?? '127.0.0.1',
    // One line per decision, with each source's reason and the guard or rule that refused.
    onDecision: (decision, req) => console.log(decisionLine(decision, req)),
  });
  const { baseUrl, tokens } = example;
  for (const source of example.ready.sources) console.log(`[ready] ${source.source}: ${source.status} (${source.detail})`);
  const mcp = `-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'`;
  console.log(`express-multiauth example: MCP server at ${baseUrl}/mcp

One token per source (req.auth.source says which one accepted it):

  # static API key -> source "ci"
  curl -s ${baseUrl}/whoami -H 'Authorization: Bearer ${tokens.ci}'

  # machine JWT from the second issuer -> source "machines"
  curl -s ${baseUrl}/whoami -H 'Authorization: Bearer ${tokens.machines}'

  # the same through MCP (tools/call whoami)
  curl -s ${baseUrl}/mcp -H 'Authorization: Bearer ${tokens.machines}' \\
    ${mcp}

  # no token: 401 and the challenge that tells MCP clients where to log in
  curl -si ${baseUrl}/whoami
  curl -s ${baseUrl}/.well-known/oauth-protected-resource/mcp

  # interactive OAuth -> source "oauth": point an MCP client (e.g. npx @modelcontextprotocol/inspector)
  # at ${baseUrl}/mcp; it discovers the embedded authorization server, registers and logs in
  # (the demo server approves at once).
`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
