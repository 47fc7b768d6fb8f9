import type { IncomingMessage } from 'node:http';
import { InvalidRequestError } from '../core/errors';
import { presentedCredentials, type PresentedCredentials } from './presented';

/** RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Whether `value` is a token RFC 6750 allows in an `Authorization: Bearer` header. */
export function isB64Token(value: string): boolean {
  return B64TOKEN.test(value);
}

/**
 * Whether a decoded query parameter name is what a framework's query parser files under
 * `access_token`: the name itself, or qs's bracket forms (`access_token[]`, `access_token[0]`,
 * `access_token[x]`), which Express 4 (and Express 5 with the "extended" parser) turn into
 * the request's `query.access_token`.
 */
export function namesAccessToken(name: string): boolean {
  return name === 'access_token' || (name.length > 12 && name.startsWith('access_token') && name[12] === '[');
}

/**
 * RFC 6750 §2.3: an `access_token` query parameter is a token only when it has a value; an
 * empty `?access_token=` (left by a form or a URL template) carries nothing to leak or refuse.
 * Judged on the decoded names, as the framework reads them: `?access%5Ftoken=` and
 * `?access_token[]=` leak the token just the same.
 */
function hasQueryToken(url: string): boolean {
  const q = url.indexOf('?');
  // Without a percent sign no name can decode to access_token unless it is spelled out.
  if (q < 0 || (url.indexOf('access_token', q) < 0 && url.indexOf('%', q) < 0)) return false;
  for (const [name, value] of new URLSearchParams(url.slice(q + 1))) {
    if (value !== '' && namesAccessToken(name)) return true;
  }
  return false;
}

/**
 * Takes the bearer token out of a request, the one way this package accepts it: the
 * `Authorization: Bearer` header (RFC 6750 §2.1).
 *
 * Returns `undefined` when the request carries no bearer credentials (no header, or
 * another scheme). Throws `InvalidRequestError` (400) for credentials in a form RFC 6750
 * forbids or this package refuses: a malformed header, several `Authorization` headers,
 * or an access token sent the ways RFC 6750 §2.2/§2.3 define but this package refuses (URIs
 * and bodies end up in logs, caches and Referer headers): a non-empty `access_token` query
 * parameter, or `access_token` in an already-parsed `application/x-www-form-urlencoded` body.
 * A JSON body's `access_token` field and an empty `?access_token=` are not credentials.
 *
 * @example
 * // Authenticating a WebSocket upgrade, where no Express middleware runs.
 * server.on('upgrade', async (req, socket) => {
 *   try {
 *     const token = extractBearerToken(req);          // undefined: no Bearer credentials
 *     if (token === undefined) return socket.destroy();
 *     const info = await auth.verify(token);          // rejects with a MultiAuthError
 *     // ...accept the upgrade for info.clientId
 *   } catch {
 *     socket.destroy();
 *   }
 * });
 */
export function extractBearerToken(req: IncomingMessage): string | undefined {
  const token = takeBearerCredentials(presentedCredentials(req));
  if (token !== undefined) assertB64Token(token);
  return token;
}

/**
 * Everything `extractBearerToken` checks except the token's characters: `multiAuth` looks a
 * token up in its cache first, and a token found there passed that check when it was cached
 * (the key is its SHA-256), so only a miss pays the scan over the whole token.
 */
export function takeBearerCredentials(presented: PresentedCredentials): string | undefined {
  if (hasQueryToken(presented.url)) {
    throw new InvalidRequestError('Access tokens are accepted only in the Authorization header, not in the query string');
  }
  if (presented.formAccessToken) {
    throw new InvalidRequestError('Access tokens are accepted only in the Authorization header, not in the request body');
  }
  const header = presented.authorization;
  if (header === undefined) return undefined;
  if (typeof header !== 'string') {
    throw new InvalidRequestError('The request has more than one Authorization header');
  }
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.length !== 6 || scheme.toLowerCase() !== 'bearer') return undefined;
  const token = space < 0 ? '' : header.slice(space + 1).replace(/^ +/, '');
  if (token === '') throw new InvalidRequestError('The Bearer credentials are empty');
  return token;
}

/** Throws the 400 `extractBearerToken` gives for credentials that are not one RFC 6750 b64token. */
export function assertB64Token(token: string): void {
  if (!isB64Token(token)) {
    throw new InvalidRequestError('The Bearer credentials must be a single token of RFC 6750 b64token characters');
  }
}
