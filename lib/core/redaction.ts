/**
 * Keeping tokens out of what operators read. A source's error message is relayed into
 * `Decision.attempts[].reason`; a source that quotes the start of the token
 * (`unknown key ${token.slice(0, 12)}…`) would otherwise put a usable piece of a secret into the
 * logs, and a static API key is short enough that a third of it matters.
 */

/**
 * A value from a token or an answer, fit for a reason: JSON (so quotes and control characters are
 * escaped) and at most `max` characters, since a claim can be as long as the token.
 *
 * @example
 * shown('https://login.example.com/'); // '"https://login.example.com/"'
 */
export function shown(value: unknown, max = 120): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Shortest piece of a token that is scrubbed: long enough that fixed words rarely collide with a token by chance. */
export const REDACT_MIN_LENGTH = 8;
const REPLACEMENT = '[redacted]';

/**
 * `text` with every run of characters that is also a substring of `token`, at least
 * {@link REDACT_MIN_LENGTH} long, replaced by `[redacted]` (a shorter token: wherever it occurs
 * whole). Overlapping and adjacent pieces merge into one replacement. `text` is returned as is
 * when nothing matches.
 *
 * @example
 * redactToken('unknown key eyJhbGciOiJS…', 'eyJhbGciOiJSUzI1NiJ9.e30.sig');
 * // 'unknown key [redacted]…'
 */
export function redactToken(text: string, token: string): string {
  if (token === '') return text;
  // A token shorter than a piece is a secret all the same: scrubbed whole.
  if (token.length < REDACT_MIN_LENGTH) return text.includes(token) ? text.split(token).join(REPLACEMENT) : text;
  if (text.length < REDACT_MIN_LENGTH) return text;
  // Marks, per character of `text`, whether some window covering it occurs in the token.
  let marked: Uint8Array | undefined;
  for (let i = 0; i + REDACT_MIN_LENGTH <= text.length; i++) {
    if (token.includes(text.slice(i, i + REDACT_MIN_LENGTH))) {
      marked ??= new Uint8Array(text.length);
      marked.fill(1, i, i + REDACT_MIN_LENGTH);
    }
  }
  if (!marked) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (marked[i] === 0) out += text[i];
    else if (i === 0 || marked[i - 1] === 0) out += REPLACEMENT;
  }
  return out;
}
