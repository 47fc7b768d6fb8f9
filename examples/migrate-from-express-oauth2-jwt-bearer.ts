/**
 * Migrating an API from express-oauth2-jwt-bearer to multiAuth, to let CI jobs in with API keys
 * while users keep their Auth0 (or any OpenID) tokens. Exercised by
 * __tests__/examples/migrations.test.ts.
 *
 * `before()` is the app as it was; `after()` is the same app behind multiAuth. What changes:
 * one `app.use()` line. What stays: its `auth()` (now one source of the chain, its answers
 * unchanged) and every `requiredScopes()` / `claimCheck()` guard on the routes: multiAuth's
 * `req.auth.payload` carries `scope`, `client_id`, `sub` and `exp` for every source, so the
 * guards judge an API key as they judge a JWT.
 */
import express from 'express';
import type { ErrorRequestHandler, Request, Response } from 'express';
import { auth, claimCheck, requiredScopes } from 'express-oauth2-jwt-bearer';
import { getAuth, middlewareVerifier, multiAuth, staticTokenVerifier, type StaticTokenEntry } from '../lib/index';

export interface EojbMigrationOptions {
  /** The issuer express-oauth2-jwt-bearer was configured with (its `issuerBaseURL`). */
  issuerBaseURL: string;
  /** The API identifier tokens are minted for. */
  audience: string;
  /** New: API keys for CI, each with the scopes the guards below look for. */
  ciKeys: Record<string, StaticTokenEntry>;
}

/** The routes, with express-oauth2-jwt-bearer's guards: identical before and after. */
function routes(app: express.Express): express.Express {
  app.get('/things', requiredScopes('read:things'), (req: Request, res: Response) => {
    res.json({ things: ['a', 'b'], source: getAuth(req)?.source ?? 'auth0' });
  });
  app.post('/things', requiredScopes('write:things'), (_req: Request, res: Response) => {
    res.status(201).json({ created: true });
  });
  // A claim check on who the caller is: Auth0 machine clients and CI keys carry client_id alike.
  app.delete('/things', claimCheck((claims) => claims.client_id === 'release-bot'), (_req: Request, res: Response) => {
    res.status(204).end();
  });
  // The package's errors (multiAuth's and express-oauth2-jwt-bearer's) carry their status and,
  // for 401/403, the WWW-Authenticate header to send.
  const answer: ErrorRequestHandler = (error: { status?: number; headers?: Record<string, string>; code?: string }, _req, res, _next) => {
    res.status(error.status ?? 500).set(error.headers ?? {}).json({ error: error.code ?? 'server_error' });
  };
  app.use(answer);
  return app;
}

/** The app before: express-oauth2-jwt-bearer's `auth()` in front of everything. */
export function before(options: EojbMigrationOptions): express.Express {
  const app = express();
  app.use(auth({ issuerBaseURL: options.issuerBaseURL, audience: options.audience }));
  return routes(app);
}

/**
 * The app after: the same `auth()` as one source, API keys as another. The guards are untouched.
 *
 * @example
 * after({ issuerBaseURL: 'https://tenant.auth0.com/', audience: 'https://api.example.com',
 *         ciKeys: { [process.env.CI_KEY!]: { clientId: 'release-bot', scopes: ['read:things', 'write:things'] } } })
 *   .listen(3000, '127.0.0.1');
 */
export function after(options: EojbMigrationOptions): express.Express {
  const app = express();
  app.use(
    multiAuth({
      verifiers: [
        // `cacheable: true`: auth() reads only the Authorization header, so its verdict on a token holds for the token.
        middlewareVerifier({ name: 'auth0', middleware: auth({ issuerBaseURL: options.issuerBaseURL, audience: options.audience }), cacheable: true }),
        staticTokenVerifier({ name: 'ci', tokens: options.ciKeys }),
      ],
    }),
  );
  return routes(app);
}
