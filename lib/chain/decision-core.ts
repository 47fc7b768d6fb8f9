import type { IncomingMessage } from 'node:http';
import { InvalidRequestError } from '../core/errors';
import type { MultiAuthError } from '../core/errors';
import { inspectToken } from '../core/token-inspection';
import type { MultiAuthInfo } from '../core/types';
import type { PresentedCredentials } from '../http/presented';
import type { RequestContext } from '../http/request-auth';
import { assertB64Token, isB64Token, takeBearerCredentials } from '../http/token-extraction';
import { takeDpopToken } from '../dpop/request';
import { answerOf, noCredentials, refusedRequest, type Answer } from './answer';
import { tokenId, type DecisionReporter } from './decision-report';
import type { Possession } from './conclude';
import type { DpopStep } from './dpop-step';
import type { TokenDecision } from './token-decision';
import { traceVerification } from './tracing';

/** What the core needs besides the token decision. */
export interface DecisionCoreOptions {
  readonly authRequired: boolean;
  /** Challenge settings of a Bearer request (and of one without credentials). */
  readonly context: RequestContext;
  /** The DPoP request step, when `dpop` is on. */
  readonly dpop: DpopStep | undefined;
  /** Whether requests' client certificates count (`mtls` on): only then is one asked for. */
  readonly mtls: boolean;
}

/**
 * The decision, with no framework in it: given what a request presents, the answer (accepted
 * with its `MultiAuthInfo`, on its way without credentials, or the status, challenge and body
 * to send). It never reads a request or writes a response; `req`, when given, is only handed
 * on to the sources (a wrapped middleware runs on it) and to tracing. Reporting the answer is
 * left to whoever delivers it, so that a late answer is reported as such.
 */
export class DecisionCore {
  constructor(
    private readonly tokens: TokenDecision,
    private readonly reporter: DecisionReporter,
    private readonly options: DecisionCoreOptions,
  ) {}

  /**
   * The answer to a request. Synchronous when no source has to be asked (a cached token, a
   * refusal on sight), so the hot path pays no promise; rejects only for a bug (what a source
   * or the proof check threw outside the documented errors).
   */
  decide(presented: PresentedCredentials, req?: IncomingMessage): Answer | Promise<Answer> {
    const { context, dpop } = this.options;
    let raw: string | undefined;
    let dpopToken: string | undefined;
    try {
      raw = takeBearerCredentials(presented);
      if (raw === undefined && dpop) dpopToken = takeDpopToken(presented);
    } catch (error) {
      return refusedRequest(error as InvalidRequestError, context);
    }
    if (raw === undefined && dpopToken === undefined) return noCredentials(context, this.options.authRequired);
    let possession: Possession = NO_POSSESSION;
    if (this.options.mtls) {
      // Before any token is looked at: a request that claims a certificate it may not have is
      // refused as such, whatever its token.
      try {
        const x5tS256 = presented.clientCertificate?.();
        if (x5tS256 !== undefined) possession = { x5tS256 };
      } catch (error) {
        if (!(error instanceof InvalidRequestError)) throw error;
        return refusedRequest(error, dpopToken !== undefined && dpop ? dpop.context : context);
      }
    }
    if (dpopToken !== undefined && dpop) return dpop.decide(dpopToken, presented, req, possession);
    if (raw === undefined) return noCredentials(context, this.options.authRequired);
    const token = inspectToken(raw);
    const now = Date.now();
    // A cached token is answered at once. It is the same string (by SHA-256) as one that passed
    // every check below when it was cached, so those checks are left to tokens the cache does
    // not know.
    const cached = this.tokens.fromCache(token, now, possession);
    if (cached) return answerOf(cached, context, raw, presented);
    try {
      assertB64Token(raw);
    } catch (error) {
      return refusedRequest(error as InvalidRequestError, context);
    }
    return traceVerification(req, () => tokenId(token), () => this.tokens.fromChain(token, req, now, possession)).then((verdict) =>
      answerOf(verdict, context, raw, presented),
    );
  }

  /**
   * `auth.verify(token)`: the same decision without HTTP. Resolves to the token's
   * `MultiAuthInfo` or rejects with the `MultiAuthError` an HTTP client would have got, its
   * `decision` saying why. Reports the decision (with no request).
   */
  async verify(raw: string): Promise<MultiAuthInfo> {
    if (typeof raw !== 'string') throw new TypeError('verify(token): token must be a string');
    if (raw === '' || !isB64Token(raw)) {
      const error: MultiAuthError = new InvalidRequestError('The token must be a non-empty RFC 6750 b64token');
      error.decision = { outcome: 'invalid_request', status: 400, attempts: [], cached: false, reason: error.message };
      this.reporter.report(error.decision, undefined);
      throw error;
    }
    const token = inspectToken(raw);
    const now = Date.now();
    const { info, error, decision } =
      this.tokens.fromCache(token, now, NO_POSSESSION) ??
      (await traceVerification(undefined, () => tokenId(token), () => this.tokens.fromChain(token, undefined, now, NO_POSSESSION)));
    this.reporter.report(decision, undefined, raw);
    if (error) {
      error.decision = decision;
      throw error;
    }
    return info as MultiAuthInfo;
  }
}

/** A Bearer request without a client certificate proves possession of nothing but the token. */
const NO_POSSESSION: Possession = Object.freeze({});
