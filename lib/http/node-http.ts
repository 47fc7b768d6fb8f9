import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What this package reads from a request and how it answers, on Node's own `IncomingMessage` and
 * `ServerResponse` only, so the same code runs under Express, Connect, Fastify (`request.raw`,
 * `reply.raw`) and a bare `node:http` server.
 */

/**
 * A `(req, res, next)` middleware on Node's own types: what Connect, Fastify (`@fastify/middie`,
 * `@fastify/express`) and a bare `node:http` server call. Everything this package mounts is one
 * (as well as an Express handler), so no framework needs a cast.
 *
 * @example
 * const check: NodeMiddleware = auth.bearer;
 * http.createServer((req, res) => check(req, res, () => res.end('ok')));
 */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The path of the request as the router routes it: `req.url` up to any query. Express strips a
 * mount point from `req.url` as it does from Express's `path`, so both read alike there; elsewhere
 * `req.url` is all there is.
 */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Whether the response is already on its way (headers sent) or over: something earlier (a
 * timeout middleware, a handler that answered and still called `next()`) answered. Nothing may
 * be written to it then: `setHeader` would throw `ERR_HTTP_HEADERS_SENT`.
 */
export function answered(res: ServerResponse): boolean {
  return res.headersSent || res.writableEnded;
}

/**
 * Whether the request's body is JSON, as Express's `req.is('application/json')` says it:
 * `null` when the request has no body (no `Transfer-Encoding`, no `Content-Length`), `false`
 * for another or no media type, `true` for `application/json` (parameters aside, any case).
 */
export function isJsonBody(req: IncomingMessage): boolean | null {
  const { headers } = req;
  if (headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || Number.isNaN(Number(headers['content-length'])))) {
    return null;
  }
  const type = headers['content-type'];
  if (type === undefined) return false;
  const semicolon = type.indexOf(';');
  return (semicolon < 0 ? type : type.slice(0, semicolon)).trim().toLowerCase() === 'application/json';
}

/**
 * Answers with a JSON body through `statusCode`/`setHeader`/`end`, unless the response was
 * already answered. Returns whether it wrote.
 */
export function sendJson(res: ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>> = {}): boolean {
  if (answered(res)) return false;
  res.statusCode = status;
  for (const name of Object.keys(headers)) res.setHeader(name, headers[name]);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
  return true;
}
