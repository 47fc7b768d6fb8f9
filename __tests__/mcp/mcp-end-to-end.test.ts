import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { startExample, type ExampleServer } from '../../examples/embedded-default';
import type { Decision } from '../../lib/core/types';

/** An MCP client's OAuth state kept in memory; "redirects" are recorded for the test to follow. */
class MemoryOAuthProvider implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = '';
  authorizationUrl?: URL;
  readonly redirectUrl = 'http://127.0.0.1/callback';
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'e2e', redirect_uris: [this.redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info: OAuthClientInformationMixed) { this.client = info; }
  tokens() { return this.saved; }
  saveTokens(tokens: OAuthTokens) { this.saved = tokens; }
  redirectToAuthorization(url: URL) { this.authorizationUrl = url; }
  saveCodeVerifier(v: string) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
}

async function whoami(url: string, init: { token?: string; authProvider?: OAuthClientProvider } = {}) {
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: init.token ? { headers: { Authorization: `Bearer ${init.token}` } } : undefined,
    authProvider: init.authProvider,
  });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return result.structuredContent as { source: string; clientId: string; scopes: string[] };
  } finally {
    await client.close();
  }
}

describe('the example MCP server with the official SDK client', () => {
  let example: ExampleServer;
  const decisions: Decision[] = [];
  beforeAll(async () => {
    example = await startExample({ port: 0, onDecision: (d) => decisions.push(d), env: {} });
  });
  afterAll(() => example.close());
  const mcpUrl = () => `${example.baseUrl}/mcp`;

  it('reaches the tool with a static API key, reported as source "ci"', async () => {
    expect(await whoami(mcpUrl(), { token: example.tokens.ci })).toMatchObject({ source: 'ci', clientId: 'ci-pipeline' });
  });

  it('reaches the tool with a machine JWT from the second issuer, reported as source "machines"', async () => {
    expect(await whoami(mcpUrl(), { token: example.tokens.machines })).toMatchObject({ source: 'machines', clientId: 'build-agent', scopes: ['mcp:read'] });
  });

  it('fails without a token, and with an expired machine token', async () => {
    await expect(whoami(mcpUrl())).rejects.toMatchObject({ code: 401 });
    const expired = await example.mintMachineToken(['mcp:read'], -60);
    await expect(whoami(mcpUrl(), { token: expired })).rejects.toMatchObject({ code: 401, message: expect.stringContaining('invalid_token') });
  });

  it('runs the whole OAuth path: 401, resource_metadata, discovery, registration, PKCE, and the tool as the primary', async () => {
    const provider = new MemoryOAuthProvider();
    // First attempt: the client follows the challenge, registers, and asks to "redirect" the user.
    await expect(whoami(mcpUrl(), { authProvider: provider })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.client?.client_id).toBeTruthy();
    const authUrl = provider.authorizationUrl;
    expect(authUrl?.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl?.searchParams.get('resource')).toBe(example.resource);
    // The "user" approves: the demo server redirects back with a code.
    const approval = await fetch(authUrl!, { redirect: 'manual' });
    expect(approval.status).toBe(302);
    const code = new URL(approval.headers.get('location')!).searchParams.get('code')!;
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl()), { authProvider: provider });
    await transport.finishAuth(code);
    expect(provider.saved?.access_token).toBeTruthy();
    expect(await whoami(mcpUrl(), { authProvider: provider })).toMatchObject({ source: 'oauth', scopes: expect.any(Array) });
    expect(decisions.some((d) => d.outcome === 'accepted' && d.source === 'oauth')).toBe(true);
  });
});
