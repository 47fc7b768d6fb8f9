import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { firstString, isScopeToken, resourceFromAudience, scopeList } from '../core/claims';
import { InsufficientScopeError, InvalidTokenError, MultiAuthConfigError, TemporarilyUnavailableError } from '../core/errors';
import { refuseUnknownOptions } from '../core/options';
import { sourceRequiredScopes } from '../core/scopes';
import type { AuthInfo, MultiAuthInfo, TokenVerifier, VerifyContext } from '../core/types';

/**
 * An Express/Connect auth middleware that puts what it verified on `req.auth` and reports a
 * refusal through `next(err)` (express-oauth2-jwt-bearer's `auth()` is the model). Typed
 * loosely so that handlers typed for Express 4, Express 5 or Connect all fit.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AuthMiddleware = (req: any, res: any, next: (err?: any) => void) => unknown;

/** The request the wrapped middleware saw: reads go to the real request, writes stay here. */
export type ShadowRequest = IncomingMessage & Record<string, unknown>;

/**
 * Turns what the middleware left on `req.auth` into what the source resolves. Return `null`
 * (or `undefined`) to reject the token.
 */
export type ToAuthInfo = (
  auth: unknown,
  token: string,
  req: ShadowRequest,
) => AuthInfo | Partial<MultiAuthInfo> | null | undefined | Promise<AuthInfo | Partial<MultiAuthInfo> | null | undefined>;

/** `'rejected'` or `'failed'` to decide; `undefined` to leave the error to the built-in rules. */
export type ClassifyError = (error: unknown) => 'rejected' | 'failed' | undefined;

/** Options of `middlewareVerifier()`. */
export interface MiddlewareVerifierOptions {
  /** Source name; default `'middleware'`. Give each wrapped middleware its own. */
  name?: string;
  /** The middleware to run, e.g. `auth({ issuerBaseURL, audience })` from express-oauth2-jwt-bearer. */
  middleware: AuthMiddleware;
  /**
   * Maps `req.auth` to `AuthInfo`. The default (`defaultToAuthInfo`) reads
   * express-oauth2-jwt-bearer's `{ payload, header, token }` (`clientId` from `client_id`, `azp`,
   * then `sub`; scopes from `scope`, `scp` and `permissions`), passes an MCP SDK `AuthInfo`
   * through, and throws for anything else rather than guess. Its third argument is the shadow
   * request, for middlewares that put their result elsewhere (e.g. `req.user`).
   */
  toAuthInfo?: ToAuthInfo;
  /** Overrides how an error passed to `next(err)` is sorted; see {@link middlewareVerifier}. */
  classifyError?: ClassifyError;
  /**
   * Longest wait for the middleware to call `next` or answer, in ms; default `10000`. The
   * chain's `timeoutMs` (default 5000) still applies; this one also covers direct calls.
   */
  timeoutMs?: number;
  /**
   * Whether multiAuth may cache this source's answers by token. Default `false`: the middleware
   * sees the whole request and may decide on more than the token (cookies, client certificate).
   * Set `true` for middlewares that read only the Authorization header, such as
   * express-oauth2-jwt-bearer's `auth()`, to get the result cache's speed.
   */
  cacheable?: boolean;
  /**
   * Whether the middleware's `req.auth` may carry no expiry (a session it manages itself).
   * Default `false`: an `AuthInfo` without `expiresAt` (nor `exp` in its payload) is refused, as
   * the MCP SDKs' `requireBearerAuth` refuses it.
   */
  neverExpires?: boolean;
  /**
   * Scopes this source's tokens must carry, replacing `multiAuth`'s `requiredScopes` for the
   * tokens it accepts (e.g. machine keys with their own vocabulary). Default: the router's.
   */
  requiredScopes?: readonly string[];
}

/** What {@link middlewareVerifier} returns: it resolves only acceptances and throws the rest. */
export interface MiddlewareVerifier extends TokenVerifier {
  /** The source name: `options.name`, default `'middleware'`. */
  readonly name: string;
  /** `options.cacheable`, default `false`: `multiAuth` caches this source's answers only when `true`. */
  readonly cacheable: boolean;
  /** `options.neverExpires`, default `false`. */
  readonly neverExpires: boolean;
  /**
   * Resolves the token's `MultiAuthInfo`; throws `InvalidTokenError` to reject it and
   * `TemporarilyUnavailableError` when the middleware could not decide.
   */
  verifyAccessToken(token: string, context?: VerifyContext): Promise<MultiAuthInfo>;
}

/** Express's `next('route')`/`next('router')` skip ahead; they are not errors. */
const SKIP = new Set(['route', 'router']);
/** Every option `middlewareVerifier` takes: add a new option's name here, or it is refused as a typo. */
const MIDDLEWARE_OPTIONS: readonly string[] = ['name', 'middleware', 'toAuthInfo', 'classifyError', 'timeoutMs', 'cacheable', 'neverExpires', 'requiredScopes'];
/**
 * The OAuth error code for "cannot decide now" (RFC 6749 §4.1.2.1). The MCP SDK's
 * `requireBearerAuth` answers it with HTTP 400 (v2) or 500 (v1), so the status cannot be trusted
 * for it: the code wins whatever status came with it.
 */
const UNAVAILABLE_CODE = 'temporarily_unavailable';
/** Error codes (RFC 6750 and express-oauth2-jwt-bearer's) that are a verdict on the token or request. */
const REFUSAL_CODES = new Set(['invalid_token', 'invalid_request', 'insufficient_scope', 'invalid_dpop_proof']);

/**
 * express-oauth2-jwt-bearer turns *every* error, its key server being down included, into
 * `InvalidTokenError(e.message)` and drops the original error, so the message is all that is
 * left to tell "your token is bad" from "I could not fetch my keys". These are the messages
 * its discovery and key fetching (jose 4's remote JWKS, Node's sockets) produce. Matching
 * text is a last resort; `classifyError` overrides it.
 */
const KEY_SERVER_OUTAGE = [
  /^(connect|getaddrinfo|read|write|socket|querySrv|queryA|queryAaaa) E[A-Z_]+/,
  /^E[A-Z_]{3,}\b/,
  /^socket hang up$/,
  /^request timed out$/,
  /^Client network socket disconnected/,
  /^Expected 200 OK from the JSON Web Key Set HTTP response$/,
  /^Failed to parse the JSON Web Key Set HTTP response as JSON$/,
  /^JSON Web Key Set malformed$/,
  /^Failed to fetch authorization server metadata$/,
  /^Failed to fetch .*, responded with \d+$/,
  /^Failed to parse the response from /,
  /^'issuer' not found in authorization server metadata$/,
];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function fail(message: string): never {
  throw new MultiAuthConfigError(`middlewareVerifier: ${message}`);
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function statusOf(error: unknown): number | undefined {
  if (!isObject(error) && !(error instanceof Error)) return undefined;
  const e = error as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  return typeof status === 'number' && Number.isInteger(status) ? status : undefined;
}

/**
 * The built-in sorting of `next(err)`:
 * - a key-server outage reported as express-oauth2-jwt-bearer reports it (see above): failed;
 * - code `invalid_token`, `invalid_request`, `insufficient_scope`, `invalid_dpop_proof`, or a
 *   4xx status other than 408/429: rejected (a verdict on this token);
 * - 5xx, 408, 429, and errors with neither status nor code: failed. An error the middleware
 *   does not present as a verdict most likely comes from a dependency it could not reach;
 *   answering 401 would tell a client holding a good token to throw it away, while 503
 *   makes it retry. The operator sees the error's name and message through `onDecision`.
 */
function classifyNextError(error: unknown): 'rejected' | 'failed' {
  const message = error instanceof Error ? error.message : undefined;
  if (message !== undefined && KEY_SERVER_OUTAGE.some((re) => re.test(message))) return 'failed';
  const code = oauthCodeOf(error);
  if (code === UNAVAILABLE_CODE) return 'failed';
  if (code !== undefined && REFUSAL_CODES.has(code)) return 'rejected';
  const status = statusOf(error);
  if (status !== undefined && status >= 400 && status < 500 && !isRetryableStatus(status)) return 'rejected';
  return 'failed';
}

/**
 * The OAuth error code an error carries: `code` (ours, express-oauth2-jwt-bearer's, MCP SDK
 * v2's `OAuthError`), `errorCode` (MCP SDK v1's `OAuthError`), or `error` (an OAuth error
 * response object passed as is).
 */
function oauthCodeOf(error: unknown): string | undefined {
  if (!isObject(error) && !(error instanceof Error)) return undefined;
  const e = error as { code?: unknown; errorCode?: unknown; error?: unknown };
  for (const value of [e.code, e.errorCode, e.error]) if (typeof value === 'string') return value;
  return undefined;
}

/**
 * The scopes an `insufficient_scope` error of a middleware names, for the 403's `scope=`: its
 * `scopes`, else the `scope="…"` of the challenge it carries (express-oauth2-jwt-bearer keeps
 * them only there). Scope tokens only; `[]` when it names none (the router's then apply).
 */
function scopesOfError(error: unknown): string[] {
  const own = (error as { scopes?: unknown }).scopes;
  if (Array.isArray(own)) return own.filter(isScopeToken);
  const headers = (error as { headers?: unknown }).headers;
  const challenge = isObject(headers) ? headers['WWW-Authenticate'] ?? headers['www-authenticate'] : undefined;
  const named = typeof challenge === 'string' ? /(?:^|[\s,])scope="([^"]*)"/.exec(challenge)?.[1] : undefined;
  return named === undefined ? [] : named.split(' ').filter(isScopeToken);
}

/** The `error` member of an answer's JSON body (object, string or Buffer), when it has one. */
function bodyErrorCode(body: unknown): string | undefined {
  let value = body;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    const text = String(value);
    // An OAuth error body is small; anything bigger is not one, and is not worth parsing.
    if (text.length > 4096) return undefined;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  const code = isObject(value) ? value.error : undefined;
  return typeof code === 'string' ? code : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `non-error passed to next(): ${typeof error}`;
}

/**
 * What `middlewareVerifier` makes of `req.auth` by default:
 * - express-oauth2-jwt-bearer's `{ payload, header, token }`: `clientId` from `client_id`,
 *   `azp`, then `sub` (else `''`); `scopes` from `scope` (space-separated), `scp` (string or
 *   array) and `permissions` (Auth0 RBAC) together; `expiresAt` from `exp`, `subject` from
 *   `sub`, `resource` from `aud` when it is one http(s) URL; `payload` and `header` as they are;
 * - an MCP SDK `AuthInfo` (`clientId` string and `scopes` array): passed through;
 * - nothing (`undefined`/`null`): `null`, a rejection.
 *
 * Anything else throws: the middleware put something there this function cannot read, and
 * guessing could grant access. Pass your own `toAuthInfo` for such middlewares.
 *
 * @example
 * defaultToAuthInfo({ payload: { sub: 'u1', scope: 'read write', exp: 1893456000 }, header: { alg: 'RS256' } }, token)
 * // -> { token, clientId: 'u1', scopes: ['read', 'write'], subject: 'u1', expiresAt: 1893456000, payload, header }
 */
export function defaultToAuthInfo(auth: unknown, token: string): AuthInfo | Partial<MultiAuthInfo> | null {
  if (auth === undefined || auth === null) return null;
  if (!isObject(auth)) throw new TypeError('req.auth is not an object; pass toAuthInfo to read it');
  if (isObject(auth.payload)) {
    const payload = auth.payload;
    const scopes = [...new Set([payload.scope, payload.scp, payload.permissions].flatMap((claim) => scopeList(claim) ?? []))];
    const info: Partial<MultiAuthInfo> = {
      token,
      clientId: firstString(payload.client_id, payload.azp, payload.sub) ?? '',
      scopes,
      payload,
    };
    if (typeof payload.exp === 'number') info.expiresAt = payload.exp;
    if (typeof payload.sub === 'string') info.subject = payload.sub;
    if (isObject(auth.header)) info.header = auth.header;
    const resource = resourceFromAudience(payload.aud);
    if (resource) info.resource = resource;
    return info;
  }
  if (typeof auth.clientId === 'string' && Array.isArray(auth.scopes)) {
    return { ...(auth as unknown as AuthInfo), token, scopes: [...(auth.scopes as string[])] };
  }
  throw new TypeError('req.auth is neither { payload } (express-oauth2-jwt-bearer) nor an AuthInfo { clientId, scopes }; pass toAuthInfo to read it');
}

/** How the wrapped middleware ended. */
type Ending =
  | { kind: 'next'; error?: unknown; auth?: unknown }
  | { kind: 'answered'; status: number; body?: unknown }
  | { kind: 'threw'; error: unknown }
  | { kind: 'aborted'; reason: unknown };

function define(target: object, values: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(values)) {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  }
}

function credentialsOf(authorization: unknown): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const space = authorization.indexOf(' ');
  return space < 0 ? undefined : authorization.slice(space + 1).trim();
}

/** Headers the wrapped middleware sees: the request's own, carrying exactly the token being verified. */
function headersFor(real: Record<string, unknown> | undefined, token: string): Record<string, unknown> {
  const headers: Record<string, unknown> = { ...(real ?? { host: 'localhost' }) };
  if (credentialsOf(headers.authorization) !== token) headers.authorization = `Bearer ${token}`;
  return headers;
}

/** What Express adds to a request, for a plain Node request (Connect) or none at all. */
const requestHelpers = {
  get(this: ShadowRequest, field: string): unknown {
    return (this.headers as Record<string, unknown>)[field.toLowerCase()];
  },
  header(this: ShadowRequest, field: string): unknown {
    return (this.headers as Record<string, unknown>)[field.toLowerCase()];
  },
  /** Express semantics, simplified: `null` without a body, else the first matching type or `false`. */
  is(this: ShadowRequest, ...types: (string | string[])[]): string | false | null {
    const headers = this.headers as Record<string, unknown>;
    if (headers['transfer-encoding'] === undefined && !(Number(headers['content-length']) > 0)) return null;
    const contentType = typeof headers['content-type'] === 'string' ? headers['content-type'].split(';')[0].trim().toLowerCase() : '';
    const full: Record<string, string> = { urlencoded: 'application/x-www-form-urlencoded', json: 'application/json', multipart: 'multipart/form-data' };
    const match = types.flat().find((t) => contentType === (full[t] ?? t) || (t.endsWith('/*') && contentType.startsWith(t.slice(0, -1))));
    return match ?? false;
  },
};

/**
 * The request the wrapped middleware runs against. With a real request: an object whose
 * prototype is that request, so everything reads through, while assignments (`req.auth`,
 * `req.user`, caches like `_parsedUrl`) land here; `headers` is a copy. Without one (a direct
 * `verifyAccessToken(token)` call): a minimal `GET http://localhost/` carrying the token.
 */
function shadowRequest(real: IncomingMessage | undefined, token: string): ShadowRequest {
  if (!real) {
    const url = '/';
    const minimal = {
      method: 'GET',
      url,
      originalUrl: url,
      path: url,
      protocol: 'http',
      secure: false,
      hostname: 'localhost',
      query: {},
      params: {},
      body: undefined,
      socket: { remoteAddress: undefined, encrypted: false },
      ...requestHelpers,
    };
    define(minimal, { headers: headersFor(undefined, token), auth: undefined });
    return minimal as unknown as ShadowRequest;
  }
  const shadow = Object.create(real) as ShadowRequest;
  define(shadow, { headers: headersFor(real.headers as Record<string, unknown>, token), auth: undefined });
  const r = real as unknown as Record<string, unknown>;
  // A plain Node request (Connect, no Express): add what express-oauth2-jwt-bearer reads.
  if (typeof r.get !== 'function') define(shadow, { get: requestHelpers.get, header: requestHelpers.header });
  if (typeof r.is !== 'function') define(shadow, { is: requestHelpers.is });
  if (r.protocol === undefined) {
    define(shadow, { protocol: (real.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http' });
  }
  if (r.originalUrl === undefined) define(shadow, { originalUrl: real.url });
  if (r.query === undefined) {
    const q = (real.url ?? '').indexOf('?');
    define(shadow, { query: q < 0 ? {} : Object.fromEntries(new URLSearchParams((real.url ?? '').slice(q + 1))) });
  }
  return shadow;
}

/** Express response methods that write, or end in writing, the answer. */
const ANSWERING = ['end', 'send', 'json', 'jsonp', 'sendStatus', 'redirect', 'sendFile', 'download', 'render'];
/** Node methods that commit headers or touch the socket. */
const COMMITTING = ['writeHead', 'write', 'flushHeaders'];
const NO_OPS = ['writeContinue', 'writeProcessing', 'writeEarlyHints', 'addTrailers', 'cork', 'uncork'];

/**
 * The response the wrapped middleware writes to. Methods that would write to the socket are
 * replaced, so the real response is never touched; the first status it commits (by ending
 * the answer or sending its head) is reported through `onAnswer`. Headers are kept here, and
 * `locals` and event listeners are this object's own.
 */
function shadowResponse(real: object | undefined, req: ShadowRequest, onAnswer: (status: number, body?: unknown) => void): Record<string, unknown> {
  const res = Object.create(real ?? EventEmitter.prototype) as Record<string, unknown>;
  const headers = new Map<string, unknown>();
  let committed = false;
  const commit = (body?: unknown) => {
    if (committed) return;
    committed = true;
    onAnswer(res.statusCode as number, body);
  };
  const realLocals = (real as { locals?: unknown } | undefined)?.locals;
  define(res, {
    _events: Object.create(null),
    _eventsCount: 0,
    _maxListeners: undefined,
    req,
    locals: isObject(realLocals) ? Object.create(realLocals) : {},
    socket: null,
    connection: null,
    statusCode: 200,
    statusMessage: '',
    status(code: number) {
      res.statusCode = code;
      return res;
    },
    set(field: string | Record<string, unknown>, value?: unknown) {
      if (typeof field === 'string') headers.set(field.toLowerCase(), value);
      else for (const [k, v] of Object.entries(field)) headers.set(k.toLowerCase(), v);
      return res;
    },
    get: (field: string) => headers.get(field.toLowerCase()),
    setHeader(field: string, value: unknown) {
      headers.set(field.toLowerCase(), value);
      return res;
    },
    appendHeader(field: string, value: unknown) {
      const key = field.toLowerCase();
      const prev = headers.get(key);
      headers.set(key, prev === undefined ? value : ([] as unknown[]).concat(prev, value));
      return res;
    },
    getHeader: (field: string) => headers.get(field.toLowerCase()),
    getHeaders: () => Object.fromEntries(headers),
    getHeaderNames: () => [...headers.keys()],
    hasHeader: (field: string) => headers.has(field.toLowerCase()),
    removeHeader: (field: string) => void headers.delete(field.toLowerCase()),
    setTimeout: () => res,
    destroy: () => {
      if (!committed) {
        res.statusCode = 500;
        commit();
      }
      return res;
    },
  });
  res.header = res.set;
  for (const method of ANSWERING) {
    define(res, {
      [method]: (...args: unknown[]) => {
        if (method === 'sendStatus' && typeof args[0] === 'number') res.statusCode = args[0];
        if (method === 'redirect') res.statusCode = typeof args[0] === 'number' ? args[0] : 302;
        // The body says what the status may not: v2's requireBearerAuth sends
        // `temporarily_unavailable` with a 400.
        commit(method === 'json' || method === 'send' || method === 'end' ? args[0] : undefined);
        return res;
      },
    });
  }
  for (const method of COMMITTING) {
    define(res, {
      [method]: (...args: unknown[]) => {
        if (method === 'writeHead' && typeof args[0] === 'number') res.statusCode = args[0];
        commit();
        return method === 'write' ? true : res;
      },
    });
  }
  for (const method of NO_OPS) define(res, { [method]: () => res });
  Object.defineProperty(res, 'headersSent', { get: () => committed, configurable: true });
  Object.defineProperty(res, 'writableEnded', { get: () => committed, configurable: true });
  Object.defineProperty(res, 'finished', { get: () => committed, configurable: true });
  return res;
}

/**
 * Runs the middleware once against a shadow request and response and reports how it ended:
 * the first of `next(...)`, an answer, a throw (or rejected promise), or `signal` aborting.
 */
function run(middleware: AuthMiddleware, req: ShadowRequest, realRes: object | undefined, signal: AbortSignal): Promise<Ending> {
  return new Promise<Ending>((resolve) => {
    let done = false;
    const settle = (ending: Ending) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      resolve(ending);
    };
    const onAbort = () => settle({ kind: 'aborted', reason: signal.reason });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const next = (error?: unknown) => {
      const passed = error === undefined || error === null || (typeof error === 'string' && SKIP.has(error));
      // The verdict is what req.auth held at this call: what the middleware does after it is not.
      settle(passed ? { kind: 'next', auth: Object.prototype.hasOwnProperty.call(req, 'auth') ? req.auth : undefined } : { kind: 'next', error });
    };
    const res = shadowResponse(realRes, req, (status, body) => settle({ kind: 'answered', status, body }));
    define(req, { res, next });
    try {
      const result = middleware(req, res, next);
      if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, (error: unknown) => settle({ kind: 'threw', error }));
      }
    } catch (error) {
      settle({ kind: 'threw', error });
    }
  });
}

/**
 * A source that runs an existing Express auth middleware, e.g. express-oauth2-jwt-bearer's
 * `auth()`, and accepts the token when the middleware calls `next()` having set `req.auth`.
 *
 * The middleware runs against a *shadow* request (prototype: the real request, so headers,
 * url, query and body read through; its own writes, such as `req.auth`, stay on the shadow)
 * whose `Authorization` header carries exactly the token being verified, and a shadow
 * response whose writing methods are captured and never reach the socket. So a refusing
 * middleware can neither answer the request nor leave its state on it.
 *
 * Outcomes (rejections are thrown as `InvalidTokenError` so the operator sees why; a bug in
 * `toAuthInfo` or a `req.auth` it cannot read throws a plain `TypeError`, an "errored" source):
 * - `next()` with something on `req.auth`: accepted, through `toAuthInfo`;
 * - `next()` with nothing there (e.g. `auth({ authRequired: false })`): rejected;
 * - `next(err)`: rejected when `err` is a verdict on the token (code `invalid_token`,
 *   `invalid_request`, `insufficient_scope`, `invalid_dpop_proof`, or a 4xx status but
 *   408/429); failed for code `temporarily_unavailable` whatever its status, (`TemporarilyUnavailableError` with `cause: err`) for 5xx/408/429, for
 *   errors with no status or code (a dependency the middleware could not reach, not a
 *   verdict: a 401 would make clients drop good tokens), and for express-oauth2-jwt-bearer's
 *   key-server outages, which it reports as `invalid_token` and are recognised by their
 *   message. `classifyError` overrides this;
 * - it answers instead of calling `next`: 5xx, 408, 429 failed, and so is an answer whose JSON
 *   body says `"error": "temporarily_unavailable"` whatever its status (the MCP SDK v2's
 *   `requireBearerAuth` sends it with 400); anything else rejected;
 * - it throws (or its promise rejects): sorted like `next(err)`;
 * - it does none of these before the chain's time limit (`context.signal`) or `timeoutMs`: failed.
 *
 * Isolation covers what the middleware assigns on `req`/`res` and the `headers`, `locals` and
 * listeners of each; it does not cover in-place mutation of other shared objects (e.g.
 * `req.body.x = ...`, `req.session`).
 *
 * Called directly (`verifyAccessToken(token)` with no `context.req`), the middleware sees a
 * minimal `GET http://localhost/` with `Authorization: Bearer <token>` and `Host: localhost`,
 * plus Express's `get`/`header`/`is`, `protocol`, `originalUrl` and `query`. That is all
 * express-oauth2-jwt-bearer's `auth()` needs for bearer JWTs; DPoP- and mTLS-bound tokens
 * cannot be verified that way, since there is no proof header or client certificate.
 *
 * @example
 * import { auth } from 'express-oauth2-jwt-bearer';
 * middlewareVerifier({ name: 'auth0', middleware: auth({ issuerBaseURL: 'https://tenant.auth0.com/', audience: 'https://api.example.com' }) })
 */
export function middlewareVerifier(options: MiddlewareVerifierOptions): MiddlewareVerifier {
  if (!isObject(options)) fail('options must be an object { name?, middleware, toAuthInfo? }');
  refuseUnknownOptions('middlewareVerifier', options, MIDDLEWARE_OPTIONS);
  const requiredScopes = sourceRequiredScopes('middlewareVerifier', options.requiredScopes);
  const name = options.name ?? 'middleware';
  if (typeof name !== 'string' || name === '') fail('name must be a non-empty string');
  const { middleware } = options;
  if (typeof middleware !== 'function') fail('middleware must be an Express middleware function (req, res, next)');
  if (middleware.length >= 4) fail('middleware is an error handler (4 arguments); pass an auth middleware (req, res, next)');
  const toAuthInfo: ToAuthInfo = options.toAuthInfo ?? defaultToAuthInfo;
  if (typeof toAuthInfo !== 'function') fail('toAuthInfo must be a function (auth, token, req) => AuthInfo | null');
  const classifyError = options.classifyError;
  if (classifyError !== undefined && typeof classifyError !== 'function') fail('classifyError must be a function');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const cacheable = options.cacheable ?? false;
  if (typeof cacheable !== 'boolean') fail('cacheable must be true or false');
  const neverExpires = options.neverExpires ?? false;
  if (typeof neverExpires !== 'boolean') fail('neverExpires must be true or false');
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) fail('timeoutMs must be a positive number');

  const sortError = (error: unknown): 'rejected' | 'failed' => classifyError?.(error) ?? classifyNextError(error);
  /** Rejections are thrown too (not resolved `null`) so that the operator sees why. */
  const verdictOn = (error: unknown, what: string): never => {
    // It recognised the token and found its scope too small: the chain's 403, not a rejection.
    if (classifyError === undefined && oauthCodeOf(error) === 'insufficient_scope') {
      throw new InsufficientScopeError(scopesOfError(error), `${name}: ${what} (${describe(error)})`);
    }
    if (sortError(error) === 'rejected') throw new InvalidTokenError(`${name}: ${what} (${describe(error)})`);
    throw new TemporarilyUnavailableError(`${name}: ${what} (${describe(error)})`, { cause: error });
  };

  return {
    name,
    cacheable,
    neverExpires,
    ...(requiredScopes ? { requiredScopes } : {}),
    async verifyAccessToken(token: string, context?: VerifyContext): Promise<MultiAuthInfo> {
      if (typeof token !== 'string' || token === '') throw new InvalidTokenError(`${name}: empty token`);
      const real = context?.req;
      const req = shadowRequest(real, token);
      // The chain's signal and our own time limit, linked by hand (no AbortSignal.any on Node 20.0-20.2).
      const limit = new AbortController();
      const timeout = setTimeout(() => limit.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const outer = context?.signal;
      const onOuterAbort = () => limit.abort(outer?.reason);
      if (outer?.aborted) onOuterAbort();
      else outer?.addEventListener('abort', onOuterAbort, { once: true });
      let ending: Ending;
      try {
        ending = await run(middleware, req, (real as { res?: object } | undefined)?.res, limit.signal);
      } finally {
        clearTimeout(timeout);
        outer?.removeEventListener('abort', onOuterAbort);
      }
      switch (ending.kind) {
        case 'aborted':
          throw new TemporarilyUnavailableError(`${name}: the middleware neither called next nor answered in time`, { cause: ending.reason });
        case 'answered':
          if (isRetryableStatus(ending.status) || bodyErrorCode(ending.body) === UNAVAILABLE_CODE) {
            throw new TemporarilyUnavailableError(`${name}: the middleware answered ${ending.status}`);
          }
          if (ending.status === 403 && bodyErrorCode(ending.body) === 'insufficient_scope') {
            throw new InsufficientScopeError([], `${name}: the middleware answered 403 insufficient_scope`);
          }
          throw new InvalidTokenError(`${name}: the middleware answered ${ending.status} instead of calling next`);
        case 'threw':
          return verdictOn(ending.error, 'the middleware threw');
        case 'next':
          if (ending.error !== undefined) return verdictOn(ending.error, 'the middleware passed an error');
      }
      const own = ending.auth;
      const result = await toAuthInfo(own, token, req);
      if (result === null || result === undefined) {
        throw new InvalidTokenError(`${name}: the middleware called next() without authenticating the request`);
      }
      if (!isObject(result) || typeof result.clientId !== 'string' || !Array.isArray(result.scopes)) {
        throw new TypeError(`${name}: toAuthInfo returned something that is not an AuthInfo { clientId, scopes }`);
      }
      const extra = isObject(result.extra) ? result.extra : {};
      return { ...(result as MultiAuthInfo), token, source: name, extra: { ...extra, source: name } };
    },
  };
}
