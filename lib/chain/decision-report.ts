import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import { getAuth } from '../http/request-auth';
import { inspectToken } from '../core/token-inspection';
import { redactToken } from '../core/redaction';
import type { Decision, InspectedToken, LaterRefusal } from '../core/types';
import { decisionChannel, observed, type DecisionMessage } from './tracing';

/** The first 16 hex digits of the token's identity digest (its SHA-256, canonical for ECDSA): correlates logs without the token. */
export function tokenId(token: InspectedToken): string {
  // The identity, not the spelling: an ECDSA token re-spelled with n - s keeps its tokenId.
  return Buffer.from(token.identityKey, 'base64').toString('hex', 0, 8);
}

/**
 * Where every decision goes: the `onDecision` observer and the diagnostics channel. Whoever
 * delivers an answer reports it, exactly once; an observer never changes the answer.
 */
export class DecisionReporter {
  constructor(private readonly onDecision: ((decision: Decision, req: Request | undefined) => void) | undefined) {}

  /** Whether reasons are worth working out: someone reads them. */
  get listening(): boolean {
    return this.onDecision !== undefined || observed();
  }

  /** A fresh decision for a token, `rejected` (401) until something says otherwise. */
  newDecision(token: InspectedToken): Decision {
    const decision: Decision = { outcome: 'rejected', status: 401, attempts: [], cached: false };
    if (this.onDecision || observed()) decision.tokenId = tokenId(token);
    return decision;
  }

  /** `token`, when known, is scrubbed from the warning an observer's error becomes. */
  report(decision: Decision, req: IncomingMessage | undefined, token?: string): void {
    if (decisionChannel.hasSubscribers) decisionChannel.publish({ decision, req } satisfies DecisionMessage);
    const { onDecision } = this;
    if (!onDecision) return;
    try {
      onDecision(decision, req as Request | undefined);
    } catch (error) {
      const message = `express-multiauth: onDecision threw: ${error instanceof Error ? error.message : String(error)}`;
      process.emitWarning(token === undefined ? message : redactToken(message, token));
    }
  }

  /** A guard's or mcpPolicy's refusal of a request this router let through, as a decision. */
  readonly reportLater = (req: IncomingMessage, refusal: LaterRefusal): void => {
    if (!this.onDecision && !decisionChannel.hasSubscribers) return;
    const info = getAuth(req);
    const decision: Decision = { outcome: refusal.outcome, status: refusal.status, attempts: [], cached: false, rule: refusal.rule };
    if (refusal.reason !== undefined) decision.reason = refusal.reason;
    if (info) {
      decision.source = info.source;
      decision.clientId = info.clientId;
      decision.tokenId = tokenId(inspectToken(info.token));
    }
    this.report(decision, req, info?.token);
  };
}
