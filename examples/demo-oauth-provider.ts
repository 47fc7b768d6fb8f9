/**
 * A demo authorization server for the example: an `OAuthServerProvider` for the MCP SDK v2's
 * `mcpAuthRouter` (in `@modelcontextprotocol/server-legacy`, where v2 keeps the
 * authorization-server half). It approves every authorization request at once, with no login
 * page, and keeps clients, codes and tokens in memory. DEMO ONLY: anyone who can reach it gets
 * a token for any scope it supports.
 */
import { randomBytes } from 'node:crypto';
import type { Response } from 'express';
import {
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTokenError,
  type AuthInfo,
  type AuthorizationParams,
  type OAuthRegisteredClientsStore,
  type OAuthServerProvider,
} from '@modelcontextprotocol/server-legacy';
import type { OAuthClientInformationFull, OAuthTokens } from '@modelcontextprotocol/server';

interface IssuedCode {
  clientId: string;
  params: AuthorizationParams;
}

const LIFETIME_SECONDS = 3600;

const opaque = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

/**
 * @example
 * const provider = new DemoOAuthProvider(['mcp:read', 'mcp:write']);
 * app.use(mcpAuthRouter({ provider, issuerUrl: new URL('http://127.0.0.1:3000/') }));
 */
export class DemoOAuthProvider implements OAuthServerProvider {
  private readonly clients = new Map<string, OAuthClientInformationFull>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly tokens = new Map<string, AuthInfo>();

  /** `scopesSupported`: what a client may ask for; a request naming no scope gets all of them. */
  constructor(private readonly scopesSupported: readonly string[]) {}

  readonly clientsStore: OAuthRegisteredClientsStore = {
    getClient: (clientId) => this.clients.get(clientId),
    registerClient: (client) => {
      // mcpAuthRouter's registration handler has assigned the id already.
      const full = client as OAuthClientInformationFull;
      this.clients.set(full.client_id, full);
      return full;
    },
  };

  async authorize(client: OAuthClientInformationFull, params: AuthorizationParams, res: Response): Promise<void> {
    if (!client.redirect_uris.includes(params.redirectUri)) throw new InvalidRequestError('Unregistered redirect_uri');
    const unknown = (params.scopes ?? []).filter((scope) => !this.scopesSupported.includes(scope));
    if (unknown.length > 0) throw new InvalidScopeError(`Unsupported scope: ${unknown.join(' ')}`);
    const code = opaque('code');
    this.codes.set(code, { clientId: client.client_id, params });
    const target = new URL(params.redirectUri);
    target.searchParams.set('code', code);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    res.redirect(target.href);
  }

  async challengeForAuthorizationCode(_client: OAuthClientInformationFull, authorizationCode: string): Promise<string> {
    const issued = this.codes.get(authorizationCode);
    if (!issued) throw new InvalidGrantError('Unknown authorization code');
    return issued.params.codeChallenge;
  }

  async exchangeAuthorizationCode(client: OAuthClientInformationFull, authorizationCode: string): Promise<OAuthTokens> {
    const issued = this.codes.get(authorizationCode);
    if (!issued || issued.clientId !== client.client_id) throw new InvalidGrantError('Unknown authorization code');
    this.codes.delete(authorizationCode);
    const scopes = issued.params.scopes?.length ? issued.params.scopes : [...this.scopesSupported];
    const token = opaque('demo_at');
    const info: AuthInfo = {
      token,
      clientId: client.client_id,
      scopes,
      expiresAt: Math.floor(Date.now() / 1000) + LIFETIME_SECONDS,
    };
    if (issued.params.resource) info.resource = issued.params.resource;
    this.tokens.set(token, info);
    return { access_token: token, token_type: 'Bearer', expires_in: LIFETIME_SECONDS, scope: scopes.join(' ') };
  }

  async exchangeRefreshToken(): Promise<OAuthTokens> {
    throw new InvalidGrantError('This demo server issues no refresh tokens');
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const info = this.tokens.get(token);
    if (!info || (info.expiresAt ?? 0) * 1000 <= Date.now()) throw new InvalidTokenError('Unknown or expired token');
    return info;
  }
}
