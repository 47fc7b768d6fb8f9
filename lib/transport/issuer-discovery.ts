import { boundedFetch, BoundedFetchError } from './bounded-fetch';
import { MultiAuthConfigError, TemporarilyUnavailableError } from '../core/errors';
import { shown } from '../core/redaction';

/** Larger answers are abandoned: a metadata document or a JWKS is a few kilobytes. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
export const DEFAULT_FETCH_TIMEOUT_MS = 5_000;
export const DEFAULT_DISCOVERY_MAX_AGE_MS = 60 * 60 * 1000;
export const DEFAULT_FAILURE_BACKOFF_MS = 1_000;

/**
 * An authorization server's metadata (RFC 8414 / OpenID Connect Discovery). Only `issuer` is
 * guaranteed; it equals the issuer it was discovered for.
 */
export interface AuthorizationServerMetadata {
  /** The issuer identifier: exactly the one discovery was asked for (RFC 8414 §3.3). */
  readonly issuer: string;
  /** Where the server publishes its signing keys (JWKS), when it says. */
  readonly jwks_uri?: string;
  /** Any other member, as the server sent it. */
  readonly [member: string]: unknown;
}

/** Options of `discoverAuthorizationServer()`. */
export interface DiscoveryOptions {
  /** Abandons the discovery early (e.g. the chain's per-source time limit). */
  signal?: AbortSignal;
  /** Time limit for the whole discovery, every candidate URL included, in ms. Default 5000. */
  timeoutMs?: number;
  /** Permit `http:` issuers on hosts other than loopback. Default `false`. */
  allowHttp?: boolean;
}

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * What is wrong with a URL this package would fetch from, or `undefined` when nothing is.
 * Plain `http:` is only for loopback hosts (unless allowed): keys fetched over it can be
 * swapped by anyone on the path, which makes every signature check worthless.
 */
export function remoteUrlProblem(value: unknown, options: { allowHttp?: boolean } = {}): string | undefined {
  if (typeof value !== 'string' && !(value instanceof URL)) return 'must be an absolute https URL';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute https URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must be an https URL, not ${url.protocol}`;
  if (url.protocol === 'http:' && !options.allowHttp && !LOOPBACK_HOST.test(url.hostname)) {
    return 'must use https (plain http is only accepted for localhost, or with allowHttp: true)';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (url.hash) return 'must not contain a fragment';
  return undefined;
}

/** {@link remoteUrlProblem}, plus RFC 8414 §2: an issuer identifier has no query. */
export function issuerUrlProblem(issuer: unknown, options: { allowHttp?: boolean } = {}): string | undefined {
  const problem = remoteUrlProblem(issuer, options);
  if (problem) return problem;
  if (new URL(issuer as string).search) return 'must not contain a query (RFC 8414)';
  return undefined;
}

/**
 * Where an issuer's metadata may live, in the order they are tried. For an issuer with a path
 * (`https://a.example/tenant`) the well-known segment goes between host and path, as RFC 8414
 * §3.1 says, and the OpenID forms follow (inserted, then appended, the order the MCP
 * authorization spec uses); without a path there are just the two root documents.
 */
export function discoveryUrls(issuer: string): URL[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  if (!path) {
    return [
      new URL('/.well-known/oauth-authorization-server', url.origin),
      new URL('/.well-known/openid-configuration', url.origin),
    ];
  }
  return [
    new URL(`/.well-known/oauth-authorization-server${path}`, url.origin),
    new URL(`/.well-known/openid-configuration${path}`, url.origin),
    new URL(`${path}/.well-known/openid-configuration`, url.origin),
  ];
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Fetches an issuer's metadata once, without caching: RFC 8414 first, then OpenID Connect
 * Discovery, path-aware (`discoveryUrls`: for `https://a.example/tenant`, first
 * `/.well-known/oauth-authorization-server/tenant`). The document's `issuer` must equal
 * `issuer` exactly (RFC 8414 §3.3), otherwise its `jwks_uri` could hand key selection to
 * someone else.
 *
 * Rejects with a `TemporarilyUnavailableError` when no candidate yields a matching document:
 * unreachable host, time limit, non-200, answer too large or not JSON. Redirects are not
 * followed. An issuer that is not a fetchable URL is a `MultiAuthConfigError`.
 *
 * @example
 * const metadata = await discoverAuthorizationServer('https://login.example.com/tenant', { timeoutMs: 3000 });
 * console.log(metadata.jwks_uri);
 */
export async function discoverAuthorizationServer(
  issuer: string,
  options: DiscoveryOptions = {},
): Promise<AuthorizationServerMetadata> {
  const problem = issuerUrlProblem(issuer, options);
  if (problem) throw new MultiAuthConfigError(`issuer "${issuer}" ${problem}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  // One budget for every candidate: a slow server must not get a fresh time limit per URL.
  const deadline = Date.now() + timeoutMs;
  const misses: string[] = [];
  /** The `issuer` a document named instead, when one did: most likely the spelling to configure. */
  let namedIssuer: string | undefined;
  // Whether every candidate answered, and wrongly: then the issuer has no (matching) metadata,
  // which no retry will change. A 5xx, 408 or 429 may pass.
  let permanent = true;

  for (const url of discoveryUrls(issuer)) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new TemporarilyUnavailableError(`discovery for ${issuer} timed out after ${timeoutMs} ms`);
    }
    let answer;
    try {
      answer = await boundedFetch(url, {
        headers: { accept: 'application/json' },
        timeoutMs: remaining,
        maxBytes: MAX_DOCUMENT_BYTES,
        signal: options.signal,
      });
    } catch (error) {
      // Unreachable or slow host: another path on the same host would only repeat the wait.
      const reason = error instanceof BoundedFetchError ? error.message : String(error);
      throw new TemporarilyUnavailableError(`discovery for ${issuer} failed at ${url.href}: ${reason}`, {
        cause: error,
      });
    }
    if (answer.status !== 200) {
      if (answer.status >= 500 || answer.status === 408 || answer.status === 429) permanent = false;
      misses.push(`${url.pathname}: HTTP ${answer.status}`);
      continue;
    }
    let document: unknown;
    try {
      document = JSON.parse(answer.body.toString('utf8'));
    } catch {
      misses.push(`${url.pathname}: not JSON`);
      continue;
    }
    if (!isJsonObject(document)) {
      misses.push(`${url.pathname}: not a JSON object`);
      continue;
    }
    if (document.issuer !== issuer) {
      misses.push(`${url.pathname}: its "issuer" does not match`);
      if (typeof document.issuer === 'string') namedIssuer ??= document.issuer;
      continue;
    }
    return Object.freeze(document) as AuthorizationServerMetadata;
  }
  if (namedIssuer !== undefined) {
    // RFC 8414 §3.3: the document is unusable, but it says how the server spells its name, which
    // differs from the configuration by a trailing slash or a scheme far more often than not.
    throw new TemporarilyUnavailableError(
      `the metadata found for ${issuer} says its "issuer" is ${shown(namedIssuer)}; issuer identifiers must match exactly (RFC 8414 §3.3). ` +
        `If that server is the issuer you trust, set issuer: ${shown(namedIssuer)} (${misses.join('; ')})`,
      { permanent },
    );
  }
  throw new TemporarilyUnavailableError(`no metadata document for ${issuer} (${misses.join('; ')})`, { permanent });
}

export interface DiscoveryCacheOptions {
  /** How long a document is used before it is fetched again. Default one hour. */
  maxAgeMs?: number;
  /**
   * After a failed fetch, how long callers get that failure (or the previous document, if
   * there is one) without a new request. Default 1000.
   */
  failureBackoffMs?: number;
  /** Time limit for one discovery. Default 5000. */
  timeoutMs?: number;
  /** Permit `http:` issuers on hosts other than loopback. Default `false`. */
  allowHttp?: boolean;
}

interface CacheEntry {
  document?: AuthorizationServerMetadata;
  expiresAt: number;
  pending?: Promise<AuthorizationServerMetadata>;
  failedUntil: number;
  failure?: TemporarilyUnavailableError;
}

/**
 * Settles with `promise`, or rejects as soon as `signal` aborts. The work behind `promise` goes
 * on, because other callers may share it and its result is worth caching.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abortedError(): TemporarilyUnavailableError {
  return new TemporarilyUnavailableError('time limit reached before the key server answered');
}

/**
 * Issuer metadata, fetched lazily and at most once at a time per issuer: concurrent callers
 * share one request. A failure is remembered only for `failureBackoffMs`, and a refresh that
 * fails keeps serving the previous document meanwhile, since metadata rarely changes and a
 * blip at the authorization server should not turn every request into a 503.
 *
 * Keyed by issuer without a bound: give it configured issuers only, never one taken from a token.
 *
 * @example
 * const discovery = new DiscoveryCache({ maxAgeMs: 15 * 60_000 });
 * const { jwks_uri } = await discovery.get('https://login.example.com', { signal });
 */
export class DiscoveryCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly maxAgeMs: number;
  private readonly failureBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly allowHttp: boolean;

  constructor(options: DiscoveryCacheOptions = {}) {
    this.maxAgeMs = nonNegative(options.maxAgeMs, DEFAULT_DISCOVERY_MAX_AGE_MS, 'maxAgeMs');
    this.failureBackoffMs = nonNegative(options.failureBackoffMs, DEFAULT_FAILURE_BACKOFF_MS, 'failureBackoffMs');
    this.timeoutMs = nonNegative(options.timeoutMs, DEFAULT_FETCH_TIMEOUT_MS, 'timeoutMs');
    this.allowHttp = options.allowHttp === true;
  }

  /** The issuer's metadata; rejects with a `TemporarilyUnavailableError` when it cannot be had. */
  get(issuer: string, options: { signal?: AbortSignal } = {}): Promise<AuthorizationServerMetadata> {
    const now = Date.now();
    let entry = this.entries.get(issuer);
    if (entry?.document && now < entry.expiresAt) return Promise.resolve(entry.document);
    if (entry && now < entry.failedUntil) {
      if (entry.document) return Promise.resolve(entry.document);
      // A fresh error per caller: whoever receives it may annotate it.
      return Promise.reject(
        new TemporarilyUnavailableError(entry.failure?.message, { cause: entry.failure, permanent: entry.failure?.permanent === true }),
      );
    }
    if (!entry) this.entries.set(issuer, (entry = { expiresAt: 0, failedUntil: 0 }));
    entry.pending ??= this.refresh(issuer, entry);
    return untilAborted(entry.pending, options.signal);
  }

  /** Forgets every document and failure. */
  clear(): void {
    this.entries.clear();
  }

  private async refresh(issuer: string, entry: CacheEntry): Promise<AuthorizationServerMetadata> {
    try {
      // Not the caller's signal: the request is shared, and one caller giving up must not fail the rest.
      const document = await discoverAuthorizationServer(issuer, { timeoutMs: this.timeoutMs, allowHttp: this.allowHttp });
      entry.document = document;
      entry.expiresAt = Date.now() + this.maxAgeMs;
      entry.failedUntil = 0;
      entry.failure = undefined;
      return document;
    } catch (error) {
      const failure =
        error instanceof TemporarilyUnavailableError
          ? error
          : new TemporarilyUnavailableError(`discovery for ${issuer} failed`, { cause: error });
      entry.failedUntil = Date.now() + this.failureBackoffMs;
      entry.failure = failure;
      if (entry.document) return entry.document;
      throw failure;
    } finally {
      entry.pending = undefined;
    }
  }
}

function nonNegative(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new MultiAuthConfigError(`DiscoveryCache: ${option} must be a non-negative number of milliseconds`);
  }
  return value;
}
