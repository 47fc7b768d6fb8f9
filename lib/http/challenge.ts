// lib/http/: the HTTP surface a request meets: getting the token out of the request
// (token-extraction), every 400/401/403/503 answer and its WWW-Authenticate challenge
// (challenge), putting and reading req.auth (request-auth), and the per-route guards.
// May import core/ only.

import type { ServerResponse } from 'node:http';
import type { MultiAuthError } from '../core/errors';
import { answered, sendJson } from './node-http';
import { advertisable } from '../core/scopes';

/** What every challenge may carry besides the error itself. */
export interface ChallengeContext {
  /** Absolute URL of the RFC 9728 protected-resource metadata. */
  resourceMetadataUrl?: string | undefined;
  /** Scopes to advertise in `scope=` (the scopes the resource requires). */
  scopes?: readonly string[] | undefined;
  /**
   * DPoP (RFC 9449 §7.1) is offered too: a `DPoP algs="…"` challenge goes next to `Bearer`.
   * `errorsOnDpop`: the parameters (error, scope, resource_metadata) go on the `DPoP` challenge,
   * as for a request that used the DPoP scheme; `only`: no `Bearer` challenge at all.
   */
  dpop?: { readonly algorithms: readonly string[]; readonly errorsOnDpop: boolean; readonly only: boolean } | undefined;
}

/** Seconds a client is asked to wait after a 503. */
const RETRY_AFTER_SECONDS = '5';

/**
 * Makes a value safe inside a quoted-string. RFC 6749 §5.2 limits `error_description` to
 * %x20-21 / %x23-5B / %x5D-7E, so quotes, backslashes, control characters (CR/LF: header
 * injection) and non-ASCII are replaced rather than escaped: nothing a client sent can
 * change the header's structure.
 */
export function quoteSafe(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?');
}

/**
 * `scope=` takes space-separated scope tokens (%x21 / %x23-5B / %x5D-7E). `offline_access` is
 * never named (MCP 2026-07-28: refresh tokens are not a resource requirement), wherever it was
 * configured.
 */
function scopeValue(scopes: readonly string[]): string {
  return advertisable(scopes).map((s) => s.replace(/[^\x21\x23-\x5B\x5D-\x7E]/g, '')).filter(Boolean).join(' ');
}

/**
 * Builds an RFC 6750 `WWW-Authenticate` value. With no `error` it is the bare challenge for a
 * request that carried no credentials (RFC 6750 §3.1: no error code then). `scope=` comes from
 * `error.scopes`, else `context.scopes`. Values are sanitised, not escaped, so nothing a client
 * sent can inject a header. With `context.dpop`, a `DPoP algs="…"` challenge (RFC 9449 §7.1) is
 * offered as well, or instead when every source requires DPoP.
 *
 * @example
 * res.statusCode = 403;
 * res.setHeader('WWW-Authenticate', bearerChallenge(
 *   { code: 'insufficient_scope', description: 'Needs repo:admin', scopes: ['repo:admin'] },
 *   { resourceMetadataUrl: auth.resourceMetadataUrl },
 * ));
 * // Bearer error="insufficient_scope", error_description="Needs repo:admin", scope="repo:admin",
 * //   resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
 */
export function bearerChallenge(
  error: { code: string; description: string; scopes?: readonly string[] } | undefined,
  context: ChallengeContext,
): string {
  const params: string[] = [];
  if (error) {
    params.push(`error="${quoteSafe(error.code)}"`, `error_description="${quoteSafe(error.description)}"`);
  }
  const scopes = error?.scopes ?? context.scopes;
  if (scopes && scopes.length > 0) {
    const value = scopeValue(scopes);
    if (value) params.push(`scope="${value}"`);
  }
  if (context.resourceMetadataUrl) params.push(`resource_metadata="${quoteSafe(context.resourceMetadataUrl)}"`);
  const { dpop } = context;
  if (!dpop) return params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer';
  // The parameters go on one challenge only, the scheme the client is to use: clients read the
  // first `error=`/`resource_metadata=` in the header, whichever challenge holds it.
  const algs = `algs="${dpop.algorithms.map((a) => a.replace(/[^A-Za-z0-9_-]/g, '')).join(' ')}"`;
  if (dpop.only) return `DPoP ${[...params, algs].join(', ')}`;
  if (dpop.errorsOnDpop) return `DPoP ${[...params, algs].join(', ')}, Bearer`;
  return `${params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer'}, DPoP ${algs}`;
}

/**
 * A refusal worked out as plain values, the same for every framework: status, the
 * `WWW-Authenticate` challenge (none for 503: `Retry-After` instead), and the JSON body.
 * Prepared answers are shared between requests: never change one.
 */
export interface HttpAnswer {
  readonly status: number;
  readonly challenge: string | undefined;
  readonly body: string;
  /** The body's length in bytes. */
  readonly length: number;
  /** RFC 9449 §9: the nonce a `use_dpop_nonce` refusal tells the client to retry with. */
  readonly dpopNonce?: string;
}

/**
 * Answers already worked out, per challenge context. A service answers the same few refusals
 * over and over (a flood of bad tokens is all 401 `invalid_token`), so escaping and serialising
 * each once is worth a lookup. Keyed weakly by context, since guards build theirs per request,
 * and bounded per context in case a caller makes messages without end.
 */
const prepared = new WeakMap<ChallengeContext, Map<string, HttpAnswer>>();
const MAX_PREPARED_PER_CONTEXT = 64;

function prepare(context: ChallengeContext, key: string, make: () => HttpAnswer): HttpAnswer {
  let answers = prepared.get(context);
  if (!answers) prepared.set(context, (answers = new Map()));
  let answer = answers.get(key);
  if (!answer) {
    answer = make();
    if (answers.size < MAX_PREPARED_PER_CONTEXT) answers.set(key, answer);
  }
  return answer;
}

function answerOf(status: number, challenge: string | undefined, body: Record<string, string>): HttpAnswer {
  const text = JSON.stringify(body);
  return { status, challenge, body: text, length: Buffer.byteLength(text) };
}

/**
 * Writes a refusal through Node's `ServerResponse` only (`statusCode`, `setHeader`, `end`), so
 * it works wherever a `ServerResponse` is at hand: Express, Connect, Fastify's `reply.raw`, a
 * bare `node:http` server.
 */
export function writeAnswer(res: ServerResponse, answer: HttpAnswer): void {
  // Something earlier answered: writing now would throw ERR_HTTP_HEADERS_SENT.
  if (answered(res)) return;
  res.statusCode = answer.status;
  if (answer.dpopNonce !== undefined) res.setHeader('DPoP-Nonce', answer.dpopNonce);
  if (answer.challenge !== undefined) res.setHeader('WWW-Authenticate', answer.challenge);
  else if (answer.status === 503) res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', answer.length);
  res.end(answer.body);
}

/**
 * A JSON-RPC error as the HTTP answer (MCP streamable HTTP): e.g. 400 with `-32020`
 * (`HeaderMismatch`) when the MCP standard headers contradict the body. No challenge: the
 * credentials are not what is wrong.
 */
export function sendJsonRpcError(res: ServerResponse, status: number, id: string | number | null, code: number, message: string): void {
  sendJson(res, status, JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }), NO_STORE);
}

const NO_STORE = Object.freeze({ 'Cache-Control': 'no-store' });

/** The 401 without an error code: the client sent no credentials and should go get a token. */
export function noCredentialsAnswer(context: ChallengeContext): HttpAnswer {
  return prepare(context, '', () =>
    answerOf(401, bearerChallenge(undefined, context), { error: 'unauthorized', error_description: 'Authentication required' }),
  );
}

/**
 * The one place an error becomes an answer: status, `WWW-Authenticate` (none for 503, which is
 * not the client's fault; `Retry-After` instead) and the JSON body.
 */
export function errorAnswer(error: MultiAuthError, context: ChallengeContext): HttpAnswer {
  const { code, status, message, scopes } = error;
  const key = `${status} ${code} ${message}${scopes ? `\n${scopes.join(' ')}` : ''}`;
  const answer = prepare(context, key, () =>
    answerOf(
      status,
      status === 503 ? undefined : bearerChallenge({ code, description: message, scopes }, context),
      { error: code, error_description: quoteSafe(message) },
    ),
  );
  // The nonce changes with time, so it is not part of the prepared answer.
  const nonce = (error as { nonce?: unknown }).nonce;
  return code === 'use_dpop_nonce' && typeof nonce === 'string' ? { ...answer, dpopNonce: nonce } : answer;
}

/** 401 without an error code: the client sent no credentials and should go get a token. */
export function sendNoCredentials(res: ServerResponse, context: ChallengeContext): void {
  writeAnswer(res, noCredentialsAnswer(context));
}

/** Writes the answer {@link errorAnswer} builds for `error`. */
export function sendError(res: ServerResponse, error: MultiAuthError, context: ChallengeContext): void {
  writeAnswer(res, errorAnswer(error, context));
}
