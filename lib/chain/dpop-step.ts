import type { IncomingMessage } from 'node:http';
import { InvalidDpopProofError, TemporarilyUnavailableError, UseDpopNonceError } from '../core/errors';
import { assertB64Token } from '../http/token-extraction';
import type { PresentedCredentials } from '../http/presented';
import type { RequestContext } from '../http/request-auth';
import { inspectToken } from '../core/token-inspection';
import type { Decision, InspectedToken } from '../core/types';
import { DpopProofError, type DpopProofVerifier, type VerifiedProof } from '../dpop/proof';
import { htuFor, takeProof } from '../dpop/request';
import { answerOf, refusedRequest, type Answer, type Verdict } from './answer';
import type { DecisionReporter } from './decision-report';
import { tokenId } from './decision-report';
import type { Possession } from './conclude';
import type { TokenDecision } from './token-decision';
import { traceVerification } from './tracing';
import type { InvalidRequestError } from '../core/errors';

const BAD_PROOF = 'The DPoP proof is missing, malformed or does not match this request';
const REPLAY_UNKNOWN = 'DPoP proofs cannot be accepted right now; retry later';

/**
 * `Authorization: DPoP <token>` (RFC 9449 §7): the proof first, on every request (never
 * cached), then the token as any other (the cache may know it), then the binding of one to the
 * other (in `concludeAccepted`), and last the proof's `jti`, recorded only for a request that
 * passed all of it.
 */
export class DpopStep {
  constructor(
    private readonly proofs: DpopProofVerifier,
    private readonly tokens: TokenDecision,
    private readonly reporter: DecisionReporter,
    /** The challenge settings of a request that used the DPoP scheme. */
    readonly context: RequestContext,
    /** `dpop.url` when it is an origin: the fallback for an adapter that computes no `htu`. */
    private readonly origin: string | undefined,
  ) {}

  /**
   * The answer to a DPoP request carrying `raw`; `req` is handed to the sources only. `shown`:
   * what else the request proved, checked before (its client certificate, with mTLS).
   */
  async decide(raw: string, presented: PresentedCredentials, req: IncomingMessage | undefined, shown: Possession = {}): Promise<Answer> {
    try {
      assertB64Token(raw);
    } catch (error) {
      return refusedRequest(error as InvalidRequestError, this.context);
    }
    return answerOf(await this.verdict(raw, presented, req, shown), this.context, raw, presented);
  }

  private async verdict(raw: string, presented: PresentedCredentials, req: IncomingMessage | undefined, shown: Possession): Promise<Verdict> {
    const token = inspectToken(raw);
    const now = Date.now();
    let proof: VerifiedProof;
    try {
      proof = await this.proofs.verify({ proof: takeProof(presented), method: presented.method, url: this.htu(presented), accessToken: raw }, now);
    } catch (error) {
      return this.proofRefused(token, error);
    }
    const possession: Possession = { ...shown, dpopJkt: proof.jkt };
    const verdict =
      this.tokens.fromCache(token, now, possession) ??
      (await traceVerification(req, () => tokenId(token), () => this.tokens.fromChain(token, req, now, possession)));
    if (!verdict.info) return verdict;
    const note = (text: string): void => {
      (verdict.decision.notes ??= []).push(text);
    };
    const replay = await this.proofs.verdict(proof, now, note);
    if (replay === 'replay') {
      return this.proofRefused(token, new DpopProofError('invalid_dpop_proof', 'this key already used this jti (a replayed proof)'), verdict.decision);
    }
    if (replay !== 'first') return this.replayUnknown(verdict.decision, now);
    verdict.info.dpop = { jkt: proof.jkt };
    return verdict;
  }

  /**
   * A proof whose replay status cannot be known (the memory or the key's share is full, or the
   * store cannot tell under `failClosed`): not accepted on a guess. With nonces on, a fresh
   * nonce makes the client retry with a new proof; without, 503 and `Retry-After`.
   */
  private replayUnknown(decision: Decision, now: number): Verdict {
    const nonce = this.proofs.currentNonce(now);
    decision.reason = 'DPoP proof not accepted: its replay status cannot be known (see notes)';
    if (nonce !== undefined) {
      decision.outcome = 'rejected';
      decision.status = 401;
      return { error: new UseDpopNonceError(nonce), decision };
    }
    decision.outcome = 'failed';
    decision.status = 503;
    return { error: new TemporarilyUnavailableError(REPLAY_UNKNOWN), decision };
  }

  /** The URL the proof's `htu` must name: the adapter's, else the configured origin and the routed path. */
  private htu(presented: PresentedCredentials): string {
    return presented.htu ? presented.htu() : htuFor(presented.url, this.origin);
  }

  /** A DPoP request whose proof was refused: 401 `invalid_dpop_proof`, or `use_dpop_nonce`. */
  private proofRefused(token: InspectedToken, error: unknown, decision = this.reporter.newDecision(token)): Verdict {
    if (!(error instanceof DpopProofError)) throw error;
    decision.outcome = 'rejected';
    decision.status = 401;
    decision.reason = `DPoP proof refused: ${error.message}`;
    const answer = error.code === 'use_dpop_nonce' ? new UseDpopNonceError(error.nonce ?? '') : new InvalidDpopProofError(BAD_PROOF);
    return { error: answer, decision };
  }
}
