// Recipes from docs/operating.md: one log line per decision with pino, and an OpenTelemetry
// span per verification from the package's diagnostics channel. Tested in
// __tests__/chain/observability.test.ts with the real pino and @opentelemetry/api.
import { tracingChannel } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import { loggableUrl, type Decision } from '../lib/index';

// loggableUrl: the request's URL with every query value the bearer check reads as a token
// (`access_token`, in every spelling a framework decodes to it) replaced by `[redacted]`. It is
// the package's own, so it redacts exactly what the bearer check refuses as a query token.
export { loggableUrl };

/**
 * An `onDecision` that logs one line per decision: what the client got, which source, why each
 * source said what it said, and the request it belongs to. 503s are warnings: they need someone.
 */
export function logDecisions(logger: Logger): (decision: Decision, req: IncomingMessage | undefined) => void {
  return (decision, req) => {
    const line = {
      outcome: decision.outcome,
      status: decision.status,
      source: decision.source,
      clientId: decision.clientId,
      tokenId: decision.tokenId,
      cached: decision.cached,
      rule: decision.rule,
      reason: decision.reason,
      attempts: decision.attempts.map((a) => `${a.source}: ${a.outcome}${a.reason ? ` (${a.reason})` : ''}`),
      method: req?.method,
      url: req ? loggableUrl(req) : undefined,
      requestId: req?.headers['x-request-id'],
    };
    if (decision.status >= 500) logger.warn(line, 'auth decision');
    else logger.info(line, 'auth decision');
  };
}

/**
 * One line for a terminal, as the example server prints it: outcome, status, the request, the
 * source, and each source's reason (`[auth] rejected 401 GET /whoami: machines: rejected (...)`).
 */
export function decisionLine(decision: Decision, req: IncomingMessage | undefined): string {
  const where = req ? ` ${req.method} ${loggableUrl(req)}` : ' verify()';
  const who = decision.source ? ` via ${decision.source}` : '';
  const detail = [
    decision.cached ? 'cached' : undefined,
    decision.rule ? `rule ${decision.rule}` : undefined,
    decision.reason,
    ...decision.attempts.filter((a) => a.outcome !== 'accepted').map((a) => `${a.source}: ${a.outcome}${a.reason ? ` (${a.reason})` : ''}`),
  ].filter(Boolean);
  return `[auth] ${decision.outcome} ${decision.status}${where}${who}${detail.length > 0 ? `: ${detail.join('; ')}` : ''}`;
}

/** What the package puts on the `express-multiauth:verify` tracing channel's context. */
interface VerifyContext {
  tokenId: string;
  decision?: Decision;
}

/**
 * A span per verification by the sources (`multiauth.verify`), from the package's
 * `express-multiauth:verify` TracingChannel: no dependency of the package on OpenTelemetry.
 * Returns a function that unsubscribes.
 */
export function traceVerifications(tracer: Tracer = trace.getTracer('express-multiauth')): () => void {
  const channel = tracingChannel('express-multiauth:verify');
  const spans = new WeakMap<object, Span>();
  const handlers = {
    start(message: unknown) {
      const context = message as VerifyContext;
      spans.set(context, tracer.startSpan('multiauth.verify', { attributes: { 'multiauth.token_id': context.tokenId } }));
    },
    end() {},
    asyncStart() {},
    error(message: unknown) {
      const error = (message as { error?: unknown }).error;
      spans.get(message as object)?.recordException(error instanceof Error ? error : String(error));
    },
    asyncEnd(message: unknown) {
      const context = message as VerifyContext;
      const span = spans.get(context);
      if (!span) return;
      const decision = context.decision;
      if (decision) {
        span.setAttributes({
          'multiauth.outcome': decision.outcome,
          'http.response.status_code': decision.status,
          'multiauth.source': decision.source ?? '',
          'multiauth.attempts': decision.attempts.map((a) => `${a.source}:${a.outcome}`).join(' '),
        });
      }
      if (!decision || decision.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: decision?.outcome ?? 'error' });
      span.end();
    },
  };
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
