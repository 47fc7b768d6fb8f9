import { createHash } from 'node:crypto';

/**
 * A source's rules, as a digest: what a remembered rejection must be filed under, so that a
 * refusal by one configuration (another audience, another key, another issuer) is never served
 * where another configuration would accept the token. Set by this package's own sources from
 * their options; a source without it cannot say what its rules are, and a router with such a
 * source shares no rejection beyond its own process.
 */
export const rulesDigest: unique symbol = Symbol.for('express-multiauth.rulesDigest');

/** Options that decide nothing about a token: where answers are kept, and how long a call may take. */
const NOT_RULES = new Set(['store', 'cache', 'timeoutMs']);

class Undescribable extends Error {}

/** `value` as canonical JSON (sorted keys); throws `Undescribable` for what has no stable spelling (a function, a key object). */
function canonical(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value === undefined) return null;
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('base64') };
  if (value instanceof URL) return value.href;
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Map) return canonical(Object.fromEntries(value));
  if (typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  throw new Undescribable();
}

/**
 * The digest of a source's rules, from its kind and options (minus where answers are kept and
 * time limits), or `undefined` when an option has no stable spelling across processes (a
 * resolver function, a validator function, a key object). Secrets go into the digest only.
 *
 * @example
 * describeRules('jwt', { issuer: 'https://a.example', audience: 'mcp' }); // a 64-character hex digest
 * describeRules('jwt', { issuer: () => 'https://a.example', audience: 'mcp' }); // undefined
 */
export function describeRules(kind: string, options: Record<string, unknown>): string | undefined {
  const relevant: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (!NOT_RULES.has(key)) relevant[key] = value;
  try {
    return createHash('sha256').update(JSON.stringify([kind, canonical(relevant)])).digest('hex');
  } catch (error) {
    if (error instanceof Undescribable) return undefined;
    throw error;
  }
}
