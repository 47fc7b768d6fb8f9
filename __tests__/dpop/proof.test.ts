// RFC 9449 §4.3 proof checks, one wrong thing per proof, against DpopProofVerifier alone.
import { generateKeyPair, exportJWK } from 'jose';
import Keyv from 'keyv';
import fc from 'fast-check';
import { DpopProofError, DpopProofVerifier, MAX_PROOF_LENGTH } from '../../lib/dpop/proof';
import { resolveDpopOptions, type DpopOptions } from '../../lib/dpop/options';
import { MultiAuthConfigError } from '../../lib/core/errors';
import { makeProof, proofKey, type ProofKey } from '../support/dpop';

const URL_ = 'http://127.0.0.1/echo';
const TOKEN = 'the-access-token';
const SECRET = 'a nonce secret of at least thirty-two bytes';

const verifierWith = (options: DpopOptions = {}) => new DpopProofVerifier(resolveDpopOptions({ url: 'http://127.0.0.1', ...options }, ['primary'])!);
const input = (proof: string, extra: Partial<{ method: string; url: string; accessToken: string }> = {}) => ({
  proof,
  method: 'GET',
  url: URL_,
  accessToken: TOKEN,
  ...extra,
});

/** The error a proof is refused with, or 'accepted'. */
async function outcome(verifier: DpopProofVerifier, proof: string, extra: Parameters<typeof input>[1] = {}, now?: number) {
  try {
    await verifier.verify(input(proof, extra), now);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof DpopProofError)) throw error;
    return error.code;
  }
}

let key: ProofKey;
beforeAll(async () => {
  key = await proofKey('ES256');
});

describe('a DPoP proof', () => {
  it('passes when it fits the request, and yields its key\'s RFC 7638 thumbprint', async () => {
    const proof = await makeProof(key, { token: TOKEN });
    await expect(verifierWith().verify(input(proof))).resolves.toMatchObject({ jkt: key.jkt });
  });

  it.each(['EdDSA', 'RS256', 'PS256', 'ES384'])('passes signed with %s', async (alg) => {
    const k = await proofKey(alg);
    await expect(verifierWith().verify(input(await makeProof(k, { token: TOKEN })))).resolves.toMatchObject({ jkt: k.jkt });
  });

  it('is refused for another method (htm)', async () => {
    expect(await outcome(verifierWith(), await makeProof(key, { token: TOKEN, htm: 'POST' }))).toBe('invalid_dpop_proof');
  });

  it('is refused for another URL (htu): path, host or scheme', async () => {
    for (const htu of ['http://127.0.0.1/other', 'http://localhost/echo', 'https://127.0.0.1/echo', 'not a url']) {
      expect(await outcome(verifierWith(), await makeProof(key, { token: TOKEN, htu }))).toBe('invalid_dpop_proof');
    }
  });

  it('compares htu without query and fragment, and after URL normalisation', async () => {
    for (const htu of ['http://127.0.0.1/echo?x=1', 'http://127.0.0.1/echo#f', 'HTTP://127.0.0.1:80/echo']) {
      expect(await outcome(verifierWith(), await makeProof(key, { token: TOKEN, htu }))).toBe('accepted');
    }
  });

  it('is refused when iat is outside ±maxProofAgeSeconds, and passes inside', async () => {
    const now = Math.floor(Date.now() / 1000);
    const v = verifierWith({ maxProofAgeSeconds: 60 });
    expect(await outcome(v, await makeProof(key, { token: TOKEN, iat: now - 61 }), {}, now * 1000)).toBe('invalid_dpop_proof');
    expect(await outcome(v, await makeProof(key, { token: TOKEN, iat: now + 61 }), {}, now * 1000)).toBe('invalid_dpop_proof');
    expect(await outcome(v, await makeProof(key, { token: TOKEN, iat: now - 59 }), {}, now * 1000)).toBe('accepted');
    expect(await outcome(v, await makeProof(key, { token: TOKEN, iat: now + 59 }), {}, now * 1000)).toBe('accepted');
  });

  it('is refused when ath is the hash of another token, or missing', async () => {
    expect(await outcome(verifierWith(), await makeProof(key, { token: 'another-token' }))).toBe('invalid_dpop_proof');
    expect(await outcome(verifierWith(), await makeProof(key, { token: TOKEN, ath: null }))).toBe('invalid_dpop_proof');
  });

  it('is refused when signed by another key than the one in its jwk header', async () => {
    const other = await proofKey('ES256');
    expect(await outcome(verifierWith(), await makeProof(key, { token: TOKEN, signWith: other.privateKey }))).toBe('invalid_dpop_proof');
  });

  it('is refused when signed by another key, also once its jwk is known from an earlier proof', async () => {
    const v = verifierWith();
    // Accepted and claimed: the key is now remembered imported.
    expect(await v.verdict(await v.verify(input(await makeProof(key, { token: TOKEN }))))).toBe('first');
    const other = await proofKey('ES256');
    expect(await outcome(v, await makeProof(key, { token: TOKEN, signWith: other.privateKey }))).toBe('invalid_dpop_proof');
    expect(await outcome(v, await makeProof(key, { token: TOKEN, htm: 'POST' }))).toBe('invalid_dpop_proof');
    await expect(v.verify(input(await makeProof(key, { token: TOKEN })))).resolves.toMatchObject({ jkt: key.jkt });
    // Another client's key is its own, thumbprint included.
    await expect(v.verify(input(await makeProof(other, { token: TOKEN })))).resolves.toMatchObject({ jkt: other.jkt });
  });

  it('is refused with a symmetric algorithm (HS256 with an oct jwk)', async () => {
    const secret = new Uint8Array(32).fill(7);
    const proof = await makeProof(key, { token: TOKEN, alg: 'HS256', signWith: secret, jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } });
    expect(await outcome(verifierWith(), proof)).toBe('invalid_dpop_proof');
  });

  it('is refused with alg none', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ jti: 'x', htm: 'GET', htu: URL_, iat: Math.floor(Date.now() / 1000) })).toString('base64url');
    expect(await outcome(verifierWith(), `${header}.${payload}.`)).toBe('invalid_dpop_proof');
  });

  it('is refused without a jwk header', async () => {
    expect(await outcome(verifierWith(), await makeProof(key, { token: TOKEN, jwk: null }))).toBe('invalid_dpop_proof');
  });

  it('is refused when its jwk holds the private key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const proof = await makeProof(key, { token: TOKEN, jwk: privateJwk, signWith: privateKey });
    await expect(verifierWith().verify(input(proof))).rejects.toThrow(/private/);
  });

  it('is refused with another typ', async () => {
    expect(await outcome(verifierWith(), await makeProof(key, { token: TOKEN, typ: 'JWT' }))).toBe('invalid_dpop_proof');
  });

  it('is refused with an algorithm outside the configured list', async () => {
    const ed = await proofKey('EdDSA');
    expect(await outcome(verifierWith({ algorithms: ['ES256'] }), await makeProof(ed, { token: TOKEN }))).toBe('invalid_dpop_proof');
  });

  it('never throws anything but a DpopProofError for any string or any JWS-shaped value (property)', async () => {
    const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value) ?? '').toString('base64url');
    const headerLike = fc.record(
      {
        alg: fc.oneof(fc.constantFrom('ES256', 'none', 'HS256', 'RS256', 'EdDSA'), fc.anything()),
        typ: fc.oneof(fc.constant('dpop+jwt'), fc.anything()),
        jwk: fc.oneof(fc.constant(key.publicJwk), fc.anything(), fc.record({ kty: fc.constantFrom('EC', 'RSA', 'OKP', 'oct'), crv: fc.string(), x: fc.string(), d: fc.string() }, { requiredKeys: ['kty'] })),
        crit: fc.array(fc.string()),
      },
      { requiredKeys: [] },
    );
    const jwsLike = fc.tuple(fc.oneof(headerLike, fc.anything()), fc.anything(), fc.string()).map(([h, p, sig]) => `${b64(h)}.${b64(p)}.${b64(sig)}`);
    const v = verifierWith();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), jwsLike), async (proof) => {
        expect(await outcome(v, proof)).toBe('invalid_dpop_proof');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but a DpopProofError, whatever the header holds', async () => {
    const junk = ['', 'x', 'a.b.c', '...', 'e30.e30.', `${'a'.repeat(MAX_PROOF_LENGTH + 1)}`, '\u0000.\u0000.\u0000', 'eyJhbGciOiJFUzI1NiJ9.bnVsbA.AA'];
    for (const proof of junk) expect(await outcome(verifierWith(), proof)).toBe('invalid_dpop_proof');
  });
});

describe('server nonces (stateless)', () => {
  it('asks for a nonce (use_dpop_nonce) and accepts the one it gave', async () => {
    const v = verifierWith({ nonce: { secret: SECRET } });
    const error = await v.verify(input(await makeProof(key, { token: TOKEN }))).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'use_dpop_nonce', nonce: expect.any(String) });
    const nonce = (error as DpopProofError).nonce!;
    expect(await outcome(v, await makeProof(key, { token: TOKEN, nonce }))).toBe('accepted');
    expect(await outcome(v, await makeProof(key, { token: TOKEN, nonce: `${nonce}x` }))).toBe('use_dpop_nonce');
  });

  it('accepts a replica\'s nonce when they share the secret, and not another secret\'s', async () => {
    const a = verifierWith({ nonce: { secret: SECRET } });
    const b = verifierWith({ nonce: { secret: SECRET } });
    const c = verifierWith({ nonce: { secret: `${SECRET} but another` } });
    const nonce = a.currentNonce()!;
    expect(await outcome(b, await makeProof(key, { token: TOKEN, nonce }))).toBe('accepted');
    expect(await outcome(c, await makeProof(key, { token: TOKEN, nonce }))).toBe('use_dpop_nonce');
  });

  it('keeps a nonce good for the next window, and not the one after', async () => {
    const v = verifierWith({ nonce: { secret: SECRET, lifetimeSeconds: 60 }, maxProofAgeSeconds: 600 });
    const t0 = 1_800_000_000_000;
    const nonce = v.currentNonce(t0)!;
    const iat = t0 / 1000;
    expect(await outcome(v, await makeProof(key, { token: TOKEN, nonce, iat }), {}, t0 + 60_000)).toBe('accepted');
    expect(await outcome(v, await makeProof(key, { token: TOKEN, nonce, iat }), {}, t0 + 120_000)).toBe('use_dpop_nonce');
  });
});

describe('replay (jti)', () => {
  it('claims a proof once; the same key and jti again is a replay', async () => {
    const v = verifierWith();
    const proof = await v.verify(input(await makeProof(key, { token: TOKEN, jti: 'once' })));
    await expect(v.claim(proof)).resolves.toBe(true);
    await expect(v.claim(proof)).resolves.toBe(false);
  });

  it('refuses a replay at another instance sharing a Keyv store', async () => {
    const store = new Keyv();
    const a = verifierWith({ store });
    const b = verifierWith({ store });
    const proof = await makeProof(key, { token: TOKEN });
    await expect(a.claim(await a.verify(input(proof)))).resolves.toBe(true);
    await expect(b.claim(await b.verify(input(proof)))).resolves.toBe(false);
  });

  it('goes on with its own memory when the store fails, with a warning', async () => {
    const down = () => Promise.reject(new Error('store down'));
    const failing = { get: down, set: down, delete: down };
    const v = verifierWith({ store: failing });
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const proof = await v.verify(input(await makeProof(key, { token: TOKEN })));
      await expect(v.claim(proof)).resolves.toBe(true);
      await expect(v.claim(proof)).resolves.toBe(false);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('the shared store failed'), expect.anything());
    } finally {
      warn.mockRestore();
    }
  });
});

describe('dpop options', () => {
  it.each([
    [{ algorithms: ['HS256'] }, /not an asymmetric/],
    [{ algorithms: ['none'] }, /not an asymmetric/],
    [{ algorithms: [] }, /non-empty/],
    [{ required: ['nosuch'] }, /not a source/],
    [{ nonce: { secret: 'short' } }, /at least 32 bytes/],
    [{ url: 'https://mcp.example.com/mcp' }, /origin only/],
    [{ maxProofAgeSeconds: 0 }, /positive/],
    [{ store: {} }, /dpop: store must be a Keyv-compatible store/],
    [{ requird: true }, /unknown option "dpop.requird"; did you mean "dpop.required"/],
  ])('refuses %j', (options, message) => {
    expect(() => resolveDpopOptions(options, ['primary'], 'http://127.0.0.1')).toThrow(MultiAuthConfigError);
    expect(() => resolveDpopOptions(options, ['primary'], 'http://127.0.0.1')).toThrow(message);
  });
});
