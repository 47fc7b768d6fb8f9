import * as nodeCrypto from 'node:crypto';
import type { InspectedToken, UnverifiedJwt } from './types';

const JWS_SEGMENT = /^[A-Za-z0-9_-]+$/;

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  if (!JWS_SEGMENT.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decodes a compact JWS's header and payload without verifying anything. Returns
 * `undefined` for anything that is not three base64url segments whose first two are JSON
 * objects (opaque tokens, JWEs, garbage).
 */
export function decodeUnverifiedJwt(token: string): UnverifiedJwt | undefined {
  const first = token.indexOf('.');
  if (first <= 0) return undefined;
  const second = token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) return undefined;
  const header = decodeSegment(token.slice(0, first));
  if (!header) return undefined;
  const payload = decodeSegment(token.slice(first + 1, second));
  if (!payload) return undefined;
  return { header, payload };
}

/** SHA-256 in one call where Node has `crypto.hash` (20.12+): no Hash object per token. */
const sha256: (value: string) => Buffer =
  typeof nodeCrypto.hash === 'function'
    ? (value) => nodeCrypto.hash('sha256', value, 'buffer')
    : (value) => nodeCrypto.createHash('sha256').update(value).digest();

class LazyInspectedToken implements InspectedToken {
  readonly raw: string;
  private digestValue: Buffer | undefined;
  private jwtValue: UnverifiedJwt | undefined | null = null;

  constructor(raw: string) {
    this.raw = raw;
  }

  get digest(): Buffer {
    return (this.digestValue ??= sha256(this.raw));
  }

  get jwt(): UnverifiedJwt | undefined {
    if (this.jwtValue === null) this.jwtValue = decodeUnverifiedJwt(this.raw);
    return this.jwtValue;
  }
}

/**
 * Wraps a token so that its hash and its unverified JWT parts are computed at most once,
 * on first use, however many sources look at them.
 */
export function inspectToken(raw: string): InspectedToken {
  return new LazyInspectedToken(raw);
}
