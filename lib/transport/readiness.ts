import { boundedFetch, BoundedFetchError } from './bounded-fetch';
import { discoverAuthorizationServer, MAX_DOCUMENT_BYTES, remoteUrlProblem } from './issuer-discovery';
import { TemporarilyUnavailableError } from '../core/errors';

/**
 * Checks for `auth.ready()`: is the key server, or the issuer's metadata, what the configuration
 * says it is? Each check asks once, caches nothing, and sorts what it finds into a configuration
 * mistake (`permanent`: a 404, a discovery document where a JWK Set belongs, an issuer without
 * metadata) or an outage (network, time limit, 5xx), because the first needs the operator and
 * the second only time. The request path keeps its own fetching and caching; these checks only
 * explain.
 */

/** Time limit and cancellation of one check. */
export interface CheckOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Permit plain `http:` on hosts other than loopback, as the source does. */
  allowHttp?: boolean;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function misconfigured(message: string): TemporarilyUnavailableError {
  return new TemporarilyUnavailableError(message, { permanent: true });
}

/** 5xx, 408 and 429 are the server's passing trouble; any other status is an answer that will not change. */
function passingStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * Fetches `url` once and checks it is a JWK Set with at least one key. Resolves a description
 * (`JWKS <url>: 2 keys`); rejects with a `TemporarilyUnavailableError`, `permanent` for what
 * configuration must fix.
 *
 * @example
 * await checkJwks('https://login.example.com/.well-known/jwks.json', { timeoutMs: 5000 });
 * // 'JWKS https://login.example.com/.well-known/jwks.json: 2 keys'
 */
export async function checkJwks(url: string, options: CheckOptions): Promise<string> {
  let answer;
  try {
    answer = await boundedFetch(url, {
      headers: { accept: 'application/json' },
      timeoutMs: options.timeoutMs,
      maxBytes: MAX_DOCUMENT_BYTES,
      signal: options.signal,
    });
  } catch (error) {
    const reason = error instanceof BoundedFetchError ? error.message : String(error);
    throw new TemporarilyUnavailableError(`the key server at ${url} could not be reached: ${reason}`, { cause: error });
  }
  if (answer.status !== 200) {
    const message = `the key server answered HTTP ${answer.status} at ${url}`;
    if (passingStatus(answer.status)) throw new TemporarilyUnavailableError(message);
    throw misconfigured(`${message}${answer.status === 404 ? '; is jwksUri right?' : ''}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body.toString('utf8'));
  } catch {
    throw misconfigured(`${url} answered something that is not JSON, where a JWK Set belongs`);
  }
  if (isJsonObject(body) && !('keys' in body) && ('issuer' in body || 'jwks_uri' in body)) {
    const where = typeof body.jwks_uri === 'string' ? `; its jwks_uri is ${body.jwks_uri}: give that as jwksUri, or leave jwksUri out to use discovery` : '';
    throw misconfigured(`${url} answered a discovery document, not a JWK Set${where}`);
  }
  if (!isJsonObject(body) || !Array.isArray(body.keys) || !body.keys.every(isJsonObject)) {
    throw misconfigured(`${url} answered JSON that is not a JWK Set`);
  }
  if (body.keys.length === 0) throw misconfigured(`the JWK Set at ${url} has no keys`);
  return `JWKS ${url}: ${body.keys.length} key${body.keys.length === 1 ? '' : 's'}`;
}

/**
 * Discovers `issuer`'s metadata (RFC 8414, then OpenID) and checks the JWK Set its `jwks_uri`
 * names, as a `jwtVerifier` without `jwksUri` will on first use.
 *
 * @example
 * await checkIssuerKeys('https://login.example.com', { timeoutMs: 5000 });
 * // 'metadata of https://login.example.com; JWKS https://login.example.com/jwks: 2 keys'
 */
export async function checkIssuerKeys(issuer: string, options: CheckOptions): Promise<string> {
  const metadata = await discoverAuthorizationServer(issuer, options);
  const jwksUri = metadata.jwks_uri;
  const problem = remoteUrlProblem(jwksUri, options);
  if (typeof jwksUri !== 'string' || problem) {
    throw misconfigured(`the metadata of ${issuer} has no usable jwks_uri${typeof jwksUri === 'string' ? ` (it ${problem})` : ''}`);
  }
  return `metadata of ${issuer}; ${await checkJwks(jwksUri, options)}`;
}
