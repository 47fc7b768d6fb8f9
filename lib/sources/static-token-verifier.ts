import { createHash, timingSafeEqual } from 'node:crypto';
import { isScopeToken } from '../core/claims';
import { MultiAuthConfigError } from '../core/errors';
import { refuseUnknownOptions } from '../core/options';
import { describeRules, rulesDigest } from '../core/rules';
import { sourceRequiredScopes } from '../core/scopes';
import { isB64Token } from '../http/token-extraction';
import { decodeUnverifiedJwt, inspectionOf } from '../core/token-inspection';
import { notMine } from '../core/types';
import type { InspectedToken, MultiAuthInfo, TokenVerifier, VerifyContext } from '../core/types';

/** What a static API key stands for. */
export interface StaticTokenEntry {
  /** Reported as `req.auth.clientId`. */
  clientId: string;
  /** Scopes the key grants. */
  scopes: string[];
  /** Reported as `req.auth.subject`, e.g. who or what holds the key. */
  subject?: string;
  /** Seconds since the epoch; past it `multiAuth` refuses the key. Default: no expiry. */
  expiresAt?: number;
  /** Extra claims, exposed as `req.auth.payload`. */
  claims?: Record<string, unknown>;
}

/** Options of `staticTokenVerifier()`. */
export interface StaticTokenVerifierOptions {
  /** Source name; default `'static'`. */
  name?: string;
  /**
   * API key -> what it stands for. Keys must be RFC 6750 b64token strings of at least 16
   * characters; an empty key or `'undefined'` throws, as it usually means an unset environment
   * variable, and a shorter key throws because it can be guessed.
   */
  tokens: Record<string, StaticTokenEntry> | Map<string, StaticTokenEntry>;
  /**
   * Scopes this source's tokens must carry, replacing `multiAuth`'s `requiredScopes` for the
   * tokens it accepts (e.g. machine keys with their own vocabulary). Default: the router's.
   */
  requiredScopes?: readonly string[];
}

interface Entry {
  digest: Buffer;
  info: StaticTokenEntry;
}

/** Every option `staticTokenVerifier` takes, and every member of a key's entry. */
const STATIC_OPTIONS: readonly string[] = ['name', 'tokens', 'requiredScopes'];
/** Shortest API key accepted at construction: anything shorter is guessable. */
const MIN_KEY_LENGTH = 16;
const ENTRY_MEMBERS: readonly string[] = ['clientId', 'scopes', 'subject', 'expiresAt', 'claims'];

function fail(message: string): never {
  throw new MultiAuthConfigError(`staticTokenVerifier: ${message}`);
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function checkEntry(value: unknown, index: number): StaticTokenEntry {
  const where = `tokens entry #${index + 1}`;
  if (value === null || typeof value !== 'object') fail(`${where} must be an object { clientId, scopes }`);
  const e = value as Record<string, unknown>;
  refuseUnknownOptions('staticTokenVerifier', e, ENTRY_MEMBERS, `tokens[#${index + 1}]`);
  if (typeof e.clientId !== 'string' || e.clientId === '') fail(`${where} needs a non-empty string clientId`);
  if (!Array.isArray(e.scopes) || !e.scopes.every((s) => typeof s === 'string')) fail(`${where} needs scopes: an array of strings`);
  const odd = (e.scopes as string[]).find((s) => !isScopeToken(s));
  if (odd !== undefined) {
    fail(`${where}: scope ${JSON.stringify(odd)} is not one RFC 6749 scope token (no spaces, quotes or backslashes); list each scope apart`);
  }
  if (e.subject !== undefined && typeof e.subject !== 'string') fail(`${where}: subject must be a string`);
  if (e.expiresAt !== undefined && (typeof e.expiresAt !== 'number' || !Number.isFinite(e.expiresAt))) {
    fail(`${where}: expiresAt must be seconds since the epoch`);
  }
  if (e.claims !== undefined && (e.claims === null || typeof e.claims !== 'object')) fail(`${where}: claims must be an object`);
  const entry = { ...(e as unknown as StaticTokenEntry), scopes: [...(e.scopes as string[])] };
  if (e.claims !== undefined) {
    try {
      entry.claims = structuredClone(e.claims as Record<string, unknown>);
    } catch {
      fail(`${where}: claims must be plain data (no functions or class instances)`);
    }
  }
  return entry;
}

/**
 * Fixed API keys (for CI, scripts, internal callers), each mapped to a client and its scopes.
 * Returns a source named `name` that resolves `null` for any other token.
 *
 * Keys are held as SHA-256 digests and every presented token is compared with every key with
 * `timingSafeEqual` and no early exit, so neither the comparison nor a map lookup keyed by the
 * secret leaks how much of a key an attacker has guessed.
 *
 * @example
 * staticTokenVerifier({ name: 'ci', tokens: { [process.env.CI_KEY!]: { clientId: 'ci', scopes: ['mcp:read'] } } })
 */
export function staticTokenVerifier(options: StaticTokenVerifierOptions): TokenVerifier & { name: string } {
  if (options === null || typeof options !== 'object') fail('options must be an object { name?, tokens }');
  refuseUnknownOptions('staticTokenVerifier', options, STATIC_OPTIONS);
  const requiredScopes = sourceRequiredScopes('staticTokenVerifier', options.requiredScopes);
  const name = options.name ?? 'static';
  if (typeof name !== 'string' || name === '') fail('name must be a non-empty string');
  const raw = options.tokens instanceof Map ? [...options.tokens] : options.tokens && typeof options.tokens === 'object' ? Object.entries(options.tokens) : fail('tokens must be an object or Map of API key -> { clientId, scopes }');
  if (raw.length === 0) fail('tokens is empty; give at least one API key');
  const entries: Entry[] = raw.map(([key, value], index) => {
    if (typeof key !== 'string' || key === '' || key === 'undefined') fail(`tokens key #${index + 1} is empty or undefined (is the environment variable set?)`);
    if (!isB64Token(key)) fail(`tokens key #${index + 1} has characters a Bearer token cannot carry (RFC 6750 b64token)`);
    // A short key can be guessed, or found by trying every short string: no key of a deployed
    // service should be, and a short one usually means a placeholder or a truncated secret.
    if (key.length < MIN_KEY_LENGTH) {
      fail(`tokens key #${index + 1} is ${key.length} characters; an API key must be at least ${MIN_KEY_LENGTH} (use 128 random bits or more, e.g. \`openssl rand -base64 24\`)`);
    }
    return { digest: sha256(key), info: checkEntry(value, index) };
  });

  // When no key has the shape of a JWT, a JWT is never one of them: refused on sight, without
  // hashing. What that reveals by timing is the shape of the presented token, nothing of a key.
  const anyJwtShaped = raw.some(([key]) => decodeUnverifiedJwt(key as string) !== undefined);
  const jwtNotMine = (token: InspectedToken): boolean => token.jwt !== undefined;

  return {
    name,
    // An API key is good until it is removed from the configuration; an entry may still set expiresAt.
    neverExpires: true,
    ...(requiredScopes ? { requiredScopes } : {}),
    async probe(): Promise<string> {
      return `${entries.length} static key${entries.length === 1 ? '' : 's'}; nothing remote to check`;
    },
    ...(anyJwtShaped ? {} : { [notMine]: jwtNotMine }),
    // The keys' digests, never the keys: what another router with other keys would refuse differs.
    [rulesDigest]: describeRules('static', { name, tokens: entries.map((e) => [e.digest.toString('hex'), e.info]) }),
    async verifyAccessToken(token: string, context?: VerifyContext): Promise<MultiAuthInfo | null> {
      const digest = inspectionOf(token, context).digest;
      let match: StaticTokenEntry | undefined;
      for (const entry of entries) {
        // No early exit: every key is compared whatever matched.
        if (timingSafeEqual(entry.digest, digest)) match = entry.info;
      }
      if (!match) return null;
      // Enforced here too, so the verifier is right when called on its own, not only through multiAuth.
      if (match.expiresAt !== undefined && match.expiresAt * 1000 <= Date.now()) return null;
      const info: MultiAuthInfo = { token, clientId: match.clientId, scopes: [...match.scopes], source: name, payload: {}, extra: { source: name } };
      if (match.subject !== undefined) info.subject = match.subject;
      if (match.expiresAt !== undefined) info.expiresAt = match.expiresAt;
      // A copy per request: one handler's change to req.auth.payload must not reach the next.
      if (match.claims !== undefined) info.payload = structuredClone(match.claims);
      return info;
    },
  };
}
