// lib/mcp/: what only an MCP server needs after the chain: per-tool and per-method policy on
// JSON-RPC requests, and adapters for the MCP SDKs. May import every folder below it.

import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { NodeMiddleware } from '../http/node-http';
import { sendError, sendJsonRpcError, sendNoCredentials } from '../http/challenge';
import { isJsonBody } from '../http/node-http';
import { InsufficientScopeError, InvalidRequestError, MultiAuthConfigError } from '../core/errors';
import { refuseUnknownOptions } from '../core/options';
import { challengeScopes, scopesHeld } from '../core/scopes';
import type { MultiAuth } from '../chain/multi-auth';
import {
  challengeContextOf,
  getAuth,
  getChallengeContext,
  notePassedScopes,
  passedScopes,
  REGISTER_OPERATION_SCOPES,
  reportRefusal,
  type OperationScopes,
  type RegisterOperationScopes,
} from '../http/request-auth';
import { HEADER_MISMATCH, headerMismatch } from './standard-headers';
import type { AuthInfo } from '../core/types';

/**
 * Who may make one kind of MCP request. Every key given must hold. A rule with no keys only
 * asks for an accepted token (useful with `default: 'deny'`).
 */
export interface McpRule {
  /** Scopes the token must all carry. */
  scopes?: readonly string[];
  /**
   * The token must carry at least one of these. A refusal asks for the first one, so list the
   * least privileged first.
   */
  anyScopes?: readonly string[];
  /** Names of the `multiAuth` sources whose tokens may make the request. */
  sources?: readonly string[];
}

/** What `mcpPolicy` enforces. */
export interface McpPolicyRules {
  /** JSON-RPC method -> rule, for any request method (`tools/list`, `resources/read`, `tools/call`, ...). */
  methods?: Readonly<Record<string, McpRule>>;
  /** Tool name -> rule, for `tools/call` requests by `params.name`. */
  tools?: Readonly<Record<string, McpRule>>;
  /**
   * What happens to a request that matches no method rule and no tool rule. Default `'allow'`.
   * What a client needs to connect and stay connected always passes, whatever this says:
   * `initialize`, `ping`, `server/discover`, `subscriptions/listen` and `notifications/*`.
   */
  default?: 'allow' | 'deny';
}

/** Options of `mcpPolicy()` (its second argument). */
export interface McpPolicyOptions {
  /**
   * The `multiAuth` in front of the policy. When given, a rule naming a source it does not
   * have is refused at construction, so a typo cannot silently lock a source out; and that
   * router's own 403 for a request whose JSON-RPC body is already parsed (`express.json()` in
   * front of it) names what this policy requires of the call too, so one step-up suffices.
   */
  auth?: Pick<MultiAuth, 'sourceNames'> & Partial<Pick<MultiAuth, 'requiredScopes'>>;
}

/**
 * A JSON-RPC request as MCP SDK v2 hands it to a `ScopeChallengeHandler`. Declared here so that
 * the SDK stays an optional peer; the SDK's own type is assignable to it.
 */
export interface McpJsonRpcRequest {
  /** The JSON-RPC method, e.g. `tools/call`. */
  method: string;
  /** The JSON-RPC params, e.g. `{ name, arguments }` for `tools/call`. */
  params?: unknown;
}

/** MCP SDK v2's `ScopeChallenge`: the complete scope set a client must ask for. */
export interface McpScopeChallenge {
  /** Every scope the client must ask for: the ones it has that the call needs, and the missing ones. */
  scopes: readonly [string, ...string[]];
  /** Human-readable text for the challenge's `error_description`. */
  errorDescription?: string;
}

/**
 * MCP SDK v2's `ScopeChallengeHandler`, structurally: pass `policy.scopeChallenge` wherever the
 * SDK takes one (`registerTool(name, { scopeChallenge }, ...)`,
 * `transport.setScopeChallengeResolver(...)`).
 */
export type McpScopeChallengeHandler = (context: { request: McpJsonRpcRequest; authInfo?: AuthInfo }) => McpScopeChallenge | undefined;

/**
 * What `mcpPolicy()` returns: the Express middleware, plus the same rules for code that has no
 * Express request (MCP SDK v2's `createMcpHandler` factories and scope challenges).
 */
export interface McpPolicy extends RequestHandler, NodeMiddleware {
  /**
   * Which of `toolNames` a token may call under this policy, in the order given, judged from the
   * `AuthInfo` alone (`undefined`: an anonymous request). For a v2 `createMcpHandler` factory,
   * which sees `ctx.authInfo` and a web `Request` but no Express request.
   */
  allowedTools<N extends string>(authInfo: AuthInfo | undefined, toolNames: Iterable<N>): N[];
  /**
   * An MCP SDK v2 `ScopeChallengeHandler` judging this policy's scope rules: for a request the
   * middleware would refuse for lacking scope, a challenge whose `scopes` are exactly the
   * middleware's `scope=`. Anonymous requests are left to the authentication gate (as the SDK's
   * own `requireScopes` does). A request refused by a `sources` rule or by `default: 'deny'`
   * cannot be expressed as a scope challenge: it throws, so the SDK answers 500 rather than let
   * it through; mount the middleware in front to answer those with 403.
   */
  readonly scopeChallenge: McpScopeChallengeHandler;
}

interface CompiledRule {
  /** Where the rule was declared, e.g. `tools["delete_repo"]`: named in refusals reported to `onDecision`. */
  readonly where: string;
  readonly scopes: readonly string[];
  readonly anyScopes: readonly string[];
  readonly sources: readonly string[] | undefined;
}

interface CompiledPolicy {
  readonly methods: ReadonlyMap<string, CompiledRule>;
  readonly tools: ReadonlyMap<string, CompiledRule>;
  readonly deny: boolean;
}

/** One JSON-RPC request as the policy sees it. */
interface RequestCall {
  method: string;
  /** `params.name` of a `tools/call`, when it is a string. */
  tool?: string;
}

/**
 * How a whole body is answered, worst first: `denied` (the policy refuses it for every token),
 * `unauthenticated` (rules apply and there is no token), `source` (wrong kind of token),
 * `scope` (a token with more scope would do), `pass`.
 */
type Verdict =
  | { outcome: 'pass' }
  | { outcome: 'denied' | 'unauthenticated' | 'source' | 'scope'; scopes: string[]; rule: string; reason: string };

/**
 * Where a policy leaves itself on a request it let through, so `allowedTools(req)` finds it.
 * A registered symbol, so the ESM and CommonJS builds of this package agree on it.
 */
const POLICIES = Symbol.for('express-multiauth.mcp-policy');

type WithPolicies = IncomingMessage & { [POLICIES]?: CompiledPolicy[] };

/**
 * What a client needs to connect and stay connected, in both protocol eras: never subject to
 * rules. `server/discover` is how a 2026-07-28 client (the v2 SDK's `auto` mode) learns what the
 * server speaks before anything else; `subscriptions/listen` is that era's notification stream,
 * which replaces the GET stream (a request without a body, which no rule ever saw).
 * `notifications/*` are matched by prefix.
 */
const ALWAYS_ALLOWED = new Set(['initialize', 'ping', 'server/discover', 'subscriptions/listen']);

function alwaysAllowed(method: string): boolean {
  return ALWAYS_ALLOWED.has(method) || method.startsWith('notifications/');
}

const RULE_KEYS: readonly string[] = ['scopes', 'anyScopes', 'sources'];
const RULES_KEYS: readonly string[] = ['methods', 'tools', 'default'];
const OPTION_KEYS: readonly string[] = ['auth'];

const LACKS_SCOPE = 'The access token lacks a scope this request requires';
const WRONG_KIND = 'This kind of access token is not accepted for this request';
const NOT_ALLOWED = 'This request is not allowed';
const NOT_JSON = 'An MCP request body must be JSON (Content-Type: application/json)';

function fail(message: string): never {
  throw new MultiAuthConfigError(`mcpPolicy: ${message}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  refuseUnknownOptions('mcpPolicy', value, allowed, where);
}

function checkList(value: unknown, where: string, what: string): readonly string[] {
  if (!Array.isArray(value)) fail(`${where} must be an array of ${what}s`);
  if (value.length === 0) fail(`${where} is empty; omit it or give at least one ${what}`);
  for (const entry of value) {
    if (typeof entry !== 'string' || entry === '' || /\s/.test(entry)) {
      fail(`${where}: ${JSON.stringify(entry)} is not a valid ${what}`);
    }
  }
  return Object.freeze([...new Set(value as string[])]);
}

function compileRule(value: unknown, where: string, sourceNames: readonly string[] | undefined): CompiledRule {
  if (!isPlainObject(value)) fail(`${where} must be an object { scopes?, anyScopes?, sources? }`);
  checkKeys(value, RULE_KEYS, where);
  const scopes = value.scopes === undefined ? [] : checkList(value.scopes, `${where}.scopes`, 'scope');
  const anyScopes = value.anyScopes === undefined ? [] : checkList(value.anyScopes, `${where}.anyScopes`, 'scope');
  const sources = value.sources === undefined ? undefined : checkList(value.sources, `${where}.sources`, 'source name');
  if (sources && sourceNames) {
    for (const source of sources) {
      if (!sourceNames.includes(source)) {
        fail(`${where}.sources names ${JSON.stringify(source)}, which is not a source of this multiAuth (${sourceNames.join(', ')})`);
      }
    }
  }
  return Object.freeze({ where, scopes, anyScopes, sources });
}

function compileTable(
  value: unknown,
  where: string,
  sourceNames: readonly string[] | undefined,
  checkName: (name: string) => void,
): ReadonlyMap<string, CompiledRule> {
  const table = new Map<string, CompiledRule>();
  if (value === undefined) return table;
  if (!isPlainObject(value)) fail(`${where} must be an object of name -> rule`);
  for (const [name, rule] of Object.entries(value)) {
    checkName(name);
    table.set(name, compileRule(rule, `${where}[${JSON.stringify(name)}]`, sourceNames));
  }
  return table;
}

function compilePolicy(rules: McpPolicyRules, options: McpPolicyOptions): CompiledPolicy {
  if (!isPlainObject(rules)) fail('rules must be an object { methods?, tools?, default? }');
  checkKeys(rules, RULES_KEYS, 'rules');
  if (!isPlainObject(options)) fail('options must be an object { auth? }');
  checkKeys(options, OPTION_KEYS, 'options');
  let sourceNames: readonly string[] | undefined;
  if (options.auth !== undefined) {
    const names = (options.auth as { sourceNames?: unknown } | null)?.sourceNames;
    if (!Array.isArray(names)) fail('options.auth must be the multiAuth instance (it has no sourceNames)');
    sourceNames = names as string[];
  }
  const deny = rules.default === 'deny';
  if (rules.default !== undefined && rules.default !== 'allow' && !deny) {
    fail(`default must be 'allow' or 'deny', not ${JSON.stringify(rules.default)}`);
  }
  const methods = compileTable(rules.methods, 'methods', sourceNames, (name) => {
    if (name === '' || /\s/.test(name)) fail(`methods: ${JSON.stringify(name)} is not a JSON-RPC method name`);
    // A rule here would never apply; refusing it beats letting someone believe it does.
    if (alwaysAllowed(name)) {
      fail(`methods: ${JSON.stringify(name)} always passes (clients need it to connect); it cannot carry a rule`);
    }
  });
  const tools = compileTable(rules.tools, 'tools', sourceNames, (name) => {
    if (name === '') fail('tools: a tool name cannot be empty');
  });
  return Object.freeze({ methods, tools, deny });
}

/**
 * The requests in a parsed body. Anything with a string `method` and an `id` counts as a
 * request whatever else it carries (a stricter reading than the transport's, so nothing the
 * transport would run escapes the policy). Notifications, responses and values that are not
 * JSON-RPC at all are not requests: the transport ignores or rejects them on its own.
 */
function requestsIn(body: unknown): RequestCall[] {
  const calls: RequestCall[] = [];
  for (const message of Array.isArray(body) ? body : [body]) {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) continue;
    const { method, params } = message as { method?: unknown; params?: unknown };
    if (typeof method !== 'string' || !('id' in message)) continue;
    if (alwaysAllowed(method)) continue;
    const call: RequestCall = { method };
    if (method === 'tools/call' && params !== null && typeof params === 'object') {
      const name = (params as { name?: unknown }).name;
      if (typeof name === 'string') call.tool = name;
    }
    calls.push(call);
  }
  return calls;
}

/**
 * What the decision reads of a token: an `AuthInfo` made by another gate has no `source`.
 * `scopes`: what it holds, implied ones included (`scopeHierarchy`).
 */
interface Caller {
  readonly scopes: readonly string[];
  readonly source?: string | undefined;
}

/** The pure decision: no Express, no HTTP. `baseScopes` are the scopes `multiAuth` requires of every token. */
function judge(policy: CompiledPolicy, auth: Caller | undefined, calls: RequestCall[], baseScopes: readonly string[]): Verdict {
  const needed = new Set(baseScopes);
  // The first rule of each kind that refused, for the operator.
  let denied: string | undefined;
  let ruled: string | undefined;
  let wrongSource: { rule: string; reason: string } | undefined;
  let lacksScope: { rule: string; reason: string } | undefined;
  for (const call of calls) {
    const rules: CompiledRule[] = [];
    const methodRule = policy.methods.get(call.method);
    if (methodRule) rules.push(methodRule);
    const toolRule = call.tool === undefined ? undefined : policy.tools.get(call.tool);
    if (toolRule) rules.push(toolRule);
    if (rules.length === 0) {
      if (policy.deny) denied ??= call.tool === undefined ? call.method : `tools/call ${call.tool}`;
      continue;
    }
    ruled ??= rules[0].where;
    for (const rule of rules) {
      for (const scope of rule.scopes) {
        needed.add(scope);
        if (!auth?.scopes.includes(scope)) lacksScope ??= { rule: `${rule.where}.scopes`, reason: `the token lacks ${scope}` };
      }
      if (rule.anyScopes.length > 0) {
        const held = rule.anyScopes.find((scope) => auth?.scopes.includes(scope));
        // Name the alternative the token already uses, else the first (least privileged) one:
        // a client that asks for exactly `scope=` must end up with a token that can do this.
        needed.add(held ?? rule.anyScopes[0]);
        if (held === undefined) {
          lacksScope ??= { rule: `${rule.where}.anyScopes`, reason: `the token has none of ${rule.anyScopes.join(' ')}` };
        }
      }
      if (rule.sources && !(auth?.source !== undefined && rule.sources.includes(auth.source))) {
        const from = auth?.source === undefined ? 'no multiAuth source' : auth.source;
        wrongSource ??= { rule: `${rule.where}.sources`, reason: `the token comes from ${from}, not from ${rule.sources.join(' or ')}` };
      }
    }
  }
  const scopes = challengeScopes([...needed]);
  if (denied !== undefined) return { outcome: 'denied', scopes: [], rule: 'default: deny', reason: `no rule matches ${denied}` };
  if (ruled !== undefined && !auth) return { outcome: 'unauthenticated', scopes, rule: ruled, reason: 'no credentials' };
  if (wrongSource) return { outcome: 'source', scopes: [], ...wrongSource };
  if (lacksScope) return { outcome: 'scope', scopes, ...lacksScope };
  return { outcome: 'pass' };
}

/**
 * What the policy requires of `calls`, whatever the verdict: each applying rule's `scopes`, and
 * of its `anyScopes` the one the caller holds, else the first. What the router and the guards in
 * front add to their challenges, and what a request that passed is remembered to have needed.
 */
function declaredScopes(policy: CompiledPolicy, held: readonly string[] | undefined, calls: RequestCall[]): string[] {
  const needed = new Set<string>();
  for (const call of calls) {
    const rules = [policy.methods.get(call.method), call.tool === undefined ? undefined : policy.tools.get(call.tool)];
    for (const rule of rules) {
      if (!rule) continue;
      for (const scope of rule.scopes) needed.add(scope);
      if (rule.anyScopes.length > 0) needed.add(rule.anyScopes.find((scope) => held?.includes(scope)) ?? rule.anyScopes[0]);
    }
  }
  return [...needed];
}

/**
 * Which MCP requests a token may make: "machine tokens may list tools but not call them",
 * "`delete_repo` needs `repo:admin`". Express middleware for the MCP endpoint, after
 * `express.json()` and `multiAuth`, before the MCP transport. It reads the parsed JSON-RPC body
 * (one message or a batch) and checks every request in it:
 *
 * - a method rule applies to requests with that `method`; a tool rule to `tools/call` with that
 *   `params.name`; a `tools/call` with both must satisfy both;
 * - a request matching no rule follows `default` (`'allow'` unless told otherwise);
 * - what clients of either protocol era need to connect and stay connected always passes:
 *   `initialize`, `ping`, `server/discover`, `subscriptions/listen`, notifications, responses.
 *
 * Before any rule, the MCP 2026-07-28 standard headers are checked against the body: an
 * `Mcp-Method` or `Mcp-Name` header (Base64 sentinels decoded) that contradicts it is refused
 * with 400 and the JSON-RPC error `-32020` (`HeaderMismatch`), since a gateway in front may have
 * decided on the header while the rules and the server read the body. Without the headers (a
 * client of an earlier revision) the body alone decides.
 *
 * Scopes are judged with the router's `scopeHierarchy` (a broader scope implies the narrower).
 * One refused request refuses the whole body: 403 `insufficient_scope` with `scope=` naming every
 * scope the operation needs at once (the router's, those of the guards it passed, the rules'; the
 * MCP step-up challenge), or, for a source rule or `default:
 * 'deny'`, no `scope=` and a description that never names sources. A request without a token
 * that a rule applies to gets the 401 challenge. A body that is not JSON-RPC is passed on for
 * the transport to reject. A body the policy cannot read is never passed on: a non-JSON body
 * gets 400 `invalid_request`, and a JSON body with `req.body` undefined (no `express.json()`)
 * goes to `next()` as a `MultiAuthConfigError`, i.e. a 500 the operator will see.
 *
 * The transport must be given `req.body` (`transport.handleRequest(req, res, req.body)`): that is
 * the body the policy checked.
 *
 * The returned middleware also carries the same rules for code without an Express request:
 * `policy.allowedTools(authInfo, names)` and `policy.scopeChallenge` (MCP SDK v2).
 *
 * @example
 * const auth = multiAuth({ primary, verifiers: [machineKeys] });
 * app.use(express.json(), auth);
 * app.post('/mcp', mcpPolicy({
 *   methods: { 'tools/call': { sources: ['primary'] } },     // machine keys may list, not call
 *   tools: { delete_repo: { scopes: ['repo:admin'] } },
 * }, { auth }), mcpHandler);
 */
export function mcpPolicy(rules: McpPolicyRules, options: McpPolicyOptions = {}): McpPolicy {
  const policy = compilePolicy(rules, options);
  // Where the middleware would find them on the request; for an AuthInfo that did not come
  // through multiAuth, the `auth` option's, else none.
  const fallbackScopes: readonly string[] = Array.isArray(options.auth?.requiredScopes) ? options.auth.requiredScopes : [];
  const forRouter: OperationScopes = (body, held) =>
    body === undefined || body === null || typeof body !== 'object' ? [] : declaredScopes(policy, held, requestsIn(body));
  const register = (options.auth as { [REGISTER_OPERATION_SCOPES]?: unknown } | undefined)?.[REGISTER_OPERATION_SCOPES];
  const requiredFor = typeof register === 'function' ? (register as RegisterOperationScopes)(forRouter) : undefined;
  /** What the router requires of this token: its context's, else its source's, else the router's. */
  const baseScopes = (authInfo: AuthInfo): readonly string[] => {
    const context = challengeContextOf(authInfo)?.scopes;
    if (context) return context;
    const source = getAuth(authInfo)?.source;
    return source !== undefined && requiredFor ? requiredFor(source) : fallbackScopes;
  };
  const middleware: RequestHandler = (req, res, next) => {
    const context = getChallengeContext(req);
    // null when the request has no body (GET streams, DELETE, preflights): such requests carry
    // no JSON-RPC message, so there is nothing to check. Read from the headers, as Express's
    // `req.is` does, so connect and Fastify requests are judged alike.
    const type = isJsonBody(req);
    if (type !== null) {
      if (type === false) {
        // The policy cannot read it, and some transports match content types loosely and would
        // parse it themselves: refuse rather than let an unchecked message through.
        reportRefusal(req, context, { outcome: 'invalid_request', status: 400, rule: 'mcpPolicy', reason: 'the body is not JSON' });
        sendError(res, new InvalidRequestError(NOT_JSON), context);
        return;
      }
      if (req.body === undefined) {
        next(new MultiAuthConfigError('mcpPolicy: req.body is undefined for a JSON request; mount express.json() before mcpPolicy'));
        return;
      }
      const mismatch = headerMismatch(req, req.body);
      if (mismatch) {
        reportRefusal(req, context, { outcome: 'invalid_request', status: 400, rule: 'mcpPolicy Mcp-Method/Mcp-Name', reason: mismatch.message });
        sendJsonRpcError(res, 400, mismatch.id, HEADER_MISMATCH, mismatch.message);
        return;
      }
      const auth = getAuth(req);
      const caller = auth && callerOf(auth);
      const calls = requestsIn(req.body);
      const verdict = judge(policy, caller, calls, challengeScopes(context.scopes, passedScopes(req)));
      if (verdict.outcome !== 'pass') {
        reportRefusal(req, context, {
          outcome: verdict.outcome === 'unauthenticated' ? 'no_credentials' : 'forbidden',
          status: verdict.outcome === 'unauthenticated' ? 401 : 403,
          rule: `mcpPolicy ${verdict.rule}`,
          reason: verdict.reason,
        });
      }
      switch (verdict.outcome) {
        case 'unauthenticated':
          sendNoCredentials(res, { ...context, scopes: verdict.scopes });
          return;
        case 'denied':
          sendError(res, new InsufficientScopeError([], NOT_ALLOWED), context);
          return;
        case 'source':
          sendError(res, new InsufficientScopeError([], WRONG_KIND), context);
          return;
        case 'scope':
          sendError(res, new InsufficientScopeError(verdict.scopes, LACKS_SCOPE), context);
          return;
        case 'pass':
          notePassedScopes(req, declaredScopes(policy, caller?.scopes, calls));
          break;
      }
    }
    const holder = req as WithPolicies;
    holder[POLICIES] = [...(holder[POLICIES] ?? []), policy];
    next();
  };

  const scopeChallenge: McpScopeChallengeHandler = ({ request, authInfo }) => {
    if (authInfo === undefined) return undefined;
    const calls = requestsIn({ ...request, id: 0 });
    const base = baseScopes(authInfo);
    const verdict = judge(policy, callerOf(authInfo), calls, base);
    switch (verdict.outcome) {
      case 'pass':
      case 'unauthenticated':
        return undefined;
      case 'scope':
        return { scopes: verdict.scopes as [string, ...string[]], errorDescription: LACKS_SCOPE };
      case 'denied':
      case 'source':
        throw new MultiAuthConfigError(
          `mcpPolicy: ${JSON.stringify(request.method)} is refused by a ${verdict.outcome === 'denied' ? "default: 'deny'" : 'sources'} rule, which a scope challenge cannot express; mount the policy as middleware in front of the MCP handler`,
        );
    }
  };

  return Object.defineProperties(middleware, {
    allowedTools: {
      value: <N extends string>(authInfo: AuthInfo | undefined, toolNames: Iterable<N>): N[] =>
        filterTools([policy], authInfo === undefined ? undefined : callerOf(authInfo), toolNames, 'policy.allowedTools(authInfo, toolNames)'),
      enumerable: true,
    },
    scopeChallenge: { value: scopeChallenge, enumerable: true },
  }) as McpPolicy;
}

/**
 * A MultiAuthInfo by what it holds (implied scopes included) and its source; an AuthInfo from
 * elsewhere by its scopes alone (no source rule holds for it).
 */
function callerOf(authInfo: AuthInfo): Caller {
  const info = getAuth(authInfo);
  return info ? { scopes: scopesHeld(info), source: info.source } : { scopes: scopesHeld(authInfo) };
}

function filterTools<N extends string>(policies: readonly CompiledPolicy[], caller: Caller | undefined, toolNames: Iterable<N>, where: string): N[] {
  if (toolNames === null || typeof toolNames !== 'object' || typeof (toolNames as Iterable<N>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${where}: toolNames must be an array (or other iterable) of tool names`);
  }
  const allowed: N[] = [];
  for (const name of toolNames) {
    if (typeof name !== 'string') throw new TypeError(`${where}: ${JSON.stringify(name)} is not a tool name`);
    const call: RequestCall = { method: 'tools/call', tool: name };
    // Scopes multiAuth requires were enforced already; only the policy's own verdict matters.
    if (policies.every((policy) => judge(policy, caller, [call], []).outcome === 'pass')) allowed.push(name);
  }
  return allowed;
}

/**
 * Which of `toolNames` this request's token may call under the `mcpPolicy` (or policies) that
 * let the request through, in the order given: a server can leave the others out of
 * `tools/list`. Typed by the names given, so the result indexes a typed tool table. Throws a
 * `MultiAuthConfigError` when no `mcpPolicy` ran on the request, because answering "all of
 * them" there would hide a missing policy.
 *
 * A server left with no tools must still answer `tools/list` (with `[]`): register every tool
 * and `disable()` the others rather than register none, or the SDK answers "Method not found".
 *
 * @example
 * const names = ['search', 'delete_repo'] as const;
 * app.post('/mcp', policy, async (req, res) => {
 *   const allowed = allowedTools(req, names);        // ('search' | 'delete_repo')[]
 *   // ...register tools, disable those not in `allowed`, connect a transport, handle the request
 * });
 */
export function allowedTools<N extends string>(req: IncomingMessage, toolNames: Iterable<N>): N[] {
  const policies = (req as WithPolicies)[POLICIES];
  if (!policies) throw new MultiAuthConfigError('allowedTools(req): no mcpPolicy ran on this request; mount mcpPolicy before this handler');
  const auth = getAuth(req);
  return filterTools(policies, auth && callerOf(auth), toolNames, 'allowedTools(req, toolNames)');
}
