// lib/primaries/: sources that also own routes (AuthServer): a remote authorization server
// (this API is its resource server) and an adapter around a full OAuth server's router, plus
// RFC 9728 protected-resource metadata they serve. May import core/, transport/, http/ and
// sources/; never the chain.

import { MultiAuthConfigError } from '../core/errors';
import { refuseSurroundingWhitespace, refuseUnknownOptions } from '../core/options';
import { checkScopes } from '../core/claims';
import { jwtVerifier } from '../sources/jwt-verifier';
import { Router } from 'express';
import {
  checkResourceUrl,
  describeResource,
  metadataDocumentRouter,
  protectedResourceMetadataRouter,
  protectedResourceMetadataUrl,
} from './protected-resource-metadata';
import { finishPrimary, forThisResource } from './primary';
import type { AuthServer, TokenVerifier } from '../core/types';

/** Options of `remoteAuthServer()`. Give `issuer` or `authorizationServers`, and `resource`. */
export interface RemoteAuthServerOptions {
  /** Source name; unnamed, `multiAuth` calls the primary `primary`. */
  name?: string;
  /**
   * The authorization server clients get tokens from (its issuer identifier). Give this or
   * `authorizationServers`. Without `verifier`, tokens must carry it as `iss`.
   */
  issuer?: string;
  /**
   * Several authorization servers (RFC 9728 `authorization_servers`); without `verifier`,
   * tokens from any of them are accepted.
   */
  authorizationServers?: string[];
  /**
   * This protected resource's identifier (RFC 8707/9728), e.g. `https://mcp.example.com/mcp`. Its
   * metadata is served at `/.well-known/oauth-protected-resource` + its path.
   */
  resource: string;
  /**
   * How tokens are checked. Default: a `jwtVerifier` for the issuer(s) with
   * `audience = resource` and keys found by discovery.
   */
  verifier?: TokenVerifier;
  /** Scopes to advertise in `scopes_supported` besides the required ones. */
  scopesSupported?: string[];
  /** Scopes every token must carry; `multiAuth` inherits them unless it is told otherwise. */
  requiredScopes?: string[];
  /** Human-readable name of the resource (RFC 9728 `resource_name`). */
  resourceName?: string;
  /** URL of documentation for people (RFC 9728 `resource_documentation`). */
  resourceDocumentation?: string;
  /**
   * The authorization server's RFC 8414 metadata, to serve a copy at this server's
   * `/.well-known/oauth-authorization-server`, as the MCP SDK's `mcpAuthMetadataRouter({
   * oauthMetadata })` does (clients of the 2025-03-26 MCP spec look for it on the MCP server's
   * origin). Its `issuer` must be one of the authorization servers, spelled the same.
   */
  authorizationServerMetadata?: Record<string, unknown>;
}

const KNOWN: readonly string[] = [
  'name', 'issuer', 'authorizationServers', 'resource', 'verifier', 'scopesSupported',
  'requiredScopes', 'resourceName', 'resourceDocumentation', 'authorizationServerMetadata',
];
const AS_METADATA = '/.well-known/oauth-authorization-server';

function fail(message: string): never {
  throw new MultiAuthConfigError(`remoteAuthServer: ${message}`);
}

function checkUrl(value: unknown, what: string): string {
  try {
    const url = new URL(String(value));
    if (typeof value === 'string' && (url.protocol === 'https:' || url.protocol === 'http:')) return value;
  } catch {
    // fall through
  }
  return fail(`${what} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
}

/**
 * A primary for an MCP server that is a resource server of an external authorization server
 * (Auth0, Keycloak, Entra ID, Okta, WorkOS, ...). It serves the RFC 9728 protected-resource
 * metadata that tells MCP clients where to get a token, and checks tokens as JWTs from that
 * issuer bound to this resource.
 *
 * @example
 * const auth = multiAuth({
 *   primary: remoteAuthServer({ issuer: 'https://login.example.com', resource: 'https://mcp.example.com/mcp' }),
 *   requiredScopes: ['mcp:read'],
 * });
 * app.use(auth); // serves /.well-known/oauth-protected-resource/mcp, then checks tokens
 */
export function remoteAuthServer(options: RemoteAuthServerOptions): AuthServer {
  if (options === null || typeof options !== 'object') fail('options must be an object { issuer, resource }');
  refuseUnknownOptions('remoteAuthServer', options, KNOWN);
  if (options.issuer !== undefined && options.authorizationServers !== undefined) {
    fail('give issuer or authorizationServers, not both');
  }
  const servers = options.authorizationServers ?? (options.issuer !== undefined ? [options.issuer] : []);
  if (!Array.isArray(servers) || servers.length === 0) fail('give issuer (or authorizationServers): the authorization server clients get tokens from');
  servers.forEach((s, i) => {
    refuseSurroundingWhitespace('remoteAuthServer', options.issuer !== undefined ? 'issuer' : `authorizationServers[${i}]`, s);
    checkUrl(s, `authorizationServers[${i}]`);
  });
  refuseSurroundingWhitespace('remoteAuthServer', 'resource', options.resource);
  refuseSurroundingWhitespace('remoteAuthServer', 'resourceDocumentation', options.resourceDocumentation);
  const resource = checkResourceUrl(options.resource, 'remoteAuthServer');
  const scopesSupported = options.scopesSupported === undefined ? undefined : checkScopes(options.scopesSupported, 'remoteAuthServer scopesSupported');
  const requiredScopes = options.requiredScopes === undefined ? undefined : [...checkScopes(options.requiredScopes, 'remoteAuthServer requiredScopes')];
  if (options.resourceDocumentation !== undefined) checkUrl(options.resourceDocumentation, 'resourceDocumentation');
  if (options.resourceName !== undefined && typeof options.resourceName !== 'string') fail('resourceName must be a string');
  if (options.verifier !== undefined && typeof options.verifier?.verifyAccessToken !== 'function') {
    fail('verifier must be a token verifier: an object with verifyAccessToken(token)');
  }

  const asMetadata = options.authorizationServerMetadata;
  if (asMetadata !== undefined) {
    if (asMetadata === null || typeof asMetadata !== 'object' || Array.isArray(asMetadata)) {
      fail('authorizationServerMetadata must be the authorization server\'s RFC 8414 metadata object');
    }
    if (!servers.includes(asMetadata.issuer as string)) {
      fail(
        `authorizationServerMetadata.issuer ${JSON.stringify(asMetadata.issuer)} is not one of the authorization servers ` +
          `${JSON.stringify(servers)}; clients compare the two as strings (RFC 8414 §3.3)`,
      );
    }
  }

  const description = {
    resource,
    authorizationServers: servers,
    scopesSupported,
    resourceName: options.resourceName,
    resourceDocumentation: options.resourceDocumentation,
  };
  const verifier = options.verifier ?? jwtVerifier({ name: options.name ?? 'primary', issuer: servers, audience: resource });
  const server: AuthServer = {
    resourceMetadataUrl: protectedResourceMetadataUrl(resource),
    verifyAccessToken: forThisResource(verifier, resource),
    // The wrapped verifier's clock tolerance: the chain and the cache keep its tokens exactly as long as it does.
    clockToleranceSeconds: verifier.clockToleranceSeconds,
    routes({ requiredScopes: enforced, dpop, mtls }) {
      const resourceMetadata = protectedResourceMetadataRouter(describeResource(description, enforced, dpop, mtls));
      if (asMetadata === undefined) return resourceMetadata;
      const router = Router();
      router.use(resourceMetadata, metadataDocumentRouter(AS_METADATA, asMetadata));
      return router;
    },
  };
  return finishPrimary(server, verifier, { name: options.name, requiredScopes, resource });
}
