// Keys, issuers and tokens for the benchmark. Every issuer has its own RSA-2048 key (RS256 is
// what most identity providers sign access tokens with); tokens are signed here with
// node:crypto so that no library under test takes part in making them.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const AUDIENCE = 'https://mcp.bench.test/mcp';
export const CLIENT_ID = 'bench-client';
/** The primary and the six JWT sources of configurations 6 and 7, in the order multiAuth tries them. */
export const SOURCE_NAMES = ['primary', 'jwt-1', 'jwt-2', 'jwt-3', 'jwt-4', 'jwt-5', 'jwt-6'];
/** The source whose issuer signs the benchmark token: the last JWT source of configuration 6. */
export const TARGET_SOURCE = 'jwt-6';

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** One RSA key per source: `{ name, issuer, kid, privateKey, jwk }`. */
export function makeIssuers() {
  return SOURCE_NAMES.map((name) => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = `${name}-${randomBytes(4).toString('hex')}`;
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
    return { name, issuer: `https://${name}.bench.test`, kid, privateKey, jwk };
  });
}

export function signRs256(header, payload, privateKey) {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** A valid RFC 9068-shaped access token from `issuer`, good for `lifetimeS` seconds, with `claims` added. */
export function accessToken(issuer, lifetimeS = 3600, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  return signRs256(
    { alg: 'RS256', typ: 'at+jwt', kid: issuer.kid },
    {
      iss: issuer.issuer,
      aud: AUDIENCE,
      sub: 'bench-user',
      client_id: CLIENT_ID,
      scope: 'mcp:read mcp:write',
      iat: now,
      exp: now + lifetimeS,
      jti: randomBytes(8).toString('hex'),
      ...claims,
    },
    issuer.privateKey,
  );
}

/**
 * A client's DPoP key (ES256, what the MCP SDK's DpopSession uses by default): the private
 * KeyObject, the public JWK and its RFC 7638 thumbprint (a bound token's `cnf.jkt`).
 */
export function dpopKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const jwk = { kty, crv, x, y };
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  return { privateKey, jwk, jkt };
}

/** A fresh DPoP proof (RFC 9449 §4.2) by `key` for `htm htu`, with `ath` for `token`. */
export function dpopProof(key, htm, htu, token) {
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk };
  const payload = {
    jti: randomBytes(12).toString('base64url'),
    htm,
    htu,
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(token).digest('base64url'),
  };
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/**
 * `count` distinct tokens shaped like real access tokens (right audience, live `exp`, RS256,
 * a 2048-bit-sized signature) but naming issuers no source knows, as a flood would. They are
 * not really signed: no source may get as far as checking a signature, and RSA-signing
 * tens of thousands of tokens would slow the benchmark down for nothing.
 */
export function foreignTokens(count) {
  const now = Math.floor(Date.now() / 1000);
  const tokens = new Array(count);
  for (let i = 0; i < count; i++) {
    const header = { alg: 'RS256', typ: 'at+jwt', kid: `k${i % 97}` };
    const payload = {
      iss: `https://unknown-${i % 1000}.attacker.test`,
      aud: AUDIENCE,
      sub: `user-${i}`,
      client_id: `client-${i % 50}`,
      scope: 'mcp:read mcp:write',
      iat: now,
      exp: now + 3600,
      jti: randomBytes(8).toString('hex'),
    };
    tokens[i] = `${b64url(header)}.${b64url(payload)}.${randomBytes(256).toString('base64url')}`;
  }
  return tokens;
}

/**
 * A self-signed certificate and its P-256 key, made by the openssl command line as an operator
 * would: `{ cert, key }` PEMs and `x5tS256`, the RFC 8705 thumbprint a token bound to it carries
 * (base64url of the SHA-256 of the DER). `san` adds subjectAltNames (for the server's own).
 */
export function certificate(commonName, san) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-mtls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${commonName}`,
      '-days', '2', '-keyout', keyFile, '-out', certFile, ...(san ? ['-addext', `subjectAltName=${san}`] : []),
    ], { stdio: 'pipe' });
    const der = execFileSync('openssl', ['x509', '-in', certFile, '-outform', 'DER']);
    return {
      cert: readFileSync(certFile, 'utf8'),
      key: readFileSync(keyFile, 'utf8'),
      x5tS256: createHash('sha256').update(der).digest('base64url'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
