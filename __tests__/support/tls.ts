// Certificates made by openssl (as an operator would make them), an HTTPS server that asks for
// client certificates, and a client that presents one: the real parts of RFC 8705 mTLS tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingHttpHeaders, RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';

export interface TestCertificate {
  /** PEM of the certificate. */
  cert: string;
  /** PEM of its private key. */
  key: string;
  /** The certificate's DER. */
  der: Buffer;
  /** RFC 8705 `x5t#S256`, from openssl's own SHA-256 fingerprint (not from the code under test). */
  x5tS256: string;
  /** RFC 9440 `Client-Cert` value: `:` base64 DER `:`. */
  header: string;
}

/**
 * A self-signed certificate with a fresh P-256 key, made by the openssl command line. `san`
 * adds subjectAltNames (e.g. `IP:127.0.0.1` for a server certificate).
 */
export function makeCertificate(commonName: string, san?: string): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', `/CN=${commonName}`, '-days', '2', '-keyout', keyFile, '-out', certFile,
      ...(san ? ['-addext', `subjectAltName=${san}`] : []),
    ], { stdio: 'pipe' });
    const der = execFileSync('openssl', ['x509', '-in', certFile, '-outform', 'DER']);
    const fingerprint = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
    const hex = fingerprint.trim().split('=')[1].replace(/:/g, '');
    return {
      cert: readFileSync(certFile, 'utf8'),
      key: readFileSync(keyFile, 'utf8'),
      der,
      x5tS256: Buffer.from(hex, 'hex').toString('base64url'),
      header: `:${der.toString('base64')}:`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let serverCertificate: TestCertificate | undefined;
/** One server certificate for 127.0.0.1 and ::1, made once per test file. */
export function localServerCertificate(): TestCertificate {
  serverCertificate ??= makeCertificate('localhost', 'IP:127.0.0.1,IP:::1,DNS:localhost');
  return serverCertificate;
}

export interface TlsServer {
  server: https.Server;
  /** `https://127.0.0.1:PORT` (or `https://[::1]:PORT`). */
  origin: string;
  close(): Promise<void>;
}

/**
 * An HTTPS server on loopback that asks every client for a certificate and lets the handshake
 * through whether or not it can verify it (`rejectUnauthorized: false`), as RFC 8705 §2.2's
 * self-signed certificate method needs: the application decides what the certificate means.
 */
export async function startTlsServer(handler: RequestListener, host = '127.0.0.1'): Promise<TlsServer> {
  const own = localServerCertificate();
  const server = https.createServer({ key: own.key, cert: own.cert, requestCert: true, rejectUnauthorized: false }, handler);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface TlsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json(): unknown;
}

/**
 * One HTTPS request, presenting `client` (or no certificate), trusting the test server's
 * certificate. `headers` may repeat a field by giving an array of values.
 */
export function tlsRequest(
  url: string,
  options: { client?: TestCertificate; headers?: Record<string, string | string[]>; method?: string; body?: string } = {},
): Promise<TlsResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      ca: localServerCertificate().cert,
      ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * A TLS-terminating reverse proxy in front of `upstream` (plain HTTP), as a deployment puts
 * nginx or Envoy there: it asks the client for a certificate, drops any `Client-Cert` the client
 * sent itself, and forwards the one the client presented on the TLS connection as RFC 9440
 * `Client-Cert` (`:` base64 DER `:`).
 */
export async function startCertificateProxy(upstream: string): Promise<TlsServer> {
  const target = new URL(upstream);
  return startTlsServer((req, res) => {
    const headers = { ...req.headers };
    delete headers['client-cert'];
    const raw = (req.socket as TLSSocket).getPeerCertificate(false)?.raw;
    if (raw && raw.length > 0) headers['client-cert'] = `:${raw.toString('base64')}:`;
    const forward = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(forward);
  });
}
