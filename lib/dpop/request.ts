import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
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

type ExpressLike = IncomingMessage & {
  protocol?: string;
  originalUrl?: string;
  app?: { get?(setting: string): unknown };
};

/** The first value of a header that may be repeated or comma-joined. */
function firstValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const comma = v.indexOf(',');
  return (comma < 0 ? v : v.slice(0, comma)).trim() || undefined;
}

/**
 * The host as Express 5's `req.host` gives it, on Express 4 too (whose `req.host` drops the
 * port): `X-Forwarded-Host` when the app's `trust proxy` setting trusts the peer, else `Host`.
 */
function hostOf(req: ExpressLike): string | undefined {
  const trust = req.app?.get?.('trust proxy fn');
  const forwarded = firstValue(req.headers['x-forwarded-host']);
  if (forwarded && typeof trust === 'function' && trust(req.socket?.remoteAddress, 0)) return forwarded;
  return req.headers.host;
}

/**
 * The URL a proof's `htu` must name for this request: scheme and host as the app sees them
 * (Express's `req.protocol` honours `trust proxy`), or the configured public origin, followed
 * by the path the client requested (before any mount point stripped it), without query.
 */
export function requestUrl(req: IncomingMessage, configured: string | ((req: IncomingMessage) => string) | undefined): string {
  if (typeof configured === 'function') return configured(req);
  const r = req as ExpressLike;
  const target = r.originalUrl ?? req.url ?? '/';
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (configured !== undefined) return `${configured}${path.startsWith('/') ? path : `/${path}`}`;
  const protocol = r.protocol ?? ((req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http');
  return `${protocol}://${hostOf(r) ?? 'localhost'}${path}`;
}
