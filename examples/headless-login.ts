/**
 * The interactive OAuth flow an MCP client runs (protected-resource discovery, authorization
 * server discovery, dynamic client registration, PKCE, code exchange), run by the official MCP
 * SDK v2 client with no browser: the "redirect" to the authorization page is a plain GET whose
 * redirect back carries the code. Only for authorization servers that approve at once, such
 * as the example's demo server.
 */
import { auth, type OAuthClientProvider } from '@modelcontextprotocol/client';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthDiscoveryState, OAuthTokens } from '@modelcontextprotocol/client';

/** An MCP client's OAuth state, in memory; the authorization URL is kept for the caller to follow. */
export class MemoryOAuthClient implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = '';
  authorizationUrl?: URL;
  discovery?: OAuthDiscoveryState;
  readonly redirectUrl = 'http://127.0.0.1/callback';

  constructor(private readonly name = 'express-multiauth-example') {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.name,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info: OAuthClientInformationMixed) { this.client = info; }
  tokens() { return this.saved; }
  saveTokens(tokens: OAuthTokens) { this.saved = tokens; }
  redirectToAuthorization(url: URL) { this.authorizationUrl = url; }
  saveCodeVerifier(verifier: string) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  // Kept so the client can check that the code comes back from the server it was sent to (RFC 9207).
  saveDiscoveryState(state: OAuthDiscoveryState) { this.discovery = state; }
  discoveryState() { return this.discovery; }
}

/**
 * Follows the authorization URL the client was sent to and returns what the server's redirect
 * back carries: the code, and the issuer (RFC 9207) the client checks it against.
 */
export async function approve(authorizationUrl: URL): Promise<{ authorizationCode: string; iss?: string }> {
  const answer = await fetch(authorizationUrl, { redirect: 'manual' });
  const location = answer.headers.get('location');
  const params = location ? new URL(location).searchParams : undefined;
  const authorizationCode = params?.get('code');
  if (!authorizationCode) throw new Error(`the authorization server did not redirect back with a code (HTTP ${answer.status})`);
  const iss = params?.get('iss') ?? undefined;
  return iss === undefined ? { authorizationCode } : { authorizationCode, iss };
}

/**
 * Logs in to the MCP server at `serverUrl` as a new client and returns its access token.
 *
 * @example
 * const token = await headlessLogin(new URL('http://127.0.0.1:3000/mcp'), 'mcp:read mcp:write');
 */
export async function headlessLogin(serverUrl: URL, scope?: string): Promise<string> {
  const client = new MemoryOAuthClient();
  const options = scope === undefined ? { serverUrl } : { serverUrl, scope };
  if ((await auth(client, options)) !== 'REDIRECT' || !client.authorizationUrl) {
    throw new Error('the OAuth flow did not reach the authorization step');
  }
  if ((await auth(client, { ...options, ...(await approve(client.authorizationUrl)) })) !== 'AUTHORIZED' || !client.saved) {
    throw new Error('the OAuth flow did not end with a token');
  }
  return client.saved.access_token;
}
