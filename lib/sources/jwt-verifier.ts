// lib/sources/: the token verifiers, one file each, none knowing the others: JWTs (jose decides),
// RFC 7662 introspection, static API keys, a wrapped Express auth middleware. A source answers
// one question, "is this token mine and valid?". May import core/, transport/ and http/; never
// the chain or a primary.

import { createPublicKey } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors as joseErrors,
  jwtVerify,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  type RemoteJWKSet,
} from 'jose';
import type { PublicJwk, PublicJwkSet } from '../core/jwk';
import { boundedFetch, BoundedFetchError } from '../transport/bounded-fetch';
import { firstString, isNonEmptyString, scopeList } from '../core/claims';
import { InvalidTokenError, MultiAuthConfigError, MultiAuthError, TemporarilyUnavailableError } from '../core/errors';
import {
  DEFAULT_FAILURE_BACKOFF_MS,
  DEFAULT_FETCH_TIMEOUT_MS,
  DiscoveryCache,
  issuerUrlProblem,
  MAX_DOCUMENT_BYTES,
  remoteUrlProblem,
  untilAborted,
} from '../transport/issuer-discovery';
import { checkIssuerKeys, checkJwks } from '../transport/readiness';
import { ApprovedIssuers, DEFAULT_MAX_ISSUERS, type IssuerResolver } from './issuer-resolver';
import { compileValidators, runValidators, type ClaimValidators } from './claim-validators';
import { inspectionOf } from '../core/token-inspection';
import { describeRules, rulesDigest } from '../core/rules';
import { refuseSurroundingWhitespace, refuseUnknownOptions } from '../core/options';
import { sourceRequiredScopes } from '../core/scopes';
import { diagnoseRefusal, notMine, whyNotMine } from '../core/types';
import { jwtNearMisses } from './near-miss';
import { shown } from '../core/redaction';
import type { InspectedToken, MultiAuthInfo, ProbeContext, TokenVerifier, VerifyContext } from '../core/types';

/** The JWS algorithms this verifier knows. `none` is not one of them, and never will be. */
export type JwtAlgorithm =
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA' | 'Ed25519'
  | 'HS256' | 'HS384' | 'HS512';

const RSA_ALGORITHMS: readonly JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC_ALGORITHM_BY_CURVE: Readonly<Record<string, JwtAlgorithm>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };
const EDDSA_ALGORITHMS: readonly JwtAlgorithm[] = ['EdDSA', 'Ed25519'];
const ASYMMETRIC_ALGORITHMS: readonly JwtAlgorithm[] = [...RSA_ALGORITHMS, 'ES256', 'ES384', 'ES512', ...EDDSA_ALGORITHMS];
/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };
const HMAC_ALGORITHMS = Object.keys(HMAC_MIN_BYTES) as JwtAlgorithm[];
const KNOWN_ALGORITHMS = new Set<string>([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS]);
/** Members that only a private or symmetric JWK has. */
const SECRET_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];

/** Every option `jwtVerifier` takes: add a new option's name here, or it is refused as a typo. */
const JWT_VERIFIER_OPTIONS: readonly string[] = [
  'name', 'issuer', 'audience', 'jwksUri', 'publicKey', 'secret', 'algorithms', 'clockTolerance', 'maxTokenAge',
  'typ', 'requiredClaims', 'scopeClaim', 'clientIdClaim', 'requiredScopes', 'jwks', 'allowHttp', 'validators', 'maxIssuers',
];
const JWKS_OPTIONS: readonly string[] = ['timeoutMs', 'cooldownMs', 'cacheMaxAgeMs', 'failureBackoffMs'];

const DEFAULT_CLOCK_TOLERANCE_S = 5;
const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
const DEFAULT_JWKS_CACHE_MAX_AGE_MS = 600_000;

/** How keys are fetched from a JWKS URI (configured, or found through discovery). */
export interface JwksFetchOptions {
  /** Time limit for one JWKS request, and for one discovery. Milliseconds, default 5000. */
  timeoutMs?: number;
  /**
   * After a successful fetch, how long a token naming an unknown `kid` is rejected without
   * fetching again. Bounds what a flood of made-up key ids can cost. Milliseconds, default 30000.
   */
  cooldownMs?: number;
  /** Keys older than this are fetched again before use. Milliseconds, default 600000 (10 min). */
  cacheMaxAgeMs?: number;
  /**
   * After a failed fetch (key server down, slow, answering garbage), how long verifications fail
   * at once instead of asking again. Milliseconds, default 1000; 0 retries every time.
   */
  failureBackoffMs?: number;
}

/** Options of `jwtVerifier()`. Only `issuer` and `audience` are required; the rest have safe defaults. */
export interface JwtVerifierOptions {
  /** Source name reported in `req.auth.source` and `onDecision`. Default `'jwt'`. */
  name?: string;
  /**
   * Accepted `iss` value(s). Tokens naming any other issuer are rejected before any key work.
   * Or a resolver (multi-tenant): given the token's unverified `iss`, claims, header and the
   * request, it returns the issuers this token may come from, as strings (keys from this
   * verifier's `jwksUri`/`publicKey`/`secret`, else each issuer's discovery) or as
   * `IssuerConfig`s with keys of their own, validated when returned. An issuer is contacted only
   * after the resolver approved it; a resolver that throws is a failure (503).
   */
  issuer: string | readonly string[] | IssuerResolver;
  /**
   * With a resolver as `issuer`: how many approved issuers' keys (and metadata) are remembered,
   * least recently used first out. Default 100.
   */
  maxIssuers?: number;
  /**
   * Checks of your own, run after jose verified the token: claim name -> a function
   * `(value, claims, header) => boolean | Promise<boolean>` or the value the claim must equal.
   * `alg` and `typ` are read from the header. They only add checks (none of jose's or this
   * package's can be turned off; `false` is refused); a refusal is a rejection whose reason
   * names the claim.
   */
  validators?: ClaimValidators;
  /**
   * Accepted `aud` value(s): the identifier(s) of this API. Required, because it is what stops a
   * token minted for another service from being replayed here.
   */
  audience: string | readonly string[];
  /**
   * Where the issuer publishes its keys (https, unless loopback or `allowHttp`). Give at most
   * one of `jwksUri`, `publicKey` and `secret`; with none, the JWKS URI comes from each issuer's
   * metadata (RFC 8414, then OpenID Connect Discovery, path-aware), fetched on first use. Keys
   * are chosen by the token's `kid` and `alg`; a token without `kid` must match exactly one key
   * of the set.
   */
  jwksUri?: string | URL;
  /**
   * The verification key(s): an SPKI PEM (`-----BEGIN PUBLIC KEY-----`), a public JWK, or a JWKS.
   * A single key is used whatever `kid` the token names; a JWKS is searched by `kid` and `alg`.
   */
  publicKey?: string | PublicJwk | PublicJwkSet;
  /** Shared secret for HS256/HS384/HS512; at least 32 bytes (48 for HS384, 64 for HS512). */
  secret?: string | Uint8Array;
  /**
   * Accepted `alg` values. Default: every asymmetric algorithm the key(s) can verify (RS*, PS*,
   * ES*, EdDSA/Ed25519), or HS256/384/512 with `secret`. HS* and asymmetric algorithms never mix.
   */
  algorithms?: readonly JwtAlgorithm[];
  /** Leeway for `exp`, `nbf` and `iat`: seconds, or a duration such as `'30s'`. Default 5. */
  clockTolerance?: number | string;
  /** Oldest acceptable `iat`: seconds, or a duration such as `'1h'`. Makes `iat` required. */
  maxTokenAge?: number | string;
  /** Required `typ` header, e.g. `'at+jwt'` for RFC 9068 access tokens (`application/` prefix optional). */
  typ?: string;
  /** Claims that must be present, in addition to `iss`, `aud` and `exp` (always required). */
  requiredClaims?: readonly string[];
  /**
   * Claim holding the scopes, as a space-separated string or an array (e.g. Auth0's
   * `'permissions'`). Default: `scope`, else `scp`.
   */
  scopeClaim?: string;
  /** Claim holding the client id. Default: `client_id`, else `azp`, else `sub`. */
  clientIdClaim?: string;
  /** Limits for key and discovery fetching; ignored with `publicKey` or `secret`. */
  jwks?: JwksFetchOptions;
  /**
   * Accept plain `http:` JWKS and discovery URLs on hosts other than loopback. Keys fetched over
   * plain HTTP can be replaced by anyone on the network path. Default `false`.
   */
  allowHttp?: boolean;
  /**
   * Scopes this source's tokens must carry, replacing `multiAuth`'s `requiredScopes` for the
   * tokens it accepts (e.g. machine keys with their own vocabulary). Default: the router's.
   */
  requiredScopes?: readonly string[];
}

/**
 * Finds the key for a token. `signal` is a getter: making the chain's AbortSignal costs more than
 * a cached key lookup, so it is asked for only when a fetch may happen.
 */
type KeyResolver = ((
  issuer: string,
  header: JWSHeaderParameters,
  input: FlattenedJWSInput,
  signal: () => AbortSignal | undefined,
) => Promise<CryptoKey>) & {
  /** The keys fetched for `issuer` so far, without fetching (remote key sets only). */
  cachedKeys?(issuer: string): readonly JWK[] | undefined;
  /** Refetches `issuer`'s key set unless jose's cooldown forbids it; `true` when it did. */
  refetch?(issuer: string, signal: () => AbortSignal | undefined): Promise<boolean>;
};

function configError(message: string): MultiAuthConfigError {
  return new MultiAuthConfigError(`jwtVerifier: ${message}`);
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, option: string): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? [...value] : undefined;
  if (!list || list.length === 0 || !list.every(isNonEmptyString)) {
    throw configError(`${option} is required: a non-empty string or a non-empty array of strings`);
  }
  for (const value of list) refuseSurroundingWhitespace('jwtVerifier', option, value);
  return list;
}

const DURATION = /^(\d+(?:\.\d+)?) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)$/i;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31557600 };

/** Turns a duration option into seconds now, so a typo fails at startup rather than per token. */
function durationSeconds(value: unknown, option: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const match = typeof value === 'string' ? DURATION.exec(value.trim()) : null;
  if (!match) throw configError(`${option} must be a non-negative number of seconds or a duration like "30s", "5m", "1h"`);
  return Math.round(parseFloat(match[1]) * UNIT_SECONDS[match[2][0].toLowerCase()]);
}

function milliseconds(value: unknown, fallback: number, option: string, integer = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (integer && !Number.isInteger(value))) {
    throw configError(`jwks.${option} must be a non-negative ${integer ? 'integer' : 'number'} of milliseconds`);
  }
  return value;
}

/**
 * The algorithms a public JWK can verify, `[]` when it is not a signature key we support.
 * Throws for what is never right in a verification key: secret material.
 */
function jwkAlgorithms(jwk: Record<string, unknown>, where: string): JwtAlgorithm[] {
  if (jwk.kty === 'oct') throw configError(`${where} is a symmetric key; pass it as \`secret\` instead`);
  const secretMember = SECRET_JWK_MEMBERS.find((member) => member in jwk);
  if (secretMember) {
    throw configError(`${where} contains private key material ("${secretMember}"); pass the public key only`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return [];
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return [];
  let family: readonly JwtAlgorithm[];
  if (jwk.kty === 'RSA') family = RSA_ALGORITHMS;
  else if (jwk.kty === 'EC') family = typeof jwk.crv === 'string' && EC_ALGORITHM_BY_CURVE[jwk.crv] ? [EC_ALGORITHM_BY_CURVE[jwk.crv]] : [];
  else if (jwk.kty === 'OKP') family = jwk.crv === 'Ed25519' ? EDDSA_ALGORITHMS : [];
  else family = [];
  if (family.length === 0) return [];
  // Node parses the key now so that a truncated or mistyped key fails at startup, not per token.
  let details;
  try {
    details = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).asymmetricKeyDetails;
  } catch (error) {
    throw configError(`${where} is not a valid public JWK (${(error as Error).message})`);
  }
  if (jwk.kty === 'RSA' && (details?.modulusLength ?? 0) < 2048) {
    throw configError(`${where} is an RSA key shorter than 2048 bits, which JWS forbids`);
  }
  return jwk.alg === undefined ? [...family] : family.filter((alg) => alg === jwk.alg);
}

function pemToJwk(pem: string): JWK {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw configError('publicKey is a private key; pass the public key only ("-----BEGIN PUBLIC KEY-----")');
  }
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw configError(
      'publicKey must be an SPKI PEM ("-----BEGIN PUBLIC KEY-----"), a JWK or a JWKS; ' +
        'convert other PEMs with `openssl pkey -pubin -pubout` or `openssl x509 -pubkey -noout`',
    );
  }
  try {
    return createPublicKey({ key: pem, format: 'pem' }).export({ format: 'jwk' }) as JWK;
  } catch (error) {
    throw configError(`publicKey is not a usable SPKI PEM public key (${(error as Error).message})`);
  }
}

/** Parses `publicKey` into a JWKS plus the algorithms its keys can verify. */
function readPublicKey(publicKey: unknown): { jwks: JSONWebKeySet; single: boolean; algorithms: Set<JwtAlgorithm> } {
  if (typeof publicKey === 'string') {
    const jwk = pemToJwk(publicKey);
    const algorithms = jwkAlgorithms(jwk as Record<string, unknown>, 'publicKey');
    if (algorithms.length === 0) throw configError('publicKey is of a type no supported JWS algorithm uses');
    return { jwks: { keys: [jwk] }, single: true, algorithms: new Set(algorithms) };
  }
  if (isJsonObject(publicKey) && Array.isArray(publicKey.keys)) {
    const keys: JWK[] = [];
    const algorithms = new Set<JwtAlgorithm>();
    publicKey.keys.forEach((jwk: unknown, index: number) => {
      if (!isJsonObject(jwk)) throw configError(`publicKey.keys[${index}] is not a JWK object`);
      const usable = jwkAlgorithms(jwk, `publicKey.keys[${index}]`);
      // Published sets often carry encryption keys too; those are skipped, not an error.
      if (usable.length > 0) keys.push({ ...jwk } as JWK);
      for (const alg of usable) algorithms.add(alg);
    });
    if (keys.length === 0) throw configError('publicKey (a JWKS) holds no signature-verification key of a supported type');
    return { jwks: { keys }, single: false, algorithms };
  }
  if (isJsonObject(publicKey) && typeof publicKey.kty === 'string') {
    const algorithms = jwkAlgorithms(publicKey, 'publicKey');
    if (algorithms.length === 0) {
      throw configError('publicKey (a JWK) cannot verify signatures: unsupported kty/crv, or its use/key_ops exclude it');
    }
    return { jwks: { keys: [{ ...publicKey } as JWK] }, single: true, algorithms: new Set(algorithms) };
  }
  throw configError('publicKey must be an SPKI PEM string, a public JWK object or a JWKS ({ keys: [...] })');
}

function readSecret(secret: unknown): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer>;
  if (typeof secret === 'string') bytes = new TextEncoder().encode(secret);
  else if (secret instanceof Uint8Array) bytes = new Uint8Array(secret);
  else throw configError('secret must be a string or a Uint8Array');
  if (bytes.byteLength < HMAC_MIN_BYTES.HS256) {
    throw configError(`secret is ${bytes.byteLength} bytes; HMAC keys must be at least 32 bytes (RFC 7518 §3.2)`);
  }
  const form = publicKeyForm(bytes);
  if (form) {
    throw configError(`secret is ${form}, a public key: anyone holding it could mint tokens with it as an HMAC key; pass it as \`publicKey\` instead`);
  }
  return bytes;
}

/** What public-key form `bytes` is in (PEM, JWK, JWKS, SSH, base64 DER), or `undefined` for a plain secret. */
function publicKeyForm(bytes: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(bytes).trim();
  if (text.startsWith('-----BEGIN')) return 'a PEM key or certificate';
  if (/^(?:ssh-|ecdsa-sha2-)/.test(text)) return 'an SSH key';
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (isJsonObject(value) && typeof value.kty === 'string') return 'a JWK';
    if (isJsonObject(value) && Array.isArray(value.keys)) return 'a JWKS';
    return undefined;
  }
  // DER starts with a SEQUENCE (0x30), "M" in base64.
  if (text.startsWith('M') && /^[A-Za-z0-9+/=\s]+$/.test(text)) {
    try {
      createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
      return 'a DER public key in base64';
    } catch {
      return undefined;
    }
  }
  return undefined;
}

type KeyKind = 'secret' | 'publicKey' | 'jwks';

/**
 * The allow-list after checking it against the key. An algorithm the key can never verify is a
 * configuration mistake, reported now rather than discovered as a stream of 401s.
 */
function chooseAlgorithms(requested: unknown, usable: ReadonlySet<JwtAlgorithm>, kind: KeyKind): JwtAlgorithm[] {
  if (requested === undefined) return [...usable];
  if (!Array.isArray(requested) || requested.length === 0) {
    throw configError('algorithms must be a non-empty array such as ["RS256"]');
  }
  for (const alg of requested as unknown[]) {
    if (typeof alg === 'string' && alg.toLowerCase() === 'none') {
      throw configError('algorithms must not contain "none": unsecured JWTs are never accepted');
    }
    if (typeof alg !== 'string' || !KNOWN_ALGORITHMS.has(alg)) {
      throw configError(`algorithms contains unsupported value ${JSON.stringify(alg)}; use any of ${[...KNOWN_ALGORITHMS].join(', ')}`);
    }
  }
  const unusable = (requested as JwtAlgorithm[]).filter((alg) => !usable.has(alg));
  if (unusable.length > 0) {
    const hmac = unusable.filter((alg) => alg.startsWith('HS'));
    let why: string;
    if (kind !== 'secret' && hmac.length > 0) why = 'HS* algorithms need a shared `secret`; a public key or JWKS never verifies them';
    else if (kind === 'secret' && hmac.length < unusable.length) why = 'a `secret` only verifies HS256, HS384 and HS512';
    else if (kind === 'secret') why = 'HS384 needs a secret of at least 48 bytes, HS512 of at least 64';
    else why = `the configured publicKey supports ${[...usable].join(', ')}`;
    throw configError(`algorithms ${unusable.join(', ')} cannot be used here: ${why}`);
  }
  return [...new Set(requested as JwtAlgorithm[])];
}

class KeySetUnavailable extends Error {
  override readonly name = 'KeySetUnavailable';
  /** A cause only the configuration can fix (a 404, a document that is not a JWK Set), not an outage. */
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
  }
}

/** Errors of the key *fetch*: the key server could not be asked, so nothing can be decided. */
function isKeySetFailure(error: unknown): boolean {
  if (error instanceof BoundedFetchError || error instanceof KeySetUnavailable) return true;
  if (!(error instanceof joseErrors.JOSEError)) return false;
  // ERR_JOSE_GENERIC is what jose throws for a non-200 or non-JSON JWKS answer.
  return error.code === 'ERR_JWKS_TIMEOUT' || error.code === 'ERR_JWKS_INVALID' || error.code === 'ERR_JOSE_GENERIC';
}

/**
 * A remote JWKS behind jose's cache (single-flight refresh, `kid`-miss refresh rate-limited by
 * `cooldownMs`), fetched with our limits: time, size, no redirects, and a short back-off after a
 * failure so that a dead key server is not asked once per request.
 */
function remoteKeySet(url: URL, settings: Required<JwksFetchOptions>): RemoteJWKSet {
  let failedUntil = 0;
  let lastFailure: KeySetUnavailable | undefined;
  const fetchKeySet: FetchImplementation = async (href, init) => {
    if (Date.now() < failedUntil) {
      // The last failure's own words: the cause, not the back-off, is what the operator must see.
      throw new KeySetUnavailable(lastFailure?.message ?? 'the key server failed moments ago; not asking again yet', lastFailure?.permanent);
    }
    try {
      const headers: Record<string, string> = {};
      init.headers.forEach((value, key) => (headers[key] = value));
      // jose's own signal carries the same time limit; boundedFetch enforces it on the body too.
      const answer = await boundedFetch(href, { headers, timeoutMs: settings.timeoutMs, maxBytes: MAX_DOCUMENT_BYTES });
      if (answer.status !== 200) {
        // 5xx, 408 and 429 pass; any other status is the answer for this URL until someone changes it.
        const passing = answer.status >= 500 || answer.status === 408 || answer.status === 429;
        throw new KeySetUnavailable(`the key server answered HTTP ${answer.status} at ${href}`, !passing);
      }
      let body: unknown;
      try {
        body = JSON.parse(answer.body.toString('utf8'));
      } catch {
        throw new KeySetUnavailable(`the key server answered something that is not JSON at ${href}`, true);
      }
      if (isJsonObject(body) && !('keys' in body) && ('issuer' in body || 'jwks_uri' in body)) {
        throw new KeySetUnavailable(`${href} answered a discovery document, not a JWK Set; give its jwks_uri as jwksUri`, true);
      }
      if (!isJsonObject(body) || !Array.isArray(body.keys) || !body.keys.every(isJsonObject)) {
        throw new KeySetUnavailable(`the key server answered JSON that is not a JWK Set at ${href}`, true);
      }
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (error) {
      failedUntil = Date.now() + settings.failureBackoffMs;
      lastFailure = error instanceof KeySetUnavailable ? error : undefined;
      throw error;
    }
  };
  return createRemoteJWKSet(url, {
    timeoutDuration: settings.timeoutMs,
    cooldownDuration: settings.cooldownMs,
    cacheMaxAge: settings.cacheMaxAgeMs,
    [customFetch]: fetchKeySet,
  });
}

async function keyFromRemote(
  keySet: RemoteJWKSet,
  header: JWSHeaderParameters,
  input: FlattenedJWSInput,
  signal: () => AbortSignal | undefined,
): Promise<CryptoKey> {
  try {
    // A fresh key set answers from memory; only a fetch is worth tying to the caller's signal.
    return await (keySet.fresh ? keySet(header, input) : untilAborted(keySet(header, input), signal()));
  } catch (error) {
    if (isKeySetFailure(error)) {
      throw new TemporarilyUnavailableError(`signing keys unavailable: ${(error as Error).message}`, {
        cause: error,
        permanent: error instanceof KeySetUnavailable && error.permanent,
      });
    }
    // An unknown kid (after the rate-limited refresh), several candidate keys, an unusable alg:
    // all facts about the token, so they stay rejections.
    throw error;
  }
}

function remoteResolver(jwksUri: URL, settings: Required<JwksFetchOptions>): KeyResolver {
  const keySet = remoteKeySet(jwksUri, settings);
  return Object.assign((_issuer: string, header: JWSHeaderParameters, input: FlattenedJWSInput, signal: () => AbortSignal | undefined) =>
    keyFromRemote(keySet, header, input, signal), {
    cachedKeys: () => keySet.jwks()?.keys,
    refetch: (_issuer: string, signal: () => AbortSignal | undefined) => refetchKeySet(keySet, signal),
  });
}

/**
 * An issuer that replaced a key under the same `kid`: the cached key fails the signature, and
 * jose refetches only on an unknown `kid`. One refetch is allowed per jose cooldown (the same
 * clock as its unknown-`kid` refetch), so a stream of forged signatures costs at most one fetch
 * per `cooldownMs`, and the source recovers without a restart. A refetch that fails changes
 * nothing: the signature failure stands.
 */
async function refetchKeySet(keySet: RemoteJWKSet, signal: () => AbortSignal | undefined): Promise<boolean> {
  if (keySet.coolingDown) return false;
  try {
    await untilAborted(keySet.reload(), signal());
    return true;
  } catch {
    return false;
  }
}

function discoveryResolver(settings: Required<JwksFetchOptions>, allowHttp: boolean): KeyResolver {
  const discovery = new DiscoveryCache({
    timeoutMs: settings.timeoutMs,
    failureBackoffMs: settings.failureBackoffMs,
    allowHttp,
  });
  // Per issuer, so that a key published by one issuer can never verify a token naming another.
  const keySets = new Map<string, { jwksUri: string; keySet: RemoteJWKSet }>();
  const resolve = async (issuer: string, header: JWSHeaderParameters, input: FlattenedJWSInput, signal: () => AbortSignal | undefined) => {
    const metadata = await discovery.get(issuer, { get signal() { return signal(); } });
    const jwksUri = metadata.jwks_uri;
    let current = keySets.get(issuer);
    if (!current || current.jwksUri !== jwksUri) {
      const problem = remoteUrlProblem(jwksUri, { allowHttp });
      if (problem || typeof jwksUri !== 'string') {
        throw new TemporarilyUnavailableError(`the metadata of ${issuer} has no usable jwks_uri (it ${problem})`, { permanent: true });
      }
      // A changed jwks_uri gets a fresh cache: keys from the old location are not carried over.
      current = { jwksUri, keySet: remoteKeySet(new URL(jwksUri), settings) };
      keySets.set(issuer, current);
    }
    return keyFromRemote(current.keySet, header, input, signal);
  };
  return Object.assign(resolve, {
    cachedKeys: (issuer: string) => keySets.get(issuer)?.keySet.jwks()?.keys,
    refetch: async (issuer: string, signal: () => AbortSignal | undefined) => {
      const current = keySets.get(issuer);
      return current !== undefined && refetchKeySet(current.keySet, signal);
    },
  });
}

function localResolver(jwks: JSONWebKeySet, single: boolean): KeyResolver {
  const keySet = createLocalJWKSet(jwks);
  // With one configured key the token's kid is only a hint; honouring it would refuse tokens
  // from issuers that set a kid the operator's copy of the key lacks.
  return single ? (_issuer, header) => keySet({ alg: header.alg }) : (_issuer, header, input) => keySet(header, input);
}

function secretResolver(secret: Uint8Array<ArrayBuffer>): KeyResolver {
  // Imported once per algorithm: jose would otherwise import the raw bytes on every token.
  const imported = new Map<string, Promise<CryptoKey>>();
  return async (_issuer, header) => {
    const alg = header.alg as string;
    let key = imported.get(alg);
    if (!key) {
      key = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, ['verify']);
      imported.set(alg, key);
    }
    return key;
  };
}

/** A verifier's keys: how to find the key for a token, and the algorithms allowed with them. */
interface KeyBundle {
  resolveKey: KeyResolver;
  algorithms: JwtAlgorithm[];
  /** What configured keys can verify; `undefined` while the keys are remote. */
  configuredKeyAlgorithms: ReadonlySet<JwtAlgorithm> | undefined;
}

/**
 * The keys given by `source` (the verifier's options, or an issuer config its resolver
 * returned): a secret, public key(s), a JWKS URI, or with none of them discovery for `issuers`.
 * Throws `MultiAuthConfigError` for keys that cannot work.
 */
function buildKeys(
  source: { jwksUri?: string | URL; publicKey?: unknown; secret?: unknown },
  requested: unknown,
  fetchSettings: Required<JwksFetchOptions>,
  allowHttp: boolean,
  issuers: readonly string[],
  jwksUriName: string,
): KeyBundle {
  let resolveKey: KeyResolver;
  let algorithms: JwtAlgorithm[];
  /** What configured keys can verify; `undefined` while the keys are remote. */
  let configuredKeyAlgorithms: ReadonlySet<JwtAlgorithm> | undefined;
  if (source.secret !== undefined) {
    const secret = readSecret(source.secret);
    const usable = new Set(HMAC_ALGORITHMS.filter((alg) => secret.byteLength >= HMAC_MIN_BYTES[alg]));
    configuredKeyAlgorithms = usable;
    algorithms = chooseAlgorithms(requested, usable, 'secret');
    resolveKey = secretResolver(secret);
  } else if (source.publicKey !== undefined) {
    const { jwks, single, algorithms: usable } = readPublicKey(source.publicKey);
    configuredKeyAlgorithms = usable;
    algorithms = chooseAlgorithms(requested, usable, 'publicKey');
    resolveKey = localResolver(jwks, single);
  } else {
    // Key types are unknown until the set is fetched, so any asymmetric algorithm may be allowed.
    algorithms = chooseAlgorithms(requested, new Set(ASYMMETRIC_ALGORITHMS), 'jwks');
    if (source.jwksUri !== undefined) {
      const problem = remoteUrlProblem(source.jwksUri, { allowHttp });
      if (problem) throw configError(`${jwksUriName} ${problem}`);
      resolveKey = remoteResolver(new URL(source.jwksUri instanceof URL ? source.jwksUri.href : source.jwksUri), fetchSettings);
    } else {
      for (const issuer of issuers) {
        const problem = issuerUrlProblem(issuer, { allowHttp });
        if (problem) {
          throw configError(`issuer "${issuer}" ${problem}; it is used for discovery because no jwksUri, publicKey or secret is given`);
        }
      }
      resolveKey = discoveryResolver(fetchSettings, allowHttp);
    }
  }
  return { resolveKey, algorithms, configuredKeyAlgorithms };
}

function maxIssuersOf(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_ISSUERS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw configError('maxIssuers must be a positive integer');
  return value;
}

/** Turns what jose (or a key resolver) threw into this package's outcome: a rejection unless it is a failure. */
function rejection(error: unknown): Error {
  if (error instanceof MultiAuthError) return error;
  if (error instanceof joseErrors.JOSEError) return new InvalidTokenError(`JWT rejected (${error.code}): ${error.message}`);
  // jose's TypeError: a key that does not fit the token's alg (type, hash, curve, size, use).
  if (error instanceof TypeError) return new InvalidTokenError(`JWT rejected: ${error.message}`);
  return error as Error;
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE64URL_RUN = /^[A-Za-z0-9_-]+$/;

/**
 * RFC 7515 §2 / §7.1: the signature is unpadded base64url. jose decodes it forgivingly (stray
 * low bits), so one signature has several spellings; only the canonical base64url is accepted.
 * That does not make a token's string unique: an ECDSA signature's s can also be spelled n - s,
 * and both verify. One identity per token comes from `InspectedToken.identityKey` instead.
 */
function hasCanonicalSignature(token: string): boolean {
  const signature = token.slice(token.lastIndexOf('.') + 1);
  if (!BASE64URL_RUN.test(signature)) return false;
  // The last character of a 2- or 3-character tail carries 4 or 2 bits that encode nothing.
  const tail = signature.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const value = BASE64URL_ALPHABET.indexOf(signature[signature.length - 1]);
  return (value & (tail === 2 ? 0b1111 : 0b11)) === 0;
}

/**
 * RFC 9449 (DPoP) / RFC 8705 (mTLS): a key-bound token (`cnf`) is only good with its proof of
 * possession, which a Bearer request cannot carry; accepting it as a bearer token would make a
 * stolen one usable. Unless the caller checks the proof against `cnf` itself
 * (`context.senderConstrained`: `multiAuth` always does, by its binding rule), which then finds
 * `cnf` in `payload`.
 */
function refuseSenderConstrained(claims: Readonly<Record<string, unknown>>, checkedByCaller: boolean): void {
  if (claims.cnf !== undefined && !checkedByCaller) {
    throw new InvalidTokenError('JWT is sender-constrained ("cnf"); it is not accepted as a bearer token');
  }
}

/**
 * A source that accepts JWT access tokens signed by the configured issuer(s) for the configured
 * audience. jose decides: `jwtVerify` with the key jose's key set selects and the options below
 * mapped onto jose's (issuer, audience, algorithms, typ, clockTolerance, maxTokenAge,
 * requiredClaims); this verifier only refuses more, never accepts what jose refuses.
 *
 * Always refused, whatever the options: `alg: none`, an `alg` outside the allow-list (HS* with a
 * public key and the reverse included), a token without `exp`, an expired or not-yet-valid
 * token, a wrong `iss` or `aud`, a bad signature, a `kid` still unknown after one rate-limited
 * JWKS refresh, a sender-constrained token (`cnf`: DPoP, mTLS), whose proof a Bearer request
 * cannot carry (unless the caller checks the binding, as `multiAuth` always does:
 * `context.senderConstrained`, and `cnf` stays in `payload` for its binding rule). Key URLs in token headers (`jku`, `x5u`, `jwk`, `x5c`) are never used.
 *
 * A token that is not a JWT, names another issuer, or uses a disallowed `alg` is rejected before
 * any signature check, key fetch or discovery. When the key server cannot be reached (or is slow,
 * or answers garbage), verification throws `TemporarilyUnavailableError`: not a rejection.
 *
 * The result carries `clientId` (`client_id`, `azp`, then `sub`), `scopes` (`scope` or `scp`),
 * `expiresAt`, `subject`, `resource` (the matching audience, when it is a URL), and the verified
 * `payload` and `header`. Required scopes are not checked here; `multiAuth` does that.
 *
 * Returns a source named `name`. Throws `MultiAuthConfigError` at once for options that cannot
 * work.
 *
 * @example
 * const internal = jwtVerifier({
 *   name: 'internal',
 *   issuer: 'https://login.internal.example.com',
 *   audience: 'https://mcp.example.com/mcp',
 *   jwksUri: 'https://login.internal.example.com/.well-known/jwks.json',
 *   typ: 'at+jwt',
 *   jwks: { timeoutMs: 2000 },
 * });
 * const auth = multiAuth({ verifiers: [internal] });
 */
export function jwtVerifier(options: JwtVerifierOptions): TokenVerifier & { readonly name: string; readonly clockToleranceSeconds: number } {
  if (!isJsonObject(options)) throw configError('options are required: { issuer, audience, ... }');
  refuseUnknownOptions('jwtVerifier', options, JWT_VERIFIER_OPTIONS);
  const requiredScopes = sourceRequiredScopes('jwtVerifier', options.requiredScopes);
  const name = options.name ?? 'jwt';
  if (!isNonEmptyString(name)) throw configError('name must be a non-empty string');
  // A resolver names its issuers per token; a list names them now.
  const issuers = typeof options.issuer === 'function' ? [] : stringList(options.issuer, 'issuer');
  if (options.maxIssuers !== undefined && typeof options.issuer !== 'function') {
    throw configError('maxIssuers bounds the issuers a resolver approves; it needs `issuer` to be a function');
  }
  const validators = compileValidators('jwtVerifier', options.validators);
  const audiences = stringList(options.audience, 'audience');
  const allowHttp = options.allowHttp === true;

  if (typeof options.jwksUri === 'string') refuseSurroundingWhitespace('jwtVerifier', 'jwksUri', options.jwksUri);
  const keyOptions = (['jwksUri', 'publicKey', 'secret'] as const).filter((option) => options[option] !== undefined);
  if (keyOptions.length > 1) {
    throw configError(`give only one of jwksUri, publicKey and secret (got ${keyOptions.join(' and ')})`);
  }

  if (options.jwks !== undefined && !isJsonObject(options.jwks)) {
    throw configError('jwks must be an object: { timeoutMs?, cooldownMs?, cacheMaxAgeMs?, failureBackoffMs? }');
  }
  if (options.jwks !== undefined) refuseUnknownOptions('jwtVerifier', options.jwks, JWKS_OPTIONS, 'jwks');
  const fetchSettings: Required<JwksFetchOptions> = {
    timeoutMs: milliseconds(options.jwks?.timeoutMs, DEFAULT_FETCH_TIMEOUT_MS, 'timeoutMs', true),
    cooldownMs: milliseconds(options.jwks?.cooldownMs, DEFAULT_JWKS_COOLDOWN_MS, 'cooldownMs'),
    cacheMaxAgeMs: milliseconds(options.jwks?.cacheMaxAgeMs, DEFAULT_JWKS_CACHE_MAX_AGE_MS, 'cacheMaxAgeMs'),
    failureBackoffMs: milliseconds(options.jwks?.failureBackoffMs, DEFAULT_FAILURE_BACKOFF_MS, 'failureBackoffMs'),
  };
  if (fetchSettings.timeoutMs === 0) throw configError('jwks.timeoutMs must be greater than 0');

  const resolving = typeof options.issuer === 'function';
  const staticKeys =
    resolving && keyOptions.length === 0 ? undefined : buildKeys(options, options.algorithms, fetchSettings, allowHttp, issuers, 'jwksUri');
  const approvedIssuers = resolving
    ? new ApprovedIssuers<KeyBundle>(
        options.issuer as IssuerResolver,
        (issuer, config) => {
          const own = config !== undefined && (config.jwksUri !== undefined || config.publicKey !== undefined || config.secret !== undefined);
          const requested = config?.algorithms ?? (config?.alg !== undefined ? [config.alg] : options.algorithms);
          if (own) return buildKeys(config, requested, fetchSettings, allowHttp, [issuer], 'the issuer config\'s jwksUri');
          if (staticKeys) return buildKeys(options, requested, fetchSettings, allowHttp, [issuer], 'jwksUri');
          return buildKeys({}, requested, fetchSettings, allowHttp, [issuer], 'jwksUri');
        },
        staticKeys,
        maxIssuersOf(options.maxIssuers),
      )
    : undefined;

  const clockTolerance =
    options.clockTolerance === undefined ? DEFAULT_CLOCK_TOLERANCE_S : durationSeconds(options.clockTolerance, 'clockTolerance');
  const maxTokenAge = options.maxTokenAge === undefined ? undefined : durationSeconds(options.maxTokenAge, 'maxTokenAge');
  if (options.typ !== undefined && !isNonEmptyString(options.typ)) throw configError('typ must be a non-empty string such as "at+jwt"');
  const requiredClaims: unknown = options.requiredClaims ?? [];
  if (!Array.isArray(requiredClaims) || !requiredClaims.every(isNonEmptyString)) {
    throw configError('requiredClaims must be an array of claim names, e.g. ["jti"]');
  }
  for (const option of ['scopeClaim', 'clientIdClaim'] as const) {
    if (options[option] !== undefined && !isNonEmptyString(options[option])) {
      throw configError(`${option} must be a non-empty claim name`);
    }
  }
  const { scopeClaim, clientIdClaim } = options;

  // Computed once. jose decides every token with these options; the package refuses more
  // (no `exp`, `crit`, `cnf`, no client id, a re-spelled signature), never less.
  const issuerSet = new Set(issuers);
  const audienceSet = new Set(audiences);
  const urlAudiences = new Set(audiences.filter((audience) => URL.canParse(audience)));
  const staticVerifyOptions: JWTVerifyOptions = {
    issuer: issuers,
    audience: audiences,
    algorithms: staticKeys?.algorithms ?? [],
    clockTolerance,
    // RFC 9068 §2.2: an access token carries `exp`; jose makes `iat` required with maxTokenAge.
    requiredClaims: [...new Set(['exp', ...(requiredClaims as string[])])],
  };
  if (options.typ !== undefined) staticVerifyOptions.typ = options.typ;
  if (maxTokenAge !== undefined) staticVerifyOptions.maxTokenAge = maxTokenAge;

  const matchingAudience = (aud: unknown): string | undefined => {
    if (typeof aud === 'string') return audienceSet.has(aud) ? aud : undefined;
    if (Array.isArray(aud)) return aud.find((value): value is string => typeof value === 'string' && audienceSet.has(value));
    return undefined;
  };

  /** Not a JWT, or not one of our issuers': not this source's token at all. */
  const foreign = (inspected: InspectedToken): boolean => {
    const iss = inspected.jwt?.payload.iss;
    // With a resolver, which issuers are ours is the resolver's to say, per token.
    return typeof iss !== 'string' || (!approvedIssuers && !issuerSet.has(iss));
  };
  const accepted = (values: readonly string[]): string => values.map((value) => shown(value)).join(', ');
  /** Why `foreign` said so, naming both issuers: a trailing slash on one side is the classic. */
  const whyForeign = (inspected: InspectedToken): string => {
    const jwt = inspected.jwt;
    if (!jwt) return 'not a JWT';
    const iss = jwt.payload.iss;
    const acceptedIssuers = approvedIssuers ? 'issuers its resolver approves' : accepted(issuers);
    if (iss === undefined) return `the JWT has no "iss"; this source accepts ${acceptedIssuers}`;
    return `the JWT's "iss" is ${shown(iss)}; this source accepts ${acceptedIssuers}`;
  };

  /**
   * A token that cannot be accepted whatever its signature (meant for another audience, no
   * `exp`, or expired by jose's rule) is refused before any key lookup, so that a flood of
   * stale or misdirected tokens naming made-up key ids costs no JWKS fetch or discovery.
   * Refuses only: jose checks all of it again on what it verifies.
   */
  const refuseBeforeKeys = (claims: Readonly<Record<string, unknown>>): void => {
    if (matchingAudience(claims.aud) === undefined) {
      throw new InvalidTokenError(`JWT "aud" does not name this resource: it is ${shown(claims.aud)}; this source accepts ${accepted(audiences)}`);
    }
    const exp = claims.exp;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new InvalidTokenError('JWT has no numeric "exp" claim');
    if (exp <= Math.floor(Date.now() / 1000) - clockTolerance) throw new InvalidTokenError('JWT has expired');
  };

  async function verifyAccessToken(token: string, context?: VerifyContext): Promise<MultiAuthInfo | null> {
    // Routing only: the unverified `iss` says whether this token is ours to judge. A token that is
    // not a JWT of one of our issuers is simply not ours: `null`, the cheapest "no", since in a
    // chain of sources most tokens a source sees belong to another.
    const routed = inspectionOf(token, context).jwt;
    if (!routed) return null;
    const issuer = routed.payload.iss;
    if (typeof issuer !== 'string' || (!approvedIssuers && !issuerSet.has(issuer))) return null;
    refuseBeforeKeys(routed.payload);
    if (!hasCanonicalSignature(token)) throw new InvalidTokenError('JWT signature is not canonical base64url');
    // A resolver is asked only for a token that could be accepted at all, and its issuer is
    // contacted only once it approved it: made-up issuers cost a call of the resolver, no fetch.
    const keys = approvedIssuers
      ? await approvedIssuers.approve({ iss: issuer, claims: routed.payload, header: routed.header, ...(context?.req ? { req: context.req } : {}) })
      : (staticKeys as KeyBundle);
    const { resolveKey, algorithms } = keys;
    const verifyOptions = approvedIssuers ? { ...staticVerifyOptions, issuer, algorithms } : staticVerifyOptions;

    const signal = () => context?.signal;
    // The key comes from the key set of the issuer the token was routed by; jose then checks
    // that the verified `iss` is one of ours, and the check below that it is that very one.
    const getKey = (header: JWSHeaderParameters, input: FlattenedJWSInput) => resolveKey(issuer, header, input, signal);
    let verified: JWTVerifyResult;
    try {
      verified = await jwtVerify(token, getKey, verifyOptions).catch(async (error: unknown) => {
        // A key replaced under the same kid (see refetchKeySet): one more try with fresh keys.
        if (!(error instanceof joseErrors.JWSSignatureVerificationFailed) || !(await resolveKey.refetch?.(issuer, signal))) throw error;
        return jwtVerify(token, getKey, verifyOptions);
      });
    } catch (error) {
      if (error instanceof joseErrors.JOSEAlgNotAllowed) {
        throw new InvalidTokenError(`JWT "alg" is ${shown(routed.header.alg)}; this source accepts ${algorithms.join(', ')}`);
      }
      throw rejection(error);
    }
    const { payload: claims, protectedHeader: header } = verified;
    if (claims.iss !== issuer) throw new InvalidTokenError('JWT "iss" differs from the one it was routed by');
    // RFC 7515 §4.1.11: jose understands `crit: ["b64"]`; this verifier supports no extension.
    if (header.crit !== undefined) throw new InvalidTokenError('JWT "crit" names header extensions this verifier does not support');
    refuseSenderConstrained(claims, context?.senderConstrained === true);
    // The application's own checks: after everything above, so they can only refuse more.
    if (validators.length > 0) await runValidators(validators, claims, header, 'JWT claim');

    const clientId = clientIdClaim
      ? claims[clientIdClaim]
      : firstString(claims.client_id, claims.azp, claims.sub);
    if (!isNonEmptyString(clientId)) {
      throw new InvalidTokenError(`JWT has no client identifier (${clientIdClaim ?? 'client_id, azp or sub'})`);
    }
    const scopes = (scopeClaim ? scopeList(claims[scopeClaim]) : scopeList(claims.scope) ?? scopeList(claims.scp)) ?? [];
    const info: MultiAuthInfo = {
      token,
      clientId,
      scopes,
      expiresAt: claims.exp as number,
      source: name,
      // jose's own result, parsed for this call alone: the handler's to keep.
      payload: claims as Record<string, unknown>,
      header: header as Record<string, unknown>,
      extra: { source: name },
    };
    if (isNonEmptyString(claims.sub)) info.subject = claims.sub;
    const audience = matchingAudience(claims.aud);
    if (audience !== undefined && urlAudiences.has(audience)) info.resource = new URL(audience);
    return info;
  }

  /** For `auth.ready()`: the key server (or each issuer's metadata and key server), asked once. */
  async function probe({ signal }: ProbeContext): Promise<string> {
    const check = { timeoutMs: fetchSettings.timeoutMs, signal, allowHttp };
    if (options.jwksUri !== undefined) return checkJwks(new URL(options.jwksUri).href, check);
    if (options.secret !== undefined || options.publicKey !== undefined) return 'keys given in the configuration; nothing remote to check';
    if (approvedIssuers) return 'issuers are approved per token by the resolver; none is contacted before it approves one';
    const found: string[] = [];
    for (const issuer of issuers) found.push(await checkIssuerKeys(issuer, check));
    return found.join('; ');
  }

  /** For near-miss warnings: what the keys known without a fetch can verify, for a token naming `kid`. */
  const keyAlgorithms = (issuer: string, kid: unknown): ReadonlySet<string> | undefined | Promise<ReadonlySet<string> | undefined> => {
    if (!staticKeys) return undefined;
    const { configuredKeyAlgorithms, resolveKey } = staticKeys;
    if (configuredKeyAlgorithms) return configuredKeyAlgorithms;
    const keys = resolveKey.cachedKeys?.(issuer);
    if (!keys) {
      // Never fetched: fetch once (jose's cooldown applies), then look again, without refetching.
      return resolveKey.refetch?.(issuer, () => undefined).then((fetched: boolean) => (fetched && resolveKey.cachedKeys?.(issuer) ? keyAlgorithms(issuer, kid) : undefined));
    }
    const found = new Set<string>();
    for (const jwk of keys) {
      if (typeof kid === 'string' && jwk.kid !== kid) continue;
      try {
        for (const alg of jwkAlgorithms(jwk as Record<string, unknown>, 'a fetched key')) found.add(alg);
      } catch {
        // Not a key this source could ever use.
      }
    }
    return found;
  };
  // Near misses name the configured issuers and algorithms; with a resolver there are none to name.
  const diagnose = approvedIssuers ? undefined : jwtNearMisses({ issuers, audiences, algorithms: staticKeys?.algorithms ?? [], keyAlgorithms });

  return {
    name,
    verifyAccessToken,
    probe,
    clockToleranceSeconds: clockTolerance,
    ...(requiredScopes ? { requiredScopes } : {}),
    [notMine]: foreign,
    [whyNotMine]: whyForeign,
    ...(diagnose ? { [diagnoseRefusal]: diagnose } : {}),
    [rulesDigest]: describeRules('jwt', options as unknown as Record<string, unknown>),
    // A resolver may read the request (the tenant from its host or path): what it decided for one
    // request must not be served, by token, to another.
    ...(resolving ? { cacheable: false } : {}),
  };
}
