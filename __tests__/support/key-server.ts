import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { closeServer } from './loopback';

/** The audience tokens are minted for unless a test says otherwise. */
export const AUDIENCE = 'https://mcp.example.test/mcp';

/**
 * How the server answers. `ok` is a well-behaved key server; every other mode is a way for one
 * to fail: `reset` drops the connection, `hang` never answers, `hang-body` sends headers and part
 * of a body then stalls, `error` is a 500, `garbage` a 200 that is not JSON, `not-jwks` JSON that
 * is not a key set, `huge`/`huge-chunked` a valid key set padded past 1 MiB (with and without a
 * Content-Length), `redirect` a 302 to `redirectTo`.
 */
export type KeyServerMode =
  | 'ok'
  | 'reset'
  | 'hang'
  | 'hang-body'
  | 'error'
  | 'garbage'
  | 'not-jwks'
  | 'huge'
  | 'huge-chunked'
  | 'redirect';

export type SigningAlgorithm = 'RS256' | 'ES256' | 'PS256' | 'EdDSA';

export interface SigningKey {
  alg: SigningAlgorithm;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as published, with `kid`, `alg` and `use`. */
  publicJwk: JWK;
  /** The public key as an SPKI PEM. */
  publicPem: string;
}

export interface MintOptions {
  alg?: SigningAlgorithm;
  /** Sign with this key instead of the server's current key for `alg`. */
  key?: SigningKey;
  /** Header `kid`; `null` leaves it out. Default: the signing key's kid. */
  kid?: string | null;
  /** Extra protected-header members (`typ`, `jku`, `x5u`, `jwk`, `crit`...). */
  header?: Record<string, unknown>;
}

const HUGE_BYTES = 2 * 1024 * 1024;

export async function createSigningKey(alg: SigningAlgorithm, kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : undefined);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

function segment(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

/** Removes members whose value is `undefined`, so `{ exp: undefined }` means "no exp". */
function defined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/**
 * A JWKS and metadata server on 127.0.0.1 that a test controls: what it publishes, how it
 * misbehaves, and how often each path was asked for. Also mints tokens with its keys.
 */
export class KeyServer {
  readonly origin: string;
  readonly jwksPath = '/jwks.json';
  /** Where `redirect` mode points (path appended). */
  redirectTo = 'http://127.0.0.1:9';
  /** The key used for each algorithm by `mint` unless told otherwise. */
  readonly current = new Map<SigningAlgorithm, SigningKey>();

  private readonly published = new Map<string, SigningKey>();
  private readonly documents = new Map<string, unknown>();
  private readonly counts = new Map<string, number>();
  private readonly modes = new Map<string, KeyServerMode>();

  private constructor(private readonly server: http.Server) {
    const { port } = server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
  }

  /** Starts a server publishing one RS256 and one ES256 key. */
  static async start(): Promise<KeyServer> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const instance = new KeyServer(server);
    server.on('request', (req, res) => instance.handle(req, res));
    await instance.addKey('RS256');
    await instance.addKey('ES256');
    return instance;
  }

  get jwksUri(): string {
    return `${this.origin}${this.jwksPath}`;
  }

  /** The issuer tokens name by default: the server's origin, or `origin + path`. */
  issuer(path = ''): string {
    return `${this.origin}${path}`;
  }

  /** Requests received for `path`, or for every path. */
  requests(path?: string): number {
    if (path !== undefined) return this.counts.get(path) ?? 0;
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }

  resetCounts(): void {
    this.counts.clear();
  }

  /** Misbehave in `mode` for `path`, or for every path without one. `ok` for `path` restores it. */
  setMode(mode: KeyServerMode, path = '*'): void {
    if (mode === 'ok') this.modes.delete(path);
    else this.modes.set(path, mode);
  }

  /** Back to well-behaved on every path. */
  restore(): void {
    this.modes.clear();
  }

  /** Serve `document` as JSON at `path` (e.g. a discovery document). */
  serveJson(path: string, document: unknown): void {
    this.documents.set(path, document);
  }

  /** Generates a key, publishes it, and makes it `mint`'s default for its algorithm. */
  async addKey(alg: SigningAlgorithm, kid?: string): Promise<SigningKey> {
    const key = await createSigningKey(alg, kid);
    this.published.set(key.kid, key);
    this.current.set(alg, key);
    return key;
  }

  /** Replaces the current key for `alg` with a new one; the old one is withdrawn. */
  async rotate(alg: SigningAlgorithm): Promise<SigningKey> {
    const old = this.current.get(alg);
    const key = await this.addKey(alg);
    if (old) this.published.delete(old.kid);
    return key;
  }

  key(alg: SigningAlgorithm): SigningKey {
    const key = this.current.get(alg);
    if (!key) throw new Error(`no ${alg} key`);
    return key;
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...this.published.values()].map((key) => key.publicJwk) };
  }

  /** Claims every test token carries unless overridden (`undefined` removes one). */
  claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return defined({
      iss: this.issuer(),
      aud: AUDIENCE,
      sub: 'user-1',
      client_id: 'client-1',
      scope: 'mcp:read mcp:write',
      iat: now,
      exp: now + 300,
      ...overrides,
    });
  }

  /** A JWT signed with one of this server's keys (or `options.key`). */
  async mint(overrides: Record<string, unknown> = {}, options: MintOptions = {}): Promise<string> {
    const key = options.key ?? this.key(options.alg ?? 'RS256');
    const kid = options.kid === undefined ? key.kid : options.kid;
    const header = defined({ alg: key.alg, typ: 'JWT', kid: kid ?? undefined, ...options.header });
    return new SignJWT(this.claims(overrides))
      .setProtectedHeader(header as { alg: string })
      .sign(key.privateKey);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = new URL(req.url ?? '/', this.origin).pathname;
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
    const mode = this.modes.get(path) ?? this.modes.get('*') ?? 'ok';
    const json = { 'content-type': 'application/json' };
    switch (mode) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        return;
      case 'hang-body':
        res.writeHead(200, json);
        res.write('{"keys":[');
        return;
      case 'error':
        res.writeHead(500, json).end('{"error":"server_error"}');
        return;
      case 'garbage':
        res.writeHead(200, json).end('<html>definitely not json');
        return;
      case 'not-jwks':
        res.writeHead(200, json).end('{"hello":"world"}');
        return;
      case 'huge': {
        const body = this.paddedJwks();
        res.writeHead(200, { ...json, 'content-length': Buffer.byteLength(body) }).end(body);
        return;
      }
      case 'huge-chunked': {
        const body = this.paddedJwks();
        res.writeHead(200, json);
        for (let offset = 0; offset < body.length; offset += 64 * 1024) res.write(body.slice(offset, offset + 64 * 1024));
        res.end();
        return;
      }
      case 'redirect':
        res.writeHead(302, { location: `${this.redirectTo}${path}` }).end();
        return;
      case 'ok':
        break;
    }
    const document = path === this.jwksPath ? this.jwks() : this.documents.get(path);
    if (document === undefined) {
      res.writeHead(404, json).end('{"error":"not_found"}');
      return;
    }
    res.writeHead(200, json).end(JSON.stringify(document));
  }

  private paddedJwks(): string {
    return JSON.stringify({ ...this.jwks(), padding: 'x'.repeat(HUGE_BYTES) });
  }
}

/** `header.payload.` with `alg: none`: the unsecured JWT that must never be accepted. */
export function unsecuredToken(claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  return `${segment({ alg: 'none', typ: 'JWT', ...header })}.${segment(claims)}.`;
}

/**
 * An HS256 token whose MAC key is `secret`: with a public key's PEM or JWK text as the secret,
 * this is the classic algorithm-confusion attack on verifiers that let the token pick the alg.
 */
export function hmacToken(claims: Record<string, unknown>, secret: string | Uint8Array, header: Record<string, unknown> = {}): string {
  const input = `${segment({ alg: 'HS256', typ: 'JWT', ...header })}.${segment(claims)}`;
  const mac = createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${mac}`;
}
