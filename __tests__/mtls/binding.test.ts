// Whether an accepted token fits the request's client certificate (RFC 8705 §3): the rule alone,
// before the chain applies it.
import { certificateProblem } from '../../lib/mtls/binding';
import type { PresentedCertificate } from '../../lib/mtls/certificate';

const bound = 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2';
const other = 'A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0';
const tls = (x5tS256: string): PresentedCertificate => ({ x5tS256, from: 'tls' });
const none = new Set<string>();

describe('a certificate-bound token (cnf["x5t#S256"])', () => {
  it('fits a request whose client certificate has that thumbprint', () => {
    expect(certificateProblem({ 'x5t#S256': bound }, 'partners', tls(bound), none)).toBeUndefined();
  });

  it('does not fit a request without a client certificate', () => {
    expect(certificateProblem({ 'x5t#S256': bound }, 'partners', undefined, none)).toBe(
      'the token is certificate-bound (cnf["x5t#S256"]), but the request came without a client certificate',
    );
  });

  it('does not fit another certificate, and the reason names neither thumbprint', () => {
    const reason = certificateProblem({ 'x5t#S256': bound }, 'partners', tls(other), none);
    expect(reason).toBe('the client certificate of the TLS connection is not the one the token is bound to (its SHA-256 thumbprint differs from cnf["x5t#S256"])');
    expect(reason).not.toContain(bound.slice(0, 8));
    expect(reason).not.toContain(other.slice(0, 8));
  });

  it('says when the mismatching certificate came from a trusted proxy', () => {
    expect(certificateProblem({ 'x5t#S256': bound }, 'partners', { x5tS256: other, from: 'header' }, none)).toMatch(/in the trusted proxy's header/);
  });

  it.each([[''], [42], [null], [{ value: bound }]])('with a thumbprint that is not a string (%p) fits nothing', (value) => {
    expect(certificateProblem({ 'x5t#S256': value }, 'partners', tls(bound), none)).toBe('the token\'s cnf["x5t#S256"] is not a certificate thumbprint');
  });

  it('bound to a key as well is judged here on its certificate only (DPoP checks jkt)', () => {
    expect(certificateProblem({ jkt: 'some-key', 'x5t#S256': bound }, 'partners', tls(bound), none)).toBeUndefined();
    expect(certificateProblem({ jkt: 'some-key', 'x5t#S256': bound }, 'partners', undefined, none)).toMatch(/without a client certificate/);
  });
});

describe('a token not bound to a certificate', () => {
  it('passes where nothing requires binding, with or without a certificate', () => {
    expect(certificateProblem(undefined, 'partners', undefined, none)).toBeUndefined();
    expect(certificateProblem(undefined, 'partners', tls(bound), none)).toBeUndefined();
    expect(certificateProblem({ jkt: 'some-key' }, 'partners', undefined, none)).toBeUndefined();
  });

  it('is refused by a source that requires certificate-bound tokens, naming the source', () => {
    expect(certificateProblem(undefined, 'partners', tls(bound), new Set(['partners']))).toBe(
      'source "partners" accepts certificate-bound tokens (cnf["x5t#S256"]) only',
    );
    expect(certificateProblem({ jkt: 'some-key' }, 'primary', tls(bound), true)).toMatch(/source "primary" accepts certificate-bound tokens/);
  });

  it('passes a source that is not among those that require binding', () => {
    expect(certificateProblem(undefined, 'internal', undefined, new Set(['partners']))).toBeUndefined();
  });
});
