/**
 * A real OAuth 2.0 authorization server (oidc-provider 9) for tests, running
 * in a child process on 127.0.0.1 with an ephemeral port.
 *
 * oidc-provider is ESM-only; keeping it in its own process keeps it out of
 * Jest's CommonJS module system, and tests reach it over real HTTP the way a
 * deployed resource server would. The child is ./oidc-issuer.mjs.
 *
 * @example
 * const issuer = await startIssuer({ path: '/tenant-a' });
 * try {
 *   const token = await issuer.clientCredentialsToken({ resource: 'http://127.0.0.1/mcp', scope: 'mcp:read' });
 *   // ...verify it with jwtVerifier({ issuer: issuer.issuer, audience: 'http://127.0.0.1/mcp' })
 * } finally {
 *   await issuer.stop();
 * }
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { killOnExit } from './children';

const SCRIPT = path.join(__dirname, 'oidc-issuer.mjs');
const DEFAULT_START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const STDERR_TAIL_LINES = 40;

/** How a client authenticates at the token, introspection and revocation endpoints. */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/**
 * A confidential client's credentials. oidc-provider 9 accepts either
 * client_secret_basic or client_secret_post from any client registered with a secret.
 */
export interface ClientCredential {
  clientId: string;
  clientSecret: string;
}

/** Who authenticates to an endpoint, and how. */
export interface ClientAuthOptions {
  /** Default: the role's built-in client (`m2mClient` for tokens and revocation, `introspectionClient` for introspection). */
  client?: ClientCredential;
  /** Default `client_secret_basic`. */
  authMethod?: ClientAuthMethod;
}

/** Per-resource (RFC 8707) token settings. */
export interface ResourceConfig {
  /** `jwt` (RFC 9068 `at+jwt`, default) or `opaque` (only usable through introspection). */
  format?: 'jwt' | 'opaque';
  /** Scopes the resource accepts; requested scopes outside it are silently dropped. Default: the issuer's `scope`. */
  scope?: string;
  /** Access token lifetime in seconds for this resource. */
  ttl?: number;
  /** JWS algorithm: one of `signingAlgs` (asymmetric, published in the JWKS), or `HS256`/`HS384`/`HS512` with `secret`. */
  alg?: string;
  /** Shared secret for `HS*` algorithms. */
  secret?: string;
  /** `aud` to put in tokens instead of the resource indicator itself. */
  audience?: string;
}

/**
 * Which well-known metadata URLs answer. "Inserted" is RFC 8414 §3.1
 * (`/.well-known/oauth-authorization-server/tenant-a`); "appended" is OpenID
 * Discovery style (`/tenant-a/.well-known/openid-configuration`). For a root
 * issuer both forms are the same URL, served unless either switch is off.
 * All default to `true`.
 */
export interface DiscoveryForms {
  oauthInserted?: boolean;
  openidInserted?: boolean;
  oauthAppended?: boolean;
  openidAppended?: boolean;
}

export interface IssuerOptions {
  /** Issuer path, e.g. `/tenant-a` gives `http://127.0.0.1:PORT/tenant-a`. Default: none. */
  path?: string;
  /** Access token lifetime in seconds (client credentials and authorization code). Default 600. */
  accessTokenTtl?: number;
  /** Scopes of any resource not listed in `resources`. Default `mcp:read mcp:write repo:read repo:admin`. */
  scope?: string;
  /** Resources with their own settings. Any other absolute http(s) URL is a JWT resource with `scope`. */
  resources?: Record<string, ResourceConfig>;
  /** Reject resources not listed in `resources` (and not `opaqueResource`) with `invalid_target`. */
  strictResources?: boolean;
  /** Resource for client credentials requests without `resource`; `null` for none (an opaque, audience-less token). Default `http://127.0.0.1/mcp`. */
  defaultResource?: string | null;
  /** The resource whose tokens are opaque (see `opaqueToken`). Default `http://127.0.0.1/introspected-api`. */
  opaqueResource?: string;
  /** Signing key algorithms; the first signs JWT access tokens. An RS256 key is always present. Default `['RS256']`. */
  signingAlgs?: string[];
  /** Override the ids/secrets of the built-in clients. */
  clients?: {
    m2m?: Partial<ClientCredential>;
    introspection?: Partial<ClientCredential>;
  };
  /** Further clients as raw oidc-provider client metadata (`client_id`, `grant_types`, ...). */
  extraClients?: Record<string, unknown>[];
  /** The one user `findAccount` knows; interactions log this user in. Default sub `test-user`. */
  account?: { sub?: string; email?: string; name?: string };
  /** `false` makes every authorization request end in `access_denied`. Default `true`. */
  autoApprove?: boolean;
  discovery?: DiscoveryForms;
  /**
   * RFC 8705 certificate-bound access tokens: registers `mtlsClient`, whose tokens are bound to
   * the certificate its token request presents (`TokenRequest.certificate`). Default `false`.
   */
  mtls?: boolean;
  /** How long to wait for the child to be ready. Default 20 s (2-core CI machines are slow to start Node). */
  startTimeoutMs?: number;
}

export interface TokenRequest extends ClientAuthOptions {
  /** RFC 8707 `resource`; default: the issuer's `defaultResource`. */
  resource?: string;
  /** Space-separated scopes. */
  scope?: string;
  /** Lifetime of this one token in seconds (a test-only header the child honours). */
  ttl?: number;
  /**
   * A DPoP proof for the token endpoint (RFC 9449 §5): oidc-provider then binds the token to the
   * proof's key (`cnf.jkt`, `token_type: DPoP`).
   */
  dpop?: string;
  /**
   * The client certificate of the token request, as RFC 9440 `Client-Cert` (`:` base64 DER `:`),
   * as a TLS-terminating proxy in front of the issuer would pass it on. With `mtlsClient` (issuer
   * started with `mtls: true`) the token is bound to it: `cnf["x5t#S256"]`.
   */
  certificate?: string;
}

/** A successful RFC 6749 token response. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  [k: string]: unknown;
}

export interface LoggedRequest {
  method: string;
  /** Server-root path including the query, e.g. `/tenant-a/jwks`. */
  path: string;
}

/** Make requests that match `pathPrefix` misbehave. */
export interface Fault {
  /** Server-root path prefix (e.g. `new URL(issuer.jwksUri).pathname`) or an absolute URL on the issuer. */
  pathPrefix: string;
  /** Answer with this status instead of serving the request. */
  status?: number;
  /** Body for `status` (default: an OAuth `server_error` JSON body). */
  body?: string;
  contentType?: string;
  /** Wait this long first (then serve normally unless `status` or `reset` is set). */
  delayMs?: number;
  /** Destroy the connection without answering (a network error for the client). */
  reset?: boolean;
  /** Only the next N matching requests; default: all. */
  times?: number;
}

export interface SignJwtOptions {
  /** Protected header fields; `alg`, `kid` and `typ` (`at+jwt`) are filled in unless given. */
  header?: Record<string, unknown>;
  /** One of `signingAlgs`. Default: the first. */
  alg?: string;
  /** Sign with a key of the same algorithm that the JWKS does not publish (an unknown `kid`). */
  unpublishedKey?: boolean;
}

export interface Issuer {
  /** The issuer identifier, e.g. `http://127.0.0.1:43567/tenant-a`. */
  readonly issuer: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly pid: number;
  /** `{issuer}/.well-known/openid-configuration` */
  readonly discoveryUrl: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly revocationEndpoint: string;
  readonly registrationEndpoint: string;
  readonly authorizationEndpoint: string;
  readonly userinfoEndpoint: string;
  /** Published signing keys. */
  readonly keys: ReadonlyArray<{ kid: string; alg: string }>;
  /** The confidential client_credentials client. */
  readonly m2mClient: ClientCredential;
  /** A resource server credential: may introspect any token, cannot get tokens. */
  readonly introspectionClient: ClientCredential;
  /** With `mtls: true`: a client_credentials client whose tokens are bound to its certificate (RFC 8705). */
  readonly mtlsClient: ClientCredential;
  readonly opaqueResource: string;
  readonly defaultResource: string | null;
  /** The user interactions log in. */
  readonly accountSub: string;

  /** A client_credentials token response; rejects with `IssuerRequestError` on an error answer. */
  tokenResponse(request?: TokenRequest): Promise<TokenResponse>;
  /** A client_credentials access token (an `at+jwt` for JWT resources). */
  clientCredentialsToken(request?: TokenRequest): Promise<string>;
  /** An opaque access token for `opaqueResource`, for introspection. */
  opaqueToken(request?: Omit<TokenRequest, 'resource'>): Promise<string>;
  /** RFC 7662 introspection, by default as `introspectionClient`; rejects with `IssuerRequestError` on non-200. */
  introspect(token: string, auth?: ClientAuthOptions): Promise<Record<string, unknown>>;
  /** RFC 7009 revocation; only the token's own client may revoke it (default `m2mClient`). */
  revoke(token: string, auth?: ClientAuthOptions): Promise<void>;
  /** RFC 7591 dynamic client registration; resolves to the registration response. */
  registerClient(metadata: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * Play the user agent for an authorization request: follow redirects with a
   * cookie jar through the auto-approving interactions and resolve to the first
   * redirect that leaves the issuer's origin (the client's redirect_uri with
   * `code`, `state`, `iss`, or with `error`).
   */
  authorize(authorizationUrl: string | URL): Promise<URL>;
  /** Sign arbitrary claims with the issuer's key (for expired, audience-less, oddly typed tokens...). The payload is used as is. */
  signJwt(payload: Record<string, unknown>, options?: SignJwtOptions): Promise<string>;
  /** Requests served so far (control requests excluded), optionally only those whose path starts with `pathPrefix` (a path or a URL on the issuer). */
  requests(pathPrefix?: string): Promise<LoggedRequest[]>;
  /**
   * How many requests the issuer has received, e.g. `await issuer.requestCount(issuer.jwksUri)`.
   * Asynchronous on purpose: asking over HTTP orders the question after every
   * request the test already completed, which a log streamed on stdout cannot promise.
   */
  requestCount(pathPrefix?: string): Promise<number>;
  resetRequests(): Promise<void>;
  /** Replace the fault list (`[]` clears it). */
  setFaults(faults: Fault[]): Promise<void>;
  /** Stop the child and wait for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** An error answer from the issuer, with its status and parsed body. */
/**
 * `introspectionVerifier` options for `issuer`'s RFC 7662 endpoint, as its introspection client,
 * checking `iss` and the opaque tokens' audience: what a resource server behind it would use.
 */
export function introspectionOptionsFor(issuer: Issuer) {
  return {
    name: 'corp-as',
    endpoint: issuer.introspectionEndpoint,
    clientId: issuer.introspectionClient.clientId,
    clientSecret: issuer.introspectionClient.clientSecret,
    issuer: issuer.issuer,
    audience: issuer.opaqueResource,
  };
}

export class IssuerRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'IssuerRequestError';
  }
}

interface ReadyLine {
  ready: true;
  issuer: string;
  port: number;
  pid: number;
  endpoints: Record<
    'discovery' | 'jwks' | 'token' | 'introspection' | 'revocation' | 'registration' | 'authorization' | 'userinfo',
    string
  >;
  keys: Array<{ kid: string; alg: string }>;
}

/**
 * Start an authorization server in a child process and wait until it serves.
 *
 * @example
 * const issuer = await startIssuer({ accessTokenTtl: 2 });
 * const opaque = await issuer.opaqueToken({ scope: 'mcp:read' });
 * await issuer.stop();
 */
export async function startIssuer(options: IssuerOptions = {}): Promise<Issuer> {
  const { startTimeoutMs = DEFAULT_START_TIMEOUT_MS, ...childConfig } = options;
  const child = spawn(process.execPath, [SCRIPT], {
    env: { ...process.env, OIDC_ISSUER_CONFIG: JSON.stringify(childConfig) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  killOnExit(child);

  // Until the child is ready its stderr is kept for the error message (a failed
  // start is reported once, in the rejection); afterwards it is passed through:
  // the child already drops its known development-only notices, so what is left is worth seeing.
  const stderrTail: string[] = [];
  let label = 'oidc-issuer';
  let passThrough = false;
  const debug = process.env.OIDC_ISSUER_DEBUG === '1';
  forEachLine(child.stderr, (line) => {
    if (passThrough) {
      process.stderr.write(`[${label}] ${line}\n`);
      return;
    }
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  });

  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      child.kill('SIGKILL');
      const tail = stderrTail.length ? `\nchild stderr:\n${stderrTail.join('\n')}` : ' (child stderr was empty)';
      reject(new Error(`startIssuer: ${why}${tail}`));
    };
    const timer = setTimeout(
      () => fail(`no ready line from ${SCRIPT} within ${startTimeoutMs} ms`),
      startTimeoutMs,
    );
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`child exited (${signal ?? `code ${code}`}) before it was ready`);
    const onError = (err: Error) => fail(`could not spawn ${process.execPath}: ${err.message}`);
    const stopLines = forEachLine(child.stdout, (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        if (debug) process.stderr.write(`[${label}] stdout: ${line}\n`);
        return;
      }
      if (isReadyLine(parsed)) {
        cleanup();
        resolve(parsed);
      }
    });
    function cleanup() {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      stopLines();
    }
    child.once('exit', onExit);
    child.once('error', onError);
  });
  label = `oidc-issuer :${ready.port}`;
  for (const line of stderrTail) process.stderr.write(`[${label}] ${line}\n`);
  passThrough = true;

  // A test that forgets stop() must not keep Jest alive; the child still dies with us (stdin closes).
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void }).unref?.();
  }

  return makeIssuer(child, ready, options);
}

function isReadyLine(value: unknown): value is ReadyLine {
  return typeof value === 'object' && value !== null && (value as { ready?: unknown }).ready === true
    && typeof (value as { issuer?: unknown }).issuer === 'string';
}

function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): () => void {
  let buffered = '';
  const onData = (chunk: Buffer | string) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline).replace(/\r$/, '');
      buffered = buffered.slice(newline + 1);
      if (line) onLine(line);
    }
  };
  stream.on('data', onData);
  return () => stream.off('data', onData);
}

function makeIssuer(child: ChildProcessWithoutNullStreams, ready: ReadyLine, options: IssuerOptions): Issuer {
  const origin = `http://127.0.0.1:${ready.port}`;
  const m2mClient: ClientCredential = { clientId: 'm2m-client', clientSecret: 'm2m-secret', ...options.clients?.m2m };
  const introspectionClient: ClientCredential = {
    clientId: 'resource-server',
    clientSecret: 'resource-server-secret',
    ...options.clients?.introspection,
  };
  const opaqueResource = options.opaqueResource ?? 'http://127.0.0.1/introspected-api';
  const defaultResource = options.defaultResource === undefined ? 'http://127.0.0.1/mcp' : options.defaultResource;

  const toPath = (prefix: string) => (/^https?:/.test(prefix) ? new URL(prefix).pathname : prefix);
  const control = (method: string, pathname: string, body?: unknown) =>
    fetch(`${origin}/__harness/${pathname}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (res) => {
      const parsed = await readBody(res);
      if (!res.ok) throw new IssuerRequestError(`harness ${method} ${pathname}: ${res.status}`, res.status, parsed);
      return parsed;
    });

  let stopped: Promise<void> | undefined;

  const issuer: Issuer = {
    issuer: ready.issuer,
    port: ready.port,
    origin,
    pid: ready.pid,
    discoveryUrl: ready.endpoints.discovery,
    jwksUri: ready.endpoints.jwks,
    tokenEndpoint: ready.endpoints.token,
    introspectionEndpoint: ready.endpoints.introspection,
    revocationEndpoint: ready.endpoints.revocation,
    registrationEndpoint: ready.endpoints.registration,
    authorizationEndpoint: ready.endpoints.authorization,
    userinfoEndpoint: ready.endpoints.userinfo,
    keys: ready.keys,
    m2mClient,
    introspectionClient,
    mtlsClient: { clientId: 'mtls-client', clientSecret: 'mtls-secret' },
    opaqueResource,
    defaultResource,
    accountSub: options.account?.sub ?? 'test-user',

    async tokenResponse({ resource, scope, client = m2mClient, authMethod, ttl, dpop, certificate } = {}) {
      const params: Record<string, string> = { grant_type: 'client_credentials' };
      if (resource !== undefined) params.resource = resource;
      if (scope !== undefined) params.scope = scope;
      const headers: Record<string, string> = ttl === undefined ? {} : { 'x-harness-access-token-ttl': String(ttl) };
      if (dpop !== undefined) headers.dpop = dpop;
      if (certificate !== undefined) headers['client-cert'] = certificate;
      const { status, body } = await postForm(ready.endpoints.token, params, client, authMethod, headers);
      if (status !== 200) throw new IssuerRequestError(`token request failed: ${status} ${JSON.stringify(body)}`, status, body);
      return body as TokenResponse;
    },

    async clientCredentialsToken(request = {}) {
      return (await issuer.tokenResponse(request)).access_token;
    },

    async opaqueToken(request = {}) {
      return issuer.clientCredentialsToken({ ...request, resource: opaqueResource });
    },

    async introspect(token, { client = introspectionClient, authMethod } = {}) {
      const { status, body } = await postForm(ready.endpoints.introspection, { token }, client, authMethod);
      if (status !== 200) {
        throw new IssuerRequestError(`introspection failed: ${status} ${JSON.stringify(body)}`, status, body);
      }
      return body as Record<string, unknown>;
    },

    async revoke(token, { client = m2mClient, authMethod } = {}) {
      const { status, body } = await postForm(ready.endpoints.revocation, { token }, client, authMethod);
      if (status !== 200) throw new IssuerRequestError(`revocation failed: ${status} ${JSON.stringify(body)}`, status, body);
    },

    async registerClient(metadata) {
      const res = await fetch(ready.endpoints.registration, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(metadata),
      });
      const body = await readBody(res);
      if (res.status !== 201) {
        throw new IssuerRequestError(`registration failed: ${res.status} ${JSON.stringify(body)}`, res.status, body);
      }
      return body as Record<string, unknown>;
    },

    async authorize(authorizationUrl) {
      const jar = new CookieJar();
      let current = new URL(authorizationUrl);
      for (let hop = 0; hop < 20; hop++) {
        const res = await fetch(current, { redirect: 'manual', headers: jar.headerFor(current) });
        jar.store(res.headers.getSetCookie());
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
          await res.arrayBuffer();
          const next = new URL(location, current);
          if (next.origin !== origin) return next;
          current = next;
          continue;
        }
        const text = await res.text();
        throw new IssuerRequestError(
          `authorization stopped at ${current.pathname} with ${res.status}: ${text.slice(0, 500)}`,
          res.status,
          text,
        );
      }
      throw new Error('authorize: more than 20 redirects');
    },

    async signJwt(payload, { header, alg, unpublishedKey } = {}) {
      const { jwt } = (await control('POST', 'sign', { payload, header, alg, unpublishedKey })) as { jwt: string };
      return jwt;
    },

    async requests(pathPrefix) {
      const { requests } = (await control('GET', 'requests')) as { requests: LoggedRequest[] };
      if (pathPrefix === undefined) return requests;
      const prefix = toPath(pathPrefix);
      return requests.filter((r) => r.path.split('?')[0].startsWith(prefix));
    },

    async requestCount(pathPrefix) {
      return (await issuer.requests(pathPrefix)).length;
    },

    async resetRequests() {
      await control('DELETE', 'requests');
    },

    async setFaults(faults) {
      await control('PUT', 'faults', faults.map((f) => ({ ...f, pathPrefix: toPath(f.pathPrefix) })));
    },

    stop() {
      stopped ??= stopChild(child);
      return stopped;
    },
  };
  return issuer;
}

function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
    child.stdin.end();
  });
}

async function postForm(
  url: string,
  params: Record<string, string>,
  client: ClientCredential,
  authMethod: ClientAuthMethod = 'client_secret_basic',
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const form = new URLSearchParams(params);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    ...extraHeaders,
  };
  if (authMethod === 'client_secret_post') {
    form.set('client_id', client.clientId);
    form.set('client_secret', client.clientSecret);
  } else {
    // RFC 6749 §2.3.1: form-encode id and secret before base64.
    const basic = `${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  }
  const res = await fetch(url, { method: 'POST', headers, body: form });
  return { status: res.status, body: await readBody(res) };
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Just enough of RFC 6265 for one host: name + path, expiry by deletion. */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  store(setCookies: string[]): void {
    for (const header of setCookies) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let cookiePath = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [rawKey, ...rest] = attribute.split('=');
        const key = rawKey.trim().toLowerCase();
        const attrValue = rest.join('=').trim();
        if (key === 'path' && attrValue.startsWith('/')) cookiePath = attrValue;
        if (key === 'max-age' && Number(attrValue) <= 0) expired = true;
        if (key === 'expires' && Date.parse(attrValue) <= Date.now()) expired = true;
      }
      const id = `${name}\n${cookiePath}`;
      if (expired) this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path: cookiePath });
    }
  }

  headerFor(url: URL): Record<string, string> {
    const matching = [...this.cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? { cookie: matching.map((c) => `${c.name}=${c.value}`).join('; ') } : {};
  }
}

/**
 * A PKCE (RFC 7636) S256 verifier/challenge pair.
 *
 * @example
 * const { verifier, challenge } = createPkce();
 */
export function createPkce(): { verifier: string; challenge: string; method: 'S256' } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge, method: 'S256' };
}
