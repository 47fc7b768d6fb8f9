// Load generation with autocannon's programmatic API. Every configuration is driven the same
// way (same request, same per-request setup), so the client's share of the two cores is the
// same for all of them; every answer is checked against what the configuration must say.
import autocannon from 'autocannon';
import { dpopProof } from './tokens.mjs';

/**
 * Runs autocannon against `url` for `durationS` seconds, cycling through `tokens`, and counts
 * answers that differ from `expect` ({ status, body? , bodyIncludes? }). With `dpopKey`, each
 * request presents its token with the DPoP scheme and a proof of its own: the next of `proofs`
 * (signed before the load starts, so that the client's signing does not compete with the server
 * for the CPUs), then, once they run out, one signed as it is sent. With `tlsOptions` (`{ cert,
 * key }`), every connection is TLS and presents that client certificate.
 */
export function runLoad({ url, connections, durationS, tokens, expect, dpopKey, proofs = [], tlsOptions }) {
  const htu = new URL('/api', url).href;
  let nextProof = 0;
  const proofFor = (token) => (nextProof < proofs.length ? proofs[nextProof++] : dpopProof(dpopKey, 'GET', htu, token));
  let next = 0;
  let wrong = 0;
  let answered = 0;
  let firstWrong;
  const options = {
    url,
    connections,
    pipelining: 1,
    duration: durationS,
    // mTLS: the client certificate each connection presents (autocannon never verifies the server's).
    ...(tlsOptions ? { tlsOptions } : {}),
    requests: [
      {
        method: 'GET',
        path: '/api',
        setupRequest(request) {
          const token = tokens[next++ % tokens.length];
          request.headers = dpopKey
            ? { accept: 'application/json', authorization: `DPoP ${token}`, dpop: proofFor(token) }
            : { accept: 'application/json', authorization: `Bearer ${token}` };
          return request;
        },
        onResponse(status, body) {
          answered++;
          const ok =
            status === expect.status &&
            (expect.body === undefined || body === expect.body) &&
            (expect.bodyIncludes === undefined || (typeof body === 'string' && body.includes(expect.bodyIncludes)));
          if (!ok) {
            wrong++;
            firstWrong ??= `${status} ${String(body).slice(0, 160)}`;
          }
        },
      },
    ],
  };
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => {
      if (error) return reject(error);
      resolve({
        reqPerS: result.requests.average,
        total: result.requests.total,
        durationS: result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        errors: result.errors,
        timeouts: result.timeouts,
        statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, Number(count)])),
        answered,
        wrong,
        firstWrong,
      });
    });
  });
}
