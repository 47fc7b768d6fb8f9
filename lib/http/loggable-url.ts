// The request's URL as a log line may carry it: a client that put its token in the query string
// (RFC 6750 §2.3, refused here with 400) must not find it again in the operator's logs. Which
// parameters hold a token is decided by the same rule the bearer check uses, so the two cannot
// drift apart.
import type { IncomingMessage } from 'node:http';
import { namesAccessToken } from './token-extraction';

/** What a redacted query value reads as. */
const REDACTED = '[redacted]';

/** A parameter name decoded as URLSearchParams (and the bearer check) decodes it. */
function decodedName(raw: string): string {
  for (const [name] of new URLSearchParams(`${raw}=`)) return name;
  return raw;
}

/**
 * The request's URL for a log line: Express's `req.originalUrl` when present (the path before
 * any mount point), else `req.url`, with the value of every query parameter that the bearer
 * check reads as an access token (`access_token`, in any spelling a framework decodes to it:
 * `access%5Ftoken`, `access_token[]`, `access_token[a][b]`, ...) replaced by `[redacted]`.
 * Everything else is kept exactly as the client sent it.
 *
 * @example
 * multiAuth({
 *   verifiers,
 *   onDecision: (decision, req) => logger.info({ outcome: decision.outcome, url: req && loggableUrl(req) }),
 * });
 * // GET /whoami?access_token=ci_0123456789abcdef&page=2 logs url "/whoami?access_token=[redacted]&page=2"
 */
export function loggableUrl(req: IncomingMessage | { url?: string; originalUrl?: string }): string {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  const url = typeof original === 'string' ? original : (req.url ?? '');
  const q = url.indexOf('?');
  if (q < 0) return url;
  const pairs = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      return namesAccessToken(decodedName(rawName)) ? `${rawName}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${pairs.join('&')}`;
}
