// The nginx set-up of docs/mtls.md, run by a real nginx: it terminates TLS, asks for the client
// certificate without verifying it, and forwards it as RFC 9440 Client-Cert to multiAuth on
// loopback, which accepts oidc-provider's certificate-bound tokens through a JWT source and
// through introspection. The configuration is read from the guide itself, so the guide shows
// what ran. Needs nginx with the njs module (Debian: nginx-light libnginx-mod-http-js).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit } from '../support/children';
import { startIssuer, type Issuer } from '../support/issuer';
import { certificateBoundTokens, mtlsApp } from '../support/mtls';
import { closeServer, listenOnLoopback } from '../support/loopback';
import { localServerCertificate, makeCertificate, tlsRequest, type TestCertificate } from '../support/tls';

const GUIDE = join(__dirname, '..', '..', 'docs', 'mtls.md');
const NJS_MODULE_PATHS = ['/usr/lib/nginx/modules/ngx_http_js_module.so', '/usr/lib64/nginx/modules/ngx_http_js_module.so'];
const RESOURCE = 'https://mcp.example.test/mcp';

/** The body of the first fenced block of `language` after the heading `heading` in the guide. */
function guideBlock(heading: string, language: string): string {
  const text = readFileSync(GUIDE, 'utf8');
  const section = text.slice(text.indexOf(`\n## ${heading}\n`));
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section);
  if (!match) throw new Error(`docs/mtls.md: no \`\`\`${language} block under "## ${heading}"`);
  return match[1];
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function waitForPort(port: number, nginx: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited (${nginx.exitCode}):\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nginx did not listen on ${port}:\n${log()}`);
}

let issuer: Issuer;
let upstream: Server;
let nginx: ChildProcess;
let dir: string;
let origin: string;
const alice: TestCertificate = makeCertificate('alice-service');
const mallory: TestCertificate = makeCertificate('mallory');
let jwt: string;
let opaque: string;

beforeAll(async () => {
  const njsModule = NJS_MODULE_PATHS.find((path) => existsSync(path));
  if (!njsModule) throw new Error('nginx with the njs module is needed: apt-get install nginx-light libnginx-mod-http-js');

  issuer = await startIssuer({ mtls: true });
  ({ jwt, opaque } = await certificateBoundTokens(issuer, alice, RESOURCE));

  const app = mtlsApp(issuer, RESOURCE, { mtls: { trustedProxies: ['127.0.0.1'] } });
  upstream = createServer(app);
  const upstreamOrigin = await listenOnLoopback(upstream);

  dir = mkdtempSync(join(tmpdir(), 'nginx-mtls-'));
  chmodSync(dir, 0o755);
  const server = localServerCertificate();
  writeFileSync(join(dir, 'server-cert.pem'), server.cert);
  writeFileSync(join(dir, 'server-key.pem'), server.key);
  writeFileSync(join(dir, 'client_cert.js'), guideBlock('Behind nginx', 'js'));
  const port = await freePort();
  const site = guideBlock('Behind nginx', 'nginx')
    .replace('/etc/nginx/njs/client_cert.js', join(dir, 'client_cert.js'))
    .replace('/etc/nginx/tls/server-cert.pem', join(dir, 'server-cert.pem'))
    .replace('/etc/nginx/tls/server-key.pem', join(dir, 'server-key.pem'))
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    .replace('http://127.0.0.1:3000', upstreamOrigin);
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      `load_module ${njsModule};`,
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'daemon off;',
      'worker_processes 1;',
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`),
      site,
      '}',
    ].join('\n'),
  );
  let output = '';
  nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(nginx);
  nginx.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  nginx.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForPort(port, nginx, () => `${output}${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
  origin = `https://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx.once('exit', resolve));
    nginx.kill('SIGQUIT');
    await exited;
  }
  if (upstream) await closeServer(upstream);
  if (issuer) await issuer.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('behind nginx forwarding the client certificate as Client-Cert', () => {
  it.each([['JWT', 'corp-jwt', () => jwt], ['introspected', 'corp-as', () => opaque]])(
    'a bound %s token is accepted with the certificate the client presented to nginx',
    async (_kind, source, token) => {
      const res = await tlsRequest(`${origin}/whoami`, { client: alice, headers: bearer(token()) });
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ source, mtls: { x5tS256: alice.x5tS256 } });
    },
  );

  it('refuses a bound token with 401 when the client presented another certificate', async () => {
    const res = await tlsRequest(`${origin}/whoami`, { client: mallory, headers: bearer(jwt) });
    expect(res.status).toBe(401);
  });

  it('refuses a bound token with 401 when the client presented no certificate', async () => {
    const res = await tlsRequest(`${origin}/whoami`, { headers: bearer(opaque) });
    expect(res.status).toBe(401);
  });

  it('does not pass on a Client-Cert the client wrote itself, with another certificate or with none', async () => {
    const forged = { ...bearer(jwt), 'client-cert': alice.header };
    expect((await tlsRequest(`${origin}/whoami`, { client: mallory, headers: forged })).status).toBe(401);
    expect((await tlsRequest(`${origin}/whoami`, { headers: forged })).status).toBe(401);
  });
});
