// JSON Web Keys as the public options take them. Declared here rather than imported from jose:
// jose ships ESM only, and CommonJS declarations (dist/index.d.ts) that import its types fail
// to compile for consumers with `module: node16` and `skipLibCheck: false` (TS1479). jose's own
// `JWK` and `JSONWebKeySet` are assignable to these, so its users pass them unchanged.

/**
 * A public JSON Web Key (RFC 7517), e.g. one entry of an issuer's JWKS.
 *
 * @example
 * const key: PublicJwk = { kty: 'EC', crv: 'P-256', x: '...', y: '...', kid: 'k1' };
 */
export interface PublicJwk {
  /** Key type: `RSA`, `EC`, `OKP`. */
  kty?: string;
  /** Key id, matched against a token's `kid`. */
  kid?: string;
  /** The one algorithm this key is for, when it says. */
  alg?: string;
  /** Intended use; `sig` for a verification key. */
  use?: string;
  /** Any other member of the key (`n`, `e`, `crv`, `x`, `y`, ...). */
  [member: string]: unknown;
}

/**
 * A JSON Web Key Set (RFC 7517 §5).
 *
 * @example
 * const jwks: PublicJwkSet = { keys: [{ kty: 'EC', crv: 'P-256', x: '...', y: '...' }] };
 */
export interface PublicJwkSet {
  /** The keys. */
  keys: PublicJwk[];
}
