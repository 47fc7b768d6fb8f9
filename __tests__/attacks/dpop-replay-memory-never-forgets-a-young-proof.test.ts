// Attack: replay memory that evicts (an LRU) can be flushed. The attacker, holding one DPoP-bound
// token of their own, sends enough of their own valid proofs to push a victim's still-young `jti`
// out, then replays a captured (token, proof) pair. The defence never forgets a proof before its
// `iat` leaves the window; when it cannot remember more it does not guess (the chain answers 503
// `temporarily_unavailable`, or `use_dpop_nonce` with nonces on), and one proof key holds at most
// its share, so the attacker fills their own share and nobody else's.
// Exercised on the replay memory directly with a small capacity (no 100k requests), then once
// over HTTP.
import { resolveDpopOptions, type DpopOptions } from '../../lib/dpop/options';
import { DpopProofVerifier, type VerifiedProof } from '../../lib/dpop/proof';

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
