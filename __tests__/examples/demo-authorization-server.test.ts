// The demo authorization server that `npm start` runs (examples/demo-oauth-provider.ts behind the
// SDK's mcpAuthRouter): any MCP client must be able to log in (RFC 7591 registration, RFC 6749
// client authentication), and copying it must not hand tokens to an attacker.
import { startExample, type ExampleServer } from '../../examples/embedded-default';
import { authorize, basic, discover, fastmcpStyleLogin, pkce, register, tokenRequest } from '../support/confidential-client';

const LOOPBACK_REDIRECT = 'http://127.0.0.1:41998/callback';

async function whoami(example: ExampleServer, token: string): Promise<{ status: number; source?: string }> {
  const answer = await fetch(`${example.baseUrl}/whoami`, { headers: { authorization: `Bearer ${token}` } });
  return { status: answer.status, source: answer.ok ? ((await answer.json()) as { source: string }).source : undefined };
}

describe.each(['v2', 'v1'] as const)('the demo authorization server (MCP SDK %s example)', (sdk) => {
  let example: ExampleServer;
  let metadata: Record<string, string>;
  beforeAll(async () => {
    example = await startExample({ port: 0, env: {}, sdk });
    metadata = await discover(example.resource);
  });
  afterAll(() => example.close());

  /** A registered confidential client (no method named: client_secret_basic) and a live code for it. */
  async function clientWithCode(resource = example.resource): Promise<{ id: string; secret: string; code: string; verifier: string }> {
    const { json } = await register(metadata, { redirect_uris: [LOOPBACK_REDIRECT], grant_types: ['authorization_code'], response_types: ['code'] });
    const { verifier, challenge } = pkce();
    const { location } = await authorize(metadata, {
      response_type: 'code', client_id: String(json.client_id), redirect_uri: LOOPBACK_REDIRECT,
      code_challenge: challenge, code_challenge_method: 'S256', resource,
    });
    return { id: String(json.client_id), secret: String(json.client_secret), code: location?.searchParams.get('code') ?? '', verifier };
  }

  const exchange = (client: { id: string; secret: string; code: string; verifier: string }, resource = example.resource) =>
    tokenRequest(metadata, { grant_type: 'authorization_code', code: client.code, redirect_uri: LOOPBACK_REDIRECT, code_verifier: client.verifier, resource }, basic(client.id, client.secret));

  describe('a client that logs in as FastMCP\'s does (RFC 7591, RFC 6749 §2.3.1)', () => {
    it('gets a registration answer naming the method it registered: client_secret_basic, with a secret', async () => {
      const { status, json } = await register(metadata, { redirect_uris: [LOOPBACK_REDIRECT] });
      expect(status).toBe(201);
      expect(json.token_endpoint_auth_method).toBe('client_secret_basic');
      expect(typeof json.client_secret).toBe('string');
    });

    it('finds client_secret_basic among the token endpoint\'s methods in the metadata', () => {
      expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'none']));
    });

    it('completes the flow with Basic at the token endpoint, and the token is accepted by source "oauth"', async () => {
      const steps = await fastmcpStyleLogin(example.resource);
      expect(steps.authorizeStatus).toBe(302);
      expect({ status: steps.tokenStatus, error: steps.token.error }).toEqual({ status: 200, error: undefined });
      expect(await whoami(example, String(steps.token.access_token))).toEqual({ status: 200, source: 'oauth' });
    });

    it('still takes the secret in the body (client_secret_post)', async () => {
      const client = await clientWithCode();
      const { status } = await tokenRequest(metadata, {
        grant_type: 'authorization_code', code: client.code, redirect_uri: LOOPBACK_REDIRECT, code_verifier: client.verifier,
        client_id: client.id, client_secret: client.secret,
      });
      expect(status).toBe(200);
    });

    it('refuses Basic with a wrong secret (invalid_client)', async () => {
      const client = await clientWithCode();
      const { status, json } = await exchange({ ...client, secret: 'not-the-secret' });
      expect({ status, error: json.error }).toEqual({ status: 400, error: 'invalid_client' });
    });

    it('refuses Basic and a body secret together (RFC 6749 §2.3: one method)', async () => {
      const client = await clientWithCode();
      const { status, json } = await tokenRequest(metadata, {
        grant_type: 'authorization_code', code: client.code, redirect_uri: LOOPBACK_REDIRECT, code_verifier: client.verifier, client_secret: client.secret,
      }, basic(client.id, client.secret));
      expect({ status, error: json.error }).toEqual({ status: 400, error: 'invalid_request' });
    });
  });

  describe('attacks: copying the demo must not hand out tokens', () => {
    it('refuses to register a redirect URI on another host, so no code is ever sent to https://evil.example', async () => {
      const { status, json } = await register(metadata, { redirect_uris: ['https://evil.example/cb'] });
      expect({ status, error: json.error }).toEqual({ status: 400, error: 'invalid_client_metadata' });
      const mixed = await register(metadata, { redirect_uris: [LOOPBACK_REDIRECT, 'https://evil.example/cb'] });
      expect(mixed.status).toBe(400);
    });

    it('refuses a code presented after its minute', async () => {
      const client = await clientWithCode();
      const realNow = Date.now.bind(Date);
      const later = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 61_000);
      try {
        const { status, json } = await exchange(client);
        expect({ status, error: json.error }).toEqual({ status: 400, error: 'invalid_grant' });
      } finally {
        later.mockRestore();
      }
    });

    it('takes a code once; presented again it is refused and the token it bought is revoked', async () => {
      const client = await clientWithCode();
      const first = await exchange(client);
      expect(first.status).toBe(200);
      // Not used before the replay: a token multiAuth has accepted stays in its result cache.
      const again = await exchange(client);
      expect({ status: again.status, error: again.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
      expect((await whoami(example, String(first.json.access_token))).status).toBe(401);
    });

    it('refuses to authorize for another resource (RFC 8707): an error back to the client, no code', async () => {
      const client = await clientWithCode('https://evil.example/mcp');
      expect(client.code).toBe('');
      const { json } = await register(metadata, { redirect_uris: [LOOPBACK_REDIRECT] });
      const { location } = await authorize(metadata, {
        response_type: 'code', client_id: String(json.client_id), redirect_uri: LOOPBACK_REDIRECT,
        code_challenge: pkce().challenge, code_challenge_method: 'S256', resource: 'https://evil.example/mcp',
      });
      expect(location?.origin).toBe('http://127.0.0.1:41998');
      expect(location?.searchParams.get('error')).toBe('invalid_target');
    });

    it('refuses to exchange a code for a token for another resource', async () => {
      const client = await clientWithCode();
      const { status, json } = await exchange(client, 'https://evil.example/mcp');
      expect({ status, error: json.error }).toEqual({ status: 400, error: 'invalid_target' });
    });

    it('binds every token it issues to this server\'s resource', async () => {
      const steps = await fastmcpStyleLogin(example.resource);
      const info = await example.auth.verify(String(steps.token.access_token));
      expect(info.resource?.href).toBe(new URL(example.resource).href);
    });
  });
});
