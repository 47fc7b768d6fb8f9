import { LRUCache } from 'lru-cache';
import { BoundedFetchError, boundedFetch, type BoundedResponse } from '../transport/bounded-fetch';
import { compileValidators, runValidators, type ClaimValidators } from './claim-validators';
import { firstString, isNonEmptyString, resourceFromAudience, scopeList } from '../core/claims';
import { remoteUrlProblem } from '../transport/issuer-discovery';
import { InvalidTokenError, MultiAuthConfigError, TemporarilyUnavailableError } from '../core/errors';
import { inspectionOf } from '../core/token-inspection';
import { describeRules, rulesDigest } from '../core/rules';
import { refuseSurroundingWhitespace, refuseUnknownOptions } from '../core/options';
import { sourceRequiredScopes } from '../core/scopes';
import { shown } from '../core/redaction';
import { randomBytes } from 'node:crypto';
import { toSharedStore, type KeyvLike, type SharedStore, type StoreNote } from '../transport/shared-store';
import type { MultiAuthInfo, ProbeContext, TokenVerifier, VerifyContext } from '../core/types';

/** Result cache of an {@link introspectionVerifier}. */
export interface IntrospectionCacheOptions {
  /** Most tokens remembered, for accepted and refused tokens each; default `1000`. */
  max?: number;
  /**
   * How long an accepted token is trusted without asking again; default `30000` (30 s).
   * This is the longest a revocation at the authorization server can go unnoticed. Never
   * beyond the token's `exp`.
   */
  ttlMs?: number;
  /**
   * How long a refused token (`active: false`, or a 4xx OAuth error such as
   * `unsupported_token_type`) is refused without asking again; default `5000`, `0` turns it
   * off. A refused token does not become valid later (revocation and expiry are one-way), so
   * this only spares the endpoint a client that retries a dead token in a loop. Never longer
   * than `ttlMs`.
   */
  negativeTtlMs?: number;
}

/** Options of `introspectionVerifier()`. */
export interface IntrospectionVerifierOptions {
  /** Source name; default `'introspection'`. */
  name?: string;
  /**
   * The RFC 7662 introspection endpoint: an absolute `https:` URL (`http:` only on a loopback host,
   * or with `allowHttp`).
   */
  endpoint: string | URL;
  /** Permit a plain `http:` endpoint on a host other than loopback (never in production). Default `false`. */
  allowHttp?: boolean;
  /** This resource server's client id at the authorization server. */
  clientId: string;
  /** The secret that goes with `clientId`; sent to `endpoint` only, never across a redirect. */
  clientSecret: string;
  /** How to present the client credentials (RFC 6749 §2.3.1); default `'client_secret_basic'`. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /**
   * Required: the resource(s) this server is; the answer's `aud` (string or array) must name one
   * of them, or the token was issued for another server and is refused (MCP: a server MUST
   * validate that tokens were issued for it). `false` turns the check off, for authorization
   * servers whose answers never carry `aud`: then any active token of that server is accepted,
   * whatever resource it was issued for.
   */
  audience: string | string[] | false;
  /**
   * When set, the response's `iss` must equal it, and a JWT whose unverified `iss` names another
   * issuer is rejected without a call, so other issuers' tokens are never sent to this endpoint.
   */
  issuer?: string;
  /** Time limit for one call to the endpoint, body included, in ms; default `5000`. */
  timeoutMs?: number;
  /** Result cache; `false` turns it off (concurrent lookups of one token are still shared). */
  cache?: false | IntrospectionCacheOptions;
  /** Response member holding the scopes (space-separated string or array); default `'scope'`. */
  scopeClaim?: string;
  /**
   * Checks of your own on the introspection answer of an active token: member name -> a function
   * `(value, answer) => boolean | Promise<boolean>` or the value the member must equal. They only
   * add checks; a refusal is a rejection whose reason names the member. Run on every use, cached
   * answer or not, so a changed validator applies at once.
   */
  validators?: ClaimValidators;
  /**
   * A Keyv-compatible store shared by every replica (e.g. `new Keyv(new KeyvRedis(url))`), or
   * `sharedStore(keyv, options)`: a second level under the per-process cache, so each token is
   * introspected once across all replicas per `cache.ttlMs`. It holds the endpoint's answers
   * (never the token), keyed by a SHA-256 digest, for no longer than the per-process cache would,
   * and each replica judges them by its own `issuer`/`audience`. A failing or slow store costs
   * at most its `timeoutMs`, then the endpoint is asked as without one. Needs the cache.
   */
  store?: KeyvLike | SharedStore;
  /**
   * Scopes this source's tokens must carry, replacing `multiAuth`'s `requiredScopes` for the
   * tokens it accepts (e.g. machine keys with their own vocabulary). Default: the router's.
   */
  requiredScopes?: readonly string[];
}

/** What {@link introspectionVerifier} returns: it resolves only acceptances and throws the rest. */
export interface IntrospectionVerifier extends TokenVerifier {
  /** The source name: `options.name`, default `'introspection'`. */
  readonly name: string;
  /**
   * Resolves the token's `MultiAuthInfo`; throws `InvalidTokenError` to reject it and
   * `TemporarilyUnavailableError` when the endpoint cannot decide.
   */
  verifyAccessToken(token: string, context?: VerifyContext): Promise<MultiAuthInfo>;
}

/** Largest introspection response read; real ones are a few hundred bytes. */
/** Every option `introspectionVerifier` takes: add a new option's name here, or it is refused as a typo. */
const INTROSPECTION_OPTIONS: readonly string[] = [
  'name', 'endpoint', 'allowHttp', 'clientId', 'clientSecret', 'authMethod', 'audience', 'issuer', 'timeoutMs', 'cache', 'scopeClaim', 'store', 'validators', 'requiredScopes',
];
const CACHE_OPTIONS: readonly string[] = ['max', 'ttlMs', 'negativeTtlMs'];
const MAX_RESPONSE_BYTES = 256 * 1024;
const DEFAULTS = { timeoutMs: 5000, max: 1000, ttlMs: 30_000, negativeTtlMs: 5000 };

/** `token_type` values that mean "a plain bearer access token" (RFC 6749 §7.1, RFC 8693 §3). */
const BEARER_TOKEN_TYPES = new Set(['bearer', 'access_token', 'urn:ietf:params:oauth:token-type:access_token']);
/** OAuth errors that are about our client registration or credentials, not about the token. */
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'invalid_client_metadata']);

type Claims = Record<string, unknown>;

/** What one answer of the endpoint means, as cached. */
type Verdict =
  | {
      accepted: true;
      claims: Claims;
      clientId: string;
      scopes: string[];
      expiresAt?: number;
      subject?: string;
      resource?: URL;
      /** Sender-constrained (`cnf`, or `token_type` DPoP): good only where the caller checks the proof. */
      bound?: true;
    }
  | {
      accepted: false;
      reason: string;
      /** Refused by this verifier's own rules (iss, aud, ...), not by the endpoint: not shared, since replicas may differ. */
      local?: true;
    };

interface Flight {
  promise: Promise<Verdict>;
  controller: AbortController;
  waiters: number;
  settled: boolean;
}

function fail(message: string): never {
  throw new MultiAuthConfigError(`introspectionVerifier: ${message}`);
}

function isObject(value: unknown): value is Claims {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function positive(value: unknown, what: string, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    fail(`${what} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  }
  return value;
}

/**
 * The endpoint receives our client secret and every token: plain http is refused unless the host
 * is loopback or the operator says `allowHttp`, as for key servers (`remoteUrlProblem`).
 */
function checkEndpoint(value: unknown, allowHttp: boolean): URL {
  const problem = remoteUrlProblem(value, { allowHttp });
  if (problem) fail(`endpoint ${problem}`);
  return new URL(value instanceof URL ? value.href : (value as string));
}

function checkAudience(value: unknown): string[] | undefined {
  if (value === false) return undefined;
  if (value === undefined) {
    fail(
      'audience is required: the resource this server is, which the answer\'s "aud" must name (e.g. audience: \'https://mcp.example.com/mcp\'). ' +
        'Only if your authorization server never reports "aud", pass audience: false (it then accepts tokens issued for any resource)',
    );
  }
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every(isNonEmptyString)) fail('audience must be a non-empty string or a non-empty array of them');
  return [...list];
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** Keeps an endpoint-supplied string printable and short before it goes into a reason. */
function printable(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** `permanent`: a cause the configuration must fix (wrong endpoint, refused credentials), not an outage. */
function unavailable(message: string, cause?: unknown, permanent = false): TemporarilyUnavailableError {
  return new TemporarilyUnavailableError(`introspection: ${message}`, { ...(cause === undefined ? {} : { cause }), permanent });
}

function scopesOf(value: unknown, claim: string): string[] {
  if (value === undefined || value === null) return [];
  const scopes = scopeList(value);
  if (!scopes) throw unavailable(`the response's ${claim} is neither a string nor an array of strings`);
  return scopes;
}

/**
 * A source that asks an OAuth 2.0 authorization server about each token (RFC 7662 token
 * introspection): for opaque tokens, or to honour revocation.
 *
 * Outcomes:
 * - accepted: `200` with `active: true`, `aud` naming `audience` (unless it is `false`), `iss`
 *   matching `issuer` when set, `exp` not past, not a non-access token (a sender-constrained one
 *   keeps `cnf`/`token_type` in `payload` for the chain's binding rule);
 * - rejected (thrown as `InvalidTokenError`, whose message says why): `active: false`, or a
 *   4xx carrying an OAuth error body, e.g. `400 unsupported_token_type`, which servers answer
 *   for JWTs they do not introspect: that token is simply not theirs, and the next source (or
 *   a 401) should deal with it. `invalid_request` counts here too, since servers use it for
 *   tokens they cannot parse; were our own request malformed, the operator sees the code
 *   through `onDecision`;
 * - failed (`TemporarilyUnavailableError`, may become a 503): 5xx, 408, 429, timeouts,
 *   network errors, redirects, 4xx without an OAuth error body (a wrong endpoint URL), bodies
 *   that are not an introspection response, and any answer that says our own client
 *   credentials are wrong (401, 403, `invalid_client`, `unauthorized_client`): a
 *   misconfiguration says nothing about the token, so it must not make clients discard good
 *   tokens; the operator sees it through `onDecision`.
 *
 * An accepted token's `clientId` is the response's `client_id`, else `sub`, else `''`; its
 * `scopes` come from `scopeClaim`, its `payload` is the whole response.
 *
 * Results are cached by the token's SHA-256 (never the token) for `cache.ttlMs` (30 s),
 * never beyond `exp`; refusals for `cache.negativeTtlMs` (5 s); failures never. Concurrent
 * verifications of one token share one request. Every request has a time limit, a
 * 256 KiB response cap, and follows no redirect (which would resend our credentials).
 *
 * @example
 * introspectionVerifier({
 *   endpoint: 'https://login.example.com/oauth/introspect',
 *   clientId: 'mcp-server', clientSecret: process.env.INTROSPECTION_SECRET!,
 *   audience: 'https://mcp.example.com/mcp',
 * })
 */
export function introspectionVerifier(options: IntrospectionVerifierOptions): IntrospectionVerifier {
  if (!isObject(options)) fail('options must be an object { endpoint, clientId, clientSecret, ... }');
  refuseUnknownOptions('introspectionVerifier', options, INTROSPECTION_OPTIONS);
  const requiredScopes = sourceRequiredScopes('introspectionVerifier', options.requiredScopes);
  refuseSurroundingWhitespace('introspectionVerifier', 'endpoint', options.endpoint);
  refuseSurroundingWhitespace('introspectionVerifier', 'issuer', options.issuer);
  for (const audience of [options.audience === false ? [] : (options.audience ?? [])].flat()) refuseSurroundingWhitespace('introspectionVerifier', 'audience', audience);
  const name = options.name ?? 'introspection';
  if (!isNonEmptyString(name)) fail('name must be a non-empty string');
  if (options.allowHttp !== undefined && typeof options.allowHttp !== 'boolean') fail('allowHttp must be true or false');
  const endpoint = checkEndpoint(options.endpoint, options.allowHttp ?? false);
  if (!isNonEmptyString(options.clientId)) fail('clientId must be a non-empty string');
  if (!isNonEmptyString(options.clientSecret)) fail('clientSecret must be a non-empty string (is the environment variable set?)');
  const authMethod = options.authMethod ?? 'client_secret_basic';
  if (authMethod !== 'client_secret_basic' && authMethod !== 'client_secret_post') {
    fail(`authMethod must be 'client_secret_basic' or 'client_secret_post'`);
  }
  const audience = checkAudience(options.audience);
  if (options.issuer !== undefined && !isNonEmptyString(options.issuer)) fail('issuer must be a non-empty string');
  const issuer = options.issuer;
  const timeoutMs = positive(options.timeoutMs, 'timeoutMs') ?? DEFAULTS.timeoutMs;
  const scopeClaim = options.scopeClaim ?? 'scope';
  const validators = compileValidators('introspectionVerifier', options.validators);
  if (!isNonEmptyString(scopeClaim)) fail('scopeClaim must be a non-empty string');
  if (options.cache !== undefined && options.cache !== false && !isObject(options.cache)) {
    fail('cache must be false or an object { max?, ttlMs?, negativeTtlMs? }');
  }
  if (isObject(options.cache)) refuseUnknownOptions('introspectionVerifier', options.cache, CACHE_OPTIONS, 'cache');
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? {});
  let accepted: LRUCache<string, Verdict> | undefined;
  let refused: LRUCache<string, Verdict> | undefined;
  let ttlMs = 0;
  let negativeTtlMs = 0;
  if (cacheOptions) {
    const max = positive(cacheOptions.max, 'cache.max') ?? DEFAULTS.max;
    if (!Number.isInteger(max)) fail('cache.max must be a positive integer');
    ttlMs = Math.floor(positive(cacheOptions.ttlMs, 'cache.ttlMs') ?? DEFAULTS.ttlMs);
    negativeTtlMs = Math.floor(Math.min(positive(cacheOptions.negativeTtlMs, 'cache.negativeTtlMs', true) ?? DEFAULTS.negativeTtlMs, ttlMs));
    accepted = new LRUCache({ max });
    // Refusals live apart so that a flood of garbage tokens cannot evict accepted ones.
    if (negativeTtlMs > 0) refused = new LRUCache({ max });
  }

  const baseHeaders: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (authMethod === 'client_secret_basic') {
    const credentials = `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`;
    baseHeaders.authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
  }
  const clientId = options.clientId;
  const clientSecret = options.clientSecret;

  function judgeActive(claims: Claims): Verdict {
    const exp = claims.exp;
    if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp))) {
      throw unavailable('the response\'s exp is not a number');
    }
    if (exp !== undefined && exp * 1000 <= Date.now()) return { accepted: false, reason: 'the token has expired' };
    const tokenType = claims.token_type;
    const dpopType = typeof tokenType === 'string' && tokenType.toLowerCase() === 'dpop';
    if (typeof tokenType === 'string' && !dpopType && !BEARER_TOKEN_TYPES.has(tokenType.toLowerCase())) {
      return { accepted: false, reason: `token_type ${printable(tokenType)} is not a bearer access token` };
    }
    if (issuer !== undefined && claims.iss !== issuer) {
      return { accepted: false, reason: `the answer's "iss" is ${shown(claims.iss)}; this source accepts ${shown(issuer)}` };
    }
    if (audience) {
      const aud = claims.aud;
      const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
      if (!auds.some((a) => audience.includes(a as string))) {
        return { accepted: false, reason: `the answer's "aud" is ${shown(aud)}; this source accepts ${audience.map((a) => shown(a)).join(', ')}` };
      }
    }
    const verdict: Verdict = {
      accepted: true,
      claims,
      clientId: firstString(claims.client_id, claims.sub) ?? '',
      scopes: scopesOf(claims[scopeClaim], scopeClaim),
    };
    if (typeof exp === 'number') verdict.expiresAt = exp;
    if (typeof claims.sub === 'string') verdict.subject = claims.sub;
    const resource = resourceFromAudience(claims.aud);
    if (resource) verdict.resource = resource;
    // Whether it may be used depends on the request (is its proof checked?), not on the token:
    // decided per call, so the cached verdict serves both kinds of caller.
    if (claims.cnf !== undefined || dpopType) verdict.bound = true;
    return verdict;
  }

  function judge(response: BoundedResponse): Verdict {
    const { status } = response;
    if (status === 200) {
      const body = parseJson(response.body);
      // A web page (a login form, a proxy's page) or other non-JSON at 200 is the answer of
      // something that is not an RFC 7662 endpoint: the configuration must change, as for a
      // JWKS URL answering HTML.
      if (!isObject(body)) {
        throw unavailable(
          `the endpoint ${endpoint.href} answered 200 with ${body === undefined ? 'something that is not JSON' : 'JSON that is not an object'}; ` +
            'is endpoint the introspection endpoint (RFC 7662, e.g. the metadata\'s introspection_endpoint)?',
          undefined,
          true,
        );
      }
      if (body.active === false) return { accepted: false, reason: 'the token is not active' };
      if (body.active !== true) throw unavailable('200 answer has no boolean "active"');
      const verdict = judgeActive(body);
      if (!verdict.accepted) verdict.local = true;
      return verdict;
    }
    if (status === 401 || status === 403) {
      throw unavailable(`the endpoint refused our client credentials (${status}); check clientId, clientSecret and authMethod`, undefined, true);
    }
    if (status >= 300 && status < 400) throw unavailable(`the endpoint answered ${status}; redirects are not followed`, undefined, true);
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      const body = parseJson(response.body);
      const error = isObject(body) && isNonEmptyString(body.error) ? body.error : undefined;
      // 404, 405, 410 without an OAuth error: not an introspection endpoint at all.
      if (error === undefined) throw unavailable(`the endpoint answered ${status} without an OAuth error; is endpoint right?`, undefined, true);
      if (CLIENT_ERRORS.has(error)) throw unavailable(`the endpoint refused our client credentials (${printable(error)})`, undefined, true);
      return { accepted: false, reason: `the endpoint answered ${status} ${printable(error)}` };
    }
    throw unavailable(`the endpoint answered ${status}`);
  }

  async function introspect(token: string, signal: AbortSignal): Promise<Verdict> {
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
    if (authMethod === 'client_secret_post') {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    let response: BoundedResponse;
    try {
      response = await boundedFetch(endpoint, {
        method: 'POST',
        headers: baseHeaders,
        body: form.toString(),
        timeoutMs,
        maxBytes: MAX_RESPONSE_BYTES,
        signal,
      });
    } catch (error) {
      const message = error instanceof BoundedFetchError ? error.message : 'request failed';
      throw unavailable(message, error);
    }
    return judge(response);
  }

  /** How long `verdict` may be reused from now, in ms (never past `exp`, nor past `untilMs` when given). */
  function lifetimeOf(verdict: Verdict, untilMs = Infinity): number {
    const now = Date.now();
    if (!verdict.accepted) return Math.floor(Math.min(negativeTtlMs, untilMs - now));
    const untilExp = verdict.expiresAt === undefined ? Infinity : verdict.expiresAt * 1000 - now;
    return Math.floor(Math.min(ttlMs, untilExp, untilMs - now));
  }

  function remember(key: string, verdict: Verdict, untilMs?: number): void {
    const ttl = lifetimeOf(verdict, untilMs);
    // lru-cache reads a ttl of 0 as "forever": a token about to expire is not cached at all.
    if (ttl < 1) return;
    if (verdict.accepted) accepted?.set(key, verdict, { ttl });
    else refused?.set(key, verdict, { ttl });
  }

  // The shared store holds what the endpoint said (the response of an active token, or why it
  // refused), never the token; each replica judges an active response by its own rules.
  const store = toSharedStore(options.store, 'introspectionVerifier');
  if (store && !cacheOptions) fail('store is a second level under the cache: it needs the cache (remove cache: false)');
  // One endpoint's answers are not another's: the key covers who asked whom.
  const storeScope = `${endpoint.href}\0${clientId}\0`;

  function fromShared(data: unknown): Verdict | undefined {
    if (!isObject(data)) return undefined;
    if (data.active === true && isObject(data.claims) && data.claims.active === true) {
      const verdict = judgeActive(data.claims);
      if (!verdict.accepted) verdict.local = true;
      return verdict;
    }
    if (data.active === false && typeof data.reason === 'string') return { accepted: false, reason: printable(data.reason) };
    return undefined;
  }

  async function share(sharedStore: SharedStore, key: string, verdict: Verdict, note: StoreNote | undefined): Promise<void> {
    if (!verdict.accepted && verdict.local) return;
    const ttl = lifetimeOf(verdict);
    if (ttl < 1) return;
    const data = verdict.accepted ? { active: true, claims: verdict.claims } : { active: false, reason: verdict.reason };
    // Awaited (within the store's time limit) so that a replica asked next already finds it.
    await sharedStore.set('introspection', storeScope + key, data, Date.now() + ttl, note);
  }

  /** The store's answer when it has one, else the endpoint's, which is then shared. */
  async function decide(key: string, token: string, signal: AbortSignal, note: StoreNote | undefined): Promise<Verdict> {
    if (store) {
      const hit = await store.get('introspection', storeScope + key, fromShared, note);
      if (hit) {
        note?.('introspection answer from the shared store');
        remember(key, hit.data, hit.until);
        return hit.data;
      }
    }
    const verdict = await introspect(token, signal);
    remember(key, verdict);
    if (store) await share(store, key, verdict, note);
    return verdict;
  }

  const inflight = new Map<string, Flight>();

  function start(key: string, token: string, note: StoreNote | undefined): Flight {
    const controller = new AbortController();
    const flight: Flight = { controller, waiters: 0, settled: false, promise: undefined as unknown as Promise<Verdict> };
    flight.promise = decide(key, token, controller.signal, note)
      .finally(() => {
        flight.settled = true;
        if (inflight.get(key) === flight) inflight.delete(key);
      });
    // Waiters that gave up must not leave an unhandled rejection behind.
    flight.promise.catch(() => undefined);
    inflight.set(key, flight);
    return flight;
  }

  /**
   * Waits for a shared lookup until `signal` aborts. The request itself is cancelled only
   * when every waiter has given up, so one impatient caller cannot fail the others.
   */
  function wait(key: string, flight: Flight, signal: AbortSignal | undefined): Promise<Verdict> {
    flight.waiters++;
    if (!signal) return flight.promise;
    return new Promise<Verdict>((resolve, reject) => {
      const leave = () => {
        flight.waiters--;
        if (flight.waiters === 0 && !flight.settled) {
          if (inflight.get(key) === flight) inflight.delete(key);
          flight.controller.abort();
        }
        reject(unavailable('verification aborted', signal.reason));
      };
      if (signal.aborted) return leave();
      signal.addEventListener('abort', leave, { once: true });
      flight.promise.then(
        (verdict) => {
          signal.removeEventListener('abort', leave);
          resolve(verdict);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', leave);
          reject(error);
        },
      );
    });
  }

  function toInfo(token: string, verdict: Verdict & { accepted: true }): MultiAuthInfo {
    const info: MultiAuthInfo = {
      token,
      clientId: verdict.clientId,
      scopes: [...verdict.scopes],
      source: name,
      payload: { ...verdict.claims },
      extra: { source: name },
    };
    if (verdict.expiresAt !== undefined) info.expiresAt = verdict.expiresAt;
    if (verdict.subject !== undefined) info.subject = verdict.subject;
    if (verdict.resource) info.resource = new URL(verdict.resource.href);
    return info;
  }

  return {
    name,
    [rulesDigest]: describeRules('introspection', options as unknown as Record<string, unknown>),
    // RFC 7662 makes `exp` optional: the server's `active: true` is the verdict, asked again
    // once the verdict's cache entry (`cache.ttlMs`) is gone, so no answer is trusted for long.
    neverExpires: true,
    ...(requiredScopes ? { requiredScopes } : {}),
    async verifyAccessToken(token: string, context?: VerifyContext): Promise<MultiAuthInfo> {
      if (typeof token !== 'string' || token === '') throw new InvalidTokenError('introspection: empty token');
      const inspected = inspectionOf(token, context);
      // A JWT naming another issuer is not this server's to judge (its answer's iss would not
      // match anyway): asking would only hand another issuer's bearer token to this endpoint.
      const claimedIssuer = inspected.jwt?.payload.iss;
      if (issuer !== undefined && claimedIssuer !== undefined && claimedIssuer !== issuer) {
        throw new InvalidTokenError('introspection: the token is a JWT from another issuer');
      }
      const key = inspected.digestKey;
      const verdict =
        accepted?.get(key) ?? refused?.get(key) ?? (await wait(key, inflight.get(key) ?? start(key, token, context?.note?.bind(context)), context?.signal));
      if (!verdict.accepted) throw new InvalidTokenError(`introspection: ${verdict.reason}`);
      // A sender-constrained token (DPoP, mTLS) must not pass as bearer: only a caller that checks
      // its proof against `cnf` (multiAuth, by its binding rule) may have it.
      if (verdict.bound && context?.senderConstrained !== true) throw new InvalidTokenError('introspection: the token is sender-constrained (cnf)');
      if (validators.length > 0 && verdict.claims) await runValidators(validators, verdict.claims, {}, 'introspection: the answer\'s');
      return toInfo(token, verdict);
    },
    /**
     * For `auth.ready()`: introspects a made-up token once. Any verdict (a real server answers
     * `active: false`) shows the endpoint is there and takes our credentials; nothing is cached.
     */
    async probe({ signal }: ProbeContext): Promise<string> {
      const verdict = await introspect(`multiauth-probe-${randomBytes(16).toString('base64url')}`, signal);
      return `introspection endpoint ${endpoint.href} answered (a made-up token: ${verdict.accepted ? 'active?!' : 'not active'})`;
    },
  };
}
