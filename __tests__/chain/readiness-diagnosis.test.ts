// Issue 26: auth.ready() checks what it can know. Against the real oidc-provider issuer: an issuer
// configured with a spelling its discovery document does not use, and an introspection endpoint
// answering a web page, are `misconfigured` with the fix, not "ok" or "unreachable".
import express from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { MultiAuthNotReadyError } from '../../lib/core/errors';
import { MISCONFIGURED_WARNING } from '../../lib/chain/readiness';
import { jwtVerifier } from '../../lib/sources/jwt-verifier';
import { introspectionVerifier } from '../../lib/sources/introspection-verifier';
import { remoteAuthServer } from '../../lib/primaries/remote-auth-server';
import { introspectionOptionsFor, startIssuer, type Issuer } from '../support/issuer';
import type { SourceReadiness } from '../../lib/core/types';
import { captureWarnings } from '../support/warnings';

let issuer: Issuer;
let audience: string;

beforeAll(async () => {
  issuer = await startIssuer();
  audience = issuer.defaultResource!;
});
afterAll(() => issuer.stop());
afterEach(() => issuer.setFaults([]));

async function notReady(promise: Promise<unknown>): Promise<SourceReadiness[]> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MultiAuthNotReadyError);
    return (error as MultiAuthNotReadyError).report.sources;
  }
  throw new Error('expected ready() to reject');
}

describe('an issuer configured with a spelling its discovery document does not use (RFC 8414 §3.3)', () => {
  it.each([
    ['jwtVerifier', (configured: string) => multiAuth({ verifiers: jwtVerifier({ name: 'idp', issuer: configured, audience }) })],
    ['remoteAuthServer', (configured: string) => multiAuth({ primary: remoteAuthServer({ name: 'idp', issuer: configured, resource: audience }) })],
  ])('%s with a trailing slash: ready() says misconfigured, with the spelling to use', async (_what, make) => {
    const [source] = await notReady(make(`${issuer.issuer}/`).ready());
    expect(source.status).toBe('misconfigured');
    expect(source.detail).toContain(`"issuer" is "${issuer.issuer}"`);
    expect(source.detail).toContain(`set issuer: "${issuer.issuer}"`);
  });
});

describe('an introspection endpoint answering 200 with an HTML page', () => {
  const html = () => issuer.setFaults([{ pathPrefix: issuer.introspectionEndpoint, status: 200, body: '<!doctype html><title>Sign in</title>', contentType: 'text/html' }]);

  it('is misconfigured in ready(), naming the endpoint and the fix', async () => {
    await html();
    const auth = multiAuth({ verifiers: introspectionVerifier(introspectionOptionsFor(issuer)) });
    const [source] = await notReady(auth.ready());
    expect(source.status).toBe('misconfigured');
    expect(source.detail).toMatch(/not JSON/);
    expect(source.detail).toMatch(/is endpoint .*introspection endpoint/);
  });

  it('gets requests a 503 and the operator a process warning, as a JWKS URL answering HTML does', async () => {
    await html();
    const { warnings, spy } = captureWarnings();
    try {
      const auth = multiAuth({ verifiers: introspectionVerifier(introspectionOptionsFor(issuer)) });
      const app = express().use(auth).get('/api', (_req, res) => res.end('ok'));
      await request(app).get('/api').auth('opaque-token-0123456789', { type: 'bearer' }).expect(503);
      expect(warnings.filter((w) => w.code === MISCONFIGURED_WARNING)).toHaveLength(1);
      expect(warnings[0].message).toMatch(/source "corp-as" cannot work: .*not JSON/);
    } finally {
      spy.mockRestore();
    }
  });
});
