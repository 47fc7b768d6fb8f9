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

  it('prints the unauthenticated call, which gets the 401 challenge naming the served metadata', async () => {
    const url = /curl -si (\S+)/.exec(output)?.[1];
    const res = await fetch(url!);
    expect(res.status).toBe(401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(res.headers.get('www-authenticate') ?? '')?.[1];
    expect((await (await fetch(metadataUrl!)).json()).resource).toBe(url!.replace('/whoami', '/mcp'));
  });
});
