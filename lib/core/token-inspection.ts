import { isUtf8 } from 'node:buffer';
import * as nodeCrypto from 'node:crypto';
import { freezeDeep, nestingDepth } from './claims';
import { canonicalSpelling } from './token-identity';
import type { InspectedToken, UnverifiedJwt } from './types';

const JWS_SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * Deepest nesting of objects and arrays a JWT header or payload may have. Real claim sets nest a
 * handful of levels; anything deeper is refused as "not a JWT" (a 401), so no later step (a
 * copy, a clone, a user's recursive claim check) meets a structure built to exhaust the stack.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Longest token decoded as a JWT, in characters. Access tokens are a few kilobytes; a longer
 * one is refused as "not a JWT" (a 401) before any decoding, whatever `maxTokenLength` a
 * chain allows, so a source called directly cannot be made to parse megabytes either.
 */
export const MAX_JWT_LENGTH = 65_536;

/** A non-empty run of unpadded base64url characters: what each part of a compact JWS must be. */
export function isBase64urlSegment(segment: string): boolean {
  return JWS_SEGMENT.test(segment);
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  if (!isBase64urlSegment(segment)) return undefined;
  const bytes = Buffer.from(segment, 'base64url');
  // RFC 7515 §5.2 / RFC 7519 §7.2: UTF-8 JSON. Invalid UTF-8 is refused, not repaired.
  if (!isUtf8(bytes)) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    return nestingDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH ? undefined : (value as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/**
 * Decodes a compact JWS's header and payload without verifying anything. Returns
 * `undefined` for anything that is not three base64url segments whose first two are UTF-8 JSON
 * objects nested at most `MAX_JSON_DEPTH` levels, in at most `MAX_JWT_LENGTH` characters
 * (opaque tokens, JWEs, garbage, hostile JSON). Both parts are deeply frozen: every source of a chain
 * sees the same objects, and none can change what the next one reads.
 */
export function decodeUnverifiedJwt(token: string): UnverifiedJwt | undefined {
  if (token.length > MAX_JWT_LENGTH) return undefined;
  const first = token.indexOf('.');
  if (first <= 0) return undefined;
  const second = token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) return undefined;
  const header = decodeSegment(token.slice(0, first));
  if (!header) return undefined;
  const payload = decodeSegment(token.slice(first + 1, second));
  if (!payload) return undefined;
  return Object.freeze({ header: freezeDeep(header), payload: freezeDeep(payload) });
}

/**
 * SHA-256 as base64 in one call where Node has `crypto.hash` (20.12+): no Hash object and no
 * Buffer per token (a Buffer costs more than the string).
 */
const sha256Base64: (value: string) => string =
  typeof nodeCrypto.hash === 'function'
    ? (value) => nodeCrypto.hash('sha256', value, 'base64')
    : (value) => nodeCrypto.createHash('sha256').update(value).digest('base64');

class LazyInspectedToken implements InspectedToken {
  readonly #raw: string;
  #digestKey: string | undefined;
  #identityKey: string | undefined;
  #jwt: UnverifiedJwt | undefined | null = null;

  constructor(raw: string) {
    this.#raw = raw;
  }

  get raw(): string {
    return this.#raw;
  }

  get digestKey(): string {
    return (this.#digestKey ??= sha256Base64(this.#raw));
  }

  get identityKey(): string {
    if (this.#identityKey === undefined) {
      const canonical = canonicalSpelling(this.#raw);
      this.#identityKey = canonical === undefined ? this.digestKey : sha256Base64(canonical);
    }
    return this.#identityKey;
  }

  get digest(): Buffer {
    return Buffer.from(this.digestKey, 'base64');
  }

  get jwt(): UnverifiedJwt | undefined {
    if (this.#jwt === null) this.#jwt = decodeUnverifiedJwt(this.#raw);
    return this.#jwt;
  }

  static isGenuine(value: unknown): value is LazyInspectedToken {
    return typeof value === 'object' && value !== null && #raw in value;
  }
}

/**
 * Wraps a token so that its hash and its unverified JWT parts are computed at most once,
 * on first use, however many sources look at them.
 */
export function inspectToken(raw: string): InspectedToken {
  return new LazyInspectedToken(raw);
}

/**
 * `context.token` when it is this package's inspection of exactly `token` (its `raw` cannot be
 * changed and its JWT parts are frozen, so what it says was decoded from `token`), else a fresh
 * inspection. A source that trusts decoded parts must not take them from an object anyone
 * could have built.
 */
export function inspectionOf(token: string, context: { token?: unknown } | undefined): InspectedToken {
  const given = context?.token;
  return LazyInspectedToken.isGenuine(given) && given.raw === token ? given : new LazyInspectedToken(token);
}
