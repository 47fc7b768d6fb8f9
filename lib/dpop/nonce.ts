import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Stateless server nonces (RFC 9449 §8/§9): the nonce of a time window is an HMAC of the window's
 * number under a secret, so any replica holding the secret issues and checks the same nonces
 * with nothing shared at run time. A nonce is good in its own window and the next one: between
 * one and two lifetimes.
 */
export class NonceSource {
  private window = -1;
  private currentNonce = '';
  private previousNonce = '';

  constructor(
    private readonly secret: Uint8Array,
    private readonly lifetimeSeconds: number,
  ) {}

  private nonceOf(window: number): string {
    return createHmac('sha256', this.secret).update(`express-multiauth dpop-nonce ${window}`).digest('base64url');
  }

  /** Computes a window's pair once, not per request. */
  private advance(nowSeconds: number): void {
    const window = Math.floor(nowSeconds / this.lifetimeSeconds);
    if (window === this.window) return;
    this.previousNonce = window === this.window + 1 ? this.currentNonce : this.nonceOf(window - 1);
    this.currentNonce = this.nonceOf(window);
    this.window = window;
  }

  /** The nonce to hand out now (in `DPoP-Nonce`). */
  current(nowSeconds: number): string {
    this.advance(nowSeconds);
    return this.currentNonce;
  }

  /** Whether `nonce` was issued in this window or the one before. */
  accepts(nonce: unknown, nowSeconds: number): boolean {
    if (typeof nonce !== 'string') return false;
    this.advance(nowSeconds);
    const given = Buffer.from(nonce);
    return equal(given, this.currentNonce) || equal(given, this.previousNonce);
  }
}

function equal(given: Buffer, expected: string): boolean {
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
