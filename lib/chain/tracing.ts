import diagnostics_channel from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { Decision } from '../core/types';

/**
 * Decisions published on `node:diagnostics_channel`, so APM agents and OpenTelemetry can observe
 * multiAuth without it depending on them. Publishing costs nothing while nobody subscribes.
 */

/** Name of the channel every decision is published on, with the request: `{ decision, req }`. */
export const DECISION_CHANNEL = 'express-multiauth:decision';
/** Name of the `TracingChannel` around each verification by the sources (not cache hits). */
export const VERIFY_CHANNEL = 'express-multiauth:verify';

/** What a `express-multiauth:decision` subscriber receives. */
export interface DecisionMessage {
  /** The decision, as `onDecision` receives it. */
  decision: Decision;
  /** The request, `undefined` for `auth.verify()`. */
  req: IncomingMessage | undefined;
}

/**
 * The context object of the `express-multiauth:verify` tracing channel: the same object in its
 * `start`, `end`, `asyncStart`, `asyncEnd` and `error` events, so a subscriber can keep a span on
 * it. Never the token.
 */
export interface VerifyTraceContext {
  /** The request, `undefined` for `auth.verify()`. */
  req: IncomingMessage | undefined;
  /** The first 16 hex digits of the token's SHA-256, as in decisions. */
  tokenId: string;
  /** Set before `asyncEnd`: how the sources decided. */
  decision?: Decision;
}

export const decisionChannel = diagnostics_channel.channel(DECISION_CHANNEL);
export const verifyChannel = diagnostics_channel.tracingChannel<unknown, VerifyTraceContext & object>(VERIFY_CHANNEL);

/** Whether anyone listens on either channel: decisions are then worth building in full. */
export function observed(): boolean {
  return decisionChannel.hasSubscribers || verifyChannel.hasSubscribers;
}

/**
 * Runs `verify` inside the tracing channel when it has subscribers. The traced promise resolves
 * nothing (`context.result` stays undefined): the answer carries `req.auth` with the token, and
 * subscribers get the decision on `context.decision` instead.
 */
export function traceVerification<T extends { decision: Decision }>(
  req: IncomingMessage | undefined,
  tokenId: () => string,
  verify: () => Promise<T>,
): Promise<T> {
  // Not async itself: untraced, the chain's promise is returned as is, with no extra tick.
  if (!verifyChannel.hasSubscribers) return verify();
  const context: VerifyTraceContext = { req, tokenId: tokenId() };
  let answer: T | undefined;
  return verifyChannel
    .tracePromise(async () => {
      answer = await verify();
      context.decision = answer.decision;
    }, context)
    .then(() => answer as T);
}
