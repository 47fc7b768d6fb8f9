// The MCP SDK v2 client's DPoP flow (SEP-1932) end to end against the example server with DPoP
// required for its primary: a real oidc-provider binds the tokens, the official client (in its
// own process: support/dpop-mcp-client.mjs) signs a proof per request and answers the server's
// nonce challenge.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { startExample, type ExampleServer } from '../../examples/embedded-default';
import type { Decision } from '../../lib/core/types';
import { startIssuer, type Issuer } from '../support/issuer';

interface ClientReport {
  thumbprint: string;
  firstConnect: string;
  resource: string | null;
  tokenType: string;
  accessToken: string;
  results: Array<{ source: string; clientId: string }>;
  seen: Array<{ status: number; scheme?: string; proof: boolean }>;
}

const CLIENT = join(__dirname, '..', 'support', 'dpop-mcp-client.mjs');

function runClient(mcpUrl: string, calls: number): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLIENT, JSON.stringify({ mcpUrl, calls })], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`the MCP client failed: ${error.message}\n${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ClientReport);
    });
  });
}

describe('the SDK v2 client with a DpopSession, against the example server requiring DPoP for its primary', () => {
  let issuer: Issuer;
  let example: ExampleServer;
  const decisions: Decision[] = [];
  let report: ClientReport;

  beforeAll(async () => {
    issuer = await startIssuer({ scope: 'mcp:read mcp:write' });
    example = await startExample({
      port: 0,
      onDecision: (d) => decisions.push(d),
      env: { OAUTH_ISSUER: issuer.issuer, DPOP: 'required', DPOP_NONCE_SECRET: 'an example nonce secret, 32 bytes or more' },
    });
    report = await runClient(`${example.baseUrl}/mcp`, 3);
  }, 90_000);
  afterAll(async () => {
    await example?.close();
    await issuer?.stop();
  });

  it('logs in through the metadata the challenge points at, and gets a token bound to its key', () => {
    expect(report.firstConnect).toBe('unauthorized');
    expect(report.resource).toBe(example.resource);
    expect(report.tokenType).toBe('DPoP');
    expect(decodeJwt(report.accessToken).cnf).toEqual({ jkt: report.thumbprint });
  });

  it('calls the tool each time as the primary, with the DPoP scheme and a proof on every request', () => {
    expect(report.results).toEqual(Array(3).fill(expect.objectContaining({ source: 'oauth' })));
    expect(report.seen.length).toBeGreaterThan(3);
    expect(report.seen.every((s) => s.scheme === 'DPoP' && s.proof)).toBe(true);
  });

  it('is challenged for a nonce once, retries with it, and then passes on the remembered nonce', () => {
    expect(report.seen[0].status).toBe(401);
    // (A 405 is the example's answer to the GET that opens an SSE stream: it has none.)
    expect(report.seen.slice(1).map((s) => s.status)).not.toContain(401);
    const dpopDecisions = decisions.filter((d) => d.source === 'oauth' || /nonce/.test(d.reason ?? ''));
    expect(dpopDecisions.filter((d) => d.outcome === 'rejected').map((d) => d.reason)).toEqual([expect.stringContaining('nonce')]);
  });

  it('refuses the same token as Bearer: stolen, it is useless without the key', async () => {
    const res = await fetch(`${example.baseUrl}/whoami`, { headers: { authorization: `Bearer ${report.accessToken}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_token');
  });

  it('keeps the CI key working as Bearer next to the DPoP-only primary', async () => {
    const res = await fetch(`${example.baseUrl}/whoami`, { headers: { authorization: `Bearer ${example.tokens.ci}` } });
    expect(await res.json()).toMatchObject({ source: 'ci' });
  });
});
