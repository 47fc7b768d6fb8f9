import { InvalidTokenError } from '../core/errors';
import { shown } from '../core/redaction';
import { describeRules, rulesDigest } from '../core/rules';
import { diagnoseRefusal, notMine, whyNotMine } from '../core/types';
import type { AuthInfo, AuthServer, TokenVerifier, VerifyContext } from '../core/types';

/** `value` as a URL's href, or `undefined` when it names no URL (a provider may report a string). */
function hrefOf(value: unknown): string | undefined {
  if (value instanceof URL) return value.href;
  if (typeof value !== 'string') return undefined;
  try {
    return new URL(value).href;
  } catch {
    return undefined;
  }
}

/**
 * The primary's `verifyAccessToken`: the wrapped verifier's answer, refused when its
 * `AuthInfo.resource` names another resource than this one (MCP: a server MUST validate that a
 * token was issued for it; a provider that reports the resource but leaves the check to the
 * server must not make this one accept another server's tokens). An answer without `resource`
 * is the wrapped verifier's to judge: many providers never report it.
 *
 * @example
 * server.verifyAccessToken = forThisResource(provider, 'https://mcp.example.com/mcp');
 */
export function forThisResource(verifier: TokenVerifier, resource: string): TokenVerifier['verifyAccessToken'] {
  const expected = new URL(resource).href;
  return async (token: string, context?: VerifyContext) => {
    const info: AuthInfo | null | undefined = await verifier.verifyAccessToken(token, context);
    if (info === null || typeof info !== 'object' || info.resource === undefined) return info;
    const href = hrefOf(info.resource);
    if (href !== expected) {
      throw new InvalidTokenError(`the token was issued for resource ${shown(href ?? info.resource)}; this resource is ${shown(expected)}`);
    }
    return info;
  };
}

/**
 * What both primaries take over from the verifier they wrap, so that a primary is as cheap and
 * as explainable as that verifier: its `ready()` probe, its synchronous "not mine" answer and
 * the reason for it, the digest of its rules (with the resource the primary checks), whether
 * its tokens may lack an expiry; then the primary's own name and required scopes.
 */
export function finishPrimary(
  server: AuthServer,
  verifier: TokenVerifier,
  own: { name?: string; requiredScopes?: string[]; resource: string },
): AuthServer {
  if (typeof verifier.probe === 'function') server.probe = (context) => verifier.probe!(context);
  if (verifier[notMine]) server[notMine] = verifier[notMine];
  if (verifier[whyNotMine]) server[whyNotMine] = verifier[whyNotMine];
  if (verifier[diagnoseRefusal]) server[diagnoseRefusal] = verifier[diagnoseRefusal];
  // The primary's rules are the wrapped verifier's plus its own resource check.
  const wrapped = verifier[rulesDigest];
  if (wrapped !== undefined) server[rulesDigest] = describeRules('primary', { wrapped, resource: own.resource });
  if (verifier.neverExpires === true) (server as { neverExpires?: boolean }).neverExpires = true;
  if (own.name !== undefined) server.name = own.name;
  if (own.requiredScopes !== undefined) server.requiredScopes = own.requiredScopes;
  return server;
}
