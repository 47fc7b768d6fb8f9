import type { IncomingMessage } from 'node:http';
import { InvalidRequestError } from '../core/errors';
import { DpopProofError } from './proof';

/**
 * The token of an `Authorization: DPoP <token>` header (RFC 9449 §7.1), or `undefined` when the
 * scheme is another one. Called after the Bearer extraction has ruled out several
 * `Authorization` headers and tokens in the query or body. The token's characters are checked
 * as a Bearer token's are (the same b64token grammar).
 */
export function takeDpopToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.length !== 4 || scheme.toLowerCase() !== 'dpop') return undefined;
  const token = space < 0 ? '' : header.slice(space + 1).replace(/^ +/, '');
  if (token === '') throw new InvalidRequestError('The DPoP credentials are empty');
  return token;
}

/**
 * The request's one `DPoP` header (RFC 9449 §4.3 step 1: exactly one). Counted in the raw
 * headers, since Node joins repeated unknown headers into one value with ", ".
 */
export function takeProof(req: IncomingMessage): string {
  const raw = req.rawHeaders;
  let count = 0;
  if (raw) {
    for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'dpop') count++;
  } else if (req.headers.dpop !== undefined) count = 1;
  if (count === 0) throw new DpopProofError('invalid_dpop_proof', 'the request has no DPoP header');
  if (count > 1) throw new DpopProofError('invalid_dpop_proof', `the request has ${count} DPoP headers`);
  const value = req.headers.dpop;
  if (typeof value !== 'string') throw new DpopProofError('invalid_dpop_proof', 'the DPoP header is not a single value');
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
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const problem = divergentPath(target, path);
  if (problem) throw new DpopProofError('invalid_dpop_proof', `the request is not checked against a proof: ${problem}`);
  if (typeof configured === 'function') return configured(req);
  // resolveDpopOptions always sets one; without it nothing could be checked.
  if (configured === undefined) throw new DpopProofError('invalid_dpop_proof', 'no public origin is configured for htu');
  return `${configured}${path}`;
}
