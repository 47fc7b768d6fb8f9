// Decisions an operator can see without the package depending on a logger or a tracer: every
// decision on node:diagnostics_channel, a TracingChannel around verification, and the docs'
// recipes for pino and OpenTelemetry run with the real packages.
import diagnostics_channel from 'node:diagnostics_channel';
import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import pino from 'pino';
import { trace, type Span, type SpanOptions, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { multiAuth } from '../../lib/chain/multi-auth';
import { requireScopes } from '../../lib/http/guards';
import { TemporarilyUnavailableError } from '../../lib/core/errors';
import { DECISION_CHANNEL, VERIFY_CHANNEL, type DecisionMessage } from '../../lib/chain/tracing';
import type { Decision, TokenVerifier } from '../../lib/core/types';
import { oneTokenVerifier } from '../support/app';
import { logDecisions, traceVerifications } from '../../examples/observability';

const TOKEN = 'reader-token-0123456789';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const flaky: TokenVerifier = {
  name: 'flaky',
  verifyAccessToken: async (token) => {
    if (token.startsWith('down-')) throw new TemporarilyUnavailableError(`backend down for ${token}`);
    return null;
  },
};
const sources = () => [flaky, oneTokenVerifier('users', TOKEN, { clientId: 'alice', scopes: ['repo:read'] })];
const pieces = (token: string) => Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));

describe('express-multiauth:decision (node:diagnostics_channel)', () => {
  it('publishes every decision with its request, guard refusals included, with no onDecision configured', async () => {
    const seen: DecisionMessage[] = [];
    const listener = (message: unknown) => seen.push(message as DecisionMessage);
    diagnostics_channel.subscribe(DECISION_CHANNEL, listener);
    try {
      const app = express().use(multiAuth({ verifiers: sources() })).get('/write', requireScopes('repo:write'), (_q, r) => r.send('ok'));
      await request(app).get('/write').set(bearer(TOKEN)).expect(403);
      await request(app).get('/write').expect(401);
    } finally {
      diagnostics_channel.unsubscribe(DECISION_CHANNEL, listener);
    }
    expect(seen.map(({ decision, req }) => [decision.outcome, decision.status, decision.rule, req?.url])).toEqual([
      ['accepted', 200, undefined, '/write'],
      ['forbidden', 403, 'requireScopes(repo:write)', '/write'],
      ['no_credentials', 401, undefined, '/write'],
    ]);
    expect(seen[0].decision.tokenId).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('express-multiauth:verify (TracingChannel)', () => {
  it('traces each verification by the sources: start, end, asyncStart, asyncEnd on one context that ends with the decision and never holds the token', async () => {
    const events: Array<[string, object]> = [];
    const channel = diagnostics_channel.tracingChannel(VERIFY_CHANNEL);
    const handlers = Object.fromEntries(
      (['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const).map((name) => [name, (context: object) => events.push([name, context])]),
    ) as unknown as Parameters<typeof channel.subscribe>[0];
    channel.subscribe(handlers);
    try {
      const auth = multiAuth({ verifiers: sources(), cache: false });
      await request(express().use(auth).get('/', (_q, r) => r.send('ok'))).get('/').set(bearer(TOKEN)).expect(200);
      await auth.verify('down-0123456789abcdef').catch(() => undefined);
    } finally {
      channel.unsubscribe(handlers);
    }
    expect(events.map(([name]) => name)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'asyncStart', 'asyncEnd']);
    const [first, second] = [events[0][1], events[4][1]] as Array<{ tokenId: string; decision?: Decision; req?: unknown }>;
    expect(events.slice(0, 4).every(([, context]) => context === first)).toBe(true);
    expect(first.decision).toMatchObject({ outcome: 'accepted', source: 'users' });
    expect(first.req).toBeDefined();
    expect(second).toMatchObject({ req: undefined, decision: { outcome: 'failed', status: 503 } });
    const { req: _req, ...withoutReq } = first;
    for (const piece of pieces(TOKEN)) expect(JSON.stringify(withoutReq)).not.toContain(piece);
  });
});

describe('docs recipe (docs/operating.md): one pino line per decision', () => {
  it('logs each decision with the request, the reasons and the guard that refused, and no piece of the token', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = pino({ base: undefined }, sink);
    const auth = multiAuth({ verifiers: sources(), onDecision: logDecisions(logger), cache: false });
    const app = express().use(auth).get('/write', requireScopes('repo:write'), (_q, r) => r.send('ok'));
    await request(app).get('/write').set(bearer(TOKEN)).set('X-Request-Id', 'r-1').expect(403);
    await request(app).get('/write').set(bearer('down-0123456789abcdef')).set('X-Request-Id', 'r-2').expect(503);
    expect(lines.map((l) => [l.level, l.msg, l.outcome, l.status, l.requestId, l.rule])).toEqual([
      [30, 'auth decision', 'accepted', 200, 'r-1', undefined],
      [30, 'auth decision', 'forbidden', 403, 'r-1', 'requireScopes(repo:write)'],
      [40, 'auth decision', 'failed', 503, 'r-2', undefined],
    ]);
    expect(lines[1].reason).toBe('the token lacks repo:write (it has repo:read)');
    expect(lines[2].attempts).toEqual(['flaky: failed (TemporarilyUnavailableError: backend down for [redacted])', 'users: rejected (the source did not recognise the token)']);
    const all = JSON.stringify(lines);
    for (const piece of [...pieces(TOKEN), ...pieces('down-0123456789abcdef')]) expect(all).not.toContain(piece);
  });
});

describe('the pino recipe and a token in the query string', () => {
  it('logs the refused request with the URL redacted, in every spelling the bearer check refuses, and no piece of the token', async () => {
    const out: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        out.push(String(chunk));
        done();
      },
    });
    const app = express().use(multiAuth({ verifiers: sources(), onDecision: logDecisions(pino({ base: undefined }, sink)) })).get('/whoami', (_q, r) => r.send('ok'));
    for (const name of ['access_token', 'access%5Ftoken', 'access_token[]', 'access_token[a][b]']) {
      await request(app).get(`/whoami?page=2&${name}=${TOKEN}`).expect(400);
    }
    const urls = out.map((line) => (JSON.parse(line) as { url: string }).url);
    expect(urls).toEqual([
      '/whoami?page=2&access_token=[redacted]',
      '/whoami?page=2&access%5Ftoken=[redacted]',
      '/whoami?page=2&access_token[]=[redacted]',
      '/whoami?page=2&access_token[a][b]=[redacted]',
    ]);
    for (const piece of pieces(TOKEN)) expect(out.join('')).not.toContain(piece);
  });
});

describe('docs recipe (docs/operating.md): OpenTelemetry spans from the tracing channel', () => {
  // @opentelemetry/api alone records nothing (its default tracer makes non-recording spans), and no
  // SDK is installed: this provider, registered through the API's own setGlobalTracerProvider,
  // records what the recipe asks of the API. It proves the recipe drives the OpenTelemetry API
  // correctly (one span per verification, attributes, status, ended once); not what an SDK exports.
  interface Recorded { name: string; attributes: Record<string, unknown>; status?: { code: number }; ended: number }
  const recorded: Recorded[] = [];
  const provider: TracerProvider = {
    getTracer: () =>
      ({
        startSpan(name: string, options?: SpanOptions): Span {
          const span: Recorded = { name, attributes: { ...options?.attributes }, ended: 0 };
          recorded.push(span);
          const api = {
            setAttributes: (attributes: Record<string, unknown>) => (Object.assign(span.attributes, attributes), api),
            setAttribute: (key: string, value: unknown) => ((span.attributes[key] = value), api),
            setStatus: (status: { code: number }) => ((span.status = status), api),
            recordException: () => undefined,
            end: () => void span.ended++,
            isRecording: () => true,
          };
          return api as unknown as Span;
        },
      }) as unknown as Tracer,
  };

  beforeAll(() => expect(trace.setGlobalTracerProvider(provider)).toBe(true));
  afterAll(() => trace.disable());

  it('makes one span per verification with the outcome and source, an error status for a 503, each ended once', async () => {
    const stop = traceVerifications();
    try {
      const auth = multiAuth({ verifiers: sources(), cache: false });
      const app = express().use(auth).get('/', (_q, r) => r.send('ok'));
      await request(app).get('/').set(bearer(TOKEN)).expect(200);
      await request(app).get('/').set(bearer('down-0123456789abcdef')).expect(503);
    } finally {
      stop();
    }
    expect(recorded.map((s) => [s.name, s.attributes['multiauth.outcome'], s.attributes['multiauth.source'], s.attributes['http.response.status_code'], s.status?.code, s.ended])).toEqual([
      ['multiauth.verify', 'accepted', 'users', 200, undefined, 1],
      ['multiauth.verify', 'failed', '', 503, 2, 1],
    ]);
    expect(recorded[0].attributes['multiauth.token_id']).toMatch(/^[0-9a-f]{16}$/);
  });
});
