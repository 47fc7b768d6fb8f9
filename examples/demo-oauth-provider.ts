/**
 * A demo authorization server for the example: an `OAuthServerProvider` for the MCP SDK's
 * `mcpAuthRouter` (v2 keeps it in `@modelcontextprotocol/server-legacy`; v1's has the same
 * shape). It keeps clients, codes and tokens in memory.
 *
 * What it is NOT, even after the limits below: a login. It approves every authorization request
 * at once, with no user and no consent page, so anyone who can reach it and run a client on
 * their own machine gets a token for any scope it supports. Run it on loopback for a demo; for
 * anything else use a real authorization server (OAUTH_ISSUER).
 *
 * What keeps it from being a hazard when copied:
 * - redirect URIs are limited to loopback (`http://127.0.0.1`, `localhost`, `[::1]`, any port,
 *   RFC 8252 §7.3), so an authorization code is never sent to another host;
 * - authorization codes live at most a minute and are single-use; a code presented twice also
 *   revokes the token it already bought (RFC 6749 §4.1.2);
 * - tokens are only ever issued for this server's own resource (RFC 8707): a request naming
 *   another resource is refused with `invalid_target`;
 * - registration says which `token_endpoint_auth_method` it recorded (RFC 7591 §3.2.1: the
 *   default is `client_secret_basic`); `basicClientAuthentication` below lets the token endpoint
 *   accept it (RFC 6749 §2.3.1).
 */
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  InvalidClientMetadataError,
  InvalidGrantError,
  InvalidScopeError,
  InvalidTargetError,
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
  expiresAt: number;
  /** The token this code bought, once exchanged: revoked if the code comes back. */
  token?: string;
}

const LIFETIME_SECONDS = 3600;
/** How long an authorization code may wait for its exchange (RFC 6749 §4.1.2: at most 10 minutes). */
export const CODE_LIFETIME_MS = 60_000;

const opaque = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

/**
 * The OAuth error classes of the SDK generation whose router runs the provider: each router
 * recognises its own classes only (others become 500 `server_error`).
 */
export interface OAuthErrorClasses {
  InvalidClientMetadataError: new (message: string) => Error;
  InvalidGrantError: new (message: string) => Error;
  InvalidScopeError: new (message: string) => Error;
  InvalidTargetError: new (message: string) => Error;
  InvalidTokenError: new (message: string) => Error;
}

const V2_ERRORS: OAuthErrorClasses = { InvalidClientMetadataError, InvalidGrantError, InvalidScopeError, InvalidTargetError, InvalidTokenError };

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether a redirect URI stays on the user's own machine (RFC 8252 §7.3, §8.3). */
export function isLoopbackRedirect(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname) && url.username === '' && url.password === '' && url.hash === '';
}

/**
 * @example
 * const provider = new DemoOAuthProvider(['mcp:read', 'mcp:write'], 'http://127.0.0.1:3000/mcp');
 * app.use(basicClientAuthentication('/token'));
 * app.use(mcpAuthRouter({ provider, issuerUrl: new URL('http://127.0.0.1:3000/') }));
 */
export class DemoOAuthProvider implements OAuthServerProvider {
  private readonly clients = new Map<string, OAuthClientInformationFull>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly tokens = new Map<string, AuthInfo>();

  /**
   * `scopesSupported`: what a client may ask for; a request naming no scope gets all of them.
   * `resource`: the one resource (RFC 8707) tokens are issued for. `errors`: the SDK v1 classes
   * when v1's `mcpAuthRouter` runs it.
   */
  constructor(
    private readonly scopesSupported: readonly string[],
    private readonly resource: string,
    private readonly errors: OAuthErrorClasses = V2_ERRORS,
  ) {}

  readonly clientsStore: OAuthRegisteredClientsStore = {
    getClient: (clientId) => this.clients.get(clientId),
    registerClient: (client) => {
      // mcpAuthRouter's registration handler has assigned the id (and a secret) already.
      const full = client as OAuthClientInformationFull;
      const foreign = full.redirect_uris.filter((uri) => !isLoopbackRedirect(String(uri)));
      if (foreign.length > 0) {
        throw new this.errors.InvalidClientMetadataError(`This demo server only sends codes to loopback redirect URIs (http://127.0.0.1, localhost, [::1]); refused: ${foreign.join(' ')}`);
      }
      // RFC 7591 §2: omitted means client_secret_basic; §3.2.1: the answer names what was registered.
      const method = full.client_secret === undefined ? 'none' : (full.token_endpoint_auth_method ?? 'client_secret_basic');
      const registered = { ...full, token_endpoint_auth_method: method };
      this.clients.set(registered.client_id, registered);
      return registered;
    },
  };

  async authorize(client: OAuthClientInformationFull, params: AuthorizationParams, res: Response): Promise<void> {
    const unknown = (params.scopes ?? []).filter((scope) => !this.scopesSupported.includes(scope));
    if (unknown.length > 0) throw new this.errors.InvalidScopeError(`Unsupported scope: ${unknown.join(' ')}`);
    this.assertOwnResource(params.resource);
    const code = opaque('code');
    this.codes.set(code, { clientId: client.client_id, params, expiresAt: Date.now() + CODE_LIFETIME_MS });
    const target = new URL(params.redirectUri);
    target.searchParams.set('code', code);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    res.redirect(target.href);
  }

  async challengeForAuthorizationCode(client: OAuthClientInformationFull, authorizationCode: string): Promise<string> {
    return this.liveCode(client, authorizationCode).params.codeChallenge;
  }

  async exchangeAuthorizationCode(client: OAuthClientInformationFull, authorizationCode: string, _verifier?: string, _redirectUri?: string, resource?: URL): Promise<OAuthTokens> {
    const issued = this.liveCode(client, authorizationCode);
    this.assertOwnResource(resource);
    const scopes = issued.params.scopes?.length ? issued.params.scopes : [...this.scopesSupported];
    const token = opaque('demo_at');
    issued.token = token;
    const info: AuthInfo = {
      token,
      clientId: client.client_id,
      scopes,
      expiresAt: Math.floor(Date.now() / 1000) + LIFETIME_SECONDS,
      resource: new URL(this.resource),
    };
    this.tokens.set(token, info);
    return { access_token: token, token_type: 'Bearer', expires_in: LIFETIME_SECONDS, scope: scopes.join(' ') };
  }

  async exchangeRefreshToken(): Promise<OAuthTokens> {
    throw new this.errors.InvalidGrantError('This demo server issues no refresh tokens');
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const info = this.tokens.get(token);
    if (!info || (info.expiresAt ?? 0) * 1000 <= Date.now()) throw new this.errors.InvalidTokenError('Unknown or expired token');
    return info;
  }

  /**
   * The code, if it is this client's, unused and within its minute. A code seen again after its
   * exchange is a replay (RFC 6749 §4.1.2): the token it bought is revoked as well.
   */
  private liveCode(client: OAuthClientInformationFull, authorizationCode: string): IssuedCode {
    const issued = this.codes.get(authorizationCode);
    if (!issued || issued.clientId !== client.client_id) throw new this.errors.InvalidGrantError('Unknown authorization code');
    if (issued.token !== undefined) {
      this.tokens.delete(issued.token);
      this.codes.delete(authorizationCode);
      throw new this.errors.InvalidGrantError('Authorization code already used');
    }
    if (Date.now() > issued.expiresAt) {
      this.codes.delete(authorizationCode);
      throw new this.errors.InvalidGrantError('Authorization code expired');
    }
    return issued;
  }

  private assertOwnResource(resource: URL | undefined): void {
    if (resource !== undefined && resource.href !== new URL(this.resource).href) {
      throw new this.errors.InvalidTargetError(`This server issues tokens for ${this.resource} only`);
    }
  }
}

/**
 * HTTP Basic client authentication at the token endpoint (RFC 6749 §2.3.1: servers MUST support
 * it), for the SDK's token handler, which reads `client_id`/`client_secret` from the form body
 * only. The credentials are form-urlencoded before base64 (§2.3.1), so they are decoded twice.
 * Mount it before `mcpAuthRouter`. A request that also sends a secret in the body uses two
 * methods at once, which §2.3 forbids: 400 `invalid_request`.
 */
export function basicClientAuthentication(tokenPath: string): express.RequestHandler {
  const form = express.urlencoded({ extended: false });
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (req.method !== 'POST' || req.path !== tokenPath || !header || !/^basic /i.test(header)) {
      next();
      return;
    }
    form(req, res, (error?: unknown) => {
      if (error) return next(error);
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const body = (req.body ?? {}) as Record<string, unknown>;
      const refuse = (description: string) => {
        res.status(400).json({ error: 'invalid_request', error_description: description });
      };
      if (colon < 0) return refuse('Malformed Basic credentials');
      if (body.client_secret !== undefined) return refuse('Use one client authentication method, not Basic and a body secret together');
      let id: string;
      let secret: string;
      try {
        id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
        secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
      } catch {
        return refuse('Malformed Basic credentials');
      }
      if (body.client_id !== undefined && body.client_id !== id) return refuse('client_id in the body differs from the Basic credentials');
      req.body = { ...body, client_id: id, client_secret: secret };
      next();
    });
  };
}

/**
 * The SDK router's authorization-server metadata lists `client_secret_post` and `none` only;
 * with `basicClientAuthentication` mounted, `client_secret_basic` (the RFC 7591 default) is
 * accepted too, so the metadata says so. Mount it before `mcpAuthRouter`.
 */
export function advertiseBasicClientAuthentication(): express.RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' && req.path === '/.well-known/oauth-authorization-server') {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        const metadata = body as { token_endpoint_auth_methods_supported?: string[] };
        const methods = metadata?.token_endpoint_auth_methods_supported;
        if (Array.isArray(methods) && !methods.includes('client_secret_basic')) {
          return json({ ...metadata, token_endpoint_auth_methods_supported: ['client_secret_basic', ...methods] });
        }
        return json(body);
      };
    }
    next();
  };
}
