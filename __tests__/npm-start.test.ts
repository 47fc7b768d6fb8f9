import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * `npm start` as a new user runs it: the real entry point in its own process, and the `curl`
 * calls it prints, sent as printed. If the printed commands rot, this fails.
 */
describe('npm start (examples/server.ts)', () => {
  let child: ChildProcess;
  let output = '';

  beforeAll(async () => {
    const root = join(__dirname, '..');
    child = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples/server.ts')], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr?.on('data', (chunk) => { output += String(chunk); });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 30 s:\n${output}`)), 30_000);
      child.stdout?.on('data', (chunk) => {
        output += String(chunk);
        if (output.includes('interactive OAuth')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
  });

  afterAll(() => {
    child?.kill('SIGTERM');
  });

  /** The `curl -s URL -H 'Authorization: Bearer T'` line printed under `heading`. */
  function printedCall(heading: string): { url: string; token: string } {
    const after = output.slice(output.indexOf(heading));
    const match = /curl -s (\S+) -H 'Authorization: Bearer ([^']+)'/.exec(after);
    if (!match) throw new Error(`no curl call printed under "${heading}":\n${output}`);
    return { url: match[1], token: match[2] };
  }

  it.each([
    ['# static API key', 'ci'],
    ['# machine JWT from the second issuer', 'machines'],
  ])('prints a working call under "%s", answered with source "%s"', async (heading, source) => {
    const { url, token } = printedCall(heading);
    const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect((await res.json()).source).toBe(source);
  });

  it('prints an MCP tools/call that reaches the tool', async () => {
    const { url, token } = printedCall('# the same through MCP');
    const body = /-d '([^']+)'/.exec(output.slice(output.indexOf('# the same through MCP')))?.[1];
    const res = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body,
    });
    expect(res.status).toBe(200);
    expect((await res.json()).result.structuredContent.source).toBe('machines');
  });

  it('asks every source at start-up (auth.ready()) and prints what it found', () => {
    expect(output).toMatch(/\[ready\] machines: ok \(JWKS http:\/\/127\.0\.0\.1:\d+\/machine-issuer\/jwks\.json: 1 key\)/);
    expect(output).toContain('[ready] ci: ok (1 static key; nothing remote to check)');
    expect(output).toContain('[ready] oauth: unchecked');
  });

  it('logs one line per decision, with the request and each source\'s reason', async () => {
    const { url } = printedCall('# machine JWT from the second issuer');
    const forged = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"iss":"https://elsewhere.example"}').toString('base64url')}.c2ln`;
    expect((await fetch(url, { headers: { Authorization: `Bearer ${forged}` } })).status).toBe(401);
    const line = /\[auth\] rejected 401 GET \/whoami: .*/;
    for (let i = 0; i < 100 && !line.test(output); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(line.exec(output)?.[0]).toMatch(/machines: rejected \(the JWT's "iss" is "https:\/\/elsewhere\.example"; this source accepts "http:\/\/127\.0\.0\.1:\d+\/machine-issuer"\)/);
  });

  it('prints the unauthenticated call, which gets the 401 challenge naming the served metadata', async () => {
    const url = /curl -si (\S+)/.exec(output)?.[1];
    const res = await fetch(url!);
    expect(res.status).toBe(401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1];
    expect((await (await fetch(metadataUrl!)).json()).resource).toBe(url!.replace('/whoami', '/mcp'));
  });
});
