import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import cors from 'cors';
import { answered, pathOf, sendJson } from '../http/node-http';
import { MultiAuthConfigError } from '../core/errors';
import { challengeScopes } from '../core/scopes';
import type { DpopRouteContext, MtlsRouteContext } from '../core/types';

/** The RFC 9728 document a primary serves for its resource. */
export interface ProtectedResourceMetadata {
  /** The resource identifier, as configured. */
  resource: string;
  /** Issuer identifiers of the authorization servers that issue tokens for it. */
  authorization_servers: string[];
  /**
   * The configured `scopesSupported` plus the scopes `multiAuth` enforces, so a client that
   * asks for what is listed gets a token that passes.
   */
  scopes_supported: string[];
  /** Always `['header']`: tokens are accepted in the `Authorization` header only. */
  bearer_methods_supported: ['header'];
  /** Human-readable name of the resource, when configured. */
  resource_name?: string;
  /** URL of documentation for people, when configured. */
  resource_documentation?: string;
  /** RFC 9728 §2: the algorithms DPoP proofs may use, when `multiAuth` accepts DPoP. */
  dpop_signing_alg_values_supported?: string[];
  /** RFC 9728 §2: `true` when this primary's tokens must be DPoP-bound. */
  dpop_bound_access_tokens_required?: boolean;
  /** RFC 9728 §2 (from RFC 8705): `true` when this primary's tokens must be certificate-bound. */
  tls_client_certificate_bound_access_tokens?: boolean;
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/**
 * Checks a resource identifier (RFC 8707 §2 / RFC 9728 §1.2): an absolute http(s) URL without
 * a fragment. Returns it as given: clients send it back as RFC 8707 `resource` and
 * authorization servers copy it into `aud`, so it must not be rewritten.
 */
export function checkResourceUrl(value: unknown, where: string): string {
  const example = 'an absolute URL such as https://mcp.example.com/mcp';
  if (typeof value !== 'string') throw new MultiAuthConfigError(`${where}: resource must be ${example}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MultiAuthConfigError(`${where}: resource must be ${example}, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new MultiAuthConfigError(`${where}: resource must be an http(s) URL`);
  if (url.hash) throw new MultiAuthConfigError(`${where}: resource must not have a fragment (RFC 8707)`);
  return value;
}

/**
 * Path of the metadata document for `resource`, per RFC 9728 §3.1: the well-known prefix is
 * inserted between the host and the resource's path, so several resources on one host each
 * get their own document.
 *
 * @example
 * protectedResourceMetadataPath('https://mcp.example.com/mcp');
 * // -> '/.well-known/oauth-protected-resource/mcp'
 */
export function protectedResourceMetadataPath(resource: string): string {
  const path = new URL(resource).pathname;
  return path === '/' ? WELL_KNOWN : `${WELL_KNOWN}${path.replace(/\/$/, '')}`;
}

/**
 * Absolute URL of the metadata document for `resource`: what `resource_metadata=` points at.
 *
 * @example
 * // Metadata served by another component: point the challenges at it.
 * const resource = 'https://mcp.example.com/mcp';
 * const auth = multiAuth({
 *   verifiers: [jwtVerifier({ issuer: 'https://login.example.com', audience: resource })],
 *   resourceMetadataUrl: protectedResourceMetadataUrl(resource),
 * });
 * // resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'
 */
export function protectedResourceMetadataUrl(resource: string): string {
  return new URL(protectedResourceMetadataPath(resource), resource).href;
}

/** What a primary knows about its resource, to describe it in RFC 9728 terms. */
export interface ResourceDescription {
  resource: string;
  authorizationServers: readonly string[];
  scopesSupported?: readonly string[];
  resourceName?: string;
  resourceDocumentation?: string;
}

/**
 * The RFC 9728 document for a resource, given the scopes `multiAuth` enforces and, when it
 * accepts DPoP, the proof algorithms and whether this resource's tokens must be bound; when it
 * accepts certificate-bound tokens, whether they must be.
 * `scopes_supported` is what the operator lists plus what is enforced, so a client that reads
 * the metadata asks for a token that will be accepted; never `offline_access`, wherever it was
 * configured (MCP 2026-07-28: refresh tokens are not a resource requirement; the authorization
 * server's own metadata is where clients look for it).
 */
export function describeResource(
  description: ResourceDescription,
  requiredScopes: readonly string[],
  dpop?: DpopRouteContext,
  mtls?: MtlsRouteContext,
): ProtectedResourceMetadata {
  const metadata: ProtectedResourceMetadata = {
    resource: description.resource,
    authorization_servers: [...description.authorizationServers],
    scopes_supported: challengeScopes(description.scopesSupported, requiredScopes),
    bearer_methods_supported: ['header'],
  };
  if (description.resourceName !== undefined) metadata.resource_name = description.resourceName;
  if (description.resourceDocumentation !== undefined) metadata.resource_documentation = description.resourceDocumentation;
  if (dpop) {
    metadata.dpop_signing_alg_values_supported = [...dpop.algorithms];
    if (dpop.required) metadata.dpop_bound_access_tokens_required = true;
  }
  // Only `true` is worth saying: RFC 9728 defines `false` as the default.
  if (mtls?.required) metadata.tls_client_certificate_bound_access_tokens = true;
  return metadata;
}

/**
 * Serves a metadata document (JSON, fixed for the router's life) at `path` and `path/`: GET
 * and HEAD, CORS open (browser-based MCP clients read it cross-origin), cacheable for an hour;
 * other methods get 405 with `Allow`. Matches the path of `req.url` by string, not by an Express
 * pattern, so any path is safe and any framework that passes Node's request works. A response
 * something earlier already answered is left alone.
 */
export function metadataDocumentRouter(path: string, document: unknown): RequestHandler {
  const body = JSON.stringify(document);
  const allowCors = cors({ origin: '*', methods: ['GET', 'HEAD', 'OPTIONS'], maxAge: 86_400 });
  const serve = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const requested = pathOf(req);
    if (requested !== path && requested !== `${path}/`) {
      next();
      return;
    }
    if (answered(res)) return;
    allowCors(req, res, () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, METHOD_NOT_ALLOWED, { Allow: 'GET, HEAD, OPTIONS' });
        return;
      }
      sendJson(res, 200, body, { 'Cache-Control': 'public, max-age=3600' });
    });
  };
  return serve as unknown as RequestHandler;
}

const METHOD_NOT_ALLOWED = JSON.stringify({ error: 'method_not_allowed' });

/** Serves the RFC 9728 document at its well-known path (see `metadataDocumentRouter`). */
export function protectedResourceMetadataRouter(metadata: ProtectedResourceMetadata): RequestHandler {
  return metadataDocumentRouter(protectedResourceMetadataPath(metadata.resource), metadata);
}
