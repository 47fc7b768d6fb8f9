// Attack (found in the second review of lib/dpop): the proof verifier keeps imported client keys
// (1,000 of them) so an honest client does not pay the import on every request. A proof signed
// by a fresh key of the attacker's own verifies fine, since the key is its own; if verifying
// were enough to be remembered, a stream of throwaway keys (no token needed: the request fails
// later, at the binding) would evict every honest client's key, and each of their requests would
// pay the import again. The defence remembers a key only once a request with it was accepted.
import { resolveDpopOptions } from '../../lib/dpop/options';
import { DpopProofVerifier } from '../../lib/dpop/proof';
import { makeProof, proofKey, type ProofKey } from '../support/dpop';

const ORIGIN = 'https://mcp.example.com';
const URL_ = `${ORIGIN}/mcp`;
const TOKEN = 'the-access-token';
const THROWAWAY_KEYS = 1_100;

const input = (proof: string) => ({ proof, method: 'POST', url: URL_, accessToken: TOKEN });
const proofBy = (key: ProofKey) => makeProof(key, { htm: 'POST', htu: URL_, token: TOKEN });

async function imports(run: () => Promise<unknown>): Promise<number> {
  const spy = jest.spyOn(crypto.subtle, 'importKey');
  try {
    await run();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe('the imported-key cache holds the keys of accepted clients, whatever else verifies', () => {
  it(`an honest client's key survives ${THROWAWAY_KEYS} proofs by throwaway keys that never got a request accepted`, async () => {
    const proofs = new DpopProofVerifier(resolveDpopOptions({ url: ORIGIN }, ['primary'])!);
    const honest = await proofKey('ES256');
    const accepted = await proofs.verify(input(await proofBy(honest)));
    expect(await proofs.verdict(accepted)).toBe('first');
    expect(await imports(async () => proofs.verify(input(await proofBy(honest))))).toBe(0);

    for (let i = 0; i < THROWAWAY_KEYS; i++) {
      // Verified (the key is the attacker's own), then refused at the binding: never claimed.
      await proofs.verify(input(await proofBy(await proofKey('ES256'))));
    }
    expect(await imports(async () => proofs.verify(input(await proofBy(honest))))).toBe(0);
  });
});
