// Attack: replay memory that evicts (an LRU) can be flushed. The attacker, holding one DPoP-bound
// token of their own, sends enough of their own valid proofs to push a victim's still-young `jti`
// out, then replays a captured (token, proof) pair. The defence never forgets a proof before its
// `iat` leaves the window; when it cannot remember more it does not guess (the chain answers 503
// `temporarily_unavailable`, or `use_dpop_nonce` with nonces on), and one proof key holds at most
// its share, so the attacker fills their own share and nobody else's.
// Exercised on the replay memory directly with a small capacity (no 100k requests), then once
// over HTTP.
import { createServer, type Server } from 'node:http';
import express from 'express';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { resolveDpopOptions, type DpopOptions } from '../../lib/dpop/options';
import { DpopProofVerifier, type VerifiedProof } from '../../lib/dpop/proof';
import type { Decision } from '../../lib/core/types';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { makeProof, proofKey, type ProofKey } from '../support/dpop';

const ORIGIN = 'https://mcp.example.com';
const WINDOW = 300;

const verifierWith = (options: DpopOptions) => new DpopProofVerifier(resolveDpopOptions({ url: ORIGIN, ...options }, ['primary'])!);
const proofBy = (jkt: string, jti: string, iat: number): VerifiedProof => ({ jkt, jti, iat });

let warnings: string[];
beforeEach(() => {
  warnings = [];
  jest.spyOn(process, 'emitWarning').mockImplementation(((message: string) => {
    warnings.push(message);
  }) as typeof process.emitWarning);
});
afterEach(() => {
  jest.restoreAllMocks();
});

describe('DPoP replay memory never forgets a proof before its iat leaves the window', () => {
  it('a victim\'s proof stays remembered however many proofs the attacker sends', async () => {
    const proofs = verifierWith({ maxReplayEntries: 50 });
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    expect(await proofs.claim(proofBy('victim-key', 'victim-jti', iat), now)).toBe(true);
    for (let i = 0; i < 200; i++) await proofs.claim(proofBy('attacker-key', `flood-${i}`, iat), now + i);
    expect(await proofs.claim(proofBy('victim-key', 'victim-jti', iat), now + 500)).toBe(false);
  });

  it('a proof that could still pass the iat check is remembered to the end of the window, and then let go', async () => {
    const proofs = verifierWith({ maxReplayEntries: 10, maxReplayEntriesPerKey: 10 });
    const now = Date.now();
    const iat = Math.floor(now / 1000) + WINDOW; // as far in the future as the check allows
    expect(await proofs.claim(proofBy('k', 'j', iat), now)).toBe(true);
    for (let i = 0; i < 9; i++) await proofs.claim(proofBy('k', `fill-${i}`, Math.floor(now / 1000)), now);
    expect(await proofs.verdict(proofBy('other', 'new', Math.floor(now / 1000)), now)).toBe('full');
    // Room comes back once proofs leave the window: the memory bound is not a permanent lock-out.
    const later = now + (WINDOW + 2) * 1000;
    expect(await proofs.verdict(proofBy('other', 'new', Math.floor(later / 1000)), later)).toBe('first');
    // The proof dated at the window's far end is still remembered, until its own end.
    expect(await proofs.claim(proofBy('k', 'j', iat), now + 2 * WINDOW * 1000)).toBe(false);
    expect(await proofs.claim(proofBy('k', 'j', iat), now + (2 * WINDOW + 2) * 1000)).toBe(true);
  });

  it('when full, a new proof is not accepted on a guess, and the operator is warned', async () => {
    const proofs = verifierWith({ maxReplayEntries: 5, maxReplayEntriesPerKey: 5 });
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    for (let i = 0; i < 5; i++) expect(await proofs.verdict(proofBy(`k${i}`, `j${i}`, iat), now)).toBe('first');
    expect(await proofs.verdict(proofBy('k9', 'j9', iat), now)).toBe('full');
    expect(warnings.some((w) => /DPoP replay memory is full/.test(w))).toBe(true);
  });

  it('one proof key fills its own share, not the memory: other clients go on', async () => {
    const proofs = verifierWith({ maxReplayEntries: 100, maxReplayEntriesPerKey: 10 });
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    const verdicts: string[] = [];
    for (let i = 0; i < 50; i++) verdicts.push(await proofs.verdict(proofBy('attacker-key', `flood-${i}`, iat), now));
    expect(verdicts.filter((v) => v === 'first')).toHaveLength(10);
    expect(verdicts.slice(10).every((v) => v === 'full')).toBe(true);
    expect(await proofs.verdict(proofBy('victim-key', 'fresh', iat), now)).toBe('first');
  });

  it('the per-key share defaults to a tenth of the memory', async () => {
    const proofs = verifierWith({ maxReplayEntries: 100 });
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    let accepted = 0;
    for (let i = 0; i < 30; i++) if ((await proofs.verdict(proofBy('a', `j${i}`, iat), now)) === 'first') accepted++;
    expect(accepted).toBe(10);
  });
});

describe('over HTTP, with a small replay memory', () => {
  const ISSUER = 'https://issuer.example.test';
  const PUBLIC = 'https://mcp.example.test';
  let servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map(closeServer));
    servers = [];
  });

  async function setUp(dpop: DpopOptions) {
    const pair = await generateKeyPair('ES256');
    const publicJwk = await exportJWK(pair.publicKey);
    const bound = async (key: ProofKey) =>
      new SignJWT({ client_id: key.jkt.slice(0, 8), scope: 'mcp:read', cnf: { jkt: key.jkt } })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(ISSUER)
        .setAudience(`${PUBLIC}/mcp`)
        .setExpirationTime('1h')
        .sign(pair.privateKey);
    const decisions: Decision[] = [];
    const app = express();
    app.use(multiAuth({
      verifiers: [jwtVerifier({ name: 'jwt', issuer: ISSUER, audience: `${PUBLIC}/mcp`, publicKey: publicJwk })],
      dpop: { url: PUBLIC, ...dpop },
      onDecision: (d) => decisions.push(d),
    }));
    app.get('/echo', (_req, res) => res.json({ ok: true }));
    const server = createServer(app);
    servers.push(server);
    const origin = await listenOnLoopback(server);
    const call = async (key: ProofKey, token: string, proof?: string, nonce?: string) => {
      const dpopProof = proof ?? (await makeProof(key, { htm: 'GET', htu: `${PUBLIC}/echo`, token, ...(nonce ? { nonce } : {}) }));
      const res = await fetch(`${origin}/echo`, { headers: { authorization: `DPoP ${token}`, dpop: dpopProof } });
      const body = (await res.json()) as Record<string, unknown>;
      return { status: res.status, body, retryAfter: res.headers.get('retry-after'), nonce: res.headers.get('dpop-nonce'), proof: dpopProof };
    };
    return { bound, call, decisions };
  }

  it('the attacker\'s flood gets 503 past its share, and the victim\'s captured proof still does not replay', async () => {
    const { bound, call, decisions } = await setUp({ maxReplayEntries: 20, maxReplayEntriesPerKey: 5 });
    const [victim, attacker] = await Promise.all([proofKey('ES256'), proofKey('ES256')]);
    const [victimToken, attackerToken] = await Promise.all([bound(victim), bound(attacker)]);
    const captured = await call(victim, victimToken);
    expect(captured.status).toBe(200);
    const flood = [];
    for (let i = 0; i < 12; i++) flood.push(await call(attacker, attackerToken));
    expect(flood.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(flood.slice(5).every((r) => r.status === 503 && r.body.error === 'temporarily_unavailable' && r.retryAfter !== null)).toBe(true);
    expect(decisions.at(-1)?.notes?.some((n) => /share/.test(n))).toBe(true);
    const replayed = await call(victim, victimToken, captured.proof);
    expect([replayed.status, replayed.body.error]).toEqual([401, 'invalid_dpop_proof']);
    expect((await call(victim, victimToken)).status).toBe(200);
  });

  it('with nonces on, a proof that cannot be remembered gets a fresh use_dpop_nonce', async () => {
    const { bound, call } = await setUp({ maxReplayEntries: 2, maxReplayEntriesPerKey: 2, nonce: { secret: 'a3f1c9e07b2d4856f0e1d2c3b4a59687' } });
    const key = await proofKey('ES256');
    const token = await bound(key);
    const first = await call(key, token);
    expect(first.body.error).toBe('use_dpop_nonce');
    const nonce = first.nonce as string;
    expect((await call(key, token, undefined, nonce)).status).toBe(200);
    expect((await call(key, token, undefined, nonce)).status).toBe(200);
    const full = await call(key, token, undefined, nonce);
    expect([full.status, full.body.error]).toEqual([401, 'use_dpop_nonce']);
    expect(full.nonce).toBeTruthy();
  });
});

describe('when the shared store cannot tell whether a proof was used at another replica', () => {
  const down = { get: () => Promise.reject(new Error('down')), set: () => Promise.reject(new Error('down')), delete: () => Promise.reject(new Error('down')) };

  it('dpop.failClosed: true does not accept on this process\'s word alone', async () => {
    const proofs = verifierWith({ store: down, failClosed: true });
    const notes: string[] = [];
    expect(await proofs.verdict(proofBy('k', 'j', Math.floor(Date.now() / 1000)), Date.now(), (n) => notes.push(n))).toBe('unknown');
    expect(notes.some((n) => /failClosed/.test(n))).toBe(true);
  });

  it('by default, this process\'s memory decides, and says so in a note', async () => {
    const proofs = verifierWith({ store: down });
    const notes: string[] = [];
    const now = Date.now();
    expect(await proofs.verdict(proofBy('k', 'j', Math.floor(now / 1000)), now, (n) => notes.push(n))).toBe('first');
    expect(await proofs.verdict(proofBy('k', 'j', Math.floor(now / 1000)), now)).toBe('replay');
    expect(notes.some((n) => /shared store/.test(n))).toBe(true);
  });
});

describe('a captured proof re-spelled', () => {
  it('with s replaced by n - s (a second valid ES256 signature) is still the same proof: a replay', async () => {
    const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const key = await proofKey('ES256');
    const proofs = verifierWith({});
    const input = (proof: string) => ({ proof, method: 'GET', url: `${ORIGIN}/echo`, accessToken: 'tok' });
    const proof = await makeProof(key, { htm: 'GET', htu: `${ORIGIN}/echo`, token: 'tok' });
    expect(await proofs.verdict(await proofs.verify(input(proof)))).toBe('first');
    const dot = proof.lastIndexOf('.');
    const signature = Buffer.from(proof.slice(dot + 1), 'base64url');
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    const respelled = `${proof.slice(0, dot + 1)}${Buffer.concat([signature.subarray(0, 32), Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex')]).toString('base64url')}`;
    const verified = await proofs.verify(input(respelled));
    expect(await proofs.verdict(verified)).toBe('replay');
  });
});
