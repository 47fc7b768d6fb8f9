import type { IncomingMessage } from 'node:http';
import type { ChallengeContext } from './challenge';
import { standardClaims } from '../core/claims';
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
  /**
   * What the `mcpPolicy`s created with `{ auth }` for this `multiAuth` require of the request's
   * parsed JSON-RPC body, so a refusal made before them (the router's, a guard's) names their
   * scopes too: one challenge per operation.
   */
  readonly operationScopes?: OperationScopes;
  /** The router's source names, so a guard naming another can say so. */
  readonly sourceNames?: readonly string[];
  /**
   * Sources with their own `requiredScopes`: for a token one of them accepted, the context the
   * request carries names that list as `scopes` (see `contextForSource`).
   */
  readonly scopesBySource?: ReadonlyMap<string, readonly string[]>;
}

const bySourceContexts = new WeakMap<RequestContext, Map<string, RequestContext>>();

/**
 * The context a request whose token `source` accepted carries: `context` itself, or, when that
 * source has its own `requiredScopes`, a copy naming them as `scopes`, so that guards and
 * `mcpPolicy` challenge with the list the token was held to. Made once per context and source.
 */
export function contextForSource(context: RequestContext, source: string): RequestContext {
  const own = context.scopesBySource?.get(source);
  if (own === undefined) return context;
  let contexts = bySourceContexts.get(context);
  if (!contexts) bySourceContexts.set(context, (contexts = new Map()));
  let derived = contexts.get(source);
  if (!derived) contexts.set(source, (derived = Object.freeze({ ...context, scopes: own })));
  return derived;
}

/** A request's parsed body (`express.json()`'s `req.body`), or `undefined`. */
export function parsedBody(req: IncomingMessage): unknown {
  return (req as IncomingMessage & { body?: unknown }).body;
}

/**
 * What an `mcpPolicy` requires of a request's parsed JSON-RPC body, given the scopes the token
 * holds (`undefined`: not known, e.g. no token), so that the alternative of an `anyScopes` rule
 * the token already uses is the one named.
 */
export type OperationScopes = (body: unknown, held?: readonly string[]) => readonly string[];

/**
 * How `mcpPolicy(rules, { auth })` tells the `multiAuth` router about itself: a method under
 * this registered symbol on the router, so the router's own 403 names the policy's scopes too.
 * It answers the router's required scopes per source, for an `AuthInfo` that carries no
 * challenge context (`auth.verify()`'s).
 */
export type RegisterOperationScopes = (scopes: OperationScopes) => (source: string) => readonly string[];

export const REGISTER_OPERATION_SCOPES = Symbol.for('express-multiauth.register-operation-scopes');

/**
 * Scopes the guards and policies a request already passed required of it. A refusal further
 * down names them again, or the client's next token (asked for with exactly `scope=`) would
 * lose them.
 */
const PASSED = Symbol.for('express-multiauth.passed-scopes');

type WithPassed = IncomingMessage & { [PASSED]?: readonly string[] };

/** Records that `req` passed a check requiring `scopes`. */
export function notePassedScopes(req: IncomingMessage, scopes: readonly string[]): void {
  if (scopes.length === 0) return;
  const holder = req as WithPassed;
  holder[PASSED] = [...new Set([...(holder[PASSED] ?? []), ...scopes])];
}

/** What the checks `req` passed so far required (see `notePassedScopes`). */
export function passedScopes(req: IncomingMessage): readonly string[] {
  return (req as WithPassed)[PASSED] ?? [];
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

/** Whether a `multiAuth` has seen this request (it leaves its context on the request or on `req.auth`). */
export function seenByMultiAuth(req: IncomingMessage): boolean {
  const auth = (req as WithContext).auth;
  return (req as WithContext)[CONTEXT] !== undefined || (typeof auth === 'object' && auth !== null && challengeContextOf(auth) !== undefined);
}

type Reporter = (req: IncomingMessage, refusal: LaterRefusal) => void;
/** The reporters of the live `multiAuth` routers, for refusals of requests none of them saw. */
const unseenListeners = new Set<WeakRef<Reporter>>();

function forgetCollected(): void {
  for (const ref of unseenListeners) if (ref.deref() === undefined) unseenListeners.delete(ref);
}

/**
 * Called by each `multiAuth`: a guard refusing a request that no router saw cannot know which
 * router it was meant to follow, so every live one hears of it through its `onDecision`. Held
 * weakly: a router that is dropped stops listening.
 */
export function listenForUnseen(report: Reporter): void {
  if (unseenListeners.size >= 64) forgetCollected();
  unseenListeners.add(new WeakRef(report));
}

/** Reports a guard's refusal of a request no `multiAuth` saw, to every live `multiAuth`. */
export function reportUnseen(req: IncomingMessage, refusal: LaterRefusal): void {
  for (const ref of unseenListeners) {
    const report = ref.deref();
    if (report === undefined) unseenListeners.delete(ref);
    else report(req, refusal);
  }
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
  expiresAt?: number;
  extra?: Record<string, unknown>;
}

function isMultiAuthInfo(value: unknown): value is MultiAuthInfo {
  return value !== null && typeof value === 'object' && typeof (value as MultiAuthInfo).source === 'string';
}

/** An `AuthInfo` has a string token and a scopes array; a request has neither. */
function isAuthInfo(value: unknown): value is AuthInfoLike {
  return value !== null && typeof value === 'object' && typeof (value as AuthInfoLike).token === 'string' && Array.isArray((value as AuthInfoLike).scopes);
}

/**
 * An `AuthInfo` copied with the SDK's known fields only (MCP SDK v2 hands tool handlers such a
 * copy): `source` survives in `extra.source`, which `multiAuth` mirrors for this reason. Rebuilt
 * as a `MultiAuthInfo`, with the standard claims in place of the payload the copy lost.
 */
function fromKnownFields(info: AuthInfoLike): MultiAuthInfo | undefined {
  const source = info.extra?.source;
  if (typeof source !== 'string' || typeof info.clientId !== 'string') return undefined;
  const copy = { ...info, source, extra: { ...info.extra, source } } as MultiAuthInfo;
  copy.payload = standardClaims({ clientId: info.clientId, scopes: info.scopes, expiresAt: info.expiresAt });
  return copy;
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
 * object, typed, when `multiAuth` made it (it carries `source`); a copy that kept only the SDK's
 * fields (`source` survives in `extra.source`) is rebuilt as a `MultiAuthInfo`; anything else is
 * `undefined`.
 *
 * @example
 * app.get('/me', (req, res) => {
 *   const auth = getAuth(req);
 *   res.end(JSON.stringify({ client: auth?.clientId, source: auth?.source }));
 * });
 * // in an MCP SDK v2 tool handler:
 * // async (ctx) => ({ content: [{ type: 'text', text: getAuth(ctx.http?.authInfo)?.source ?? 'anonymous' }] })
 */
export function getAuth(req: IncomingMessage): MultiAuthInfo | undefined;
export function getAuth(authInfo: AuthInfoLike | undefined): MultiAuthInfo | undefined;
export function getAuth(reqOrAuthInfo: IncomingMessage | AuthInfoLike | undefined): MultiAuthInfo | undefined {
  if (isAuthInfo(reqOrAuthInfo)) return isMultiAuthInfo(reqOrAuthInfo) ? reqOrAuthInfo : fromKnownFields(reqOrAuthInfo);
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
