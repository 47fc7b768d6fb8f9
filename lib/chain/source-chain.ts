import type { IncomingMessage } from 'node:http';
import { isScopeToken, standardClaims } from '../core/claims';
import { isExpired, toleranceOf } from '../core/clock';
import { diagnoseRefusal, notMine, whyNotMine } from '../core/types';
import { redactToken } from '../core/redaction';
import type { Attempt, AttemptOutcome, AuthInfo, InspectedToken, MultiAuthInfo, TokenVerifier, VerifyContext } from '../core/types';

/** A source with the name the chain reports it under. */
export interface NamedSource {
  readonly name: string;
  readonly verifier: TokenVerifier;
}

/** What the chain concluded for one token. */
export type ChainResult =
  | {
      outcome: 'accepted';
      info: MultiAuthInfo;
      attempts: Attempt[];
      /** The accepting source's clock tolerance in seconds: the cache must honour the same expiry. */
      toleranceSeconds: number;
    }
  | {
      outcome: 'rejected' | 'failed';
      attempts: Attempt[];
      /** Whether any source was asked at all (rather than refusing on its synchronous "not mine" check). */
      asked: boolean;
    }
  | {
      /**
       * A source recognised the token and said it lacks scope (it threw `insufficient_scope`):
       * the chain ends there with a 403, since no later source may turn a valid token's "too
       * little scope" into an acceptance under other rules.
       */
      outcome: 'insufficient_scope';
      attempts: Attempt[];
      asked: true;
      /** The scopes the source's error named (scope tokens only); `undefined` when it named none. */
      scopes?: readonly string[];
    };

class SourceTimeout extends Error {}

function errorCode(error: unknown): unknown {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { code?: unknown; errorCode?: unknown; error?: unknown };
  // Ours, express-oauth2-jwt-bearer's and MCP SDK v2's OAuthError use `code`; v1's OAuthError
  // uses `errorCode`; an OAuth error response object thrown as is carries `error`.
  if (typeof e.code === 'string') return e.code;
  return typeof e.errorCode === 'string' ? e.errorCode : e.error;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `non-error thrown: ${typeof error}`;
}

/**
 * Sorts a thrown error into the outcomes of API.md: `invalid_token` rejects; "temporarily
 * unavailable", `server_error` (the MCP SDKs' `ServerError`: the source could not decide) and
 * our timeout fail; `insufficient_scope` (the token is valid, its scope too small) ends the
 * chain with a 403; anything else is a bug or an unexpected answer of that source, which must
 * not turn into a 503 (the MCP SDK's demo providers throw a plain Error for unknown tokens).
 */
function classify(error: unknown): AttemptOutcome {
  if (error instanceof SourceTimeout) return 'failed';
  const code = errorCode(error);
  if (code === 'invalid_token') return 'rejected';
  if (code === 'temporarily_unavailable' || code === 'server_error') return 'failed';
  if (code === 'insufficient_scope') return 'insufficient_scope';
  return 'errored';
}

/**
 * The scopes an `insufficient_scope` error names: ours and express-oauth2-jwt-bearer's carry
 * `scopes`; the MCP SDKs' carry none. Only scope tokens, so nothing odd reaches `scope=`.
 */
function scopesNamed(error: unknown): readonly string[] | undefined {
  const scopes = (error as { scopes?: unknown }).scopes;
  if (!Array.isArray(scopes)) return undefined;
  const named = scopes.filter(isScopeToken);
  return named.length > 0 ? named : undefined;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((s) => typeof s === 'string');
}

/**
 * Checks what a source returned and builds `req.auth` from it. A malformed answer is the
 * source's bug: it must never become an acceptance.
 */
function toMultiAuthInfo(
  result: AuthInfo & Partial<MultiAuthInfo>,
  token: string,
  source: string,
): MultiAuthInfo | string {
  if (typeof result !== 'object') return 'the source returned a non-object';
  if (typeof result.clientId !== 'string') return 'the source returned AuthInfo without a string clientId';
  if (!isStringArray(result.scopes)) return 'the source returned AuthInfo whose scopes are not an array of strings';
  const { expiresAt } = result;
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
    return 'the source returned AuthInfo whose expiresAt is not a number of seconds';
  }
  if (result.resource !== undefined && !(result.resource instanceof URL)) {
    return 'the source returned AuthInfo whose resource is not a URL';
  }
  const { resourceMetadataUrl } = result;
  if (resourceMetadataUrl !== undefined && typeof resourceMetadataUrl !== 'string') {
    return 'the source returned AuthInfo whose resourceMetadataUrl is not a string';
  }
  const extra = result.extra !== null && typeof result.extra === 'object' ? result.extra : undefined;
  const info: MultiAuthInfo = {
    token,
    clientId: result.clientId,
    // RFC 6749 §3.3: an element that is not a scope token ("read admin") is no scope. Kept, it
    // would be one scope here and two in the `scope` claim filled below for other guards.
    scopes: result.scopes.filter(isScopeToken),
    source,
    // Replaced below by the claims, once the fields they are built from are set.
    payload: {},
    extra: { ...extra, source },
  };
  if (expiresAt !== undefined) info.expiresAt = expiresAt;
  if (result.resource !== undefined) info.resource = result.resource;
  if (resourceMetadataUrl !== undefined) info.resourceMetadataUrl = resourceMetadataUrl;
  if (typeof result.subject === 'string') info.subject = result.subject;
  // Filled in once per verification: the cache keeps the result, so a hit pays nothing for it.
  info.payload = standardClaims({
    clientId: info.clientId,
    scopes: info.scopes,
    subject: info.subject,
    expiresAt,
    payload: result.payload !== null && typeof result.payload === 'object' ? result.payload : undefined,
  });
  if (result.header !== null && typeof result.header === 'object') info.header = result.header;
  return info;
}

/**
 * The context one source gets for one token. Its `signal` (an AbortController, which is costly to
 * make) is created only if the source asks for it: most sources refuse a foreign token before
 * they would pass a signal to anything.
 */
class AttemptContext implements VerifyContext {
  private controller: AbortController | undefined;
  private timedOut = false;
  /** Notes the source left; created on the first one. */
  notes: string[] | undefined;

  constructor(
    readonly token: InspectedToken,
    readonly req: IncomingMessage | undefined,
    readonly senderConstrained: boolean,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.timedOut) this.controller.abort(new SourceTimeout());
    }
    return this.controller.signal;
  }

  abort(): void {
    this.timedOut = true;
    this.controller?.abort(new SourceTimeout());
  }

  note(text: string): void {
    if (typeof text !== 'string') return;
    (this.notes ??= []).push(redactToken(text, this.token.raw));
  }
}

const resolved = Promise.resolve();
const NOT_RECOGNISED = 'the source did not recognise the token';

/**
 * The source's answer, or a SourceTimeout after `timeoutMs`. One promise: the timer is armed a
 * microtask later, and only if the source has not answered by then (a foreign token refused on
 * sight needs none). A resolved promise queues that check, not queueMicrotask, which costs an
 * async resource per call in Node.
 */
function withinTime<T>(pending: Promise<T>, timeoutMs: number, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    pending.then(
      (value) => {
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
    resolved.then(() => {
      if (settled) return;
      timer = setTimeout(() => {
        onTimeout();
        reject(new SourceTimeout());
      }, timeoutMs);
    });
  });
}

async function runOne(
  source: NamedSource,
  token: InspectedToken,
  req: IncomingMessage | undefined,
  timeoutMs: number,
  senderConstrained: boolean,
): Promise<{ attempt: Attempt; info?: MultiAuthInfo; scopes?: readonly string[] }> {
  const started = performance.now();
  const context = new AttemptContext(token, req, senderConstrained);
  const attempt = (outcome: AttemptOutcome, reason?: string): Attempt => {
    const a: Attempt = { source: source.name, outcome, durationMs: performance.now() - started };
    if (reason !== undefined) a.reason = reason;
    if (context.notes) a.notes = context.notes;
    return a;
  };
  try {
    const pending = Promise.resolve(source.verifier.verifyAccessToken(token.raw, context));
    const result = await withinTime(pending, timeoutMs, () => context.abort());
    if (result === null || result === undefined) return { attempt: attempt('rejected', NOT_RECOGNISED) };
    const info = toMultiAuthInfo(result as AuthInfo & Partial<MultiAuthInfo>, token.raw, source.name);
    if (typeof info === 'string') return { attempt: attempt('errored', info) };
    const dropped = (result as AuthInfo).scopes.length - info.scopes.length;
    if (dropped > 0) context.note(`ignored ${dropped} scope element(s) that are not RFC 6749 scope tokens (a space, quote or backslash)`);
    // RFC 9068 §2.2 and both MCP SDKs' requireBearerAuth: a token without expiry is refused,
    // unless its source says its tokens may never expire (API keys: staticTokenVerifier).
    if (info.expiresAt === undefined && source.verifier.neverExpires !== true) {
      return {
        attempt: attempt(
          'rejected',
          'the source returned AuthInfo without expiresAt; set `neverExpires: true` on the verifier if its tokens truly never expire',
        ),
      };
    }
    if (isExpired(info.expiresAt, toleranceOf(source.verifier), Date.now())) {
      return { attempt: attempt('rejected', 'the token has expired') };
    }
    return { attempt: attempt('accepted'), info };
  } catch (error) {
    const outcome = classify(error);
    const reason = error instanceof SourceTimeout ? `no answer within ${timeoutMs} ms` : redactToken(messageOf(error), token.raw);
    const failed = attempt(outcome, reason);
    if (outcome === 'failed' && (error as { permanent?: unknown }).permanent === true) failed.permanent = true;
    if (outcome === 'insufficient_scope') {
      const scopes = scopesNamed(error);
      return scopes ? { attempt: failed, scopes } : { attempt: failed };
    }
    return { attempt: failed };
  }
}

/**
 * Asks each source in order; the first acceptance wins. Rejections, failures and errors of
 * one source never stop the chain. The result is `failed` only when nothing accepted and at
 * least one source could not decide, so that an outage reads as 503 rather than as a
 * refusal the client would act on.
 */
export async function runChain(
  sources: readonly NamedSource[],
  token: InspectedToken,
  req: IncomingMessage | undefined,
  timeoutMs: number,
  /** Whether the caller checks `cnf` itself (multiAuth always does: its binding rule): passed to each source. */
  senderConstrained = false,
  /** Whether anyone will read the reasons: only then are "not mine" refusals explained. */
  explain = false,
): Promise<ChainResult> {
  const attempts: Attempt[] = [];
  let failed = false;
  let asked = false;
  for (const source of sources) {
    if (source.verifier[notMine]?.(token)) {
      const why = explain ? source.verifier[whyNotMine] : undefined;
      // What a source says about the token's claims may quote them, and a claim can echo the token.
      const reason = why ? redactToken(why.call(source.verifier, token), token.raw) : NOT_RECOGNISED;
      attempts.push({ source: source.name, outcome: 'rejected', reason, durationMs: 0 });
      continue;
    }
    asked = true;
    const { attempt, info, scopes } = await runOne(source, token, req, timeoutMs, senderConstrained);
    attempts.push(attempt);
    if (info) return { outcome: 'accepted', info, attempts, toleranceSeconds: toleranceOf(source.verifier) };
    if (attempt.outcome === 'insufficient_scope') {
      return scopes ? { outcome: 'insufficient_scope', attempts, asked: true, scopes } : { outcome: 'insufficient_scope', attempts, asked: true };
    }
    if (attempt.outcome === 'failed') failed = true;
  }
  diagnose(sources, token);
  return { outcome: failed ? 'failed' : 'rejected', attempts, asked };
}

/** Lets each source say whether the refusal points at its configuration (it warns; the answer stands). */
function diagnose(sources: readonly NamedSource[], token: InspectedToken): void {
  for (const source of sources) {
    try {
      source.verifier[diagnoseRefusal]?.(token, source.name);
    } catch {
      // A diagnosis is an aid to the operator; it must never change or delay the answer.
    }
  }
}
