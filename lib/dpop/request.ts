import type { IncomingMessage } from 'node:http';
import { InvalidRequestError } from '../core/errors';
import type { PresentedCredentials } from '../http/presented';
import { DpopProofError } from './proof';

/**
 * The token of an `Authorization: DPoP <token>` header (RFC 9449 §7.1), or `undefined` when the
 * scheme is another one. Called after the Bearer extraction has ruled out several
 * `Authorization` headers and tokens in the query or body. The token's characters are checked
 * as a Bearer token's are (the same b64token grammar).
 */
export function takeDpopToken(presented: PresentedCredentials): string | undefined {
  const header = presented.authorization;
  if (typeof header !== 'string') return undefined;
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.length !== 4 || scheme.toLowerCase() !== 'dpop') return undefined;
  const token = space < 0 ? '' : header.slice(space + 1).replace(/^ +/, '');
  if (token === '') throw new InvalidRequestError('The DPoP credentials are empty');
  return token;
}

/**
 * The request's one `DPoP` header (RFC 9449 §4.3 step 1: exactly one), as sent: an adapter
 * counts them in the raw headers, since Node joins repeated unknown headers into one value.
 */
export function takeProof(presented: PresentedCredentials): string {
  const value = presented.dpop;
  if (value === undefined) throw new DpopProofError('invalid_dpop_proof', 'the request has no DPoP header');
  if (typeof value !== 'string') throw new DpopProofError('invalid_dpop_proof', `the request has ${value.length} DPoP headers`);
  return value;
}

type ExpressLike = IncomingMessage & { originalUrl?: string };

/** A dot segment as WHATWG URL parsing reads one (RFC 3986 §3.3; `%2e` is a dot there too). */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Why the router could route `path` elsewhere than the URL a proof's `htu` is compared with, or
 * `undefined` when both read it alike. URL parsing removes dot segments (`/admin/../echo` is
 * `/echo`) and takes `\` for `/`; Express routes the path as written (`/admin/*`). Real clients
 * send neither, so such a request is refused rather than normalised one way or the other.
 */
function divergentPath(target: string, path: string): string | undefined {
  if (!target.startsWith('/')) return 'its request target is not a path (origin-form, RFC 9112 §3.2.1)';
  if (path.includes('\\') || /%5c/i.test(path)) return 'its path holds a backslash';
  if (path.includes('#')) return 'its path holds a "#"';
  if (path.includes('.') || path.includes('%')) {
    for (const segment of path.split('/')) if (DOT_SEGMENT.test(segment)) return 'its path holds a dot segment ("." or "..", raw or percent-encoded)';
  }
  return undefined;
}

/**
 * The URL a proof's `htu` must name for this request: the configured public origin followed by
 * the path the client requested (before any mount point stripped it), without query; or what
 * the configured function gives. Never the request's `Host` or `X-Forwarded-*`: the client
 * writes those. Throws `invalid_dpop_proof` for a path the router would read differently from
 * that URL (dot segments, backslashes).
 */
export function requestUrl(req: IncomingMessage, configured: string | ((req: IncomingMessage) => string) | undefined): string {
  const target = (req as ExpressLike).originalUrl ?? req.url ?? '/';
  if (typeof configured === 'function') {
    checkedPath(target);
    return configured(req);
  }
  return htuFor(target, configured);
}

/** The path of a request target, or `invalid_dpop_proof` when the router could read it otherwise than a URL parser. */
function checkedPath(target: string): string {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const problem = divergentPath(target, path);
  if (problem) throw new DpopProofError('invalid_dpop_proof', `the request is not checked against a proof: ${problem}`);
  return path;
}

/**
 * The URL a proof's `htu` must name for a request target (path and query) under a public
 * origin, with no request at hand: the same rules as `requestUrl`.
 */
export function htuFor(target: string, origin: string | undefined): string {
  const path = checkedPath(target);
  // resolveDpopOptions always sets one; without it nothing could be checked.
  if (origin === undefined) throw new DpopProofError('invalid_dpop_proof', 'no public origin is configured for htu');
  return `${origin}${path}`;
}
