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
import { getAuth, jwtVerifier, middlewareVerifier, multiAuth, staticTokenVerifier, type StaticTokenEntry } from '../lib/index';

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

/** A multi-tenant API: several issuers (express-oauth2-jwt-bearer's `mcd`) and a check of its own. */
export interface MultiTenantOptions {
  /** The issuers of the customers onboarded (as tokens spell `iss`). */
  tenants: string[];
  audience: string;
  /** The clients allowed to call, checked by a validator on `client_id`. */
  clients: string[];
  ciKeys: Record<string, StaticTokenEntry>;
}

/** The multi-tenant app before: `auth()` with `mcd.issuers` as a function and `validators`. */
export function beforeMultiTenant(options: MultiTenantOptions): express.Express {
  const app = express();
  const clients = new Set(options.clients);
  app.use(
    auth({
      mcd: { issuers: () => options.tenants },
      audience: options.audience,
      validators: { client_id: (value: unknown) => clients.has(value as string) },
    }),
  );
  return routes(app);
}

/**
 * The multi-tenant app after: `jwtVerifier` with an issuer resolver (each tenant's keys by its
 * discovery, fetched only once the resolver approved it) and the same validator; API keys as
 * another source. The routes and their guards are untouched.
 *
 * @example
 * afterMultiTenant({ tenants: ['https://a.example.com/', 'https://b.example.com/'], audience: 'https://api.example.com',
 *                    clients: ['reporting'], ciKeys: {} }).listen(3000, '127.0.0.1');
 */
export function afterMultiTenant(options: MultiTenantOptions): express.Express {
  const app = express();
  const clients = new Set(options.clients);
  const tenants = new Set(options.tenants);
  app.use(
    multiAuth({
      verifiers: [
        jwtVerifier({
          name: 'tenants',
          issuer: ({ iss }) => (tenants.has(iss) ? iss : []),
          audience: options.audience,
          validators: { client_id: (value) => clients.has(value as string) },
        }),
        staticTokenVerifier({ name: 'ci', tokens: options.ciKeys }),
      ],
    }),
  );
  return routes(app);
}
