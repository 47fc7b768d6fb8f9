import { MultiAuthConfigError } from '../core/errors';
import { checkScopes } from '../core/claims';
import { OFFLINE_ACCESS, ScopeHierarchy } from '../core/scopes';
import { refuseSurroundingWhitespace, refuseUnknownOptions } from '../core/options';
import { resolveDpopOptions, type DpopOptions, type ResolvedDpopOptions } from '../dpop/options';
import { resolveMtlsOptions, type MtlsOptions, type ResolvedMtlsOptions } from '../mtls/options';
import type { CacheOptions } from './result-cache';
import { toSharedStore, type KeyvLike, type SharedStore } from '../transport/shared-store';
import type { NamedSource } from './source-chain';
import { ScopeRules } from './scope-rules';
import type { Request } from 'express';
import type { AuthServer, Decision, TokenVerifier } from '../core/types';

/**
 * Options of `multiAuth()`. Checked once, at construction: an unknown option or a bad value
 * throws `MultiAuthConfigError`, so a typo stops the server from starting instead of showing
 * up as 401s.
 */
export interface MultiAuthOptions {
  /** The OAuth primary: tried first; its routes (discovery, OAuth endpoints) are mounted by the router. */
  primary?: AuthServer;
  /** Further sources, tried in order after the primary; a single one needs no array. */
  verifiers?: TokenVerifier | readonly TokenVerifier[];
  /**
   * Scopes every accepted token must carry (else 403). `undefined` inherits the primary's (none
   * without one); `[]` means none. Also advertised in `scope=` and the primary's metadata.
   * A verifier with its own `requiredScopes` replaces this list for the tokens it accepts.
   * `offline_access` is dropped: it asks for refresh tokens, it is no resource's requirement.
   */
  requiredScopes?: readonly string[];
  /**
   * Scope -> the narrower scopes it implies, transitively (MCP 2026-07-28: a server must account
   * for scope hierarchies). Every judgement of scopes (`requiredScopes`, the guards, `mcpPolicy`
   * and its `scopeChallenge`) uses the token's scopes plus what they imply; `req.auth.scopes`
   * stays what the token carries, `req.auth.effectiveScopes` holds both. A cycle is refused.
   */
  scopeHierarchy?: Readonly<Record<string, readonly string[]>>;
  /**
   * Absolute URL for `resource_metadata=` in challenges; defaults to the primary's. With a
   * primary, only the origin may differ (e.g. behind a proxy): the path must be the one it serves.
   */
  resourceMetadataUrl?: string;
  /** Default `true`. `false` lets requests without credentials through (bad credentials are still refused). */
  authRequired?: boolean;
  /** Time limit for one source on one token, in ms; a source past it has failed. Default 5,000. */
  timeoutMs?: number;
  /** Verified-result cache settings, or `false` to turn it off. On by default. */
  cache?: boolean | CacheOptions;
  /** Longest token accepted, in characters; longer ones are refused before any source runs. Default 8,192. */
  maxTokenLength?: number;
  /**
   * Called once per bearer check with the outcome, and once more when a guard or `mcpPolicy`
   * refuses a request this check let through (`outcome: 'forbidden'`, with the `rule`). The
   * second argument is the Express request (`undefined` for `auth.verify`), to join decisions
   * with request logs. Never given the token or a piece of it. What it throws becomes a process
   * warning and never changes the answer.
   */
  onDecision?: (decision: Decision, req: Request | undefined) => void;
  /**
   * Accept DPoP (RFC 9449): `Authorization: DPoP <token>` with a `DPoP` proof, checked on every
   * request, for tokens bound to the proof's key (`cnf.jkt`). `true` for the defaults. Off by
   * default: then every token with `cnf` is refused, since nothing would check its proof.
   */
  dpop?: boolean | DpopOptions;
  /**
   * Accept mTLS certificate-bound tokens (RFC 8705): a token whose source reports
   * `cnf["x5t#S256"]` only with a client certificate of that thumbprint, from the TLS connection
   * or from a trusted proxy's RFC 9440 `Client-Cert` header. `true` for the defaults. Off by
   * default: then every certificate-bound token is refused, since nothing would check it.
   */
  mtls?: boolean | MtlsOptions;
  /**
   * A Keyv-compatible store shared by every replica (e.g. `new Keyv(new KeyvRedis(url))`), or
   * `sharedStore(keyv, { timeoutMs })`. A rejection one replica learnt from a source is then
   * refused by the others without asking (for `cache.negativeTtlMs`). A store that fails or
   * hangs costs at most its `timeoutMs` (100 ms) once, then is left alone for `retryAfterMs`:
   * answers fall back to per-process state, with a note in `onDecision` and a process warning.
   */
  store?: KeyvLike | SharedStore;
}

/** `multiAuth`'s options, checked and with defaults applied. */
export interface ResolvedConfig {
  primary: AuthServer | undefined;
  sources: NamedSource[];
  requiredScopes: readonly string[];
  /** `requiredScopes`, the sources' own lists and `scopeHierarchy`, as the chain applies them. */
  scopeRules: ScopeRules;
  resourceMetadataUrl: string | undefined;
  authRequired: boolean;
  timeoutMs: number;
  cache: false | CacheOptions;
  maxTokenLength: number;
  onDecision: ((decision: Decision, req: Request | undefined) => void) | undefined;
  dpop: ResolvedDpopOptions | undefined;
  mtls: ResolvedMtlsOptions | undefined;
  store: SharedStore | undefined;
}

/** Every option `multiAuth` takes: add a new option's name here, or it is refused as a typo. */
export const MULTI_AUTH_OPTIONS: readonly string[] = [
  'primary', 'verifiers', 'requiredScopes', 'scopeHierarchy', 'resourceMetadataUrl', 'authRequired',
  'timeoutMs', 'cache', 'maxTokenLength', 'onDecision', 'dpop', 'mtls', 'store',
];
const CACHE_OPTIONS: readonly string[] = ['max', 'ttlMs', 'negativeMax', 'negativeTtlMs'];
const MAX_TIMER_MS = 2_147_483_647;

function fail(message: string): never {
  throw new MultiAuthConfigError(`multiAuth: ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function checkPositiveNumber(value: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    fail(`${what} must be a positive number${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, got ${String(value)}`);
  }
  return value;
}

function checkAbsoluteUrl(value: unknown, what: string): string {
  if (typeof value !== 'string') fail(`${what} must be an absolute http(s) URL string`);
  refuseSurroundingWhitespace('multiAuth', what, value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${what} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(`${what} must be an http(s) URL, got ${url.protocol}`);
  return url.href;
}

function checkVerifier(value: unknown, what: string): TokenVerifier {
  // An Express auth middleware (express-oauth2-jwt-bearer's auth(), passport.authenticate(...)).
  if (typeof value === 'function') {
    fail(
      `${what} is a function (an Express middleware?), not a token verifier; wrap a middleware with ` +
        `middlewareVerifier({ name, middleware }), or pass an object with a verifyAccessToken(token) method`,
    );
  }
  if (!isObject(value) || typeof value.verifyAccessToken !== 'function') {
    fail(`${what} must be a token verifier: an object with a verifyAccessToken(token) method`);
  }
  if (value.name !== undefined && (typeof value.name !== 'string' || value.name === '')) {
    fail(`${what}.name must be a non-empty string when given`);
  }
  if (value.cacheable !== undefined && typeof value.cacheable !== 'boolean') fail(`${what}.cacheable must be true or false when given`);
  return value as unknown as TokenVerifier;
}

/** A scope list as enforced: checked, without duplicates, without `offline_access`. */
function requiredList(value: unknown, what: string): readonly string[] {
  return Object.freeze(checkScopes(value, what).filter((scope) => scope !== OFFLINE_ACCESS));
}

function checkCache(value: unknown): false | CacheOptions {
  if (value === undefined) return {};
  if (value === false) return false;
  if (value === true) return {};
  if (!isObject(value)) fail('cache must be true, false or an object { max, ttlMs, negativeMax, negativeTtlMs }');
  refuseUnknownOptions('multiAuth', value, CACHE_OPTIONS, 'cache');
  for (const key of ['max', 'ttlMs', 'negativeTtlMs', 'negativeMax'] as const) {
    const n = value[key];
    if (n === undefined || (key === 'negativeMax' && n === 0)) continue;
    if (!Number.isSafeInteger(n) || (n as number) <= 0) fail(`cache.${key} must be a positive whole number, got ${String(n)}`);
  }
  return value as CacheOptions;
}

/** DPoP's replay memory is shared through multiAuth's `store` unless `dpop.store` names another. */
function withReplayStore(dpop: ResolvedDpopOptions | undefined, store: SharedStore | undefined): ResolvedDpopOptions | undefined {
  return dpop && dpop.store === undefined && store ? { ...dpop, store } : dpop;
}

/**
 * Validates `multiAuth`'s options once, up front, with messages that say what to fix, and
 * applies the defaults: a mistake here should stop the server from starting, not surface
 * as a 401 in production.
 */
export function resolveConfig(options: MultiAuthOptions): ResolvedConfig {
  if (!isObject(options)) fail('options must be an object such as { primary, verifiers, requiredScopes }');
  refuseUnknownOptions('multiAuth', options, MULTI_AUTH_OPTIONS);

  const sources: NamedSource[] = [];
  let primary: AuthServer | undefined;
  if (options.primary !== undefined) {
    primary = checkVerifier(options.primary, 'primary') as AuthServer;
    if (typeof primary.routes !== 'function') {
      fail('primary must be an AuthServer with a routes() method (e.g. remoteAuthServer(...)); pass plain token verifiers in `verifiers`');
    }
    sources.push({ name: primary.name ?? 'primary', verifier: primary });
  }

  const rawVerifiers = options.verifiers;
  const verifiers = rawVerifiers === undefined ? [] : Array.isArray(rawVerifiers) ? rawVerifiers : [rawVerifiers];
  verifiers.forEach((v, index) => {
    const verifier = checkVerifier(v, `verifiers[${index}]`);
    // Among verifiers its routes would never be mounted: no metadata for clients to find, and
    // challenges without resource_metadata.
    if (typeof (verifier as Partial<AuthServer>).routes === 'function') {
      fail(
        `verifiers[${index}]${verifier.name ? ` ("${verifier.name}")` : ''} is a primary (it serves routes, e.g. remoteAuthServer or oauthServer); ` +
          'pass it as `primary`, where its metadata is served, or pass a plain verifier (e.g. jwtVerifier) among `verifiers`',
      );
    }
    sources.push({ name: verifier.name ?? `verifier-${index}`, verifier });
  });
  if (sources.length === 0) fail('give a primary or at least one verifier; with no source no token can be accepted');

  const seen = new Set<string>();
  for (const { name } of sources) {
    if (seen.has(name)) fail(`two sources are named "${name}"; give each source a distinct name so req.auth.source is unambiguous`);
    seen.add(name);
  }

  let requiredScopes: readonly string[];
  if (options.requiredScopes !== undefined) requiredScopes = requiredList(options.requiredScopes, 'requiredScopes');
  else if (primary?.requiredScopes !== undefined) requiredScopes = requiredList(primary.requiredScopes, 'primary.requiredScopes');
  else requiredScopes = Object.freeze([]);

  // A verifier's own list (e.g. a CI key with its own vocabulary) replaces the router's for its
  // tokens. The primary's `requiredScopes` is what the router inherits, so it needs no entry.
  const sourceScopes = new Map<string, readonly string[]>();
  verifiers.forEach((verifier, index) => {
    const own = (verifier as { requiredScopes?: unknown }).requiredScopes;
    if (own !== undefined) sourceScopes.set(sources[index + (primary ? 1 : 0)].name, requiredList(own, `verifiers[${index}].requiredScopes`));
  });
  const scopeHierarchy = ScopeHierarchy.from(options.scopeHierarchy, 'scopeHierarchy');

  let resourceMetadataUrl: string | undefined;
  const primaryUrl = primary?.resourceMetadataUrl !== undefined
    ? checkAbsoluteUrl(primary.resourceMetadataUrl, 'primary.resourceMetadataUrl')
    : undefined;
  if (options.resourceMetadataUrl !== undefined) {
    resourceMetadataUrl = checkAbsoluteUrl(options.resourceMetadataUrl, 'resourceMetadataUrl');
    // Behind a proxy the public origin may differ, but the path must be the one the primary serves,
    // or clients following the challenge would find nothing.
    if (primaryUrl && new URL(primaryUrl).pathname !== new URL(resourceMetadataUrl).pathname) {
      fail(`resourceMetadataUrl ${resourceMetadataUrl} names a path the primary does not serve; it serves its metadata at ${primaryUrl}`);
    }
  } else {
    resourceMetadataUrl = primaryUrl;
  }

  if (options.authRequired !== undefined && typeof options.authRequired !== 'boolean') fail('authRequired must be true or false');
  if (options.onDecision !== undefined && typeof options.onDecision !== 'function') fail('onDecision must be a function');
  const store = toSharedStore(options.store, 'multiAuth');
  const cache = checkCache(options.cache);
  if (store && (cache === false || cache.negativeMax === 0)) {
    // The store shares what the rejection cache remembers; with that off it would hold nothing.
    fail(
      `store shares rejections through the rejection cache, which is off (${cache === false ? 'cache: false' : 'cache.negativeMax: 0'}); ` +
        'turn the cache on, or leave store out (for DPoP replay memory alone, pass it as dpop.store)',
    );
  }

  return {
    primary,
    sources,
    requiredScopes,
    scopeRules: new ScopeRules(requiredScopes, sourceScopes, scopeHierarchy),
    resourceMetadataUrl,
    authRequired: options.authRequired ?? true,
    timeoutMs: options.timeoutMs === undefined ? 5_000 : checkPositiveNumber(options.timeoutMs, 'timeoutMs', MAX_TIMER_MS),
    cache,
    maxTokenLength: options.maxTokenLength === undefined ? 8_192 : Math.floor(checkPositiveNumber(options.maxTokenLength, 'maxTokenLength')),
    onDecision: options.onDecision as ResolvedConfig['onDecision'],
    mtls: resolveMtlsOptions(options.mtls, sources.map((s) => s.name)),
    dpop: withReplayStore(
      resolveDpopOptions(options.dpop, sources.map((s) => s.name), primaryUrl === undefined ? undefined : new URL(primaryUrl).origin),
      store,
    ),
    store,
  };
}
