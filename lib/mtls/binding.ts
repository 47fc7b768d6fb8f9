import type { PresentedCertificate } from './certificate';

/** The confirmation member RFC 8705 §3.1 defines: the bound certificate's SHA-256 thumbprint. */
export const X5T_S256 = 'x5t#S256';

/** The token's `cnf["x5t#S256"]`, `undefined` when `cnf` has none (whatever else it holds). */
export function boundThumbprint(cnf: unknown): unknown {
  return cnf !== null && typeof cnf === 'object' ? (cnf as Record<string, unknown>)[X5T_S256] : undefined;
}

/**
 * Why an accepted token may not be used with the certificate the request presented, or
 * `undefined` when it may (RFC 8705 §3): a token bound to a certificate (`cnf["x5t#S256"]`)
 * needs a request whose client certificate has that SHA-256 thumbprint; a source listed in
 * `required` accepts certificate-bound tokens only. Other confirmation methods in `cnf` (DPoP's
 * `jkt`) are checked elsewhere, and a token bound by both needs both. Reasons name what did not
 * match, never a certificate or a thumbprint.
 *
 * @example
 * certificateProblem({ 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }, 'partners', undefined, new Set());
 * // 'the token is certificate-bound (cnf["x5t#S256"]), but the request came without a client certificate'
 */
export function certificateProblem(
  cnf: unknown,
  source: string,
  certificate: PresentedCertificate | undefined,
  required: true | ReadonlySet<string>,
): string | undefined {
  const expected = boundThumbprint(cnf);
  if (expected === undefined) {
    if (required === true || required.has(source)) return `source "${source}" accepts certificate-bound tokens (cnf["x5t#S256"]) only`;
    return undefined;
  }
  if (typeof expected !== 'string' || expected === '') return 'the token\'s cnf["x5t#S256"] is not a certificate thumbprint';
  if (certificate === undefined) return 'the token is certificate-bound (cnf["x5t#S256"]), but the request came without a client certificate';
  if (certificate.x5tS256 !== expected) {
    const where = certificate.from === 'tls' ? 'of the TLS connection' : 'in the trusted proxy\'s header';
    return `the client certificate ${where} is not the one the token is bound to (its SHA-256 thumbprint differs from cnf["x5t#S256"])`;
  }
  return undefined;
}
