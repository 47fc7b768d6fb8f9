import { notMine, whyNotMine } from '../core/types';
import type { AuthServer, TokenVerifier } from '../core/types';

/**
 * What both primaries take over from the verifier they wrap, so that a primary is as cheap and
 * as explainable as that verifier: its `ready()` probe, its synchronous "not mine" answer and
 * the reason for it; then the primary's own name and required scopes.
 */
export function finishPrimary(
  server: AuthServer,
  verifier: TokenVerifier,
  own: { name?: string; requiredScopes?: string[] },
): AuthServer {
  if (typeof verifier.probe === 'function') server.probe = (context) => verifier.probe!(context);
  if (verifier[notMine]) server[notMine] = verifier[notMine];
  if (verifier[whyNotMine]) server[whyNotMine] = verifier[whyNotMine];
  if (own.name !== undefined) server.name = own.name;
  if (own.requiredScopes !== undefined) server.requiredScopes = own.requiredScopes;
  return server;
}
