// A refusal reason names what did not match when it is not secret: the token's iss and the
// issuers the source accepts (a trailing slash on one side is the classic), the aud, the alg.
// Tokens from the real oidc-provider issuer.
import express from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { MultiAuthError } from '../../lib/core/errors';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import type { Decision, TokenVerifier } from '../../lib/core/types';

let issuer: Issuer;
let audience: string;
let token: string;
beforeAll(async () => {
  issuer = await startIssuer();
  audience = issuer.defaultResource!;
  token = await issuer.clientCredentialsToken();
});
afterAll(() => issuer.stop());

/** The reasons each source gave for `token`, through onDecision over HTTP. */
async function reasonsOver(verifiers: TokenVerifier[], primary?: Parameters<typeof multiAuth>[0]['primary']): Promise<Record<string, string | undefined>> {
  const decisions: Decision[] = [];
  const auth = multiAuth({ primary, verifiers, onDecision: (d) => decisions.push(d) });
  const res = await request(express().use(auth)).get('/').set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(401);
  return Object.fromEntries(decisions[0].attempts.map((a) => [a.source, a.reason]));
}

describe('refusal reasons name what did not match', () => {
  it('the token\'s "iss" and the issuers the source accepts, when they differ by a trailing slash', async () => {
    const reasons = await reasonsOver([jwtVerifier({ name: 'slash', issuer: `${issuer.issuer}/`, audience, jwksUri: issuer.jwksUri })]);
    expect(reasons.slash).toBe(`the JWT's "iss" is "${issuer.issuer}"; this source accepts "${issuer.issuer}/"`);
  });

  it('the same through a primary (remoteAuthServer), and through auth.verify() without onDecision', async () => {
    const reasons = await reasonsOver([], remoteAuthServer({ issuer: `${issuer.issuer}/`, resource: audience }));
    expect(reasons.primary).toBe(`the JWT's "iss" is "${issuer.issuer}"; this source accepts "${issuer.issuer}/"`);
    const quiet = multiAuth({ verifiers: jwtVerifier({ name: 'slash', issuer: [`${issuer.issuer}/`, 'https://other.example'], audience }) });
    const error = (await quiet.verify(token).catch((e: unknown) => e)) as MultiAuthError;
    expect(error.decision?.attempts[0].reason).toBe(`the JWT's "iss" is "${issuer.issuer}"; this source accepts "${issuer.issuer}/", "https://other.example"`);
  });

  it('the token\'s "aud" and the audiences the source accepts', async () => {
    const reasons = await reasonsOver([jwtVerifier({ name: 'aud', issuer: issuer.issuer, audience: 'https://other.example/mcp', jwksUri: issuer.jwksUri })]);
    expect(reasons.aud).toBe(`InvalidTokenError: JWT "aud" does not name this resource: it is "${audience}"; this source accepts "https://other.example/mcp"`);
  });

  it('the token\'s "alg" and the algorithms the source accepts', async () => {
    const reasons = await reasonsOver([jwtVerifier({ name: 'alg', issuer: issuer.issuer, audience, jwksUri: issuer.jwksUri, algorithms: ['ES256', 'EdDSA'] })]);
    expect(reasons.alg).toBe('InvalidTokenError: JWT "alg" is "RS256"; this source accepts ES256, EdDSA');
  });

  it('the "iss" and "aud" of an introspection answer that does not match', async () => {
    const opaque = await issuer.opaqueToken();
    const decisions: Decision[] = [];
    const auth = multiAuth({
      verifiers: [
        introspectionVerifier({ ...introspectionOptionsFor(issuer), name: 'wrong-aud', audience: 'https://other.example/api' }),
        introspectionVerifier({ ...introspectionOptionsFor(issuer), name: 'wrong-iss', issuer: `${issuer.issuer}/` }),
      ],
      onDecision: (d) => decisions.push(d),
    });
    await request(express().use(auth)).get('/').set('Authorization', `Bearer ${opaque}`).expect(401);
    const reasons = Object.fromEntries(decisions[0].attempts.map((a) => [a.source, a.reason]));
    expect(reasons['wrong-aud']).toMatch(/^InvalidTokenError: introspection: the answer's "aud" is .*; this source accepts "https:\/\/other\.example\/api"$/);
    expect(reasons['wrong-iss']).toBe(`InvalidTokenError: introspection: the answer's "iss" is "${issuer.issuer}"; this source accepts "${issuer.issuer}/"`);
  });

  it('never carries a piece of the token, even when a claim quotes it', async () => {
    // The issuer's header is the same for every token it signs: learn it, then quote it in `iss`.
    const claims = { aud: audience, exp: Math.floor(Date.now() / 1000) + 60 };
    const probe = await issuer.signJwt({ ...claims, iss: 'x' });
    const header = probe.slice(0, probe.indexOf('.'));
    const forged = await issuer.signJwt({ ...claims, iss: `${header}-issuer` });
    expect(forged.startsWith(`${header}.`)).toBe(true);
    const decisions: Decision[] = [];
    const auth = multiAuth({ verifiers: jwtVerifier({ name: 'j', issuer: issuer.issuer, audience }), onDecision: (d) => decisions.push(d) });
    await request(express().use(auth)).get('/').set('Authorization', `Bearer ${forged}`).expect(401);
    const reason = decisions[0].attempts[0].reason!;
    expect(reason).toMatch(/^the JWT's "iss" is "\[redacted\]-issuer"; this source accepts/);
    for (let i = 0; i + 8 <= forged.length; i++) expect(reason).not.toContain(forged.slice(i, i + 8));
  });
});
