// lib/transport/: talking to other servers: a fetch bounded in time and size, and RFC 8414 /
// OpenID discovery of an authorization server's metadata. May import core/ only.

/** Stable codes to branch on; the message is for people. */
export type BoundedFetchErrorCode =
  /** No complete answer within `timeoutMs`. */
  | 'ERR_FETCH_TIMEOUT'
  /** The caller's `signal` aborted first. */
  | 'ERR_FETCH_ABORTED'
  /** Connection refused, reset, DNS failure, TLS failure... */
  | 'ERR_FETCH_NETWORK'
  /** The body is larger than `maxBytes`. */
  | 'ERR_FETCH_TOO_LARGE';

/** Why an outbound request produced no usable answer. Never carries request bodies or credentials. */
export class BoundedFetchError extends Error {
  readonly code: BoundedFetchErrorCode;

  constructor(code: BoundedFetchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'BoundedFetchError';
    this.code = code;
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

export interface BoundedFetchOptions {
  /** Default `'GET'`. */
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Time limit for the whole exchange, body included. */
  timeoutMs: number;
  /** Largest body read; a larger one is abandoned, not truncated. */
  maxBytes: number;
  /** Abandons the request early (e.g. the chain's per-source time limit). */
  signal?: AbortSignal;
}

export interface BoundedResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** Short, URL-free description of a network error (undici puts the interesting part in `cause`). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : 'network error';
}

async function readCapped(response: Response, maxBytes: number): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BoundedFetchError('ERR_FETCH_TOO_LARGE', `response body exceeds ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/**
 * `fetch` for talking to servers named in configuration: one time limit for the whole
 * exchange (headers and body), a cap on the body read into memory, and redirects never
 * followed. A 3xx is handed back as is, because following it would repeat the request,
 * credentials and all, to wherever the `Location` points; callers treat it as an answer
 * they cannot use.
 *
 * Rejects only with a {@link BoundedFetchError}; any HTTP status resolves.
 *
 * @example
 * const res = await boundedFetch('https://as.example.com/introspect', {
 *   method: 'POST', body: 'token=abc', timeoutMs: 5000, maxBytes: 256 * 1024,
 * });
 * if (res.status === 200) JSON.parse(res.body.toString('utf8'));
 */
export async function boundedFetch(url: string | URL, options: BoundedFetchOptions): Promise<BoundedResponse> {
  // Linked by hand rather than with AbortSignal.any, which Node 20.0-20.2 lack and which
  // keeps listeners on long-lived caller signals.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const onCallerAbort = () => controller.abort();
  if (options.signal?.aborted) controller.abort();
  else options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const classify = (error: unknown): BoundedFetchError => {
    if (error instanceof BoundedFetchError) return error;
    if (timedOut) return new BoundedFetchError('ERR_FETCH_TIMEOUT', `no complete answer within ${options.timeoutMs} ms`, { cause: error });
    if (options.signal?.aborted) return new BoundedFetchError('ERR_FETCH_ABORTED', 'request aborted by the caller', { cause: error });
    return new BoundedFetchError('ERR_FETCH_NETWORK', `network error (${networkReason(error)})`, { cause: error });
  };
  try {
    const response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body,
      redirect: 'manual',
      signal: controller.signal,
    });
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new BoundedFetchError('ERR_FETCH_TOO_LARGE', `response body of ${declared} bytes exceeds ${options.maxBytes}`);
    }
    const body = await readCapped(response, options.maxBytes);
    return { status: response.status, headers: response.headers, body };
  } catch (error) {
    throw classify(error);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}
