import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeAnswer } from '../http/challenge';
import { answered } from '../http/node-http';
import { credentialHeaders, hasFormAccessToken, type PresentedCredentials } from '../http/presented';
import { parsedBody, setAuth, setChallengeContext } from '../http/request-auth';
import { requestUrl } from '../dpop/request';
import type { ResolvedDpopOptions } from '../dpop/options';
import { presentedCertificate } from '../mtls/certificate';
import type { ResolvedMtlsOptions } from '../mtls/options';
import type { Answer } from './answer';
import type { DecisionCore } from './decision-core';
import type { DecisionReporter } from './decision-report';

/** A `(req, res, next)` middleware on Node's own types: what Express, Connect and Fastify's middie all call. */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * What a Node request presents, read once. The DPoP `htu` is worked out only when a DPoP
 * request asks for it: `dpop.url` (never the client's `Host`) and the path before any mount
 * point stripped it (`originalUrl` where a framework keeps one).
 */
class NodePresented implements PresentedCredentials {
  readonly authorization: string | readonly string[] | undefined;
  readonly dpop: string | readonly string[] | undefined;
  readonly method: string;
  readonly url: string;
  readonly formAccessToken: boolean;

  constructor(
    private readonly req: IncomingMessage,
    private readonly configuredUrl: ResolvedDpopOptions['url'] | undefined,
    private readonly mtls: ResolvedMtlsOptions | undefined,
  ) {
    const headers = credentialHeaders(req);
    this.authorization = headers.authorization;
    this.dpop = headers.dpop;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.formAccessToken = hasFormAccessToken(req);
  }

  htu(): string {
    return requestUrl(this.req, this.configuredUrl);
  }

  operation(): unknown {
    return parsedBody(this.req);
  }

  clientCertificate(): string | undefined {
    return this.mtls && presentedCertificate(this.req, this.mtls)?.x5tS256;
  }
}

/**
 * The bearer check on Node's `IncomingMessage`/`ServerResponse`: hands what the request presents
 * to the decision core, then delivers the answer (reports it, and sets `req.auth` and calls
 * `next()`, or writes the refusal with `statusCode`/`setHeader`/`end`).
 */
export function nodeBearer(
  core: DecisionCore,
  reporter: DecisionReporter,
  dpop: ResolvedDpopOptions | undefined,
  mtls: ResolvedMtlsOptions | undefined,
): NodeMiddleware {
  const configuredUrl = dpop?.url;
  return (req, res, next) => {
    const deliver = (answer: Answer): void => {
      // Something earlier answered while the sources worked (a timeout middleware's 503), or
      // answered and still called next(): the answer is dropped, and the request goes no
      // further, since a handler would write to it again.
      if (answered(res)) {
        (answer.decision.notes ??= []).push(LATE);
        reporter.report(answer.decision, req, answer.token);
        return;
      }
      reporter.report(answer.decision, req, answer.token);
      switch (answer.kind) {
        case 'accepted':
          setAuth(req, answer.info, answer.context);
          next();
          return;
        case 'anonymous':
          setChallengeContext(req, answer.context);
          next();
          return;
        case 'refused':
          writeAnswer(res, answer.http);
      }
    };
    const answer = core.decide(new NodePresented(req, configuredUrl, mtls), req);
    // Not `instanceof Promise`: a traced verification's promise comes from Node's own realm.
    if (!('then' in answer)) {
      deliver(answer);
      return;
    }
    // Whatever deliver or next() throw, the chain's promise is always handled: a rejection no
    // one handles would end the process.
    answer.then(deliver).then(undefined, (error: unknown) => {
      if (answered(res)) {
        process.emitWarning(`express-multiauth: an error after the response was sent: ${error instanceof Error ? error.message : String(error)}`, {
          code: 'MULTIAUTH_LATE_ERROR',
        });
        return;
      }
      try {
        next(error);
      } catch (thrown) {
        process.emitWarning(`express-multiauth: next(error) threw: ${thrown instanceof Error ? thrown.message : String(thrown)}`, { code: 'MULTIAUTH_LATE_ERROR' });
      }
    });
  };
}

/** The note a decision carries when its answer came after something else had answered. */
export const LATE = 'answer dropped: the response was already sent (e.g. by a timeout middleware) before the decision';

/**
 * The primary's routes, warning once (a process warning) when they are mounted below the root:
 * `app.use('/mcp', auth)` serves them under `/mcp/.well-known/...`, where no client looks, since
 * RFC 9728 and RFC 8414 place metadata at the origin's root. Express does not tell a router
 * where it is mounted until a request arrives, so this cannot be refused at construction; and
 * refusing requests then would turn a discovery problem into an outage for every source.
 */
export function mountedAtRoot<H extends (req: never, res: never, next: never) => void>(routes: H): H {
  let warned = false;
  return ((req: IncomingMessage & { baseUrl?: string }, res: ServerResponse, next: (error?: unknown) => void) => {
    if (!warned && req.baseUrl !== undefined && req.baseUrl !== '') {
      warned = true;
      process.emitWarning(
        `express-multiauth: the primary's routes are mounted at "${req.baseUrl}", but OAuth clients look for its metadata at the ` +
          'root (/.well-known/...). Mount the router at the root (app.use(auth)), or auth.routes at the root and auth.bearer on the path',
        { code: 'MULTIAUTH_MOUNT_PATH' },
      );
    }
    (routes as unknown as NodeMiddleware)(req, res, next);
  }) as unknown as H;
}
