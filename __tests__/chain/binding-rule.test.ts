// The binding rule alone (lib/chain/binding.ts): what a token is bound to, read from wherever a
// source reports it, against the evidence a request showed. The HTTP attacks are in
// __tests__/attacks/bound-tokens-are-never-bearer-tokens.test.ts.
import { bindingOf, bindingProblem, type BindingPolicy } from '../../lib/chain/binding';

const JKT = 'afoa4NpbfXzfszCrn6p5b7LbqLOC-papHY81P_d_XGU';
const X5T = 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2';
const none: BindingPolicy = {};
const dpop: BindingPolicy = { dpop: { required: () => false } };
const both: BindingPolicy = { dpop: { required: () => false }, mtls: { required: () => false } };

const info = (payload?: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ payload, extra: { source: 's', ...extra }, source: 's' });

describe('what a token is bound to', () => {
  it.each<[string, ReturnType<typeof info>, Partial<ReturnType<typeof bindingOf>>]>([
    ['a JWT claim or introspection member cnf.jkt', info({ cnf: { jkt: JKT } }), { jkt: [JKT], bound: true }],
    ['a custom verifier\'s extra.cnf', info(undefined, { cnf: { jkt: JKT } }), { jkt: [JKT], bound: true }],
    ['a certificate thumbprint', info({ cnf: { 'x5t#S256': X5T } }), { x5tS256: [X5T], bound: true }],
    ['introspection token_type DPoP without cnf', info({ token_type: 'DPoP' }), { jkt: [], bound: true, dpopType: true }],
    ['token_type dpop, any case', info({ token_type: 'dPoP' }), { dpopType: true }],
    ['a cnf that is not an object', info({ cnf: 'x' }), { bound: true, unknown: ['cnf (string)'] }],
    ['an empty cnf', info({ cnf: {} }), { bound: true, unknown: ['cnf (empty)'] }],
    ['an unknown confirmation method', info({ cnf: { jwk: {} } }), { bound: true, unknown: ['cnf.jwk'] }],
    ['nothing', info({ token_type: 'Bearer' }), { bound: false, dpopType: false }],
  ])('%s', (_name, reported, expected) => {
    expect(bindingOf(reported)).toMatchObject(expected);
  });
});

describe('the rule', () => {
  it('refuses a DPoP-bound token without a proof, whatever the policy', () => {
    for (const policy of [none, dpop, both]) expect(bindingProblem(info({ cnf: { jkt: JKT } }), {}, policy)).toMatch(/DPoP-bound/);
  });

  it('accepts a DPoP-bound token with a proof by its key, refuses another key', () => {
    expect(bindingProblem(info({ cnf: { jkt: JKT } }), { dpopJkt: JKT }, dpop)).toBeUndefined();
    expect(bindingProblem(info({ cnf: { jkt: JKT } }), { dpopJkt: 'other' }, dpop)).toMatch(/not the key/);
  });

  it('needs every binding a source reported (payload and extra must agree)', () => {
    expect(bindingProblem(info({ cnf: { jkt: JKT } }, { cnf: { jkt: 'other' } }), { dpopJkt: JKT }, dpop)).toMatch(/not the key/);
  });

  it('refuses a certificate-bound token where certificates cannot be checked, and without the certificate', () => {
    expect(bindingProblem(info({ cnf: { 'x5t#S256': X5T } }), {}, dpop)).toMatch(/does not accept mTLS/);
    expect(bindingProblem(info({ cnf: { 'x5t#S256': X5T } }), {}, both)).toMatch(/no client certificate/);
    expect(bindingProblem(info({ cnf: { 'x5t#S256': X5T } }), { x5tS256: 'other' }, both)).toMatch(/not the one/);
    expect(bindingProblem(info({ cnf: { 'x5t#S256': X5T } }), { x5tS256: X5T }, both)).toBeUndefined();
  });

  it('needs both proofs for a token bound to a key and a certificate', () => {
    const bound = info({ cnf: { jkt: JKT, 'x5t#S256': X5T } });
    expect(bindingProblem(bound, { dpopJkt: JKT }, both)).toMatch(/certificate/);
    expect(bindingProblem(bound, { x5tS256: X5T }, both)).toMatch(/DPoP-bound/);
    expect(bindingProblem(bound, { dpopJkt: JKT, x5tS256: X5T }, both)).toBeUndefined();
  });

  it('refuses token_type DPoP without cnf.jkt with or without a proof: nothing names the owner\'s key', () => {
    expect(bindingProblem(info({ token_type: 'DPoP' }), {}, dpop)).toMatch(/names no key/);
    expect(bindingProblem(info({ token_type: 'DPoP' }), { dpopJkt: JKT }, dpop)).toMatch(/names no key/);
  });

  it('refuses what it cannot check', () => {
    expect(bindingProblem(info({ cnf: { jkt: JKT, jwk: {} } }), { dpopJkt: JKT }, both)).toMatch(/cannot check \(cnf\.jwk\)/);
  });

  it('refuses an unbound token with a DPoP proof, and an unbound token from a source that requires binding', () => {
    expect(bindingProblem(info({}), { dpopJkt: JKT }, dpop)).toMatch(/not DPoP-bound/);
    expect(bindingProblem(info({}), {}, { dpop: { required: (s) => s === 's' } })).toMatch(/DPoP-bound tokens only/);
    expect(bindingProblem(info({}), {}, { mtls: { required: (s) => s === 's' } })).toMatch(/certificate-bound tokens only/);
  });

  it('accepts an unbound token as Bearer, and with a client certificate it does not need', () => {
    expect(bindingProblem(info({ scope: 'a' }), {}, none)).toBeUndefined();
    expect(bindingProblem(info({ scope: 'a' }), { x5tS256: X5T }, both)).toBeUndefined();
  });
});

describe('a source that requires one kind of binding', () => {
  it('refuses a token bound the other way only', () => {
    const dpopOnly: BindingPolicy = { dpop: { required: () => true }, mtls: { required: () => false } };
    const mtlsOnly: BindingPolicy = { dpop: { required: () => false }, mtls: { required: () => true } };
    expect(bindingProblem(info({ cnf: { 'x5t#S256': X5T } }), { x5tS256: X5T }, dpopOnly)).toMatch(/DPoP-bound tokens only/);
    expect(bindingProblem(info({ cnf: { jkt: JKT } }), { dpopJkt: JKT }, mtlsOnly)).toMatch(/certificate-bound tokens only/);
  });
});
