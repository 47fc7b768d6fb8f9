import { createHash, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIPv4 } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { InvalidRequestError } from '../core/errors';
import type { ResolvedMtlsOptions } from './options';

/** The client certificate a request presented, as far as binding needs it. */
export interface PresentedCertificate {
  /** RFC 8705 §3.1: base64url (no padding) of the SHA-256 of the certificate's DER. */
  x5tS256: string;
  /** Where it came from: the request's own TLS connection, or a trusted proxy's header. */
  from: 'tls' | 'header';
}

/**
 * A DER certificate of a few kilobytes fits many times over; Node's own limit on all headers
 * together (16 KiB by default) normally stops bigger ones first, but a server started with a
 * larger `maxHeaderSize` must not hand X.509 parsing megabytes.
 */
const MAX_HEADER_LENGTH = 16_384;
/** RFC 8941 §3.3.5 Byte Sequence: `:` base64 `:`; padding may be left off (§4.2.7). */
const BYTE_SEQUENCE = /^:([A-Za-z0-9+/]+={0,2}):$/;

/**
 * RFC 8705 §3.1's `x5t#S256` of a DER certificate: base64url (no padding) of its SHA-256.
 *
 * @example
 * certificateThumbprint(new X509Certificate(readFileSync('client.pem')).raw);
 * // -> 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2', what a token bound to it has in cnf["x5t#S256"]
 */
export function certificateThumbprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * The certificate the client presented on this TLS connection, or `undefined` (plain HTTP, or
 * no certificate). Whether the server verified it does not matter: the TLS handshake proved the
 * client holds its private key, which is all a certificate-bound token asks (RFC 8705 §2.2).
 */
function tlsCertificate(req: IncomingMessage): Buffer | undefined {
  const socket = req.socket as Partial<TLSSocket> | undefined;
  if (typeof socket?.getPeerX509Certificate !== 'function') return undefined;
  // The peer's certificate alone (no chain check: RFC 8705 §2.2 allows self-signed ones), as
  // X509Certificate: its DER in about a quarter of the time getPeerCertificate() takes to build
  // its object of parsed fields, which nothing here reads.
  const raw = socket.getPeerX509Certificate()?.raw;
  return raw && raw.length > 0 ? raw : undefined;
}

/** How many times the field named `lowerName` appears; Node joins repeats of unknown fields with ", ". */
function countFields(req: IncomingMessage, lowerName: string): number {
  const raw = req.rawHeaders;
  if (!raw) return req.headers[lowerName] === undefined ? 0 : 1;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === lowerName.length && raw[i].toLowerCase() === lowerName) count++;
  return count;
}

/** Whether the peer that sent the request (the TCP peer, whatever `trust proxy` says) is a trusted proxy. */
function fromTrustedProxy(req: IncomingMessage, options: ResolvedMtlsOptions): boolean {
  const address = req.socket?.remoteAddress;
  if (options.proxies === undefined || address === undefined) return false;
  return options.proxies.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

/**
 * The DER of an RFC 9440 `Client-Cert` value, after X.509 parsing accepted it whole: trailing
 * bytes after the certificate, or anything that is not a certificate, make it malformed.
 */
function headerCertificate(value: string, name: string): Buffer {
  const malformed = (): never => {
    throw new InvalidRequestError(`The ${name} header is not an RFC 9440 certificate (":" base64 DER ":")`);
  };
  if (value.length > MAX_HEADER_LENGTH) malformed();
  const match = BYTE_SEQUENCE.exec(value);
  if (!match) return malformed();
  const der = Buffer.from(match[1], 'base64');
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(der);
  } catch {
    return malformed();
  }
  if (parsed.raw.length !== der.length) malformed();
  return der;
}

/**
 * The client certificate of `req` under `multiAuth`'s `mtls` options: the TLS connection's, or
 * the one a trusted proxy forwards in `options.header` (RFC 9440), or `undefined` when there is
 * none. Throws `InvalidRequestError` (400) when the header comes from a peer that is not a
 * trusted proxy, appears more than once, is malformed, or names another certificate than the
 * one on the TLS connection it came over: a request that claims a certificate it may not have.
 *
 * @example
 * const cert = presentedCertificate(req, resolveMtlsOptions({ trustedProxies: ['10.0.0.0/8'] }, names)!);
 * if (cert && cert.x5tS256 === payload.cnf['x5t#S256']) { // bound to this client
 * }
 */
export function presentedCertificate(req: IncomingMessage, options: ResolvedMtlsOptions): PresentedCertificate | undefined {
  const name = options.header;
  const value = req.headers[name];
  const tls = tlsCertificate(req);
  if (value === undefined) return tls && { x5tS256: certificateThumbprint(tls), from: 'tls' };
  const display = name === 'client-cert' ? 'Client-Cert' : name;
  // Anyone can write a header: only a proxy that terminated the client's TLS itself knows which
  // certificate the client proved it holds.
  if (!fromTrustedProxy(req, options)) throw new InvalidRequestError(`The ${display} header is accepted from trusted proxies only`);
  const count = countFields(req, name);
  if (count > 1 || typeof value !== 'string') throw new InvalidRequestError(`The request has ${count} ${display} headers; send one`);
  const x5tS256 = certificateThumbprint(headerCertificate(value, display));
  if (tls && certificateThumbprint(tls) !== x5tS256) {
    throw new InvalidRequestError(`The ${display} header names another certificate than the connection's own`);
  }
  return { x5tS256, from: 'header' };
}
