// jwtVerifier's `issuer` as a function (multi-tenant issuers): asking the application which
// issuers a token may name, and remembering, within a bound, the keys of those it approved.
// Safe by construction: an issuer is contacted only after the resolver approved it, so a flood
// of tokens naming made-up issuers costs a call of the resolver and nothing else.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import { InvalidTokenError, MultiAuthConfigError, TemporarilyUnavailableError } from '../core/errors';
import { shown } from '../core/redaction';
import type { PublicJwk, PublicJwkSet } from '../core/jwk';

/** One issuer the resolver approves, with keys of its own (else the verifier's, or discovery). */
export interface IssuerConfig {
  /** The `iss` value, exactly as tokens carry it. */
  issuer: string;
  /** Where this issuer publishes its keys. */
  jwksUri?: string | URL;
  /** This issuer's verification key(s): SPKI PEM, public JWK or JWKS. */
  publicKey?: string | PublicJwk | PublicJwkSet;
  /** This issuer's HMAC secret (at least 32 bytes). */
  secret?: string | Uint8Array;
  /** Accepted `alg` values for this issuer; default as for the verifier's own keys. */
  algorithms?: readonly string[];
  /** express-oauth2-jwt-bearer's spelling of a single allowed algorithm: `alg: 'RS256'` is `algorithms: ['RS256']`. */
  alg?: string;
}

/** What the resolver is given: the token's unverified `iss`, claims and header, and the request. */
export interface IssuerResolverContext {
  /** The token's `iss`, not yet verified: approve it only if your deployment trusts it. */
  iss: string;
  /** The token's claims, not yet verified (e.g. Entra's `tid`). */
  claims: Readonly<Record<string, unknown>>;
  /** The token's JOSE header, not yet verified. */
  header: Readonly<Record<string, unknown>>;
  /** The HTTP request, when there is one (absent for `auth.verify(token)`). */
  req?: IncomingMessage;
}

/** The issuers a token may name: strings (keys as the verifier's options say) or configs with keys of their own. */
export type IssuerResolverResult = string | readonly string[] | readonly IssuerConfig[];

/**
 * `jwtVerifier({ issuer })` as a function: returns the issuers this token may come from (the
 * token's `iss` must be one of them), or `[]` to refuse it. Throwing is a failure (503): the
 * verifier could not decide.
 */
export type IssuerResolver = (context: IssuerResolverContext) => IssuerResolverResult | Promise<IssuerResolverResult>;

const CONFIG_MEMBERS = new Set(['issuer', 'jwksUri', 'publicKey', 'secret', 'algorithms', 'alg']);

/** Default bound of remembered issuers (each with its key set and metadata). */
export const DEFAULT_MAX_ISSUERS = 100;

function failure(message: string, cause?: unknown, permanent = false): TemporarilyUnavailableError {
  return new TemporarilyUnavailableError(`issuer resolver: ${message}`, { ...(cause === undefined ? {} : { cause }), permanent });
}

/** Stands for a config in the cache key, so a changed config gets fresh keys; secrets only as a digest. */
function fingerprint(config: IssuerConfig): string {
  const secret = config.secret === undefined ? undefined : createHash('sha256').update(config.secret).digest('base64url');
  const jwksUri = config.jwksUri instanceof URL ? config.jwksUri.href : config.jwksUri;
  return JSON.stringify([jwksUri, config.publicKey, secret, config.algorithms, config.alg]);
}

/** The resolver's answer as configs, or a failure saying what was wrong with it. */
function readResult(result: unknown): Array<IssuerConfig | string> {
  const list = typeof result === 'string' ? [result] : Array.isArray(result) ? (result as unknown[]) : undefined;
  if (!list) throw failure(`it returned ${typeof result}; return a string, an array of strings or of { issuer, ... } objects`, undefined, true);
  return list.map((entry) => {
    if (typeof entry === 'string' && entry !== '') return entry;
    if (entry !== null && typeof entry === 'object' && !Array.isArray(entry) && typeof (entry as IssuerConfig).issuer === 'string') {
      const unknown = Object.keys(entry).find((key) => !CONFIG_MEMBERS.has(key));
      if (unknown !== undefined) throw failure(`an issuer config has the unknown member "${unknown}"`, undefined, true);
      return entry as IssuerConfig;
    }
    throw failure(`it returned an entry that is neither an issuer string nor { issuer, ... }: ${shown(entry, 60)}`, undefined, true);
  });
}

/**
 * Approves issuers through the application's resolver and remembers the keys of each approved
 * issuer that has keys of its own (its config, or discovery), at most `max` of them (least
 * recently used first out). `build` turns an approved issuer into its keys, validating its
 * options; it throws `MultiAuthConfigError` for options that cannot work.
 *
 * @example
 * const approved = new ApprovedIssuers(({ iss }) => (tenants.has(iss) ? iss : []), build, shared, 100);
 * const keys = await approved.approve({ iss, claims, header });
 */
export class ApprovedIssuers<Keys extends object> {
  private readonly remembered: LRUCache<string, { fingerprint: string; keys: Keys }>;

  constructor(
    private readonly resolver: IssuerResolver,
    /** Keys for one approved issuer; `config` absent for a plain string (the verifier's own key options, or discovery). */
    private readonly build: (issuer: string, config: IssuerConfig | undefined) => Keys,
    /** The verifier's own keys, shared by every issuer approved as a plain string; `undefined` means discovery per issuer. */
    private readonly shared: Keys | undefined,
    max: number,
  ) {
    this.remembered = new LRUCache({ max });
  }

  /** How many issuers' keys are remembered now (for tests and diagnostics). */
  get size(): number {
    return this.remembered.size;
  }

  /**
   * The keys to verify a token naming `context.iss` with. Throws `InvalidTokenError` when the
   * resolver does not approve that issuer, `TemporarilyUnavailableError` when it throws or
   * returns something unusable, or when the approved issuer's options cannot work.
   */
  async approve(context: IssuerResolverContext): Promise<Keys> {
    let result: unknown;
    try {
      result = await this.resolver(context);
    } catch (error) {
      throw failure(`it threw: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    const approved = readResult(result).find((entry) => (typeof entry === 'string' ? entry : entry.issuer) === context.iss);
    if (approved === undefined) throw new InvalidTokenError(`JWT "iss" ${shown(context.iss)} is not one the issuer resolver approves`);
    const config = typeof approved === 'string' ? undefined : approved;
    const ownKeys = config !== undefined && (config.jwksUri !== undefined || config.publicKey !== undefined || config.secret !== undefined);
    if (!ownKeys && this.shared !== undefined && config?.algorithms === undefined && config?.alg === undefined) return this.shared;
    const print = config === undefined ? '' : fingerprint(config);
    const known = this.remembered.get(context.iss);
    if (known && known.fingerprint === print) return known.keys;
    let keys: Keys;
    try {
      keys = this.build(context.iss, config);
    } catch (error) {
      if (error instanceof MultiAuthConfigError) throw failure(`issuer ${shown(context.iss)}: ${error.message}`, error, true);
      throw error;
    }
    this.remembered.set(context.iss, { fingerprint: print, keys });
    return keys;
  }
}
