import express from 'express';
import type { RequestHandler } from 'express';
import { getAuth } from '../../lib/http/request-auth';
import type { AuthInfo, MultiAuthInfo, TokenVerifier } from '../../lib/core/types';

/** An app with `auth` in front of `/echo`, which answers with what `req.auth` holds. */
export function appWith(auth: RequestHandler, ...guards: RequestHandler[]): express.Express {
  const app = express();
  app.use(express.json());
  app.use(auth);
  app.all('/echo', ...guards, (req, res) => {
    const info = getAuth(req);
    res.json(info ? { source: info.source, clientId: info.clientId, scopes: info.scopes, extraSource: info.extra.source } : { anonymous: true });
  });
  return app;
}

/**
 * A verifier that accepts exactly one token, and counts how often it was asked. Its tokens
 * expire in an hour (an AuthInfo without `expiresAt` is refused unless the source says
 * `neverExpires`); pass `expiresAt: undefined` with `neverExpires` to test the other kind.
 */
export function oneTokenVerifier(
  name: string | undefined,
  accepted: string,
  info: Partial<AuthInfo & MultiAuthInfo> = {},
): TokenVerifier & { calls: number } {
  const verifier = {
    calls: 0,
    async verifyAccessToken(token: string) {
      verifier.calls++;
      const expiresAt = Math.floor(Date.now() / 1000) + 3600;
      return token === accepted ? { token, clientId: `${name ?? 'anon'}-client`, scopes: ['read'], expiresAt, ...info } : null;
    },
  } as TokenVerifier & { calls: number };
  if (name !== undefined) verifier.name = name;
  return verifier;
}

/** A verifier that always does `behave` (throw, hang, ...), counting calls. */
export function behavingVerifier(name: string, behave: (token: string) => Promise<unknown> | unknown): TokenVerifier & { calls: number } {
  const verifier = {
    name,
    calls: 0,
    verifyAccessToken(token: string) {
      verifier.calls++;
      return behave(token) as Promise<AuthInfo | null>;
    },
  };
  return verifier;
}

/** Splits a `WWW-Authenticate: Bearer k="v", ...` value into its parameters (RFC 7235 auth-params). */
export function parseBearerChallenge(value: string | undefined): { scheme: string; params: Record<string, string> } {
  if (value === undefined) throw new Error('no WWW-Authenticate header');
  const match = /^(\S+)(?: (.*))?$/.exec(value);
  if (!match) throw new Error(`unparseable challenge: ${value}`);
  const params: Record<string, string> = {};
  const rest = match[2] ?? '';
  const param = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+)="((?:[^"\\]|\\.)*)"(?:, |$)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = param.exec(rest)) !== null) {
    params[m[1]] = m[2].replace(/\\(.)/g, '$1');
    consumed = param.lastIndex;
  }
  if (consumed !== rest.length) throw new Error(`challenge does not parse as auth-params: ${value}`);
  return { scheme: match[1], params };
}
