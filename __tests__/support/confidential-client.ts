import { createHash, randomBytes } from 'node:crypto';

/**
 * An MCP OAuth client that behaves as FastMCP's Python client (`auth="oauth"`) does: discovery
 * from the resource, dynamic registration WITHOUT `token_endpoint_auth_method` (so, per RFC 7591,
 * it is a confidential client_secret_basic client), PKCE, then the code exchange with HTTP Basic
 * client authentication (RFC 6749 §2.3.1). Plain fetch, no SDK, so each step can be asserted.
 */
export interface LoginSteps {
  registration: Record<string, unknown>;
  authorizeStatus: number;
  code?: string;
  tokenStatus: number;
  token: Record<string, unknown>;
}

export async function discover(resourceUrl: string): Promise<Record<string, string>> {
  const resource = new URL(resourceUrl);
  const prm = await (await fetch(new URL(`/.well-known/oauth-protected-resource${resource.pathname}`, resource))).json() as { authorization_servers: string[] };
  const issuer = new URL(prm.authorization_servers[0]);
  return await (await fetch(new URL('/.well-known/oauth-authorization-server', issuer))).json() as Record<string, string>;
}

export async function register(metadata: Record<string, string>, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const answer = await fetch(metadata.registration_endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: answer.status, json: await answer.json() as Record<string, unknown> };
}

/** `form-urlencoded` then base64, as RFC 6749 §2.3.1 says for Basic client credentials. */
export function basic(id: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** GET /authorize as a browser would, not following the redirect back. */
export async function authorize(metadata: Record<string, string>, params: Record<string, string>): Promise<{ status: number; location?: URL }> {
  const url = new URL(metadata.authorization_endpoint);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  const answer = await fetch(url, { redirect: 'manual' });
  const location = answer.headers.get('location');
  return { status: answer.status, location: location ? new URL(location) : undefined };
}

export async function tokenRequest(metadata: Record<string, string>, form: Record<string, string>, authorization?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (authorization) headers.authorization = authorization;
  const answer = await fetch(metadata.token_endpoint, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  return { status: answer.status, json: await answer.json() as Record<string, unknown> };
}

/** The whole FastMCP-style login against the MCP server at `resourceUrl`. */
export async function fastmcpStyleLogin(resourceUrl: string, scope = 'mcp:read mcp:write'): Promise<LoginSteps> {
  const metadata = await discover(resourceUrl);
  const redirectUri = 'http://localhost:41999/callback';
  const { json: registration } = await register(metadata, {
    client_name: 'FastMCP-like client',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope,
  });
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString('hex');
  const { status: authorizeStatus, location } = await authorize(metadata, {
    response_type: 'code', client_id: String(registration.client_id), redirect_uri: redirectUri,
    code_challenge: challenge, code_challenge_method: 'S256', state, scope, resource: resourceUrl,
  });
  const code = location?.searchParams.get('code') ?? undefined;
  const { status: tokenStatus, json: token } = await tokenRequest(metadata, {
    grant_type: 'authorization_code', code: code ?? '', redirect_uri: redirectUri, code_verifier: verifier, resource: resourceUrl,
  }, basic(String(registration.client_id), String(registration.client_secret)));
  return { registration, authorizeStatus, code, tokenStatus, token };
}
