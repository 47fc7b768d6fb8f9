// Attack: put the access token in the query string under a spelling the byte-level check did not
// recognise but the framework's query parser decodes to `access_token` anyway (percent-encoded
// name, qs brackets). RFC 6750 §2.3's leak (URLs end up in logs, Referer headers and caches) is
// the same whatever the spelling, so each one gets the same 400 as `?access_token=`.
import express from 'express';
import request from 'supertest';
import { multiAuth } from '../../lib/chain/multi-auth';
import { extractBearerToken } from '../../lib/http/token-extraction';
import { oneTokenVerifier } from '../support/app';
import type { IncomingMessage } from 'node:http';

const TOKEN = 'user-token';

/** An app that parses queries as Express 4 does by default (qs, "extended"), on either major. */
function app(): express.Express {
  const a = express();
  a.set('query parser', 'extended');
  // Proves the spelling matters: what the application reads as req.query.access_token.
  a.get('/parsed', (req, res) => {
    res.json({ accessToken: (req.query as Record<string, unknown>).access_token ?? null });
  });
  a.use(multiAuth({ verifiers: [oneTokenVerifier('api', TOKEN, { expiresAt: Math.floor(Date.now() / 1000) + 3600 })] }));
  a.get('/echo', (_req, res) => res.json({ ok: true }));
  return a;
}

const SPELLINGS = [
  'access%5Ftoken=stolen',
  '%61ccess_token=stolen',
  '%61%63%63%65%73%73%5f%74%6f%6b%65%6e=stolen',
  'access_token[]=stolen',
  'access_token[0]=stolen',
  'access_token%5B%5D=stolen',
  'access_token[x]=stolen',
  'x=1&access_token[]=&access_token[]=stolen',
];

describe('a token in the query string is refused however its name is spelled', () => {
  it.each(SPELLINGS)('the framework reads ?%s as access_token', async (query) => {
    const res = await request(app()).get(`/parsed?${query}`);
    expect(res.body.accessToken).not.toBeNull();
  });

  it.each(SPELLINGS)('?%s with a valid header gets 400 invalid_request', async (query) => {
    const res = await request(app()).get(`/echo?${query}`).set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toContain('error="invalid_request"');
  });

  it.each(SPELLINGS)('extractBearerToken throws for ?%s', (query) => {
    const req = { url: `/echo?${query}`, headers: { authorization: `Bearer ${TOKEN}` }, rawHeaders: ['Authorization', `Bearer ${TOKEN}`] };
    expect(() => extractBearerToken(req as unknown as IncomingMessage)).toThrow(/query string/);
  });

  // What stays accepted on purpose: names that are not access_token after decoding, and the
  // empty values RFC 6750 does not count as tokens.
  it.each(['access_tokens=x', 'my_access_token=x', 'access%5Ftoken=', 'access_token[]=', 'q=access_token'])(
    '?%s is not a token and passes',
    async (query) => {
      const res = await request(app()).get(`/echo?${query}`).set('Authorization', `Bearer ${TOKEN}`);
      expect(res.status).toBe(200);
    },
  );
});
