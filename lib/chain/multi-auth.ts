// lib/chain/: multiAuth itself: options (config), walking the sources in order (source-chain),
// the verified-result cache, the decision core that knows no framework (decision-core: a
// request's credentials in, an answer out; token-decision: cache and chain; conclude: the rules
// every accepted token meets; dpop-step; answer: the one place a verdict becomes an answer;
// decision-report), the adapter that delivers answers through Node's req/res (node-adapter),
// and this file, which only wires them. Knows sources only through the TokenVerifier/AuthServer
// interfaces: it never imports a concrete source or primary.

import { Router } from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { resolveConfig, type MultiAuthOptions } from './config';
import { MultiAuthNotReadyError } from '../core/errors';
import { DpopProofVerifier } from '../dpop/proof';
import { Readiness } from './readiness';
import { listenForUnseen, REGISTER_OPERATION_SCOPES, type RegisterOperationScopes, type RequestContext } from '../http/request-auth';
import type { MultiAuthInfo, ReadyReport } from '../core/types';
import { DecisionCore } from './decision-core';
import { DecisionReporter } from './decision-report';
import { DpopStep } from './dpop-step';
import { mountedAtRoot, nodeBearer } from './node-adapter';
import type { NodeMiddleware } from '../http/node-http';
import { TokenDecision } from './token-decision';

/**
 * The Express router `multiAuth()` returns, with its parts; also a plain Node `(req, res, next)`
 * middleware, for Connect, Fastify and `node:http`.
 */
export type MultiAuth = Router & NodeMiddleware & {
  /** The bearer check alone, for mounting on some routes only. */
  readonly bearer: RequestHandler & NodeMiddleware;
  /** The primary's routes alone (a no-op without a primary). */
  readonly routes: RequestHandler & NodeMiddleware;
  /** The scopes every accepted token must carry (after inheritance from the primary). */
  readonly requiredScopes: readonly string[];
  /** The URL challenges point clients at, when known. */
  readonly resourceMetadataUrl: string | undefined;
  /** The sources' names, in the order they are tried. */
  readonly sourceNames: readonly string[];
  /**
   * Runs the same chain and checks as the bearer middleware, without HTTP (e.g. for WebSocket
   * upgrades or queued jobs). Resolves to the token's `MultiAuthInfo` or rejects with a
   * `MultiAuthError` whose `code`/`status` say what an HTTP client would have got and whose
   * `decision` says why; a token that is not an RFC 6750 b64token is an `InvalidRequestError`.
   */
  verify(token: string): Promise<MultiAuthInfo>;
  /**
   * Asks every source that can say (`probe()`: metadata, keys, introspection endpoint) whether it
   * can work, once, in parallel. Resolves with a report per source when none is misconfigured or
   * unreachable; otherwise rejects with a `MultiAuthNotReadyError` naming each source that cannot
   * work and why, its `report` holding them all. For start-up and readiness probes.
   */
  ready(options?: { timeoutMs?: number }): Promise<ReadyReport>;
};

/**
 * One Express router for a resource that accepts bearer tokens from several sources: it serves
 * the primary's OAuth/discovery routes, then checks the bearer token against the primary and
 * each verifier in order (first acceptance wins) and sets `req.auth`, whose `source` names the
 * source that accepted it.
 *
 * @example
 * const auth = multiAuth({
 *   primary: remoteAuthServer({ issuer: 'https://login.example.com', resource: 'https://mcp.example.com/mcp' }),
 *   verifiers: [staticTokenVerifier({ name: 'ci', tokens: { [process.env.CI_KEY!]: { clientId: 'ci', scopes: ['mcp:read'] } } })],
 *   requiredScopes: ['mcp:read'],
 * });
 * app.use(auth);
 * app.post('/mcp', requireScopes('mcp:write'), handler);
 */
export function multiAuth(options: MultiAuthOptions): MultiAuth {
  const config = resolveConfig(options);
  const { sources, requiredScopes, dpop, mtls } = config;
  const requiresDpop = (name: string): boolean => dpop !== undefined && (dpop.required === true || dpop.required.has(name));
  const noop: RequestHandler = (_req, _res, next) => next();
  const routes: RequestHandler = config.primary
    ? mountedAtRoot(config.primary.routes({
        requiredScopes: [...requiredScopes],
        ...(dpop ? { dpop: { algorithms: [...dpop.algorithms], required: requiresDpop(sources[0].name) } } : {}),
        ...(mtls ? { mtls: { required: mtls.required === true || mtls.required.has(sources[0].name) } } : {}),
      }))
    : noop;

  const reporter = new DecisionReporter(config.onDecision);
  const readiness = new Readiness(sources);
  const tokens = new TokenDecision(config, reporter, readiness);

  // Travels with each request this router lets through, so guards and mcpPolicy further down
  // answer with the same resource_metadata and report through this router's onDecision.
  // With DPoP, challenges offer both schemes (only DPoP when no source takes Bearer tokens); a
  // request that used the DPoP scheme gets its error on the DPoP challenge.
  const dpopOnly = dpop !== undefined && sources.every((s) => requiresDpop(s.name));
  // A token of a source with its own requiredScopes carries a context naming that list; the
  // router's 403 (and a guard's) also names what the policies tied to it require of the call.
  const { scopeRules } = config;
  const challenge: RequestContext = Object.freeze({
    resourceMetadataUrl: config.resourceMetadataUrl,
    scopes: requiredScopes,
    operationScopes: scopeRules.operationScopes,
    ...(scopeRules.sourceScopes.size > 0 ? { scopesBySource: scopeRules.sourceScopes } : {}),
    ...(dpop ? { dpop: Object.freeze({ algorithms: dpop.algorithms, errorsOnDpop: dpopOnly, only: dpopOnly }) } : {}),
    report: reporter.reportLater,
    sourceNames: Object.freeze(sources.map((s) => s.name)),
  });
  // A guard on a request no router saw has no router to report to: every live one hears of it.
  listenForUnseen(reporter.reportLater);
  const dpopStep = dpop
    ? new DpopStep(
        new DpopProofVerifier(dpop),
        tokens,
        reporter,
        Object.freeze({ ...challenge, dpop: Object.freeze({ algorithms: dpop.algorithms, errorsOnDpop: true, only: dpopOnly }) }),
        typeof dpop.url === 'string' ? dpop.url : undefined,
      )
    : undefined;
  const core = new DecisionCore(tokens, reporter, { authRequired: config.authRequired, context: challenge, dpop: dpopStep, mtls: mtls !== undefined });
  const bearer = nodeBearer(core, reporter, dpop, mtls) as RequestHandler;

  const ready = async (options: { timeoutMs?: number } = {}): Promise<ReadyReport> => {
    const limit = options.timeoutMs;
    if (limit !== undefined && (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0)) {
      throw new TypeError('ready({ timeoutMs }): timeoutMs must be a positive number of milliseconds');
    }
    const report = await readiness.report(limit);
    if (!report.ready) throw new MultiAuthNotReadyError(report);
    return report;
  };
  const verify = (raw: string): Promise<MultiAuthInfo> => core.verify(raw);

  // The primary's routes first, then the bearer check. A routes handler that calls
  // `next('route')` or `next('router')` has not answered the request: it still gets the check.
  const entry: RequestHandler = config.primary
    ? (req: Request, res: Response, next: NextFunction) =>
        routes(req, res, (error?: unknown) =>
          error !== undefined && error !== null && error !== 'route' && error !== 'router' ? next(error) : bearer(req, res, next),
        )
    : bearer;

  const router = Router();
  router.use(entry);
  return Object.defineProperties(router, {
    bearer: { value: bearer, enumerable: true },
    routes: { value: routes, enumerable: true },
    requiredScopes: { value: requiredScopes, enumerable: true },
    resourceMetadataUrl: { value: config.resourceMetadataUrl, enumerable: true },
    sourceNames: { value: Object.freeze(sources.map((s) => s.name)), enumerable: true },
    verify: { value: verify, enumerable: true },
    ready: { value: ready, enumerable: true },
    // mcpPolicy(rules, { auth }) registers itself here (see RegisterOperationScopes).
    [REGISTER_OPERATION_SCOPES]: {
      value: ((scopes) => {
        scopeRules.register(scopes);
        return (source) => scopeRules.requiredFor(source);
      }) satisfies RegisterOperationScopes,
    },
  }) as MultiAuth;
}
