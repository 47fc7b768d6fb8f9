/**
 * lib/jws-signature.ts checks a compact JWS's signature with node:crypto, against a CryptoKey of
 * the kind jose imports. jose is the reference throughout: every signature here is made by
 * jose's SignJWT / CompactSign (or by node:crypto where jose will not make the bytes a test
 * needs), and the differential properties compare each answer with jose's `compactVerify`.
 *
 * Documented differences from jose, each asserted where it arises:
 *  - Stricter: the signature segment must be the canonical unpadded base64url spelling of its
 *    bytes. jose (through `atob` on Node 20) also accepts `=` padding, ASCII whitespace anywhere
 *    in the segment and non-zero trailing bits; we resolve `false` for those.
 *  - Narrower: only the signature is checked. The protected header is not parsed (its `alg`,
 *    `crit`, `b64` or even its being JSON), nor is the payload decoded; jwtVerifier does that
 *    before it asks for a key (lib/token-inspection.ts, checkParts in lib/jwt-verifier.ts). A
 *    token jose refuses for its header alone but whose signature is right resolves `true`.
 *  - Ordering: a key that cannot verify `alg` rejects (JwsKeyMismatch) whatever the token is,
 *    even one that is not a JWS at all; jose would complain about the token first.
 *
 * HMAC keys are made with `crypto.subtle.importKey('raw', …)`, as lib/jwt-verifier.ts's
 * secretResolver does: jose 6's `importJWK` returns an `oct` JWK as a Uint8Array, not a CryptoKey.
 */
import { constants, generateKeyPair, KeyObject, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { promisify } from 'node:util';
import fc from 'fast-check';
import * as jose from 'jose';
import { JwsKeyMismatch, verifyJwsSignature } from '../../lib/sources/jws-signature';

const RUNS = 200;

const generate = promisify(generateKeyPair);

type Family = 'rsa' | 'P-256' | 'P-384' | 'P-521' | 'Ed25519';

/** One key pair: node:crypto's KeyObjects, and the bare JWKs (no `alg`, `use` or `key_ops`). */
interface Pair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privateJwk: jose.JWK;
  publicJwk: jose.JWK;
}

async function newPair(family: Family, modulusLength = 2048): Promise<Pair> {
  const { privateKey, publicKey } =
    family === 'rsa'
      ? await generate('rsa', { modulusLength })
      : family === 'Ed25519'
        ? await generate('ed25519')
        : await generate('ec', { namedCurve: family });
  return {
    privateKey,
    publicKey,
    privateJwk: privateKey.export({ format: 'jwk' }) as jose.JWK,
    publicJwk: publicKey.export({ format: 'jwk' }) as jose.JWK,
  };
}

const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
const ALL_ALGS = [...HMAC_ALGS, ...ASYMMETRIC_ALGS];

function familyOf(alg: string): Family {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return 'rsa';
  if (alg === 'ES256') return 'P-256';
  if (alg === 'ES384') return 'P-384';
  if (alg === 'ES512') return 'P-521';
  return 'Ed25519';
}

const hashOf = (alg: string) => `SHA-${alg.slice(2)}`;

/** An HMAC verification key, made the way lib/jwt-verifier.ts makes one. */
function hmacKey(secret: Uint8Array, hash: string, usages: KeyUsage[] = ['verify']): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash }, false, usages);
}

/** What an alg is signed with (jose's signing key) and verified with (what jose imports). */
interface AlgKeys {
  alg: string;
  signKey: CryptoKey | Uint8Array;
  verifyKey: CryptoKey;
  /** A different key of the same type and alg. */
  otherSignKey: CryptoKey | Uint8Array;
}

let pairs: Record<Family, [Pair, Pair]>;
const algKeys = new Map<string, AlgKeys>();

async function keysFor(alg: string): Promise<AlgKeys> {
  let keys = algKeys.get(alg);
  if (keys === undefined) {
    if (alg.startsWith('HS')) {
      const bytes = Number(alg.slice(2)) / 8;
      const secret = new Uint8Array(randomBytes(bytes));
      keys = { alg, signKey: secret, verifyKey: await hmacKey(secret, hashOf(alg)), otherSignKey: new Uint8Array(randomBytes(bytes)) };
    } else {
      const [mine, other] = pairs[familyOf(alg)];
      keys = {
        alg,
        signKey: (await jose.importJWK(mine.privateJwk, alg)) as CryptoKey,
        verifyKey: (await jose.importJWK(mine.publicJwk, alg)) as CryptoKey,
        otherSignKey: (await jose.importJWK(other.privateJwk, alg)) as CryptoKey,
      };
    }
    algKeys.set(alg, keys);
  }
  return keys;
}

function mint(alg: string, key: CryptoKey | Uint8Array, claims: jose.JWTPayload = { sub: 'user-1', scope: 'mcp:read' }): Promise<string> {
  return new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt' }).setIssuedAt().setExpirationTime('5m').sign(key);
}

/** Whether jose's compactVerify, allowed only `alg`, accepts the token with this key. */
function joseAccepts(token: string, alg: string, key: CryptoKey): Promise<boolean> {
  return jose.compactVerify(token, key, { algorithms: [alg] }).then(
    () => true,
    () => false,
  );
}

const segmentOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const signingInput = (token: string) => token.slice(0, token.lastIndexOf('.'));
const withSignature = (token: string, signature: Uint8Array) => `${signingInput(token)}.${Buffer.from(signature).toString('base64url')}`;
const signatureOf = (token: string) => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');

beforeAll(async () => {
  const both = async (family: Family): Promise<[Pair, Pair]> => Promise.all([newPair(family), newPair(family)]);
  const [rsa, p256, p384, p521, ed25519] = await Promise.all([both('rsa'), both('P-256'), both('P-384'), both('P-521'), both('Ed25519')]);
  pairs = { rsa, 'P-256': p256, 'P-384': p384, 'P-521': p521, Ed25519: ed25519 };
});

// ---------------------------------------------------------------------------------------------
// 1. Every supported alg
// ---------------------------------------------------------------------------------------------

describe('verifyJwsSignature: every supported alg', () => {
  it.each(ALL_ALGS)('%s: a jose-signed token verifies with the key jose imports; a changed one does not', async (alg) => {
    const { signKey, verifyKey, otherSignKey } = await keysFor(alg);
    const token = await mint(alg, signKey);
    // The reference agrees the token is good, so `true` below is about the token, not the fixture.
    await expect(joseAccepts(token, alg, verifyKey)).resolves.toBe(true);
    await expect(verifyJwsSignature(token, alg, verifyKey)).resolves.toBe(true);

    // One signature byte flipped, at the start, the middle and the end.
    const signature = signatureOf(token);
    for (const at of [0, signature.length >> 1, signature.length - 1]) {
      const flipped = Buffer.from(signature);
      flipped[at] ^= 0x01;
      await expect(verifyJwsSignature(withSignature(token, flipped), alg, verifyKey)).resolves.toBe(false);
    }

    // The payload changed, header and signature kept.
    const [header, , sig] = token.split('.');
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as jose.JWTPayload;
    const changed = `${header}.${segmentOf({ ...payload, scope: 'mcp:admin' })}.${sig}`;
    await expect(verifyJwsSignature(changed, alg, verifyKey)).resolves.toBe(false);

    // A good signature over the same claims, by another key of the same type.
    const byOther = await mint(alg, otherSignKey, payload);
    await expect(verifyJwsSignature(byOther, alg, verifyKey)).resolves.toBe(false);
    await expect(verifyJwsSignature(withSignature(token, signatureOf(byOther)), alg, verifyKey)).resolves.toBe(false);
  });

  it.each(ALL_ALGS)('%s: a token signed by jose CompactSign over arbitrary bytes verifies', async (alg) => {
    const { signKey, verifyKey } = await keysFor(alg);
    const token = await new jose.CompactSign(randomBytes(100)).setProtectedHeader({ alg }).sign(signKey);
    await expect(verifyJwsSignature(token, alg, verifyKey)).resolves.toBe(true);
  });

  it('EdDSA and Ed25519 (RFC 9864) are the same check: a token under either alg verifies under both', async () => {
    const { signKey, verifyKey } = await keysFor('EdDSA');
    const ed25519Key = (await keysFor('Ed25519')).verifyKey;
    const token = await mint('EdDSA', signKey);
    await expect(verifyJwsSignature(token, 'Ed25519', ed25519Key)).resolves.toBe(true);
    await expect(verifyJwsSignature(token, 'EdDSA', verifyKey)).resolves.toBe(true);
  });

  it('answers many concurrent checks, mixed good and bad, each correctly', async () => {
    const { signKey, verifyKey } = await keysFor('RS256');
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => mint('RS256', signKey, { sub: `user-${i}` })));
    const mixed = tokens.map((token, i) => (i % 2 === 0 ? token : `${token.slice(0, -2)}${token.endsWith('AA') ? 'BA' : 'AA'}`));
    const results = await Promise.all(mixed.map((token) => verifyJwsSignature(token, 'RS256', verifyKey)));
    expect(results).toEqual(mixed.map((_, i) => i % 2 === 0));
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed tokens and signature spellings
// ---------------------------------------------------------------------------------------------

/** The base64url alphabet, by 6-bit value. */
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** How many of the last character's bits are padding (0, 2 or 4) in an unpadded segment of this length. */
const paddingBits = (length: number) => (length % 4 === 2 ? 4 : length % 4 === 3 ? 2 : 0);

/** The same token, its signature's last character carrying non-zero padding bits (`bits` is masked). */
function withTrailingBits(token: string, bits: number): string {
  const mask = (1 << paddingBits(token.length - token.lastIndexOf('.') - 1)) - 1;
  const last = B64URL.indexOf(token[token.length - 1]);
  if (last < 0) return token;
  return token.slice(0, -1) + B64URL[last | (bits & mask)];
}

/** Whether a segment is the one canonical unpadded base64url spelling of the bytes it decodes to. */
const canonical = (segment: string) => /^[A-Za-z0-9_-]*$/.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment;

describe('verifyJwsSignature: malformed tokens resolve false', () => {
  let token: string;
  let key: CryptoKey;
  let hsToken: string;
  let hsKey: CryptoKey;

  beforeAll(async () => {
    const rs = await keysFor('RS256');
    token = await mint('RS256', rs.signKey);
    key = rs.verifyKey;
    const hs = await keysFor('HS256');
    hsToken = await mint('HS256', hs.signKey);
    hsKey = hs.verifyKey;
  });

  it('the fixture token is good (so every false below is about the change)', async () => {
    await expect(verifyJwsSignature(token, 'RS256', key)).resolves.toBe(true);
    await expect(verifyJwsSignature(hsToken, 'HS256', hsKey)).resolves.toBe(true);
  });

  it.each([
    ['the empty string', () => ''],
    ['no dot at all', () => token.replace(/\./g, '')],
    ['a missing signature segment', () => `${signingInput(token)}.`],
    ['only two segments (header dropped)', () => token.slice(token.indexOf('.') + 1)],
    ['only the signature', () => `.${token.split('.')[2]}`],
    ['a fourth segment', () => `${token}.${token.split('.')[2]}`],
    ['header and payload swapped', () => { const [h, p, s] = token.split('.'); return `${p}.${h}.${s}`; }],
    ['a truncated signature', () => token.slice(0, -4)],
    ['a signature one character long', () => `${signingInput(token)}.A`],
    ['a signature of length 4n+1', () => `${token}A`],
    ['a signature with = padding', () => `${token}==`],
    ['a signature in standard base64 (+ and /)', () => `${signingInput(token)}.${signatureOf(token).toString('base64').replace(/=+$/, '')}`],
    ['a space inside the signature', () => `${token.slice(0, -10)} ${token.slice(-10)}`],
    ['a newline inside the signature', () => `${token.slice(0, -10)}\n${token.slice(-10)}`],
    ['a non-ASCII character in the signature', () => `${token.slice(0, -1)}é`],
    ['non-canonical trailing bits on the signature', () => withTrailingBits(token, 0b1111)],
    ['a signature of 255 bytes (one short)', () => withSignature(token, signatureOf(token).subarray(1))],
    ['a signature of 257 bytes (leading zero)', () => withSignature(token, Buffer.concat([Buffer.alloc(1), signatureOf(token)]))],
    ['a signature larger than the modulus', () => withSignature(token, Buffer.alloc(256, 0xff))],
    ['an all-zero signature', () => withSignature(token, Buffer.alloc(256))],
  ])('RS256: %s', async (_name, make) => {
    const bad = make();
    expect(bad).not.toBe(token);
    await expect(verifyJwsSignature(bad, 'RS256', key)).resolves.toBe(false);
  });

  it('a signature with non-canonical trailing bits differs from the good one only in its spelling', async () => {
    // Both RS256 (256 bytes: 4 padding bits) and HS256 (32 bytes: 2 padding bits) signatures
    // have padding bits; every non-zero setting of them is refused. jose accepts them all.
    for (const [good, alg, k] of [[token, 'RS256', key], [hsToken, 'HS256', hsKey]] as const) {
      const width = paddingBits(good.length - good.lastIndexOf('.') - 1);
      expect(width).toBeGreaterThan(0);
      for (let bits = 1; bits < 1 << width; bits++) {
        const spelled = withTrailingBits(good, bits);
        expect(spelled).not.toBe(good);
        expect(signatureOf(spelled)).toEqual(signatureOf(good));
        await expect(joseAccepts(spelled, alg, k)).resolves.toBe(true);
        await expect(verifyJwsSignature(spelled, alg, k)).resolves.toBe(false);
      }
    }
  });

  it('HS256: a truncated MAC, an extended MAC and an empty MAC are refused', async () => {
    const mac = signatureOf(hsToken);
    for (const bad of [mac.subarray(0, 16), Buffer.concat([mac, Buffer.alloc(1)]), mac.subarray(0, 31)]) {
      await expect(verifyJwsSignature(withSignature(hsToken, bad), 'HS256', hsKey)).resolves.toBe(false);
    }
    await expect(verifyJwsSignature(`${signingInput(hsToken)}.`, 'HS256', hsKey)).resolves.toBe(false);
  });

  it.each(['ES256', 'ES384', 'ES512', 'EdDSA'])('%s: signatures of the wrong length are refused, not thrown', async (alg) => {
    const { signKey, verifyKey } = await keysFor(alg);
    const good = await mint(alg, signKey);
    const signature = signatureOf(good);
    for (const bad of [Buffer.alloc(0), signature.subarray(1), Buffer.concat([signature, Buffer.alloc(1)]), Buffer.concat([signature, signature])]) {
      await expect(verifyJwsSignature(withSignature(good, bad), alg, verifyKey)).resolves.toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Differential: jose's compactVerify is the reference
// ---------------------------------------------------------------------------------------------

/**
 * Characters mutations insert or substitute: the base64url alphabet, the separators and
 * spellings jose's decoder treats specially (`=`, `+`, `/`, whitespace), and a few non-ASCII
 * characters. The non-ASCII ones are chosen so that none has a low byte that is a base64url
 * character or `.` (é is 0xE9, € is U+20AC, the emoji's UTF-16 units end 0x3D and 0x00): see
 * the BUG test below for what happens with those that do.
 */
const MUTATION_CHARS = [...B64URL, '.', '=', '+', '/', ' ', '\t', '\n', '\r', '%', '\0', '"', 'é', '€', '😀'];

type Mutation =
  | { kind: 'identity' }
  | { kind: 'replace'; at: number; char: string }
  | { kind: 'insert'; at: number; char: string }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'drop'; which: number }
  | { kind: 'duplicate'; which: number }
  | { kind: 'transplant'; which: number; from: number }
  | { kind: 'trailingBits'; bits: number }
  | { kind: 'pad'; count: number }
  | { kind: 'whitespace'; at: number; char: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Mutation>({ kind: 'identity' }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), char: fc.constantFrom(...MUTATION_CHARS) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), char: fc.constantFrom(...MUTATION_CHARS) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('swap' as const), a: fc.nat(2), b: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), which: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), which: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('transplant' as const), which: fc.nat(2), from: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('trailingBits' as const), bits: fc.integer({ min: 1, max: 15 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pad' as const), count: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('whitespace' as const), at: fc.nat(), char: fc.constantFrom(' ', '\t', '\n', '\r') }) },
);

/** Applies one mutation; `donors` are other tokens (other payloads, another key) to take segments from. */
function mutate(token: string, m: Mutation, donors: readonly string[]): string {
  const parts = token.split('.');
  const at = (n: number, length: number) => (length === 0 ? 0 : n % (length + 1));
  switch (m.kind) {
    case 'identity':
      return token;
    case 'replace': {
      if (token.length === 0) return m.char;
      const i = m.at % token.length;
      return token.slice(0, i) + m.char + token.slice(i + 1);
    }
    case 'insert': {
      const i = at(m.at, token.length);
      return token.slice(0, i) + m.char + token.slice(i);
    }
    case 'delete': {
      if (token.length === 0) return token;
      const i = m.at % token.length;
      return token.slice(0, i) + token.slice(i + 1);
    }
    case 'truncate':
      return token.slice(0, at(m.at, token.length));
    case 'swap': {
      if (m.a >= parts.length || m.b >= parts.length) return token;
      [parts[m.a], parts[m.b]] = [parts[m.b], parts[m.a]];
      return parts.join('.');
    }
    case 'drop':
      return parts.filter((_, i) => i !== m.which).join('.');
    case 'duplicate':
      return m.which < parts.length ? [...parts.slice(0, m.which + 1), parts[m.which], ...parts.slice(m.which + 1)].join('.') : token;
    case 'transplant': {
      const donor = donors[m.from % donors.length].split('.');
      if (m.which >= parts.length) return token;
      parts[m.which] = donor[m.which];
      return parts.join('.');
    }
    case 'trailingBits':
      return withTrailingBits(token, m.bits);
    case 'pad':
      return token + '='.repeat(m.count);
    case 'whitespace': {
      // Inside the last segment (the signature, while the token still has its shape).
      const start = token.lastIndexOf('.') + 1;
      const i = start + at(m.at, token.length - start);
      return token.slice(0, i) + m.char + token.slice(i);
    }
  }
}

describe('verifyJwsSignature agrees with jose compactVerify on mutated tokens', () => {
  const DIFFERENTIAL_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256', 'ES512', 'HS512'];

  it.each(DIFFERENTIAL_ALGS)('%s: true only where jose accepts; false where jose accepts only a non-canonical signature spelling', async (alg) => {
    const { signKey, verifyKey, otherSignKey } = await keysFor(alg);
    const originals = await Promise.all([mint(alg, signKey), mint(alg, signKey, { sub: 'user-2' }), new jose.CompactSign(randomBytes(40)).setProtectedHeader({ alg }).sign(signKey)]);
    const donors = [...originals, await mint(alg, otherSignKey), await mint(alg, otherSignKey, { sub: 'user-2' })];
    const tally = { bothAccept: 0, onlyJoseAccepts: 0, bothRefuse: 0 };

    await fc.assert(
      fc.asyncProperty(fc.nat(originals.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (which, mutations) => {
        const token = mutations.reduce((t, m) => mutate(t, m, donors), originals[which]);
        const reference = await joseAccepts(token, alg, verifyKey);
        // Must resolve (a rejection fails the property): the key is right for alg.
        const ours = await verifyJwsSignature(token, alg, verifyKey);
        if (ours) {
          // Never true where jose refuses.
          expect(reference).toBe(true);
          tally.bothAccept++;
        } else if (reference) {
          // Documented difference: jose decoded a spelling of the signature other than the
          // canonical one (padding, whitespace, non-zero trailing bits); we refuse those. The
          // bytes it decoded are still exactly a good signature's.
          const segments = token.split('.');
          expect(segments).toHaveLength(3);
          expect(canonical(segments[2])).toBe(false);
          tally.onlyJoseAccepts++;
        } else {
          tally.bothRefuse++;
        }
      }),
      {
        numRuns: RUNS,
        // Always among the runs: the untouched token, and each non-canonical spelling.
        examples: [
          [0, [{ kind: 'identity' }]],
          [1, [{ kind: 'pad', count: 1 }]],
          [2, [{ kind: 'whitespace', at: 3, char: '\n' }]],
          [0, [{ kind: 'transplant', which: 2, from: 3 }]],
          [1, [{ kind: 'swap', a: 0, b: 1 }]],
        ],
      },
    );
    // The property saw all three outcomes, so each branch above was exercised.
    expect(tally.bothAccept).toBeGreaterThan(0);
    expect(tally.onlyJoseAccepts).toBeGreaterThan(0);
    expect(tally.bothRefuse).toBeGreaterThan(0);
  });

  it('random bytes as a signature: never true, and agrees with jose (RS256, ES256, EdDSA, HS256)', async () => {
    const algs = ['RS256', 'ES256', 'EdDSA', 'HS256'];
    const tokens = await Promise.all(algs.map(async (alg) => mint(alg, (await keysFor(alg)).signKey)));
    await fc.assert(
      fc.asyncProperty(fc.nat(algs.length - 1), fc.uint8Array({ minLength: 0, maxLength: 300 }), async (i, bytes) => {
        const alg = algs[i];
        const { verifyKey } = await keysFor(alg);
        const token = withSignature(tokens[i], bytes);
        const ours = await verifyJwsSignature(token, alg, verifyKey);
        expect(ours).toBe(await joseAccepts(token, alg, verifyKey));
        expect(ours).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('PS256: only a salt as long as the hash (RFC 7518 §3.5) verifies, as with jose', async () => {
    const { verifyKey } = await keysFor('PS256');
    const [{ privateKey }] = pairs.rsa;
    const input = `${segmentOf({ alg: 'PS256' })}.${segmentOf({ sub: 'user-1' })}`;
    for (const saltLength of [0, 20, 32, 64, constants.RSA_PSS_SALTLEN_MAX_SIGN]) {
      const signature = nodeSign('sha256', Buffer.from(input), { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      const token = `${input}.${signature.toString('base64url')}`;
      const reference = await joseAccepts(token, 'PS256', verifyKey);
      expect(reference).toBe(saltLength === 32);
      await expect(verifyJwsSignature(token, 'PS256', verifyKey)).resolves.toBe(reference);
    }
  });

  it('ES256: the high-S twin of a signature (r, n - s) verifies, as with jose (JWS does not require low S); r, s outside [1, n) do not', async () => {
    const { signKey, verifyKey } = await keysFor('ES256');
    const token = await mint('ES256', signKey);
    const n = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
    const signature = signatureOf(token);
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    const twin = Buffer.concat([signature.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
    const twinToken = withSignature(token, twin);
    expect(twinToken).not.toBe(token);
    await expect(joseAccepts(twinToken, 'ES256', verifyKey)).resolves.toBe(true);
    await expect(verifyJwsSignature(twinToken, 'ES256', verifyKey)).resolves.toBe(true);
    // r or s of zero, or equal to n (outside [1, n - 1]), are refused by both.
    const nBytes = Buffer.from(n.toString(16), 'hex');
    const r = signature.subarray(0, 32);
    for (const [badR, badS] of [[Buffer.alloc(32), twin.subarray(32)], [r, Buffer.alloc(32)], [r, nBytes], [nBytes, twin.subarray(32)]]) {
      const bad = withSignature(token, Buffer.concat([badR, badS]));
      await expect(joseAccepts(bad, 'ES256', verifyKey)).resolves.toBe(false);
      await expect(verifyJwsSignature(bad, 'ES256', verifyKey)).resolves.toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Documented difference: only the signature is checked
// ---------------------------------------------------------------------------------------------

describe('verifyJwsSignature checks the signature only (the header is the caller\'s)', () => {
  // jwtVerifier refuses these before any key is chosen (token-inspection requires two base64url
  // JSON segments; checkParts requires header.alg in the allowed set and no crit). Here they
  // verify, because their signatures are right; jose refuses them for their headers.
  it.each([
    ['a header naming another alg', segmentOf({ alg: 'none' })],
    ['a header with a crit jose does not know', segmentOf({ alg: 'ES256', crit: ['exp'], exp: 1 })],
    ['a header that is not JSON', Buffer.from('not json').toString('base64url')],
  ])('%s: true, where jose refuses', async (_name, header) => {
    const { verifyKey } = await keysFor('ES256');
    const input = `${header}.${segmentOf({ sub: 'user-1' })}`;
    const signature = nodeSign('sha256', Buffer.from(input), { key: pairs['P-256'][0].privateKey, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${signature.toString('base64url')}`;
    await expect(joseAccepts(token, 'ES256', verifyKey)).resolves.toBe(false);
    await expect(verifyJwsSignature(token, 'ES256', verifyKey)).resolves.toBe(true);
  });

  // An empty payload is a valid JWS (RFC 7515 allows it, and jose accepts it) but never a JWT:
  // refusing it here is stricter than jose, never looser.
  it('an empty header segment: false, as with jose; an empty payload: false, stricter than jose', async () => {
    const { verifyKey } = await keysFor('ES256');
    for (const [input, joseVerdict] of [[`.${segmentOf({ sub: 'user-1' })}`, false], [`${segmentOf({ alg: 'ES256' })}.`, true]] as const) {
      const signature = nodeSign('sha256', Buffer.from(input), { key: pairs['P-256'][0].privateKey, dsaEncoding: 'ieee-p1363' });
      const token = `${input}.${signature.toString('base64url')}`;
      await expect(joseAccepts(token, 'ES256', verifyKey)).resolves.toBe(joseVerdict);
      await expect(verifyJwsSignature(token, 'ES256', verifyKey)).resolves.toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// BUG: characters beyond U+00FF in the signing input
// ---------------------------------------------------------------------------------------------

describe('verifyJwsSignature: characters beyond U+00FF in the header or payload', () => {
  /** `token` with the character at `i` replaced by one whose low byte is the same (U+0100 + c, or U+FF00 + c). */
  const alias = (token: string, i: number, high = 0x100) => token.slice(0, i) + String.fromCharCode(high + token.charCodeAt(i)) + token.slice(i + 1);

  let token: string;
  let key: CryptoKey;
  let aliases: string[];

  beforeAll(async () => {
    const rs = await keysFor('RS256');
    key = rs.verifyKey;
    token = await mint('RS256', rs.signKey);
    const dot = token.indexOf('.');
    aliases = [alias(token, 3), alias(token, dot + 5), alias(token, dot + 5, 0xff00), alias(token, dot)];
  });

  it('each aliased token differs from the original and jose refuses it', async () => {
    await expect(verifyJwsSignature(token, 'RS256', key)).resolves.toBe(true);
    for (const aliased of aliases) {
      expect(aliased).not.toBe(token);
      expect(aliased).toMatch(/[\u0100-\uffff]/);
      await expect(joseAccepts(aliased, 'RS256', key)).resolves.toBe(false);
    }
  });

  // Buffer.from(…, 'latin1') keeps only the low byte of each UTF-16 unit: a header or payload
  // character replaced by U+0100 + c (or U+FF00 + c, or '.' by U+012E) would sign as the original.
  // jose refuses such tokens (non-ASCII signing input), and so must we.
  it('resolves false for a header or payload character whose low byte is the original\'s', async () => {
    for (const aliased of aliases) {
      await expect(verifyJwsSignature(aliased, 'RS256', key)).resolves.toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Key mismatch
// ---------------------------------------------------------------------------------------------

describe('verifyJwsSignature: a key that cannot verify exactly that alg rejects with JwsKeyMismatch', () => {
  const tokens = new Map<string, string>();
  const tokenFor = async (alg: string) => {
    let token = tokens.get(alg);
    if (token === undefined) {
      token = await mint(alg, (await keysFor(alg)).signKey);
      tokens.set(alg, token);
    }
    return token;
  };

  /** [name, alg (the token's header says the same), key]. */
  const cases: [string, string, () => Promise<CryptoKey>][] = [
    ['RS256 with an RSA-PSS key (PS256)', 'RS256', async () => (await keysFor('PS256')).verifyKey],
    ['RS256 with an RSASSA key for SHA-384 (RS384)', 'RS256', async () => (await keysFor('RS384')).verifyKey],
    ['RS512 with an RSASSA key for SHA-256', 'RS512', async () => (await keysFor('RS256')).verifyKey],
    ['PS256 with an RSASSA-PKCS1-v1_5 key', 'PS256', async () => (await keysFor('RS256')).verifyKey],
    ['PS384 with an RSA-PSS key for SHA-512', 'PS384', async () => (await keysFor('PS512')).verifyKey],
    ['ES256 with a P-384 key', 'ES256', async () => (await keysFor('ES384')).verifyKey],
    ['ES512 with a P-256 key', 'ES512', async () => (await keysFor('ES256')).verifyKey],
    ['ES256 with an Ed25519 key', 'ES256', async () => (await keysFor('EdDSA')).verifyKey],
    ['EdDSA with a P-256 key', 'EdDSA', async () => (await keysFor('ES256')).verifyKey],
    ['RS256 with an HMAC key', 'RS256', async () => (await keysFor('HS256')).verifyKey],
    ['HS256 with an RSA public key', 'HS256', async () => (await keysFor('RS256')).verifyKey],
    ['HS256 with an HMAC key for SHA-512', 'HS256', async () => (await keysFor('HS512')).verifyKey],
    ['HS512 with an HMAC key for SHA-256', 'HS512', async () => (await keysFor('HS256')).verifyKey],
    ['HS256 with the right secret, imported for signing only', 'HS256', async () => hmacKey((await keysFor('HS256')).signKey as Uint8Array, 'SHA-256', ['sign'])],
    ['RS256 with the private key', 'RS256', async () => (await jose.importJWK(pairs.rsa[0].privateJwk, 'RS256')) as CryptoKey],
    ['ES256 with the private key', 'ES256', async () => (await jose.importJWK(pairs['P-256'][0].privateJwk, 'ES256')) as CryptoKey],
    ['EdDSA with the private key', 'EdDSA', async () => (await jose.importJWK(pairs.Ed25519[0].privateJwk, 'EdDSA')) as CryptoKey],
    ['RS256 with a public key imported for encryption (RSA-OAEP)', 'RS256', async () =>
      crypto.subtle.importKey('jwk', pairs.rsa[0].publicJwk as JsonWebKey, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt'])],
    ['ES256 with an ECDH P-256 public key', 'ES256', async () =>
      crypto.subtle.importKey('jwk', pairs['P-256'][0].publicJwk as JsonWebKey, { name: 'ECDH', namedCurve: 'P-256' }, false, [])],
  ];

  it.each(cases)('%s', async (_name, alg, makeKey) => {
    const key = await makeKey();
    const token = await tokenFor(alg);
    // jose refuses the same key for the same alg: the mismatch is real.
    await expect(jose.compactVerify(token, key, { algorithms: [alg] })).rejects.toThrow();
    await expect(verifyJwsSignature(token, alg, key)).rejects.toBeInstanceOf(JwsKeyMismatch);
  });

  // A difference from jose, which takes an HMAC secret as bytes: this module takes CryptoKeys
  // only (jwtVerifier imports its secret with crypto.subtle.importKey), and bytes are refused
  // as a mismatch rather than failing on a property lookup.
  it('HS256 with the right secret as bytes (what jose importJWK returns for oct), not a CryptoKey', async () => {
    const secret = (await keysFor('HS256')).signKey as Uint8Array;
    const token = await tokenFor('HS256');
    await expect(jose.compactVerify(token, secret, { algorithms: ['HS256'] })).resolves.toBeDefined();
    await expect(verifyJwsSignature(token, 'HS256', secret as unknown as CryptoKey)).rejects.toBeInstanceOf(JwsKeyMismatch);
  });

  it('RS256 with a 1024-bit RSA key, even though the signature is right', async () => {
    const small = await newPair('rsa', 1024);
    const key = await crypto.subtle.importKey('jwk', small.publicJwk as JsonWebKey, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
    const input = `${segmentOf({ alg: 'RS256' })}.${segmentOf({ sub: 'user-1' })}`;
    const signature = nodeSign('sha256', Buffer.from(input), small.privateKey);
    expect(nodeVerify('sha256', Buffer.from(input), small.publicKey, signature)).toBe(true);
    const token = `${input}.${signature.toString('base64url')}`;
    await expect(jose.compactVerify(token, key, { algorithms: ['RS256'] })).rejects.toThrow(/2048/);
    await expect(verifyJwsSignature(token, 'RS256', key)).rejects.toBeInstanceOf(JwsKeyMismatch);
    // PS256 likewise.
    const pss = await crypto.subtle.importKey('jwk', small.publicJwk as JsonWebKey, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify']);
    await expect(verifyJwsSignature(token, 'PS256', pss)).rejects.toBeInstanceOf(JwsKeyMismatch);
  });

  it('EdDSA with an Ed448 key (Ed25519 only)', async () => {
    const { publicKey } = (await crypto.subtle.generateKey({ name: 'Ed448' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    expect(publicKey.usages).toContain('verify');
    await expect(verifyJwsSignature(await tokenFor('EdDSA'), 'EdDSA', publicKey)).rejects.toBeInstanceOf(JwsKeyMismatch);
    await expect(verifyJwsSignature(await tokenFor('EdDSA'), 'Ed25519', publicKey)).rejects.toBeInstanceOf(JwsKeyMismatch);
  });

  it.each(['none', 'HS1', '', 'hs256', 'RS1', 'ES256K', 'Ed448', 'RSA-OAEP', 'toString', '__proto__'])(
    'an alg it does not know (%j), with a key of every kind',
    async (alg) => {
      const token = await tokenFor('RS256');
      for (const known of ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256']) {
        const key = (await keysFor(known)).verifyKey;
        await expect(verifyJwsSignature(token, alg, key)).rejects.toBeInstanceOf(JwsKeyMismatch);
      }
    },
  );

  it('the mismatch is decided before the token is looked at: a malformed token still rejects', async () => {
    const pss = (await keysFor('PS256')).verifyKey;
    for (const token of ['', 'garbage', 'a.b.c', `${await tokenFor('RS256')}==`]) {
      await expect(verifyJwsSignature(token, 'RS256', pss)).rejects.toBeInstanceOf(JwsKeyMismatch);
      await expect(verifyJwsSignature(token, 'none', pss)).rejects.toBeInstanceOf(JwsKeyMismatch);
    }
  });

  it('JwsKeyMismatch is a TypeError named JwsKeyMismatch that says what is wrong', async () => {
    const error = await verifyJwsSignature(await tokenFor('RS256'), 'RS256', (await keysFor('PS256')).verifyKey).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toBeInstanceOf(JwsKeyMismatch);
    expect((error as Error).name).toBe('JwsKeyMismatch');
    expect((error as Error).message).toMatch(/RSA-PSS.*RS256/);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Algorithm confusion (RS256 public key used as an HS256 secret)
// ---------------------------------------------------------------------------------------------

describe('verifyJwsSignature: the RS256 → HS256 algorithm-confusion attack', () => {
  let rsaKey: CryptoKey;
  let secrets: [string, Uint8Array][];

  beforeAll(async () => {
    rsaKey = (await keysFor('RS256')).verifyKey;
    const jwk = (await jose.exportJWK(rsaKey)) as jose.JWK;
    secrets = [
      ['the SPKI PEM', new TextEncoder().encode(pairs.rsa[0].publicKey.export({ format: 'pem', type: 'spki' }) as string)],
      ['the PEM from jose.exportSPKI', new TextEncoder().encode(await jose.exportSPKI(rsaKey))],
      ['the public JWK as JSON', new TextEncoder().encode(JSON.stringify(jwk))],
      ['the bare public JWK as JSON', new TextEncoder().encode(JSON.stringify(pairs.rsa[0].publicJwk))],
      ['the DER SPKI', new Uint8Array(pairs.rsa[0].publicKey.export({ format: 'der', type: 'spki' }))],
    ];
  });

  it('an HS256 token MACed with the RSA public key\'s bytes: JwsKeyMismatch under HS256, false under RS256', async () => {
    for (const [, secret] of secrets) {
      const forged = await mint('HS256', secret, { sub: 'admin', scope: 'mcp:admin' });
      // It is a good HS256 token for a verifier that took the public key's bytes as the secret.
      await expect(verifyJwsSignature(forged, 'HS256', await hmacKey(secret, 'SHA-256'))).resolves.toBe(true);
      // With the RSA key: the token's alg cannot choose HMAC.
      await expect(verifyJwsSignature(forged, 'HS256', rsaKey)).rejects.toBeInstanceOf(JwsKeyMismatch);
      // Checked as RS256 (what the key is for), the MAC is no signature.
      await expect(verifyJwsSignature(forged, 'RS256', rsaKey)).resolves.toBe(false);
      await expect(joseAccepts(forged, 'HS256', rsaKey)).resolves.toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 5. ECDSA signatures in DER
// ---------------------------------------------------------------------------------------------

/** r || s (each `size` bytes) from a DER ECDSA-Sig-Value, SEQUENCE { INTEGER r, INTEGER s }. */
function derToRaw(der: Buffer, size: number): Buffer {
  let i = 1;
  i += der[i] & 0x80 ? 1 + (der[i] & 0x7f) : 1; // SEQUENCE length (long form for P-521)
  const integer = () => {
    expect(der[i]).toBe(0x02);
    const length = der[i + 1];
    const value = der.subarray(i + 2, i + 2 + length);
    i += 2 + length;
    const trimmed = value.subarray(Math.max(0, value.length - size));
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]);
  };
  return Buffer.concat([integer(), integer()]);
}

describe('verifyJwsSignature: ECDSA signatures in DER (node:crypto\'s default) instead of raw r || s', () => {
  it.each([
    ['ES256', 'sha256', 32],
    ['ES384', 'sha384', 48],
    ['ES512', 'sha512', 66],
  ] as const)('%s: the DER form is refused; the same r and s as raw r || s verify', async (alg, digest, size) => {
    const { verifyKey } = await keysFor(alg);
    const input = `${segmentOf({ alg })}.${segmentOf({ sub: 'user-1' })}`;
    const der = nodeSign(digest, Buffer.from(input), pairs[familyOf(alg)][0].privateKey);
    expect(der[0]).toBe(0x30);
    const derToken = `${input}.${der.toString('base64url')}`;
    await expect(verifyJwsSignature(derToken, alg, verifyKey)).resolves.toBe(false);
    await expect(joseAccepts(derToken, alg, verifyKey)).resolves.toBe(false);
    // The signature itself is good: re-encoded as JWS wants it, it verifies.
    const rawToken = `${input}.${derToRaw(der, size).toString('base64url')}`;
    await expect(joseAccepts(rawToken, alg, verifyKey)).resolves.toBe(true);
    await expect(verifyJwsSignature(rawToken, alg, verifyKey)).resolves.toBe(true);
  });

  it('ES256: a DER signature cut or padded to 64 bytes is refused', async () => {
    const { verifyKey } = await keysFor('ES256');
    const input = `${segmentOf({ alg: 'ES256' })}.${segmentOf({ sub: 'user-1' })}`;
    const der = nodeSign('sha256', Buffer.from(input), pairs['P-256'][0].privateKey);
    const fitted = der.length >= 64 ? der.subarray(0, 64) : Buffer.concat([der, Buffer.alloc(64 - der.length)]);
    await expect(verifyJwsSignature(`${input}.${fitted.toString('base64url')}`, 'ES256', verifyKey)).resolves.toBe(false);
  });
});
