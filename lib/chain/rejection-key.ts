import { createHash } from 'node:crypto';
import { rulesDigest } from '../core/rules';
import type { ResolvedDpopOptions } from '../dpop/options';
import type { InspectedToken } from '../core/types';
import type { BindingEvidence } from './binding';
import type { NamedSource } from './source-chain';

/**
 * The digest of the rules a router's rejections depend on: its sources in order (each one's name
 * and the digest of its own rules: issuers, audiences, keys, endpoint) and its DPoP settings, or
 * `undefined` when a source cannot say what its rules are (a custom verifier, a wrapped
 * middleware, a resolver function). Only routers with the same digest may serve each other's
 * rejections through a shared store; without one, rejections stay in the process that made them.
 *
 * @example
 * routerRules([{ name: 'jwt', verifier: jwtVerifier({ issuer, audience }) }], undefined); // a hex digest
 */
export function routerRules(sources: readonly NamedSource[], dpop: ResolvedDpopOptions | undefined): string | undefined {
  const described: Array<[string, string]> = [];
  for (const { name, verifier } of sources) {
    const digest = verifier[rulesDigest];
    if (typeof digest !== 'string') return undefined;
    described.push([name, digest]);
  }
  const dpopRules = dpop
    ? { required: dpop.required === true ? true : [...dpop.required].sort(), algorithms: [...dpop.algorithms].sort() }
    : false;
  return createHash('sha256').update(JSON.stringify({ sources: described, dpop: dpopRules })).digest('hex');
}

/**
 * The kind of request a rejection is remembered for: `'bearer'`, or the verified DPoP proof's key
 * (and the client certificate's thumbprint, when one was shown). A thief's proof by their own key
 * is another kind than the owner's, so its refusal never refuses the owner.
 *
 * @example
 * requestKind({}); // 'bearer'
 * requestKind({ dpopJkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' }); // 'dpop NzbLs…'
 */
export function requestKind(evidence: BindingEvidence): string {
  let kind = evidence.dpopJkt === undefined ? 'bearer' : `dpop ${evidence.dpopJkt}`;
  if (evidence.x5tS256 !== undefined) kind += ` cert ${evidence.x5tS256}`;
  return kind;
}

/**
 * The shared store's id for a rejection: the router's rules, the kind of request, the token's
 * digest. A refusal by other rules, or of the token presented another way, is another id.
 *
 * @example
 * store.get('rejected', rejectionId(rules, 'bearer', token), isOne);
 */
export function rejectionId(rules: string, kind: string, token: InspectedToken): string {
  return `${rules}\0${kind}\0${token.identityKey}`;
}
