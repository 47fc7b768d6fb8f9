import type { IncomingMessage } from 'node:http';

/**
 * MCP 2026-07-28 standard request headers (streamable HTTP, "Server Validation"): `Mcp-Method`
 * mirrors the body's `method`, `Mcp-Name` its `params.name` / `params.uri` / `params.taskId`.
 * A gateway in front may route or decide on the headers while the server runs the body, so a
 * server that reads the body must refuse a request where the two disagree (400, JSON-RPC
 * `-32020`). Here only the comparison: no HTTP answer, no policy.
 */

/** JSON-RPC error code of `HeaderMismatch` (MCP 2026-07-28). */
export const HEADER_MISMATCH = -32020;

/**
 * The body field `Mcp-Name` mirrors, per method. The first three are the specification's; the
 * `tasks/*` rows are SEP-2663's binding, which the MCP SDK v2 client sends too.
 */
const NAME_FIELD: ReadonlyMap<string, string> = new Map([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
  ['tasks/get', 'taskId'],
  ['tasks/update', 'taskId'],
  ['tasks/cancel', 'taskId'],
]);

const SENTINEL_PREFIX = '=?base64?';
const SENTINEL_SUFFIX = '?=';
/** Canonical Base64 (RFC 4648 §4, padded): what the sentinel carries. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** A refusal quotes at most this much of a header or body value. */
const QUOTED = 80;

/** Why a request's headers contradict its body; `id` is the JSON-RPC id to answer with. */
export interface HeaderMismatch {
  readonly message: string;
  readonly id: string | number | null;
}

/**
 * A header's value as the comparison sees it: `undefined` when absent, the decoded text of a
 * Base64 sentinel, or `null` for a sentinel that does not decode (not canonical Base64, or not
 * UTF-8). Sentinel markers are case-sensitive, as the specification says; a value that merely
 * looks like one in other case is compared as it is.
 */
export function decodeHeaderValue(value: string): string | null {
  if (!(value.length >= SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length && value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX))) {
    return value;
  }
  const encoded = value.slice(SENTINEL_PREFIX.length, value.length - SENTINEL_SUFFIX.length);
  if (!BASE64.test(encoded)) return null;
  try {
    return UTF8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return null;
  }
}

/** One header, once: Node joins repeated custom headers with ", ", which then matches nothing. */
function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function quote(value: string): string {
  const text = value.length > QUOTED ? `${value.slice(0, QUOTED)}...` : value;
  return JSON.stringify(text);
}

function idOf(message: unknown): string | number | null {
  const id = (message as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/**
 * Compares `Mcp-Method` and `Mcp-Name`, when present, with every message of a parsed JSON-RPC
 * body (one message or a batch). `undefined` when they agree or are absent (a client of an
 * earlier protocol revision sends neither: the body alone decides). Each header present must
 * hold for every message: `Mcp-Method` names each message's `method` (a response, which has
 * none, contradicts it), and `Mcp-Name`, for each method that has a name field, equals that
 * field. Values are compared exactly (case-sensitive), after decoding a Base64 sentinel.
 *
 * @example
 * headerMismatch(req, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search' } });
 * // with `Mcp-Name: delete_repo`:
 * // { id: 1, message: 'Header mismatch: Mcp-Name header value "delete_repo" does not match body value "search"' }
 */
export function headerMismatch(req: IncomingMessage, body: unknown): HeaderMismatch | undefined {
  const methodHeader = headerOf(req, 'mcp-method');
  const nameHeader = headerOf(req, 'mcp-name');
  if (methodHeader === undefined && nameHeader === undefined) return undefined;
  const messages = Array.isArray(body) ? body : [body];
  const single = Array.isArray(body) ? undefined : body;
  const answerId = single !== null && typeof single === 'object' ? idOf(single) : null;
  const refuse = (message: string): HeaderMismatch => ({ message: `Header mismatch: ${message}`, id: answerId });

  let name: string | null | undefined;
  if (nameHeader !== undefined) {
    name = decodeHeaderValue(nameHeader);
    if (name === null) return refuse(`Mcp-Name header value ${quote(nameHeader)} is not a valid =?base64?...?= value`);
  }
  if (messages.length === 0 && methodHeader !== undefined) return refuse(`Mcp-Method header value ${quote(methodHeader)} names a method the body does not carry`);
  for (const message of messages) {
    const method = message !== null && typeof message === 'object' && !Array.isArray(message) ? (message as { method?: unknown }).method : undefined;
    if (methodHeader !== undefined && method !== methodHeader) {
      return typeof method === 'string'
        ? refuse(`Mcp-Method header value ${quote(methodHeader)} does not match body value ${quote(method)}`)
        : refuse(`Mcp-Method header value ${quote(methodHeader)} names a method the body does not carry`);
    }
    if (name === undefined || typeof method !== 'string') continue;
    const field = NAME_FIELD.get(method);
    if (field === undefined) continue;
    const params = (message as { params?: unknown }).params;
    const value = params !== null && typeof params === 'object' ? (params as Record<string, unknown>)[field] : undefined;
    if (value !== name) {
      return typeof value === 'string'
        ? refuse(`Mcp-Name header value ${quote(nameHeader as string)} does not match body value ${quote(value)}`)
        : refuse(`Mcp-Name header value ${quote(nameHeader as string)} names params.${field}, which the body does not carry as a string`);
    }
  }
  return undefined;
}
