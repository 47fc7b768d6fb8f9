/**
 * Differential suite: jose decides every JWT (API.md, "How a JWT is decided").
 *
 * Every token here goes through three deciders configured alike:
 *   1. `jwtVerifier(options).verifyAccessToken(token)`,
 *   2. `multiAuth({ verifiers: jwtVerifier(options) }).verify(token)`,
 *   3. `jose.jwtVerify(token, key, options)` with the same key and the same options.
 * The suite fails when the package accepts a token jose refuses, when it refuses one jose
 * accepts for a reason not listed in INTENTIONAL_DIFFERENCES below, when an accepted token's
 * `payload`/`header` differ from what jose verified, and when any decider throws anything but a
 * documented refusal.
 *
 * Tokens are hand-made (every algorithm, key confusion, `none`, kid tricks, base64 spellings,
 * segment lengths, JSON edge cases, time boundaries on a frozen clock) and generated with
 * fast-check (byte flips per segment, header/payload JSON mutated then re-signed with the right
 * key, segment swaps). DIFFERENTIAL_RUNS raises the number of generated tokens per property
 * (`npm run differential` runs a longer pass).
 */
import {
  constants,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWK, type JWTVerifyOptions } from 'jose';
import { multiAuth } from '../../lib/chain/multi-auth';
import { MultiAuthError } from '../../lib/core/errors';
import type { MultiAuthInfo } from '../../lib/core/types';
import { jwtVerifier, type JwtVerifierOptions } from '../../lib/sources/jwt-verifier';

const RUNS = Number(process.env.DIFFERENTIAL_RUNS ?? 100);

/** The frozen clock: every decider reads this instant (only `Date` is faked). */
const NOW = 1_800_000_000;
const ISSUER = 'https://issuer.diff.test';
const OTHER_ISSUER = 'https://other.diff.test';
const AUDIENCE = 'https://mcp.diff.test/mcp';

// ---------------------------------------------------------------------------------------------
// The one place intentional differences are listed: the package refuses, jose accepts.
// (The reverse, the package accepting what jose refuses, is never intended.)
// ---------------------------------------------------------------------------------------------

/** A token split into its segments and leniently decoded, for the predicates below. */
interface Parts {
  token: string;
  segments: string[];
  headerBytes: Buffer;
  payloadBytes: Buffer;
  header: Record<string, unknown> | undefined;
  payload: Record<string, unknown> | undefined;
}

const INTENTIONAL_DIFFERENCES: ReadonlyArray<{ id: string; reason: string; applies: (parts: Parts) => boolean }> = [
  {
    id: 'no-exp',
    reason: 'RFC 9068 §2.2 and API.md: an access token must carry exp; a token without it would never expire',
    applies: (p) => p.payload !== undefined && !Object.hasOwn(p.payload, 'exp'),
  },
  {
    id: 'exp-not-finite',
    reason: 'RFC 7519 §2 NumericDate: exp 1e400 parses as Infinity, which jose verifies as never expiring',
    applies: (p) => p.payload !== undefined && typeof p.payload.exp === 'number' && !Number.isFinite(p.payload.exp),
  },
  {
    id: 'crit',
    reason: 'RFC 7515 §4.1.11: this verifier supports no JWS extension (jose understands "b64")',
    applies: (p) => p.header !== undefined && p.header.crit !== undefined,
  },
  {
    id: 'cnf',
    reason: 'RFC 9449/8705: a sender-constrained token is refused as a bearer token (until DPoP proof binding)',
    applies: (p) => p.payload !== undefined && p.payload.cnf !== undefined,
  },
  {
    id: 'no-client-id',
    reason: 'API.md: req.auth.clientId comes from client_id, azp, then sub; a token without any is refused',
    applies: (p) => p.payload !== undefined && ![p.payload.client_id, p.payload.azp, p.payload.sub].some((v) => typeof v === 'string' && v !== ''),
  },
  {
    id: 'non-canonical-signature',
    reason: 'RFC 7515 §2: unpadded base64url; jose ignores stray low bits, so one signature would have several spellings (several cache keys)',
    applies: (p) => Buffer.from(p.segments[2] ?? '', 'base64url').toString('base64url') !== p.segments[2],
  },
  {
    id: 'segment-not-unpadded-base64url',
    reason: 'RFC 7515 §2, §7.1: header and payload are unpadded base64url; routing reads no other spelling (jose accepts "=" padding)',
    applies: (p) => !/^[A-Za-z0-9_-]+$/.test(p.segments[0] ?? '') || !/^[A-Za-z0-9_-]+$/.test(p.segments[1] ?? ''),
  },
  {
    id: 'utf8-bom',
    reason: "RFC 8259 §8.1: JSON text must not begin with a BOM; jose's TextDecoder strips one, the routing decode does not",
    applies: (p) => [p.headerBytes, p.payloadBytes].some((b) => b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf),
  },
  {
    id: 'json-too-deep',
    reason: 'API.md: too deep JSON is a rejection; routing refuses header or claims nested over 32 levels',
    applies: (p) => depthOfText(p.headerBytes.toString('utf8')) > 32 || depthOfText(p.payloadBytes.toString('utf8')) > 32,
  },
  {
    id: 'token-too-long',
    reason: 'API.md: too big JSON is a rejection; routing refuses tokens over 64 KiB',
    applies: (p) => p.token.length > 65_536,
  },
];

/** Nesting depth of JSON text by brackets outside strings (the test's own count, not lib's). */
function depthOfText(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') deepest = Math.max(deepest, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return deepest;
}

function partsOf(token: string): Parts {
  const segments = token.split('.');
  const headerBytes = Buffer.from(segments[0] ?? '', 'base64url');
  const payloadBytes = Buffer.from(segments[1] ?? '', 'base64url');
  const parse = (bytes: Buffer) => {
    try {
      const value: unknown = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  return { token, segments, headerBytes, payloadBytes, header: parse(headerBytes), payload: parse(payloadBytes) };
}

// ---------------------------------------------------------------------------------------------
// Keys and the configurations under test
// ---------------------------------------------------------------------------------------------

type Alg =
  | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'Ed25519'
  | 'HS256' | 'HS384' | 'HS512';

const ALL_ALGS: Alg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'];

/** Signing material: a private KeyObject, or HMAC key bytes. */
type SigningKey = KeyObject | Buffer;

function signBytes(alg: string, key: SigningKey, input: Buffer): Buffer {
  const bits = alg.slice(2);
  if (alg.startsWith('HS')) return createHmac(`sha${bits}`, key as Buffer).update(input).digest();
  if (alg.startsWith('RS')) return cryptoSign(`sha${bits}`, input, key as KeyObject);
  if (alg.startsWith('PS')) {
    return cryptoSign(`sha${bits}`, input, { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  }
  if (alg.startsWith('ES')) return cryptoSign(`sha${bits}`, input, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  return cryptoSign(null, input, key as KeyObject);
}

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url');

interface Build {
  /** Header: an object, or raw JSON text. */
  header: Record<string, unknown> | string;
  /** Payload: an object, or raw JSON text. */
  payload: Record<string, unknown> | string;
  /** How the signature is made: the algorithm actually used and its key; `null` for none. */
  signer: { alg: string; key: SigningKey } | null;
  /** Rewrites the two encoded segments before signing (spellings, lengths). */
  segments?: (header: string, payload: string) => [string, string];
}

function build({ header, payload, signer, segments }: Build): string {
  let h = b64(typeof header === 'string' ? header : JSON.stringify(header));
  let p = b64(typeof payload === 'string' ? payload : JSON.stringify(payload));
  if (segments) [h, p] = segments(h, p);
  const input = `${h}.${p}`;
  const signature = signer ? signBytes(signer.alg, signer.key, Buffer.from(input)).toString('base64url') : '';
  return `${input}.${signature}`;
}

interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JWK;
}

function pair(type: 'rsa' | 'ec' | 'ed25519', kid: string, curve?: string): KeyPair {
  const { privateKey, publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: curve as string })
        : generateKeyPairSync('ed25519');
  return { privateKey, publicKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, use: 'sig' } };
}

interface Config {
  name: string;
  options: Omit<JwtVerifierOptions, 'issuer' | 'audience'>;
  /** jose's equivalent: the key argument and the options the user gave, mapped one to one. */
  joseKey: Parameters<typeof jwtVerify>[1];
  joseOptions: JWTVerifyOptions;
  /** The right signer per algorithm this configuration accepts, with the kid to name. */
  signers: Array<{ alg: Alg; key: SigningKey; kid?: string }>;
  /** Keys that must never verify: another RSA key, the public key's bytes as an HMAC secret... */
  wrongSigners: Array<{ label: string; alg: Alg; key: SigningKey; kid?: string }>;
}

let configs: Config[];
let keys: Record<'rsa' | 'rsa2' | 'ec256' | 'ec384' | 'ec521' | 'ed', KeyPair>;

function setUpConfigs(): void {
  keys = {
    rsa: pair('rsa', 'rsa'),
    rsa2: pair('rsa', 'rsa'), // same kid, another key: a key that borrows a published kid
    ec256: pair('ec', 'ec256', 'P-256'),
    ec384: pair('ec', 'ec384', 'P-384'),
    ec521: pair('ec', 'ec521', 'P-521'),
    ed: pair('ed25519', 'ed'),
  };
  const jwks: JSONWebKeySet = { keys: [keys.rsa.jwk, keys.ec256.jwk, keys.ec384.jwk, keys.ec521.jwk, keys.ed.jwk] };
  const rsaPem = keys.rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const rsaDer = keys.rsa.publicKey.export({ format: 'der', type: 'spki' });
  const rsaJwkText = Buffer.from(JSON.stringify(keys.rsa.jwk));
  const secret = randomBytes(64);
  const ecOnly: JSONWebKeySet = { keys: [keys.ec256.jwk] };

  const base: JWTVerifyOptions = { issuer: ISSUER, audience: AUDIENCE };
  const asymmetric: Alg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
  const confusion = [
    { label: 'HS256 with the RSA PEM as secret', alg: 'HS256' as Alg, key: Buffer.from(rsaPem), kid: 'rsa' },
    { label: 'HS256 with the RSA DER as secret', alg: 'HS256' as Alg, key: rsaDer, kid: 'rsa' },
    { label: 'HS256 with the RSA JWK text as secret', alg: 'HS256' as Alg, key: rsaJwkText, kid: 'rsa' },
    { label: 'RS256 by another key under the published kid', alg: 'RS256' as Alg, key: keys.rsa2.privateKey, kid: 'rsa' },
    { label: 'ES256 by the P-384 key', alg: 'ES256' as Alg, key: keys.ec384.privateKey, kid: 'ec256' },
  ];
  configs = [
    {
      name: 'JWKS of RSA, EC P-256/384/521 and Ed25519 keys, default algorithms',
      options: { publicKey: jwks },
      joseKey: createLocalJWKSet(jwks),
      joseOptions: { ...base, algorithms: asymmetric, clockTolerance: 5 },
      signers: [
        ...(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as Alg[]).map((alg) => ({ alg, key: keys.rsa.privateKey, kid: 'rsa' })),
        { alg: 'ES256', key: keys.ec256.privateKey, kid: 'ec256' },
        { alg: 'ES384', key: keys.ec384.privateKey, kid: 'ec384' },
        { alg: 'ES512', key: keys.ec521.privateKey, kid: 'ec521' },
        { alg: 'EdDSA', key: keys.ed.privateKey, kid: 'ed' },
        { alg: 'Ed25519', key: keys.ed.privateKey, kid: 'ed' },
      ],
      wrongSigners: confusion,
    },
    {
      name: 'one RSA key as SPKI PEM, RS256 and PS256 only',
      options: { publicKey: rsaPem, algorithms: ['RS256', 'PS256'] },
      // A single configured key is used whatever kid the token names: jose given the key itself.
      joseKey: createPublicKey(rsaPem),
      joseOptions: { ...base, algorithms: ['RS256', 'PS256'], clockTolerance: 5 },
      signers: [
        { alg: 'RS256', key: keys.rsa.privateKey, kid: 'any-kid' },
        { alg: 'PS256', key: keys.rsa.privateKey },
      ],
      wrongSigners: [...confusion, { label: 'RS512 (not allowed)', alg: 'RS512', key: keys.rsa.privateKey }],
    },
    {
      name: 'a 64-byte secret, HS256/384/512',
      options: { secret },
      joseKey: secret,
      joseOptions: { ...base, algorithms: ['HS256', 'HS384', 'HS512'], clockTolerance: 5 },
      signers: (['HS256', 'HS384', 'HS512'] as Alg[]).map((alg) => ({ alg, key: secret })),
      wrongSigners: [
        { label: 'HS256 by another secret', alg: 'HS256', key: randomBytes(64) },
        { label: 'RS256 by the RSA key', alg: 'RS256', key: keys.rsa.privateKey },
        { label: 'HS256 by the secret cut short', alg: 'HS256', key: secret.subarray(0, 32) },
      ],
    },
    {
      name: 'an EC key with typ at+jwt, maxTokenAge 1h, requiredClaims jti, clockTolerance 30',
      options: { publicKey: ecOnly, typ: 'at+jwt', maxTokenAge: 3600, requiredClaims: ['jti'], clockTolerance: 30 },
      joseKey: createLocalJWKSet(ecOnly),
      joseOptions: { ...base, algorithms: asymmetric, typ: 'at+jwt', maxTokenAge: 3600, requiredClaims: ['jti'], clockTolerance: 30 },
      signers: [{ alg: 'ES256', key: keys.ec256.privateKey, kid: 'ec256' }],
      wrongSigners: [{ label: 'ES256 by the P-521 key', alg: 'ES256', key: keys.ec521.privateKey, kid: 'ec256' }],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// The three deciders and the comparison
// ---------------------------------------------------------------------------------------------

type Verdict = { accepted: true; payload: Record<string, unknown>; header: Record<string, unknown> } | { accepted: false; why: string };

interface Deciders {
  config: Config;
  verifier: ReturnType<typeof jwtVerifier>;
  auth: ReturnType<typeof multiAuth>;
}

let deciders: Deciders[];

/** What escaped a decider that it may not throw: collected and asserted empty. */
const escaped: string[] = [];

async function bySource(d: Deciders, token: string): Promise<Verdict> {
  try {
    const info = (await d.verifier.verifyAccessToken(token)) as MultiAuthInfo | null;
    if (!info) return { accepted: false, why: 'not mine' };
    return { accepted: true, payload: info.payload as Record<string, unknown>, header: info.header as Record<string, unknown> };
  } catch (error) {
    if ((error as { code?: unknown }).code === 'invalid_token') return { accepted: false, why: (error as Error).message };
    escaped.push(`verifyAccessToken threw ${String(error)} for ${token.slice(0, 80)}`);
    return { accepted: false, why: 'threw' };
  }
}

async function byChain(d: Deciders, token: string): Promise<Verdict> {
  try {
    const info = await d.auth.verify(token);
    return { accepted: true, payload: info.payload as Record<string, unknown>, header: info.header as Record<string, unknown> };
  } catch (error) {
    // 400: not an RFC 6750 b64token at all; 401: refused. Anything else is not a documented refusal.
    if (error instanceof MultiAuthError && (error.status === 401 || error.status === 400)) return { accepted: false, why: error.message };
    escaped.push(`verify() threw ${String(error)} for ${token.slice(0, 80)}`);
    return { accepted: false, why: 'threw' };
  }
}

async function byJose(d: Deciders, token: string): Promise<Verdict> {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, d.config.joseKey as Parameters<typeof jwtVerify>[1] & Uint8Array, d.config.joseOptions);
    return { accepted: true, payload: payload as Record<string, unknown>, header: protectedHeader as Record<string, unknown> };
  } catch (error) {
    return { accepted: false, why: (error as { code?: string }).code ?? String(error) };
  }
}

/** Counts of what the suite saw, printed once, so a run that compared nothing is visible. */
const seen = { tokens: 0, joseAccepted: 0, intentional: new Map<string, number>() };

/**
 * Decides `token` three ways and returns the disagreements that are not allowed (empty when all
 * is well). Also checks an acceptance carries exactly what jose verified.
 */
async function disagreements(d: Deciders, token: string): Promise<string[]> {
  return (await compare(d, token)).problems;
}

async function compare(d: Deciders, token: string): Promise<{ problems: string[]; source: Verdict; jose: Verdict; intentional?: string }> {
  const [source, chain, jose] = await Promise.all([bySource(d, token), byChain(d, token), byJose(d, token)]);
  let intentional: string | undefined;
  seen.tokens++;
  const problems: string[] = [];
  const label = `[${d.config.name}] ${token.length > 120 ? `${token.slice(0, 120)}… (${token.length} chars)` : token}`;
  if (jose.accepted) seen.joseAccepted++;
  for (const [who, verdict] of [['jwtVerifier', source], ['multiAuth().verify', chain]] as const) {
    if (verdict.accepted && !jose.accepted) {
      problems.push(`${who} ACCEPTS what jose refuses (${jose.why}): ${label}`);
    } else if (verdict.accepted && jose.accepted) {
      if (who === 'jwtVerifier') {
        if (!isDeepStrictEqual(verdict.payload, jose.payload)) problems.push(`${who} payload differs from jose's: ${label}`);
      } else {
        // The chain may add the claims express-oauth2-jwt-bearer's guards read, never change one.
        for (const [claim, value] of Object.entries(jose.payload)) {
          if (!isDeepStrictEqual(verdict.payload[claim], value)) problems.push(`${who} payload.${claim} differs from jose's: ${label}`);
        }
      }
      if (!isDeepStrictEqual(verdict.header, jose.header)) problems.push(`${who} header differs from jose's: ${label}`);
    } else if (!verdict.accepted && jose.accepted) {
      const difference = INTENTIONAL_DIFFERENCES.find((entry) => entry.applies(partsOf(token)));
      if (!difference) problems.push(`${who} refuses (${verdict.why}) what jose accepts, for no listed reason: ${label}`);
      else if (who === 'jwtVerifier') {
        intentional = difference.id;
        seen.intentional.set(difference.id, (seen.intentional.get(difference.id) ?? 0) + 1);
      }
    }
  }
  return { problems, source, jose, intentional };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isDeepStrictEqual } = require('node:util') as typeof import('node:util');

// ---------------------------------------------------------------------------------------------
// Hand-made cases
// ---------------------------------------------------------------------------------------------

const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: ISSUER,
  aud: AUDIENCE,
  exp: NOW + 600,
  iat: NOW - 10,
  client_id: 'svc',
  jti: 'id-1',
  scope: 'read',
  ...extra,
});

function headerFor(config: Config, signer: { alg: string; kid?: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const header: Record<string, unknown> = { alg: signer.alg };
  if (signer.kid !== undefined) header.kid = signer.kid;
  if (config.joseOptions.typ !== undefined) header.typ = 'at+jwt';
  return { ...header, ...extra };
}

function handMade(config: Config): Array<[string, string]> {
  const cases: Array<[string, string]> = [];
  const add = (what: string, token: string) => cases.push([what, token]);
  const right = config.signers[0];
  const sign = (header: Build['header'], payload: Build['payload'], segments?: Build['segments'], signer: { alg: string; key: SigningKey } = right) =>
    build({ header, payload, signer, segments });
  const h = (extra?: Record<string, unknown>) => headerFor(config, right, extra);

  // Every algorithm this configuration accepts, signed correctly, and every other one.
  for (const signer of config.signers) add(`valid ${signer.alg}`, build({ header: headerFor(config, signer), payload: claims(), signer }));
  for (const wrong of config.wrongSigners) add(`key confusion: ${wrong.label}`, build({ header: headerFor(config, wrong), payload: claims(), signer: wrong }));
  for (const alg of ALL_ALGS) add(`alg label ${alg} over the right key's signature`, sign(h({ alg }), claims()));

  // none, in every spelling, with and without a signature.
  for (const alg of ['none', 'None', 'NONE', 'nOnE', '']) {
    add(`alg ${JSON.stringify(alg)} unsigned`, build({ header: { alg }, payload: claims(), signer: null }));
    add(`alg ${JSON.stringify(alg)} with the right signature`, sign(h({ alg }), claims()));
  }
  add('no alg', sign(h({ alg: undefined }), claims()));
  add('alg as a number', sign(h({ alg: 256 }), claims()));

  // kid tricks.
  for (const kid of [undefined, 'ec384', 'rsa', 'ed', 'unknown', '', '../../jwks', 'rsa\u0000', 42, null, ['rsa'], { kid: 'rsa' }]) {
    add(`kid ${JSON.stringify(kid)}`, sign(h({ kid }), claims()));
  }
  add('jku, x5u, jwk, x5c named by the token', sign(h({ jku: 'https://evil.test/jwks', x5u: 'https://evil.test/x5u', jwk: config.signers[0].kid ? { kty: 'oct', k: 'AAAA' } : undefined, x5c: ['AAAA'] }), claims()));

  // Base64 spellings and segment lengths.
  add('header padded with =', sign(h(), claims(), (hs, ps) => [`${hs}${'='.repeat((4 - (hs.length % 4)) % 4)}`, ps]));
  add('payload padded with =', sign(h(), claims(), (hs, ps) => [hs, `${ps}${'='.repeat((4 - (ps.length % 4)) % 4)}`]));
  for (const extra of ['A', 'Q', '_', 'AAAAA']) {
    add(`header with ${extra} appended (length ${extra.length % 4 === 1 ? '4k+1' : 'other'}), signed`, sign(h(), claims(), (hs, ps) => [`${hs}${extra}`, ps]));
    add(`payload with ${extra} appended, signed`, sign(h(), claims(), (hs, ps) => [hs, `${ps}${extra}`]));
  }
  add('payload in standard base64 (+ and /), signed', sign(h(), claims({ note: '>>>???>>>' }), (hs, ps) => [hs, ps.replace(/-/g, '+').replace(/_/g, '/')]));
  add('whitespace inside the payload segment, signed', sign(h(), claims(), (hs, ps) => [hs, `${ps.slice(0, 8)} ${ps.slice(8)}`]));
  const valid = sign(h(), claims());
  const [vh, vp, vs] = valid.split('.');
  add('signature with stray low bits', `${vh}.${vp}.${vs.slice(0, -1)}${String.fromCharCode(vs.charCodeAt(vs.length - 1) ^ 1)}`);
  add('signature padded with =', `${vh}.${vp}.${vs}${'='.repeat((4 - (vs.length % 4)) % 4)}`);
  add('signature with one character appended', `${vh}.${vp}.${vs}A`);
  add('four segments', `${valid}.${vs}`);
  add('two segments', `${vh}.${vp}`);
  add('empty signature', `${vh}.${vp}.`);
  add('JWE-shaped (five segments)', `${vh}.${vp}.${vs}.${vs}.${vs}`);

  // JSON edge cases, signed with the right key.
  const base = JSON.stringify(claims()).slice(0, -1);
  const headerText = JSON.stringify(h());
  add('duplicate iss (other last)', sign(headerText, `${base},"iss":"${OTHER_ISSUER}"}`));
  add('duplicate iss (ours last)', sign(headerText, `{"iss":"${OTHER_ISSUER}",${base.slice(1)},"iss":"${ISSUER}"}`));
  add('duplicate alg in the header', sign(`{"alg":"none",${headerText.slice(1)}`, claims()));
  add('duplicate exp, expired last', sign(headerText, `${base},"exp":${NOW - 3600}}`));
  add('escaped claim names (\\u0069ss)', sign(headerText, JSON.stringify(claims()).replace('"iss"', '"\\u0069ss"')));
  add('__proto__ claim', sign(headerText, `${base},"__proto__":{"iss":"${OTHER_ISSUER}"}}`));
  add('whitespace around the JSON', sign(` ${headerText}\n`, `\t${JSON.stringify(claims())} `));
  add('UTF-8 BOM before the payload', sign(headerText, `\uFEFF${JSON.stringify(claims())}`));
  add('UTF-8 BOM before the header', sign(`\uFEFF${headerText}`, claims()));
  add('payload that is not UTF-8', build({ header: h(), payload: '', signer: right, segments: (hs) => [hs, Buffer.concat([Buffer.from(JSON.stringify(claims()).slice(0, -1) + ',"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]).toString('base64url')] }));
  add('payload a JSON array', sign(headerText, `[${JSON.stringify(claims())}]`));
  add('payload a JSON string', sign(headerText, JSON.stringify(JSON.stringify(claims()))));
  add('payload null', sign(headerText, 'null'));
  add('payload truncated JSON', sign(headerText, JSON.stringify(claims()).slice(0, -1)));
  add('exp 1e400 (Infinity)', sign(headerText, `${JSON.stringify({ ...claims(), exp: undefined })}`.replace(/}$/, ',"exp":1e400}')));
  add('no exp', sign(h(), claims({ exp: undefined })));
  add('exp as a string', sign(h(), claims({ exp: String(NOW + 600) })));
  add('exp fractional', sign(h(), claims({ exp: NOW + 0.5 })));
  add('exp negative', sign(h(), claims({ exp: -1 })));
  add('aud an array with ours and a number', sign(h(), claims({ aud: [42, AUDIENCE] })));
  add('aud an array without ours', sign(h(), claims({ aud: ['https://else.test'] })));
  add('aud missing', sign(h(), claims({ aud: undefined })));
  add('iss an array', sign(h(), claims({ iss: [ISSUER] })));
  add('iss another issuer', sign(h(), claims({ iss: OTHER_ISSUER })));
  add('no client id at all', sign(h(), claims({ client_id: undefined })));
  add('client id only as sub', sign(h(), claims({ client_id: undefined, sub: 'user-1' })));
  add('client id empty, azp set', sign(h(), claims({ client_id: '', azp: 'app' })));
  add('cnf (DPoP-bound)', sign(h(), claims({ cnf: { jkt: 'abc' } })));
  add('crit b64 true', sign(h({ crit: ['b64'], b64: true }), claims()));
  add('crit b64 false', sign(h({ crit: ['b64'], b64: false }), claims()));
  add('crit unknown', sign(h({ crit: ['exp'], exp: NOW }), claims()));
  add('typ JWT', sign(h({ typ: 'JWT' }), claims()));
  add('typ application/at+jwt', sign(h({ typ: 'application/at+jwt' }), claims()));
  add('typ AT+JWT', sign(h({ typ: 'AT+JWT' }), claims()));
  add('no jti', sign(h(), claims({ jti: undefined })));
  add('no iat', sign(h(), claims({ iat: undefined })));
  add('iat a string', sign(h(), claims({ iat: 'yesterday' })));
  add('nested 32 levels (the limit)', sign(headerText, `${base},"x":${'['.repeat(31)}${']'.repeat(31)}}`));
  add('nested 33 levels', sign(headerText, `${base},"x":${'['.repeat(32)}${']'.repeat(32)}}`));
  add('nested 20,000 levels', sign(headerText, `${base},"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`));
  add('a 40 KiB claim', sign(h(), claims({ pad: 'x'.repeat(40_000) })));
  add('a 70 KiB claim', sign(h(), claims({ pad: 'x'.repeat(70_000) })));

  // Time boundaries on the frozen clock, around this configuration's tolerance.
  const tolerance = Number(config.joseOptions.clockTolerance ?? 0);
  for (const delta of [-tolerance - 1, -tolerance, -tolerance + 1, -1, 0, 1]) {
    add(`exp = now ${delta >= 0 ? '+' : '-'} ${Math.abs(delta)}`, sign(h(), claims({ exp: NOW + delta })));
  }
  for (const delta of [tolerance - 1, tolerance, tolerance + 1]) add(`nbf = now + ${delta}`, sign(h(), claims({ nbf: NOW + delta })));
  for (const age of [3600 + tolerance - 1, 3600 + tolerance, 3600 + tolerance + 1]) add(`iat = now - ${age}`, sign(h(), claims({ iat: NOW - age })));
  for (const ahead of [tolerance, tolerance + 1]) add(`iat = now + ${ahead}`, sign(h(), claims({ iat: NOW + ahead })));
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const replacementChar = fc.oneof(
  fc.constantFrom(...BASE64URL.split('')),
  fc.constantFrom('=', '.', '+', '/', ' ', '\u00e9', '%'),
);

const configIndex = () => fc.nat({ max: 3 });

const timeArb = (around: number) =>
  fc.oneof(fc.integer({ min: around - 40, max: around + 40 }), fc.constant(undefined), fc.constantFrom('soon', null, 1e21, -1));

const headerChange = fc.record(
  {
    alg: fc.constantFrom<unknown>(...ALL_ALGS, 'none', 'HS', 'RS1', undefined),
    kid: fc.constantFrom<unknown>('rsa', 'ec256', 'ec384', 'ec521', 'ed', 'nope', undefined, 7),
    typ: fc.constantFrom<unknown>('at+jwt', 'JWT', 'application/at+jwt', 'dpop+jwt', undefined),
    crit: fc.constantFrom<unknown>(['b64'], ['x'], [], 'b64', undefined),
    b64: fc.constantFrom<unknown>(true, false, undefined),
    jku: fc.constantFrom<unknown>('https://evil.test/jwks', undefined),
  },
  { requiredKeys: [] },
);

const payloadChange = fc.record(
  {
    iss: fc.constantFrom<unknown>(ISSUER, OTHER_ISSUER, undefined, [ISSUER], 1),
    aud: fc.constantFrom<unknown>(AUDIENCE, [AUDIENCE, 'x'], ['x'], 'x', undefined, [1]),
    exp: timeArb(NOW),
    nbf: timeArb(NOW),
    iat: timeArb(NOW - 3600),
    jti: fc.constantFrom<unknown>('j', undefined, 3),
    client_id: fc.constantFrom<unknown>('svc', '', undefined, 5),
    azp: fc.constantFrom<unknown>('app', undefined),
    sub: fc.constantFrom<unknown>('user', '', undefined),
    cnf: fc.constantFrom<unknown>({ jkt: 'x' }, undefined),
    scope: fc.constantFrom<unknown>('read write', ['read'], undefined),
  },
  { requiredKeys: [] },
);

/** Applies a generated change: a key present with `undefined` removes that member. */
function changed(base: Record<string, unknown>, change: Record<string, unknown>): Record<string, unknown> {
  const result = { ...base, ...change };
  for (const [key, value] of Object.entries(change)) if (value === undefined) delete result[key];
  return result;
}

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

beforeAll(() => {
  // Only Date is frozen: timers, microtasks and WebCrypto run as usual.
  jest.useFakeTimers({
    now: NOW * 1000,
    doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
  });
  setUpConfigs();
  deciders = configs.map((config) => {
    const options = { issuer: ISSUER, audience: AUDIENCE, ...config.options } as JwtVerifierOptions;
    return {
      config,
      verifier: jwtVerifier(options),
      auth: multiAuth({ verifiers: jwtVerifier(options), maxTokenLength: 1_000_000 }),
    };
  });
});

afterAll(() => {
  jest.useRealTimers();
  const intentional = [...seen.intentional].map(([id, n]) => `${id} ${n}`).join(', ');
  process.stdout.write(`jwt-differential: ${seen.tokens} tokens, ${seen.joseAccepted} accepted by jose; intentional refusals: ${intentional}\n`);
});

afterEach(() => {
  expect(escaped.splice(0)).toEqual([]);
});

describe('jwtVerifier, multiAuth().verify() and jose.jwtVerify, configured alike', () => {
  it('agree on every hand-made token of every configuration (accepts only what jose accepts)', async () => {
    const problems: string[] = [];
    const exercised = new Set<string>();
    let acceptedByBoth = 0;
    for (const d of deciders) {
      for (const [what, token] of handMade(d.config)) {
        const result = await compare(d, token);
        problems.push(...result.problems.map((p) => `${what}: ${p}`));
        if (result.source.accepted && result.jose.accepted) acceptedByBoth++;
        if (result.intentional) exercised.add(result.intentional);
      }
    }
    expect(problems).toEqual([]);
    // Every configuration's valid tokens went through: the comparison is not vacuous.
    expect(acceptedByBoth).toBeGreaterThanOrEqual(deciders.reduce((n, d) => n + d.config.signers.length, 0));
    // Every listed difference is reached by a hand-made token: none is dead, none hides a missing case.
    expect([...exercised].sort()).toEqual(INTENTIONAL_DIFFERENCES.map((entry) => entry.id).sort());
  });

  it('accept every correctly signed token for every algorithm of each configuration', async () => {
    for (const d of deciders) {
      for (const signer of d.config.signers) {
        const token = build({ header: headerFor(d.config, signer), payload: claims(), signer });
        expect([d.config.name, signer.alg, (await bySource(d, token)).accepted, (await byChain(d, token)).accepted]).toEqual([d.config.name, signer.alg, true, true]);
      }
    }
  });
});

describe('fast-check mutations agree with jose', () => {
  it('byte flips (a character replaced, inserted or deleted) in each segment of a valid token', async () => {
    const edit = fc.constantFrom('replace', 'insert', 'delete');
    await fc.assert(
      fc.asyncProperty(configIndex(), fc.nat(), fc.nat({ max: 2 }), fc.nat(), replacementChar, edit, async (ci, si, segment, position, char, how) => {
        const d = deciders[ci];
        const signer = d.config.signers[si % d.config.signers.length];
        const parts = build({ header: headerFor(d.config, signer), payload: claims(), signer }).split('.');
        const target = parts[segment];
        const at = position % (target.length + (how === 'insert' ? 1 : 0));
        parts[segment] = target.slice(0, at) + (how === 'delete' ? '' : char) + target.slice(how === 'replace' || how === 'delete' ? at + 1 : at);
        expect(await disagreements(d, parts.join('.'))).toEqual([]);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('header and payload changed, then re-signed with the right key', async () => {
    await fc.assert(
      fc.asyncProperty(configIndex(), fc.nat(), headerChange, payloadChange, fc.boolean(), async (ci, si, hChange, pChange, wrongKey) => {
        const d = deciders[ci];
        const signer = d.config.signers[si % d.config.signers.length];
        const actual = wrongKey && d.config.wrongSigners.length > 0 ? d.config.wrongSigners[si % d.config.wrongSigners.length] : signer;
        const token = build({ header: changed(headerFor(d.config, signer), hChange), payload: changed(claims(), pChange), signer: actual });
        expect(await disagreements(d, token)).toEqual([]);
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('raw JSON text mutations, re-signed with the right key', async () => {
    const jsonMutation = fc.oneof(
      fc.record({ kind: fc.constant('duplicate' as const), claim: fc.constantFrom('iss', 'aud', 'exp', 'cnf', 'client_id'), value: fc.constantFrom('"x"', '0', 'null', `"${ISSUER}"`, `${NOW + 60}`) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(' ', '\n', ',', '}', '{', '"', '\\', '\uFEFF', '\u0000', '[]') }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
    );
    await fc.assert(
      fc.asyncProperty(configIndex(), fc.nat(), fc.boolean(), jsonMutation, async (ci, si, inHeader, mutation) => {
        const d = deciders[ci];
        const signer = d.config.signers[si % d.config.signers.length];
        let header = JSON.stringify(headerFor(d.config, signer));
        let payload = JSON.stringify(claims());
        const mutate = (text: string): string => {
          if (mutation.kind === 'duplicate') return `${text.slice(0, -1)},"${mutation.claim}":${mutation.value}}`;
          if (mutation.kind === 'insert') {
            const at = mutation.at % (text.length + 1);
            return text.slice(0, at) + mutation.text + text.slice(at);
          }
          const at = mutation.at % text.length;
          return text.slice(0, at) + text.slice(at + mutation.length);
        };
        if (inHeader) header = mutate(header);
        else payload = mutate(payload);
        expect(await disagreements(d, build({ header, payload, signer }))).toEqual([]);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('encoded header or payload edited (a character inserted, replaced or deleted), then re-signed with the right key', async () => {
    const edit = fc.constantFrom('replace', 'insert', 'delete');
    await fc.assert(
      fc.asyncProperty(configIndex(), fc.nat(), fc.boolean(), fc.nat(), replacementChar, edit, async (ci, si, inHeader, position, char, how) => {
        const d = deciders[ci];
        const signer = d.config.signers[si % d.config.signers.length];
        const change = (segment: string): string => {
          const at = position % (segment.length + (how === 'insert' ? 1 : 0));
          return segment.slice(0, at) + (how === 'delete' ? '' : char) + segment.slice(how === 'insert' ? at : at + 1);
        };
        const token = build({
          header: headerFor(d.config, signer),
          payload: claims(),
          signer,
          segments: (h, p) => (inHeader ? [change(h), p] : [h, change(p)]),
        });
        expect(await disagreements(d, token)).toEqual([]);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('segments swapped and mixed between valid tokens', async () => {
    await fc.assert(
      fc.asyncProperty(
        configIndex(),
        fc.nat(),
        fc.nat(),
        fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 5 }),
        async (ci, si, sj, picks) => {
          const d = deciders[ci];
          const a = d.config.signers[si % d.config.signers.length];
          const b = d.config.signers[sj % d.config.signers.length];
          const first = build({ header: headerFor(d.config, a), payload: claims({ scope: 'read' }), signer: a }).split('.');
          const second = build({ header: headerFor(d.config, b), payload: claims({ scope: 'admin', client_id: 'other' }), signer: b }).split('.');
          const pool = [...first, ...second];
          expect(await disagreements(d, picks.map((p) => pool[p]).join('.'))).toEqual([]);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});
