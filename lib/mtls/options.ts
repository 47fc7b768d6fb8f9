// lib/mtls/: RFC 8705 certificate-bound access tokens on the resource server: the options
// (options) and where the request's client certificate comes from, the TLS socket or an RFC 9440
// header sent by a trusted proxy (certificate). Whether an accepted token's `cnf["x5t#S256"]`
// fits it is the chain's one binding rule (chain/binding). node:crypto's X509Certificate parses
// certificates; this folder decides which one counts. May import core/ and http/.

import { BlockList, isIP } from 'node:net';
import { MultiAuthConfigError } from '../core/errors';
import { refuseUnknownOptions, requiredSources } from '../core/options';

/** `multiAuth({ mtls })`: accept certificate-bound access tokens (RFC 8705 §3). */
export interface MtlsOptions {
  /**
   * `true`: every source's tokens must be certificate-bound (`cnf["x5t#S256"]`). A list of
   * source names: those sources' tokens must be bound; the others may still be plain Bearer
   * tokens. Default `false`: bound tokens need their certificate, unbound ones are Bearer tokens
   * as before.
   */
  required?: boolean | readonly string[];
  /**
   * Peers allowed to send the client certificate in `header` (RFC 9440), because they terminated
   * the client's TLS connection themselves: IPv4 or IPv6 addresses, or CIDR ranges
   * (`10.0.0.0/8`, `fd00::/8`). The header from any other peer is refused with 400. Default none:
   * only the certificate of the request's own TLS connection counts.
   */
  trustedProxies?: readonly string[];
  /** The field a trusted proxy puts the certificate in, as RFC 9440 `:base64 DER:`. Default `Client-Cert`. */
  header?: string;
}

/** {@link MtlsOptions}, checked, with defaults. */
export interface ResolvedMtlsOptions {
  required: true | ReadonlySet<string>;
  /** The trusted proxies' addresses, or `undefined` when there are none (the header is never honoured). */
  proxies: BlockList | undefined;
  /** The header's name, lower case, as Node keys `req.headers`. */
  header: string;
}

const KNOWN = ['required', 'trustedProxies', 'header'];
/** RFC 9110 §5.1 field-name (token). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Fields a proxy or Node itself interprets: a certificate there would be read as something else too. */
const RESERVED_HEADERS = new Set(['authorization', 'dpop', 'host', 'cookie', 'content-length', 'transfer-encoding', 'forwarded', 'x-forwarded-for']);

function fail(message: string): never {
  throw new MultiAuthConfigError(`multiAuth: mtls.${message}`);
}

/** Adds one address or CIDR range to `list`, or refuses it with a message that shows the right form. */
function addProxy(list: BlockList, entry: unknown, index: number): void {
  const example = 'an IP address or CIDR range such as "10.0.0.5", "10.0.0.0/8" or "fd00::/8"';
  if (typeof entry !== 'string' || entry.trim() !== entry || entry === '') {
    fail(`trustedProxies[${index}] must be ${example}, got ${JSON.stringify(entry)}`);
  }
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) fail(`trustedProxies[${index}]: ${JSON.stringify(entry)} is not ${example}`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) {
    list.addAddress(address, family);
    return;
  }
  const bits = entry.slice(slash + 1);
  const prefix = Number(bits);
  const max = version === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || prefix > max) fail(`trustedProxies[${index}]: ${JSON.stringify(entry)} has a prefix length outside 0-${max}`);
  // "0.0.0.0/0" would let every peer speak for the client: the header would then prove nothing.
  if (prefix === 0) fail(`trustedProxies[${index}]: ${JSON.stringify(entry)} trusts every address; list the proxies' own addresses or subnets`);
  list.addSubnet(address, prefix, family);
}

/**
 * Checks `multiAuth`'s `mtls` option once, at construction. `sourceNames` are the chain's
 * sources, so that `required` cannot name one that does not exist (a typo there would silently
 * leave that source's tokens usable without a certificate).
 *
 * @example
 * resolveMtlsOptions({ required: ['partners'], trustedProxies: ['10.0.0.0/8'] }, ['primary', 'partners']);
 * // { required: Set { 'partners' }, proxies: BlockList, header: 'client-cert' }
 */
export function resolveMtlsOptions(options: unknown, sourceNames: readonly string[]): ResolvedMtlsOptions | undefined {
  if (options === undefined || options === false) return undefined;
  const given = options === true ? {} : options;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new MultiAuthConfigError('multiAuth: mtls must be true or an object { required?, trustedProxies?, header? }');
  }
  const o = given as Record<string, unknown>;
  refuseUnknownOptions('multiAuth', o, KNOWN, 'mtls');

  const required = requiredSources(o.required, sourceNames, 'multiAuth: mtls.');

  let proxies: BlockList | undefined;
  if (o.trustedProxies !== undefined) {
    const list = o.trustedProxies;
    if (!Array.isArray(list)) fail('trustedProxies must be a list of IP addresses or CIDR ranges, e.g. ["10.0.0.5", "fd00::/8"]');
    if (list.length > 0) {
      proxies = new BlockList();
      list.forEach((entry, index) => addProxy(proxies as BlockList, entry, index));
    }
  }

  let header = 'client-cert';
  if (o.header !== undefined) {
    if (typeof o.header !== 'string' || !FIELD_NAME.test(o.header)) {
      fail(`header must be an HTTP field name such as "Client-Cert", got ${JSON.stringify(o.header)}`);
    }
    header = o.header.toLowerCase();
    if (RESERVED_HEADERS.has(header)) fail(`header "${o.header}" already means something else to HTTP or to this package; use e.g. "Client-Cert"`);
  }

  return { required, proxies, header };
}
