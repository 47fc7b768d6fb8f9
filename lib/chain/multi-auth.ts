// lib/chain/: multiAuth itself: options (config), walking the sources in order (source-chain),
// the verified-result cache, and the router that ties them to HTTP (multi-auth). Knows sources
// only through the TokenVerifier/AuthServer interfaces: it never imports a concrete source or
// primary. May import core/, transport/ and http/.

import type { IncomingMessage } from 'node:http';
import { Router } from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendError, sendNoCredentials } from '../http/challenge';
import { resolveConfig, type MultiAuthOptions } from './config';
import {
  InsufficientScopeError,
  InvalidDpopProofError,
  InvalidRequestError,
  InvalidTokenError,
  MultiAuthError,
  MultiAuthNotReadyError,
  TemporarilyUnavailableError,
  UseDpopNonceError,
} from '../core/errors';
import { bindingProblem } from '../dpop/binding';
import { DpopProofError, DpopProofVerifier, type VerifiedProof } from '../dpop/proof';
import { requestUrl, takeDpopToken, takeProof } from '../dpop/request';
import { ResultCache } from './result-cache';
import { runChain } from './source-chain';
import { Readiness } from './readiness';
import { decisionChannel, observed, traceVerification, type DecisionMessage } from './tracing';
import { getAuth, setAuth, setChallengeContext, type RequestContext } from '../http/request-auth';
import { assertB64Token, isB64Token, takeBearerCredentials } from '../http/token-extraction';
import { inspectToken } from '../core/token-inspection';
import { redactToken } from '../core/redaction';
import { notMine } from '../core/types';
import type { Decision, InspectedToken, LaterRefusal, MultiAuthInfo, ReadyReport } from '../core/types';

/** The Express router `multiAuth()` returns, with its parts. */
export type MultiAuth = Router & {
  /** The bearer check alone, for mounting on some routes only. */
  readonly bearer: RequestHandler;
  /** The primary's routes alone (a no-op without a primary). */
  readonly routes: RequestHandler;
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

const REJECTED = 'The access token is invalid or has expired';
const LACKS_SCOPE = 'The access token lacks a scope this resource requires';
const UNAVAILABLE = 'Token verification is temporarily unavailable; retry later';
const BAD_PROOF = 'The DPoP proof is missing, malformed or does not match this request';

/**
 * The primary's routes, warning once (a process warning) when they are mounted below the root:
 * `app.use('/mcp', auth)` serves them under `/mcp/.well-known/...`, where no client looks, since
 * RFC 9728 and RFC 8414 place metadata at the origin's root. Express does not tell a router
 * where it is mounted until a request arrives, so this cannot be refused at construction; and
 * refusing requests then would turn a discovery problem into an outage for every source.
 */
function mountedAtRoot(routes: RequestHandler): RequestHandler {
  let warned = false;
  return (req, res, next) => {
    if (!warned && req.baseUrl !== '') {
      warned = true;
      process.emitWarning(
        `express-multiauth: the primary's routes are mounted at "${req.baseUrl}", but OAuth clients look for its metadata at the ` +
          'root (/.well-known/...). Mount the router at the root (app.use(auth)), or auth.routes at the root and auth.bearer on the path',
        { code: 'MULTIAUTH_MOUNT_PATH' },
      );
    }
    routes(req, res, next);
  };
}

function tokenId(token: InspectedToken): string {
  return token.digest.toString('hex', 0, 8);
}

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
  const { sources, requiredScopes, timeoutMs, maxTokenLength, onDecision } = config;
  // Sources that decide on more than the token: keyed by the token, their answers could be
  // served to another request that carries the same token without the rest.
  const uncacheable = new Set(sources.filter((s) => s.verifier.cacheable === false).map((s) => s.name));
  const cache = config.cache === false ? undefined : new ResultCache(config.cache);
  const noop: RequestHandler = (_req, _res, next) => next();
  const { dpop } = config;
  const proofs = dpop && new DpopProofVerifier(dpop);
  const requiresDpop = (name: string): boolean => dpop !== undefined && (dpop.required === true || dpop.required.has(name));
  const routes: RequestHandler = config.primary
    ? mountedAtRoot(config.primary.routes({
        requiredScopes: [...requiredScopes],
        ...(dpop ? { dpop: { algorithms: [...dpop.algorithms], required: requiresDpop(sources[0].name) } } : {}),
      }))
    : noop;

  /** `token`, when known, is scrubbed from the warning an observer's error becomes. */
  const report = (decision: Decision, req: IncomingMessage | undefined, token?: string): void => {
    if (decisionChannel.hasSubscribers) decisionChannel.publish({ decision, req } satisfies DecisionMessage);
    if (!onDecision) return;
    try {
      onDecision(decision, req as Request | undefined);
    } catch (error) {
      // An observer must never change the answer.
      const message = `express-multiauth: onDecision threw: ${error instanceof Error ? error.message : String(error)}`;
      process.emitWarning(token === undefined ? message : redactToken(message, token));
    }
  };

  /** A guard's or mcpPolicy's refusal of a request this router let through, as a decision. */
  const reportLater = (req: IncomingMessage, refusal: LaterRefusal): void => {
    if (!onDecision && !decisionChannel.hasSubscribers) return;
    const info = getAuth(req);
    const decision: Decision = { outcome: refusal.outcome, status: refusal.status, attempts: [], cached: false, rule: refusal.rule };
    if (refusal.reason !== undefined) decision.reason = refusal.reason;
    if (info) {
      decision.source = info.source;
      decision.clientId = info.clientId;
      decision.tokenId = tokenId(inspectToken(info.token));
    }
    report(decision, req, info?.token);
  };

  // Travels with each request this router lets through, so guards and mcpPolicy further down
  // answer with the same resource_metadata and report through this router's onDecision.
  // With DPoP, challenges offer both schemes (only DPoP when no source takes Bearer tokens); a
  // request that used the DPoP scheme gets its error on the DPoP challenge.
  const dpopOnly = dpop !== undefined && sources.every((s) => requiresDpop(s.name));
  const challenge: RequestContext = Object.freeze({
    resourceMetadataUrl: config.resourceMetadataUrl,
    scopes: requiredScopes,
    ...(dpop ? { dpop: Object.freeze({ algorithms: dpop.algorithms, errorsOnDpop: dpopOnly, only: dpopOnly }) } : {}),
    report: reportLater,
  });
  const dpopChallenge: RequestContext = dpop
    ? Object.freeze({ ...challenge, dpop: Object.freeze({ algorithms: dpop.algorithms, errorsOnDpop: true, only: dpopOnly }) })
    : challenge;

  const missingScope = (info: MultiAuthInfo): boolean => {
    for (const scope of requiredScopes) if (!info.scopes.includes(scope)) return true;
    return false;
  };

  type Answer = { info?: MultiAuthInfo; error?: MultiAuthError; decision: Decision };

  const newDecision = (token: InspectedToken): Decision => {
    const decision: Decision = { outcome: 'rejected', status: 401, attempts: [], cached: false };
    if (onDecision || observed()) decision.tokenId = tokenId(token);
    return decision;
  };

  /**
   * An accepted token's answer: 200, or 403 when it lacks a required scope; with DPoP on, 401
   * when the way it came does not fit its binding. `proofJkt`: the thumbprint of the request's
   * verified DPoP proof key, `undefined` for a Bearer request.
   */
  const conclude = (info: MultiAuthInfo, decision: Decision, proofJkt: string | undefined): Answer => {
    // MCP SDK v2 builds its per-tool scope challenges from this: without it they would lack
    // `resource_metadata` for every source that does not know the resource's metadata URL.
    if (info.resourceMetadataUrl === undefined && config.resourceMetadataUrl !== undefined) {
      info.resourceMetadataUrl = config.resourceMetadataUrl;
    }
    decision.source = info.source;
    decision.clientId = info.clientId;
    const unbound = dpop && bindingProblem(info, proofJkt, dpop.required);
    if (unbound) {
      decision.reason = unbound;
      return { error: new InvalidTokenError(REJECTED), decision };
    }
    if (missingScope(info)) {
      decision.outcome = 'insufficient_scope';
      decision.status = 403;
      return { error: new InsufficientScopeError(requiredScopes, LACKS_SCOPE), decision };
    }
    decision.outcome = 'accepted';
    decision.status = 200;
    return { info, decision };
  };

  /**
   * The answer the cache holds for a token, synchronously, or `undefined` when the chain must
   * decide. A token over `maxTokenLength` is never cached, so it is not even hashed here.
   */
  const fromCache = (token: InspectedToken, now: number, proofJkt?: string): Answer | undefined => {
    if (!cache || token.raw.length > maxTokenLength) return undefined;
    const cached = cache.get(token, now);
    if (cached === undefined) return undefined;
    const decision = newDecision(token);
    decision.cached = true;
    if (cached === 'rejected') {
      decision.reason = 'rejected recently';
      return { error: new InvalidTokenError(REJECTED), decision };
    }
    return conclude(cached, decision, proofJkt);
  };

  // Rejections are shared only where they are remembered at all: the shared store is a second
  // level under the per-process cache, with the same lifetime.
  const sharing = config.store && cache?.remembersRejections ? { store: config.store, cache } : undefined;
  const isOne = (data: unknown): 1 | undefined => (data === 1 ? 1 : undefined);

  /** Whether some source would look at the token rather than refuse it on sight. */
  const anyoneAsked = (token: InspectedToken): boolean => sources.some((s) => !s.verifier[notMine]?.(token));

  /** Decides a token the cache does not know, by the chain; the same for HTTP and `verify()`. */
  const fromChain = async (token: InspectedToken, req: IncomingMessage | undefined, now: number, proofJkt?: string): Promise<Answer> => {
    const decision = newDecision(token);
    if (token.raw.length > maxTokenLength) {
      decision.reason = `token longer than ${maxTokenLength} characters`;
      return { error: new InvalidTokenError(REJECTED), decision };
    }
    const note = (text: string): void => {
      (decision.notes ??= []).push(text);
    };
    // A token every source refuses on sight is never remembered, here or in the store, so
    // there is nothing to look up.
    const shared = sharing && anyoneAsked(token) ? sharing : undefined;
    if (shared) {
      const hit = await shared.store.get('rejected', token.digestKey, isOne, note);
      if (hit) {
        shared.cache.setRejected(token, hit.until - Date.now());
        decision.cached = true;
        decision.reason = 'rejected recently (shared store)';
        return { error: new InvalidTokenError(REJECTED), decision };
      }
    }
    // Reasons are read through onDecision, or from the error auth.verify() rejects with.
    const explain = onDecision !== undefined || req === undefined || observed();
    const result = await runChain(sources, token, req, timeoutMs, dpop !== undefined, explain);
    decision.attempts = result.attempts;
    for (const attempt of result.attempts) if (attempt.permanent) readiness.warnMisconfigured(attempt.source, attempt.reason ?? 'unknown cause');
    if (result.outcome !== 'accepted') {
      if (result.outcome === 'failed') {
        decision.outcome = 'failed';
        decision.status = 503;
        return { error: new TemporarilyUnavailableError(UNAVAILABLE), decision };
      }
      // Remembered only when some source was asked: a token every source refused on its
      // synchronous "not mine" check costs as little to refuse again, and a flood of such
      // tokens must not push out the rejections worth remembering.
      if (result.asked && !result.attempts.some((a) => uncacheable.has(a.source))) {
        cache?.setRejected(token);
        // Awaited (within the store's time limit) so that a replica asked next already finds it.
        if (shared) await shared.store.set('rejected', token.digestKey, 1, Date.now() + shared.cache.negativeTtlMs, note);
      }
      return { error: new InvalidTokenError(REJECTED), decision };
    }
    if (!uncacheable.has(result.info.source)) cache?.setAccepted(token, result.info, now, result.toleranceSeconds);
    return conclude(result.info, decision, proofJkt);
  };

  const refuseRequest = (req: Request, res: Response, error: InvalidRequestError, context = challenge): void => {
    report({ outcome: 'invalid_request', status: 400, attempts: [], cached: false, reason: error.message }, req);
    sendError(res, error, context);
  };

  /** A DPoP request whose proof was refused: 401 `invalid_dpop_proof`, or `use_dpop_nonce`. */
  const proofRefused = (token: InspectedToken, error: unknown, decision = newDecision(token)): Answer => {
    if (!(error instanceof DpopProofError)) throw error;
    decision.outcome = 'rejected';
    decision.status = 401;
    decision.reason = `DPoP proof refused: ${error.message}`;
    const answer = error.code === 'use_dpop_nonce' ? new UseDpopNonceError(error.nonce ?? '') : new InvalidDpopProofError(BAD_PROOF);
    return { error: answer, decision };
  };

  /**
   * `Authorization: DPoP <token>` (RFC 9449 §7): the proof first, on every request (never
   * cached), then the token as any other (the cache may know it), then the binding of one to the
   * other, and last the proof's `jti`, recorded only for a request that passed all of it.
   */
  const dpopRequest = (req: Request, res: Response, next: NextFunction, raw: string, verifier: DpopProofVerifier): void => {
    const finish = ({ info, error, decision }: Answer): void => {
      report(decision, req, raw);
      if (error) {
        sendError(res, error, dpopChallenge);
        return;
      }
      setAuth(req, info as MultiAuthInfo, dpopChallenge);
      next();
    };
    try {
      assertB64Token(raw);
    } catch (error) {
      refuseRequest(req, res, error as InvalidRequestError, dpopChallenge);
      return;
    }
    const token = inspectToken(raw);
    const now = Date.now();
    const decide = async (): Promise<Answer> => {
      let proof: VerifiedProof;
      try {
        proof = await verifier.verify({ proof: takeProof(req), method: req.method, url: requestUrl(req, dpop?.url), accessToken: raw }, now);
      } catch (error) {
        return proofRefused(token, error);
      }
      const answer = fromCache(token, now, proof.jkt) ?? (await traceVerification(req, () => tokenId(token), () => fromChain(token, req, now, proof.jkt)));
      if (!answer.info) return answer;
      if (!(await verifier.claim(proof, now))) {
        return proofRefused(token, new DpopProofError('invalid_dpop_proof', 'this key already used this jti (a replayed proof)'), answer.decision);
      }
      answer.info.dpop = { jkt: proof.jkt };
      return answer;
    };
    decide().then(finish, next);
  };

  const bearer: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    let raw: string | undefined;
    try {
      raw = takeBearerCredentials(req);
      if (raw === undefined && proofs) {
        const dpopToken = takeDpopToken(req);
        if (dpopToken !== undefined) {
          dpopRequest(req, res, next, dpopToken, proofs);
          return;
        }
      }
    } catch (error) {
      refuseRequest(req, res, error as InvalidRequestError);
      return;
    }
    if (raw === undefined) {
      if (!config.authRequired) {
        report({ outcome: 'anonymous', status: 200, attempts: [], cached: false }, req);
        setChallengeContext(req, challenge);
        next();
        return;
      }
      report({ outcome: 'no_credentials', status: 401, attempts: [], cached: false }, req);
      sendNoCredentials(res, challenge);
      return;
    }
    const finish = ({ info, error, decision }: Answer): void => {
      report(decision, req, raw);
      if (error) {
        sendError(res, error, challenge);
        return;
      }
      setAuth(req, info as MultiAuthInfo, challenge);
      next();
    };
    const token = inspectToken(raw);
    const now = Date.now();
    // A cached token is answered at once. It is the same string (by SHA-256) as one that passed
    // every check below when it was cached, so those checks are left to tokens the cache does
    // not know.
    const cached = fromCache(token, now);
    if (cached) {
      finish(cached);
      return;
    }
    try {
      assertB64Token(raw);
    } catch (error) {
      refuseRequest(req, res, error as InvalidRequestError);
      return;
    }
    traceVerification(req, () => tokenId(token), () => fromChain(token, req, now)).then(finish, next);
  };

  const readiness = new Readiness(sources);
  const ready = async (options: { timeoutMs?: number } = {}): Promise<ReadyReport> => {
    const limit = options.timeoutMs;
    if (limit !== undefined && (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0)) {
      throw new TypeError('ready({ timeoutMs }): timeoutMs must be a positive number of milliseconds');
    }
    const report = await readiness.report(limit);
    if (!report.ready) throw new MultiAuthNotReadyError(report);
    return report;
  };

  const verify = async (raw: string): Promise<MultiAuthInfo> => {
    if (typeof raw !== 'string') throw new TypeError('verify(token): token must be a string');
    if (raw === '' || !isB64Token(raw)) {
      const error = new InvalidRequestError('The token must be a non-empty RFC 6750 b64token');
      error.decision = { outcome: 'invalid_request', status: 400, attempts: [], cached: false, reason: error.message };
      report(error.decision, undefined);
      throw error;
    }
    const token = inspectToken(raw);
    const now = Date.now();
    const { info, error, decision } = fromCache(token, now) ?? (await traceVerification(undefined, () => tokenId(token), () => fromChain(token, undefined, now)));
    report(decision, undefined, raw);
    if (error) {
      error.decision = decision;
      throw error;
    }
    return info as MultiAuthInfo;
  };

  // The primary's routes first, then the bearer check. A routes handler that calls
  // `next('route')` or `next('router')` has not answered the request: it still gets the check.
  const primary = config.primary;
  const entry: RequestHandler = primary
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
  }) as MultiAuth;
}

