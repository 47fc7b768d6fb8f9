import type { IncomingMessage } from 'node:http';

/**
 * What a request presents that the decision reads, as plain values: the decision core sees
 * this, never the request itself, so any framework (or none) can hand it over. Header values
 * are as sent: an array when the header came more than once (Node keeps only the first
 * `Authorization` in `req.headers`, and joins repeated `DPoP` headers with ", ").
 */
export interface PresentedCredentials {
  /** The `Authorization` header: its value, every value when sent several times, or `undefined`. */
  readonly authorization: string | readonly string[] | undefined;
  /** The `DPoP` header (RFC 9449), the same way. */
  readonly dpop: string | readonly string[] | undefined;
  /** The request method, e.g. `POST` (a DPoP proof's `htm`). */
  readonly method: string;
  /** The request target the router routes: path and query, e.g. `/mcp?x=1` (RFC 6750 §2.3 reads its query). */
  readonly url: string;
  /** Whether a form-encoded body the app parsed carries `access_token` (RFC 6750 §2.2). */
  readonly formAccessToken: boolean;
  /**
   * The absolute URL, without query, a DPoP proof's `htu` must name. Asked only on DPoP
   * requests, so an adapter may compute it lazily; without it the core joins `dpop.url` and the
   * path of `url`.
   */
  htu?(): string;
  /**
   * The request's parsed body (a JSON-RPC message or batch), when the app parsed one: a 403 for
   * lacking scope names what `mcpPolicy` rules require of that call too. Asked only then.
   */
  operation?(): unknown;
  /**
   * RFC 8705 `x5t#S256` (base64url SHA-256 of the DER) of the client certificate the request
   * presented, or `undefined` for none. Asked only with `multiAuth`'s `mtls` on and a token
   * present. Throws `InvalidRequestError` when the request claims a certificate it may not have
   * (an RFC 9440 header from a peer that is no trusted proxy, malformed, or naming another
   * certificate than the connection's). Without it, a request presents no certificate.
   */
  clientCertificate?(): string | undefined;
}

const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/** Whether the request says its body is form-encoded (media type without parameters, any case). */
function isFormEncoded(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (type === undefined) return false;
  const semicolon = type.indexOf(';');
  return (semicolon < 0 ? type : type.slice(0, semicolon)).trim().toLowerCase() === FORM_MEDIA_TYPE;
}

/**
 * RFC 6750 §2.2 defines the body method for form-encoded bodies only: a JSON (or any other)
 * body's `access_token` field is the application's data, e.g. a tool argument, not a credential.
 * The body is read only when something (Express's `urlencoded()`, `@fastify/formbody` on
 * `request.raw.body`) has parsed it onto `req.body`: this package never reads the stream.
 */
export function hasFormAccessToken(req: IncomingMessage): boolean {
  const body = (req as IncomingMessage & { body?: unknown }).body;
  return body !== null && typeof body === 'object' && !Buffer.isBuffer(body) && 'access_token' in body && isFormEncoded(req);
}

/** Adds `value` to what was collected for one header name. */
function collect(seen: string | string[] | undefined, value: string): string | string[] {
  if (seen === undefined) return value;
  if (typeof seen === 'string') return [seen, value];
  seen.push(value);
  return seen;
}

/**
 * The `Authorization` and `DPoP` headers as sent, from `rawHeaders` (one pass over them), or
 * from `req.headers` for a request object that has no raw headers (a hand-made one).
 */
export function credentialHeaders(req: IncomingMessage): { authorization: string | string[] | undefined; dpop: string | string[] | undefined } {
  const raw = req.rawHeaders;
  if (!raw) {
    return { authorization: req.headers.authorization, dpop: req.headers.dpop };
  }
  let authorization: string | string[] | undefined;
  let dpop: string | string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 13) {
      if (name.toLowerCase() === 'authorization') authorization = collect(authorization, raw[i + 1]);
    } else if (name.length === 4 && name.toLowerCase() === 'dpop') {
      dpop = collect(dpop, raw[i + 1]);
    }
  }
  return { authorization, dpop };
}

/**
 * What a Node request presents, for the decision core. `url` is `req.url`, the target as the
 * router sees it (after any mount point was stripped).
 *
 * @example
 * const presented = presentedCredentials(req);
 * presented.authorization;   // 'Bearer eyJ...'
 */
export function presentedCredentials(req: IncomingMessage): PresentedCredentials {
  const { authorization, dpop } = credentialHeaders(req);
  return { authorization, dpop, method: req.method ?? 'GET', url: req.url ?? '/', formAccessToken: hasFormAccessToken(req) };
}
