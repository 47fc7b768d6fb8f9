import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fastmcpStyleLogin } from './support/confidential-client';

/**
 * Every example as a new user runs it: the real entry point in its own process (`npm start` and
 * `npm run start:v1`), and every `curl` it prints, run by the real curl as printed. The comment
 * above each says what it must get: `# NNN ...` that status, `-> source "x"` a 200 naming that
 * source. If a printed command rots, this fails.
 */
const root = join(__dirname, '..');
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
const EXAMPLES = Object.entries(scripts)
  .filter(([name]) => name === 'start' || name.startsWith('start:'))
  .map(([name, command]) => ({ name, entry: /^tsx (\S+)$/.exec(command)?.[1] ?? command }));

function startProcess(entry: string, port: string, env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, entry)], {
    cwd: root,
    env: { ...process.env, PORT: port, HOST: '127.0.0.1', OAUTH_ISSUER: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => { output += String(chunk); });
  child.stderr?.on('data', (chunk) => { output += String(chunk); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Each printed command with the comment line above it; continuation lines joined. */
function printedCommands(banner: string): { comment: string; command: string }[] {
  const commands: { comment: string; command: string }[] = [];
  const lines = banner.split('\n');
  let comment = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.startsWith('#')) {
      if (!comment.endsWith('\n') && comment !== '' && lines[i - 1]?.trim().startsWith('#')) comment += ` ${line}`;
      else comment = line;
      continue;
    }
    if (!line.startsWith('curl ')) continue;
    let command = line;
    while (command.endsWith('\\')) command = `${command.slice(0, -1)} ${lines[++i].trim()}`;
    commands.push({ comment, command });
  }
  return commands;
}

/** Runs a printed command in a shell as a user would, plus `-w` to learn the status. */
function runCurl(command: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', `${command} -w '\\n%{http_code}'`], { timeout: 20_000 }, (error, stdout) => {
      if (error) return reject(error);
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
    });
  });
}

it('package.json has an example script per entry point, v2 as npm start and v1 kept', () => {
  expect(EXAMPLES).toEqual([
    { name: 'start', entry: 'examples/server.ts' },
    { name: 'start:v1', entry: 'examples/server-v1.ts' },
  ]);
});

describe.each(EXAMPLES)('npm run $name ($entry)', ({ entry }) => {
  let run: ReturnType<typeof startProcess>;
  let banner = '';

  beforeAll(async () => {
    run = startProcess(entry, '0');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 60 s:\n${run.output()}`)), 60_000);
      const poll = setInterval(() => {
        if (run.output().includes('# interactive OAuth')) {
          clearInterval(poll);
          clearTimeout(timer);
          banner = run.output();
          resolve();
        }
      }, 50);
      void run.exited.then((code) => {
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`exited with ${code}:\n${run.output()}`));
      });
    });
  }, 70_000);

  afterAll(() => {
    run?.child.kill('SIGTERM');
  });

  it('prints a token and a curl for every source, the OAuth primary included', () => {
    const sources = printedCommands(banner).map(({ comment }) => /-> source "([^"]+)"/.exec(comment)?.[1]).filter(Boolean);
    expect(new Set(sources)).toEqual(new Set(['oauth', 'ci', 'machines']));
  });

  it('prints a curl for each row of the HTTP table', () => {
    const statuses = printedCommands(banner).map(({ comment }) => /^# (\d{3})\b/.exec(comment)?.[1]).filter(Boolean);
    expect(statuses).toEqual(expect.arrayContaining(['400', '401', '403', '503']));
    // 401 twice: without a token, and with one no source accepts.
    expect(statuses.filter((s) => s === '401')).toHaveLength(2);
  });

  it('asks every source at start-up (auth.ready()) and prints what it found', () => {
    expect(banner).toMatch(/\[ready\] machines: ok \(JWKS http:\/\/127\.0\.0\.1:\d+\/machine-issuer\/jwks\.json: 1 key\)/);
    expect(banner).toContain('[ready] ci: ok (1 static key; nothing remote to check)');
    expect(banner).toMatch(/\[ready\] partner: unreachable/);
  });

  it('logs one line per decision, with the request and each source\'s reason', async () => {
    const url = /curl -s (\S+\/whoami) /.exec(banner)?.[1];
    const forged = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"iss":"https://elsewhere.example"}').toString('base64url')}.c2ln`;
    expect((await fetch(url!, { headers: { Authorization: `Bearer ${forged}` } })).status).toBe(401);
    const line = /\[auth\] rejected 401 GET \/whoami: .*/;
    for (let i = 0; i < 100 && !line.test(run.output()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(line.exec(run.output())?.[0]).toMatch(/machines: rejected \(the JWT's "iss" is "https:\/\/elsewhere\.example"/);
  });

  it('every printed curl gets what its comment says', async () => {
    const commands = printedCommands(banner);
    expect(commands.length).toBeGreaterThanOrEqual(10);
    for (const { comment, command } of commands) {
      const { status, body } = await runCurl(command);
      const source = /-> source "([^"]+)"/.exec(comment)?.[1];
      const expected = source ? 200 : Number(/^# (\d{3})\b/.exec(comment)?.[1]);
      expect({ comment, status }).toEqual({ comment, status: expected });
      if (source) {
        // An MCP answer may come as one server-sent event (the v2 handler streams by default).
        const json = JSON.parse(/^data: (.*)$/m.exec(body)?.[1] ?? body);
        expect({ comment, source: json.source ?? json.result?.structuredContent?.source }).toEqual({ comment, source });
      }
      if (expected === 503) expect(body).toMatch(/^retry-after: \d+/im);
      if (expected === 403) expect(body).toMatch(/^www-authenticate: Bearer error="insufficient_scope".*scope="mcp:write"/im);
    }
  }, 60_000);

  it('logs no piece of any token it printed, even after the token-in-the-query curl', async () => {
    const tokens = [...banner.matchAll(/Bearer ([^'\s]+)'/g)].map((m) => m[1]).filter((t) => t !== 'not-a-token-anyone-issued');
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    for (const { command } of printedCommands(banner)) await runCurl(command);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const logged = run.output().slice(banner.length);
    expect(logged).toMatch(/\[auth\] invalid_request 400 GET \/whoami/);
    const leaks: string[] = [];
    for (const token of tokens) {
      for (let i = 0; i + 8 <= token.length; i++) if (logged.includes(token.slice(i, i + 8))) leaks.push(token.slice(i, i + 8));
    }
    expect(leaks).toEqual([]);
  }, 60_000);

  it('lets a client that registers without a method and authenticates with Basic (as FastMCP\'s does) log in', async () => {
    const resource = /MCP server at (\S+)/.exec(banner)?.[1];
    const steps = await fastmcpStyleLogin(resource!);
    expect(steps.registration.token_endpoint_auth_method).toBe('client_secret_basic');
    expect({ status: steps.tokenStatus, error: steps.token.error }).toEqual({ status: 200, error: undefined });
    const answer = await fetch(resource!.replace(/\/mcp$/, '/whoami'), { headers: { authorization: `Bearer ${String(steps.token.access_token)}` } });
    expect(await answer.json()).toMatchObject({ source: 'oauth' });
  });
});

describe('a wrong OAUTH_ISSUER', () => {
  it('gets one line per source that cannot work, saying why; no stack, exit code 1, the partner outage not listed', async () => {
    const run = startProcess('examples/server.ts', '0', { OAUTH_ISSUER: 'https://login.example.invalid' });
    expect(await run.exited).toBe(1);
    const lines = run.output().trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^express-multiauth example: source "oauth" cannot work \(unreachable\): .*login\.example\.invalid/)]);
    expect(run.output()).not.toMatch(/partner/);
    expect(run.output()).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('that is not a URL gets the one line that says so', async () => {
    const run = startProcess('examples/server.ts', '0', { OAUTH_ISSUER: 'not-a-url' });
    expect(await run.exited).toBe(1);
    expect(run.output().trim().split('\n')).toEqual([expect.stringMatching(/^express-multiauth example: .*"not-a-url"/)]);
  }, 60_000);
});

describe('a port that is taken', () => {
  let blocker: Server;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('gets one line on stderr saying so, no stack, and exit code 1', async () => {
    const port = String((blocker.address() as { port: number }).port);
    const run = startProcess('examples/server.ts', port);
    expect(await run.exited).toBe(1);
    const lines = run.output().trim().split('\n');
    expect(lines).toEqual([expect.stringContaining(`127.0.0.1:${port} is already in use`)]);
    expect(run.output()).not.toMatch(/^\s+at /m);
  }, 60_000);
});
