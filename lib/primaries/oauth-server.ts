import { Router } from 'express';
import type { RequestHandler } from 'express';
import { checkScopes } from '../core/claims';
import { MultiAuthConfigError } from '../core/errors';
import { refuseSurroundingWhitespace, refuseUnknownOptions } from '../core/options';
import { remoteUrlProblem } from '../transport/issuer-discovery';
import { pathOf } from '../http/node-http';
import {
  checkResourceUrl,
  describeResource,
  protectedResourceMetadataRouter,
  protectedResourceMetadataUrl,
} from './protected-resource-metadata';
import { finishPrimary, forThisResource } from './primary';
import type { AuthServer, TokenVerifier } from '../core/types';

/** Options of `oauthServer()`. */
export interface OAuthServerOptions {
  /** Source name; unnamed, `multiAuth` calls the primary `primary`. */
  name?: string;
  /**
   * The authorization server's routes, e.g. the MCP SDK's `mcpAuthRouter({ provider, issuerUrl })`.
   * Mounted at the application root, as the SDK requires.
   */
  router: RequestHandler;
  /** Checks the tokens this server issues, e.g. the same SDK `provider`. */
  verifier: TokenVerifier;
  /** The issuer identifier the routes advertise (the SDK's `issuerUrl`). */
  issuer: string;
  /** This protected resource's identifier (RFC 8707/9728), e.g. `https://mcp.example.com/mcp`. */
  resource: string;
  /** Scopes to advertise in the protected-resource `scopes_supported` besides the required ones. */
  scopesSupported?: string[];
  /** Scopes every token must carry; `multiAuth` inherits them unless told otherwise. */
  requiredScopes?: string[];
  /** Human-readable name of the resource (RFC 9728 `resource_name`). */
  resourceName?: string;
  /** URL of documentation for people (RFC 9728 `resource_documentation`). */
  resourceDocumentation?: string;
}

const KNOWN: readonly string[] = [
  'name', 'router', 'verifier', 'issuer', 'resource', 'scopesSupported', 'requiredScopes', 'resourceName', 'resourceDocumentation',
];
const AS_METADATA = '/.well-known/oauth-authorization-server';

function fail(message: string): never {
  throw new MultiAuthConfigError(`oauthServer: ${message}`);
}

/**
 * Where clients look for the metadata of an issuer with a path (RFC 8414 §3.1, then the OpenID
 * forms the MCP authorization spec lists). The SDK router serves only the root document.
 */
function pathAwareMetadataPaths(issuer: URL): string[] {
  const path = issuer.pathname.replace(/\/+$/, '');
  if (!path) return [];
  return [`${AS_METADATA}${path}`, `/.well-known/openid-configuration${path}`, `${path}/.well-known/openid-configuration`];
}

/**
 * A primary for an MCP server that is its own authorization server, with routes from elsewhere:
 * above all the MCP SDK's `mcpAuthRouter` (demo provider, `ProxyOAuthServerProvider`, or an
 * app's own). It adds what those routes lack: RFC 8414 path-aware metadata for an issuer with a
 * path, and protected-resource metadata that matches the scopes `multiAuth` enforces (served
 * ahead of any copy the wrapped router serves, so a stale one never wins).
 *
 * @example
 * const provider = new ProxyOAuthServerProvider({ ... });
 * const issuer = 'https://auth.example.com/tenant';
 * const auth = multiAuth({
 *   primary: oauthServer({ router: mcpAuthRouter({ provider, issuerUrl: new URL(issuer) }), verifier: provider,
 *                          issuer, resource: 'https://mcp.example.com/mcp' }),
 *   verifiers: [jwtVerifier({ name: 'internal', issuer: 'https://internal.example.com', audience: 'mcp' })],
 * });
 */
export function oauthServer(options: OAuthServerOptions): AuthServer {
  if (options === null || typeof options !== 'object') fail('options must be an object { router, verifier, issuer, resource }');
  refuseUnknownOptions('oauthServer', options, KNOWN);
  for (const option of ['issuer', 'resource', 'resourceDocumentation'] as const) {
    refuseSurroundingWhitespace('oauthServer', option, options[option]);
  }
  if (typeof options.router !== 'function') fail('router must be Express middleware, e.g. mcpAuthRouter({ provider, issuerUrl })');
  if (typeof options.verifier?.verifyAccessToken !== 'function') {
    fail('verifier must be a token verifier (e.g. the SDK provider): an object with verifyAccessToken(token)');
  }
  let issuer: URL;
  try {
    issuer = new URL(options.issuer);
  } catch {
    fail(`issuer must be an absolute URL, got ${JSON.stringify(options.issuer)}`);
  }
  const resource = checkResourceUrl(options.resource, 'oauthServer');
  if (options.resourceDocumentation !== undefined && remoteUrlProblem(options.resourceDocumentation, { allowHttp: true })) {
    fail(`resourceDocumentation must be an absolute http(s) URL, got ${JSON.stringify(options.resourceDocumentation)}`);
  }
  if (options.resourceName !== undefined && typeof options.resourceName !== 'string') fail('resourceName must be a string');
  const scopesSupported = options.scopesSupported === undefined ? undefined : checkScopes(options.scopesSupported, 'oauthServer scopesSupported');
  const requiredScopes = options.requiredScopes === undefined ? undefined : [...checkScopes(options.requiredScopes, 'oauthServer requiredScopes')];
  const { router: wrapped, verifier } = options;
  const aliases = new Set(pathAwareMetadataPaths(issuer));

  /** Answers the path-aware metadata URLs with the wrapped router's root document. */
  const pathAwareMetadata: RequestHandler = (req, res, next) => {
    if (!aliases.has(pathOf(req))) {
      next();
      return;
    }
    const originalUrl = req.url;
    req.url = AS_METADATA;
    wrapped(req, res, (error?: unknown) => {
      req.url = originalUrl;
      next(error);
    });
  };

  const server: AuthServer = {
    resourceMetadataUrl: protectedResourceMetadataUrl(resource),
    verifyAccessToken: forThisResource(verifier, resource),
    // The wrapped verifier's clock tolerance: the chain and the cache keep its tokens exactly as long as it does.
    clockToleranceSeconds: verifier.clockToleranceSeconds,
    routes({ requiredScopes: enforced, dpop, mtls }) {
      const description = {
        resource,
        // As given: an issuer identifier is compared as a string (RFC 8414 §3.3), and URL.href
        // would add a slash to an origin-only issuer that its metadata does not have.
        authorizationServers: [options.issuer],
        scopesSupported,
        resourceName: options.resourceName,
        resourceDocumentation: options.resourceDocumentation,
      };
      const router = Router();
      router.use(protectedResourceMetadataRouter(describeResource(description, enforced, dpop, mtls)));
      if (aliases.size > 0) router.use(pathAwareMetadata);
      router.use(wrapped);
      return router;
    },
  };
  return finishPrimary(server, verifier, { name: options.name, requiredScopes, resource });
}
