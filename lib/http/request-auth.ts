import type { IncomingMessage } from 'node:http';
import type { ChallengeContext } from './challenge';
import type { LaterRefusal, MultiAuthInfo } from '../core/types';

/**
 * The challenge settings `multiAuth` leaves on a request, plus how to report a refusal made
 * further down (by a guard or `mcpPolicy`) through that `multiAuth`'s `onDecision`. The same
 * object for every request of one `multiAuth`: it travels the way the challenge context already
 * did, so reporting costs nothing per request until something is refused.
 */
export interface RequestContext extends ChallengeContext {
  /** Present when the `multiAuth` has an `onDecision`. */
  readonly report?: (req: IncomingMessage, refusal: LaterRefusal) => void;
}

/**
 * Where `multiAuth` leaves its challenge settings on a request, so guards further down answer
 * with the same `resource_metadata`. A registered symbol, so the ESM and CommonJS builds of
 * this package agree on it.
 */
const CONTEXT = Symbol.for('express-multiauth.context');

type WithContext = IncomingMessage & { [CONTEXT]?: RequestContext; auth?: unknown };
type InfoWithContext = MultiAuthInfo & { [CONTEXT]?: RequestContext };

/** For a request let through without a token (`authRequired: false`). */
export function setChallengeContext(req: IncomingMessage, context: RequestContext): void {
  (req as WithContext)[CONTEXT] = context;
}

export function getChallengeContext(req: IncomingMessage): RequestContext {
  return (req as WithContext)[CONTEXT] ?? ((req as WithContext).auth as InfoWithContext | undefined)?.[CONTEXT] ?? {};
}

/**
 * Sets `req.auth`, with the challenge context on it rather than on `req`: a new property on
 * every request costs more than one on an object this package has just made. Typed through
 * `IncomingMessage`, which nobody augments: Express's `Request` may carry the MCP SDK's or
 * express-oauth2-jwt-bearer's declaration of `auth`, and assigning through it would not compile
 * in apps that load either.
 */
export function setAuth(req: IncomingMessage, info: MultiAuthInfo, context?: RequestContext): void {
  if (context !== undefined) {
    // On req itself when the object cannot take it (a source returned a frozen AuthInfo).
    if (Object.isExtensible(info)) (info as InfoWithContext)[CONTEXT] = context;
    else (req as WithContext)[CONTEXT] = context;
  }
  (req as WithContext).auth = info;
}

/** Reports a refusal made after the bearer check through the `multiAuth` that let the request in (if it listens). */
export function reportRefusal(req: IncomingMessage, context: RequestContext, refusal: LaterRefusal): void {
  context.report?.(req, refusal);
}

/** The MCP SDK's `AuthInfo` as far as `getAuth` needs to recognise one (v1 and v2 alike). */
interface AuthInfoLike {
  token: string;
  clientId: string;
  scopes: string[];
}

function isMultiAuthInfo(value: unknown): value is MultiAuthInfo {
  return value !== null && typeof value === 'object' && typeof (value as MultiAuthInfo).source === 'string';
}

/** An `AuthInfo` has a string token and a scopes array; a request has neither. */
function isAuthInfo(value: unknown): value is AuthInfoLike {
  return value !== null && typeof value === 'object' && typeof (value as AuthInfoLike).token === 'string' && Array.isArray((value as AuthInfoLike).scopes);
}

/** The challenge settings `multiAuth` left on an `AuthInfo` it made (they survive `{ ...authInfo }`). */
export function challengeContextOf(info: object | undefined): RequestContext | undefined {
  return info === undefined ? undefined : (info as InfoWithContext)[CONTEXT];
}

/**
 * `req.auth` typed as `MultiAuthInfo`, without augmenting Express's `Request`: the MCP SDK and
 * express-oauth2-jwt-bearer already declare `req.auth` with their own types, and a third
 * declaration would break apps that import them.
 *
 * It also takes an `AuthInfo` itself, for code that has no request: an MCP SDK v2 tool handler
 * (`ctx.http?.authInfo`) or a `createMcpHandler` factory (`ctx.authInfo`). It answers the same
 * object, typed, when `multiAuth` made it (it carries `source`), and `undefined` otherwise.
 *
 * @example
 * app.get('/me', (req, res) => {
 *   const auth = getAuth(req);
 *   res.json({ client: auth?.clientId, source: auth?.source });
 * });
 * // in an MCP SDK v2 tool handler:
 * // async (ctx) => ({ content: [{ type: 'text', text: getAuth(ctx.http?.authInfo)?.source ?? 'anonymous' }] })
 */
export function getAuth(req: IncomingMessage): MultiAuthInfo | undefined;
export function getAuth(authInfo: AuthInfoLike | undefined): MultiAuthInfo | undefined;
export function getAuth(reqOrAuthInfo: IncomingMessage | AuthInfoLike | undefined): MultiAuthInfo | undefined {
  if (isAuthInfo(reqOrAuthInfo)) return isMultiAuthInfo(reqOrAuthInfo) ? reqOrAuthInfo : undefined;
  const auth = (reqOrAuthInfo as WithContext | undefined)?.auth;
  return isMultiAuthInfo(auth) ? auth : undefined;
}

/**
 * The request, typed the way the MCP SDK's transports take it (`IncomingMessage & { auth?:
 * AuthInfo }`), with `auth` as `multiAuth` set it. The way through a type clash this package
 * cannot fix: with express-oauth2-jwt-bearer anywhere in the program, Express's `Request.auth`
 * is its `VerifyJwtResult`, and `transport.handleRequest(req, res, req.body)` fails with TS2345
 * (SDK v1 and v2 alike). Returns `req` itself, no copy.
 *
 * Throws a `TypeError` when `req.auth` is set but not by `multiAuth` (e.g. express-oauth2-jwt-bearer's
 * own `auth()` ran on this route): the SDK would otherwise hand tool handlers an `authInfo`
 * without `clientId` or `scopes`.
 *
 * @example
 * app.post('/mcp', async (req, res) => {
 *   const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
 *   await server.connect(transport);
 *   await transport.handleRequest(mcpRequest(req), res, req.body);   // tool handlers get extra.authInfo
 * });
 */
export function mcpRequest(req: IncomingMessage): IncomingMessage & { auth?: MultiAuthInfo } {
  const auth = (req as WithContext).auth;
  if (auth !== undefined && getAuth(req) === undefined) {
    throw new TypeError(
      'mcpRequest: req.auth was not set by multiAuth (another auth middleware ran on this route); the MCP transport needs an AuthInfo',
    );
  }
  return req as IncomingMessage & { auth?: MultiAuthInfo };
}
